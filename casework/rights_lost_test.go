package casework

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// DOMAIN.md: the county delegates rights "possibly for a limited time,
// and takes them back". What the office holding a case does for it, not
// for the item, does not wait on the grants it holds today (needPath):
// the citizen's rating and complaint, the pre-check of a filing it took
// in time, a withdrawal, taking a fee assessed; and a case rerouted away
// from it while suspended goes on to the office that now holds the step.

// A tobacco case filed at 东村 by proxy, decided and certified at the
// county, delivered back at 东村 and closed there. Some days later the
// county takes the villages' delegation of the item back (the grant is
// revoked, as DOMAIN.md says the admin does: "possibly for a limited time,
// and takes them back"). The citizen then comes to rate the service
// (好差评: "After closing, the citizen rates the service") and to
// complain. The case is closed: nothing about its handling moves any more;
// the citizen's say must not depend on the grants the office holds today.
func TestTheCitizenRatesAfterTheDeliveringVillageLostTheItem(t *testing.T) {
	w := newWorld(t)
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	w.settle()
	w.mustDo(county, n, ActionAccept, nil, countyClerk)
	w.mustDo(county, n, ActionReview, &req{Agrees: true, Reason: "同意"}, countyReview)
	w.mustDo(county, n, ActionDecide, &req{Approved: true, Reason: "符合条件"}, countyApprove)
	w.mustDo(county, n, ActionCertify, &req{CertificateNumber: "C-1"}, countyClerk)
	w.settle()
	w.mustDo(village, n, ActionDeliver, nil, eastAgent)
	w.settle()
	if c, _ := w.books[village].Case(n); c.GetState() != yizhanv1.CaseState_CASE_STATE_CLOSED || c.GetOwnerOffice() != village {
		t.Fatalf("case %s: %s at %s, want CLOSED at the village", n, c.GetState(), c.GetOwnerOffice())
	}

	// The villages' grant of the item is taken back.
	for _, g := range w.reg.Grants(grantFilter(tobacco, village)) {
		if g.GetTier() == yizhanv1.Tier_TIER_VILLAGE {
			w.now = w.now.Add(24 * time.Hour)
			w.reg.revoke(g.GetId(), w.now)
		}
	}
	w.now = w.now.Add(24 * time.Hour)

	if _, err := w.do(village, n, ActionRate, &req{Rating: yizhanv1.Rating_RATING_DISSATISFIED, Reason: "等了很久"}, citizen); err != nil {
		t.Errorf("the citizen rates the closed case: %v", err)
	}
	if _, err := w.do(village, n, ActionComplain, &req{Reason: "窗口工作人员态度生硬"}, citizen); err != nil {
		t.Errorf("the citizen complains about the closed case: %v", err)
	}
}

