package node_test

import (
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/registry"
)

// townshipDay is a day of the supervision tests' township, its nodes'
// clocks at noon today (CST) whenever the test runs, so that the same-day
// figures cross no midnight: a township item (code) granted to the
// township and to the village 东村, accepted and decided on the spot at
// the township, and accepted at the village and left open (the township
// holding its mirror). It returns the township's clerk and the day.
func townshipDay(t *testing.T, code string) (twClerk *client, today string) {
	t.Helper()
	now := time.Now().In(registry.CST)
	noon := time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, registry.CST)
	start := time.Now()
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = func() time.Time { return noon.Add(time.Since(start)) }
	})
	ctx := f.admin.ctx()
	item := tobacco()
	item.Code, item.Name, item.ExerciseTier = code, "烟草零售点变更备案", yizhanv1.Tier_TIER_TOWNSHIP
	item.StatutoryLimitDays, item.PromisedLimitDays = 5, 2
	if _, err := f.admin.reg.CreateItem(ctx, &yizhanv1.CreateItemRequest{Item: item}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []*yizhanv1.Grant{
		{ItemCode: item.Code, OfficeCode: township, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_REVIEW, yizhanv1.Right_RIGHT_APPROVE, yizhanv1.Right_RIGHT_DELIVER}},
		{ItemCode: item.Code, OfficeCode: dongcun, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_REVIEW, yizhanv1.Right_RIGHT_APPROVE, yizhanv1.Right_RIGHT_DELIVER}},
	} {
		if _, err := f.admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: g}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*yizhanv1.StaffMember{
		{Username: "tw-clerk", Name: "李明", OfficeCode: township, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_REVIEWER}},
		{Username: "tw-approver", Name: "张华", OfficeCode: township, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_APPROVER}},
		{Username: "dc-clerk", Name: "黄小红", OfficeCode: dongcun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}},
	} {
		if _, err := f.admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: s, Password: password}); err != nil {
			t.Fatal(err)
		}
	}
	tw, vil := f.nodes["chengguan-1"], f.nodes["dongcun-1"]
	idx := f.nodes["county-1"].Registry().Index()
	waitFor(t, "the township and the village have the item and staff", func() bool {
		return tw.Registry().Index() >= idx && vil.Registry().Index() >= idx
	}, 20*time.Second)
	file := func(c *client) string {
		t.Helper()
		r, err := caseClient(t, c).FileCase(c.ctx(), &yizhanv1.FileCaseRequest{ItemCode: item.Code,
			Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		n := r.GetCase().GetNumber()
		if _, err := caseClient(t, c).Accept(c.ctx(), &yizhanv1.CaseActionRequest{Number: n}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	twClerk = dial(t, tw).login("tw-clerk", password)
	tn := file(twClerk)
	if _, err := caseClient(t, twClerk).Review(twClerk.ctx(), &yizhanv1.CaseActionRequest{Number: tn, Agrees: true, Reason: "同意"}); err != nil {
		t.Fatal(err)
	}
	twApprover := dial(t, tw).login("tw-approver", password)
	if _, err := caseClient(t, twApprover).Decide(twApprover.ctx(), &yizhanv1.CaseActionRequest{Number: tn, Approved: true, Reason: "符合条件"}); err != nil {
		t.Fatal(err)
	}
	vn := file(dial(t, vil).login("dc-clerk", password))
	twBook := tw.Office().Cases()
	waitFor(t, "the township's mirror of the village's case", func() bool {
		c, ok := twBook.Case(vn)
		return ok && c.GetState() == yizhanv1.CaseState_CASE_STATE_ACCEPTED
	}, 20*time.Second)
	return twClerk, noon.Format("2006-01-02")
}

// villageCaseAtTheCounty grants the village tier an item of its own
// (code: promised 2 working days), files a case of it at 东村 as a village
// clerk, accepts it, and waits for the county's mirror of it accepted. It
// returns the case's number and its day of filing (YYYY-MM-DD, CST).
func villageCaseAtTheCounty(t *testing.T, f *caseFed, code string) (number, filed string) {
	t.Helper()
	ctx := f.admin.ctx()
	item := tobacco()
	item.Code, item.Name, item.ExerciseTier = code, "烟草零售点变更备案", yizhanv1.Tier_TIER_VILLAGE
	item.StatutoryLimitDays, item.PromisedLimitDays = 5, 2
	if _, err := f.admin.reg.CreateItem(ctx, &yizhanv1.CreateItemRequest{Item: item}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{ItemCode: item.Code, Tier: yizhanv1.Tier_TIER_VILLAGE,
		Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_REVIEW, yizhanv1.Right_RIGHT_APPROVE, yizhanv1.Right_RIGHT_DELIVER}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "dc-clerk", Name: "黄小红",
		OfficeCode: dongcun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	vil := f.nodes["dongcun-1"]
	idx := f.nodes["county-1"].Registry().Index()
	waitFor(t, "the village has the item and the clerk", func() bool { return vil.Registry().Index() >= idx }, 20*time.Second)
	clerk := dial(t, vil).login("dc-clerk", password)
	r, err := caseClient(t, clerk).FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: item.Code,
		Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	number = r.GetCase().GetNumber()
	filed = r.GetCase().GetFiledAt().AsTime().In(registry.CST).Format("2006-01-02")
	if _, err := caseClient(t, clerk).Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number}); err != nil {
		t.Fatal(err)
	}
	countyBook := f.nodes["county-1"].Office().Cases()
	waitFor(t, "the county's mirror", func() bool {
		c, ok := countyBook.Case(number)
		return ok && c.GetState() == yizhanv1.CaseState_CASE_STATE_ACCEPTED
	}, 20*time.Second)
	return number, filed
}
