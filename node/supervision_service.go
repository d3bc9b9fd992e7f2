package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// supervisionService serves electronic supervision's reads: the figures
// (GET /v1/statistics) and the cards (GET /v1/cards), from this node's
// case book, which holds the office's cases and the mirrors of every
// office below it.
type supervisionService struct {
	yizhanv1.UnsafeSupervisionServiceServer
	n     *Node
	cases *caseService // the citizen's query-code checks
	// countyMissedAt is when the figures last left the county's records
	// out and said so in the log (unix ns): once a minute, not each
	// page view, while the link is down.
	countyMissedAt atomic.Int64
}

// maxStatisticsDays bounds a figures request's range, and
// maxStatisticsDaysByDay a range grouped by day (a group a day: a year's).
const (
	maxStatisticsDays      = 3660
	maxStatisticsDaysByDay = 366
)

// scope checks who may read the supervision records of office (default:
// the caller's): staff their own office's; admins and supervisors those
// of the offices below theirs too; and the office must be this node's or
// below it (its book holds them). subtree is whether the caller may read
// the records of the offices below the one named (an admin's or a
// supervisor's list of their office takes in those below; a clerk's holds
// their office's own).
func (s *supervisionService) scope(ctx context.Context, office string) (_ string, subtree bool, _ error) {
	p, err := s.n.authn.FromContext(ctx)
	if err != nil {
		return "", false, toStatus(err)
	}
	if office == "" {
		office = p.Office
	}
	if registry.ValidCode(office) != nil {
		return "", false, fieldError("office_code", registry.ReasonInvalidFormat, reason.Meta{"format": "DIVISION_CODE"}, "must be a 12-digit division code")
	}
	overseer := p.Has(yizhanv1.Role_ROLE_ADMIN) || p.Has(yizhanv1.Role_ROLE_SUPERVISOR)
	if office != p.Office && !(overseer && registry.IsAncestorOrSelf(p.Office, office)) {
		return "", false, toStatus(fmt.Errorf("%w: %s may read the supervision records of office %s only", auth.ErrPermissionDenied, p.Username, p.Office))
	}
	if !registry.IsAncestorOrSelf(s.n.office.Code(), office) {
		return "", false, fieldError("office_code", reason.WrongOffice, reason.Meta{"office": s.n.office.Code(), "want": office},
			fmt.Sprintf("office %s is not held here: ask at a node of that office or of an office above it", office))
	}
	return office, overseer, nil
}

// noItem is the row of counters that name no item (and so no
// department): consultations on general questions.
const (
	noItem     = "-"
	noItemName = "未指定事项"
)

func orNoItem(code string) string {
	if code == "" {
		return noItem
	}
	return code
}

// parseDay reads a YYYY-MM-DD day (China Standard Time); def when empty.
func parseDay(field, v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	t, err := time.ParseInLocation("2006-01-02", v, registry.CST)
	if err != nil {
		return time.Time{}, fieldError(field, registry.ReasonInvalidFormat, reason.Meta{"format": "YYYY-MM-DD"}, "must be a day written YYYY-MM-DD")
	}
	return t, nil
}

