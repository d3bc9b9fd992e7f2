package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// correctionCases is the fake case service with a real log: the filing
// and the one-time correction notice.
type correctionCases struct {
	*fakeCases
	events []*yizhanv1.CaseEvent
}

func (z *correctionCases) ListCaseEvents(context.Context, *yizhanv1.ListCaseEventsRequest) (*yizhanv1.ListCaseEventsResponse, error) {
	return &yizhanv1.ListCaseEventsResponse{ChainValid: true, Events: z.events}, nil
}

// The printed one-time correction notice (补正材料通知书) is what the
// citizen takes home. The county's case policy gives the notice a 补正期限
// (correction_wait_days, 30 days by default), after which staff close the
// case as 逾期未补正 without the citizen's written request (DESIGN: "past
// it, staff may withdraw the case as 逾期未补正"); the clerk's own page
// says "待补正，补正期限 2026-12-27". The written notice must tell the
// citizen that date (and what happens after it), or the case is closed on
// a deadline the citizen was never given (it did not).
func TestTheCorrectionNoticeStatesItsDeadline(t *testing.T) {
	due := time.Date(2026, 12, 27, 23, 59, 59, 999999999, china)
	var z *correctionCases
	f := newFixture(t, func(cfg *Config) {
		z = &correctionCases{fakeCases: cfg.Cases.(*fakeCases)}
		cfg.Cases = z
	})
	z.events = []*yizhanv1.CaseEvent{
		{Seq: 1, Type: yizhanv1.EventType_EVENT_TYPE_FILED, At: timestamppb.New(now.Add(-time.Hour)), OfficeCode: county},
		{Seq: 2, Type: yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED, At: timestamppb.New(now), OfficeCode: county,
			Actor: "chenjing", ActorName: "陈静", MissingMaterials: []string{"营业执照"}},
	}
	f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		c := filedCase()
		c.State = yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED
		c.LastSeq = 2
		c.MissingMaterials = []string{"营业执照"}
		c.CorrectionNotices = 1
		c.CorrectionNoticeAt = timestamppb.New(now)
		c.Deadlines = &yizhanv1.Deadlines{CorrectionDue: timestamppb.New(due)}
		c.AllowedActions = []string{"resubmit", "withdraw"}
		return &yizhanv1.CaseResponse{Case: c}, nil
	}

	// The clerk's page knows the deadline.
	_, page := f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken))
	if !strings.Contains(page, "补正期限 2026-12-27") {
		t.Fatalf("the case page does not show the 补正期限 (the test's setup is wrong):\n%s", page)
	}
	// The notice printed for the citizen says it too, and what follows.
	resp, notice := f.do(t, "GET", "/cases/"+caseNumber+"/print/correction", nil, session(adminClerkToken))
	if resp.StatusCode != 200 || !strings.Contains(notice, "补正材料通知书") || !strings.Contains(notice, "营业执照") {
		t.Fatalf("status %d, no notice:\n%s", resp.StatusCode, notice)
	}
	if !strings.Contains(notice, "请于 2026年12月27日 前补齐") || !strings.Contains(notice, "逾期未补正的，视为撤回申请") {
		t.Errorf("the printed 补正材料通知书 does not state the 补正期限 (2026年12月27日) after which the case is closed as 逾期未补正:\n%s", notice)
	}
}
