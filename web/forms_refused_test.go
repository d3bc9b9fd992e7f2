package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// formsSupervision is a fake SupervisionService for the refused forms' tests.
type formsSupervision struct {
	yizhanv1.UnimplementedSupervisionServiceServer
	awaiting  []*yizhanv1.Consultation
	answerErr error
	followUps []*yizhanv1.FollowUp
	replyErr  error
	cards     []*yizhanv1.Card
	issueErr  error
}

func (a *formsSupervision) ListConsultations(_ context.Context, req *yizhanv1.ListConsultationsRequest) (*yizhanv1.ListConsultationsResponse, error) {
	if req.GetAwaitingAnswer() {
		return &yizhanv1.ListConsultationsResponse{Consultations: a.awaiting}, nil
	}
	return &yizhanv1.ListConsultationsResponse{}, nil
}

func (a *formsSupervision) AnswerQuestion(context.Context, *yizhanv1.AnswerQuestionRequest) (*yizhanv1.ConsultationResponse, error) {
	return nil, a.answerErr
}

func (a *formsSupervision) GetStatistics(context.Context, *yizhanv1.GetStatisticsRequest) (*yizhanv1.Statistics, error) {
	return &yizhanv1.Statistics{Total: &yizhanv1.Figures{}}, nil
}

func (a *formsSupervision) ListCards(context.Context, *yizhanv1.ListCardsRequest) (*yizhanv1.ListCardsResponse, error) {
	return &yizhanv1.ListCardsResponse{Cards: a.cards}, nil
}

func (a *formsSupervision) IssueOrder(context.Context, *yizhanv1.IssueOrderRequest) (*yizhanv1.OrderResponse, error) {
	return nil, a.issueErr
}

func (a *formsSupervision) ListOrders(context.Context, *yizhanv1.ListOrdersRequest) (*yizhanv1.ListOrdersResponse, error) {
	return &yizhanv1.ListOrdersResponse{}, nil
}

func (a *formsSupervision) ListFollowUps(context.Context, *yizhanv1.ListFollowUpsRequest) (*yizhanv1.ListFollowUpsResponse, error) {
	return &yizhanv1.ListFollowUpsResponse{FollowUps: a.followUps}, nil
}

func (a *formsSupervision) ReplyFollowUp(context.Context, *yizhanv1.ReplyFollowUpRequest) (*yizhanv1.FollowUpResponse, error) {
	return nil, a.replyErr
}

var errsumLinkRE = regexp.MustCompile(`<div class="errsum"[\s\S]*?</div>`)
var hrefRE = regexp.MustCompile(`href="#([^"]+)"`)

// brokenSummaryLinks lists the error summary's links that reach no
// element of the page.
func brokenSummaryLinks(page string) []string {
	var out []string
	for _, m := range hrefRE.FindAllStringSubmatch(errsumLinkRE.FindString(page), -1) {
		if !strings.Contains(page, `id="`+m[1]+`"`) {
			out = append(out, m[1])
		}
	}
	return out
}

// A clerk answers a question a citizen left online; the API refuses the
// answer. The error is shown by the answer they typed, with what they
// typed still in it: it went to the other form of the page (登记咨询),
// whose 登记 would record a separate consultation.
func TestARefusedAnswerStaysWithItsQuestion(t *testing.T) {
	sv := &formsSupervision{
		awaiting: []*yizhanv1.Consultation{{Id: "ZX-450122000000-20261127-ABCDEF", ItemName: "烟草专卖零售许可证核发",
			Question: "需要带什么材料？", At: timestamppb.New(now), State: yizhanv1.ConsultationState_CONSULTATION_STATE_ASKED}},
		answerErr: badRequest(reason.Violation{Field: "answer", Description: "must be at most 2000 characters, got 2001", Reason: reason.TooLong,
			Meta: reason.Meta{"max": "2000", "got": "2001"}}),
	}
	f := newFixture(t, func(c *Config) { c.Supervision = sv })
	_, page := f.do(t, "GET", "/consultations", nil, session(adminClerkToken))
	typed := "请携带身份证原件和营业执照副本。"
	resp, page := f.do(t, "POST", "/consultations/ZX-450122000000-20261127-ABCDEF/answer",
		url.Values{"csrf": {csrfOf(t, page)}, "answer": {typed}}, session(adminClerkToken))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	q := page[strings.Index(page, `id="q-ZX-450122000000-20261127-ABCDEF"`):]
	q = q[:strings.Index(q, "</article>")]
	if !strings.Contains(q, typed) {
		t.Errorf("the question's answer box lost what the clerk typed; its article:\n%s", q)
	}
	rec := page[strings.Index(page, `action="/consultations" `):]
	rec = rec[:strings.Index(rec, "</form>")]
	if strings.Contains(rec, typed) {
		t.Errorf("the answer typed for the online question was put into the 登记咨询 form's 答复内容 instead")
	}
	if !strings.Contains(q, `class="err"`) {
		t.Errorf("the refusal is not shown by the question's answer box")
	}
	if b := brokenSummaryLinks(page); len(b) > 0 {
		t.Errorf("error summary links reach no element: %v", b)
	}
}

