package node_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// docs/LIMITS.md: GetAssessment and ExportReports take from … to (to
// included) of at most 366 days; ListShifts at most 62 days. A day more
// is refused, naming to (the assessment took 367 days, the shifts 63),
// and the limit itself is taken.
func TestDutyRangesAreBoundedWithTheirLastDay(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.nodes["county-1"]).login("admin", password)
	dsv := yizhanv1.NewDutyServiceClient(admin.conn)
	rsv := yizhanv1.NewDutyRosterServiceClient(admin.conn)

	// 2025-01-01 … 2026-01-02, both included: 367 days.
	from, to := "2025-01-01", "2026-01-02"
	_, err := dsv.ExportReports(admin.ctx(), &yizhanv1.ExportReportsRequest{From: from, To: to, Format: "json"})
	if code, field := fieldOf(err); code != codes.InvalidArgument || field != "to" {
		t.Errorf("export of 367 days: %v", err)
	}
	_, err = dsv.GetAssessment(admin.ctx(), &yizhanv1.GetAssessmentRequest{From: from, To: to})
	if code, field := fieldOf(err); code != codes.InvalidArgument || field != "to" {
		t.Errorf("assessment of 367 days (limit 366): %v, %v", status.Code(err), err)
	}
	// 2026-01-01 … 2026-03-04, both included: 63 days.
	_, err = rsv.ListShifts(admin.ctx(), &yizhanv1.ListShiftsRequest{From: "2026-01-01", To: "2026-03-04"})
	if code, field := fieldOf(err); code != codes.InvalidArgument || field != "to" {
		t.Errorf("shifts of 63 days (limit 62): %v, %v", status.Code(err), err)
	}
	if _, err := dsv.GetAssessment(admin.ctx(), &yizhanv1.GetAssessmentRequest{From: "2025-01-01", To: "2026-01-01"}); err != nil {
		t.Errorf("assessment of 366 days: %v", err)
	}
	if _, err := rsv.ListShifts(admin.ctx(), &yizhanv1.ListShiftsRequest{From: "2026-01-01", To: "2026-03-03"}); err != nil {
		t.Errorf("shifts of 62 days: %v", err)
	}
}
