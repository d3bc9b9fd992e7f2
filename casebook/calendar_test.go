package casebook

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
)

// putCalendar writes 2026's official calendar to reg with holiday added
// (a date, "" for none), as the office's log applies a calendar write:
// the registry, then the book at the next index. It returns the change
// the book was given, and whether the calendar changed at all.
func (o *office) putCalendar(holiday string) (CalendarChange, bool) {
	o.t.Helper()
	cal := registry.OfficialCalendar(2026)
	if holiday != "" {
		cal.Days = append(cal.Days, &yizhanv1.CalendarDay{Date: holiday, Kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, Name: "抗灾停工"})
	}
	return o.applyCalendarCommand(&peerv1.RegistryCommand{AtUnixNano: o.now.UnixNano(), Actor: "county.admin",
		Op: &peerv1.RegistryCommand_PutCalendar{PutCalendar: &peerv1.PutCalendar{Calendar: cal}}})
}

// applyCalendarCommand applies cmd, a command that changes working days,
// as the office's log does (the state machine's calendar path): the
// registry, then, when a day changed, the book at the next index with
// the calendar of before. It returns the change the book was given, and
// whether the calendar changed at all.
func (o *office) applyCalendarCommand(cmd *peerv1.RegistryCommand) (CalendarChange, bool) {
	o.t.Helper()
	was := o.reg.Workdays()
	o.index++
	if _, err := o.reg.Apply(o.reg.Index()+1, cmd); err != nil {
		o.t.Fatal(err)
	}
	from, through, changed := registry.ChangedDays(was, o.reg.Workdays())
	ch := CalendarChange{Before: registry.WithWorkdays{Registry: o.reg, Days: was}, From: from, Through: through, At: o.now}
	if changed {
		o.book.CalendarChanged(o.index, o.reg, ch, nil)
	}
	return ch, changed
}

// figures are every counter of March 2026 by day, and the daily series.
func (o *office) figures() map[string]uint64 {
	o.t.Helper()
	groups, err := o.book.SumStats(RangeQuery{From: day(3, 1, 0), To: day(3, 31, 0), ByDay: true}, func(s Stat) string {
		return strings.Join([]string{s.Period, s.Office, s.ItemCode, s.Department, s.Outcome}, " ")
	})
	if err != nil {
		o.t.Fatal(err)
	}
	out := map[string]uint64{}
	for g, c := range groups {
		for outcome, n := range c {
			if !strings.HasSuffix(g, " "+outcome) {
				o.t.Fatalf("group %q holds %s", g, outcome)
			}
			out[g] = n
		}
	}
	days, err := o.book.Daily(DailyAll(), day(3, 1, 0), day(3, 31, 0))
	if err != nil {
		o.t.Fatal(err)
	}
	for _, d := range days {
		out["daily "+d.Date.Format(time.DateOnly)] = d.Accepted<<32 | d.SameDay
	}
	return out
}