// The API answers an unknown or not-yet-arrived question with a field
// violation of "id", which is on no form: it is said in the summary,
// whose links all reach the page.
func TestAnAnswerToAQuestionNotHereIsSaidInTheSummary(t *testing.T) {
	sv := &formsSupervision{
		answerErr: badRequest(reason.Violation{Field: "id", Description: "no such question held here (it may still be on its way up)", Reason: reason.NotFound,
			Meta: reason.Meta{"id": "ZX-X"}}),
	}
	f := newFixture(t, func(c *Config) { c.Supervision = sv })
	_, page := f.do(t, "GET", "/consultations", nil, session(adminClerkToken))
	_, page = f.do(t, "POST", "/consultations/ZX-X/answer", url.Values{"csrf": {csrfOf(t, page)}, "answer": {"答复"}}, session(adminClerkToken))
	if b := brokenSummaryLinks(page); len(b) > 0 {
		t.Errorf("error summary links reach no element: %v", b)
	}
	if !strings.Contains(page, "这条网上咨询不在本单位") {
		t.Errorf("the summary does not say the question is not held here:\n%s", page)
	}
}

// A township clerk replies to a citizen's complaint (整改情况及答复) and
// the county, where follow-ups are kept, is out of reach, or refuses a
// field: the reply comes back as typed with 未保存, as every other form
// does (web/DESIGN.md, Errors); a bare error page dropped it.
func TestARefusedFollowUpReplyKeepsWhatWasTyped(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"county unreachable", status.Error(codes.Unavailable, "county unreachable")},
		{"refused field", badRequest(reason.Violation{Field: "text", Description: "must be at most 2000 characters, got 2001", Reason: reason.TooLong,
			Meta: reason.Meta{"max": "2000", "got": "2001"}})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sv := &formsSupervision{
				followUps: []*yizhanv1.FollowUp{{Id: "FU-1", OfficeCode: county, CaseNumber: caseNumber, Text: "办理超时",
					State: yizhanv1.FollowUpState_FOLLOW_UP_STATE_OPEN, Due: timestamppb.New(now.AddDate(0, 0, 20)), OpenedAt: timestamppb.New(now)}},
				replyErr: tc.err,
			}
			f := newFixture(t, func(c *Config) { c.Supervision = sv })
			_, page := f.do(t, "GET", "/supervision", nil, session(adminClerkToken))
			if !strings.Contains(page, "/supervision/followups/FU-1/reply") {
				t.Fatalf("no reply form on the page")
			}
			typed := "已约谈窗口工作人员，限期整改，并电话向投诉人致歉。"
			_, page = f.do(t, "POST", "/supervision/followups/FU-1/reply", url.Values{"csrf": {csrfOf(t, page)}, "text": {typed}}, session(adminClerkToken))
			if !strings.Contains(page, typed) {
				t.Errorf("the reply typed is lost: the page shown after the refusal does not hold it")
			}
			if b := brokenSummaryLinks(page); len(b) > 0 {
				t.Errorf("error summary links reach no element: %v", b)
			}
		})
	}
}

// A supervisor issues an order (督办) on a card with an answer time the
// API refuses: the page comes back with the card's form as typed, the
// field named and reached from the summary; a time that is not a number
// is named the same way, before anything is sent.
func TestARefusedOrderIsShownOnItsCard(t *testing.T) {
	sv := &formsSupervision{
		cards: []*yizhanv1.Card{{CaseNumber: caseNumber, Rule: yizhanv1.CardRule_CARD_RULE_OVERDUE, Colour: yizhanv1.CardColour_CARD_COLOUR_RED,
			OfficeCode: county, At: timestamppb.New(now)}},
		issueErr: badRequest(reason.Violation{Field: "answer_days", Description: "must be 1 to 30 working days, got 45", Reason: reason.OutOfRange,
			Meta: reason.Meta{"min": "1", "max": "30", "got": "45"}}),
	}
	f := newFixture(t, func(c *Config) { c.Supervision = sv })
	_, page := f.do(t, "GET", "/supervision", nil, session(supervisorToken))
	if !strings.Contains(page, `action="/supervision/issue"`) {
		t.Fatalf("no order form on the card")
	}
	for _, days := range []string{"45", "四十五"} {
		resp, page := f.do(t, "POST", "/supervision/issue", url.Values{"csrf": {csrfOf(t, page)}, "case_number": {caseNumber},
			"card_rule": {"2"}, "instruction": {"请三日内说明超期原因"}, "answer_days": {days}}, session(supervisorToken))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("answer_days %s: status %d, want 400", days, resp.StatusCode)
		}
		if b := brokenSummaryLinks(page); len(b) > 0 || !strings.Contains(page, `href="#f-issue-`+caseNumber+`-2-answer_days"`) {
			t.Errorf("answer_days %s: the summary does not reach the card's field (broken %v)", days, b)
		}
		if !strings.Contains(page, "请三日内说明超期原因") || !strings.Contains(page, `value="`+days+`"`) {
			t.Errorf("answer_days %s: the order typed is lost", days)
		}
	}
}

