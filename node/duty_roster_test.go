package node_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// A village's roster: published by its leader on duty, a swap approved;
// the officer on the shift takes it over, logs a call, writes a report
// the leader on duty signs, and hands it over; someone not on the roster
// may not write; the next shift, which nobody takes over, is flagged
// empty, and the county sees it in its duty directory.
func TestRosterShiftsAndTheirFlags(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	f := dutyFed(t, func(_ string, c *node.Config) {
		c.Now = now
		c.DutySweepInterval = 50 * time.Millisecond
	})
	if _, err := f.admin.reg.CreateStaff(f.admin.ctx(), &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "dc-duty2", Name: "黄替班",
		OfficeCode: dongcun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_OFFICER}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	idx := f.nodes["county-1"].Registry().Index()
	waitFor(t, "the village has dc-duty2", func() bool { return village.Registry().Index() >= idx }, 20*time.Second)
	officer := dial(t, village).login("dc-duty", password)
	other := dial(t, village).login("dc-duty2", password)
	leader := dial(t, village).login("dc-leader", password)
	ro := func(c *client) yizhanv1.DutyRosterServiceClient { return yizhanv1.NewDutyRosterServiceClient(c.conn) }

	start := time.Now().Truncate(time.Minute).Add(-10 * time.Minute) // within its grace: no flag due yet
	shift := func(from time.Time, lead string, officers ...string) *yizhanv1.DutyShift {
		return &yizhanv1.DutyShift{Start: timestamppb.New(from), End: timestamppb.New(from.Add(12 * time.Hour)), Leader: lead, Officers: officers, DutyPhone: "0771-6201110"}
	}
	if _, err := ro(leader).PublishShifts(leader.ctx(), &yizhanv1.PublishShiftsRequest{Shifts: []*yizhanv1.DutyShift{shift(start, "dc-duty", "dc-leader")}}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a duty officer as the leader on duty: %v", err)
	} else if _, field := fieldOf(err); field != "shifts[0].leader" {
		t.Errorf("a duty officer as the leader on duty names %q", field)
	}
	if _, err := ro(officer).PublishShifts(officer.ctx(), &yizhanv1.PublishShiftsRequest{Shifts: []*yizhanv1.DutyShift{shift(start, "dc-leader", "dc-duty")}}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a duty officer published the roster: %v", err)
	}
	pub, err := ro(leader).PublishShifts(leader.ctx(), &yizhanv1.PublishShiftsRequest{Shifts: []*yizhanv1.DutyShift{
		shift(start, "dc-leader", "dc-duty"), shift(start.Add(12*time.Hour), "dc-leader", "dc-duty")}})
	if err != nil {
		t.Fatal(err)
	}
	day, night := pub.GetShifts()[0].GetId(), pub.GetShifts()[1].GetId()
	if _, err := ro(leader).SwapShift(leader.ctx(), &yizhanv1.SwapShiftRequest{Id: night, From: "dc-duty", To: "dc-duty2", Reason: "家中有事"}); err != nil {
		t.Fatalf("swap: %v", err)
	}

	call := &yizhanv1.WriteLogEntryRequest{Entry: &yizhanv1.DutyLogEntry{Kind: yizhanv1.LogKind_LOG_KIND_CALL, Caller: "镇政府办 李主任",
		Phone: "0771-6201001", Matter: "通知明早八点到镇里开防汛会", Action: "已记录", Told: "村主任"}}
	if _, err := ro(officer).WriteLogEntry(officer.ctx(), call); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("the log written before the shift was taken over: %v", err)
	}
	if _, err := ro(other).TakeOverShift(other.ctx(), &yizhanv1.TakeOverShiftRequest{Id: day}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("taken over by someone not on it: %v", err)
	}
	if _, err := ro(officer).TakeOverShift(officer.ctx(), &yizhanv1.TakeOverShiftRequest{Id: day}); err != nil {
		t.Fatal(err)
	}
	logged, err := ro(officer).WriteLogEntry(officer.ctx(), call)
	if err != nil {
		t.Fatal(err)
	}
	// A correction names an entry of this log: one it does not hold, or
	// no entry's id at all, is named (refused before it is proposed: where
	// it is applied, the refusal names no field).
	for why, corrects := range map[string]string{"unknown": "RZ-450122101203-20200101-ZZZZZZ", "too long": strings.Repeat("Z", 100_000)} {
		fix := proto.CloneOf(call)
		fix.Entry.Matter, fix.Entry.Corrects = "更正：明早九点", corrects
		_, err := ro(officer).WriteLogEntry(officer.ctx(), fix)
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != "entry.corrects" || len(status.Convert(err).Message()) > 300 {
			t.Errorf("a correction of an %s entry: %v naming %q", why, code, field)
		}
	}
	fix := proto.CloneOf(call)
	fix.Entry.Matter, fix.Entry.Corrects, fix.RequestId = "更正：明早九点", logged.GetId(), "log-fix-1"
	fixed, err := ro(officer).WriteLogEntry(officer.ctx(), fix)
	if err != nil {
		t.Errorf("a correction: %v", err)
	}
	if _, err := ro(other).WriteLogEntry(other.ctx(), call); status.Code(err) != codes.PermissionDenied {
		t.Errorf("someone not on the shift wrote its log: %v", err)
	}
	duty := yizhanv1.NewDutyServiceClient
	if _, err := duty(other.conn).WriteReport(other.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(time.Now().Add(-10 * time.Minute))}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("someone not on the shift wrote a report: %v", err)
	}
	w, err := duty(officer.conn).WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(time.Now().Add(-10 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := duty(leader.conn).SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: w.GetReport().GetId()}); err != nil {
		t.Fatal(err)
	}
	log, err := ro(officer).ListLog(officer.ctx(), &yizhanv1.ListLogRequest{ShiftId: day})
	if err != nil || len(log.GetEntries()) != 2 || log.GetEntries()[0].GetWriter() != "dc-duty" {
		t.Errorf("the shift's log: %v, %v", log, err)
	}
	// The post is kept until half an hour before the shift's end (坚守岗位).
	if _, err := ro(officer).HandOverShift(officer.ctx(), &yizhanv1.HandOverShiftRequest{Id: day, OpenMatters: "明早八点防汛会，已告村主任"}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("the day shift handed over 10 minutes after its start: %v", err)
	}
	skew.Store(int64(11*time.Hour + 45*time.Minute)) // a quarter of an hour before the day shift's end
	officer = dial(t, village).login("dc-duty", password)
	if _, err := ro(officer).HandOverShift(officer.ctx(), &yizhanv1.HandOverShiftRequest{Id: day, OpenMatters: "明早八点防汛会，已告村主任"}); err != nil {
		t.Fatal(err)
	}
	// A write retried after its shift was handed over answers as it did.
	if again, err := ro(officer).WriteLogEntry(officer.ctx(), fix); err != nil || again.GetId() != fixed.GetId() {
		t.Errorf("the correction retried after the handover: %v, %v; want entry %s again", again.GetId(), err, fixed.GetId())
	}

	// Twenty minutes into the night shift, nobody has taken it over.
	skew.Store(int64(12*time.Hour + 10*time.Minute)) // the night shift started about 20 minutes ago
	cduty := dial(t, countyNode).login("county-duty", password)
	var od *yizhanv1.OfficeOnDuty
	waitFor(t, "the empty post seen at the county", func() bool {
		r, err := ro(cduty).GetOnDuty(cduty.ctx(), &yizhanv1.GetOnDutyRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range r.GetOffices() {
			if o.GetOfficeCode() == dongcun {
				od = o
			}
		}
		return od.GetShift().GetId() == night && od.GetShift().GetFlaggedEmpty()
	}, 20*time.Second)
	if sh := od.GetShift(); sh.GetOfficers()[0] != "dc-duty2" || len(sh.GetSwaps()) != 1 || sh.GetSwaps()[0].GetApprovedBy() != "dc-leader" || sh.GetDutyPhone() != "0771-6201110" {
		t.Errorf("the night shift at the county: %v", sh)
	}
	flagged, err := ro(cduty).ListShifts(cduty.ctx(), &yizhanv1.ListShiftsRequest{OfficeCode: dongcun, Flagged: true})
	if err != nil || len(flagged.GetShifts()) != 1 {
		t.Errorf("flagged shifts of 东村 at the county: %v, %v", flagged, err)
	}
	handed, _ := countyNode.Office().Cases().Shift(day)
	if handed.GetState() != yizhanv1.ShiftState_SHIFT_STATE_HANDED_OVER || handed.GetOpenMatters() == "" {
		t.Errorf("the day shift at the county: %v", handed)
	}

	// dc-duty2 takes the night over late and never hands it over: past
	// its end and the grace, the county sees it flagged 未交接, and the
	// assessment of those days counts the two shifts, one empty post and
	// one not handed over.
	other = dial(t, village).login("dc-duty2", password) // the token of 12 hours ago has expired
	if _, err := ro(other).TakeOverShift(other.ctx(), &yizhanv1.TakeOverShiftRequest{Id: night}); err != nil {
		t.Fatalf("the night shift taken over late: %v", err)
	}
	skew.Store(int64(24*time.Hour + 20*time.Minute)) // the night shift ended about 30 minutes ago
	waitFor(t, "the shift not handed over seen at the county", func() bool {
		sh, ok := countyNode.Office().Cases().Shift(night)
		return ok && sh.GetFlaggedNotHandedOver()
	}, 20*time.Second)
	if sh, _ := countyNode.Office().Cases().Shift(night); sh.GetTakenOverFrom() != day || sh.GetMattersTakenOver() != "明早八点防汛会，已告村主任" {
		t.Errorf("the night shift took over %q from %q, want the day shift's open matters", sh.GetMattersTakenOver(), sh.GetTakenOverFrom())
	}
	if sh, _ := countyNode.Office().Cases().Shift(day); sh.GetFlaggedNotHandedOver() || sh.GetFlaggedEmpty() {
		t.Errorf("the day shift, taken over and handed over in time, is flagged at the county: %v", sh)
	}
	cst := time.FixedZone("CST", 8*3600)
	cduty = dial(t, countyNode).login("county-duty", password)
	a, err := yizhanv1.NewDutyServiceClient(cduty.conn).GetAssessment(cduty.ctx(), &yizhanv1.GetAssessmentRequest{OfficeCode: dongcun,
		From: start.In(cst).Format(time.DateOnly), To: now().In(cst).Format(time.DateOnly)})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.GetOffices()) != 1 {
		t.Fatalf("the assessment of 东村: %v", a)
	}
	if row := a.GetOffices()[0]; row.GetShifts() != 2 || row.GetEmptyShifts() != 1 || row.GetShiftsNotHandedOver() != 1 {
		t.Errorf("the assessment of 东村: %d shifts, %d empty posts, %d not handed over; want 2, 1, 1", row.GetShifts(), row.GetEmptyShifts(), row.GetShiftsNotHandedOver())
	}
	for _, name := range []string{"county-1", "chengguan-1", "dongcun-1"} {
		f.checkBook(name, f.nodes[name])
	}
}

