package web

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// precheckCases is the fake case service with a real log: an online
// filing, its pre-check (预审通过 / 预审不通过).
type precheckCases struct {
	*fakeCases
	events []*yizhanv1.CaseEvent
}

func (z *precheckCases) ListCaseEvents(context.Context, *yizhanv1.ListCaseEventsRequest) (*yizhanv1.ListCaseEventsResponse, error) {
	return &yizhanv1.ListCaseEventsResponse{ChainValid: true, Events: z.events}, nil
}

// An online filing is pre-checked at the office where it was filed
// (EVENT_TYPE_PRECHECKED, or EVENT_TYPE_PRECHECK_REJECTED for spam) before
// it goes on. The timeline (办理记录 for staff, 办理进度 for the citizen)
// must name that step in Chinese, not show the API's enum name (it did).
func TestPrecheckEventsAreNamedInChinese(t *testing.T) {
	for _, tc := range []struct {
		ev    yizhanv1.EventType
		state yizhanv1.CaseState
		want  []string // any of these words
	}{
		{yizhanv1.EventType_EVENT_TYPE_PRECHECKED, yizhanv1.CaseState_CASE_STATE_FILED, []string{"预审通过"}},
		{yizhanv1.EventType_EVENT_TYPE_PRECHECK_REJECTED, yizhanv1.CaseState_CASE_STATE_PRECHECK_REJECTED, []string{"预审不通过", "预审未通过"}},
	} {
		t.Run(tc.ev.String(), func(t *testing.T) {
			var z *precheckCases
			f := newFixture(t, func(cfg *Config) {
				z = &precheckCases{fakeCases: cfg.Cases.(*fakeCases)}
				cfg.Cases = z
			})
			z.events = []*yizhanv1.CaseEvent{
				{Seq: 1, Type: yizhanv1.EventType_EVENT_TYPE_FILED, At: timestamppb.New(now.Add(-time.Hour)), OfficeCode: county, Actor: "citizen",
					Filing: &yizhanv1.CaseFiling{Online: true}},
				{Seq: 2, Type: tc.ev, At: timestamppb.New(now), OfficeCode: county, Actor: "chenjing", ActorName: "陈静", Reason: "材料齐全"},
			}
			f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
				c := filedCase()
				c.State = tc.state
				c.LastSeq = 2
				c.AllowedActions = nil
				return &yizhanv1.CaseResponse{Case: c}, nil
			}
			// The clerk's case page.
			_, page := f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken))
			if tl := timelineOf(page); !namesStep(tl, tc.want) {
				t.Errorf("the case page's 办理记录 does not name the step (%s) in Chinese:\n%s", strings.Join(tc.want, "/"), tl)
			}
			// The citizen's tracked case.
			resp, form := f.do(t, "GET", "/track", nil)
			_, page = f.do(t, "POST", "/track", url.Values{"csrf": {csrfOf(t, form)}, "number": {caseNumber}, "query_code": {"7KQ9-M3XP-2WHD"}}, cookieOf(resp, preCookie))
			if tl := timelineOf(page); !namesStep(tl, tc.want) {
				t.Errorf("the citizen's 办理进度 does not name the step (%s) in Chinese:\n%s", strings.Join(tc.want, "/"), tl)
			}
		})
	}
}

// timelineOf is the page's timeline, for the failure message.
func timelineOf(page string) string {
	i := strings.Index(page, `<ol class="timeline">`)
	if i < 0 {
		return page
	}
	j := strings.Index(page[i:], "</ol>")
	if j < 0 {
		return page[i:]
	}
	return page[i : i+j+5]
}

// namesStep reports whether the timeline names the step in one of the
// words and shows no enum name.
func namesStep(timeline string, words []string) bool {
	if strings.Contains(timeline, "EVENT_TYPE_") {
		return false
	}
	for _, w := range words {
		if strings.Contains(timeline, w) {
			return true
		}
	}
	return false
}
