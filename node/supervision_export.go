package node

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/node/internal/xlsx"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// countyRecordsMissingNotice heads the 统计 sheet of figures read without
// the county's records (Statistics.county_records_missing).
const countyRecordsMissingNotice = "督办、回访数据暂时无法从县级获取：督办、答复及时率未计入（—），红牌、黄牌不含督办逾期未答复、投诉差评未按时答复。"

// ownLedgerNotice heads the 统计 sheet of a workbook whose figures take in
// the offices below and whose ledger does not: the caller is staff of the
// office, who read its own records only.
const ownLedgerNotice = "办件台账仅列本单位经手的办件；统计含下级单位，下级单位的办件台账由管理员或监察员导出。"

// xlsxType is the media type of an Excel workbook.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// maxLedgerRows bounds the case ledger of one export.
const maxLedgerRows = 100_000

// maxExports is how many workbooks a node builds at once: each holds its
// sheets in memory (a county's ledger of maxLedgerRows rows and as many
// cards: some 150 MB), and a county node runs within a few hundred MB.
// exportWait is how long an export waits for a slot before it is
// answered EXPORT_BUSY.
const maxExports = 2

var exportWait = 10 * time.Second

// exportSlot takes one of the node's export slots, waiting for at most
// exportWait; release gives it back.
func (n *Node) exportSlot(ctx context.Context) (release func(), err error) {
	if takeSlot(ctx, n.exports, exportWait) {
		return func() { <-n.exports }, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, toStatus(err)
	}
	return nil, reason.Status(reason.ExportBusy, fmt.Sprintf("%d workbooks are being built on this node: try again shortly", maxExports),
		reason.Meta{"retryAfterSeconds": "30"}, 30*time.Second).Err()
}

