package node_test

import (
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A roster published, its answer lost: the leader on duty sends it again
// under its request ID after one of its officers has moved on (no longer
// a duty officer). The retry is answered as the first was, replayed: the
// roster stands as published. It was refused (INVALID_ARGUMENT on the
// officer) as a new roster would be, and the leader could not tell that
// the roster had been published.
func TestARosterRetriedAfterItsOfficerMovedOnIsAnsweredAsTheFirst(t *testing.T) {
	f := dutyFed(t, nil)
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	leader := dial(t, village).login("dc-leader", password)
	start := time.Now().Truncate(time.Minute).Add(24 * time.Hour)
	req := &yizhanv1.PublishShiftsRequest{RequestId: "roster-1", Shifts: []*yizhanv1.DutyShift{{Start: timestamppb.New(start),
		End: timestamppb.New(start.Add(12 * time.Hour)), Leader: "dc-leader", Officers: []string{"dc-duty"}, DutyPhone: "0771-6201110"}}}
	publish := func() (*yizhanv1.PublishShiftsResponse, metadata.MD, error) {
		var header metadata.MD
		resp, err := yizhanv1.NewDutyRosterServiceClient(leader.conn).PublishShifts(leader.ctx(), proto.CloneOf(req), grpc.Header(&header))
		return resp, header, err
	}
	first, _, err := publish()
	if err != nil {
		t.Fatal(err)
	}

	if _, err := f.admin.reg.UpdateStaff(f.admin.ctx(), &yizhanv1.UpdateStaffRequest{Username: "dc-duty", Staff: &yizhanv1.StaffMember{
		Name: "黄值班", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}}}); err != nil {
		t.Fatal(err)
	}
	idx := countyNode.Registry().Index()
	waitFor(t, "the village hears dc-duty is no duty officer", func() bool { return village.Registry().Index() >= idx }, 20*time.Second)

	again, header, err := publish()
	if err != nil {
		t.Fatalf("the roster retried under its request ID: %v, want the first answer", err)
	}
	if !proto.Equal(again, first) {
		t.Errorf("the roster retried answered\n%v\nnot the first answer\n%v", again, first)
	}
	if got := header.Get("x-yizhan-replayed"); len(got) != 1 || got[0] != "true" {
		t.Errorf("the retry's answer: x-yizhan-replayed %v, want true", got)
	}
}
