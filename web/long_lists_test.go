package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// manySupervision holds more cards, questions and consultations than a
// page shows. Its cards come a page at a time, as the API's do; its
// consultations have no next page (ListConsultations has no page token):
// as many as asked for.
type manySupervision struct {
	*formsSupervision
	cards         []*yizhanv1.Card
	questions     []*yizhanv1.Consultation // awaiting an answer, oldest first
	consultations []*yizhanv1.Consultation // this month's, newest first
}

func (m *manySupervision) ListCards(_ context.Context, req *yizhanv1.ListCardsRequest) (*yizhanv1.ListCardsResponse, error) {
	off, _ := strconv.Atoi(req.GetPageToken())
	size := int(req.GetPageSize())
	if size == 0 {
		size = 100
	}
	end := min(off+size, len(m.cards))
	resp := &yizhanv1.ListCardsResponse{Cards: m.cards[off:end]}
	if end < len(m.cards) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

func (m *manySupervision) ListConsultations(_ context.Context, req *yizhanv1.ListConsultationsRequest) (*yizhanv1.ListConsultationsResponse, error) {
	list := m.consultations
	if req.GetAwaitingAnswer() {
		list = m.questions
	}
	return &yizhanv1.ListConsultationsResponse{Consultations: list[:min(int(req.GetPageSize()), len(list))]}, nil
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

// The questions awaiting an answer and the month's consultations cannot
// be paged (the API has no next page): a clerk with more than the page
// lists is told that the list stops, not shown a count that is only the
// page's.
func TestConsultationListsSayWhereTheyStop(t *testing.T) {
	sv := &manySupervision{formsSupervision: &formsSupervision{}}
	for i := range 250 {
		id := fmt.Sprintf("ZX-450122000000-20261127-%06d", i)
		sv.questions = append(sv.questions, &yizhanv1.Consultation{Id: id, Question: "需要带什么材料？", At: timestamppb.New(now),
			State: yizhanv1.ConsultationState_CONSULTATION_STATE_ASKED})
		sv.consultations = append(sv.consultations, &yizhanv1.Consultation{Id: id, Question: "需要带什么材料？", At: timestamppb.New(now),
			State: yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED, Answer: "身份证"})
	}
	f := newFixture(t, func(c *Config) { c.Supervision = sv })
	resp, page := f.do(t, "GET", "/consultations", nil, session(adminClerkToken))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the consultations page: %s\n%s", resp.Status, page)
	}
	for _, sec := range []struct{ name, start string }{
		{"待答复的网上咨询", `aria-label="待答复的网上咨询"`},
		{"本月咨询", `aria-label="本月咨询"`},
	} {
		part := section(t, page, sec.start)
		if !strings.Contains(part, "仅显示前 200 条") {
			t.Errorf("%s does not say that it shows only the first 200:\n%.400s", sec.name, part)
		}
		if strings.Contains(part, "（200 条）") {
			t.Errorf("%s counts 200, the page's, not the office's", sec.name)
		}
	}

	// 200 exactly: the whole list, without the note.
	sv.questions, sv.consultations = sv.questions[:200], sv.consultations[:200]
	_, page = f.do(t, "GET", "/consultations", nil, session(adminClerkToken))
	if strings.Contains(page, "仅显示前") {
		t.Error("a list of 200, all shown, says it shows only the first 200")
	}
}

// manyReports is a county's duty service holding more of its own
// reports, and more reports from below waiting for its acknowledgement,
// than the duty page lists (ListReports has no page token).
type manyReports struct {
	belowDuty
}

func (manyReports) ListReports(_ context.Context, req *yizhanv1.ListReportsRequest) (*yizhanv1.ListReportsResponse, error) {
	var resp yizhanv1.ListReportsResponse
	for i := range min(int(req.GetPageSize()), 250) {
		r := belowDuty{}.report()
		r.Report.Id = fmt.Sprintf("r-%d", i)
		if !req.GetUnacknowledged() {
			r.Report.OfficeCode = county
		}
		resp.Reports = append(resp.Reports, r)
	}
	return &resp, nil
}

// A duty officer with more reports than the page lists is told that the
// lists stop.
func TestDutyReportListsSayWhereTheyStop(t *testing.T) {
	f := newFixture(t, func(cfg *Config) {
		cfg.Auth = belowDutyAuth{cfg.Auth.(*fakeAuth)}
		cfg.Duty = manyReports{}
	})
	resp, page := f.do(t, "GET", "/duty", nil, session(belowDutyToken))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the duty page: %s\n%s", resp.Status, page)
	}
	for _, sec := range []struct{ name, start string }{
		{"本单位报告", `aria-label="本单位报告"`},
		{"待签收的下级报告", `aria-label="待签收的下级报告"`},
	} {
		part := section(t, page, sec.start)
		if !strings.Contains(part, "仅显示前 200 条") {
			t.Errorf("%s does not say that it shows only the first 200:\n%.400s", sec.name, part)
		}
		if strings.Contains(part, "（200）") {
			t.Errorf("%s counts 200, the page's, not the office's", sec.name)
		}
	}
}
