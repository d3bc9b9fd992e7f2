package node_test

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/reason"
)

// A request ID names one write. Sent again with another kind of write
// (a take-over, a zero report under a roster's ID), it is refused,
// REQUEST_ID_REUSED (ABORTED): the office remembers a hash of the method
// and the body with it. Where the hash matched and the answer the office
// remembered was of another kind than the handler answers with (a write
// whose answer changed kind in a release, the hash being kept the same
// across releases; a request remembered with no answer), the lookup of
// the duty, consultation and supervision writes (answeredBefore) was an
// ok replay holding nothing: an empty first answer, or, for a shift's
// change, the first shift of none, which stops the node. It is a
// request-ID conflict too, in the handlers' lookup and in the office
// layer's own (office.Answered), which answered such a write with
// nothing, replayed.
func TestARequestIDAnsweredWithAnotherKindOfAnswerIsAConflict(t *testing.T) {
	f := dutyFed(t, nil)
	village := f.nodes["dongcun-1"]
	leader := dial(t, village).login("dc-leader", password)
	ro := yizhanv1.NewDutyRosterServiceClient(leader.conn)
	start := time.Now().Truncate(time.Minute)
	roster := &yizhanv1.PublishShiftsRequest{RequestId: "roster-1", Shifts: []*yizhanv1.DutyShift{{Start: timestamppb.New(start),
		End: timestamppb.New(start.Add(12 * time.Hour)), Leader: "dc-leader", Officers: []string{"dc-duty"}, DutyPhone: "0771-6201110"}}}
	pub, err := ro.PublishShifts(leader.ctx(), proto.CloneOf(roster))
	if err != nil {
		t.Fatal(err)
	}

	_, err = ro.TakeOverShift(leader.ctx(), &yizhanv1.TakeOverShiftRequest{Id: pub.GetShifts()[0].GetId(), RequestId: "roster-1"})
	if status.Code(err) != codes.Aborted || reasonOf(err) != reason.RequestIDReused {
		t.Errorf("a take-over under the roster's request ID: %v (%s), want ABORTED, %s", err, reasonOf(err), reason.RequestIDReused)
	}
	_, err = yizhanv1.NewDutyServiceClient(leader.conn).SendZeroReport(leader.ctx(), &yizhanv1.SendZeroReportRequest{RequestId: "roster-1"})
	if status.Code(err) != codes.Aborted || reasonOf(err) != reason.RequestIDReused {
		t.Errorf("a zero report under the roster's request ID: %v (%s), want ABORTED, %s", err, reasonOf(err), reason.RequestIDReused)
	}

	if v, ok, err := node.AnsweredBeforeForTest[*yizhanv1.PublishShiftsResponse](village, "roster-1", "PublishShifts", roster); err != nil || !ok || !proto.Equal(v, pub) {
		t.Errorf("the roster's lookup: %v, %v, %v; want the roster published", v, ok, err)
	}
	v, ok, err := node.AnsweredBeforeForTest[*yizhanv1.ZeroReport](village, "roster-1", "PublishShifts", roster)
	if ok || !errors.Is(err, raftgroup.ErrRequestConflict) {
		t.Errorf("the roster's request looked up by a write answering with a zero report: %v, %v, %v; want a request-ID conflict, not a replay", v, ok, err)
	}
	z, ok, err := node.PutZeroReportForTest(village, "roster-1", "PublishShifts", roster, &yizhanv1.ZeroReport{Id: "z-1"})
	if ok || !errors.Is(err, raftgroup.ErrRequestConflict) {
		t.Errorf("the office layer's zero report under the roster's request: %v, %v, %v; want a request-ID conflict, not a replay", z, ok, err)
	}
}
