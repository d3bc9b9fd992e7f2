package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/reason"
)

// manySupervision holds more cards, questions and consultations than a
// page shows; each comes a page at a time, as the API's do.
type manySupervision struct {
	*formsSupervision
	cards         []*yizhanv1.Card
	questions     []*yizhanv1.Consultation // awaiting an answer, oldest first
	consultations []*yizhanv1.Consultation // this month's, newest first
}

func (m *manySupervision) ListCards(_ context.Context, req *yizhanv1.ListCardsRequest) (*yizhanv1.ListCardsResponse, error) {
	cards, next := pageOf(m.cards, req.GetPageToken(), req.GetPageSize())
	return &yizhanv1.ListCardsResponse{Cards: cards, NextPageToken: next}, nil
}

func (m *manySupervision) ListConsultations(_ context.Context, req *yizhanv1.ListConsultationsRequest) (*yizhanv1.ListConsultationsResponse, error) {
	list := m.consultations
	if req.GetAwaitingAnswer() {
		list = m.questions
	}
	cs, next := pageOf(list, req.GetPageToken(), req.GetPageSize())
	return &yizhanv1.ListConsultationsResponse{Consultations: cs, NextPageToken: next}, nil
}

// pageOf is the page of list that a fake API answers for page token
// token (an offset) and size (100 when 0), and the next page's token
// ("" after the last).
func pageOf[T any](list []T, token string, size int32) ([]T, string) {
	off, _ := strconv.Atoi(token)
	if size == 0 {
		size = 100
	}
	off = min(off, len(list))
	end := min(off+int(size), len(list))
	if end < len(list) {
		return list[off:end], strconv.Itoa(end)
	}
	return list[off:end], ""
}

// cardNumber is the case number of the i-th card, newest first.
func cardNumber(i int) string { return fmt.Sprintf("450122000000-20261127-%04d", i+1) }

var cardsNextRE = regexp.MustCompile(`<a href="([^"]+)">更早的红黄牌 →</a>`)

// A supervisor with more red and yellow cards than a page lists reads
// the earlier ones on the next page.
func TestSupervisionCardsHaveANextPage(t *testing.T) {
	sv := &manySupervision{formsSupervision: &formsSupervision{}}
	for i := range 51 {
		sv.cards = append(sv.cards, &yizhanv1.Card{CaseNumber: cardNumber(i), Colour: yizhanv1.CardColour_CARD_COLOUR_YELLOW,
			Rule: yizhanv1.CardRule_CARD_RULE_DUE_SOON, OfficeCode: county, ItemName: "烟草专卖零售许可证核发", At: timestamppb.New(now.Add(-time.Duration(i) * time.Minute))})
	}
	f := newFixture(t, func(c *Config) { c.Supervision = sv })
	resp, page := f.do(t, "GET", "/supervision?month=2026-11", nil, session(supervisorToken))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the supervision page: %s\n%s", resp.Status, page)
	}
	if !strings.Contains(page, cardNumber(0)) || strings.Contains(page, cardNumber(50)) {
		t.Fatalf("the first page does not list the newest cards alone")
	}
	m := cardsNextRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the 51st card is out of reach: no link to the earlier cards")
	}
	next := html.UnescapeString(m[1])
	if !strings.Contains(next, "month=2026-11") {
		t.Errorf("the next page of cards %q leaves the month shown", next)
	}
	next, _, _ = strings.Cut(next, "#") // a browser keeps the fragment
	resp, page = f.do(t, "GET", next, nil, session(supervisorToken))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, cardNumber(50)) {
		t.Errorf("the next page of cards (%s, %s) does not list the 51st", next, resp.Status)
	}
	if cardsNextRE.MatchString(page) {
		t.Error("the last page of cards links to a next one")
	}
	if !strings.Contains(page, `>← 最新红黄牌</a>`) {
		t.Error("a later page of cards does not lead back to the newest")
	}
}