// 东村's delegation of an item (代办 and 送达) ends at 17:00 on the day a
// citizen files online there at 16:00, in time. An online filing waits
// at the office where it was filed for its pre-check (预审). The next
// morning the agent takes it up, and it goes on to the county, which
// holds the item; another such filing is turned down, and a third
// withdrawn by the citizen. Each was refused: it needed some right for
// the item now, and the filing waited at the village for ever.
func TestAnOnlineFilingTakenInTimeIsPrecheckedAfterTheGrantEnds(t *testing.T) {
	w := newWorld(t)
	const item = "YC-PC-END"
	w.reg.apply(createItemCmd(&yizhanv1.Item{
		Code: item, Name: "烟草专卖零售许可证延续", Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE, DepartmentCode: "yc",
		Materials:          []*yizhanv1.Material{{Name: "申请表", Required: true}},
		StatutoryLimitDays: 20, PromisedLimitDays: 10, CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
	}))
	w.reg.grant(&yizhanv1.Grant{ItemCode: item, OfficeCode: county, Rights: allRights})
	end := time.Date(2025, 3, 3, 17, 0, 0, 0, t0.Location())
	w.reg.grant(&yizhanv1.Grant{ItemCode: item, OfficeCode: village, Rights: []yizhanv1.Right{right.proxy, right.deliver},
		ValidUntil: timestamppb.New(end)})

	w.now = time.Date(2025, 3, 3, 15, 50, 0, 0, t0.Location())
	var filed []string
	for range 3 {
		n := w.file(village, item, citizen, "申请表") // online
		if c, _ := w.books[village].Case(n); c.GetState() != yizhanv1.CaseState_CASE_STATE_PRECHECK {
			t.Fatalf("online filing in %s, want PRECHECK", c.GetState())
		}
		filed = append(filed, n)
	}
	w.now = time.Date(2025, 3, 4, 9, 0, 0, 0, t0.Location()) // next morning
	w.mustDo(village, filed[0], ActionPrecheck, nil, eastAgent)
	w.mustDo(village, filed[1], ActionRejectPrecheck, &req{Reason: "转县级窗口办理"}, eastAgent)
	w.mustDo(village, filed[2], ActionWithdraw, &req{Reason: "不办了"}, citizen)
	w.settle()
	if c, _ := w.books[county].Case(filed[0]); c.GetOwnerOffice() != county || c.GetState() != yizhanv1.CaseState_CASE_STATE_FILED {
		t.Errorf("after the pre-check the filing is %s at %s, want FILED at the county", c.GetState(), c.GetOwnerOffice())
	}
	// An office that never held the item still may not take up a case.
	w.mustDo(county, filed[0], ActionAccept, nil, countyClerk)
}

// ruralPlanning is a township-delegated item with a special procedure
// (现场勘查) and a fee standard, so that a case at the township can be
// suspended or owe a fee when the county takes the delegation back.
const ruralPlanning = "ZJ-AUDIT"

func ruralPlanningWorld(t *testing.T) (*world, string) {
	t.Helper()
	w := newWorld(t)
	w.reg.apply(createItemCmd(&yizhanv1.Item{
		Code: ruralPlanning, Name: "乡村建设规划许可", Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE, DepartmentCode: "zrzy",
		Materials:          []*yizhanv1.Material{{Name: "申请表", Required: true}},
		StatutoryLimitDays: 20, PromisedLimitDays: 10, CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_TOWNSHIP,
		SpecialProcedures: []*yizhanv1.SpecialProcedure{{Name: "现场勘查", LimitDays: 5}},
		FeeStandard:       "工本费每证 10 元", FeeCents: 1000,
	}))
	w.reg.grant(&yizhanv1.Grant{ItemCode: ruralPlanning, OfficeCode: county, Rights: allRights})
	w.reg.grant(&yizhanv1.Grant{ItemCode: ruralPlanning, Tier: yizhanv1.Tier_TIER_VILLAGE, Rights: []yizhanv1.Right{right.proxy, right.deliver}})
	g := w.reg.grant(&yizhanv1.Grant{ItemCode: ruralPlanning, OfficeCode: township, Rights: []yizhanv1.Right{right.accept, right.review, right.approve}, Note: "下放乡镇"})
	return w, g.GetId()
}

// revokeAndReroute takes the township's delegation back and lets the
// township's leader do what its reroute sweep does for each case.
func revokeAndReroute(t *testing.T, w *world, grant string, numbers ...string) {
	t.Helper()
	w.now = w.now.Add(time.Hour)
	w.reg.revoke(grant, w.now)
	w.now = w.now.Add(time.Minute)
	for _, n := range numbers {
		c, _ := w.books[township].Case(n)
		route, why, ok := Reroute(c, w.books[township].Events(n), w.reg, w.now)
		if !ok {
			t.Fatalf("%s: not rerouted after the township lost the item", n)
		}
		if _, err := w.appendEvent(township, NewRerouteEvent(c, route, why, township, w.now), n); err != nil {
			t.Fatalf("%s: reroute: %v", n, err)
		}
	}
	w.settle()
}

