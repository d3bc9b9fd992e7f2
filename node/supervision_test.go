package node_test

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"google.golang.org/protobuf/proto"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/registry"
)

// A case at the county first answered after §32's five working days
// earns a yellow card on every county node; a second correction notice
// is refused (the one-time notice); the county's figures count the card,
// by department; bad requests are refused naming the field, and a village
// agent may not read the county's records.
func TestStatisticsAndCardsThroughTheAPI(t *testing.T) {
	var skew atomic.Int64
	f := newTunedCaseFed(t, 3, func(_ string, c *node.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	n, filed := fileAnsweredLate(t, f.countyLeader(), &skew)
	admin := dial(t, f.countyLeader()).login("admin", password) // signed in after the clock moved on
	clerk := dial(t, f.countyLeader()).login("clerk", password)
	approver := dial(t, f.countyLeader()).login("approver", password)
	cases := caseClient(t, clerk)
	step := func(name string, call func() (*yizhanv1.CaseResponse, error)) {
		t.Helper()
		if _, err := call(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	step("review", func() (*yizhanv1.CaseResponse, error) {
		return cases.Review(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n, Reason: "同意", Agrees: true})
	})
	step("decide", func() (*yizhanv1.CaseResponse, error) {
		return caseClient(t, approver).Decide(approver.ctx(), &yizhanv1.CaseActionRequest{Number: n, Approved: true, Reason: "符合条件"})
	})

	sup := yizhanv1.NewSupervisionServiceClient(admin.conn)
	var cards []*yizhanv1.Card
	waitFor(t, "the card", func() bool {
		r, err := sup.ListCards(admin.ctx(), &yizhanv1.ListCardsRequest{})
		cards = r.GetCards()
		return err == nil && len(cards) == 1
	}, 10*time.Second)
	if c := cards[0]; c.GetCaseNumber() != n || c.GetRule() != yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME ||
		c.GetColour() != yizhanv1.CardColour_CARD_COLOUR_YELLOW || c.GetOfficeCode() != county || c.GetStaff() != "clerk" || c.GetDepartmentCode() != "yc" {
		t.Errorf("the card: %v", c)
	}
	today := time.Now().Add(time.Duration(skew.Load())).In(registry.CST).Format("2006-01-02")
	st, err := sup.GetStatistics(admin.ctx(), &yizhanv1.GetStatisticsRequest{From: filed, To: today, GroupBy: yizhanv1.Grouping_GROUPING_DEPARTMENT})
	if err != nil {
		t.Fatal(err)
	}
	if tot := st.GetTotal(); tot.GetReceived() != 1 || tot.GetAccepted() != 1 || tot.GetDecided() != 1 || tot.GetSameDayDecided() != 1 ||
		tot.GetSameDayRate() != 1 || tot.GetAverageDailySameDayRate() != 1 || tot.GetInTimeRate() != 1 || tot.GetYellowCards() != 1 {
		t.Errorf("today's figures: %v", tot)
	}
	if len(st.GetRows()) != 1 || st.GetRows()[0].GetKey() != "yc" || st.GetRows()[0].GetName() != "县烟草专卖局" || st.GetRows()[0].GetFigures().GetDecided() != 1 {
		t.Errorf("rows by department: %v", st.GetRows())
	}
	// Every node of the county holds the same card (issued in the log).
	for _, name := range []string{"county-1", "county-2", "county-3"} {
		c := dial(t, f.nodes[name]).login("admin", password)
		waitFor(t, name+" holds the card", func() bool {
			r, err := yizhanv1.NewSupervisionServiceClient(c.conn).ListCards(c.ctx(), &yizhanv1.ListCardsRequest{CaseNumber: n})
			return err == nil && len(r.GetCards()) == 1 && r.GetCards()[0].GetRule() == yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME
		}, 10*time.Second)
	}

	for _, tt := range []struct {
		req   *yizhanv1.GetStatisticsRequest
		field string
	}{
		{&yizhanv1.GetStatisticsRequest{From: "2026/03/01"}, "from"},
		{&yizhanv1.GetStatisticsRequest{From: "2026-03-02", To: "2026-03-01"}, "to"},
		{&yizhanv1.GetStatisticsRequest{From: "2000-01-01", To: "2026-03-01"}, "to"},
		{&yizhanv1.GetStatisticsRequest{From: "2025-01-01", To: "2026-03-01", GroupBy: yizhanv1.Grouping_GROUPING_DAY}, "to"},
		{&yizhanv1.GetStatisticsRequest{GroupBy: 99}, "group_by"},
		{&yizhanv1.GetStatisticsRequest{OfficeCode: "45012"}, "office_code"},
	} {
		_, err := sup.GetStatistics(admin.ctx(), tt.req)
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != tt.field {
			t.Errorf("GetStatistics(%v): %s naming %q; want InvalidArgument naming %s", tt.req, code, field, tt.field)
		}
	}
	if _, err := sup.ListCards(admin.ctx(), &yizhanv1.ListCardsRequest{PageToken: "bm90IGEgdG9rZW4"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("ListCards with a made-up page token: %v", err)
	}
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	if _, err := yizhanv1.NewSupervisionServiceClient(agent.conn).GetStatistics(agent.ctx(), &yizhanv1.GetStatisticsRequest{OfficeCode: county}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a village agent reading the county's figures: %v", err)
	}
}

// The Excel export opens, and holds the figures the API gives, the case
// in the ledger (its ID number masked) and the card.
func TestStatisticsExportOpensWithTheAPIFigures(t *testing.T) {
	var skew atomic.Int64
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	n, filed := fileAnsweredLate(t, f.countyLeader(), &skew)
	admin := dial(t, f.countyLeader()).login("admin", password) // signed in after the clock moved on
	sup := yizhanv1.NewSupervisionServiceClient(admin.conn)
	today := time.Now().Add(time.Duration(skew.Load())).In(registry.CST).Format("2006-01-02")
	req := &yizhanv1.GetStatisticsRequest{From: filed, To: today, GroupBy: yizhanv1.Grouping_GROUPING_DEPARTMENT}
	want, err := sup.GetStatistics(admin.ctx(), req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := sup.ExportStatistics(admin.ctx(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(body.GetContentType(), "application/vnd.openxmlformats") {
		t.Errorf("content type %q", body.GetContentType())
	}
	x, err := excelize.OpenReader(bytes.NewReader(body.GetData()))
	if err != nil {
		t.Fatalf("the export does not open: %v", err)
	}
	defer x.Close()
	rows, err := x.GetRows("统计")
	if err != nil {
		t.Fatal(err)
	}
	// Row 3 is the header, then one row per department, then the total.
	if len(rows) != 5 || rows[3][0] != "yc" || rows[4][0] != "合计" {
		t.Fatalf("the figures sheet: %q", rows)
	}
	col := func(name string) int {
		i := slices.Index(rows[2], name)
		if i < 0 {
			t.Fatalf("no column %s in %q", name, rows[2])
		}
		return i
	}
	tot := want.GetTotal()
	for name, v := range map[string]uint64{"收件": tot.GetReceived(), "受理": tot.GetAccepted(), "黄牌": tot.GetYellowCards()} {
		if got := rows[4][col(name)]; got != strconv.FormatUint(v, 10) || v == 0 {
			t.Errorf("%s: the sheet says %q, the API %d", name, got, v)
		}
	}
	if got := rows[4][col("当日办结率")]; !strings.HasSuffix(got, "%") {
		t.Errorf("当日办结率 of the total is not shown as a percentage: %q", got)
	}
	// Nothing decided: no 按时办结率, not 0%.
	if got := rows[4][col("按时办结率")]; tot.InTimeRate != nil || got != "—" {
		t.Errorf("按时办结率 of the total, nothing decided: the sheet says %q, the API %v", got, tot.InTimeRate)
	}
	ledger, err := x.GetRows("办件台账")
	if err != nil {
		t.Fatal(err)
	}
	if len(ledger) != 2 || ledger[1][0] != n || ledger[1][3] != casework.MaskIDNumber(applicantID) || ledger[1][7] != "已受理" {
		t.Errorf("the ledger: %q", ledger)
	}
	cards, err := x.GetRows("红黄牌")
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 2 || cards[1][0] != n || cards[1][2] != "逾期未受理" {
		t.Errorf("the cards sheet: %q", cards)
	}
}

// A village cut off from the township and the county does not hide a
// late case: the county issues the red card from its mirror, the village
// its own, and when the link is back nothing is issued twice.
func TestCountyCardsALateCaseOfACutOffVillage(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = now
		c.CardSweepInterval = 50 * time.Millisecond
	})
	ctx := f.admin.ctx()
	item := tobacco()
	item.Code, item.Name, item.ExerciseTier = "450122-YC-009", "烟草零售点变更备案", yizhanv1.Tier_TIER_VILLAGE
	item.StatutoryLimitDays, item.PromisedLimitDays = 5, 2
	if _, err := f.admin.reg.CreateItem(ctx, &yizhanv1.CreateItemRequest{Item: item}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{ItemCode: item.Code, Tier: yizhanv1.Tier_TIER_VILLAGE,
		Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_REVIEW, yizhanv1.Right_RIGHT_APPROVE, yizhanv1.Right_RIGHT_DELIVER}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "dongcun-clerk", Name: "黄小红",
		OfficeCode: dongcun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	village := f.nodes["dongcun-1"]
	idx := f.nodes["county-1"].Registry().Index()
	waitFor(t, "the village has the item and the clerk", func() bool { return village.Registry().Index() >= idx }, 20*time.Second)
	clerk := dial(t, village).login("dongcun-clerk", password)
	cases := caseClient(t, clerk)
	filed, err := cases.FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: item.Code,
		Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	n := filed.GetCase().GetNumber()
	if _, err := cases.Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n}); err != nil {
		t.Fatal(err)
	}
	countyBook := f.nodes["county-1"].Office().Cases()
	waitFor(t, "the county's mirror of the accepted case", func() bool {
		c, ok := countyBook.Case(n)
		return ok && c.GetState() == yizhanv1.CaseState_CASE_STATE_ACCEPTED
	}, 20*time.Second)

	f.links["dongcun-1"].Cut()
	skew.Store(int64(20 * 24 * time.Hour)) // past its 2 promised working days
	overdue := func(b interface {
		Cards(casebook.CardQuery) ([]*yizhanv1.Card, string, error)
	}) int {
		cs, _, err := b.Cards(casebook.CardQuery{CaseNumber: n, Rule: yizhanv1.CardRule_CARD_RULE_OVERDUE})
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}
	waitFor(t, "the county's red card", func() bool { return overdue(countyBook) == 1 }, 10*time.Second)
	waitFor(t, "the village's own red card", func() bool { return overdue(village.Office().Cases()) == 1 }, 10*time.Second)
	cs, _, _ := countyBook.Cards(casebook.CardQuery{CaseNumber: n, Rule: yizhanv1.CardRule_CARD_RULE_OVERDUE})
	if c := cs[0]; c.GetOfficeCode() != dongcun || c.GetColour() != yizhanv1.CardColour_CARD_COLOUR_RED {
		t.Errorf("the county's card: %v", c)
	}
	if _, ok := countyBook.Case(n); !ok {
		t.Fatal("the county lost the case")
	}
	f.links["dongcun-1"].Restore()
	time.Sleep(500 * time.Millisecond) // sweeps on both sides of the healed link
	if a, b := overdue(countyBook), overdue(village.Office().Cases()); a != 1 || b != 1 {
		t.Errorf("after the link is back: %d red cards at the county, %d at the village; want one each", a, b)
	}
}

// fileAnsweredLate files a tobacco case as the clerk at node at, moves the
// nodes' clock twenty days on, sends the one-time correction notice (past
// §32's five working days: a yellow card), shows that a second notice is
// refused, and accepts the case after the resubmission. It returns the
// case number and the day it was filed (YYYY-MM-DD).
func fileAnsweredLate(t *testing.T, at *node.Node, skew *atomic.Int64) (string, string) {
	t.Helper()
	clerk := dial(t, at).login("clerk", password)
	cases := caseClient(t, clerk)
	resp, err := cases.FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	n := resp.GetCase().GetNumber()
	filed := resp.GetCase().GetFiledAt().AsTime().In(registry.CST).Format("2006-01-02")
	skew.Add(int64(20 * 24 * time.Hour))         // at least 5 working days, whatever the holidays
	clerk = dial(t, at).login("clerk", password) // the first sign-in has expired
	cases = caseClient(t, clerk)
	if _, err := cases.RequestCorrection(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n, MissingMaterials: []string{"申请表"}, Reason: "申请表未签字"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cases.Resubmit(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n, Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}}); err != nil {
		t.Fatal(err)
	}
	_, err = cases.RequestCorrection(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n, MissingMaterials: []string{"申请表"}, Reason: "复印件不清"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "one-time") {
		t.Fatalf("a second correction notice: %v", err)
	}
	if _, err := cases.Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n}); err != nil {
		t.Fatal(err)
	}
	return n, filed
}

// A county admin sets the warning days; every office reads them (the
// registry feed carries them down); anyone else is refused, and a value
// out of range names the field.
func TestSupervisionPolicyThroughTheAPI(t *testing.T) {
	f := newCaseFed(t, 1)
	ctx := f.admin.ctx()
	got, err := f.admin.reg.PutSupervisionPolicy(ctx, &yizhanv1.PutSupervisionPolicyRequest{Policy: &yizhanv1.SupervisionPolicy{WarningDays: 4}})
	if err != nil || got.GetPolicy().GetWarningDays() != 4 {
		t.Fatalf("put: %v %v", got, err)
	}
	village := dial(t, f.nodes["dongcun-1"])
	waitFor(t, "the village reads the policy", func() bool {
		r, err := village.reg.GetSupervisionPolicy(village.ctx(), &yizhanv1.GetSupervisionPolicyRequest{})
		return err == nil && r.GetPolicy().GetWarningDays() == 4
	}, 20*time.Second)
	if _, err := f.admin.reg.PutSupervisionPolicy(ctx, &yizhanv1.PutSupervisionPolicyRequest{Policy: &yizhanv1.SupervisionPolicy{WarningDays: 11}}); func() bool {
		code, field := fieldOf(err)
		return code != codes.InvalidArgument || field != "policy.warning_days"
	}() {
		t.Errorf("11 warning days: %v", err)
	}
	clerk := dial(t, f.countyLeader()).login("clerk", password)
	if _, err := clerk.reg.PutSupervisionPolicy(clerk.ctx(), &yizhanv1.PutSupervisionPolicyRequest{Policy: &yizhanv1.SupervisionPolicy{WarningDays: 1}}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a clerk setting the policy: %v", err)
	}
}

// The county's leader stops after issuing a red card; the next leader
// sweeps the same late case again and again, and every node still holds
// the one card, as first issued.
func TestLeaderChangeIssuesNoSecondCard(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	f := newTunedCaseFed(t, 3, func(_ string, c *node.Config) {
		c.Now = now
		c.CardSweepInterval = 50 * time.Millisecond
	})
	leader := f.countyLeader()
	clerk := dial(t, leader).login("clerk", password)
	// A busy machine can cost a new county leader its lease: the clerk
	// sends a write again with its request ID while the office says so.
	var filed *yizhanv1.CaseResponse
	var err error
	waitFor(t, "the filing", func() bool {
		filed, err = caseClient(t, clerk).FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}, RequestId: "late-case"})
		return !retryable(err)
	}, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	n := filed.GetCase().GetNumber()
	waitFor(t, "the acceptance", func() bool {
		_, err = caseClient(t, clerk).Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n, RequestId: "late-case-accept"})
		return !retryable(err)
	}, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	leader = f.countyLeader()              // the one that sweeps
	skew.Store(int64(30 * 24 * time.Hour)) // past its 10 promised working days
	red := func(nd *node.Node) []*yizhanv1.Card {
		cs, _, err := nd.Office().Cases().Cards(casebook.CardQuery{CaseNumber: n, Rule: yizhanv1.CardRule_CARD_RULE_OVERDUE})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	waitFor(t, "the red card", func() bool { return len(red(leader)) == 1 }, 10*time.Second)
	first := red(leader)[0]
	f.stop(leader.Name())
	next := f.countyLeader()
	if next == leader {
		t.Fatal("no new leader")
	}
	time.Sleep(500 * time.Millisecond) // ten sweeps of the new leader
	for _, name := range f.countyNames() {
		nd := f.nodes[name]
		if nd == nil {
			continue
		}
		if cs := red(nd); len(cs) != 1 || !proto.Equal(cs[0], first) {
			t.Errorf("%s holds %v, want the one card first issued: %v", name, cs, first)
		}
	}
}