// ExportStatistics is GetStatistics as an Excel workbook, the form
// counties keep their books in: the figures (by the request's grouping,
// by department when none), the case ledger (办件台账: the cases the
// figures count, filed in the range, ID numbers masked: those the office
// and the offices below it handled, or the office's own to its staff and
// with office_only) and the cards of the range.
func (s *supervisionService) ExportStatistics(ctx context.Context, req *yizhanv1.GetStatisticsRequest) (*httpbody.HttpBody, error) {
	if req.GetGroupBy() == yizhanv1.Grouping_GROUPING_UNSPECIFIED {
		req.GroupBy = yizhanv1.Grouping_GROUPING_DEPARTMENT
	}
	st, err := s.GetStatistics(ctx, req)
	if err != nil {
		return nil, err
	}
	// The cards of the offices below are an admin's or a supervisor's to
	// read (scope), as in ListCards.
	_, subtree, err := s.scope(ctx, st.GetOfficeCode())
	if err != nil {
		return nil, err
	}
	release, err := s.n.exportSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	from, _ := time.ParseInLocation("2006-01-02", st.GetFrom(), registry.CST)
	to, _ := time.ParseInLocation("2006-01-02", st.GetTo(), registry.CST)
	end := to.AddDate(0, 0, 1)
	book := s.n.office.Cases()
	reg, now := s.n.office.Registry(), s.n.now()
	// office_only: the office's own cases and cards, as its figures count
	// it alone (a case it owns or where it was filed; a card of its own).
	ownOnly := req.GetOfficeOnly()
	// The ledger lists the cases the figures count: the office's and
	// those of the offices below it, for those who may read the records
	// below (scope); the office's own to its staff, and the sheet says so.
	subtreeLedger := subtree && !ownOnly
	var notices []string
	if st.GetCountyRecordsMissing() {
		notices = append(notices, countyRecordsMissingNotice)
	}
	if !ownOnly && !subtree && registry.SubtreePrefix(st.GetOfficeCode()) != st.GetOfficeCode() {
		notices = append(notices, ownLedgerNotice)
	}

	wb := xlsx.New()
	// Sheet 1: the figures.
	figures := wb.AddSheet("统计")
	office := st.GetOfficeCode()
	if o, err := s.n.office.Registry().Office(office); err == nil {
		office = o.GetName() + "（" + office + "）"
	}
	figures.Set(1, 1, fmt.Sprintf("%s 政务服务统计 %s 至 %s", office, st.GetFrom(), st.GetTo()))
	figures.Style(1, 1, 1, xlsx.Bold)
	missing := st.GetCountyRecordsMissing()
	if len(notices) > 0 {
		figures.Set(1, 2, strings.Join(notices, " "))
	}
	// The columns: a count, or a quotient, a rate or a mean (nil: none,
	// written "—": nothing to divide by, or not kept for the row; not 0).
	// A column of the county's records is "—" when they were not read.
	type column struct {
		name         string
		count        func(*yizhanv1.Figures) uint64
		quotient     func(*yizhanv1.Figures) *float64
		percent      bool
		countyRecord bool
	}
	counts := func(name string, f func(*yizhanv1.Figures) uint64) column { return column{name: name, count: f} }
	rate := func(name string, f func(*yizhanv1.Figures) *float64) column {
		return column{name: name, quotient: f, percent: true}
	}
	columns := []column{
		counts("收件", (*yizhanv1.Figures).GetReceived),
		counts("受理", (*yizhanv1.Figures).GetAccepted),
		counts("不予受理", (*yizhanv1.Figures).GetRefused),
		counts("办结（已作出决定）", (*yizhanv1.Figures).GetDecided),
		counts("即办件办结", (*yizhanv1.Figures).GetImmediateDecided),
		counts("承诺件办结", (*yizhanv1.Figures).GetPromisedDecided),
		counts("当日办结", (*yizhanv1.Figures).GetSameDayDecided),
		rate("当日办结率", func(x *yizhanv1.Figures) *float64 { return x.SameDayRate }),
		rate("平均当日办结率", func(x *yizhanv1.Figures) *float64 { return x.AverageDailySameDayRate }),
		rate("按时办结率", func(x *yizhanv1.Figures) *float64 { return x.InTimeRate }),
		counts("超期办结", (*yizhanv1.Figures).GetOverdueDecided),
		rate("承诺提速", func(x *yizhanv1.Figures) *float64 { return x.PromiseSpeedup }),
		rate("办理提速", func(x *yizhanv1.Figures) *float64 { return x.HandlingSpeedup }),
		{name: "平均办理时长（工作日）", quotient: func(x *yizhanv1.Figures) *float64 { return x.AverageWorkingDays }},
		counts("撤回", (*yizhanv1.Figures).GetWithdrawn),
		counts("其中逾期未补正", (*yizhanv1.Figures).GetWithdrawnCorrectionLapsed),
		counts("评价数", (*yizhanv1.Figures).GetRatings),
		rate("满意率", func(x *yizhanv1.Figures) *float64 { return x.SatisfactionRate }),
		counts("投诉", (*yizhanv1.Figures).GetComplaints),
		{name: "答复及时率", quotient: func(x *yizhanv1.Figures) *float64 { return x.FollowUpInTimeRate }, percent: true, countyRecord: true},
		{name: "督办", count: (*yizhanv1.Figures).GetOrders, countyRecord: true},
		counts("红牌", (*yizhanv1.Figures).GetRedCards),
		counts("黄牌", (*yizhanv1.Figures).GetYellowCards),
		counts("咨询量", (*yizhanv1.Figures).GetConsultations),
		// The seed's 来人来电咨询: people who came or called.
		counts("来人来电咨询", func(x *yizhanv1.Figures) uint64 { return x.GetConsultationsInPerson() + x.GetConsultationsPhone() }),
		counts("网上留言咨询", (*yizhanv1.Figures).GetConsultationsOnline),
		counts("网上咨询已答复", (*yizhanv1.Figures).GetQuestionsAnswered),
	}
	figures.Set(1, 3, "分组")
	figures.Set(2, 3, "名称")
	for i, c := range columns {
		figures.Set(i+3, 3, c.name)
	}
	figures.Style(1, len(columns)+2, 3, xlsx.Bold)
	row := 4
	put := func(key, name string, x *yizhanv1.Figures) {
		figures.Set(1, row, key)
		figures.Set(2, row, name)
		for i, c := range columns {
			col := i + 3
			if c.countyRecord && missing {
				figures.Set(col, row, "—")
				continue
			}
			if c.count != nil {
				figures.Set(col, row, c.count(x))
				continue
			}
			v := c.quotient(x)
			if v == nil {
				figures.Set(col, row, "—")
				continue
			}
			figures.Set(col, row, *v)
			if c.percent {
				figures.Style(col, col, row, xlsx.Percent)
			}
		}
		row++
	}
	for _, r := range st.GetRows() {
		put(r.GetKey(), r.GetName(), r.GetFigures())
	}
	put("合计", "", st.GetTotal())
	figures.ColumnWidth(2, 2, 24)

	// Sheet 2: the case ledger.
	ledger := wb.AddSheet("办件台账")
	ledgerHeader := []string{"办件编号", "事项", "申请人", "身份证号", "申请时间", "受理时间", "承诺期限", "状态", "当前所在", "超期"}
	for i, h := range ledgerHeader {
		ledger.Set(i+1, 1, h)
	}
	ledger.Style(1, len(ledgerHeader), 1, xlsx.Bold)
	row, token := 2, ""
	for row-2 < maxLedgerRows {
		if err := ctx.Err(); err != nil {
			return nil, toStatus(err) // the caller is gone: the rest is not built
		}
		cases, next, err := book.List(casebook.ListQuery{Office: st.GetOfficeCode(), Subtree: subtreeLedger, FiledFrom: from, FiledTo: end, PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, toStatus(err)
		}
		for _, c := range cases {
			if ownOnly && c.GetOwnerOffice() != st.GetOfficeCode() && c.GetOriginOffice() != st.GetOfficeCode() {
				continue
			}
			// The book keeps no clocks: they are of now, from the log.
			d := casework.Clocks(c, book.Events(c.GetNumber()), reg, now)
			overdue := ""
			if d.GetOverdue() {
				overdue = "是"
			}
			vals := []any{c.GetNumber(), c.GetItemName(), c.GetApplicant().GetName(), casework.MaskIDNumber(c.GetApplicant().GetIdNumber()),
				stamp(c.GetFiledAt().AsTime()), stampOf(d.GetAcceptedAt()), stampOf(d.GetPromisedDue()), reason.StateName(c.GetState().String()), c.GetOwnerOffice(), overdue}
			for i, v := range vals {
				ledger.Set(i+1, row, v)
			}
			row++
		}
		if next == "" {
			break
		}
		token = next
	}
	ledger.ColumnWidth(1, 2, 28)

	// Sheet 3: the cards.
	cardsSheet := wb.AddSheet("红黄牌")
	cardsHeader := []string{"办件编号", "颜色", "规则", "责任单位", "部门", "责任人", "时间", "情况", "撤销"}
	for i, h := range cardsHeader {
		cardsSheet.Set(i+1, 1, h)
	}
	cardsSheet.Style(1, len(cardsHeader), 1, xlsx.Bold)
	row, token = 2, ""
	for row-2 < maxLedgerRows {
		if err := ctx.Err(); err != nil {
			return nil, toStatus(err)
		}
		cards, next, err := book.Cards(casebook.CardQuery{Office: st.GetOfficeCode(), Subtree: subtree && !ownOnly, From: from, To: end, PageSize: 1000, PageToken: token})
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
				cardsSheet.Set(i+1, row, v)
			}
			row++
		}
		if next == "" {
			break
		}
		token = next
	}
	// Below the county, the cards only the county's book lists
	// (supervision.CountyRecordRules) are counted in 统计 and not here.
	if !s.n.office.IsCounty() {
		if note := supervision.CountyCardsNote(st.GetTotal()); note != "" {
			cardsSheet.Set(1, row+1, note)
		}
	}
	data, err := wb.Bytes()
	if err != nil {
		return nil, toStatus(err)
	}
	return &httpbody.HttpBody{ContentType: xlsxType, Data: data}, nil
}

func stamp(t time.Time) string { return t.In(registry.CST).Format("2006-01-02 15:04") }

// stampOf is stamp of ts, "" when ts is unset.
func stampOf(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return stamp(ts.AsTime())
}
