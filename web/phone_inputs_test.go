package web

import (
	"regexp"
	"strings"
	"testing"
)

// inputTag is the <input> element named name on the page.
func inputTag(page, name string) string {
	return regexp.MustCompile(`<input[^>]*name="` + regexp.QuoteMeta(name) + `"[^>]*>`).FindString(page)
}

// A citizen leaving a question on 网上咨询 from a phone types a phone
// number the API checks as one (node/consultations.go: casework.ValidPhone).
// The input must be type="tel", as the filing form's 联系电话 is
// (case_new.html), so that the phone offers its number pad, not the
// Chinese input method's full keyboard.
func TestCitizensPhoneInputsAreTel(t *testing.T) {
	f := newFixture(t, func(cfg *Config) { cfg.Supervision = &formsSupervision{} })
	resp, page := f.do(t, "GET", "/ask", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("/ask: %s", resp.Status)
	}
	tag := inputTag(page, "contact")
	if tag == "" {
		t.Fatalf("no 联系电话 input on /ask:\n%s", page)
	}
	if !strings.Contains(tag, `type="tel"`) {
		t.Errorf("/ask 联系电话 is %s: not type=\"tel\"", tag)
	}
	// The filing form does it right (for comparison).
	_, filing := f.do(t, "GET", "/cases/new?item=450122-YC-001", nil, session(agentToken))
	if tag := inputTag(filing, "applicant.phone"); !strings.Contains(tag, `type="tel"`) {
		t.Logf("(the filing form's phone is %s)", tag)
	}
}
