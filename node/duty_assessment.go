package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// The zero report (零报告) and the duty assessment (值班考核). Both are read
// from this node's book, which holds the records of the offices below it:
// its counters per office and day (shifts, flags, reports signed, late
// and unsigned reports), the zero reports by day, and the matters whose
// first report was signed in the period (missing follow-ups depend on
// the time of reading).

// maxAssessmentDays bounds an assessment's period: a year (its zero
// reports are read in one walk: under a second for 300 offices,
// docs/BENCHMARKS.md).
const maxAssessmentDays = 366

func (s *dutyService) SendZeroReport(ctx context.Context, req *yizhanv1.SendZeroReportRequest) (*yizhanv1.ZeroReport, error) {
	p, err := s.dutyStaff(ctx, "sending the zero report", false)
	if err != nil {
		return nil, err
	}
	if err := checkText("note", req.GetNote(), false); err != nil {
		return nil, err
	}
	r, err := clientRequest(ctx, "SendZeroReport", req)
	if err != nil {
		return nil, err
	}
	return atLeader(ctx, s.n, yizhanv1.NewDutyServiceClient, func() (*yizhanv1.ZeroReport, error) {
		// A retry answers as the first did, though the shift it was sent
		// on has ended since.
		if v, ok, err := answeredBefore[*yizhanv1.ZeroReport](ctx, s.n, r); err != nil || ok {
			return v, err
		}
		if err := s.rostered(p, false); err != nil {
			return nil, err
		}
		now := s.n.now().In(registry.CST)
		if id := s.n.office.Cases().ReportInHand(s.n.office.Code(), now.Format("20060102")); id != "" {
			return nil, reason.Status(reason.ReportInHand, fmt.Sprintf("no zero report today: first report %s, written or signed today, says something happened (the book would refuse it too)", id),
				reason.Meta{"id": id}, 0).Err()
		}
		z := &yizhanv1.ZeroReport{Id: duty.ZeroReportID(s.n.office.Code(), now.Format("20060102")), OfficeCode: s.n.office.Code(),
			Day: now.Format("2006-01-02"), By: p.Username, ByName: p.Name, At: timestamppb.New(now), Note: strings.TrimSpace(req.GetNote())}
		v, replayed, err := s.n.svc.PutZeroReport(ctx, r, z)
		return v, replayedAnswer(ctx, replayed, err)
	}, func(ctx context.Context, cl yizhanv1.DutyServiceClient) (*yizhanv1.ZeroReport, error) {
		return cl.SendZeroReport(ctx, req)
	})
}

// officesUnder are the offices of the registry at scope or below it, by code.
func (s *dutyService) officesUnder(scope string) []*yizhanv1.Office {
	var out []*yizhanv1.Office
	for _, o := range s.n.office.Registry().Offices(0, "") {
		if registry.IsAncestorOrSelf(scope, o.GetCode()) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *yizhanv1.Office) int { return strings.Compare(a.GetCode(), b.GetCode()) })
	return out
}

// dutyCounters sums duty's counters of the offices at scope and below
// over the days from to to (both included), by office, and by day too
// with byDay ("<office>/<YYYYMMDD>").
func (s *dutyService) dutyCounters(scope string, from, to time.Time, byDay bool) (map[string]supervision.Counters, error) {
	q := casebook.RangeQuery{From: from, To: to, Office: scope, Subtree: true, ByDay: byDay}
	return s.n.office.Cases().SumStats(q, func(st casebook.Stat) string {
		switch {
		case !duty.IsCounter(st.Outcome):
			return ""
		case byDay:
			return st.Office + "/" + strings.TrimPrefix(st.Period, string(rune(casebook.Day)))
		}
		return st.Office
	})
}

func (s *dutyService) ListZeroReports(ctx context.Context, req *yizhanv1.ListZeroReportsRequest) (*yizhanv1.ListZeroReportsResponse, error) {
	scope, err := s.readScope(ctx, req.GetOfficeCode())
	if err != nil {
		return nil, err
	}
	now := s.n.now().In(registry.CST)
	d, err := parseDay("day", req.GetDay(), time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, registry.CST))
	if err != nil {
		return nil, err
	}
	day, due := d.Format("20060102"), duty.ZeroReportDue(d, s.n.office.Registry().DutyPolicy())
	zs, err := s.n.office.Cases().ZeroReports(day)
	if err != nil {
		return nil, toStatus(err)
	}
	counted, err := s.dutyCounters(scope, d, d, false)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &yizhanv1.ListZeroReportsResponse{Day: d.Format("2006-01-02"), Due: timestamppb.New(due)}
	for _, o := range s.officesUnder(scope) {
		st := &yizhanv1.ZeroReportStatus{OfficeCode: o.GetCode(), OfficeName: o.GetName(), ZeroReport: zs[o.GetCode()],
			Reports: uint32(counted[o.GetCode()][duty.CountReportsSigned])}
		st.Late = st.ZeroReport != nil && st.ZeroReport.GetAt().AsTime().After(due)
		st.Missing = st.ZeroReport == nil && st.Reports == 0 && now.After(due)
		resp.Offices = append(resp.Offices, st)
	}
	return resp, nil
}

