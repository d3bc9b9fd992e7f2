package web

import (
	"context"
	"strings"
	"testing"

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
