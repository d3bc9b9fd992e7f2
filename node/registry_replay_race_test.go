package node_test

import (
	"fmt"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A registry write sent several times at once under one request ID (an
// admin's client retrying before its first answer came) changes the
// registry once: every send gets the same answer, at one registry index,
// and every answer but
// the one that wrote says it was replayed (x-yizhan-replayed): the sends
// that raced the first past the registry's checks were answered as new
// writes.
func TestARegistryWriteSentSeveralTimesAtOnceIsOneWriteAndItsReplays(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	for round := range 3 {
		req := &yizhanv1.UpdateOfficeRequest{RequestId: fmt.Sprintf("office-race-%d", round), Code: county,
			Office: &yizhanv1.Office{Name: fmt.Sprintf("县政务服务中心%d", round)}}
		answers, fresh := sendAtOnce(t, 6, req, func(req *yizhanv1.UpdateOfficeRequest, opts ...grpc.CallOption) (*yizhanv1.CreateOfficeResponse, error) {
			return admin.reg.UpdateOffice(admin.ctx(), req, opts...)
		})
		for i, a := range answers {
			if !proto.Equal(a, answers[0]) {
				t.Errorf("round %d, send %d answered %v, not as the others %v", round, i, a, answers[0])
			}
		}
		if fresh != 1 {
			t.Errorf("round %d: %d of %d identical sends answered as the write that changed the office, want 1 (the others replayed)", round, fresh, len(answers))
		}
	}
}
