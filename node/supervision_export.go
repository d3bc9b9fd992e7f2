package node

import (
	"context"
	"fmt"
	"time"

	"github.com/xuri/excelize/v2"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// xlsxType is the media type of an Excel workbook.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// maxLedgerRows bounds the case ledger of one export.
const maxLedgerRows = 100_000

// ExportStatistics is GetStatistics as an Excel workbook, the form
// counties keep their books in: the figures (by the request's grouping,
// by department when none), the office's case ledger (办件台账: the cases
// it handled that were filed in the range, ID numbers masked) and the
// cards of the range.
func (s *supervisionService) ExportStatistics(ctx context.Context, req *yizhanv1.GetStatisticsRequest) (*httpbody.HttpBody, error) {
	if req.GetGroupBy() == yizhanv1.Grouping_GROUPING_UNSPECIFIED {
		req.GroupBy = yizhanv1.Grouping_GROUPING_DEPARTMENT
	}
	st, err := s.GetStatistics(ctx, req)
	if err != nil {
		return nil, err
	}
	from, _ := time.ParseInLocation("2006-01-02", st.GetFrom(), registry.CST)
	to, _ := time.ParseInLocation("2006-01-02", st.GetTo(), registry.CST)
	end := to.AddDate(0, 0, 1)
	book := s.n.office.Cases()

	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, toStatus(err)
	}
	pct, err := f.NewStyle(&excelize.Style{NumFmt: 10}) // 0.00%
	if err != nil {
		return nil, toStatus(err)
	}
	// Sheet 1: the figures.
	const figures = "统计"
	if err := f.SetSheetName("Sheet1", figures); err != nil {
		return nil, toStatus(err)
	}
	office := st.GetOfficeCode()
	if o, err := s.n.office.Registry().Office(office); err == nil {
		office = o.GetName() + "（" + office + "）"
	}
	set := func(sheet string, col, row int, v any) {
		cell, _ := excelize.CoordinatesToCellName(col, row)
		_ = f.SetCellValue(sheet, cell, v)
	}
	set(figures, 1, 1, fmt.Sprintf("%s 政务服务统计 %s 至 %s", office, st.GetFrom(), st.GetTo()))
	_ = f.SetCellStyle(figures, "A1", "A1", bold)
	header := []string{"分组", "名称", "收件", "受理", "不予受理", "办结", "即办件办结", "承诺件办结", "当日办结", "当日办结率", "平均当日办结率",
		"按时办结率", "超期办结", "承诺提速", "办理提速", "平均办理时长（工作日）", "评价数", "满意率", "投诉", "答复及时率", "督办", "红牌", "黄牌", "咨询量", "网上咨询已答复"}
	rates := map[int]bool{10: true, 11: true, 12: true, 14: true, 15: true, 18: true, 20: true}
	for i, h := range header {
		set(figures, i+1, 3, h)
	}
	last, _ := excelize.CoordinatesToCellName(len(header), 3)
	_ = f.SetCellStyle(figures, "A3", last, bold)
	row := 4
	put := func(key, name string, x *yizhanv1.Figures) {
		vals := []any{key, name, x.GetReceived(), x.GetAccepted(), x.GetRefused(), x.GetDecided(), x.GetImmediateDecided(), x.GetPromisedDecided(),
			x.GetSameDayDecided(), x.GetSameDayRate(), x.GetAverageDailySameDayRate(), x.GetInTimeRate(), x.GetOverdueDecided(),
			x.GetPromiseSpeedup(), x.GetHandlingSpeedup(), x.GetAverageWorkingDays(), x.GetRatings(), x.GetSatisfactionRate(),
			x.GetComplaints(), x.GetFollowUpInTimeRate(), x.GetOrders(), x.GetRedCards(), x.GetYellowCards(),
			x.GetConsultations(), x.GetQuestionsAnswered()}
		for i, v := range vals {
			set(figures, i+1, row, v)
			if rates[i+1] {
				cell, _ := excelize.CoordinatesToCellName(i+1, row)
				_ = f.SetCellStyle(figures, cell, cell, pct)
			}
		}
		row++
	}
	for _, r := range st.GetRows() {
		put(r.GetKey(), r.GetName(), r.GetFigures())
	}
	put("合计", "", st.GetTotal())
	_ = f.SetColWidth(figures, "B", "B", 24)

	// Sheet 2: the case ledger.
	const ledger = "办件台账"
	if _, err := f.NewSheet(ledger); err != nil {
		return nil, toStatus(err)
	}
	for i, h := range []string{"办件编号", "事项", "申请人", "身份证号", "申请时间", "受理时间", "承诺期限", "状态", "当前所在", "超期"} {
		set(ledger, i+1, 1, h)
	}
	_ = f.SetCellStyle(ledger, "A1", "J1", bold)
	row, token := 2, ""
	for row-2 < maxLedgerRows {
		cases, next, err := book.List(casebook.ListQuery{Office: st.GetOfficeCode(), FiledFrom: from, FiledTo: end, PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, toStatus(err)
		}
		for _, c := range cases {
			d := c.GetDeadlines()
			overdue := ""
			if d.GetOverdue() {
				overdue = "是"
			}
			vals := []any{c.GetNumber(), c.GetItemName(), c.GetApplicant().GetName(), casework.MaskIDNumber(c.GetApplicant().GetIdNumber()),
				stamp(c.GetFiledAt().AsTime()), stampOf(d.GetAcceptedAt()), stampOf(d.GetPromisedDue()), reason.StateName(c.GetState().String()), c.GetOwnerOffice(), overdue}
			for i, v := range vals {
				set(ledger, i+1, row, v)
			}
			row++
		}
		if next == "" {
			break
		}
		token = next
	}
	_ = f.SetColWidth(ledger, "A", "B", 28)

	// Sheet 3: the cards.
	const cardsSheet = "红黄牌"
	if _, err := f.NewSheet(cardsSheet); err != nil {
		return nil, toStatus(err)
	}
	for i, h := range []string{"办件编号", "颜色", "规则", "责任单位", "部门", "责任人", "时间", "情况", "撤销"} {
		set(cardsSheet, i+1, 1, h)
	}
	_ = f.SetCellStyle(cardsSheet, "A1", "I1", bold)
	row, token = 2, ""
	for {
		cards, next, err := book.Cards(casebook.CardQuery{Office: st.GetOfficeCode(), From: from, To: end, PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, toStatus(err)
		}
		for _, c := range cards {
			colour, withdrawn := "黄牌", ""
			if c.GetColour() == yizhanv1.CardColour_CARD_COLOUR_RED {
				colour = "红牌"
			}
			if c.GetWithdrawn() {
				withdrawn = c.GetWithdrawnReason()
			}
			vals := []any{c.GetCaseNumber(), colour, supervision.RuleName(c.GetRule()), c.GetOfficeCode(), c.GetDepartmentCode(), c.GetStaff(),
				stamp(c.GetAt().AsTime()), c.GetDetail(), withdrawn}
			for i, v := range vals {
				set(cardsSheet, i+1, row, v)
			}
			row++
		}
		if next == "" {
			break
		}
		token = next
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, toStatus(err)
	}
	return &httpbody.HttpBody{ContentType: xlsxType, Data: buf.Bytes()}, nil
}

func stamp(t time.Time) string { return t.In(registry.CST).Format("2006-01-02 15:04") }

// stampOf is stamp of ts, "" when ts is unset.
func stampOf(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return stamp(ts.AsTime())
}
