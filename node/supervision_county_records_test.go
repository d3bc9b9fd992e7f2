package node_test

import (
	"bytes"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/registry"
)

// cardsOf is how many cards of rule figures f count.
func cardsOf(f *yizhanv1.Figures, rule yizhanv1.CardRule) uint64 {
	for _, c := range f.GetCards() {
		if c.GetRule() == rule {
			return c.GetCount()
		}
	}
	return 0
}

// rowOf is the row of key in st, nil when there is none.
func rowOf(st *yizhanv1.Statistics, key string) *yizhanv1.Figures {
	for _, r := range st.GetRows() {
		if r.GetKey() == key {
			return r.GetFigures()
		}
	}
	return nil
}

// A village agent proxy-files a case; the citizen complains at the
// village (a follow-up for the village, kept at the county) and a county
// supervisor orders the village to explain (督办), left unanswered: a
// month on, the order is late, a red card (督办逾期未答复), and the
// follow-up too (投诉差评未按时答复). Those records, counters and cards
// are in the county's book alone; the village's own figures (its 监察
// page, its 月报) and its township's show what the county counts for
// them: 督办 1, the follow-up, the same red cards. Cut off from the
// county, the village's figures and workbook say they lack them rather
// than show 督办 0.
func TestOfficesBelowCountTheCountysRecordsOfThem(t *testing.T) {
	var skew atomic.Int64 // the nodes' clock runs ahead by this much
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = now
		c.CardSweepInterval = 50 * time.Millisecond
	})
	ctx := f.admin.ctx()
	for _, s := range []*yizhanv1.StaffMember{
		{Username: "jiancha", Name: "李监察", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_SUPERVISOR}},
		{Username: "tw-clerk", Name: "李明", OfficeCode: township, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}},
	} {
		if _, err := f.admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: s, Password: password}); err != nil {
			t.Fatal(err)
		}
	}
	idx := f.nodes["county-1"].Registry().Index()
	waitFor(t, "the township and the village know the new staff", func() bool {
		return f.nodes["chengguan-1"].Registry().Index() >= idx && f.nodes["dongcun-1"].Registry().Index() >= idx
	}, 20*time.Second)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	c := fileTobacco(t, agent, "韦丽")
	n := c.GetNumber()
	countyBook := f.nodes["county-1"].Office().Cases()
	waitFor(t, "the county holds the case", func() bool { _, ok := countyBook.Case(n); return ok }, 20*time.Second)
	citizen := dial(t, f.nodes["dongcun-1"])
	if _, err := caseClient(t, citizen).Complain(citizen.ctx(), &yizhanv1.CaseActionRequest{Number: n, QueryCode: c.GetQueryCode(), Reason: "代办员说材料已报县里，一直没有消息"}); err != nil {
		t.Fatal(err)
	}
	sup := dial(t, f.nodes["county-1"]).login("jiancha", password)
	supSup := yizhanv1.NewSupervisionServiceClient(sup.conn)
	if _, err := supSup.IssueOrder(sup.ctx(), &yizhanv1.IssueOrderRequest{CaseNumber: n, OfficeCode: dongcun, Instruction: "说明代办材料为何未及时上报", AnswerDays: 3}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the complaint's follow-up at the county", func() bool {
		fus, err := countyBook.FollowUps(casebook.RecordQuery{})
		return err == nil && len(fus) == 1
	}, 20*time.Second)

	// A month on: the order and the follow-up are late.
	skew.Store(int64(30 * 24 * time.Hour))
	waitFor(t, "the late cards at the county", func() bool {
		cards, _, err := countyBook.Cards(casebook.CardQuery{CaseNumber: n, PageSize: 100})
		late := 0
		for _, c := range cards {
			if c.GetRule() == yizhanv1.CardRule_CARD_RULE_ORDER_LATE || c.GetRule() == yizhanv1.CardRule_CARD_RULE_FOLLOW_UP_LATE {
				late++
			}
		}
		return err == nil && late == 2
	}, 20*time.Second)
	from := time.Now().In(registry.CST).AddDate(0, 0, -1).Format("2006-01-02")
	to := now().In(registry.CST).Format("2006-01-02")
	sup = dial(t, f.nodes["county-1"]).login("jiancha", password)
	supSup = yizhanv1.NewSupervisionServiceClient(sup.conn)
	atCounty, err := supSup.GetStatistics(sup.ctx(), &yizhanv1.GetStatisticsRequest{OfficeCode: dongcun, From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	want := atCounty.GetTotal()
	if want.GetOrders() != 1 || want.GetFollowUps() != 1 || cardsOf(want, yizhanv1.CardRule_CARD_RULE_ORDER_LATE) != 1 ||
		cardsOf(want, yizhanv1.CardRule_CARD_RULE_FOLLOW_UP_LATE) != 1 {
		t.Fatalf("setup: the county counts for the village: %v", want)
	}
	same := func(who string, got *yizhanv1.Figures) {
		t.Helper()
		for _, r := range []yizhanv1.CardRule{yizhanv1.CardRule_CARD_RULE_ORDER_LATE, yizhanv1.CardRule_CARD_RULE_FOLLOW_UP_LATE} {
			if cardsOf(got, r) != cardsOf(want, r) {
				t.Errorf("%s: %d cards %v, the county counts %d", who, cardsOf(got, r), r, cardsOf(want, r))
			}
		}
		if got.GetOrders() != want.GetOrders() || got.GetFollowUps() != want.GetFollowUps() || got.GetRedCards() != want.GetRedCards() {
			t.Errorf("%s: 督办 %d, 投诉差评回访 %d, 红牌 %d; the county counts 督办 %d, 回访 %d, 红牌 %d for the village", who,
				got.GetOrders(), got.GetFollowUps(), got.GetRedCards(), want.GetOrders(), want.GetFollowUps(), want.GetRedCards())
		}
	}

	// The village's own figures, read at its node.
	agent = dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	agentSup := yizhanv1.NewSupervisionServiceClient(agent.conn)
	st, err := agentSup.GetStatistics(agent.ctx(), &yizhanv1.GetStatisticsRequest{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if st.GetCountyRecordsMissing() {
		t.Errorf("the village's figures say the county's records are missing while the county is reachable")
	}
	same("the village's figures", st.GetTotal())
	// By day: the county's records fall on their days, not counted twice.
	byDay, err := agentSup.GetStatistics(agent.ctx(), &yizhanv1.GetStatisticsRequest{From: from, To: to, GroupBy: yizhanv1.Grouping_GROUPING_DAY})
	if err != nil {
		t.Fatal(err)
	}
	var orders uint64
	for _, r := range byDay.GetRows() {
		orders += r.GetFigures().GetOrders()
	}
	if orders != 1 || byDay.GetTotal().GetOrders() != 1 {
		t.Errorf("the village's figures by day: 督办 %d in the rows, %d in the total; want 1", orders, byDay.GetTotal().GetOrders())
	}

	// The township's, with its villages, and the village's row by office.
	twClerk := dial(t, f.nodes["chengguan-1"]).login("tw-clerk", password)
	twSup := yizhanv1.NewSupervisionServiceClient(twClerk.conn)
	tw, err := twSup.GetStatistics(twClerk.ctx(), &yizhanv1.GetStatisticsRequest{From: from, To: to, GroupBy: yizhanv1.Grouping_GROUPING_OFFICE})
	if err != nil {
		t.Fatal(err)
	}
	same("the township's figures with its villages", tw.GetTotal())
	if row := rowOf(tw, dongcun); row == nil {
		t.Errorf("the township's figures by office have no row for the village: %v", tw.GetRows())
	} else {
		same("the village's row in the township's figures", row)
	}

	// Cut off from the township and the county, the village says so.
	f.links["dongcun-1"].Cut()
	st, err = agentSup.GetStatistics(agent.ctx(), &yizhanv1.GetStatisticsRequest{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if !st.GetCountyRecordsMissing() {
		t.Errorf("cut off from the county, the village's figures do not say the county's records are missing: %v", st.GetTotal())
	}
	body, err := agentSup.ExportStatistics(agent.ctx(), &yizhanv1.GetStatisticsRequest{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body.GetData()))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows("统计")
	if err != nil || len(rows) < 4 {
		t.Fatalf("统计: %q %v", rows, err)
	}
	if len(rows[1]) == 0 || !strings.Contains(rows[1][0], "督办、回访数据暂时无法从县级获取") {
		t.Errorf("the workbook read while cut off has no notice: %q", rows[1])
	}
	header := rows[2]
	for _, r := range rows[3:] {
		for _, col := range []string{"督办", "答复及时率"} {
			if i := slices.Index(header, col); i < 0 || i >= len(r) || r[i] != "—" {
				t.Errorf("the workbook read while cut off: %s of row %q is not —", col, r[0])
			}
		}
	}
	f.links["dongcun-1"].Restore()
}
