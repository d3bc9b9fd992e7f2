package web

import (
	"context"
	"strings"
	"testing"

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
	sv := &figuresSupervision{total: &yizhanv1.Figures{Accepted: 10, Decided: 7, SameDayDecided: 5, SameDayRate: 0.5, AverageDailySameDayRate: 0.5986}}
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
