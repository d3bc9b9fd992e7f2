package node_test

import (
	"bytes"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/registry"
)

// The workbook's 办件台账 shows, for each case, its acceptance, its
// promised due time and whether it is late (docs/SUPERVISION.md:
// "filing, acceptance, promised due, state, where it is, late"), from
// the case's log (the book keeps no clocks): a case accepted, then left
// past its promised 10 working days, shows all three.
func TestTheExportLedgerShowsAcceptanceDueAndLateness(t *testing.T) {
	var skew atomic.Int64
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	n, filed := fileAnsweredLate(t, f.countyLeader(), &skew) // accepted now
	skew.Add(int64(30 * 24 * time.Hour))                     // well past its 10 promised working days
	admin := dial(t, f.countyLeader()).login("admin", password)
	sup := yizhanv1.NewSupervisionServiceClient(admin.conn)
	today := time.Now().Add(time.Duration(skew.Load())).In(registry.CST).Format("2006-01-02")
	body, err := sup.ExportStatistics(admin.ctx(), &yizhanv1.GetStatisticsRequest{From: filed, To: today})
	if err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body.GetData()))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ledger, err := x.GetRows("办件台账")
	if err != nil {
		t.Fatal(err)
	}
	if len(ledger) != 2 || ledger[1][0] != n {
		t.Fatalf("the ledger: %q", ledger)
	}
	cell := func(i int) string {
		if i < len(ledger[1]) {
			return ledger[1][i]
		}
		return ""
	}
	// 受理时间 (5), 承诺期限 (6), 超期 (9).
	if cell(5) == "" || cell(6) == "" || cell(9) != "是" {
		t.Errorf("ledger row of %s, accepted and past its promised due: 受理时间 %q, 承诺期限 %q, 超期 %q (row %q)", n, cell(5), cell(6), cell(9), ledger[1])
	}
}