// A case accepted at the township and suspended there for a site
// inspection (现场勘查) when the county takes the township's delegation
// back. The township's sweep reroutes it to the county
// (ARCHITECTURE.md: "the mail carries it to the office that now holds the
// step's right"), and it goes on suspended, where the county's approver
// resumes and decides it. Forwarding waited while it was suspended, and
// the township, holding no right for the item any more, could not resume
// it: it stood still, and no alarm counted it (its route names the
// county, which holds the right).
func TestASuspendedCaseReroutedAwayGoesOn(t *testing.T) {
	w, grant := ruralPlanningWorld(t)
	n := w.file(village, ruralPlanning, eastAgent, "申请表")
	w.settle()
	w.mustDo(township, n, ActionAccept, nil, townClerk)
	w.mustDo(township, n, ActionSuspend, &req{SpecialProcedure: "现场勘查", Reason: "需现场核实选址"}, townApprover)

	revokeAndReroute(t, w, grant, n)

	c, _ := w.books[county].Case(n)
	if c.GetOwnerOffice() != county || !c.GetSuspended() {
		t.Fatalf("case %s rerouted to the county while suspended: owner %s, suspended %v (route %v), want at the county, suspended",
			n, c.GetOwnerOffice(), c.GetSuspended(), routeString(c.GetRoute()))
	}
	zrzyApprover := Actor{Username: "zrzy.approver", Name: "自然资源审批", Office: county, Department: "zrzy", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_APPROVER}}
	w.mustDo(county, n, ActionResume, &req{Reason: "勘查完毕"}, zrzyApprover)
	if c, _ := w.books[county].Case(n); c.GetSuspended() {
		t.Error("the county's approver resumed the case: still suspended")
	}
}

// A case suspended at the office whose step it is waits there: the
// suspension holds forwarding unless the step was taken away meanwhile.
func TestASuspendedCaseWaitsWhereItsStepIs(t *testing.T) {
	w, _ := ruralPlanningWorld(t)
	n := w.file(village, ruralPlanning, eastAgent, "申请表")
	w.settle()
	w.mustDo(township, n, ActionAccept, nil, townClerk)
	w.mustDo(township, n, ActionSuspend, &req{SpecialProcedure: "现场勘查", Reason: "需现场核实选址"}, townApprover)
	w.settle()
	c, _ := w.books[township].Case(n)
	if a, _, ok := Pending(c, w.books[township].Events(n), township); ok || c.GetOwnerOffice() != township {
		t.Errorf("a case suspended at its step's office: pending %v, owner %s; want it to wait there", a, c.GetOwnerOffice())
	}
}

// The same with a fee assessed at the township and not yet paid when the
// delegation is taken back: forwarding waits for the payment, which the
// township takes (it could not: FEE_PAID needed some right for the item),
// and the case goes on to the county.
func TestAnUnpaidCaseReroutedAwayIsPaidAndGoesOn(t *testing.T) {
	w, grant := ruralPlanningWorld(t)
	n := w.file(village, ruralPlanning, eastAgent, "申请表")
	w.settle()
	w.mustDo(township, n, ActionAccept, nil, townClerk)
	w.mustDo(township, n, ActionAssessFee, nil, townClerk)

	revokeAndReroute(t, w, grant, n)

	if c, _ := w.books[township].Case(n); c.GetOwnerOffice() != township {
		t.Fatalf("case %s with its fee unpaid went on to %s", n, c.GetOwnerOffice())
	}
	if _, err := w.do(township, n, ActionPay, &req{ReceiptNumber: "R-1", FeeCents: 1000}, townClerk); err != nil {
		t.Fatalf("the township takes the fee it assessed, after the delegation was taken back: %v", err)
	}
	w.settle()
	if c, _ := w.books[county].Case(n); c.GetOwnerOffice() != county {
		t.Errorf("the paid case is at %s, want the county", c.GetOwnerOffice())
	}
}
