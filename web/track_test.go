package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The track form takes a query code in any case, with or without dashes,
// refuses one that cannot be a code without asking the API, and says when
// too many wrong codes hold the next attempt back.
func TestTrackingQueryCodeForm(t *testing.T) {
	f := newFixture(t)
	var asked []string
	f.cases.getCase = func(req *yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		asked = append(asked, req.GetQueryCode())
		if strings.HasPrefix(req.GetQueryCode(), "22") {
			return nil, retryIn(2 * time.Minute)
		}
		return &yizhanv1.CaseResponse{Case: filedCase()}, nil
	}
	resp, page := f.do(t, "GET", "/track", nil)
	pre := cookieOf(resp, preCookie)
	token := csrfOf(t, page)
	if !strings.Contains(page, "7KQ9-M3XP-2WHD") {
		t.Error("the track form does not show what a query code looks like")
	}
	post := func(code string) (*http.Response, string) {
		return f.do(t, "POST", "/track", url.Values{"csrf": {token}, "number": {caseNumber}, "query_code": {code}}, pre)
	}
	for _, code := range []string{"7kq9 m3xp 2whd", "7KQ9-M3XP-2WHD", "12345678"} {
		if resp, _ := post(code); resp.StatusCode != http.StatusOK {
			t.Errorf("code %q: status %d, want 200", code, resp.StatusCode)
		}
	}
	n := len(asked)
	for _, code := range []string{"1234", "OOOO-OOOO-OOOO", "7KQ9-M3XP-2WHD-7KQ9"} {
		if resp, page := post(code); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "12 位字母和数字") {
			t.Errorf("code %q: status %d, want 400 naming the form", code, resp.StatusCode)
		}
	}
	if len(asked) != n {
		t.Errorf("codes that cannot be codes were sent to the API: %q", asked[n:])
	}
	if resp, page := post("2222-2222-2222"); resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(page, "查询码错误次数过多") || !strings.Contains(page, "2 分钟") {
		t.Errorf("held back: status %d", resp.StatusCode)
	}
}

// The number is read as typed on a phone: digits alone, or full-width
// from a Chinese input method.
func TestTrackingTakesTheNumberAsTyped(t *testing.T) {
	f := newFixture(t)
	var asked []string
	f.cases.getCase = func(req *yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		asked = append(asked, req.GetNumber())
		return &yizhanv1.CaseResponse{Case: filedCase()}, nil
	}
	resp, page := f.do(t, "GET", "/track", nil)
	pre := cookieOf(resp, preCookie)
	token := csrfOf(t, page)
	digits := strings.ReplaceAll(caseNumber, "-", "")
	var wide strings.Builder
	for _, r := range caseNumber {
		if r == '-' {
			wide.WriteRune('－')
		} else {
			wide.WriteRune(r - '0' + '０')
		}
	}
	for _, typed := range []string{digits, wide.String()} {
		asked = nil
		if resp, _ := f.do(t, "POST", "/track", url.Values{"csrf": {token}, "number": {typed}, "query_code": {"7KQ9-M3XP-2WHD"}}, pre); resp.StatusCode != http.StatusOK {
			t.Errorf("%q: status %d", typed, resp.StatusCode)
		}
		if len(asked) == 0 || asked[0] != caseNumber {
			t.Errorf("%q was asked as %q", typed, asked)
		}
	}
}

// A citizen who closed the receipt opens it again from the tracked case,
// with the number and the query code: the same facts and the code; a
// wrong code shows nothing of the case.
func TestReceiptReopenedFromTracking(t *testing.T) {
	f := newFixture(t)
	f.cases.getCase = func(req *yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		if req.GetQueryCode() != "7KQ9-M3XP-2WHD" {
			return nil, status.Error(codes.NotFound, "no such case")
		}
		return &yizhanv1.CaseResponse{Case: filedCase()}, nil
	}
	resp, page := f.do(t, "GET", "/track", nil)
	pre := cookieOf(resp, preCookie)
	token := csrfOf(t, page)
	_, tracked := f.do(t, "POST", "/track", url.Values{"csrf": {token}, "number": {caseNumber}, "query_code": {"7KQ9-M3XP-2WHD"}}, pre)
	if !strings.Contains(tracked, `action="/track/receipt"`) || !strings.Contains(tracked, "查看申请回执") {
		t.Fatal("the tracked case offers no receipt")
	}
	resp, receipt := f.do(t, "POST", "/track/receipt", url.Values{"csrf": {token}, "number": {caseNumber}, "query_code": {"7KQ9-M3XP-2WHD"}}, pre)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the receipt: %s", resp.Status)
	}
	for _, want := range []string{"<h1>申请回执</h1>", caseNumber, "7KQ9-M3XP-2WHD", filedCase().GetItemName(), "流转路线"} {
		if !strings.Contains(receipt, want) {
			t.Errorf("the receipt lacks %q", want)
		}
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("the receipt with its query code may be cached: %q", cc)
	}
	resp, wrong := f.do(t, "POST", "/track/receipt", url.Values{"csrf": {token}, "number": {caseNumber}, "query_code": {"7KQ9-M3XP-2WHE"}}, pre)
	if resp.StatusCode != http.StatusNotFound || strings.Contains(wrong, filedCase().GetItemName()) {
		t.Errorf("a wrong code: %s", resp.Status)
	}
}
