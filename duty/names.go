package duty

import (
	"strconv"
	"strings"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The names of a report's category, level and kind as the forms and the
// exports write them.

var categoryNames = map[yizhanv1.IncidentCategory]string{
	yizhanv1.IncidentCategory_INCIDENT_CATEGORY_NATURAL_DISASTER: "自然灾害",
	yizhanv1.IncidentCategory_INCIDENT_CATEGORY_ACCIDENT:         "事故灾难",
	yizhanv1.IncidentCategory_INCIDENT_CATEGORY_PUBLIC_HEALTH:    "公共卫生事件",
	yizhanv1.IncidentCategory_INCIDENT_CATEGORY_SOCIAL_SAFETY:    "社会安全事件",
	yizhanv1.IncidentCategory_INCIDENT_CATEGORY_OTHER:            "其他",
}

var levelNames = map[yizhanv1.IncidentLevel]string{
	yizhanv1.IncidentLevel_INCIDENT_LEVEL_I:   "特别重大（Ⅰ级）",
	yizhanv1.IncidentLevel_INCIDENT_LEVEL_II:  "重大（Ⅱ级）",
	yizhanv1.IncidentLevel_INCIDENT_LEVEL_III: "较大（Ⅲ级）",
	yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV:  "一般（Ⅳ级）",
}

// CategoryName is a category in Chinese ("" if unknown).
func CategoryName(c yizhanv1.IncidentCategory) string { return categoryNames[c] }

// LevelName is a level in Chinese ("" if unknown).
func LevelName(l yizhanv1.IncidentLevel) string { return levelNames[l] }

// KindName is a report's kind in Chinese, a follow-up with its number
// (续报2), which it takes when it is signed: a draft is 续报（待签发）.
func KindName(r *yizhanv1.UrgentReport) string {
	switch r.GetKind() {
	case yizhanv1.ReportKind_REPORT_KIND_FIRST:
		return "首报"
	case yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP:
		switch {
		case r.GetState() != yizhanv1.ReportState_REPORT_STATE_SIGNED:
			return "续报（待签发）"
		case r.GetFollowUpNumber() == 0:
			return "续报"
		}
		return "续报" + strconv.Itoa(int(r.GetFollowUpNumber()))
	case yizhanv1.ReportKind_REPORT_KIND_FINAL:
		return "终报"
	}
	return ""
}

// CategoryNamed is the category named name (自然灾害, …), if any.
func CategoryNamed(name string) (yizhanv1.IncidentCategory, bool) {
	for c, n := range categoryNames {
		if n == name {
			return c, true
		}
	}
	return 0, false
}

// LevelNamed is the level named name: its whole name (一般（Ⅳ级）), the
// grade's word (一般) or its numeral (Ⅳ级, Ⅳ, IV), if any.
func LevelNamed(name string) (yizhanv1.IncidentLevel, bool) {
	romans := map[yizhanv1.IncidentLevel][]string{
		yizhanv1.IncidentLevel_INCIDENT_LEVEL_I: {"Ⅰ", "I"}, yizhanv1.IncidentLevel_INCIDENT_LEVEL_II: {"Ⅱ", "II"},
		yizhanv1.IncidentLevel_INCIDENT_LEVEL_III: {"Ⅲ", "III"}, yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV: {"Ⅳ", "IV"},
	}
	for l, n := range levelNames {
		word, _, _ := strings.Cut(n, "（")
		if name == n || name == word {
			return l, true
		}
		for _, r := range romans[l] {
			if name == r || name == r+"级" {
				return l, true
			}
		}
	}
	return 0, false
}
