package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// Page tokens of this release, in these fakes: "p" and an offset. An
// offset alone is the token of an earlier release (an address
// bookmarked before an upgrade), refused as the API refuses a token it
// did not give out, or one of another query: naming page_token.
func newPageToken(off string) string { return "p" + off }

// readPageToken is the offset a token of this release holds, or the
// API's refusal of one it did not give out.
func readPageToken(t string) (string, error) {
	if t != "" && !strings.HasPrefix(t, "p") {
		return "", badRequest(reason.Violation{Field: "page_token", Reason: reason.InvalidFormat, Meta: reason.Meta{"format": "PAGE_TOKEN"},
			Description: "belongs to another query: page on with the filters of the first page (page_size may change), or ask for the first page"})
	}
	return strings.TrimPrefix(t, "p"), nil
}

// pageOfThisRelease is pageOf with this release's tokens.
func pageOfThisRelease[T any](list []T, token string, size int32) ([]T, string, error) {
	off, err := readPageToken(token)
	if err != nil {
		return nil, "", err
	}
	page, next := pageOf(list, off, size)
	if next != "" {
		next = newPageToken(next)
	}
	return page, next, nil
}

func queueCase(i int) *yizhanv1.Case {
	c := filedCase()
	c.Number = fmt.Sprintf("450122000000-20261127-%04d", i+1)
	return c
}

// The queue's page and an applicant's search, asked with the page token
// of an earlier release (a bookmark, a search form left open over an
// upgrade), show the list from its first page with its links, where they
// showed the error page.
func TestTheQueueWithAnOldPageTokenShowsItsFirstPage(t *testing.T) {
	f := newFixture(t)
	var cases []*yizhanv1.Case
	for i := range queuePageSize + 1 {
		cases = append(cases, queueCase(i))
	}
	f.cases.listCases = func(req *yizhanv1.ListCasesRequest) (*yizhanv1.ListCasesResponse, error) {
		cs, next, err := pageOfThisRelease(cases, req.GetPageToken(), req.GetPageSize())
		return &yizhanv1.ListCasesResponse{Cases: cs, NextPageToken: next}, err
	}
	clerk := session(adminClerkToken)
	for _, path := range []string{"/cases?page=100", "/cases?all=1&page=100"} {
		resp, page := f.do(t, "GET", path, nil, clerk)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s, want the first page", path, resp.Status)
			continue
		}
		if !strings.Contains(page, queueCase(0).GetNumber()) {
			t.Errorf("%s does not show the queue's first page", path)
		}
		if !strings.Contains(page, "page="+url.QueryEscape(newPageToken(fmt.Sprint(queuePageSize)))) {
			t.Errorf("%s: the first page shown links to no next page of this release", path)
		}
	}

	_, page := f.do(t, "GET", "/cases", nil, clerk)
	resp, found := f.do(t, "POST", "/cases/search", url.Values{"csrf": {csrfOf(t, page)}, "applicant": {"黄小明"}, "page": {"100"}}, clerk)
	if resp.StatusCode != http.StatusOK || !strings.Contains(found, queueCase(0).GetNumber()) {
		t.Errorf("a search's next page with an old token: %s, want the applicant's first page", resp.Status)
	}
}

// oldTokenReports is manyReports whose page tokens are this release's.
type oldTokenReports struct{ *manyReports }

func (m oldTokenReports) ListReports(ctx context.Context, req *yizhanv1.ListReportsRequest) (*yizhanv1.ListReportsResponse, error) {
	off, err := readPageToken(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	inner := proto.Clone(req).(*yizhanv1.ListReportsRequest)
	inner.PageToken = off
	resp, err := m.manyReports.ListReports(ctx, inner)
	if t := resp.GetNextPageToken(); t != "" {
		resp.NextPageToken = newPageToken(t)
	}
	return resp, err
}

// The duty page asked with a page token of an earlier release for one of
// its lists shows that list from its first page, the others on the
// pages asked for; the lists' links and the forms carry no old token.
func TestTheDutyPageWithAnOldPageTokenShowsThatListsFirstPage(t *testing.T) {
	du := &manyReports{}
	n := reportsPageSize + 1
	for i := range n {
		du.all = append(du.all, heldReport(county, ownID(i), "县本级报告"), heldReport(village, fmt.Sprintf("R-RECV-%05d", i), receivedTitle(i)))
		du.waiting = append(du.waiting, heldReport(village, waitingID(i), "待签收报告"))
	}
	f := newFixture(t, func(cfg *Config) {
		cfg.Auth = belowDutyAuth{cfg.Auth.(*fakeAuth)}
		cfg.Duty = oldTokenReports{du}
	})
	officer := session(belowDutyToken)
	last := reportsPageSize
	own, waiting := func(i int) string { return `id="own-` + ownID(i) + `"` }, func(i int) string { return `id="below-` + waitingID(i) + `"` }

	resp, page := f.do(t, "GET", "/duty?own=50&received=50&below=50", nil, officer)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the duty page with old tokens: %s", resp.Status)
	}
	if !strings.Contains(page, own(0)) || !strings.Contains(page, receivedTitle(0)) || !strings.Contains(page, waiting(0)) {
		t.Error("the duty page with old tokens does not show each list's first page")
	}
	for _, old := range []string{"own=50", "received=50", "below=50"} {
		if strings.Contains(page, old) {
			t.Errorf("the duty page with old tokens carries %s in its links or forms", old)
		}
	}

	// One list's token old, the others of this release: they stay on
	// their second pages, and its links and forms keep them.
	path := "/duty?" + url.Values{"own": {"50"}, "received": {newPageToken("50")}, "below": {newPageToken("50")}}.Encode()
	resp, page = f.do(t, "GET", path, nil, officer)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the duty page with the own reports' token old: %s", resp.Status)
	}
	if !strings.Contains(page, own(0)) || !strings.Contains(page, receivedTitle(last)) || !strings.Contains(page, waiting(last)) {
		t.Error("an old token of the own reports moved the other lists")
	}
	if strings.Contains(page, "own=50") {
		t.Error("the page carries the own reports' old token in its links or forms")
	}
	if action := formAction(t, page, "below-"+waitingID(last)); !strings.Contains(action, "below=p50") || !strings.Contains(action, "received=p50") {
		t.Errorf("the acknowledgement form %q does not carry the pages shown", action)
	}
}