func (s *dutyService) GetAssessment(ctx context.Context, req *yizhanv1.GetAssessmentRequest) (*yizhanv1.Assessment, error) {
	scope, err := s.readScope(ctx, req.GetOfficeCode())
	if err != nil {
		return nil, err
	}
	now := s.n.now().In(registry.CST)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, registry.CST)
	from, err := parseDay("from", req.GetFrom(), time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, registry.CST))
	if err != nil {
		return nil, err
	}
	to, err := parseDay("to", req.GetTo(), today)
	if err != nil {
		return nil, err
	}
	if to.Before(from) || to.Sub(from) >= maxAssessmentDays*24*time.Hour {
		return nil, fieldError("to", registry.ReasonOutOfRange, reason.Meta{"max": reason.Itoa(maxAssessmentDays)},
			fmt.Sprintf("from the first day, at most %d days on", maxAssessmentDays))
	}
	end := to.AddDate(0, 0, 1)
	until := end
	if now.Before(until) {
		until = now
	}
	book := s.n.office.Cases()
	offices := s.officesUnder(scope)
	rows := map[string]*yizhanv1.OfficeAssessment{}
	out := &yizhanv1.Assessment{From: from.Format("2006-01-02"), To: to.Format("2006-01-02")}
	for _, o := range offices {
		rows[o.GetCode()] = &yizhanv1.OfficeAssessment{OfficeCode: o.GetCode(), OfficeName: o.GetName()}
		out.Offices = append(out.Offices, rows[o.GetCode()])
	}
	// The counters the book keeps per office and day.
	counted, err := s.dutyCounters(scope, from, to, false)
	if err != nil {
		return nil, toStatus(err)
	}
	for code, c := range counted {
		row := rows[code]
		if row == nil {
			continue
		}
		row.FirstReports = uint32(c[duty.CountFirstReports])
		row.LateReports = uint32(c[duty.CountLateReports])
		row.UnsignedReports = uint32(c[duty.CountUnsignedReports])
		row.Shifts = uint32(c[duty.CountShifts])
		row.EmptyShifts = uint32(c[duty.CountEmptyShifts])
		row.ShiftsNotHandedOver = uint32(c[duty.CountNotHandedOver])
	}
	// Missing follow-ups depend on the time of reading: counted from the
	// matters whose first report was signed in the period.
	firsts, err := book.FirstReportsSigned(scope, from, end)
	if err != nil {
		return nil, toStatus(err)
	}
	for _, h := range firsts {
		row := rows[h.GetReport().GetOfficeCode()]
		if row == nil {
			continue
		}
		matter, _, err := book.Reports(casebook.ReportQuery{FirstID: h.GetReport().GetId()})
		if err != nil {
			return nil, toStatus(err)
		}
		var following []*yizhanv1.UrgentReport
		for _, f := range matter {
			if f.GetReport().GetFirstId() == h.GetReport().GetId() {
				following = append(following, f.GetReport())
			}
		}
		row.MissingFollowUps += uint32(duty.MissingFollowUps(h.GetAcks(), following, until))
	}
	// The zero reports, day by day, where the day's hour has passed.
	signed, err := s.dutyCounters(scope, from, to, true)
	if err != nil {
		return nil, toStatus(err)
	}
	year, err := book.ZeroReportsBetween(from.Format("20060102"), to.Format("20060102"))
	if err != nil {
		return nil, toStatus(err)
	}
	for d := from; d.Before(end) && d.Before(now); d = d.AddDate(0, 0, 1) {
		day, due := d.Format("20060102"), duty.ZeroReportDue(d, s.n.office.Registry().DutyPolicy())
		if now.Before(due) {
			break // today's hour has not come
		}
		zs := year[day]
		for code, row := range rows {
			z := zs[code]
			switch {
			case z == nil && signed[code+"/"+day][duty.CountReportsSigned] == 0:
				row.ZeroReportsMissing++
			case z != nil && z.GetAt().AsTime().After(due):
				row.ZeroReportsLate++
			}
		}
	}
	return out, nil
}