// A supervisor orders an answer for a card of the second page: refused,
// the card's form comes back on that page (its summary reaching its
// field), and issued, the page comes back to the month and the page of
// cards it was on.
func TestAnOrderForACardOfALaterPageComesBackToIt(t *testing.T) {
	sv := &manySupervision{formsSupervision: &formsSupervision{}}
	for i := range cardsPageSize + 1 {
		sv.cards = append(sv.cards, &yizhanv1.Card{CaseNumber: cardNumber(i), Colour: yizhanv1.CardColour_CARD_COLOUR_YELLOW,
			Rule: yizhanv1.CardRule_CARD_RULE_DUE_SOON, OfficeCode: county, ItemName: "烟草专卖零售许可证核发", At: timestamppb.New(now.Add(-time.Duration(i) * time.Minute))})
	}
	f := newFixture(t, func(c *Config) { c.Supervision = sv })
	supervisor := session(supervisorToken)
	_, page := f.do(t, "GET", "/supervision?month=2026-11", nil, supervisor)
	page, _ = follow(t, f, page, "更早的红黄牌 →", supervisor)
	m := regexp.MustCompile(`<form method="post" action="([^"]+)" class="order">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no order form on the card of the second page")
	}
	action := html.UnescapeString(m[1])
	form := url.Values{"csrf": {csrfOf(t, page)}, "case_number": {cardNumber(cardsPageSize)}, "card_rule": {strconv.Itoa(int(yizhanv1.CardRule_CARD_RULE_DUE_SOON))},
		"instruction": {"请说明原因"}, "answer_days": {"45"}}
	sv.issueErr = badRequest(reason.Violation{Field: "answer_days", Description: "must be 1 to 30 working days, got 45", Reason: reason.OutOfRange,
		Meta: reason.Meta{"min": "1", "max": "30", "got": "45"}})
	resp, refused := f.do(t, "POST", action, form, supervisor)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(refused, `href="#f-issue-`+cardNumber(cardsPageSize)) {
		t.Fatalf("the refused order (%s, %s) names no field of the card", action, resp.Status)
	}
	if b := brokenSummaryLinks(refused); len(b) > 0 {
		t.Errorf("the refused order of a card of the second page is shown on the first: its summary links reach no element: %v", b)
	}
	sv.issueErr = nil
	resp, _ = f.do(t, "POST", action, form, supervisor)
	to := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(to, "msg=issued") || !strings.Contains(to, "month=2026-11") {
		t.Fatalf("an order issued: %s to %q", resp.Status, to)
	}
	if _, page = f.do(t, "GET", to, nil, supervisor); !strings.Contains(page, cardNumber(cardsPageSize)) {
		t.Errorf("after an order on the second page of cards (%s) the page is back on the first", to)
	}
}

// section is the part of page from the element whose attribute is start
// to the end of its section.
func section(t *testing.T, page, start string) string {
	t.Helper()
	i := strings.Index(page, start)
	if i < 0 {
		t.Fatalf("no %s on the page:\n%s", start, page)
	}
	part := page[i:]
	if j := strings.Index(part, "</section>"); j >= 0 {
		part = part[:j]
	}
	return part
}

