package casework

import (
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// The appeal notice (行政许可法 §38: a refusal or a denial tells the
// applicant of the right to reconsideration or litigation): 60 days for
// 行政复议 (行政复议法 §20), six months for 行政诉讼 (行政诉讼法 §46), both
// from receipt of the decision.

// Where the county names none (CasePolicy): a county department's
// decision is reconsidered by the county government (本级人民政府); a
// township's (its government's, for an item devolved to it) by the
// county government above it, not by itself (行政复议法 §24(1)(2)).
const (
	defaultReconsiderationBody      = "本级人民政府"
	defaultReconsiderationBodyAbove = "县级人民政府"
	defaultCourt                    = "有管辖权的人民法院"
)

// AppealNotice is the appeal notice of a case whose log holds a refusal
// or a denial, in the words of its item's type (不予受理, 不予行政许可,
// 不予确认 …: WordsOf, as the printed decision), with the bodies its event
// was given with (AppealBodies then: the same at every office, and after
// the policy changes), or for an event of a release before, the county's
// case policy's of now; "" otherwise.
func AppealNotice(events []*yizhanv1.CaseEvent, reg Registry) string {
	if len(events) == 0 {
		return ""
	}
	decision := ""
	var by *yizhanv1.CaseEvent
	for _, e := range events {
		switch {
		case e.GetType() == yizhanv1.EventType_EVENT_TYPE_REFUSED:
			decision, by = "不予受理", e
		case e.GetType() == yizhanv1.EventType_EVENT_TYPE_DECIDED && !e.GetApproved():
			f := events[0].GetFiling()
			item, _ := reg.Item(f.GetItemCode(), f.GetItemVersion())
			decision, by = WordsOf(item.GetType()).No, e
		}
	}
	if decision == "" {
		return ""
	}
	body, court := by.GetReconsiderationBody(), by.GetCourt()
	if body == "" || court == "" {
		body, court = AppealBodies(reg.CasePolicy(), by.GetOfficeCode())
	}
	return "申请人如对本" + decision + "决定不服，可以自收到本决定之日起六十日内向" + body +
		"申请行政复议，或者自收到本决定之日起六个月内向" + court + "提起行政诉讼。"
}

// AppealBodies are the reconsideration body and the court an appeal
// notice names for a refusal or a denial by office under policy p: the
// county's, or where it names none, the county-level government for a
// township's (本级人民政府 for the county's) and 有管辖权的人民法院.
func AppealBodies(p *yizhanv1.CasePolicy, office string) (body, court string) {
	body, court = p.GetReconsiderationBody(), p.GetCourt()
	if body == "" {
		body = defaultReconsiderationBody
		if tier, err := registry.TierOf(office); err == nil && tier != yizhanv1.Tier_TIER_COUNTY {
			body = defaultReconsiderationBodyAbove
		}
	}
	if court == "" {
		court = defaultCourt
	}
	return body, court
}
