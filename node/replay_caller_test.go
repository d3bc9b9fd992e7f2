package node_test

import (
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A request ID is no authority of its own. The office remembers a write
// by its ID and its body, not by who sent it, and answered a retry before
// the checks of who may ask: an approver, who may not file, sending a
// clerk's filing again under its ID got the case with the citizen's query
// code; sending the clerk's acceptance again, "accepted". A replay goes
// only to a caller who may do the write it answers; the clerk's own
// retries are answered as the first.
func TestAReplayGoesOnlyToACallerWhoMayDoTheWrite(t *testing.T) {
	f := newCaseFed(t, 1)
	countyNode := f.nodes["county-1"]
	clerk := dial(t, countyNode).login("clerk", password)
	approver := dial(t, countyNode).login("approver", password)
	filing := &yizhanv1.FileCaseRequest{RequestId: "filing-1", ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}}
	first, err := caseClient(t, clerk).FileCase(clerk.ctx(), proto.CloneOf(filing))
	if err != nil {
		t.Fatal(err)
	}
	number := first.GetCase().GetNumber()

	got, err := caseClient(t, approver).FileCase(approver.ctx(), proto.CloneOf(filing))
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("an approver sending the clerk's filing under its request ID: %v (query code %q), want PERMISSION_DENIED", err, got.GetCase().GetQueryCode())
	}
	again, err := caseClient(t, clerk).FileCase(clerk.ctx(), proto.CloneOf(filing))
	if err != nil || again.GetCase().GetNumber() != number || again.GetCase().GetQueryCode() != first.GetCase().GetQueryCode() {
		t.Errorf("the clerk's filing retried: %v, %v; want case %s with its query code", again.GetCase(), err, number)
	}

	accept := &yizhanv1.CaseActionRequest{RequestId: "accept-1", Number: number}
	if _, err := caseClient(t, clerk).Accept(clerk.ctx(), proto.CloneOf(accept)); err != nil {
		t.Fatal(err)
	}
	if _, err := caseClient(t, approver).Accept(approver.ctx(), proto.CloneOf(accept)); status.Code(err) != codes.PermissionDenied {
		t.Errorf("an approver sending the clerk's acceptance under its request ID: %v, want PERMISSION_DENIED", err)
	}
	if resp, err := caseClient(t, clerk).Accept(clerk.ctx(), proto.CloneOf(accept)); err != nil || resp.GetCase().GetState() != yizhanv1.CaseState_CASE_STATE_ACCEPTED {
		t.Errorf("the clerk's acceptance retried: %v, %v; want the case accepted", resp.GetCase().GetState(), err)
	}
}

// The same holds for a shift's take-over and handover: their body names
// only the shift, and another duty officer of the office, not on it,
// sending the body again under the request ID of the officer's
// take-over (or handover) got it answered as their own, replayed. A
// replay goes only to someone on the shift as the change left it; the
// officer's own retries, after the shift has moved on (handed over, no
// longer to be taken over), are answered as the first.
func TestAShiftsChangeIsReplayedOnlyToSomeoneOnTheShift(t *testing.T) {
	f := dutyFed(t, nil)
	if _, err := f.admin.reg.CreateStaff(f.admin.ctx(), &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "dc-duty2", Name: "黄替班",
		OfficeCode: dongcun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_OFFICER}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	village := f.nodes["dongcun-1"]
	idx := f.nodes["county-1"].Registry().Index()
	waitFor(t, "the village has dc-duty2", func() bool { return village.Registry().Index() >= idx }, 20*time.Second)
	officer := dial(t, village).login("dc-duty", password)
	other := dial(t, village).login("dc-duty2", password)
	leader := dial(t, village).login("dc-leader", password)
	ro := func(c *client) yizhanv1.DutyRosterServiceClient { return yizhanv1.NewDutyRosterServiceClient(c.conn) }

	end := time.Now().Truncate(time.Minute).Add(15 * time.Minute) // within the handover's half hour
	pub, err := ro(leader).PublishShifts(leader.ctx(), &yizhanv1.PublishShiftsRequest{Shifts: []*yizhanv1.DutyShift{{
		Start: timestamppb.New(end.Add(-12 * time.Hour)), End: timestamppb.New(end), Leader: "dc-leader", Officers: []string{"dc-duty"}}}})
	if err != nil {
		t.Fatal(err)
	}
	id := pub.GetShifts()[0].GetId()
	take := &yizhanv1.TakeOverShiftRequest{Id: id, RequestId: "take-1"}
	hand := &yizhanv1.HandOverShiftRequest{Id: id, RequestId: "hand-1", OpenMatters: "镇里通知明早开会"}
	took, err := ro(officer).TakeOverShift(officer.ctx(), proto.CloneOf(take))
	if err != nil {
		t.Fatal(err)
	}
	var header metadata.MD
	if got, err := ro(other).TakeOverShift(other.ctx(), proto.CloneOf(take), grpc.Header(&header)); status.Code(err) != codes.PermissionDenied {
		t.Errorf("another duty officer, not on the shift, sending the take-over under its request ID: %v (taken over by %q), want PERMISSION_DENIED", err, got.GetTakenOverBy())
	} else if len(header.Get("x-yizhan-replayed")) > 0 {
		t.Error("the refusal says the take-over was replayed")
	}
	handed, err := ro(officer).HandOverShift(officer.ctx(), proto.CloneOf(hand))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ro(other).HandOverShift(other.ctx(), proto.CloneOf(hand)); status.Code(err) != codes.PermissionDenied {
		t.Errorf("another duty officer, not on the shift, sending the handover under its request ID: %v (handed over by %q), want PERMISSION_DENIED", err, got.GetHandedOverBy())
	}

	for what, retry := range map[string]func() (*yizhanv1.DutyShift, *yizhanv1.DutyShift, metadata.MD, error){
		"take-over": func() (*yizhanv1.DutyShift, *yizhanv1.DutyShift, metadata.MD, error) {
			var header metadata.MD
			got, err := ro(officer).TakeOverShift(officer.ctx(), proto.CloneOf(take), grpc.Header(&header))
			return got, took, header, err
		},
		"handover": func() (*yizhanv1.DutyShift, *yizhanv1.DutyShift, metadata.MD, error) {
			var header metadata.MD
			got, err := ro(officer).HandOverShift(officer.ctx(), proto.CloneOf(hand), grpc.Header(&header))
			return got, handed, header, err
		},
	} {
		got, want, header, err := retry()
		if err != nil || !proto.Equal(got, want) {
			t.Errorf("the officer's %s retried after the handover: %v, %v; want the first answer %v", what, got, err, want)
		}
		if h := header.Get("x-yizhan-replayed"); len(h) != 1 || h[0] != "true" {
			t.Errorf("the officer's %s retried: x-yizhan-replayed %v, want true", what, h)
		}
	}
}