// A township's figures of its own office only (office_only), grouped by
// township, have one row, the township's: the same counters as the
// total. The row's 平均当日办结率 is the total's, read from the township's
// own daily series, not that of the township with its villages.
func TestTheTownshipRowOfOfficeOnlyFiguresAveragesItsOwnDays(t *testing.T) {
	// The nodes' clocks at noon today (CST), whenever the test runs: the
	// same-day figures do not cross a midnight.
	now := time.Now().In(registry.CST)
	noon := time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, registry.CST)
	start := time.Now()
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = func() time.Time { return noon.Add(time.Since(start)) }
	})
	ctx := f.admin.ctx()
	item := tobacco()
	item.Code, item.Name, item.ExerciseTier = "450122-YC-077", "烟草零售点变更备案", yizhanv1.Tier_TIER_TOWNSHIP
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
	file := func(c *client, id string) string {
		t.Helper()
		r, err := caseClient(t, c).FileCase(c.ctx(), &yizhanv1.FileCaseRequest{ItemCode: item.Code,
			Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: id, Phone: "13907710001"},
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
	// At the township: accepted and decided on the spot (same day 1/1).
	twClerk := dial(t, tw).login("tw-clerk", password)
	tn := file(twClerk, applicantID)
	if _, err := caseClient(t, twClerk).Review(twClerk.ctx(), &yizhanv1.CaseActionRequest{Number: tn, Agrees: true, Reason: "同意"}); err != nil {
		t.Fatal(err)
	}
	twApprover := dial(t, tw).login("tw-approver", password)
	if _, err := caseClient(t, twApprover).Decide(twApprover.ctx(), &yizhanv1.CaseActionRequest{Number: tn, Approved: true, Reason: "符合条件"}); err != nil {
		t.Fatal(err)
	}
	// At the village: accepted, not decided today.
	vn := file(dial(t, vil).login("dc-clerk", password), applicantID)
	twBook := tw.Office().Cases()
	waitFor(t, "the township's mirror of the village's case", func() bool {
		c, ok := twBook.Case(vn)
		return ok && c.GetState() == yizhanv1.CaseState_CASE_STATE_ACCEPTED
	}, 20*time.Second)

	today := noon.Format("2006-01-02")
	sup := yizhanv1.NewSupervisionServiceClient(twClerk.conn)
	st, err := sup.GetStatistics(twClerk.ctx(), &yizhanv1.GetStatisticsRequest{From: today, To: today, OfficeOnly: true, GroupBy: yizhanv1.Grouping_GROUPING_TOWNSHIP})
	if err != nil {
		t.Fatal(err)
	}
	tot := st.GetTotal()
	if tot.GetAccepted() != 1 || tot.GetSameDayDecided() != 1 || len(st.GetRows()) != 1 {
		t.Fatalf("precondition: the township's own figures: %v, rows %v", tot, st.GetRows())
	}
	row := st.GetRows()[0].GetFigures()
	if math.Abs(row.GetAverageDailySameDayRate()-tot.GetAverageDailySameDayRate()) > 1e-9 {
		t.Errorf("office_only by township: row %s (accepted %d, same day %d) has 平均当日办结率 %.2f, the total (the same counters) %.2f",
			st.GetRows()[0].GetKey(), row.GetAccepted(), row.GetSameDayDecided(), row.GetAverageDailySameDayRate(), tot.GetAverageDailySameDayRate())
	}
}

// The workbook takes the statistics' parameters; with office_only its
// 统计 sheet counts the county's own cards (none here), and its 红黄牌
// sheet lists those alone: not a village's card.
func TestTheOfficeOnlyExportsCardsSheetMatchesItsFigures(t *testing.T) {
	var skew atomic.Int64
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		c.CardSweepInterval = 50 * time.Millisecond
	})
	ctx := f.admin.ctx()
	item := tobacco()
	item.Code, item.Name, item.ExerciseTier = "450122-YC-078", "烟草零售点变更备案", yizhanv1.Tier_TIER_VILLAGE
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
	n := r.GetCase().GetNumber()
	filed := r.GetCase().GetFiledAt().AsTime().In(registry.CST).Format("2006-01-02")
	if _, err := caseClient(t, clerk).Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n}); err != nil {
		t.Fatal(err)
	}
	countyBook := f.nodes["county-1"].Office().Cases()
	waitFor(t, "the county's mirror", func() bool {
		c, ok := countyBook.Case(n)
		return ok && c.GetState() == yizhanv1.CaseState_CASE_STATE_ACCEPTED
	}, 20*time.Second)
	skew.Store(int64(20 * 24 * time.Hour)) // past its 2 promised working days
	admin := dial(t, f.countyLeader()).login("admin", password)
	sup := yizhanv1.NewSupervisionServiceClient(admin.conn)
	waitFor(t, "the county's red card for the village", func() bool {
		cs, err := sup.ListCards(admin.ctx(), &yizhanv1.ListCardsRequest{CaseNumber: n})
		return err == nil && len(cs.GetCards()) > 0
	}, 10*time.Second)
	today := time.Now().Add(time.Duration(skew.Load())).In(registry.CST).Format("2006-01-02")
	req := &yizhanv1.GetStatisticsRequest{From: filed, To: today, OfficeOnly: true}
	body, err := sup.ExportStatistics(admin.ctx(), req)
	if err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body.GetData()))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, _ := x.GetRows("统计")
	cards, _ := x.GetRows("红黄牌")
	st, err := sup.GetStatistics(admin.ctx(), req)
	if err != nil {
		t.Fatal(err)
	}
	tot := st.GetTotal()
	if listed := uint64(len(cards) - 1); listed != tot.GetRedCards()+tot.GetYellowCards() {
		t.Errorf("office_only workbook of the county: 统计 counts %d red and %d yellow cards, 红黄牌 lists %d: %q (figures %q)",
			tot.GetRedCards(), tot.GetYellowCards(), listed, cards[1:], rows[len(rows)-1])
	}
}
