package web

import (
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