// follow is the page that the link named text on page leads to, the
// fragment left out (a browser keeps it), and the link itself.
func follow(t *testing.T, f *fixture, page, text string, cookie *http.Cookie) (next, link string) {
	t.Helper()
	m := regexp.MustCompile(`<a href="([^"]+)">` + regexp.QuoteMeta(text) + `</a>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no link %s on the page", text)
	}
	link = html.UnescapeString(m[1])
	path, _, _ := strings.Cut(link, "#")
	resp, next := f.do(t, "GET", path, nil, cookie)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s (%s): %s\n%s", text, link, resp.Status, next)
	}
	return next, link
}

// formAction is the action of the form inside the element whose id is
// id, as a browser posts to it.
func formAction(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no %s on the page", id)
	}
	m := regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(page[i:])
	if m == nil {
		t.Fatalf("no form in %s", id)
	}
	return html.UnescapeString(m[1])
}

func questionID(i int) string     { return fmt.Sprintf("ZX-450122000000-20261127-Q%05d", i) }
func consultationID(i int) string { return fmt.Sprintf("ZX-450122000000-20261127-C%05d", i) }

// A clerk with more questions awaiting an answer, and more of the
// month's consultations, than a page lists reaches the rest by the
// lists' links, each list going on without moving the other, and
// answers a question of a later page, back on that page after it. A
// list is counted in its heading only when the page holds all of it.
func TestConsultationListsHaveNextPages(t *testing.T) {
	sv := &manySupervision{formsSupervision: &formsSupervision{}}
	for i := range consultPageSize + 1 {
		sv.questions = append(sv.questions, &yizhanv1.Consultation{Id: questionID(i), Question: "需要带什么材料？", At: timestamppb.New(now),
			State: yizhanv1.ConsultationState_CONSULTATION_STATE_ASKED})
		sv.consultations = append(sv.consultations, &yizhanv1.Consultation{Id: consultationID(i), Question: "需要带什么材料？", At: timestamppb.New(now),
			State: yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED, Answer: "身份证"})
	}
	f := newFixture(t, func(c *Config) { c.Supervision = sv })
	clerk := session(adminClerkToken)
	resp, page := f.do(t, "GET", "/consultations", nil, clerk)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the consultations page: %s\n%s", resp.Status, page)
	}
	last := consultPageSize // the first past the first page
	if !strings.Contains(page, questionID(0)) || strings.Contains(page, questionID(last)) ||
		!strings.Contains(page, consultationID(0)) || strings.Contains(page, consultationID(last)) {
		t.Fatalf("the first page does not list the first %d of each list alone", consultPageSize)
	}
	if strings.Contains(page, "仅显示前") {
		t.Error("a list that goes on to a next page says that it shows only the first ones")
	}
	if h := section(t, page, `aria-label="本月咨询"`); strings.Contains(h, fmt.Sprintf("（%d 条）", consultPageSize)) {
		t.Errorf("本月咨询 counts %d, the page's, not the month's", consultPageSize)
	}

	// The questions' next page: the 51st question, the consultations
	// still on their first page.
	page, link := follow(t, f, page, "较晚的待答复咨询 →", clerk)
	if !strings.HasSuffix(link, "#awaiting") {
		t.Errorf("the questions' next page %q does not lead to the questions", link)
	}
	if !strings.Contains(page, `id="q-`+questionID(last)+`"`) || strings.Contains(page, `id="q-`+questionID(0)+`"`) {
		t.Fatal("the questions' next page does not list the later questions alone")
	}
	if !strings.Contains(page, consultationID(0)) || strings.Contains(page, consultationID(last)) {
		t.Error("the questions' next page moved the month's consultations too")
	}
	if strings.Contains(page, "较晚的待答复咨询 →") {
		t.Error("the questions' last page links to a next one")
	}

	// Then the consultations' next page: the questions stay on theirs.
	page, _ = follow(t, f, page, "更早的咨询 →", clerk)
	if !strings.Contains(page, consultationID(last)) || strings.Contains(page, consultationID(0)) {
		t.Fatal("the consultations' next page does not list the earlier consultations alone")
	}
	if !strings.Contains(page, `id="q-`+questionID(last)+`"`) {
		t.Error("the consultations' next page took the questions back to their first page")
	}

	// An answer to the 51st question: refused, it is shown with its
	// question, on the page it was typed on; saved, the page comes back
	// with the same pages.
	action := formAction(t, page, "q-"+questionID(last))
	sv.answerErr = badRequest(reason.Violation{Field: "answer", Description: "must be at most 2000 characters, got 2001", Reason: reason.TooLong,
		Meta: reason.Meta{"max": "2000", "got": "2001"}})
	resp, refused := f.do(t, "POST", action, url.Values{"csrf": {csrfOf(t, page)}, "answer": {"请携带身份证。"}}, clerk)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(refused, `id="q-`+questionID(last)+`"`) {
		t.Errorf("a refused answer to a question of the second page (%s, %s) is not shown with its question", action, resp.Status)
	}
	if b := brokenSummaryLinks(refused); len(b) > 0 {
		t.Errorf("error summary links reach no element: %v", b)
	}
	sv.answerErr = nil
	resp, _ = f.do(t, "POST", action, url.Values{"csrf": {csrfOf(t, page)}, "answer": {"请携带身份证。"}}, clerk)
	to := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(to, "msg=answered") {
		t.Fatalf("an answer: %s to %q", resp.Status, to)
	}
	_, page = f.do(t, "GET", to, nil, clerk)
	if !strings.Contains(page, `id="q-`+questionID(last)+`"`) || !strings.Contains(page, consultationID(last)) {
		t.Errorf("after an answer on the second pages (%s) the page is back on the first", to)
	}

	// Back to the first page of the questions, the consultations kept.
	page, _ = follow(t, f, page, "← 最早的待答复咨询", clerk)
	if !strings.Contains(page, `id="q-`+questionID(0)+`"`) || !strings.Contains(page, consultationID(last)) {
		t.Error("back to the first questions, the page does not list the first questions and the consultations' second page")
	}
	page, _ = follow(t, f, page, "← 最新的咨询", clerk)
	if !strings.Contains(page, consultationID(0)) {
		t.Error("back to the newest consultations, the page does not list them")
	}

	// A page's worth exactly: the whole of each list, counted, with no
	// links.
	sv.questions, sv.consultations = sv.questions[:consultPageSize], sv.consultations[:consultPageSize]
	_, page = f.do(t, "GET", "/consultations", nil, clerk)
	if strings.Contains(page, `class="pager`) {
		t.Error("a list all on one page links to other pages")
	}
	if h := section(t, page, `aria-label="本月咨询"`); !strings.Contains(h, fmt.Sprintf("（%d 条）", consultPageSize)) {
		t.Errorf("本月咨询, all on the page, does not say how many:\n%.300s", h)
	}
}

