package casebook

import (
	"testing"
	"time"

	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/duty"
)

func firstReportOf(v *office, suffix string, occurredAgo time.Duration) *yizhanv1.UrgentReport {
	return &yizhanv1.UrgentReport{Id: duty.ReportID(village, v.now, suffix), OfficeCode: village, Kind: yizhanv1.ReportKind_REPORT_KIND_FIRST,
		Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_ACCIDENT, Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV,
		Title: "车辆侧翻", Place: "村口", Details: "一辆货车侧翻", OccurredAt: timestamppb.New(v.now.Add(-occurredAgo)),
		WrittenAt: timestamppb.New(v.now), State: yizhanv1.ReportState_REPORT_STATE_DRAFT, Version: 1, Reporter: "duty", ReporterName: "值班员"}
}

// docs/DUTY.md: "a final report closes the matter: nothing more may
// follow it". A follow-up (续报) drafted before the final report (终报)
// was signed, and a second final report drafted meanwhile, are not signed
// nor carried up once the matter is closed.
func TestNothingIsSignedAfterTheFinalReport(t *testing.T) {
	reg := newRegistry(t)
	v := newOffice(t, village, reg)
	first := firstReportOf(v, "AAAAAA", 10*time.Minute)
	if res := v.putCmd(putReport(first)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res := v.putCmd(putReport(duty.Sign(first, "leader", "带班领导", v.now))); res.Err != nil {
		t.Fatal(res.Err)
	}
	follow := gproto.CloneOf(first)
	follow.Id, follow.Kind, follow.FirstId, follow.FollowUpNumber = duty.ReportID(village, v.now, "BBBBBB"), yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP, first.GetId(), 1
	follow.Title, follow.WrittenAt = "车辆侧翻续报", timestamppb.New(v.now)
	if res := v.putCmd(putReport(follow)); res.Err != nil {
		t.Fatal(res.Err)
	}
	final := gproto.CloneOf(follow)
	final.Id, final.Kind, final.FollowUpNumber, final.Title = duty.ReportID(village, v.now, "CCCCCC"), yizhanv1.ReportKind_REPORT_KIND_FINAL, 0, "车辆侧翻终报"
	if res := v.putCmd(putReport(final)); res.Err != nil {
		t.Fatal(res.Err)
	}
	final2 := gproto.CloneOf(final)
	final2.Id = duty.ReportID(village, v.now, "DDDDDD")
	if res := v.putCmd(putReport(final2)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res := v.putCmd(putReport(signNext(v, final))); res.Err != nil {
		t.Fatal(res.Err)
	}
	if h, _ := v.book.Report(first.GetId()); !h.GetClosed() {
		t.Fatal("the matter is not closed by its final report")
	}
	outbox := len(v.book.Outbox())
	if res := v.putCmd(putReport(duty.Sign(follow, "leader", "带班领导", v.now))); res.Err == nil {
		t.Errorf("续报 %s was signed after the matter's final report closed it", follow.GetId())
	}
	if res := v.putCmd(putReport(duty.Sign(final2, "leader", "带班领导", v.now))); res.Err == nil {
		t.Errorf("a second 终报 %s was signed after the matter was closed", final2.GetId())
	}
	if n := len(v.book.Outbox()); n != outbox {
		t.Errorf("%d more reports queued up to the township after the matter was closed", n-outbox)
	}
}

// docs/DUTY.md (逾时未审签): a first report flagged unsigned past its
// hour counts as unsigned until it is signed, then as late (迟报). A
// change of the draft that would move its hour later (the time of the
// event, 40 minutes later) is refused once the hour has run out, so the
// 迟报 does not disappear from the assessment; one that moves it earlier
// is taken.
func TestAFlaggedDraftsHourIsNotMovedLater(t *testing.T) {
	reg := newRegistry(t)
	v := newOffice(t, village, reg)
	r := firstReportOf(v, "EEEEEE", 50*time.Minute)
	if res := v.putCmd(putReport(r)); res.Err != nil {
		t.Fatal(res.Err)
	}
	v.now = v.now.Add(20 * time.Minute) // ten minutes past the hour
	f, ok := duty.UnsignedFlag(r, v.now)
	if !ok {
		t.Fatal("no flag due")
	}
	if res := v.putCmd(flagCmd(f)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := v.dutyCounts(village); got[duty.CountUnsignedReports] != 1 {
		t.Fatalf("counts %v, want one unsigned", got)
	}
	later := gproto.CloneOf(r)
	later.Version = 2
	later.OccurredAt = timestamppb.New(r.GetOccurredAt().AsTime().Add(40 * time.Minute))
	if res := v.putCmd(putReport(later)); res.Err == nil {
		t.Fatal("a change moving the hour of a report flagged past it 40 minutes later was taken")
	}
	earlier := gproto.CloneOf(r)
	earlier.Version = 2
	earlier.OccurredAt = timestamppb.New(r.GetOccurredAt().AsTime().Add(-5 * time.Minute))
	if res := v.putCmd(putReport(earlier)); res.Err != nil {
		t.Fatalf("a change moving the hour earlier: %v", res.Err)
	}
	if res := v.putCmd(putReport(duty.Sign(earlier, "leader", "带班领导", v.now))); res.Err != nil {
		t.Fatal(res.Err)
	}
	got := v.dutyCounts(village)
	if got[duty.CountUnsignedReports] != 0 || got[duty.CountLateReports] != 1 {
		t.Errorf("the flagged report, signed: counts unsigned %d, late %d; want it late (迟报) only",
			got[duty.CountUnsignedReports], got[duty.CountLateReports])
	}
	if h, _ := v.book.Report(r.GetId()); !h.GetLate() {
		t.Errorf("the report flagged unsigned past its hour (%v) shows late=false once signed", f.GetDue().AsTime())
	}
}
