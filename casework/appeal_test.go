package casework

import (
	"strings"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The appeal notice names the decision as the printed document does, in
// the words of the item's type; an approval has none.
func TestAppealNoticeNamesTheDecision(t *testing.T) {
	reg := newReg(t)
	filed := func(code string) *yizhanv1.CaseEvent {
		return &yizhanv1.CaseEvent{Seq: 1, Type: yizhanv1.EventType_EVENT_TYPE_FILED,
			Filing: &yizhanv1.CaseFiling{ItemCode: code, ItemVersion: reg.item(code).GetVersion()}}
	}
	decided := func(approved bool) *yizhanv1.CaseEvent {
		return &yizhanv1.CaseEvent{Seq: 2, Type: yizhanv1.EventType_EVENT_TYPE_DECIDED, Approved: approved}
	}
	refused := &yizhanv1.CaseEvent{Seq: 2, Type: yizhanv1.EventType_EVENT_TYPE_REFUSED}
	for _, tc := range []struct {
		name   string
		events []*yizhanv1.CaseEvent
		want   string // "" for no notice
	}{
		{"a licence denied", []*yizhanv1.CaseEvent{filed(tobacco), decided(false)}, "对本不予行政许可决定不服"},
		{"a public service denied", []*yizhanv1.CaseEvent{filed(immediate), decided(false)}, "对本不予办理决定不服"},
		{"a filing refused", []*yizhanv1.CaseEvent{filed(tobacco), refused}, "对本不予受理决定不服"},
		{"a licence approved", []*yizhanv1.CaseEvent{filed(tobacco), decided(true)}, ""},
	} {
		got := AppealNotice(tc.events, reg)
		if tc.want == "" {
			if got != "" {
				t.Errorf("%s: notice %q, want none", tc.name, got)
			}
			continue
		}
		if !strings.Contains(got, tc.want) || !strings.Contains(got, "六十日内") || !strings.Contains(got, "六个月内") {
			t.Errorf("%s: notice %q, want it to say %q and both time limits", tc.name, got, tc.want)
		}
	}
}