// manyReports is a county's duty service holding more of its own
// reports, more received from below and more waiting for its
// acknowledgement than a page of each lists; each comes a page at a
// time, as the API's do.
type manyReports struct {
	belowDuty
	all     []*yizhanv1.HeldReport // the county's and those from below, newest first
	waiting []*yizhanv1.HeldReport // from below, not acknowledged here, oldest first
	ackErr  error
	reads   int // ListReports calls
}

func (m *manyReports) ListReports(_ context.Context, req *yizhanv1.ListReportsRequest) (*yizhanv1.ListReportsResponse, error) {
	m.reads++
	var list []*yizhanv1.HeldReport
	switch {
	case req.GetUnacknowledged():
		list = m.waiting
	case req.GetScope() == yizhanv1.ReportScope_REPORT_SCOPE_OWN:
		for _, h := range m.all {
			if h.GetReport().GetOfficeCode() == county {
				list = append(list, h)
			}
		}
	case req.GetScope() == yizhanv1.ReportScope_REPORT_SCOPE_BELOW:
		for _, h := range m.all {
			if h.GetReport().GetOfficeCode() != county {
				list = append(list, h)
			}
		}
	default:
		list = m.all
	}
	rs, next := pageOf(list, req.GetPageToken(), req.GetPageSize())
	return &yizhanv1.ListReportsResponse{Reports: rs, NextPageToken: next}, nil
}

func (m *manyReports) AcknowledgeReport(context.Context, *yizhanv1.AcknowledgeReportRequest) (*yizhanv1.HeldReport, error) {
	if m.ackErr != nil {
		return nil, m.ackErr
	}
	return belowDuty{}.report(), nil
}

func (m *manyReports) GetReport(_ context.Context, req *yizhanv1.GetReportRequest) (*yizhanv1.HeldReport, error) {
	for _, h := range m.all {
		if h.GetReport().GetId() == req.GetId() {
			return h, nil
		}
	}
	return nil, status.Error(codes.NotFound, "no such report")
}

func (m *manyReports) SignReport(context.Context, *yizhanv1.SignReportRequest) (*yizhanv1.HeldReport, error) {
	return belowDuty{}.report(), nil
}

const countyLeaderToken = "tok-county-leader"

// leaderDutyAuth knows, besides belowDutyAuth's people, the county's
// leader on duty (带班领导).
type leaderDutyAuth struct{ belowDutyAuth }

func (a leaderDutyAuth) WhoAmI(ctx context.Context, req *yizhanv1.WhoAmIRequest) (*yizhanv1.WhoAmIResponse, error) {
	if auth.BearerToken(ctx) == countyLeaderToken {
		return &yizhanv1.WhoAmIResponse{Staff: &yizhanv1.StaffMember{Username: "daiban", Name: "覃带班", OfficeCode: county,
			Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_LEADER}}}, nil
	}
	return a.belowDutyAuth.WhoAmI(ctx, req)
}

// heldReport is a signed first report of office, id and title.
func heldReport(office, id, title string) *yizhanv1.HeldReport {
	h := belowDuty{}.report()
	h.Report.OfficeCode, h.Report.Id, h.Report.Title = office, id, title
	return h
}

func ownID(i int) string         { return fmt.Sprintf("R-OWN-%05d", i) }
func receivedTitle(i int) string { return fmt.Sprintf("下级报告第%05d号", i) }
func waitingID(i int) string     { return fmt.Sprintf("R-WAIT-%05d", i) }

