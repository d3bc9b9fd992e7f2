package node_test

// The statistics workbook (GET /v1/statistics:export, the 监察 page's 导出)
// against the seed's report figures (第四篇 三、主要成效: 受理办结…件,
// 接待来人来电咨询…人次, 平均日办结率, 承诺提速, 办理提速).

import (
	"bytes"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// townshipDayWorkbook sets up a township item decided on the spot at the
// township (accepted and decided the same day) and one accepted at the
// village and left open, and returns the township clerk's workbook of
// today (the 监察 page's export: by department, the township with its
// villages) and the day.
func townshipDayWorkbook(t *testing.T) (*excelize.File, string) {
	twClerk, today := townshipDay(t, "450122-YC-177")
	sup := yizhanv1.NewSupervisionServiceClient(twClerk.conn)
	for _, ch := range []yizhanv1.ConsultationChannel{yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_IN_PERSON, yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE} {
		if _, err := sup.RecordConsultation(twClerk.ctx(), &yizhanv1.RecordConsultationRequest{Channel: ch, Question: "开小卖部要办什么证?", Answer: "烟草专卖零售许可证。"}); err != nil {
			t.Fatal(err)
		}
	}
	body, err := sup.ExportStatistics(twClerk.ctx(), &yizhanv1.GetStatisticsRequest{From: today, To: today})
	if err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body.GetData()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x, today
}

// statisticsSheet is the 统计 sheet: its header row and its rows by their first
// cell (合计 for the total).
func statisticsSheet(t *testing.T, x *excelize.File) (header []string, rows map[string][]string) {
	t.Helper()
	all, err := x.GetRows("统计")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 4 {
		t.Fatalf("统计: %q", all)
	}
	header, rows = all[2], map[string][]string{}
	for _, r := range all[3:] {
		if len(r) > 0 {
			rows[r[0]] = r
		}
	}
	return header, rows
}

func sheetCell(header, row []string, name string) string {
	i := slices.Index(header, name)
	if i < 0 || i >= len(row) {
		return ""
	}
	return row[i]
}

// A township's workbook, grouped by department: the department's row
// has its 当日办结率 (two acceptances of the day, one decided on the day)
// and no 平均当日办结率, which needs the department's daily series that
// only the county keeps: "—", not 0.00%; the total has both.
func TestTheWorkbookLeavesARateNotKeptForARowAsADash(t *testing.T) {
	x, _ := townshipDayWorkbook(t)
	header, rows := statisticsSheet(t, x)
	yc, total := rows["yc"], rows["合计"]
	if yc == nil {
		t.Fatalf("no row of department yc: %v", rows)
	}
	if got := sheetCell(header, yc, "当日办结率"); got != "50.00%" {
		t.Errorf("department yc's 当日办结率 %q, want 50.00%%", got)
	}
	if got := sheetCell(header, yc, "平均当日办结率"); got != "—" {
		t.Errorf("department yc's 平均当日办结率 %q, want — (not kept for a department's row below the county)", got)
	}
	if got := sheetCell(header, total, "平均当日办结率"); got != "50.00%" {
		t.Errorf("合计 平均当日办结率 %q, want 50.00%%", got)
	}
}

// A rate of nothing is no rate: with no rating there is no 满意率, with no
// follow-up replied no 答复及时率. The workbook writes "—" (0.00% read as
// "nobody satisfied"), and the rates that have something to divide write
// their number.
func TestTheWorkbookWritesNoRateOfNothing(t *testing.T) {
	x, _ := townshipDayWorkbook(t)
	header, rows := statisticsSheet(t, x)
	total := rows["合计"]
	if n := sheetCell(header, total, "评价数"); n != "0" {
		t.Fatalf("setup: 评价数 %q", n)
	}
	for _, name := range []string{"满意率", "答复及时率"} {
		if got := sheetCell(header, total, name); got != "—" {
			t.Errorf("合计 %s %q, want — (nothing to divide by)", name, got)
		}
	}
	for name, want := range map[string]string{"按时办结率": "100.00%", "当日办结率": "50.00%"} {
		if got := sheetCell(header, total, name); got != want {
			t.Errorf("合计 %s %q, want %s", name, got, want)
		}
	}
}

// The seed counts "接待来人来电咨询1386人次": people who came or called,
// not the questions left online; and a county reconciles 受理 with 办结
// and what was withdrawn (撤回, of which 逾期未补正). The workbook has a
// column for each.
func TestTheWorkbookHasTheSeedsConsultationsAndTheWithdrawn(t *testing.T) {
	x, _ := townshipDayWorkbook(t)
	header, rows := statisticsSheet(t, x)
	total := rows["合计"]
	for name, want := range map[string]string{"来人来电咨询": "2", "网上留言咨询": "0", "咨询量": "2", "撤回": "0", "其中逾期未补正": "0"} {
		if !slices.Contains(header, name) {
			t.Errorf("统计 has no column %s: %q", name, header)
			continue
		}
		if got := sheetCell(header, total, name); got != want {
			t.Errorf("合计 %s %q, want %s", name, got, want)
		}
	}
}
