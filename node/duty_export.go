package node

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/node/internal/xlsx"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// The unsigned reports' list and the export of the reports for the
// county's upper office (上级值班部门), which has a system of its own:
// an Excel workbook to read and file, or the signed records as JSON to
// take in.

// maxExportDays bounds an export's period.
const maxExportDays = 366

func (s *dutyService) ListUnsignedReports(ctx context.Context, req *yizhanv1.ListUnsignedReportsRequest) (*yizhanv1.ListUnsignedReportsResponse, error) {
	scope, err := s.readScope(ctx, req.GetOfficeCode())
	if err != nil {
		return nil, err
	}
	flags, err := s.n.office.Cases().UnsignedFlags(scope)
	if err != nil {
		return nil, toStatus(err)
	}
	return &yizhanv1.ListUnsignedReportsResponse{Flags: flags}, nil
}

// ExportReports exports the matters with a report signed in the period
// (at the office and below it: the first report, or a follow-up or final
// report of a matter begun before), each with its first report,
// follow-ups, final report and acknowledgements as held here, and the
// reports still unsigned past their deadline.
func (s *dutyService) ExportReports(ctx context.Context, req *yizhanv1.ExportReportsRequest) (*httpbody.HttpBody, error) {
	scope, err := s.readScope(ctx, req.GetOfficeCode())
	if err != nil {
		return nil, err
	}
	format := req.GetFormat()
	if format != "" && format != "xlsx" && format != "json" {
		return nil, fieldError("format", registry.ReasonOutOfRange, reason.Meta{"enum": "xlsx, json", "got": format}, "must be xlsx or json")
	}
	now := s.n.now().In(registry.CST)
	from, err := parseDay("from", req.GetFrom(), time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, registry.CST))
	if err != nil {
		return nil, err
	}
	to, err := parseDay("to", req.GetTo(), time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, registry.CST))
	if err != nil {
		return nil, err
	}
	if to.Before(from) || to.Sub(from) >= maxExportDays*24*time.Hour {
		return nil, fieldError("to", registry.ReasonOutOfRange, reason.Meta{"max": reason.Itoa(maxExportDays)},
			fmt.Sprintf("from the first day, at most %d days on", maxExportDays))
	}
	release, err := s.n.exportSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	book := s.n.office.Cases()
	firsts, err := book.MattersReported(scope, from, to.AddDate(0, 0, 1))
	if err != nil {
		return nil, toStatus(err)
	}
	var matters [][]*yizhanv1.HeldReport
	for _, h := range firsts {
		m, _, err := book.Reports(casebook.ReportQuery{FirstID: h.GetReport().GetId(), State: yizhanv1.ReportState_REPORT_STATE_SIGNED})
		if err != nil {
			return nil, toStatus(err)
		}
		matters = append(matters, m)
	}
	unsigned, err := book.UnsignedFlags(scope)
	if err != nil {
		return nil, toStatus(err)
	}
	x := &yizhanv1.ReportExport{OfficeCode: scope, From: from.Format("2006-01-02"), To: to.Format("2006-01-02"),
		ExportedAt: timestamppb.New(s.n.now()), Unsigned: unsigned}
	for _, m := range matters {
		for _, h := range m {
			x.Reports = append(x.Reports, h.GetReport())
			x.Acks = append(x.Acks, h.GetAcks()...)
		}
	}
	if format == "json" {
		if x.Signature, x.SignerChain, err = s.n.office.SignRecord(duty.Hash(x)); err != nil {
			return nil, toStatus(err)
		}
		b, err := protojson.MarshalOptions{Multiline: true, EmitUnpopulated: false}.Marshal(x)
		if err != nil {
			return nil, toStatus(err)
		}
		return &httpbody.HttpBody{ContentType: "application/json", Data: b}, nil
	}
	b, err := s.reportsWorkbook(x, matters)
	if err != nil {
		return nil, toStatus(err)
	}
	return &httpbody.HttpBody{ContentType: xlsxType, Data: b}, nil
}