// A county duty officer with more of the county's reports, more from
// below and more waiting for acknowledgement than a page of each lists
// reaches the rest by each list's link: the county's own and those from
// below are one listing of the API, and each list goes on on its own.
// An acknowledgement on a later page comes back to it.
func TestDutyReportListsHaveNextPages(t *testing.T) {
	du := &manyReports{}
	n := reportsPageSize + 1
	for i := range n { // the county's and the village's, one after the other
		du.all = append(du.all, heldReport(county, ownID(i), "县本级报告"), heldReport(village, fmt.Sprintf("R-RECV-%05d", i), receivedTitle(i)))
		du.waiting = append(du.waiting, heldReport(village, waitingID(i), "待签收报告"))
	}
	f := newFixture(t, func(cfg *Config) {
		cfg.Auth = belowDutyAuth{cfg.Auth.(*fakeAuth)}
		cfg.Duty = du
	})
	officer := session(belowDutyToken)
	resp, page := f.do(t, "GET", "/duty", nil, officer)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the duty page: %s\n%s", resp.Status, page)
	}
	last := reportsPageSize
	own, received, waiting := func(i int) string { return `id="own-` + ownID(i) + `"` }, receivedTitle, func(i int) string { return `id="below-` + waitingID(i) + `"` }
	for _, l := range []struct {
		name  string
		item  func(int) string
		start string
	}{{"本单位报告", own, `aria-label="本单位报告"`}, {"下级报告", received, `aria-label="下级报告"`}, {"待签收的下级报告", waiting, `aria-label="待签收的下级报告"`}} {
		part := section(t, page, l.start)
		if !strings.Contains(part, l.item(0)) || !strings.Contains(part, l.item(last-1)) || strings.Contains(part, l.item(last)) {
			t.Errorf("%s's first page does not list its first %d alone", l.name, reportsPageSize)
		}
		if strings.Contains(part, "仅显示前") || strings.Contains(part, fmt.Sprintf("（%d）", reportsPageSize)) {
			t.Errorf("%s says it stops, or counts the page's reports as all:\n%.300s", l.name, part)
		}
	}

	// Each list's next page: its 51st, the others where they were.
	page, _ = follow(t, f, page, "更早的本单位报告 →", officer)
	if !strings.Contains(page, own(last)) || strings.Contains(page, own(0)) {
		t.Error("the county's reports' next page does not list the earlier ones alone")
	}
	if !strings.Contains(page, received(0)) || !strings.Contains(page, waiting(0)) {
		t.Error("the county's reports' next page moved the other lists")
	}
	page, _ = follow(t, f, page, "更早的下级报告 →", officer)
	if !strings.Contains(page, received(last)) || strings.Contains(page, received(0)) || !strings.Contains(page, own(last)) {
		t.Error("the reports from below go on to their next page apart from the county's")
	}
	page, _ = follow(t, f, page, "较晚的待签收报告 →", officer)
	if !strings.Contains(page, waiting(last)) || strings.Contains(page, waiting(0)) || !strings.Contains(page, own(last)) || !strings.Contains(page, received(last)) {
		t.Error("the reports waiting for acknowledgement go on to their next page apart from the others")
	}
	for _, link := range []string{"更早的本单位报告 →", "更早的下级报告 →", "较晚的待签收报告 →"} {
		if strings.Contains(page, ">"+link+"<") {
			t.Errorf("a last page links on: %s", link)
		}
	}

	// The 51st report waiting, acknowledged: refused, it is shown with
	// its report; done, the page comes back with the same pages.
	action := formAction(t, page, "below-"+waitingID(last))
	form := url.Values{"csrf": {csrfOf(t, page)}, "request": {"请续报"}, "follow_up_minutes": {"60"}}
	du.ackErr = badRequest(reason.Violation{Field: "request", Description: "must be at most 2000 characters, got 2001", Reason: reason.TooLong,
		Meta: reason.Meta{"max": "2000", "got": "2001"}})
	resp, refused := f.do(t, "POST", action, form, officer)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(refused, waiting(last)) {
		t.Errorf("a refused acknowledgement of a report of the second page (%s, %s) is not shown with its report", action, resp.Status)
	}
	if b := brokenSummaryLinks(refused); len(b) > 0 {
		t.Errorf("error summary links reach no element: %v", b)
	}
	du.ackErr = nil
	resp, _ = f.do(t, "POST", action, form, officer)
	to := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(to, "msg=acknowledged") {
		t.Fatalf("an acknowledgement: %s to %q", resp.Status, to)
	}
	_, page = f.do(t, "GET", to, nil, officer)
	if !strings.Contains(page, waiting(last)) || !strings.Contains(page, own(last)) || !strings.Contains(page, received(last)) {
		t.Errorf("after an acknowledgement on the second pages (%s) the page is back on the first", to)
	}

	for _, back := range []struct{ link, first string }{{"← 最新的本单位报告", own(0)}, {"← 最新的下级报告", received(0)}, {"← 最早的待签收报告", waiting(0)}} {
		page, _ = follow(t, f, page, back.link, officer)
		if !strings.Contains(page, back.first) {
			t.Errorf("%s does not list the first page", back.link)
		}
	}
}

