package web

import (
	"net/url"
	"strings"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The per-category limits typed on the 值班 page: one a line, with or
// without a level, the level by its word or its numeral; a wrong line is
// named with what is wrong.
func TestLimitsOfForm(t *testing.T) {
	got, bad := limitsOfForm("自然灾害，特别重大，30\n\n事故灾难, Ⅲ级, 45分钟\n公共卫生事件，20\n")
	if bad != "" {
		t.Fatal(bad)
	}
	want := []*yizhanv1.ReportLimit{
		{Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_NATURAL_DISASTER, Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_I, Minutes: 30},
		{Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_ACCIDENT, Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_III, Minutes: 45},
		{Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_PUBLIC_HEALTH, Minutes: 20},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].GetCategory() != want[i].GetCategory() || got[i].GetLevel() != want[i].GetLevel() || got[i].GetMinutes() != want[i].GetMinutes() {
			t.Errorf("line %d: %v, want %v", i+1, got[i], want[i])
		}
	}
	for text, wantIn := range map[string]string{
		"地震，30": "第 1 行：没有“地震”这一类别",
		"自然灾害，30\n自然灾害，特大，30": "第 2 行：没有“特大”这一等级",
		"自然灾害，半小时":            "时限“半小时”应为分钟数",
		"自然灾害":                "第 1 行应写作",
	} {
		if _, bad := limitsOfForm(text); !strings.Contains(bad, wantIn) {
			t.Errorf("%q: %q, want it to say %q", text, bad, wantIn)
		}
	}
}

// A number or a time the report form cannot read (what a browser's
// number input lets through, "1e3"; a word; a time without the date's
// dashes) is named on the form, never sent as 0 or as no time; a time to
// the second, as some browsers give it, is read.
func TestReportFormNamesWhatIsNotANumberOrATime(t *testing.T) {
	form := &formReader{f: url.Values{"deaths": {"1e3"}, "injured": {"2.0"}, "missing": {"三"}, "kind": {"4294967297"},
		"occurred_at": {"2026/12/01 10:05"}, "known_at": {"2026-12-01T10:05:30"}, "title": {"东村后山滑坡"}}}
	r := reportOfForm(form)
	for _, field := range []string{"deaths", "injured", "missing", "kind", "occurred_at"} {
		if form.errs.Get(field) == "" {
			t.Errorf("%s=%q is not named", field, form.f.Get(field))
		}
	}
	if form.errs.Get("known_at") != "" || r.GetKnownAt().AsTime().In(china).Format("15:04:05") != "10:05:30" {
		t.Errorf("known_at to the second: %v, %q", r.GetKnownAt(), form.errs.Get("known_at"))
	}
	if form.errs.Get("title") != "" || r.GetTitle() != "东村后山滑坡" {
		t.Errorf("title: %q", r.GetTitle())
	}
	ok := &formReader{f: url.Values{"deaths": {" 3 "}, "occurred_at": {"2026-12-01T10:05"}}}
	if r := reportOfForm(ok); ok.errs.Any() || r.GetDeaths() != 3 || r.GetOccurredAt() == nil {
		t.Errorf("a good form: %v, %v", r, ok.errs.List())
	}
}
