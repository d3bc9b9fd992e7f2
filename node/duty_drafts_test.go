package node_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A draft cannot dodge what its record says (docs/DUTY.md): a first
// report whose hour has run out is not changed to move it later (the time
// of the event or the time it became known, named, 400; moving it earlier is taken, the limit stamped
// kept), and a follow-up drafted before the final report was signed is not
// signed after it: the matter is closed.
func TestADraftCannotDodgeItsHourOrFollowAClosedMatter(t *testing.T) {
	f := dutyFed(t, nil)
	village := f.nodes["dongcun-1"]
	officer := dial(t, village).login("dc-duty", password)
	leader := dial(t, village).login("dc-leader", password)
	vduty := yizhanv1.NewDutyServiceClient(officer.conn)
	lduty := yizhanv1.NewDutyServiceClient(leader.conn)

	occurred := time.Now().Add(-2 * time.Hour) // its hour ran out an hour ago
	w, err := vduty.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(occurred)})
	if err != nil {
		t.Fatal(err)
	}
	first := w.GetReport()
	later := firstReport(time.Now().Add(-30 * time.Minute))
	if _, err := vduty.UpdateReport(officer.ctx(), &yizhanv1.UpdateReportRequest{Id: first.GetId(), Report: later}); err == nil {
		t.Fatal("a draft past its hour changed to an event 90 minutes later, in time again")
	} else if code, field := fieldOf(err); code != codes.InvalidArgument || field != "report.occurred_at" {
		t.Errorf("the change moving the hour later: %v, want InvalidArgument naming report.occurred_at", err)
	}
	learntLater := firstReport(occurred)
	learntLater.KnownAt = timestamppb.New(time.Now().Add(-20 * time.Minute))
	if _, err := vduty.UpdateReport(officer.ctx(), &yizhanv1.UpdateReportRequest{Id: first.GetId(), Report: learntLater}); err == nil {
		t.Fatal("a draft past its hour changed to say the event became known 20 minutes ago, in time again")
	} else if code, field := fieldOf(err); code != codes.InvalidArgument || field != "report.known_at" {
		t.Errorf("the change moving the hour later by the time it became known: %v, want InvalidArgument naming report.known_at", err)
	}
	earlier := firstReport(occurred.Add(-10 * time.Minute))
	changed, err := vduty.UpdateReport(officer.ctx(), &yizhanv1.UpdateReportRequest{Id: first.GetId(), Report: earlier})
	if err != nil {
		t.Fatalf("a change moving the hour earlier: %v", err)
	}
	if got := changed.GetReport().GetLimitMinutes(); got != first.GetLimitMinutes() {
		t.Errorf("the change moved the limit stamped when it was written: %d minutes, was %d", got, first.GetLimitMinutes())
	}
	signed, err := lduty.SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: first.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if !signed.GetLate() {
		t.Error("a first report signed an hour after its hour is not late (迟报)")
	}

	follow := func(kind yizhanv1.ReportKind, title string) string {
		t.Helper()
		r := firstReport(occurred)
		r.Kind, r.FirstId, r.Title = kind, first.GetId(), title
		r.OccurredAt = timestamppb.New(occurred)
		w, err := vduty.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: r})
		if err != nil {
			t.Fatal(err)
		}
		return w.GetReport().GetId()
	}
	followUp := follow(yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP, "东村后山滑坡续报")
	final := follow(yizhanv1.ReportKind_REPORT_KIND_FINAL, "东村后山滑坡终报")
	if _, err := lduty.SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: final}); err != nil {
		t.Fatal(err)
	}
	if _, err := lduty.SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: followUp}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("a follow-up signed after the final report closed the matter: %v", err)
	}
	if h, ok := village.Office().Cases().Report(followUp); !ok || h.GetReport().GetState() != yizhanv1.ReportState_REPORT_STATE_DRAFT {
		t.Errorf("the follow-up after the final: %v, want a draft still", h.GetReport().GetState())
	}
}