// The county's own reports and those from below are each a listing of
// the API of their own (ListReports' scope): a report from below behind
// more of the county's than a thousand is on the first page of 下级报告.
// They were one listing, read for each list a bounded number of times a
// page, and such a report was behind pages that said they found none.
func TestReportsFromBelowBehindManyOfTheCountysAreOnTheirFirstPage(t *testing.T) {
	du := &manyReports{}
	for i := range 1010 {
		du.all = append(du.all, heldReport(county, ownID(i), "县本级报告"))
	}
	du.all = append(du.all, heldReport(village, "R-RECV-00000", receivedTitle(0)))
	f := newFixture(t, func(cfg *Config) {
		cfg.Auth = belowDutyAuth{cfg.Auth.(*fakeAuth)}
		cfg.Duty = du
	})
	officer := session(belowDutyToken)
	resp, page := f.do(t, "GET", "/duty", nil, officer)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the duty page: %s\n%s", resp.Status, page)
	}
	if du.reads > 3 {
		t.Errorf("the duty page read the reports %d times, want one read a list", du.reads)
	}
	part := section(t, page, `aria-label="下级报告"`)
	if !strings.Contains(part, receivedTitle(0)) {
		t.Errorf("下级报告's first page does not list the report from below:\n%.300s", part)
	}
	if strings.Contains(part, ">更早的下级报告 →<") {
		t.Error("下级报告, all on its first page, links on")
	}
}

// The leader on duty signs a draft of a later page of 本单位报告 and comes
// back to that page. A follow-up drafted after its matter was closed is
// not offered for signature though its first report, older, is on the
// next page.
func TestDutyDraftsOnLaterPages(t *testing.T) {
	draft := func(h *yizhanv1.HeldReport) *yizhanv1.HeldReport {
		h.Report.State = yizhanv1.ReportState_REPORT_STATE_DRAFT
		return h
	}
	followUp := draft(heldReport(county, "R-FOLLOW", "续报稿"))
	followUp.Report.Kind, followUp.Report.FirstId = yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP, "R-FIRST"
	first := heldReport(county, "R-FIRST", "已终报的首报")
	first.Closed = true
	du := &manyReports{all: []*yizhanv1.HeldReport{followUp}} // newest first
	for i := range reportsPageSize {
		du.all = append(du.all, heldReport(county, ownID(i), "县本级报告"))
	}
	du.all = append(du.all, draft(heldReport(county, "R-DRAFT", "待签发")), first)
	f := newFixture(t, func(cfg *Config) {
		cfg.Auth = leaderDutyAuth{belowDutyAuth{cfg.Auth.(*fakeAuth)}}
		cfg.Duty = du
	})
	leader := session(countyLeaderToken)
	resp, page := f.do(t, "GET", "/duty", nil, leader)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the duty page: %s\n%s", resp.Status, page)
	}
	if strings.Contains(page, `id="own-R-FIRST"`) {
		t.Fatal("the closed first report is on the first page (the test's setup is wrong)")
	}
	art := section(t, page, `id="own-R-FOLLOW"`)
	art = art[:strings.Index(art, "</article>")]
	if strings.Contains(art, "/sign") || !strings.Contains(art, "此事件已终报") {
		t.Errorf("a follow-up of a closed matter, its first report on the next page, is offered for signature:\n%s", art)
	}

	page, _ = follow(t, f, page, "更早的本单位报告 →", leader)
	action := formAction(t, page, "own-R-DRAFT")
	if !strings.Contains(action, "/duty/R-DRAFT/sign?") {
		t.Fatalf("the draft's signature %q does not carry the page it is on", action)
	}
	resp, _ = f.do(t, "POST", action, url.Values{"csrf": {csrfOf(t, page)}}, leader)
	to := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(to, "msg=signed") {
		t.Fatalf("a signature: %s to %q", resp.Status, to)
	}
	if _, page = f.do(t, "GET", to, nil, leader); !strings.Contains(page, `id="own-R-DRAFT"`) {
		t.Errorf("after a signature on the second page (%s) the page is back on the first", to)
	}
}

