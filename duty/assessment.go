package duty

import (
	"slices"
	"strings"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// The zero report (零报告): every day, by the set hour, an office that had
// nothing to report says so; one that signed an urgent report that day
// owes none. And the duty assessment (值班考核): the faults of an office
// over a period, counted from the records.

const zeroPrefix = "LB-"

// ZeroReportHour is the set hour of the zero report, China Standard Time,
// unless the county chose another (DutyPolicy.zero_report_hour).
const ZeroReportHour = 16

// ZeroReportID is office's zero report of day (YYYYMMDD).
func ZeroReportID(office, day string) string { return zeroPrefix + office + "-" + day }

// IsZeroReportID reports whether s names a zero report.
func IsZeroReportID(s string) bool {
	return strings.HasPrefix(s, zeroPrefix) && strings.Count(s, "-") == 2
}

// ZeroReportParts splits a zero report's id into its office and day.
func ZeroReportParts(id string) (office, day string, ok bool) {
	if !IsZeroReportID(id) {
		return "", "", false
	}
	parts := strings.Split(id, "-")
	return parts[1], parts[2], true
}

// ZeroReportDue is the set hour of day d (any time of the day) under
// policy p.
func ZeroReportDue(d time.Time, p *yizhanv1.DutyPolicy) time.Time {
	hour := int(p.GetZeroReportHour())
	if hour == 0 {
		hour = ZeroReportHour
	}
	d = d.In(registry.CST)
	return time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, registry.CST)
}

// FollowUpInterval is the interval of follow-ups the acknowledgements ask
// for (the shortest asked; zero: none asked), and from when.
func FollowUpInterval(acks []*yizhanv1.ReportAck) (every time.Duration, from time.Time) {
	for _, a := range acks {
		if m := a.GetFollowUpMinutes(); m > 0 && (every == 0 || time.Duration(m)*time.Minute < every) {
			every, from = time.Duration(m)*time.Minute, a.GetAt().AsTime()
		}
	}
	return every, from
}

// NextFollowUp is when the next follow-up of a matter last reported at
// last is due: the later of the acknowledgement that asked for them and
// the last report, plus the interval asked; zero when none was asked.
// (A closed matter owes none: the caller knows.)
func NextFollowUp(acks []*yizhanv1.ReportAck, last time.Time) time.Time {
	every, from := FollowUpInterval(acks)
	if every == 0 {
		return time.Time{}
	}
	if last.After(from) {
		from = last
	}
	return from.Add(every)
}

// MissingFollowUps counts the follow-ups a matter owed and did not make
// by until: from the acknowledgement that asked for them, each interval
// that passed without a signed report of the matter is one missing,
// until its final report. Acknowledgements made later (by the offices
// further up) that ask for a shorter interval start it from their own
// time; what was missed before them stays missed, and one asking for a
// longer interval changes nothing.
func MissingFollowUps(acks []*yizhanv1.ReportAck, following []*yizhanv1.UrgentReport, until time.Time) int {
	type mark struct {
		at     time.Time
		every  time.Duration // > 0: the interval in force from at on
		report bool
	}
	var marks []mark
	sorted := slices.Clone(acks)
	slices.SortStableFunc(sorted, func(a, b *yizhanv1.ReportAck) int { return a.GetAt().AsTime().Compare(b.GetAt().AsTime()) })
	var every time.Duration
	for _, a := range sorted {
		if m := time.Duration(a.GetFollowUpMinutes()) * time.Minute; m > 0 && (every == 0 || m < every) {
			every = m
			marks = append(marks, mark{at: a.GetAt().AsTime(), every: m})
		}
	}
	if len(marks) == 0 || !until.After(marks[0].at) {
		return 0
	}
	end := until
	for _, r := range following {
		if r.GetState() != yizhanv1.ReportState_REPORT_STATE_SIGNED {
			continue
		}
		at := r.GetSignedAt().AsTime()
		if r.GetKind() == yizhanv1.ReportKind_REPORT_KIND_FINAL && at.Before(end) {
			end = at
		}
		if at.After(marks[0].at) {
			marks = append(marks, mark{at: at, report: true})
		}
	}
	// At the same time, a report before the request it answers.
	slices.SortStableFunc(marks, func(a, b mark) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		switch {
		case a.report && !b.report:
			return -1
		case b.report && !a.report:
			return 1
		}
		return 0
	})
	missing, from, every := 0, marks[0].at, marks[0].every
	for _, m := range marks[1:] {
		if m.at.After(end) {
			break
		}
		if m.report {
			missing += owed(m.at.Sub(from), every)
		} else {
			// A shorter interval asked: the longer one's follow-ups due
			// until then (at it too) were missed; the new one runs from it.
			missing += int(m.at.Sub(from) / every)
			every = m.every
		}
		from = m.at
	}
	if end.After(from) {
		missing += owed(end.Sub(from), every)
	}
	return missing
}

// owed is how many follow-ups a gap of g between two reports missed: one
// due at every interval strictly inside it (one made exactly on time
// closes the gap).
func owed(g, every time.Duration) int {
	if g <= 0 {
		return 0
	}
	return int((g - 1) / every)
}

// The duty assessment's counters, kept by every book per reporting
// office and day among the statistics (the day: a shift's start, a
// report's signing, an unsigned flag's deadline, China Standard Time).
const (
	CountShifts          = "duty_shifts"
	CountEmptyShifts     = "duty_empty_shifts"     // 空岗
	CountNotHandedOver   = "duty_not_handed_over"  // 未交接
	CountReportsSigned   = "duty_reports_signed"   // reports of any kind: that day owes no zero report
	CountFirstReports    = "duty_first_reports"    // 首报
	CountLateReports     = "duty_late_reports"     // 迟报: signed after the deadline
	CountUnsignedReports = "duty_unsigned_reports" // 逾时未审签, not held signed
)

// IsCounter reports whether outcome is one of duty's counters (not a
// figure of the service statistics).
func IsCounter(outcome string) bool { return strings.HasPrefix(outcome, "duty_") }

// Counters are the counters a shift, a signed report or an unsigned flag
// adds to, with the time that names the day.
func Counters(m any) (at time.Time, outcomes []string) {
	switch r := m.(type) {
	case *yizhanv1.DutyShift:
		outcomes = append(outcomes, CountShifts)
		if r.GetFlaggedEmpty() {
			outcomes = append(outcomes, CountEmptyShifts)
		}
		if r.GetFlaggedNotHandedOver() {
			outcomes = append(outcomes, CountNotHandedOver)
		}
		return r.GetStart().AsTime(), outcomes
	case *yizhanv1.UrgentReport:
		if r.GetState() != yizhanv1.ReportState_REPORT_STATE_SIGNED {
			return time.Time{}, nil
		}
		outcomes = append(outcomes, CountReportsSigned)
		if r.GetKind() == yizhanv1.ReportKind_REPORT_KIND_FIRST {
			outcomes = append(outcomes, CountFirstReports)
			if Late(r, r.GetSignedAt().AsTime()) {
				outcomes = append(outcomes, CountLateReports)
			}
		}
		return r.GetSignedAt().AsTime(), outcomes
	case *yizhanv1.UnsignedReportFlag:
		return r.GetDue().AsTime(), []string{CountUnsignedReports}
	}
	return time.Time{}, nil
}
