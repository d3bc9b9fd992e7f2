package node_test

import (
	"bytes"
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

// The village's figures count the county's ORDER_LATE red card (taken
// from the county), while its list of cards (ListCards: the 监察 page's
// card table, the workbook's 红黄牌 sheet) is read from its own book,
// which never holds it. The red cards listed and the county's record
// cards make the figure, and the workbook's 红黄牌 sheet says where the
// card the list lacks is (it showed 红牌 1 above a table with no red
// card, saying nothing).
func TestAVillagesCountysRecordCardsAreSaidWhereTheyAre(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = now
		c.CardSweepInterval = 50 * time.Millisecond
	})
	ctx := f.admin.ctx()
	if _, err := f.admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "jiancha", Name: "李监察", OfficeCode: county,
		Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_SUPERVISOR}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	c := fileTobacco(t, agent, "韦丽")
	n := c.GetNumber()
	countyBook := f.nodes["county-1"].Office().Cases()
	waitFor(t, "the county holds the case", func() bool { _, ok := countyBook.Case(n); return ok }, 20*time.Second)
	sup := dial(t, f.nodes["county-1"]).login("jiancha", password)
	if _, err := yizhanv1.NewSupervisionServiceClient(sup.conn).IssueOrder(sup.ctx(), &yizhanv1.IssueOrderRequest{CaseNumber: n, OfficeCode: dongcun,
		Instruction: "说明代办材料为何未及时上报", AnswerDays: 3}); err != nil {
		t.Fatal(err)
	}
	skew.Store(int64(30 * 24 * time.Hour))
	waitFor(t, "the ORDER_LATE card at the county", func() bool {
		cards, _, err := countyBook.Cards(casebook.CardQuery{CaseNumber: n, PageSize: 100})
		for _, c := range cards {
			if c.GetRule() == yizhanv1.CardRule_CARD_RULE_ORDER_LATE {
				return err == nil
			}
		}
		return false
	}, 20*time.Second)
	from := time.Now().In(registry.CST).AddDate(0, 0, -1).Format("2006-01-02")
	to := now().In(registry.CST).Format("2006-01-02")
	agent = dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	s := yizhanv1.NewSupervisionServiceClient(agent.conn)
	st, err := s.GetStatistics(agent.ctx(), &yizhanv1.GetStatisticsRequest{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	cards, err := s.ListCards(agent.ctx(), &yizhanv1.ListCardsRequest{From: from, To: to, Colour: yizhanv1.CardColour_CARD_COLOUR_RED})
	if err != nil {
		t.Fatal(err)
	}
	late := cardsOf(st.GetTotal(), yizhanv1.CardRule_CARD_RULE_ORDER_LATE)
	if late != 1 || uint64(len(cards.GetCards()))+late != st.GetTotal().GetRedCards() {
		t.Errorf("the village's figures count 红牌 %d (ORDER_LATE %d, from the county), its card list holds %d red cards: %v",
			st.GetTotal().GetRedCards(), late, len(cards.GetCards()), cards.GetCards())
	}
	body, err := s.ExportStatistics(agent.ctx(), &yizhanv1.GetStatisticsRequest{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body.GetData()))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, _ := x.GetRows("红黄牌")
	said := false
	for _, r := range rows {
		said = said || (len(r) > 0 && strings.Contains(r[0], "督办逾期未答复 1 张") && strings.Contains(r[0], "县级"))
	}
	if !said {
		t.Errorf("the village's workbook's 红黄牌 sheet does not say the county's card is at the county: %q", rows)
	}
}
