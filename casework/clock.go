package casework

import (
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
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
//     limit 0) is due the day it is accepted;
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
//     suspended;
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

	var item *yizhanv1.Item
	itemLooked := false
	procedure := func(name string) *yizhanv1.SpecialProcedure {
		if !itemLooked {
			itemLooked = true
			item, _ = cal.Item(f.GetItemCode(), f.GetItemVersion())
		}
		i := slices.IndexFunc(item.GetSpecialProcedures(), func(sp *yizhanv1.SpecialProcedure) bool { return sp.GetName() == name })
		if i < 0 {
			return nil
		}
		return item.GetSpecialProcedures()[i]
	}

	var (
		acceptedAt, decidedAt, stoppedAt, pausedAt, suspendedAt time.Time
		accepted, pausing                                       bool
		paused, extension                                       int
		pauseLimit, suspendLimit                                int // the procedure's own limit (0: none)
	)
	pause := func(until time.Time) {
		if n := cal.WorkingDaysBetween(pausedAt, until); n > 0 {
			if pauseLimit > 0 {
				n = min(n, pauseLimit)
			}
			paused += n
		}
		pausing = false
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
			suspendedAt, suspendLimit = at, int(sp.GetLimitDays())
			if accepted && !pausing && !sp.GetCountsInLimit() {
				pausedAt, pausing, pauseLimit = at, true, int(sp.GetLimitDays())
			}
		case yizhanv1.EventType_EVENT_TYPE_RESUMED:
			suspendedAt = time.Time{}
			if pausing {
				pause(at)
			}
		case yizhanv1.EventType_EVENT_TYPE_EXTENDED:
			if n := int(e.GetExtensionDays()); n > 0 {
				extension = min(extension+n, maxClockDays)
			}
		case yizhanv1.EventType_EVENT_TYPE_DECIDED:
			decidedAt, stoppedAt = at, at
		case yizhanv1.EventType_EVENT_TYPE_REFUSED, yizhanv1.EventType_EVENT_TYPE_WITHDRAWN:
			stoppedAt = at
		}
	}
	end := now
	if !stoppedAt.IsZero() {
		end = stoppedAt
	}
	if pausing {
		pause(end)
	}
	if !suspendedAt.IsZero() && suspendLimit > 0 && c.GetSuspended() && stoppedAt.IsZero() &&
		cal.WorkingDaysBetween(suspendedAt, end) > suspendLimit {
		d.SuspensionOverLimit = true
	}
	paused = min(paused, maxClockDays)
	d.PausedDays = int32(paused)
	d.ExtensionDays = int32(extension)
	if !accepted {
		return d
	}
	due := func(limit int32) time.Time {
		n := max(int(limit), 0) + extension + paused
		return cal.AddWorkingDays(acceptedAt, min(n, maxClockDays))
	}
	statutoryDue, promisedDue := due(f.GetStatutoryLimitDays()), due(f.GetPromisedLimitDays())
	d.AcceptedAt = timestamppb.New(acceptedAt)
	d.StatutoryDue = timestamppb.New(statutoryDue)
	d.PromisedDue = timestamppb.New(promisedDue)
	d.StatutoryDaysLeft = daysLeft(cal, end, statutoryDue)
	d.PromisedDaysLeft = daysLeft(cal, end, promisedDue)
	s := c.GetState()
	open := (s == stAccepted || s == stReviewed) && stoppedAt.IsZero()
	d.Running = open && !c.GetSuspended()
	d.Overdue = (!decidedAt.IsZero() && decidedAt.After(promisedDue)) || (open && now.After(promisedDue))
	return d
}

// daysLeft is the working days from from to due: negative, and at least
// one day, once from is past due.
func daysLeft(cal Registry, from, due time.Time) int32 {
	if from.After(due) {
		return -int32(max(cal.WorkingDaysBetween(due, from), 1))
	}
	return int32(cal.WorkingDaysBetween(from, due))
}