// liveCards are the case and rule of the cards that count, but warnings
// (DUE_SOON: a card of the days before the due date, never withdrawn).
func (o *office) liveCards() []string {
	var out []string
	for k, c := range o.cards(CardQuery{}) {
		if !c.GetWithdrawn() && c.GetRule() != yizhanv1.CardRule_CARD_RULE_DUE_SOON {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// queueKey is the case's place in the queue.
func (o *office) queueKey(number string) string {
	o.t.Helper()
	var k []byte
	if err := o.book.db.View(func(txn *badger.Txn) error { k = getRaw(txn, key(pQueueKey, number)); return nil }); err != nil {
		o.t.Fatal(err)
	}
	return fmt.Sprintf("%x", k)
}

// holidayWeek plays the same week at o: D (the marriage record
// certificate, promised in 3 working days) accepted Monday 2 March and
// decided Friday 6 March at 09:00; E accepted on Monday too and still
// open; a sweep at 10:00 that Friday. With Wednesday 4 March a holiday,
// D is in time and E due at the end of Friday; without, D is late and E
// overdue since Thursday's end.
func holidayWeek(o *office) (d, e string) {
	o.now = day(3, 2, 9)
	d = o.file(service, 1, Request{})
	o.act(d, casework.ActionAccept, nil)
	o.act(d, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	e = o.file(service, 2, Request{})
	o.act(e, casework.ActionAccept, nil)
	o.now = day(3, 6, 9)
	o.act(d, casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"})
	o.now = day(3, 6, 10)
	o.sweep()
	return d, e
}

// An office whose feed was down while the county declared Wednesday 4
// March a holiday judged its cases with the calendar it had: a decision
// on Friday late, a red card, an open case overdue and carded. When the
// calendar reaches it, it ends with the figures, cards and queue of an
// office that had the holiday all along, and its counters equal a
// recount.
func TestAHolidayLearnedLateJudgesTheCasesAgain(t *testing.T) {
	late := newOffice(t, county, newRegistry(t))
	onTime := newOffice(t, county, newRegistry(t))
	onTime.putCalendar("2026-03-04")
	d, e := holidayWeek(late)
	holidayWeek(onTime)

	overdueD, overdueE := d+" "+yizhanv1.CardRule_CARD_RULE_OVERDUE.String(), e+" "+yizhanv1.CardRule_CARD_RULE_OVERDUE.String()
	if got := late.liveCards(); !slices.Equal(got, []string{overdueD, overdueE}) {
		t.Fatalf("before it heard of the holiday, the office holds the cards %v", got)
	}
	if got := onTime.liveCards(); len(got) != 0 {
		t.Fatalf("an office that knew of the holiday holds the cards %v", got)
	}
	if maps.Equal(late.figures(), onTime.figures()) {
		t.Fatal("the figures agree before the office heard of the holiday: the test shows nothing")
	}

	late.now = day(3, 6, 11)
	ch, changed := late.putCalendar("2026-03-04")
	if !changed || !ch.From.Equal(day(3, 4, 0)) {
		t.Fatalf("the calendar write changed %v from %v", changed, ch.From)
	}
	if got := late.liveCards(); len(got) != 0 {
		t.Errorf("after the holiday reached it, the office holds the cards %v", got)
	}
	for k, c := range late.cards(CardQuery{}) {
		if !strings.Contains(c.GetWithdrawnReason(), "工作日历自2026年3月4日起调整") || !c.GetWithdrawnAt().AsTime().Equal(late.now) {
			t.Errorf("card %s withdrawn at %v: %q", k, c.GetWithdrawnAt().AsTime(), c.GetWithdrawnReason())
		}
	}
	if got, want := late.queueKey(e), onTime.queueKey(e); got != want {
		t.Errorf("the open case's place in the queue is %s, at the office that knew %s", got, want)
	}
	late.check()
	// The next sweep warns of the open case, due at the end of the day,
	// as the office that knew had: then the two agree on everything.
	late.sweep()
	warned := func(o *office) []string {
		var out []string
		for k, c := range o.cards(CardQuery{}) {
			if !c.GetWithdrawn() {
				out = append(out, k)
			}
		}
		slices.Sort(out)
		return out
	}
	if got, want := warned(late), warned(onTime); !slices.Equal(got, want) {
		t.Errorf("after the next sweep, the office holds the cards %v, the office that knew %v", got, want)
	}
	if got, want := late.figures(), onTime.figures(); !maps.Equal(got, want) {
		t.Errorf("after the holiday reached it, the office counts\n%v\nwhere the office that knew counts\n%v", got, want)
	}

	// Applied again (the node restarted before its next snapshot and
	// replays its log): the book holds the index, nothing changes.
	before := late.figures()
	late.book.CalendarChanged(late.index, late.reg, ch, nil)
	if got := late.figures(); !maps.Equal(got, before) {
		t.Errorf("the calendar write applied twice counts %v, once %v", got, before)
	}
}

// The other way: the county takes back a holiday (declared by mistake).
// The decision made on Friday is late after all and earns its red card;
// the open case falls overdue at Thursday's end, and the next sweep
// cards it.
func TestAHolidayTakenBackJudgesTheCasesAgain(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	without := newOffice(t, county, newRegistry(t))
	o.putCalendar("2026-03-04")
	d, e := holidayWeek(o)
	holidayWeek(without)
	if got := o.liveCards(); len(got) != 0 {
		t.Fatalf("with the holiday, the office holds the cards %v", got)
	}

	o.now = day(3, 6, 11)
	if _, changed := o.putCalendar(""); !changed {
		t.Fatal("taking the holiday back changed nothing")
	}
	overdueD := d + " " + yizhanv1.CardRule_CARD_RULE_OVERDUE.String()
	if got := o.liveCards(); !slices.Equal(got, []string{overdueD}) {
		t.Errorf("once the holiday was taken back, the office holds the cards %v, want the late decision's", got)
	}
	endsAs(t, o, without, e)
}

// endsAs checks that o, judged again with a calendar that other had all
// along, ends as other: the open case e in the same place in the queue;
// after the next sweep the same cards, and the same figures but for the
// warning e had on Friday morning, right by the calendar of then, which
// stays; and its counters equal a recount.
func endsAs(t *testing.T, o, other *office, e string) {
	t.Helper()
	if got, want := o.queueKey(e), other.queueKey(e); got != want {
		t.Errorf("the open case's place in the queue is %s, at the other office %s", got, want)
	}
	o.check()
	o.sweep()
	if got, want := o.liveCards(), other.liveCards(); !slices.Equal(got, want) {
		t.Errorf("after the next sweep the office holds the cards %v, the other %v", got, want)
	}
	noWarning := func(m map[string]uint64) map[string]uint64 {
		maps.DeleteFunc(m, func(k string, _ uint64) bool { return strings.HasSuffix(k, " card_due_soon") })
		return m
	}
	if got, want := noWarning(o.figures()), other.figures(); !maps.Equal(got, want) {
		t.Errorf("the office counts\n%v\nthe other\n%v", got, want)
	}
}

// A calendar for days to come changes no figure: the book walks its open
// cases only, and moves their due dates.
func TestACalendarForDaysToComeMovesTheOpenCasesOnly(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	o.now = day(3, 2, 9)
	n := o.file(service, 1, Request{})
	o.act(n, casework.ActionAccept, nil)
	done := o.file(service, 2, Request{})
	o.act(done, casework.ActionAccept, nil)
	o.act(done, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	o.act(done, casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"})
	figures, queued := o.figures(), o.queueKey(n)
	if _, changed := o.putCalendar("2026-03-04"); !changed {
		t.Fatal("the holiday changed nothing")
	}
	if got := o.figures(); !maps.Equal(got, figures) {
		t.Errorf("a holiday to come changed the figures: %v, were %v", got, figures)
	}
	if o.queueKey(n) == queued {
		t.Error("the open case kept its place in the queue: its due date moved a day")
	}
	o.check()
}

// A calendar write whose changes do not fit in one transaction leaves
// the statistics to be counted again from nothing at the next write, as
// after an upgrade; the counters then equal a recount.
func TestACalendarWriteTooLargeForOneTransactionCountsAgain(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	onTime := newOffice(t, county, newRegistry(t))
	onTime.putCalendar("2026-03-04")
	holidayWeek(o)
	holidayWeek(onTime)
	rejudgeMaxKeys = 1
	t.Cleanup(func() { rejudgeMaxKeys = 0 })
	o.now = day(3, 9, 9)
	o.putCalendar("2026-03-04")
	if !o.book.StatsStale() {
		t.Fatal("the statistics are not to be counted again")
	}
	// Until then the figures are not read: they are the old calendar's
	// (they were read, until the next write).
	if _, err := o.book.SumStats(RangeQuery{From: day(3, 1, 0), To: day(3, 31, 0)}, func(s Stat) string { return s.Outcome }); !errors.Is(err, ErrStatsRecounting) {
		t.Errorf("figures read before the recount: %v, want ErrStatsRecounting", err)
	}
	o.reopen()
	if o.book.StatsStale() {
		t.Fatal("the next write did not count the statistics again")
	}
	// The cards stay as they were (said in CalendarChanged): compare the
	// counters of cases only.
	noCards := func(m map[string]uint64) map[string]uint64 {
		maps.DeleteFunc(m, func(k string, _ uint64) bool { return strings.Contains(k, " card_") })
		return m
	}
	if got, want := noCards(o.figures()), noCards(onTime.figures()); !maps.Equal(got, want) {
		t.Errorf("counted again, the office counts\n%v\nthe office that knew\n%v", got, want)
	}
	o.check()
}
