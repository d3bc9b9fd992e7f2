package web

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

func (f *fakeCases) Review(_ context.Context, req *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return f.act("review", req)
}

func (f *fakeCases) GiveOpinion(_ context.Context, req *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return f.act("giveOpinion", req)
}

// A review or an opinion posted from a case page of the release before,
// open in a browser across the upgrade, named its conclusion agrees (1
// 同意, 0 不同意), today's conclusion (agree, disagree): its 不同意 was
// sent as no conclusion, and refused as if the clerk had chosen none.
// Either name is the conclusion the clerk chose.
func TestAReviewFromAPageOfTheReleaseBefore(t *testing.T) {
	for _, c := range []struct {
		name string
		form url.Values
		want yizhanv1.Conclusion
	}{
		{"today's 同意", url.Values{"conclusion": {"agree"}}, yizhanv1.Conclusion_CONCLUSION_AGREE},
		{"today's 不同意", url.Values{"conclusion": {"disagree"}, "reason": {"材料不全"}}, yizhanv1.Conclusion_CONCLUSION_DISAGREE},
		{"today's, nothing chosen", url.Values{"conclusion": {""}}, yizhanv1.Conclusion_CONCLUSION_UNSPECIFIED},
		{"the release before's 同意", url.Values{"agrees": {"1"}}, yizhanv1.Conclusion_CONCLUSION_AGREE},
		{"the release before's 不同意", url.Values{"agrees": {"0"}, "reason": {"材料不全"}}, yizhanv1.Conclusion_CONCLUSION_DISAGREE},
	} {
		for _, action := range []string{"review", "giveOpinion"} {
			t.Run(c.name+" "+action, func(t *testing.T) {
				f := newFixture(t)
				var asked []*yizhanv1.CaseActionRequest
				f.cases.act = func(_ string, req *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
					asked = append(asked, req)
					return &yizhanv1.CaseResponse{Case: filedCase()}, nil
				}
				_, page := f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken))
				form := url.Values{"csrf": {csrfOf(t, page)}, "action": {action}}
				for k, v := range c.form {
					form[k] = v
				}
				resp, body := f.do(t, "POST", "/cases/"+caseNumber+"/act", form, session(adminClerkToken))
				if resp.StatusCode != http.StatusSeeOther || len(asked) != 1 {
					t.Fatalf("%s: %s, asked %d times\n%.500s", action, resp.Status, len(asked), body)
				}
				if got := asked[0]; got.GetConclusion() != c.want || got.GetAgrees() {
					t.Errorf("%v asked the API for conclusion %v (agrees %v), want %v", c.form, got.GetConclusion(), got.GetAgrees(), c.want)
				}
			})
		}
	}
}
