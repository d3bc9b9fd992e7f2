package web

import (
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
