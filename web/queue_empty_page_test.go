package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A page of the queue that holds no case but has a next page (the book
// left out its most entries by state for one page) says the rest are on
// the next page and links it: the queue goes by the promised date, so
// the next page's cases are not earlier ones, as the history's are.
func TestAnEmptyPageOfTheQueueWithMoreToComeSaysTheRestAreOnTheNext(t *testing.T) {
	f := newFixture(t)
	f.cases.listCases = func(req *yizhanv1.ListCasesRequest) (*yizhanv1.ListCasesResponse, error) {
		return &yizhanv1.ListCasesResponse{NextPageToken: "tok"}, nil
	}
	resp, page := f.do(t, "GET", "/cases?state=3", nil, session(adminClerkToken))
	if resp.StatusCode != 200 || !strings.Contains(page, "这一页没有符合条件的办件，其余的请看下一页。") || !strings.Contains(page, "page=tok") ||
		strings.Contains(page, "更早的") || strings.Contains(page, "没有办件。") {
		t.Errorf("an empty page of the queue with a next one: %d\n%s", resp.StatusCode, page)
	}
}

// A page of an applicant's cases that holds none, with a next page (a
// page reads at most 2,000 cases to filter them), says the earlier ones
// are on the next page and offers it, where it said there were none.
func TestAnEmptyPageOfAnApplicantsCasesWithMoreToComeSaysSo(t *testing.T) {
	f := newFixture(t)
	f.cases.listCases = func(req *yizhanv1.ListCasesRequest) (*yizhanv1.ListCasesResponse, error) {
		if req.GetPageToken() == "" {
			return &yizhanv1.ListCasesResponse{NextPageToken: "tok"}, nil
		}
		return &yizhanv1.ListCasesResponse{Cases: []*yizhanv1.Case{filedCase()}}, nil
	}
	clerk := session(adminClerkToken)
	_, page := f.do(t, "GET", "/cases", nil, clerk)
	resp, found := f.do(t, "POST", "/cases/search", url.Values{"csrf": {csrfOf(t, page)}, "applicant": {"黄小明"}}, clerk)
	if resp.StatusCode != http.StatusOK || !strings.Contains(found, "这一页没有符合条件的办件，更早的请看下一页。") || strings.Contains(found, "没有办件。") ||
		!strings.Contains(found, `name="page" value="tok"`) {
		t.Fatalf("an empty page of an applicant's cases with a next one: %s\n%s", resp.Status, found)
	}
	resp, found = f.do(t, "POST", "/cases/search", url.Values{"csrf": {csrfOf(t, found)}, "applicant": {"黄小明"}, "page": {"tok"}}, clerk)
	if resp.StatusCode != http.StatusOK || !strings.Contains(found, caseNumber) {
		t.Errorf("the next page of an applicant's cases: %s, want the case", resp.Status)
	}
}