func (s *supervisionService) GetStatistics(ctx context.Context, req *yizhanv1.GetStatisticsRequest) (*yizhanv1.Statistics, error) {
	// The figures are counts: an office's take in its subtree's, whoever
	// reads them (docs/SUPERVISION.md).
	office, _, err := s.scope(ctx, req.GetOfficeCode())
	if err != nil {
		return nil, err
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
	if to.Before(from) {
		return nil, fieldError("to", registry.ReasonOutOfRange, reason.Meta{"min": from.Format("2006-01-02")}, "must not be before from")
	}
	if days := int(to.Sub(from).Hours()/24) + 1; days > maxStatisticsDays {
		return nil, fieldError("to", registry.ReasonOutOfRange, reason.Meta{"max": reason.Itoa(maxStatisticsDays), "got": reason.Itoa(days)},
			fmt.Sprintf("a range of at most %d days", maxStatisticsDays))
	}
	g := req.GetGroupBy()
	if err := knownEnum("group_by", g); err != nil {
		return nil, err
	}
	if days := int(to.Sub(from).Hours()/24) + 1; g == yizhanv1.Grouping_GROUPING_DAY && days > maxStatisticsDaysByDay {
		return nil, fieldError("to", registry.ReasonOutOfRange, reason.Meta{"max": reason.Itoa(maxStatisticsDaysByDay), "got": reason.Itoa(days)},
			fmt.Sprintf("a range of at most %d days grouped by day", maxStatisticsDaysByDay))
	}
	book := s.n.office.Cases()
	applied := book.Applied()
	groupOf := map[yizhanv1.Grouping]func(casebook.Stat) string{
		yizhanv1.Grouping_GROUPING_UNSPECIFIED: func(casebook.Stat) string { return "*" },
		yizhanv1.Grouping_GROUPING_DEPARTMENT:  func(st casebook.Stat) string { return orNoItem(st.Department) },
		yizhanv1.Grouping_GROUPING_OFFICE:      func(st casebook.Stat) string { return st.Office },
		yizhanv1.Grouping_GROUPING_ITEM:        func(st casebook.Stat) string { return orNoItem(st.ItemCode) },
		yizhanv1.Grouping_GROUPING_TOWNSHIP:    func(st casebook.Stat) string { return casebook.TownshipOf(st.Office) },
		yizhanv1.Grouping_GROUPING_DAY:         func(st casebook.Stat) string { return st.Period },
	}[g]
	q := casebook.RangeQuery{From: from, To: to, Office: office, Subtree: !req.GetOfficeOnly(), ByDay: g == yizhanv1.Grouping_GROUPING_DAY}
	groups, err := book.SumStats(q, func(st casebook.Stat) string {
		if duty.IsCounter(st.Outcome) {
			return "" // the duty assessment's, not the service's figures
		}
		return groupOf(st)
	})
	if err != nil {
		return nil, toStatus(err)
	}
	// The county's records: counted in the county's book alone.
	resolved := &yizhanv1.GetStatisticsRequest{OfficeCode: office, From: from.Format("2006-01-02"), To: to.Format("2006-01-02"),
		GroupBy: g, OfficeOnly: req.GetOfficeOnly()}
	missing := !s.addCountyRecords(ctx, resolved, groups)
	// The daily series that counts what the total counts.
	tier, _ := registry.TierOf(office)
	totalScope := casebook.DailyOffice(office)
	switch {
	case req.GetOfficeOnly():
	case tier == yizhanv1.Tier_TIER_COUNTY:
		totalScope = casebook.DailyAll()
	case tier == yizhanv1.Tier_TIER_TOWNSHIP:
		totalScope = casebook.DailyTownship(office)
	}
	daily := func(scope string) ([]supervision.Day, error) { return book.Daily(scope, from, to) }
	totalDays, err := daily(totalScope)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &yizhanv1.Statistics{OfficeCode: office, From: from.Format("2006-01-02"), To: to.Format("2006-01-02"), GroupBy: g, AppliedIndex: applied,
		CountyRecordsMissing: missing, CountyRecordsIncluded: !missing}
	total := supervision.Counters{}
	keys := make([]string, 0, len(groups))
	for k, c := range groups {
		total.Add(c)
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out.Total = supervision.Compute(total, totalDays)
	if g == yizhanv1.Grouping_GROUPING_UNSPECIFIED {
		return out, nil
	}
	reg := s.n.office.Registry()
	for _, k := range keys {
		row := &yizhanv1.StatisticsRow{Key: k}
		var days []supervision.Day
		switch g {
		case yizhanv1.Grouping_GROUPING_DEPARTMENT:
			if k == noItem {
				row.Name = noItemName
			} else if d, err := reg.Department(k); err == nil {
				row.Name = d.GetName()
			}
			if totalScope == casebook.DailyAll() {
				days, err = daily(casebook.DailyDept(k))
			}
		case yizhanv1.Grouping_GROUPING_OFFICE, yizhanv1.Grouping_GROUPING_TOWNSHIP:
			if o, err := reg.Office(k); err == nil {
				row.Name = o.GetName()
			}
			switch t, _ := registry.TierOf(office); {
			case g == yizhanv1.Grouping_GROUPING_OFFICE:
				days, err = daily(casebook.DailyOffice(k))
			case req.GetOfficeOnly() || t == yizhanv1.Tier_TIER_VILLAGE:
				// The office's own days: its row counts it alone (a
				// village's township row, the office's own figures).
				days, err = daily(casebook.DailyOffice(office))
			default:
				days, err = daily(casebook.DailyTownship(k))
			}
		case yizhanv1.Grouping_GROUPING_ITEM:
			if k == noItem {
				row.Name = noItemName
			} else if it, err := reg.Item(k, 0); err == nil {
				row.Name = it.GetName()
			}
		case yizhanv1.Grouping_GROUPING_DAY:
			if d, perr := time.ParseInLocation("20060102", strings.TrimPrefix(k, "d"), registry.CST); perr == nil {
				row.Key = d.Format("2006-01-02")
				for _, td := range totalDays {
					if td.Date.Equal(d) {
						days = []supervision.Day{td}
					}
				}
			}
		}
		if err != nil {
			return nil, toStatus(err)
		}
		row.Figures = supervision.Compute(groups[k], days)
		out.Rows = append(out.Rows, row)
	}
	return out, nil
}

func (s *supervisionService) ListCards(ctx context.Context, req *yizhanv1.ListCardsRequest) (*yizhanv1.ListCardsResponse, error) {
	office, subtree, err := s.scope(ctx, req.GetOfficeCode())
	if err != nil {
		return nil, err
	}
	from, err := parseDay("from", req.GetFrom(), time.Time{})
	if err != nil {
		return nil, err
	}
	to, err := parseDay("to", req.GetTo(), time.Time{})
	if err != nil {
		return nil, err
	}
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1) // the last day included
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return nil, fieldError("to", registry.ReasonOutOfRange, reason.Meta{"min": from.Format("2006-01-02")}, "must not be before from")
	}
	if err := knownEnum("colour", req.GetColour()); err != nil {
		return nil, err
	}
	if _, ok := yizhanv1.CardRule_name[int32(req.GetRule())]; !ok {
		return nil, fieldError("rule", registry.ReasonOutOfRange, reason.Meta{"enum": "CardRule", "got": reason.Itoa(int32(req.GetRule()))}, "not a known rule")
	}
	size, err := pageSizeOf(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, value string }{{"department_code", req.GetDepartmentCode()}, {"case_number", req.GetCaseNumber()}} {
		if n := len([]rune(f.value)); n > registry.MaxCodeLen+32 {
			return nil, fieldError(f.name, registry.ReasonTooLong, reason.Meta{"max": reason.Itoa(registry.MaxCodeLen + 32), "got": reason.Itoa(n)}, "too long")
		}
	}
	pages := queryOf("ListCards", office, subtree, from, to, req.GetColour(), req.GetRule(), req.GetDepartmentCode(), req.GetCaseNumber())
	pos, err := pages.position(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	cards, next, err := s.n.office.Cases().Cards(casebook.CardQuery{Office: office, Subtree: subtree, From: from, To: to, Colour: req.GetColour(), Rule: req.GetRule(),
		Department: req.GetDepartmentCode(), CaseNumber: req.GetCaseNumber(), PageSize: size, PageToken: pos})
	if err != nil {
		return nil, listError(err)
	}
	return &yizhanv1.ListCardsResponse{Cards: cards, NextPageToken: pages.token(next)}, nil
}