// manyItems is a catalogue longer than a page, whose page tokens, as the
// API's, go on only with the query that gave them out: "p" and an
// offset here; an offset alone (the token of an earlier release) is
// refused, naming page_token.
type manyItems struct {
	*fakeRegistry
	items []*yizhanv1.Item
}

func (m *manyItems) ListItems(_ context.Context, req *yizhanv1.ListItemsRequest) (*yizhanv1.ListItemsResponse, error) {
	t := req.GetPageToken()
	if t != "" && !strings.HasPrefix(t, "p") {
		return nil, reason.BadRequest(reason.Violation{Field: "page_token", Reason: reason.InvalidFormat, Meta: reason.Meta{"format": "PAGE_TOKEN"},
			Description: "is not a page token this listing gave out"}).Err()
	}
	items, next := pageOf(m.items, strings.TrimPrefix(t, "p"), req.GetPageSize())
	if next != "" {
		next = "p" + next
	}
	return &yizhanv1.ListItemsResponse{Items: items, NextPageToken: next}, nil
}

var (
	catalogueNextRE = regexp.MustCompile(`<a href="([^"]+)">下一页 →</a>`)
	cataloguePrevRE = regexp.MustCompile(`<a href="([^"]+)">← 上一页</a>`)
)

// The catalogue goes on a page at a time and back again, page by page,
// by the tokens the API gave out: its previous page was an offset the
// page made up, which the API takes no more. An address of an earlier
// release (/items?page=50, a bookmark) shows the catalogue from its first
// page.
func TestTheCatalogueGoesOnAndBackByTheAPIsTokens(t *testing.T) {
	reg := &manyItems{}
	for i := range 2*cataloguePageSize + 10 {
		reg.items = append(reg.items, &yizhanv1.Item{Code: fmt.Sprintf("450122-YC-%03d", i+1), Name: fmt.Sprintf("第%d项", i+1), DepartmentCode: "yc"})
	}
	f := newFixture(t, func(c *Config) { reg.fakeRegistry = c.Registry.(*fakeRegistry); c.Registry = reg })
	open := func(path string) (string, string, string) {
		t.Helper()
		resp, page := f.do(t, "GET", path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s\n%s", path, resp.Status, page)
		}
		link := func(re *regexp.Regexp) string {
			if m := re.FindStringSubmatch(page); m != nil {
				return html.UnescapeString(m[1])
			}
			return ""
		}
		return page, link(catalogueNextRE), link(cataloguePrevRE)
	}
	first, next, prev := open("/items")
	if !strings.Contains(first, "450122-YC-001") || next == "" || prev != "" {
		t.Fatalf("the first page: next %q, prev %q", next, prev)
	}
	second, next, prev := open(next)
	if !strings.Contains(second, "450122-YC-051") || strings.Contains(second, "450122-YC-001") || next == "" || prev != "/items" {
		t.Fatalf("the second page: next %q, prev %q", next, prev)
	}
	secondURL := next // the third page's address; its previous is the second
	third, next, prev := open(secondURL)
	if !strings.Contains(third, "450122-YC-101") || next != "" || prev == "" {
		t.Fatalf("the third page: next %q, prev %q", next, prev)
	}
	if again, _, back := open(prev); !strings.Contains(again, "450122-YC-051") || strings.Contains(again, "450122-YC-101") || back != "/items" {
		t.Errorf("back from the third page: not the second (its previous %q)", back)
	}
	if old, _, prev := open("/items?page=50"); !strings.Contains(old, "450122-YC-001") || prev != "" {
		t.Errorf("an address of an earlier release: not the first page (previous %q)", prev)
	}
}
