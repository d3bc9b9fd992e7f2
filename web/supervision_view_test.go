package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// everyFormSupervision offers every form of the supervision page: cards
// on two pages (督办), an order waiting for the county's answer (答复),
// one answered (办结, 退回) and a complaint to answer (答复群众).
type everyFormSupervision struct {
	*manySupervision
}

func (everyFormSupervision) ListOrders(context.Context, *yizhanv1.ListOrdersRequest) (*yizhanv1.ListOrdersResponse, error) {
	due := timestamppb.New(now.Add(72 * time.Hour))
	return &yizhanv1.ListOrdersResponse{Orders: []*yizhanv1.SupervisionOrder{
		{Id: "DB-OPEN", CaseNumber: cardNumber(0), OfficeCode: county, State: yizhanv1.OrderState_ORDER_STATE_OPEN, Instruction: "请说明原因", Due: due},
		{Id: "DB-ANSWERED", CaseNumber: cardNumber(1), OfficeCode: county, State: yizhanv1.OrderState_ORDER_STATE_ANSWERED, Instruction: "请整改", Due: due},
	}}, nil
}

func (everyFormSupervision) ListFollowUps(context.Context, *yizhanv1.ListFollowUpsRequest) (*yizhanv1.ListFollowUpsResponse, error) {
	return &yizhanv1.ListFollowUpsResponse{FollowUps: []*yizhanv1.FollowUp{{Id: "FU-1", CaseNumber: cardNumber(2), OfficeCode: county,
		Cause: 22, Text: "窗口无人", Due: timestamppb.New(now.Add(48 * time.Hour))}}}, nil
}

func (everyFormSupervision) AnswerOrder(context.Context, *yizhanv1.AnswerOrderRequest) (*yizhanv1.OrderResponse, error) {
	return &yizhanv1.OrderResponse{}, nil
}

func (everyFormSupervision) CloseOrder(context.Context, *yizhanv1.DecideOrderRequest) (*yizhanv1.OrderResponse, error) {
	return &yizhanv1.OrderResponse{}, nil
}

func (everyFormSupervision) ReturnOrder(context.Context, *yizhanv1.DecideOrderRequest) (*yizhanv1.OrderResponse, error) {
	return &yizhanv1.OrderResponse{}, nil
}

func (f *fakeRegistry) PutSupervisionPolicy(_ context.Context, req *yizhanv1.PutSupervisionPolicyRequest) (*yizhanv1.PutSupervisionPolicyResponse, error) {
	f.warningDays = req.GetPolicy().GetWarningDays()
	return &yizhanv1.PutSupervisionPolicyResponse{}, nil
}

var postFormRE = regexp.MustCompile(`<form method="post" action="(/supervision[^"]*)"`)

// Every form of the supervision page, posted from a month before this
// one and the second page of its cards, comes back to that month and
// that page: the supervisor's order, answer, close and return, the
// clerk's reply to a complaint, the county admin's warning days. Only
// the order for a card did; the others went back to this month's first
// page.
func TestEverySupervisionFormComesBackToTheViewItWasPostedFrom(t *testing.T) {
	sv := everyFormSupervision{&manySupervision{formsSupervision: &formsSupervision{}}}
	for i := range cardsPageSize + 1 {
		sv.cards = append(sv.cards, &yizhanv1.Card{CaseNumber: cardNumber(i), Colour: yizhanv1.CardColour_CARD_COLOUR_YELLOW,
			Rule: yizhanv1.CardRule_CARD_RULE_DUE_SOON, OfficeCode: county, ItemName: "烟草专卖零售许可证核发", At: timestamppb.New(now.Add(-time.Duration(i) * time.Minute))})
	}
	f := newFixture(t, func(c *Config) { c.Supervision = sv })
	view := "/supervision?" + url.Values{"month": {"2026-10"}, "cards": {strconv.Itoa(cardsPageSize)}}.Encode()
	posted := map[string]bool{}
	for _, who := range []string{supervisorToken, adminToken} {
		resp, page := f.do(t, "GET", view, nil, session(who))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s\n%s", view, resp.Status, page)
		}
		for _, m := range postFormRE.FindAllStringSubmatch(page, -1) {
			action := html.UnescapeString(m[1])
			path, _, _ := strings.Cut(action, "?")
			kind := path[strings.LastIndex(path, "/")+1:]
			form := url.Values{"csrf": {csrfOf(t, page)}, "text": {"已整改"}, "reason": {"理由"}, "kind": {"整改情况"},
				"instruction": {"请说明原因"}, "answer_days": {"5"}, "warning_days": {"3"},
				"case_number": {cardNumber(cardsPageSize)}, "card_rule": {strconv.Itoa(int(yizhanv1.CardRule_CARD_RULE_DUE_SOON))}}
			resp, body := f.do(t, "POST", action, form, session(who))
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("%s: %s\n%.500s", action, resp.Status, body)
				continue
			}
			posted[kind] = true
			to, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			q := to.Query()
			if q.Get("month") != "2026-10" || q.Get("cards") != strconv.Itoa(cardsPageSize) || q.Get("msg") == "" {
				t.Errorf("the form %s, posted from %s, goes back to %s", action, view, to)
			}
		}
	}
	for _, kind := range []string{"issue", "answer", "close", "return", "reply", "policy"} {
		if !posted[kind] {
			t.Errorf("no %s form on the supervision page (the test's setup is wrong)", kind)
		}
	}
}
