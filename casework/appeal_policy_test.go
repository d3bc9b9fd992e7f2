package casework

import (
	"strings"
	"testing"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The county names its reconsideration body (行政复议机关) and court in the
// case policy, then denies a tobacco licence. A village a feed's delay
// behind (or cut off for a day) still holds the policy before, and prints
// the denial at delivery; and a month later the county names another
// body. The applicant's notice under §38 is the one the decision was made
// with, at every office and for good: the denial's event keeps its bodies
// (the notice was read from each reading node's policy of now).
func TestAnAppealNoticeIsTheOneTheDecisionWasMadeWith(t *testing.T) {
	w, n := caseIn(t, "accepted")
	w.reg.apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_PutCasePolicy{PutCasePolicy: &peerv1.PutCasePolicy{
		Policy: &yizhanv1.CasePolicy{ReconsiderationBody: "武鸣区人民政府", Court: "武鸣区人民法院"}}}})
	w.mustDo(county, n, sReview.act, sReview.in, sReview.actor)
	w.mustDo(county, n, ActionDecide, &req{Approved: false, Reason: "不符合布局要求", LegalBasis: "《烟草专卖法实施条例》第十条"}, countyApprove)
	events := w.books[county].Events(n)
	served := AppealNotice(events, w.reg)
	if !strings.Contains(served, "向武鸣区人民政府申请行政复议") || !strings.Contains(served, "向武鸣区人民法院提起行政诉讼") {
		t.Fatalf("the notice served: %s", served)
	}
	if atVillage := AppealNotice(events, newReg(t)); atVillage != served {
		t.Errorf("at a village that holds the policy before:\n  %s\nwant the one served:\n  %s", atVillage, served)
	}
	w.reg.apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_PutCasePolicy{PutCasePolicy: &peerv1.PutCasePolicy{
		Policy: &yizhanv1.CasePolicy{ReconsiderationBody: "南宁市人民政府"}}}})
	if later := AppealNotice(events, w.reg); later != served {
		t.Errorf("a month later, the county having named another body:\n  %s\nwant the one served:\n  %s", later, served)
	}
	// A denial of a release before (no bodies in its event) takes the
	// policy's of now.
	old := []*yizhanv1.CaseEvent{events[0], {Seq: 2, Type: yizhanv1.EventType_EVENT_TYPE_DECIDED, OfficeCode: county, Approved: false}}
	if got := AppealNotice(old, w.reg); !strings.Contains(got, "向南宁市人民政府申请行政复议") {
		t.Errorf("a denial of a release before: %s", got)
	}
}