// The zero report and the duty assessment, read at the county: 东村 sends
// its zero report before the hour, 西村 none; 东村 signs a first report two
// hours after the event (late), and the county asks for follow-ups every
// hour that do not come.
func TestZeroReportsAndTheAssessment(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	real := time.Now().In(cst)
	tenAM := time.Date(real.Year(), real.Month(), real.Day(), 10, 0, 0, 0, cst)
	var skew atomic.Int64
	skew.Store(int64(tenAM.Sub(real)))
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	f := dutyFed(t, func(_ string, c *node.Config) { c.Now = now })
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	officer := dial(t, village).login("dc-duty", password)
	leader := dial(t, village).login("dc-leader", password)
	cduty := dial(t, countyNode).login("county-duty", password)
	vd, cd := yizhanv1.NewDutyServiceClient(officer.conn), yizhanv1.NewDutyServiceClient(cduty.conn)

	if _, err := vd.SendZeroReport(officer.ctx(), &yizhanv1.SendZeroReportRequest{Note: "今日无情况"}); err != nil {
		t.Fatal(err)
	}
	if _, err := vd.SendZeroReport(officer.ctx(), &yizhanv1.SendZeroReportRequest{}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("a second zero report the same day: %v", err)
	}
	w, err := vd.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(now().Add(-2 * time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	id := w.GetReport().GetId()
	if _, err := yizhanv1.NewDutyServiceClient(leader.conn).SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the report at the county", func() bool { _, ok := countyNode.Office().Cases().Report(id); return ok }, 20*time.Second)
	if _, err := cd.AcknowledgeReport(cduty.ctx(), &yizhanv1.AcknowledgeReportRequest{Id: id, FollowUpMinutes: 5}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("follow-ups every 5 minutes: %v", err)
	}
	acked, err := cd.AcknowledgeReport(cduty.ctx(), &yizhanv1.AcknowledgeReportRequest{Id: id, Request: "每小时续报", FollowUpMinutes: 60})
	if err != nil {
		t.Fatal(err)
	}
	// The follow-up clock: due an hour after the request (the report was
	// signed before it), at the county and at the village that owes it.
	nextDue := func(c yizhanv1.DutyServiceClient, ctx context.Context) time.Time {
		r, err := c.ListReports(ctx, &yizhanv1.ListReportsRequest{FirstId: id})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range r.GetReports() {
			if h.GetReport().GetId() == id && h.GetNextFollowUpDue() != nil {
				return h.GetNextFollowUpDue().AsTime()
			}
		}
		return time.Time{}
	}
	var ackAt time.Time
	for _, a := range acked.GetAcks() {
		if a.GetFollowUpMinutes() == 60 {
			ackAt = a.GetAt().AsTime()
		}
	}
	if got, want := nextDue(cd, cduty.ctx()), ackAt.Add(time.Hour); ackAt.IsZero() || !got.Equal(want) {
		t.Errorf("the next follow-up at the county: due %v, want %v (an hour after the request)", got, want)
	}
	if got, want := nextDue(vd, officer.ctx()), ackAt.Add(time.Hour); !got.Equal(want) {
		t.Errorf("the next follow-up at the village: due %v, want %v", got, want)
	}
	statuses := func() map[string]*yizhanv1.ZeroReportStatus {
		r, err := cd.ListZeroReports(cduty.ctx(), &yizhanv1.ListZeroReportsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*yizhanv1.ZeroReportStatus{}
		for _, o := range r.GetOffices() {
			out[o.GetOfficeCode()] = o
		}
		return out
	}
	waitFor(t, "东村's zero report at the county", func() bool { return statuses()[dongcun].GetZeroReport() != nil }, 20*time.Second)
	if st := statuses()[xicun]; st.GetMissing() {
		t.Error("西村 missing before the hour")
	}

	// 17:10: past the hour, and three hours and more after the request.
	skew.Store(int64(tenAM.Add(7*time.Hour + 10*time.Minute).Sub(real)))
	st := statuses()
	if st[xicun].GetMissing() != true || st[dongcun].GetMissing() || st[dongcun].GetLate() || st[dongcun].GetReports() != 1 {
		t.Errorf("at 17:10: 西村 %v, 东村 %v", st[xicun], st[dongcun])
	}
	day := tenAM.Format("2006-01-02")
	a, err := cd.GetAssessment(cduty.ctx(), &yizhanv1.GetAssessmentRequest{From: day, To: day})
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]*yizhanv1.OfficeAssessment{}
	for _, o := range a.GetOffices() {
		rows[o.GetOfficeCode()] = o
	}
	if d := rows[dongcun]; d.GetFirstReports() != 1 || d.GetLateReports() != 1 || d.GetMissingFollowUps() != 7 || d.GetZeroReportsMissing() != 0 {
		t.Errorf("东村's assessment: %v (want 1 first report, late; 7 follow-ups missing from about 10:00 to 17:10)", d)
	}
	if x := rows[xicun]; x.GetZeroReportsMissing() != 1 || x.GetFirstReports() != 0 {
		t.Errorf("西村's assessment: %v", x)
	}
}

// The county's duty policy: a limit per category and level stamped into
// the reports written under it, the zero report's hour, the utilities'
// phones in every office's directory; bad input names its field.
func TestDutyPolicy(t *testing.T) {
	f := dutyFed(t, nil)
	ctx := f.admin.ctx()
	bad := &yizhanv1.DutyPolicy{Limits: []*yizhanv1.ReportLimit{{Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_NATURAL_DISASTER, Minutes: 5}}}
	if _, err := f.admin.reg.PutDutyPolicy(ctx, &yizhanv1.PutDutyPolicyRequest{Policy: bad}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a 5-minute limit: %v", err)
	} else if _, field := fieldOf(err); field != "policy.limits[0].minutes" {
		t.Errorf("a 5-minute limit names %q", field)
	}
	put, err := f.admin.reg.PutDutyPolicy(ctx, &yizhanv1.PutDutyPolicyRequest{Policy: &yizhanv1.DutyPolicy{
		FirstReportMinutes: 60, ZeroReportHour: 15,
		Limits:   []*yizhanv1.ReportLimit{{Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_NATURAL_DISASTER, Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV, Minutes: 30}},
		Contacts: []*yizhanv1.DutyContact{{Name: "供电", Unit: "县供电公司", Phone: "95598"}}}})
	if err != nil {
		t.Fatal(err)
	}
	village := f.nodes["dongcun-1"]
	waitFor(t, "the policy at the village", func() bool { return village.Registry().Index() >= put.GetRegistryIndex() }, 20*time.Second)
	officer := dial(t, village).login("dc-duty", password)
	leader := dial(t, village).login("dc-leader", password)
	w, err := yizhanv1.NewDutyServiceClient(officer.conn).WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(time.Now().Add(-40 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.GetReport().GetLimitMinutes(); got != 30 {
		t.Errorf("a level IV natural disaster is written under a %d-minute limit, want 30", got)
	}
	s, err := yizhanv1.NewDutyServiceClient(leader.conn).SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: w.GetReport().GetId()})
	if err != nil || !s.GetLate() {
		t.Errorf("signed 40 minutes after the event under a 30-minute limit: late %v (%v)", s.GetLate(), err)
	}
	on, err := yizhanv1.NewDutyRosterServiceClient(officer.conn).GetOnDuty(officer.ctx(), &yizhanv1.GetOnDutyRequest{})
	if err != nil || len(on.GetContacts()) != 1 || on.GetContacts()[0].GetPhone() != "95598" {
		t.Errorf("the village's directory: %v, %v", on.GetContacts(), err)
	}
	zero, err := yizhanv1.NewDutyServiceClient(officer.conn).ListZeroReports(officer.ctx(), &yizhanv1.ListZeroReportsRequest{})
	if err != nil || zero.GetDue().AsTime().In(time.FixedZone("CST", 8*3600)).Hour() != 15 {
		t.Errorf("the zero report's hour: %v, %v", zero.GetDue(), err)
	}
}

// A day's pattern published for a month: a day and a night shift, 31 days.
func TestPublishAMonthOfShifts(t *testing.T) {
	f := dutyFed(t, nil)
	leader := dial(t, f.nodes["dongcun-1"]).login("dc-leader", password)
	ro := yizhanv1.NewDutyRosterServiceClient(leader.conn)
	cst := time.FixedZone("CST", 8*3600)
	first := time.Date(2027, 1, 1, 8, 0, 0, 0, cst)
	pattern := []*yizhanv1.DutyShift{
		{Start: timestamppb.New(first), End: timestamppb.New(first.Add(12 * time.Hour)), Leader: "dc-leader", Officers: []string{"dc-duty"}},
		{Start: timestamppb.New(first.Add(12 * time.Hour)), End: timestamppb.New(first.Add(24 * time.Hour)), Leader: "dc-leader", Officers: []string{"dc-duty"}},
	}
	if _, err := ro.PublishShifts(leader.ctx(), &yizhanv1.PublishShiftsRequest{Shifts: pattern, Days: 32}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("32 days: %v", err)
	} else if _, field := fieldOf(err); field != "days" {
		t.Errorf("32 days names %q", field)
	}
	pub, err := ro.PublishShifts(leader.ctx(), &yizhanv1.PublishShiftsRequest{Shifts: pattern, Days: 31})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pub.GetShifts()); n != 62 {
		t.Fatalf("published %d shifts, want 62", n)
	}
	last := pub.GetShifts()[61]
	if got := last.GetStart().AsTime().In(cst); !got.Equal(time.Date(2027, 1, 31, 20, 0, 0, 0, cst)) {
		t.Errorf("the last shift starts %v, want 31 January 20:00", got)
	}
	listed, err := ro.ListShifts(leader.ctx(), &yizhanv1.ListShiftsRequest{From: "2027-01-01", To: "2027-01-31"})
	if err != nil || len(listed.GetShifts()) != 62 {
		t.Errorf("January's roster: %d shifts, %v", len(listed.GetShifts()), err)
	}
}