// checklistCases adds the actions the shared fake lacks.
type checklistCases struct {
	*fakeCases
	err error
}

func (a checklistCases) RequestCorrection(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return nil, a.err
}

func (a checklistCases) Withdraw(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return nil, a.err
}

// The API refuses a case action naming a checkbox list (the correction
// notice with no material ticked; a withdrawal without the written
// request): the summary's link reaches the list on the page (it had no
// id).
func TestARefusedChecklistIsReachedFromTheSummary(t *testing.T) {
	for _, tc := range []struct{ action, field string }{
		{"requestCorrection", "missing_materials"},
		{"withdraw", "materials"},
	} {
		t.Run(tc.action, func(t *testing.T) {
			err := badRequest(reason.Violation{Field: tc.field, Description: "is required", Reason: reason.Required})
			f := newFixture(t, func(c *Config) { c.Cases = checklistCases{fakeCases: c.Cases.(*fakeCases), err: err} })
			_, page := f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken))
			if !strings.Contains(page, `id="act-`+tc.action+`"`) {
				t.Fatalf("no %s form on the case page", tc.action)
			}
			resp, page := f.do(t, "POST", "/cases/"+caseNumber+"/act",
				url.Values{"csrf": {csrfOf(t, page)}, "action": {tc.action}, "reason": {"理由"}}, session(adminClerkToken))
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			if b := brokenSummaryLinks(page); len(b) > 0 {
				t.Errorf("error summary links reach no element: %v", b)
			}
		})
	}
}

// The citizen answers the office's reply to their complaint with 未解决
// and forgets the comment: the summary's link reaches the comment box,
// the choice made stays (it was cleared), and the error of 是否已解决
// reaches its radio group (it had no id).
func TestARefusedRevisitKeepsTheCitizensChoice(t *testing.T) {
	closed := filedCase()
	closed.State = yizhanv1.CaseState_CASE_STATE_CLOSED
	closed.Complaints = 1
	closed.AllowedActions = []string{"complain"}
	sv := &formsSupervision{followUps: []*yizhanv1.FollowUp{{Id: caseNumber + ".9", CaseNumber: caseNumber, Cause: yizhanv1.EventType(22), Text: "办理超时",
		State: yizhanv1.FollowUpState_FOLLOW_UP_STATE_REPLIED, Due: timestamppb.New(now.AddDate(0, 0, 20)),
		History: []*yizhanv1.FollowUpEntry{{Kind: "reply", Text: "已整改", ActorName: "陈静", At: timestamppb.New(now)}}}}}
	f := newFixture(t, func(c *Config) { c.Supervision = sv })
	f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		return &yizhanv1.CaseResponse{Case: closed}, nil
	}
	resp, page := f.do(t, "GET", "/track", nil)
	cookies := resp.Cookies()
	csrf := csrfOf(t, page)
	_, page = f.do(t, "POST", "/track", url.Values{"csrf": {csrf}, "number": {caseNumber}, "query_code": {"7KQ9-M3XP-2WHD"}}, cookies...)
	if !strings.Contains(page, `action="/track/revisit"`) {
		t.Fatalf("no revisit form on the tracked case:\n%s", page)
	}
	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"no choice", url.Values{}},
		{"未解决 without a comment", url.Values{"resolved": {"0"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"csrf": {csrf}, "number": {caseNumber}, "query_code": {"7KQ9-M3XP-2WHD"}, "id": {caseNumber + ".9"}}
			for k, v := range tc.form {
				form[k] = v
			}
			resp, page := f.do(t, "POST", "/track/revisit", form, cookies...)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			if b := brokenSummaryLinks(page); len(b) > 0 {
				t.Errorf("error summary links reach no element: %v", b)
			}
			if tc.form.Get("resolved") == "0" && !strings.Contains(page, `value="0" checked`) {
				t.Errorf("the citizen's choice 未解决 is lost")
			}
		})
	}
}
