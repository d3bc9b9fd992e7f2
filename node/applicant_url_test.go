package node_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The query code has a header (X-Yizhan-Query-Code) so that it stays out
// of the addresses proxies log, and the web UI searches by POST "so that
// an ID number stays out of URLs". The REST API's applicant search had
// neither: GET /v1/cases?applicant=<ID number> was its only form, so
// every proxy on the way logged the ID number in clear. This test asks
// for the search with the ID number out of the URL (a header, as the
// query code has, or a POST body: POST /v1/cases:search now).
func TestAnApplicantSearchKeepsTheIDNumberOutOfTheURL(t *testing.T) {
	n, _, clerk := loneTobaccoCounty(t)
	const other = "11010519491231002X"
	for _, id := range []string{applicantID, other} {
		if _, err := caseClient(t, clerk).FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: "张三", IdNumber: id, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	base := "http://" + n.HTTPAddr()
	count := func(req *http.Request) (int, int) {
		t.Helper()
		req.Header.Set("Authorization", "Bearer "+clerk.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct {
			Cases []json.RawMessage `json:"cases"`
		}
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, len(v.Cases)
	}

	// The form the API has: the ID number in the address.
	req, _ := http.NewRequest("GET", base+"/v1/cases?history=true&applicant="+url.QueryEscape(applicantID), nil)
	if code, got := count(req); code != http.StatusOK || got != 1 {
		t.Fatalf("GET /v1/cases?applicant=…: %d, %d cases, want 1", code, got)
	}
	t.Logf("the only working form puts the ID number in the URL: %s", req.URL.RequestURI())

	// Out of the address: as a header (as the query code), or in a POST body.
	var tried []string
	req, _ = http.NewRequest("GET", base+"/v1/cases?history=true", nil)
	req.Header.Set("X-Yizhan-Applicant", applicantID)
	code, got := count(req)
	tried = append(tried, fmt.Sprintf("GET with header X-Yizhan-Applicant: %d, %d cases", code, got))
	if code == http.StatusOK && got == 1 {
		return
	}
	for _, path := range []string{"/v1/cases:search", "/v1/cases/search"} {
		req, _ = http.NewRequest("POST", base+path, strings.NewReader(fmt.Sprintf(`{"history":true,"applicant":%q}`, applicantID)))
		req.Header.Set("Content-Type", "application/json")
		code, got = count(req)
		tried = append(tried, fmt.Sprintf("POST %s: %d, %d cases", path, code, got))
		if code == http.StatusOK && got == 1 {
			return
		}
	}
	t.Errorf("no REST form of the applicant search keeps the ID number out of the URL (proxies' access logs): %s", strings.Join(tried, "; "))
}