// reportsWorkbook writes the export as a workbook: the reports, matter by
// matter (紧急信息报告), the acknowledgements (签收), the reports still
// unsigned (逾时未审签).
func (s *dutyService) reportsWorkbook(x *yizhanv1.ReportExport, matters [][]*yizhanv1.HeldReport) ([]byte, error) {
	wb := xlsx.New()
	header := func(sheet *xlsx.Sheet, row int, names ...string) {
		for i, h := range names {
			sheet.Set(i+1, row, h)
		}
		sheet.Style(1, len(names), row, xlsx.Bold)
	}
	office := s.officeName(x.GetOfficeCode())

	reports := wb.AddSheet("紧急信息报告")
	reports.Set(1, 1, fmt.Sprintf("%s 紧急重大情况报告 %s 至 %s（期内签发或收到报告的事项）", office, x.GetFrom(), x.GetTo()))
	reports.Style(1, 1, 1, xlsx.Bold)
	header(reports, 3, "报告编号", "首报编号", "报告单位", "类型", "类别", "等级", "标题", "地点", "事发时间", "获知时间", "死亡", "受伤", "失踪",
		"财产损失", "已采取措施", "基本情况", "报告人", "联系电话", "签发人", "签发时间", "报送时限", "迟报", "签收单位")
	row := 4
	for _, m := range matters {
		for _, h := range m {
			r := h.GetReport()
			late, due := "", ""
			if d := duty.Due(r); !d.IsZero() {
				due = stamp(d)
				if duty.Late(r, r.GetSignedAt().AsTime()) {
					late = "是"
				}
			}
			acked := ""
			for i, a := range h.GetAcks() {
				if i > 0 {
					acked += "、"
				}
				acked += s.officeName(a.GetOfficeCode()) + " " + stampOf(a.GetAt())
			}
			vals := []any{r.GetId(), r.GetFirstId(), s.officeName(r.GetOfficeCode()), duty.KindName(r), duty.CategoryName(r.GetCategory()),
				duty.LevelName(r.GetLevel()), r.GetTitle(), r.GetPlace(), stampOf(r.GetOccurredAt()), stampOf(r.GetKnownAt()),
				r.GetDeaths(), r.GetInjured(), r.GetMissing(), r.GetLosses(), r.GetMeasures(), r.GetDetails(),
				r.GetReporterName(), r.GetContact(), r.GetSignedByName(), stampOf(r.GetSignedAt()), due, late, acked}
			for i, v := range vals {
				reports.Set(i+1, row, v)
			}
			row++
		}
	}
	reports.ColumnWidth(1, 2, 30) // A, B: the reports' numbers
	reports.ColumnWidth(7, 7, 30) // G: the title

	acks := wb.AddSheet("签收")
	header(acks, 1, "报告编号", "签收单位", "签收人", "签收时间", "要求续报的内容", "续报间隔（分钟）")
	row = 2
	for _, a := range x.GetAcks() {
		vals := []any{a.GetReportId(), s.officeName(a.GetOfficeCode()), a.GetByName(), stampOf(a.GetAt()), a.GetRequest(), a.GetFollowUpMinutes()}
		for i, v := range vals {
			acks.Set(i+1, row, v)
		}
		row++
	}

	unsigned := wb.AddSheet("逾时未审签")
	header(unsigned, 1, "报告编号", "报告单位", "类别", "等级", "标题", "事发时间", "报送时限", "发现时间", "报告人", "联系电话")
	row = 2
	for _, u := range x.GetUnsigned() {
		vals := []any{u.GetReportId(), s.officeName(u.GetOfficeCode()), duty.CategoryName(u.GetCategory()), duty.LevelName(u.GetLevel()),
			u.GetTitle(), stampOf(u.GetOccurredAt()), stampOf(u.GetDue()), stampOf(u.GetFlaggedAt()), u.GetReporterName(), u.GetContact()}
		for i, v := range vals {
			unsigned.Set(i+1, row, v)
		}
		row++
	}
	return wb.Bytes()
}

// officeName is an office's name with its code, or the code alone.
func (s *dutyService) officeName(code string) string {
	if o, err := s.n.office.Registry().Office(code); err == nil {
		return o.GetName() + "（" + code + "）"
	}
	return code
}
