package node_test

import (
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/registry"
)

// A citizen's complaint opens a follow-up at the county, assigned to the
// office whose staff took the last step; the county clerk replies in
// time, the citizen (asking at a village) says it is not resolved, the
// second reply comes late and earns a card; a supervisor's order is
// answered, sent back, answered late (a red card) and closed. The
// figures count it all; the wrong people are refused.
func TestFollowUpAndOrderThroughTheAPI(t *testing.T) {
	var skew atomic.Int64 // the nodes' clock runs ahead by this much
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = now
		c.CardSweepInterval = 50 * time.Millisecond
	})
	ctx := f.admin.ctx()
	if _, err := f.admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "jiancha", Name: "李监察",
		OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_SUPERVISOR}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	login := func(at, user string) (*client, yizhanv1.SupervisionServiceClient) {
		c := dial(t, f.nodes[at]).login(user, password)
		return c, yizhanv1.NewSupervisionServiceClient(c.conn)
	}
	clerk, clerkSup := login("county-1", "clerk")
	cases := caseClient(t, clerk)
	filed, err := cases.FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	n, code := filed.GetCase().GetNumber(), filed.GetCase().GetQueryCode()
	if _, err := cases.Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n}); err != nil {
		t.Fatal(err)
	}
	citizen := dial(t, f.nodes["dongcun-1"])
	if _, err := caseClient(t, citizen).Complain(citizen.ctx(), &yizhanv1.CaseActionRequest{Number: n, QueryCode: code, Reason: "窗口人员态度生硬"}); err != nil {
		t.Fatal(err)
	}
	var fu *yizhanv1.FollowUp
	waitFor(t, "the follow-up", func() bool {
		r, err := clerkSup.ListFollowUps(clerk.ctx(), &yizhanv1.ListFollowUpsRequest{})
		if err != nil || len(r.GetFollowUps()) != 1 {
			return false
		}
		fu = r.GetFollowUps()[0]
		return true
	}, 10*time.Second)
	if fu.GetOfficeCode() != county || fu.GetState() != yizhanv1.FollowUpState_FOLLOW_UP_STATE_OPEN || fu.GetText() != "窗口人员态度生硬" ||
		fu.GetCause() != yizhanv1.EventType_EVENT_TYPE_COMPLAINED {
		t.Fatalf("the follow-up: %v", fu)
	}
	reg := f.nodes["county-1"].Registry()
	if want := reg.AddWorkingDays(fu.GetOpenedAt().AsTime(), 15); !fu.GetDue().AsTime().Equal(want) {
		t.Errorf("due %v, want 15 working days on: %v", fu.GetDue().AsTime(), want)
	}

	// A village agent may not reply for the county; the clerk replies.
	agent, agentSup := login("dongcun-1", "dongcun")
	if _, err := agentSup.ReplyFollowUp(agent.ctx(), &yizhanv1.ReplyFollowUpRequest{Id: fu.GetId(), Text: "已整改"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a village agent replying for the county: %v", err)
	}
	if _, err := clerkSup.ReplyFollowUp(clerk.ctx(), &yizhanv1.ReplyFollowUpRequest{Id: fu.GetId()}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("an empty reply: %v", err)
	}
	r, err := clerkSup.ReplyFollowUp(clerk.ctx(), &yizhanv1.ReplyFollowUpRequest{Id: fu.GetId(), Text: "已对窗口人员批评教育", RequestId: "reply-1"})
	if err != nil || r.GetFollowUp().GetState() != yizhanv1.FollowUpState_FOLLOW_UP_STATE_REPLIED || r.GetFollowUp().GetRepliedLate() {
		t.Fatalf("reply: %v %v", r, err)
	}
	// The same request again changes nothing.
	if again, err := clerkSup.ReplyFollowUp(clerk.ctx(), &yizhanv1.ReplyFollowUpRequest{Id: fu.GetId(), Text: "已对窗口人员批评教育", RequestId: "reply-1"}); err != nil || len(again.GetFollowUp().GetHistory()) != 1 {
		t.Errorf("the reply retried: %v %v", again, err)
	}

	// The citizen, at the village, with a wrong code, then the right one.
	citizenSup := yizhanv1.NewSupervisionServiceClient(citizen.conn)
	if _, err := citizenSup.RevisitFollowUp(citizen.ctx(), &yizhanv1.RevisitFollowUpRequest{Id: fu.GetId(), QueryCode: "AAAAAAAAAAAA", Resolved: true}); status.Code(err) != codes.NotFound {
		t.Errorf("a return visit with a wrong code: %v", err)
	}
	if _, err := citizenSup.RevisitFollowUp(citizen.ctx(), &yizhanv1.RevisitFollowUpRequest{Id: fu.GetId(), QueryCode: code}); func() bool {
		c, field := fieldOf(err)
		return c != codes.InvalidArgument || field != "comment"
	}() {
		t.Errorf("not resolved without a comment: %v", err)
	}
	r, err = citizenSup.RevisitFollowUp(citizen.ctx(), &yizhanv1.RevisitFollowUpRequest{Id: fu.GetId(), QueryCode: code, Comment: "态度仍然不好"})
	if err != nil || r.GetFollowUp().GetState() != yizhanv1.FollowUpState_FOLLOW_UP_STATE_OPEN {
		t.Fatalf("not resolved: %v %v", r, err)
	}

	// A supervisor's order, answered in time and sent back.
	sup, supSup := login("county-1", "jiancha")
	if _, err := clerkSup.IssueOrder(clerk.ctx(), &yizhanv1.IssueOrderRequest{CaseNumber: n, Instruction: "请说明"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a clerk issuing an order: %v", err)
	}
	if _, err := supSup.IssueOrder(sup.ctx(), &yizhanv1.IssueOrderRequest{CaseNumber: n, Instruction: "请说明", AnswerDays: 31}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("31 answer days: %v", err)
	}
	// An office the case never passed through: named, nothing issued.
	if _, err := supSup.IssueOrder(sup.ctx(), &yizhanv1.IssueOrderRequest{CaseNumber: n, Instruction: "请说明", OfficeCode: dongcun}); func() bool {
		c, field := fieldOf(err)
		return c != codes.InvalidArgument || field != "office_code"
	}() {
		t.Errorf("an order to a village the case never passed through: %v", err)
	}
	o, err := supSup.IssueOrder(sup.ctx(), &yizhanv1.IssueOrderRequest{CaseNumber: n, Instruction: "请说明投诉处理情况", AnswerDays: 3})
	if err != nil || o.GetOrder().GetOfficeCode() != county || o.GetOrder().GetState() != yizhanv1.OrderState_ORDER_STATE_OPEN {
		t.Fatalf("issue: %v %v", o, err)
	}
	id := o.GetOrder().GetId()
	if _, err := clerkSup.AnswerOrder(clerk.ctx(), &yizhanv1.AnswerOrderRequest{Id: id, Kind: "别的", Text: "x"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("an answer of no known kind: %v", err)
	}
	if o, err = clerkSup.AnswerOrder(clerk.ctx(), &yizhanv1.AnswerOrderRequest{Id: id, Kind: "说明情况", Text: "已回复群众"}); err != nil || o.GetOrder().GetState() != yizhanv1.OrderState_ORDER_STATE_ANSWERED {
		t.Fatalf("answer: %v %v", o, err)
	}
	if _, err := supSup.ReturnOrder(sup.ctx(), &yizhanv1.DecideOrderRequest{Id: id}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("sent back without a reason: %v", err)
	}
	if o, err = supSup.ReturnOrder(sup.ctx(), &yizhanv1.DecideOrderRequest{Id: id, Reason: "未说明整改措施"}); err != nil || o.GetOrder().GetState() != yizhanv1.OrderState_ORDER_STATE_OPEN {
		t.Fatalf("return: %v %v", o, err)
	}

	// A month passes: both are late, and each earns its card.
	skew.Store(int64(30 * 24 * time.Hour))
	clerk, clerkSup = login("county-1", "clerk")
	sup, supSup = login("county-1", "jiancha")
	var seen []*yizhanv1.Card
	defer func() {
		if t.Failed() {
			t.Logf("cards held: %v", seen)
		}
	}()
	waitFor(t, "the late cards", func() bool {
		r, err := clerkSup.ListCards(clerk.ctx(), &yizhanv1.ListCardsRequest{CaseNumber: n})
		seen = r.GetCards()
		late := 0
		for _, c := range r.GetCards() {
			if c.GetRule() == yizhanv1.CardRule_CARD_RULE_FOLLOW_UP_LATE || c.GetRule() == yizhanv1.CardRule_CARD_RULE_ORDER_LATE {
				late++
			}
		}
		return err == nil && late == 2
	}, 10*time.Second)
	if r, err = clerkSup.ReplyFollowUp(clerk.ctx(), &yizhanv1.ReplyFollowUpRequest{Id: fu.GetId(), Text: "已调整窗口人员"}); err != nil || !r.GetFollowUp().GetRepliedLate() {
		t.Fatalf("the late reply: %v %v", r, err)
	}
	if r, err = citizenSup.RevisitFollowUp(citizen.ctx(), &yizhanv1.RevisitFollowUpRequest{Id: fu.GetId(), QueryCode: code, Resolved: true}); err != nil ||
		r.GetFollowUp().GetState() != yizhanv1.FollowUpState_FOLLOW_UP_STATE_RESOLVED || len(r.GetFollowUp().GetHistory()) != 4 {
		t.Fatalf("resolved: %v %v", r, err)
	}
	if o, err = clerkSup.AnswerOrder(clerk.ctx(), &yizhanv1.AnswerOrderRequest{Id: id, Kind: "整改情况", Text: "已调整"}); err != nil || !o.GetOrder().GetAnsweredLate() {
		t.Fatalf("the late answer: %v %v", o, err)
	}
	if o, err = supSup.CloseOrder(sup.ctx(), &yizhanv1.DecideOrderRequest{Id: id}); err != nil || o.GetOrder().GetState() != yizhanv1.OrderState_ORDER_STATE_CLOSED {
		t.Fatalf("close: %v %v", o, err)
	}

	// The figures: one follow-up, its first reply in time, one order; red
	// cards for the case (past its 10 promised days) and the late
	// order, a yellow one for the late reply.
	from := time.Now().In(registry.CST).AddDate(0, 0, -1).Format("2006-01-02")
	to := now().In(registry.CST).Format("2006-01-02")
	st, err := supSup.GetStatistics(sup.ctx(), &yizhanv1.GetStatisticsRequest{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if tot := st.GetTotal(); tot.GetFollowUps() != 1 || tot.GetFollowUpsReplied() != 1 || tot.GetFollowUpInTimeRate() != 1 || tot.GetOrders() != 1 ||
		tot.GetComplaints() != 1 || tot.GetRedCards() != 2 || tot.GetYellowCards() != 1 {
		t.Errorf("figures: %v", tot)
	}
}
