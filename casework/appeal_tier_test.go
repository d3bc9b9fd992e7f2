package casework

import (
	"strings"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A township decides the items the county devolved to it (下放), in its
// own name (the printed 不予行政许可决定书 is issued by the township's
// authority, 城厢镇人民政府). The appeal notice §38 requires must name the
// body that hears the reconsideration: for a township government's act,
// the county government above it (行政复议法 2023 第二十四条第一款第二项:
// 县级以上地方各级人民政府管辖对下一级人民政府作出的行政行为不服的). With no
// body in the county's case policy the notice said "向本级人民政府申请行政
// 复议", which on a township's decision sent the citizen to the township
// that denied it: it names the county-level government.
func TestATownshipDenialsAppealNoticeNamesTheBodyAbove(t *testing.T) {
	w := newWorld(t)
	n := w.file(village, townItem, eastAgent, "农村宅基地和建房申请表", "户口簿")
	w.settle()
	w.mustDo(township, n, ActionAccept, nil, townClerk)
	w.mustDo(township, n, ActionReview, &req{Agrees: false, Conclusion: yizhanv1.Conclusion_CONCLUSION_DISAGREE, Reason: "不符合村庄规划"}, townReviewer)
	c := w.mustDo(township, n, ActionDecide, &req{Approved: false, Reason: "不符合村庄规划", LegalBasis: "《土地管理法》第六十二条"}, townApprover)
	if c.GetOwnerOffice() != township || c.GetState() != stDenied {
		t.Fatalf("setup: %s at %s", c.GetState(), c.GetOwnerOffice())
	}
	got := AppealNotice(w.books[township].Events(n), w.reg)
	if got == "" {
		t.Fatal("no appeal notice on a denial")
	}
	if strings.Contains(got, "本级人民政府") || !strings.Contains(got, "向县级人民政府申请行政复议") {
		t.Errorf("the township's denial tells the citizen to apply to %q: %s", "本级人民政府", got)
	}
}
