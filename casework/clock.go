package casework

import (
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// maxClockDays bounds the working days a deadline is computed over, so
// that a log carrying absurd limits cannot make Clocks walk the calendar
// for ever (about 15 years of working days).
const maxClockDays = 3650

// Clocks computes c's working-day clocks from its events (the time limits
// pinned by the filing) and the calendar, as they stand at now:
//
//   - the limits start at acceptance (the ACCEPTED event's time);
//     corrections happen before it, so the clock never ran during them;
//   - statutory_due is the end of the working day that is statutory_limit
//   - extension_days + paused_days working days after the acceptance day
//     (cal.AddWorkingDays); promised_due likewise with the promised limit
//     (an extension relaxes the promise too). An immediate item (即办,
//     limit 0) is due the day it is accepted. A limit that ran out while
//     its clock ran stays run out: an extension granted, or a suspension
//     begun, after its due time does not move it (neither catches a late
//     case up: the case stays overdue, also when suspended on the weekend
//     after its due day);
//   - extension_days adds up the EXTENDED events;
//   - paused_days are the working days spent SUSPENDED for a special
//     procedure that does not count inside the limit: the item version's
//     special procedures (cal.Item of the pinned version) say which count;
//     a procedure the registry does not know pauses the clock. A
//     suspension from day S to day R pauses WorkingDaysBetween(S, R) days,
//     at most the procedure's own limit_days (when it has one); one still
//     open pauses until now, within the same limit;
//   - suspension_over_limit: the case is suspended for longer than its
//     procedure's own limit (counted or not): someone must resume it;
//   - days left are working days from now to the due date (negative when
//     past it, at least -1 once the due time has passed); once the case is
//     decided, refused or withdrawn they are counted from that moment, so
//     they show how early or late it was;
//   - running: accepted, not yet decided, refused or withdrawn, and not
//     suspended for a procedure that stops the promised clock now (one
//     that counts inside the limit, or has run its own limit, does not);
//   - acceptance_due (§32: the filing's first answer within 5 working
//     days of its receipt, or of its materials handed in again after a
//     correction notice), delivery_due (§44: the decision delivered
//     within 10 working days), each overdue when met late or not yet met
//     past it; correction_due, when an open correction notice stops
//     waiting (the county's case policy): statutoryClocks;
//   - overdue: decided after promised_due, or accepted, not yet decided,
//     refused or withdrawn, and now after it, suspended or not (a
//     suspension that counts inside the limit does not move the due date,
//     one that does not moves it only up to its procedure's limit).
//
// Before acceptance only the extension and paused days are set.
func Clocks(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, cal Registry, now time.Time) *yizhanv1.Deadlines {
	d := &yizhanv1.Deadlines{}
	if len(events) == 0 || events[0].GetFiling() == nil {
		return d
	}
	f := events[0].GetFiling()
	statutoryClocks(d, c, events, cal, now)

	var item *yizhanv1.Item
	itemLooked := false
	procedure := func(name string) *yizhanv1.SpecialProcedure {
		if !itemLooked {
			itemLooked = true
			item, _ = itemView(cal, f.GetItemCode(), f.GetItemVersion())
		}
		i := slices.IndexFunc(item.GetSpecialProcedures(), func(sp *yizhanv1.SpecialProcedure) bool { return sp.GetName() == name })
		if i < 0 {
			return nil
		}
		return item.GetSpecialProcedures()[i]
	}

	var (
		acceptedAt, decidedAt, withdrawnAt, stoppedAt, pausedAt time.Time
		accepted, pausing                                       bool
		paused, extension                                       int // as the log has them
		pauseLimit                                              int // the procedure's own limit (0: none)
		// Each limit's clock: the days that move its due time, and
		// whether it ran out while the clock ran (late: a pause or an
		// extension that comes after does not move it, so neither
		// catches a late case up).
		promised, statutory clock
	)
	promised.limit, statutory.limit = int(f.GetPromisedLimitDays()), int(f.GetStatutoryLimitDays())
	// markLate marks each limit whose due time had passed at at, its
	// clock running (accepted, not paused).
	markLate := func(at time.Time) {
		for _, k := range []*clock{&promised, &statutory} {
			if !k.late && at.After(k.due(cal, acceptedAt)) {
				k.late = true
			}
		}
	}
	pause := func(until time.Time) {
		if n := cal.WorkingDaysBetween(pausedAt, until); n > 0 {
			if pauseLimit > 0 {
				n = min(n, pauseLimit)
			}
			paused += n
			for _, k := range []*clock{&promised, &statutory} {
				if k.pausing {
					k.moved += n
				}
			}
		}
		pausing, promised.pausing, statutory.pausing = false, false, false
	}
	for _, e := range events[1:] {
		at := eventTime(e)
		if !stoppedAt.IsZero() {
			break
		}
		switch e.GetType() {
		case yizhanv1.EventType_EVENT_TYPE_ACCEPTED:
			acceptedAt, accepted = at, true
		case yizhanv1.EventType_EVENT_TYPE_SUSPENDED:
			sp := procedure(e.GetSpecialProcedure())
			if accepted && !pausing && !sp.GetCountsInLimit() {
				markLate(at)
				pausedAt, pausing, pauseLimit = at, true, int(sp.GetLimitDays())
				promised.pausing, statutory.pausing = !promised.late, !statutory.late
			}
		case yizhanv1.EventType_EVENT_TYPE_RESUMED:
			if pausing {
				pause(at)
			}
		case yizhanv1.EventType_EVENT_TYPE_EXTENDED:
			if n := int(e.GetExtensionDays()); n > 0 {
				if accepted && !pausing {
					markLate(at)
				}
				extension = min(extension+n, maxClockDays)
				for _, k := range []*clock{&promised, &statutory} {
					if !k.late {
						k.moved = min(k.moved+n, maxClockDays)
					}
				}
			}
		case yizhanv1.EventType_EVENT_TYPE_DECIDED:
			decidedAt, stoppedAt = at, at
		case yizhanv1.EventType_EVENT_TYPE_WITHDRAWN:
			withdrawnAt, stoppedAt = at, at
		case yizhanv1.EventType_EVENT_TYPE_REFUSED:
			stoppedAt = at
		}
	}
	end := now
	if !stoppedAt.IsZero() {
		end = stoppedAt
	}
	// The promised clock is stopped now: a pause open, within its
	// procedure's own limit, begun before the case was late.
	promisedStopped := promised.pausing && (pauseLimit <= 0 || cal.WorkingDaysBetween(pausedAt, end) < pauseLimit)
	if pausing {
		pause(end)
	}
	if c.GetSuspended() && stoppedAt.IsZero() {
		if s, ok := LastSuspension(events, cal); ok && s.Ended.IsZero() && s.Over(end) {
			d.SuspensionOverLimit = true
		}
	}
	paused = min(paused, maxClockDays)
	d.PausedDays = int32(paused)
	d.ExtensionDays = int32(extension)
	if !accepted {
		return d
	}
	statutoryDue, promisedDue := statutory.due(cal, acceptedAt), promised.due(cal, acceptedAt)
	d.AcceptedAt = timestamppb.New(acceptedAt)
	d.StatutoryDue = timestamppb.New(statutoryDue)
	d.PromisedDue = timestamppb.New(promisedDue)
	d.StatutoryDaysLeft = daysLeft(cal, end, statutoryDue)
	d.PromisedDaysLeft = daysLeft(cal, end, promisedDue)
	s := c.GetState()
	open := (s == stAccepted || s == stReviewed) && stoppedAt.IsZero()
	d.Running = open && !(c.GetSuspended() && promisedStopped)
	// Late: decided after the due time, undecided past it, or withdrawn
	// past it (the withdrawal ends the clock, not the lateness before it).
	d.Overdue = (!decidedAt.IsZero() && decidedAt.After(promisedDue)) || (open && now.After(promisedDue)) ||
		(decidedAt.IsZero() && !withdrawnAt.IsZero() && withdrawnAt.After(promisedDue))
	return d
}

// clock is one time limit of a case (Clocks): its days, the working days
// that moved its due time (extensions and pauses while it was not late),
// and whether it ran out while it ran.
type clock struct {
	limit, moved int
	late         bool
	pausing      bool // the open pause moves it
}

// due is the end of the working day limit + moved working days after the
// acceptance.
func (k *clock) due(cal Registry, acceptedAt time.Time) time.Time {
	return cal.AddWorkingDays(acceptedAt, min(max(k.limit, 0)+k.moved, maxClockDays))
}

// OverdueFrom is when an open case (accepted or reviewed, not decided)
// falls overdue if nothing more happens to it, as Clocks would say then;
// false when it is not open. A running clock's is its promised due time.
// A suspended case's is its promised due time now if it is overdue
// already (a pause moves the due time by the days it lasts, so it never
// catches a late case up), else the due time once the pause has run to
// its procedure's limit (a procedure that counts inside the limit does
// not move it; one without a limit moves it up to the clock's bound,
// years ahead). The case book orders the queue by it, so that a case
// suspended past its time limit is listed and carded as overdue.
func OverdueFrom(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, cal Registry, at time.Time) (time.Time, bool) {
	if s := c.GetState(); s != stAccepted && s != stReviewed {
		return time.Time{}, false
	}
	d := Clocks(c, events, cal, at)
	if d.GetPromisedDue() == nil {
		return time.Time{}, false
	}
	if !c.GetSuspended() || d.GetOverdue() {
		return d.GetPromisedDue().AsTime(), true
	}
	// Far enough ahead that any pause has reached its limit.
	later := Clocks(c, events, cal, cal.AddWorkingDays(at, maxClockDays))
	return later.GetPromisedDue().AsTime(), true
}

// Suspension is a case's last suspension (中止) for a special procedure:
// which, its own limit in working days (0: none), when it began, when
// it passes that limit (the end of the limit's last working day) and
// when it ended (zero while it is open).
type Suspension struct {
	Procedure        string
	LimitDays        int
	From, Due, Ended time.Time
}

// Over reports whether the suspension ran past its procedure's limit by
// at: open after Due, or ended after it.
func (s Suspension) Over(at time.Time) bool {
	if s.LimitDays <= 0 {
		return false
	}
	end := s.Ended
	if end.IsZero() {
		end = at
	}
	return end.After(s.Due)
}

// LastSuspension is the last suspension of a case before it was decided,
// refused or withdrawn, as Clocks reads it (the procedure's limit from the
// item version the filing pinned); false when there was none. Clocks'
// suspension_over_limit is an open one's Over(now); the supervision card
// for a suspension left past its limit uses it too.
func LastSuspension(events []*yizhanv1.CaseEvent, cal Registry) (Suspension, bool) {
	if len(events) == 0 || events[0].GetFiling() == nil {
		return Suspension{}, false
	}
	var (
		s  Suspension
		ok bool
	)
	for _, e := range events[1:] {
		switch e.GetType() {
		case yizhanv1.EventType_EVENT_TYPE_SUSPENDED:
			s, ok = Suspension{Procedure: e.GetSpecialProcedure(), From: eventTime(e)}, true
		case yizhanv1.EventType_EVENT_TYPE_RESUMED:
			if ok && s.Ended.IsZero() {
				s.Ended = eventTime(e)
			}
		case yizhanv1.EventType_EVENT_TYPE_DECIDED, yizhanv1.EventType_EVENT_TYPE_REFUSED, yizhanv1.EventType_EVENT_TYPE_WITHDRAWN:
			if ok && s.Ended.IsZero() {
				s.Ended = eventTime(e)
			}
			return s.limited(events[0].GetFiling(), cal), ok
		}
	}
	return s.limited(events[0].GetFiling(), cal), ok
}

// limited sets the procedure's limit and the time it is reached.
func (s Suspension) limited(f *yizhanv1.CaseFiling, cal Registry) Suspension {
	item, _ := itemView(cal, f.GetItemCode(), f.GetItemVersion())
	for _, sp := range item.GetSpecialProcedures() {
		if sp.GetName() == s.Procedure && sp.GetLimitDays() > 0 {
			s.LimitDays = int(sp.GetLimitDays())
			s.Due = cal.AddWorkingDays(s.From, min(s.LimitDays, maxClockDays))
		}
	}
	return s
}

// daysLeft is the working days from from to due: negative, and at least
// one day, once from is past due.
func daysLeft(cal Registry, from, due time.Time) int32 {
	if from.After(due) {
		return -int32(max(cal.WorkingDaysBetween(due, from), 1))
	}
	return int32(cal.WorkingDaysBetween(from, due))
}

// The statutory clocks around the time limit (行政许可法).
const (
	// AcceptanceDays: a filing is accepted, refused or sent the one-time
	// notice within 5 working days of its receipt (§32).
	AcceptanceDays = 5
	// DeliveryDays: a decision is delivered within 10 working days
	// (§44).
	DeliveryDays = 10
	// DefaultCorrectionWaitDays is how long an open correction notice
	// waits for the materials when the county chose no other (days).
	DefaultCorrectionWaitDays = 30
)

// AcceptanceDue is the end of the fifth working day after the case was
// filed (received at its first office): §32's deadline for its first
// answer; or, once the materials were handed in again after a correction
// notice (RESUBMITTED), the fifth working day after the last time they
// were (the filing waits for its answer again).
func AcceptanceDue(events []*yizhanv1.CaseEvent, cal Registry) time.Time {
	return cal.AddWorkingDays(acceptanceWaitFrom(events), AcceptanceDays)
}

// acceptanceWaitFrom is when the filing's last wait for an answer began:
// the filing, or the last RESUBMITTED.
func acceptanceWaitFrom(events []*yizhanv1.CaseEvent) time.Time {
	from := eventTime(events[0])
	for _, e := range events[1:] {
		if e.GetType() == yizhanv1.EventType_EVENT_TYPE_RESUBMITTED {
			from = eventTime(e)
		}
	}
	return from
}

// CorrectionDue is when c's open correction notice stops waiting for the
// materials (zero when none is open): the days the notice was given with
// (its event's correction_wait_days, the last CORRECTION_REQUESTED of
// events, c's log), or for a notice of a release before, the days of
// policy p; to the end of the day (China Standard Time) the wait's last
// day is, as every due time, so that the date a page shows is the
// citizen's whole last day.
func CorrectionDue(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, p *yizhanv1.CasePolicy) time.Time {
	if c.GetState() != stCorrection || c.GetCorrectionNoticeAt() == nil {
		return time.Time{}
	}
	days := 0
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].GetType() == yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED {
			days = int(events[i].GetCorrectionWaitDays())
			break
		}
	}
	if days <= 0 {
		days = CorrectionWaitDays(p)
	}
	last := c.GetCorrectionNoticeAt().AsTime().In(registry.CST).AddDate(0, 0, days)
	return time.Date(last.Year(), last.Month(), last.Day(), 23, 59, 59, int(time.Second-1), registry.CST)
}

