package node_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A roster sent several times at once under one request ID (a client
// retrying before its first answer came) is published once, and every
// answer but the one that published it says it was replayed
// (x-yizhan-replayed): all but one were answered as new writes.
func TestARosterSentTwiceAtOnceIsOneWriteAndItsReplays(t *testing.T) {
	f := dutyFed(t, nil)
	leader := dial(t, f.nodes["dongcun-1"]).login("dc-leader", password)
	ro := yizhanv1.NewDutyRosterServiceClient(leader.conn)
	for round := range 3 {
		start := time.Now().Truncate(time.Minute).Add(time.Duration(24*(round+1)) * time.Hour)
		req := &yizhanv1.PublishShiftsRequest{RequestId: fmt.Sprintf("roster-race-%d", round), Shifts: []*yizhanv1.DutyShift{{Start: timestamppb.New(start),
			End: timestamppb.New(start.Add(12 * time.Hour)), Leader: "dc-leader", Officers: []string{"dc-duty"}, DutyPhone: "0771-6201110"}}}
		answers, fresh := sendAtOnce(t, 6, req, func(req *yizhanv1.PublishShiftsRequest, opts ...grpc.CallOption) (*yizhanv1.PublishShiftsResponse, error) {
			return ro.PublishShifts(leader.ctx(), req, opts...)
		})
		for i, a := range answers {
			if !proto.Equal(a, answers[0]) {
				t.Errorf("round %d, send %d answered\n%v\nnot as the others\n%v", round, i, a, answers[0])
			}
		}
		if fresh != 1 {
			t.Errorf("round %d: %d of %d identical sends answered as the write that published the roster, want 1 (the others replayed)", round, fresh, len(answers))
		}
	}
}

// sendAtOnce sends copies of req through call (which signs it in) n
// times at once and returns the answers, in the order of the sends, and
// how many of them did not say they were replayed (x-yizhan-replayed):
// the writes. A send that fails fails the test.
func sendAtOnce[Req, Resp proto.Message](t *testing.T, n int, req Req, call func(Req, ...grpc.CallOption) (Resp, error)) (answers []Resp, fresh int) {
	t.Helper()
	answers = make([]Resp, n)
	headers := make([]metadata.MD, n)
	errs := make([]error, n)
	ready := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-ready
			answers[i], errs[i] = call(proto.CloneOf(req), grpc.Header(&headers[i]))
		})
	}
	close(ready)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("send %d of %d: %v", i, n, errs[i])
		}
		if len(headers[i].Get("x-yizhan-replayed")) == 0 {
			fresh++
		}
	}
	return answers, fresh
}
