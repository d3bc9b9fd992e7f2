package web

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// figuresSupervision answers the supervision page's statistics with set
// figures.
type figuresSupervision struct {
	formsSupervision
	total *yizhanv1.Figures
}

func (a *figuresSupervision) GetStatistics(context.Context, *yizhanv1.GetStatisticsRequest) (*yizhanv1.Statistics, error) {
	return &yizhanv1.Statistics{Total: a.total}, nil
}

// The month's 办结 counts decisions (准予 or 不予), not cases closed
// (已办结, after 送达): it used to read 办结 alone, like the state. And
// 平均当日办结率 (the seed's 平均日办结率) was only in the workbook.
func TestSupervisionFiguresSayWhatTheyCount(t *testing.T) {
	sv := &figuresSupervision{total: &yizhanv1.Figures{Accepted: 10, Decided: 7, SameDayDecided: 5, SameDayRate: proto.Float64(0.5), AverageDailySameDayRate: proto.Float64(0.5986)}}
	f := newFixture(t, func(c *Config) { c.Supervision = sv })
	_, page := f.do(t, "GET", "/supervision", nil, session(supervisorToken))
	for _, want := range []string{
		`<th>办结（已作出决定）</th><td id="fig-decided">7</td>`,
		`<th>当日办结率 / 平均当日办结率</th><td>50.0% / <span id="fig-average-daily-same-day">59.9%</span></td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the supervision page lacks %s", want)
		}
	}
}

// The page, printed, is the office's 月报. A month with cases accepted,
// none decided, no rating and no follow-up replied has no 按时办结率,
// 承诺提速, 办理提速, 满意率 or 答复及时率 (each a share of nothing) and
// no average of the daily rate where it is not kept: the page prints "—"
// for each (0.0% read as "every case late", "nobody satisfied"), and the
// rate it has as a number.
func TestSupervisionRatesOfNothingAreADash(t *testing.T) {
	sv := &figuresSupervision{total: &yizhanv1.Figures{Received: 4, Accepted: 3, SameDayRate: proto.Float64(0)}}
	f := newFixture(t, func(c *Config) { c.Supervision = sv })
	_, page := f.do(t, "GET", "/supervision", nil, session(supervisorToken))
	for _, want := range []string{
		`<td>0.0% / <span id="fig-average-daily-same-day">—</span></td>`,
		`<th>按时办结率</th><td>—</td>`,
		`<th>承诺提速</th><td>—</td>`,
		`<th>办理提速</th><td>—</td>`,
		`<th>满意率</th><td>—（0 条评价）</td>`,
		`（答复及时率 —）`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}

// countyRecordsSupervision answers the statistics of a node below the
// county that could not read the county's records.
type countyRecordsSupervision struct {
	formsSupervision
	total   *yizhanv1.Figures
	missing bool
}

func (a *countyRecordsSupervision) GetStatistics(context.Context, *yizhanv1.GetStatisticsRequest) (*yizhanv1.Statistics, error) {
	return &yizhanv1.Statistics{Total: a.total, CountyRecordsMissing: a.missing}, nil
}

// A village's 月报 printed while its node cannot reach the county: the
// orders and follow-ups are the county's records, so 督办 and 答复及时率
// are not known there. The page says so and prints "—" for them, not a
// 督办 0 that reads as "no order"; with the county's records it prints
// the count.
func TestSupervisionSaysWhenTheCountysRecordsAreMissing(t *testing.T) {
	total := &yizhanv1.Figures{Received: 4, Orders: 0, RedCards: 1}
	sv := &countyRecordsSupervision{total: total, missing: true}
	f := newFixture(t, func(c *Config) { c.Supervision = sv })
	_, page := f.do(t, "GET", "/supervision", nil, session(supervisorToken))
	for _, want := range []string{
		`督办、回访数据暂时无法从县级获取`,
		`<th>督办</th><td id="fig-orders">—</td>`,
		`（答复及时率 —）`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page without the county's records lacks %s", want)
		}
	}
	sv.missing, total.Orders = false, 2
	_, page = f.do(t, "GET", "/supervision", nil, session(supervisorToken))
	if strings.Contains(page, `暂时无法从县级获取`) || !strings.Contains(page, `<th>督办</th><td id="fig-orders">2</td>`) {
		t.Errorf("the page with the county's records: notice shown or 督办 not 2")
	}
}

// A village's figures count the cards only the county's book lists (an
// order left unanswered: 督办逾期未答复), while its card table is its own
// book's: the page says how many, and where to see them; the county's
// page, whose table lists them, says nothing of it.
func TestTheCardsOnlyTheCountyListsAreSaidWhereTheyAre(t *testing.T) {
	figures := &yizhanv1.Figures{RedCards: 1, Cards: []*yizhanv1.CardCount{{Rule: yizhanv1.CardRule_CARD_RULE_ORDER_LATE, Count: 1}}}
	for _, tc := range []struct {
		office string
		want   bool
	}{{village, true}, {county, false}} {
		f := newFixture(t, func(c *Config) { c.Supervision = &figuresSupervision{total: figures}; c.Office = tc.office })
		_, page := f.do(t, "GET", "/supervision", nil, session(supervisorToken))
		if got := strings.Contains(page, `id="county-cards"`) && strings.Contains(page, "督办逾期未答复 1 张"); got != tc.want {
			t.Errorf("office %s: the page says where the county's card is: %v, want %v", tc.office, got, tc.want)
		}
	}
}

// meetingSupervision holds each statistics request until the other
// arrives (or ten seconds pass), and counts those that met.
type meetingSupervision struct {
	formsSupervision
	arrived chan struct{}
	met     atomic.Int32
}

func (a *meetingSupervision) GetStatistics(ctx context.Context, _ *yizhanv1.GetStatisticsRequest) (*yizhanv1.Statistics, error) {
	select {
	case a.arrived <- struct{}{}: // the other is waiting
		a.met.Add(1)
	case <-a.arrived:
		a.met.Add(1)
	case <-time.After(10 * time.Second):
	}
	return &yizhanv1.Statistics{Total: &yizhanv1.Figures{}, CountyRecordsMissing: true}, nil
}

// Below the county, each statistics request waits for the county's
// records: with the link to it down, a page asking its two (by day, by
// department) one after the other waited twice. It asks both at once.
func TestTheSupervisionPageAsksItsStatisticsAtOnce(t *testing.T) {
	sv := &meetingSupervision{arrived: make(chan struct{})}
	f := newFixture(t, func(c *Config) { c.Supervision = sv; c.Office = village })
	_, page := f.do(t, "GET", "/supervision", nil, session(supervisorToken))
	if got := sv.met.Load(); got != 2 {
		t.Errorf("%d of the page's two statistics requests were in flight together, want both", got)
	}
	if !strings.Contains(page, `督办、回访数据暂时无法从县级获取`) {
		t.Errorf("the page does not say the county's records are missing")
	}
}
