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
		const sends = 6
		var (
			wg      sync.WaitGroup
			answers [sends]*yizhanv1.PublishShiftsResponse
			headers [sends]metadata.MD
			errs    [sends]error
			ready   = make(chan struct{})
		)
		for i := range sends {
			wg.Go(func() {
				ctx := leader.ctx()
				<-ready
				answers[i], errs[i] = ro.PublishShifts(ctx, proto.CloneOf(req), grpc.Header(&headers[i]))
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
				t.Errorf("round %d, send %d answered\n%v\nnot as the others\n%v", round, i, answers[i], answers[0])
			}
			if len(headers[i].Get("x-yizhan-replayed")) == 0 {
				fresh++
			}
		}
		if fresh != 1 {
			t.Errorf("round %d: %d of %d identical sends answered as the write that published the roster, want 1 (the others replayed)", round, fresh, sends)
		}
	}
}