// CorrectionWaitDays is the days a correction notice given now waits
// under policy p.
func CorrectionWaitDays(p *yizhanv1.CasePolicy) int {
	if days := int(p.GetCorrectionWaitDays()); days > 0 {
		return days
	}
	return DefaultCorrectionWaitDays
}

// statutoryClocks sets d's §32 and §44 clocks and the correction notice's
// wait from c's log at now.
func statutoryClocks(d *yizhanv1.Deadlines, c *yizhanv1.Case, events []*yizhanv1.CaseEvent, cal Registry, now time.Time) {
	acceptanceDue := AcceptanceDue(events, cal)
	d.AcceptanceDue = timestamppb.New(acceptanceDue)
	var answered, decided, delivered, ended, withdrawn time.Time
	for _, e := range events[1:] {
		at := eventTime(e)
		switch e.GetType() {
		case yizhanv1.EventType_EVENT_TYPE_RESUBMITTED:
			answered = time.Time{} // waiting for an answer again
		case yizhanv1.EventType_EVENT_TYPE_ACCEPTED, yizhanv1.EventType_EVENT_TYPE_REFUSED, yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED:
			if answered.IsZero() {
				answered = at
			}
			if e.GetType() == yizhanv1.EventType_EVENT_TYPE_REFUSED && decided.IsZero() {
				decided = at // a refusal is a decision to deliver too
			}
		case yizhanv1.EventType_EVENT_TYPE_DECIDED:
			if decided.IsZero() {
				decided = at
			}
		case yizhanv1.EventType_EVENT_TYPE_DELIVERED:
			if delivered.IsZero() {
				delivered = at
			}
		case yizhanv1.EventType_EVENT_TYPE_WITHDRAWN, yizhanv1.EventType_EVENT_TYPE_PRECHECK_REJECTED:
			if ended.IsZero() {
				ended = at
				if e.GetType() == yizhanv1.EventType_EVENT_TYPE_WITHDRAWN {
					withdrawn = at
				}
			}
		}
	}
	switch {
	case !answered.IsZero():
		d.AcceptanceOverdue = answered.After(acceptanceDue)
	case ended.IsZero():
		d.AcceptanceOverdue = now.After(acceptanceDue)
	case !withdrawn.IsZero():
		// Withdrawn unanswered: late if the answer was due before.
		d.AcceptanceOverdue = withdrawn.After(acceptanceDue)
	}
	if !decided.IsZero() {
		due := cal.AddWorkingDays(decided, DeliveryDays)
		d.DeliveryDue = timestamppb.New(due)
		switch {
		case !delivered.IsZero():
			d.DeliveryOverdue = delivered.After(due)
		case ended.IsZero():
			d.DeliveryOverdue = now.After(due)
		}
	}
	if due := CorrectionDue(c, events, cal.CasePolicy()); !due.IsZero() {
		d.CorrectionDue = timestamppb.New(due)
	}
}
