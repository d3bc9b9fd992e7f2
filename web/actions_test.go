package web

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

var (
	actFormRE   = regexp.MustCompile(`<details class="act"[^>]*id="act-([A-Za-z]+)"`)
	actButtonRE = regexp.MustCompile(`<button class="primary" name="go" value="([A-Za-z]+)"`)
)

// staffActions are the actions staff ask for, by the rule table.
func staffActions() []string {
	var out []string
	for _, a := range casework.AskedActions() {
		if len(a.Roles()) > 0 {
			out = append(out, a.String())
		}
	}
	return out
}

// The case page draws its forms from the case's allowed_actions, as the
// API gives them, in their order: those and only those.
func TestCasePageShowsExactlyTheAllowedActions(t *testing.T) {
	for _, allowed := range [][]string{
		nil,
		{"accept", "requestCorrection", "refuse", "withdraw"},
		{"resume"},
		{"giveOpinion", "review", "suspend", "extend"},
		{"pay", "assessFee", "withdraw"},
		{"certify", "deliver", "assessFee"},
		{"precheck", "rejectPrecheck", "withdraw"},
		staffActions(),
		{"withdraw", "rate", "complain"}, // as a citizen would get them: rating and complaining are not staff's
		{"deliver", "someFutureAction"},  // one this UI does not know is left out
	} {
		t.Run(strings.Join(allowed, ","), func(t *testing.T) {
			f := newFixture(t)
			f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
				c := filedCase()
				c.AllowedActions = allowed
				return &yizhanv1.CaseResponse{Case: c}, nil
			}
			_, page := f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken))
			want := slices.DeleteFunc(slices.Clone(allowed), func(a string) bool { _, ok := caseActions[a]; return !ok })
			var forms, buttons []string
			for _, m := range actFormRE.FindAllStringSubmatch(page, -1) {
				forms = append(forms, m[1])
			}
			for _, m := range actButtonRE.FindAllStringSubmatch(page, -1) {
				buttons = append(buttons, m[1])
			}
			if !slices.Equal(forms, want) || !slices.Equal(buttons, want) {
				t.Errorf("allowed %v: forms %v, buttons %v, want %v", allowed, forms, buttons, want)
			}
			if len(want) == 0 && !strings.Contains(page, "您的角色没有此办件当前可做的操作") {
				t.Error("a case that allows nothing does not say so")
			}
		})
	}
}

// The citizen's forms on the track page are there when allowed_actions
// has them, and only then.
func TestTrackPageShowsTheCitizensAllowedActions(t *testing.T) {
	for _, allowed := range [][]string{nil, {"complain"}, {"rate", "complain"}, {"withdraw", "complain"}} {
		t.Run(strings.Join(allowed, ","), func(t *testing.T) {
			f := newFixture(t)
			f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
				c := filedCase()
				c.State, c.AllowedActions = yizhanv1.CaseState_CASE_STATE_CLOSED, allowed
				return &yizhanv1.CaseResponse{Case: c}, nil
			}
			resp, page := f.do(t, "GET", "/track", nil)
			_, page = f.do(t, "POST", "/track", url.Values{"csrf": {csrfOf(t, page)}, "number": {caseNumber}, "query_code": {"12345678"}}, cookieOf(resp, preCookie))
			for _, a := range []string{"rate", "complain"} {
				if got, want := strings.Contains(page, `action="/track/`+a+`"`), slices.Contains(allowed, a); got != want {
					t.Errorf("allowed %v: the %s form shown %v, want %v", allowed, a, got, want)
				}
			}
		})
	}
}

// Every action staff may be allowed has its form here, and every form
// here is an action staff may be allowed.
func TestEveryStaffActionHasAForm(t *testing.T) {
	staff := staffActions()
	for _, a := range staff {
		if ca, ok := caseActions[a]; !ok || ca.Name != a || ca.Label == "" || ca.Done == "" || ca.call == nil {
			t.Errorf("staff may %s: the case page has no form for it (%+v)", a, ca)
		}
	}
	for name := range caseActions {
		if !slices.Contains(staff, name) {
			t.Errorf("the case page has a form for %s, which no staff member may ask for", name)
		}
	}
}
