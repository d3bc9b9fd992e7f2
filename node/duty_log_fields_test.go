package node_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Seed 第五篇 names the failure: 值班人员未将来电人身份、来电时间、联系电话及会议
// 具体事宜作详细记录. The duty log refuses a notice from nobody, a call with
// no number to call back, and a call "received" tomorrow, naming the field
// (InvalidArgument) and writing nothing. A call whose number was not shown
// (未显示号码) is kept, saying so; a call given no time is kept with the
// time it was written, and one a few minutes ahead of the node's clock
// with the time it was written too (it cannot have come later).
func TestTheLogRecordsWhoWhenAndNumber(t *testing.T) {
	f := dutyFed(t, nil)
	village := f.nodes["dongcun-1"]
	officer := dial(t, village).login("dc-duty", password)
	leader := dial(t, village).login("dc-leader", password)
	ro := func(c *client) yizhanv1.DutyRosterServiceClient { return yizhanv1.NewDutyRosterServiceClient(c.conn) }
	start := time.Now().Truncate(time.Minute).Add(-5 * time.Minute)
	pub, err := ro(leader).PublishShifts(leader.ctx(), &yizhanv1.PublishShiftsRequest{Shifts: []*yizhanv1.DutyShift{
		{Start: timestamppb.New(start), End: timestamppb.New(start.Add(12 * time.Hour)), Leader: "dc-leader", Officers: []string{"dc-duty"}}}})
	if err != nil {
		t.Fatal(err)
	}
	shift := pub.GetShifts()[0].GetId()
	if _, err := ro(officer).TakeOverShift(officer.ctx(), &yizhanv1.TakeOverShiftRequest{Id: shift}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		entry *yizhanv1.DutyLogEntry
		field string
	}{
		{"a meeting notice by phone from nobody", &yizhanv1.DutyLogEntry{Kind: yizhanv1.LogKind_LOG_KIND_NOTICE,
			Matter: "明早八点到县里开防汛会", ReceivedAt: timestamppb.New(time.Now().Add(-time.Minute))}, "entry.caller"},
		{"a call received tomorrow", &yizhanv1.DutyLogEntry{Kind: yizhanv1.LogKind_LOG_KIND_CALL, Caller: "镇政府办 李主任", Phone: "0771-6201001",
			Matter: "通知明早开会", ReceivedAt: timestamppb.New(time.Now().Add(24 * time.Hour))}, "entry.received_at"},
		{"a call with no number to call back", &yizhanv1.DutyLogEntry{Kind: yizhanv1.LogKind_LOG_KIND_CALL, Caller: "镇政府办 李主任",
			Matter: "通知明早开会", ReceivedAt: timestamppb.New(time.Now().Add(-time.Minute))}, "entry.phone"},
		{"a call with a number, said not shown", &yizhanv1.DutyLogEntry{Kind: yizhanv1.LogKind_LOG_KIND_CALL, Caller: "镇政府办 李主任",
			Phone: "0771-6201001", PhoneWithheld: true, Matter: "通知明早开会"}, "entry.phone_withheld"},
	} {
		e, err := ro(officer).WriteLogEntry(officer.ctx(), &yizhanv1.WriteLogEntryRequest{Entry: tc.entry})
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != tc.field {
			t.Errorf("%s: kept as %s (%v), want InvalidArgument naming %s", tc.name, e.GetId(), err, tc.field)
		}
	}
	log, err := ro(officer).ListLog(officer.ctx(), &yizhanv1.ListLogRequest{ShiftId: shift})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(log.GetEntries()); n != 0 {
		t.Errorf("the refused entries wrote %d entries in the log", n)
	}

	withheld, err := ro(officer).WriteLogEntry(officer.ctx(), &yizhanv1.WriteLogEntryRequest{Entry: &yizhanv1.DutyLogEntry{
		Kind: yizhanv1.LogKind_LOG_KIND_CALL, Caller: "自称县水利局 张工", PhoneWithheld: true, Matter: "询问水库水位"}})
	if err != nil {
		t.Fatalf("a call whose number was not shown: %v", err)
	}
	if !withheld.GetPhoneWithheld() || withheld.GetReceivedAt() == nil || !withheld.GetReceivedAt().AsTime().Equal(withheld.GetAt().AsTime()) {
		t.Errorf("a call given no time, its number not shown: withheld %v, received at %v, written at %v",
			withheld.GetPhoneWithheld(), withheld.GetReceivedAt(), withheld.GetAt().AsTime())
	}
	ahead, err := ro(officer).WriteLogEntry(officer.ctx(), &yizhanv1.WriteLogEntryRequest{Entry: &yizhanv1.DutyLogEntry{
		Kind: yizhanv1.LogKind_LOG_KIND_NOTICE, Unit: "镇政府办", Matter: "明早八点到县里开防汛会", ReceivedAt: timestamppb.New(time.Now().Add(3 * time.Minute))}})
	if err != nil {
		t.Fatalf("a notice on a clock three minutes ahead: %v", err)
	}
	if ahead.GetReceivedAt().AsTime().After(ahead.GetAt().AsTime()) {
		t.Errorf("a notice received at %v, after it was written (%v)", ahead.GetReceivedAt().AsTime(), ahead.GetAt().AsTime())
	}
	log, err = ro(officer).ListLog(officer.ctx(), &yizhanv1.ListLogRequest{ShiftId: shift})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(log.GetEntries(), func(e *yizhanv1.DutyLogEntry) bool { return e.GetId() == withheld.GetId() && e.GetPhoneWithheld() }) {
		t.Errorf("the log does not hold the call whose number was not shown: %v", log.GetEntries())
	}
}