// oldTokenCards is manySupervision whose cards' page tokens are this
// release's.
type oldTokenCards struct{ *manySupervision }

func (m oldTokenCards) ListCards(_ context.Context, req *yizhanv1.ListCardsRequest) (*yizhanv1.ListCardsResponse, error) {
	cards, next, err := pageOfThisRelease(m.cards, req.GetPageToken(), req.GetPageSize())
	return &yizhanv1.ListCardsResponse{Cards: cards, NextPageToken: next}, err
}

// The supervision page asked with a page token of the cards of an
// earlier release shows the newest cards of the month asked for, with a
// link to the earlier ones; its forms carry no old token.
func TestTheSupervisionPageWithAnOldCardsTokenShowsTheNewest(t *testing.T) {
	sv := &manySupervision{formsSupervision: &formsSupervision{}}
	for i := range cardsPageSize + 1 {
		sv.cards = append(sv.cards, &yizhanv1.Card{CaseNumber: cardNumber(i), Colour: yizhanv1.CardColour_CARD_COLOUR_YELLOW,
			Rule: yizhanv1.CardRule_CARD_RULE_DUE_SOON, OfficeCode: county, ItemName: "烟草专卖零售许可证核发", At: timestamppb.New(now.Add(-time.Duration(i) * time.Minute))})
	}
	f := newFixture(t, func(c *Config) { c.Supervision = oldTokenCards{sv} })
	resp, page := f.do(t, "GET", "/supervision?month=2026-11&cards=50", nil, session(supervisorToken))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the supervision page with an old token of the cards: %s", resp.Status)
	}
	if !strings.Contains(page, cardNumber(0)) || strings.Contains(page, cardNumber(cardsPageSize)) {
		t.Error("the supervision page with an old token does not show the newest cards")
	}
	if !cardsNextRE.MatchString(page) || strings.Contains(page, "← 最新红黄牌") {
		t.Error("the newest cards shown for an old token do not link as the first page does")
	}
	if strings.Contains(page, "cards=50") {
		t.Error("the page carries the old token in its links or forms")
	}
	if !strings.Contains(page, "month=2026-11") {
		t.Error("the page shown for an old token left the month asked for")
	}
}

// oldTokenChanges is the fake registry whose audit trail's page tokens
// are this release's.
type oldTokenChanges struct{ *fakeRegistry }

func (r oldTokenChanges) ListRegistryChanges(ctx context.Context, req *yizhanv1.ListRegistryChangesRequest) (*yizhanv1.ListRegistryChangesResponse, error) {
	if _, err := readPageToken(req.GetPageToken()); err != nil {
		return nil, err
	}
	resp, err := r.fakeRegistry.ListRegistryChanges(ctx, req)
	resp.NextPageToken = newPageToken(resp.GetNextPageToken())
	return resp, err
}

// The audit trail (操作记录) asked with a page token of an earlier release
// shows its newest entries, with a link to the earlier ones.
func TestTheAuditTrailWithAnOldPageTokenShowsTheNewest(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Registry = oldTokenChanges{c.Registry.(*fakeRegistry)} })
	resp, page := f.do(t, "GET", "/admin/changes?kind=staff&page=41", nil, session(adminToken))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "陈静") {
		t.Fatalf("the audit trail with an old token: %s, want its newest entries", resp.Status)
	}
	if !strings.Contains(page, "page=p41") || strings.Contains(page, "page=41") {
		t.Error("the newest entries shown for an old token do not link to the next page of this release")
	}
}
