package node_test

import (
	"fmt"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
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
		const sends = 6
		var (
			wg      sync.WaitGroup
			answers [sends]*yizhanv1.CreateOfficeResponse
			headers [sends]metadata.MD
			errs    [sends]error
			ready   = make(chan struct{})
		)
		for i := range sends {
			wg.Go(func() {
				ctx := admin.ctx()
				<-ready
				answers[i], errs[i] = admin.reg.UpdateOffice(ctx, proto.CloneOf(req), grpc.Header(&headers[i]))
			})
		}
		close(ready)
		wg.Wait()
		fresh := 0
		for i := range sends {
			if errs[i] != nil {
				t.Fatalf("round %d, send %d: %v", round, i, errs[i])
			}
			if !proto.Equal(answers[i], answers[0]) {
				t.Errorf("round %d, send %d answered %v, not as the others %v", round, i, answers[i], answers[0])
			}
			if len(headers[i].Get("x-yizhan-replayed")) == 0 {
				fresh++
			}
		}
		if fresh != 1 {
			t.Errorf("round %d: %d of %d identical sends answered as the write that changed the office, want 1 (the others replayed)", round, fresh, sends)
		}
	}
}
