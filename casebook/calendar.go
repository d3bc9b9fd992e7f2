package casebook

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// A write of the working-day calendar changes what the book judged by
// working days: whether a case was decided in time, the working days it
// used, the cards it earned, and when the open cases fall due. The book
// judged each case as its events came, with the calendar of then; an
// office whose feed was down while the county added a holiday judged
// with the calendar it had. Every office's book applies the calendar
// write at its point of the office's log and judges again what it
// changes (CalendarChanged), so that a township that heard late ends
// with the county's figures and cards.

// CalendarChange is a write of the working-day calendar as an office's
// log applies it.
type CalendarChange struct {
	// Before is the registry judging working days by the calendar in
	// force before the write (registry.WithWorkdays).
	Before casework.Registry
	// From is the first day whose kind changed, Through the last
	// (registry.ChangedDays). A case filed after Through is judged alike
	// by both calendars (every working day it counts is one of its own
	// life's) and is not walked; Through zero: every case from From is.
	From, Through time.Time
	// At is when the write was made (the county admin's command): the
	// time of the cards it withdraws. Zero when not known.
	At time.Time
}

// CalendarChanged applies a calendar write at raft index (the registry,
// reg, already has it), with the audit record of the write when it is
// the office's own (the county's; nil for a write replayed from above).
// With reg's calendar, in place of ch.Before's:
//   - the counters of every case with an event on or after ch.From are
//     counted again: what the calendar of before counted comes off, what
//     this one counts goes on (in time or overdue, working days used);
//   - the cards of those cases and of the open ones are judged again: a
//     card the calendar of before gave and this one does not is
//     withdrawn (its counter with it), one this one gives by an event and
//     the one of before did not is given;
//   - the open cases take their place in the queue and among the open
//     steps by their due dates of now.
//
// All of it is one transaction with the index, so a restart applies it
// once. A book with no counter on or after ch.From (a calendar for days
// to come) walks its open cases only; otherwise it walks every case. If
// what changes does not fit in one transaction (a county changing a day
// long past), the statistics are counted again from nothing at the next
// write instead (upgradeStats, as after an upgrade, which also places
// the open cases again) and the cards are left as they were.
func (b *Book) CalendarChanged(index uint64, reg casework.Registry, ch CalendarChange, audit *yizhanv1.RegistryChange) {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.settle()
	if index <= b.applied.Load() {
		return
	}
	start := time.Now()
	w := b.newWriter()
	if audit != nil {
		w.addRegistryChange(audit)
	}
	o := newOverlay(b, w.txn, reg)
	if !ch.At.IsZero() {
		o.at = ch.At.UnixNano()
	}
	o.index = index
	walked, err := o.rejudge(ch, func() bool {
		return w.fits(o) && (rejudgeMaxKeys == 0 || len(o.writes) <= rejudgeMaxKeys)
	})
	switch {
	case errors.Is(err, errRejudgeTooLarge):
		b.markRecount(w, index)
		slog.Warn("casebook: the calendar changed too much to judge the cases again at once: the statistics are counted again at the next write",
			"index", index, "from", ch.From.Format(time.DateOnly), "cases_walked", walked)
	case err != nil:
		// A read the database failed, or handed back as what it cannot
		// decode: the walk only reads (its writes wait in o, written
		// below). A damaged case it met stays in the chain, and stops
		// the node as damage.
		panic(failedRead(index, err, "read the cases to judge them again after the calendar write at index %d", index))
	default:
		w.add(o)
		slog.Info("casebook: judged the cases again with the new calendar",
			"index", index, "from", ch.From.Format(time.DateOnly), "cases_walked", walked, "keys_written", len(o.writes),
			"took", time.Since(start).Round(time.Millisecond))
	}
	w.commit(index)
}

// markRecount marks, in w, the statistics to be counted again from
// nothing at the next write (upgradeStats), for a judging again too large
// for one transaction (the calendar write at raft index index); their
// readers fail from now.
func (b *Book) markRecount(w *writer, index uint64) {
	if err := w.txn.Set(keyStatsCounting, nil); err != nil {
		panic(failedWrite(index, err, "mark the statistics to be counted again"))
	}
	w.count++
	b.statsStale.Store(true)
	if b.statsEpoch.Load()%2 == 0 {
		b.statsEpoch.Add(1) // the readers fail from here (readStats), as in a recount
	}
}

// rejudgeMaxKeys, when set (tests), is the most writes a calendar write's
// judging again may make before it counts as not fitting.
var rejudgeMaxKeys = 0

// errRejudgeTooLarge: what a calendar write changes does not fit in one
// transaction.
var errRejudgeTooLarge = errors.New("casebook: the calendar change does not fit in one transaction")

// rejudge writes into o what judging again with o.reg's calendar in
// place of ch.Before's changes (CalendarChanged), and returns how many
// cases it read. It stops with errRejudgeTooLarge once fits says o's
// writes no longer fit.
func (o *overlay) rejudge(ch CalendarChange, fits func() bool) (walked int, err error) {
	from := ch.From
	walk := []byte(pQueueKey) // the open cases: book/kq/<number>
	if o.countedSince(from) {
		walk = []byte(pCase)
	}
	err = eachKey(o.txn, walk, func(k, _ []byte) error {
		number := string(k[len(walk):])
		c := &yizhanv1.Case{}
		if ok, err := getProto(o.txn, caseKey(number), c); err != nil || !ok {
			return err
		}
		touched, open := !c.GetUpdatedAt().AsTime().Before(from), !casework.Final(c.GetState())
		if !touched && !open {
			return nil
		}
		if after := ch.Through.AddDate(0, 0, 1); !ch.Through.IsZero() && !c.GetFiledAt().AsTime().Before(after) {
			return nil // filed after the last day changed
		}
		events, err := loadWhole(o.txn, number, c)
		if err != nil {
			return err // damage stops the apply, naming the case (CalendarChanged)
		}
		if len(events) == 0 {
			return nil
		}
		walked++
		if touched {
			o.recountCase(ch.Before, c, events)
		}
		o.rejudgeCards(ch.Before, c, events, from)
		if open {
			o.indexQueue(number, c, events, false)
			o.indexStep(number, c, events, false)
		}
		if o.err != nil {
			return o.err
		}
		if !fits() {
			return errRejudgeTooLarge
		}
		return nil
	})
	return walked, err
}

// countedSince reports whether the book holds a counter of a day on or
// after from (a case or a card counted then).
func (o *overlay) countedSince(from time.Time) bool {
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = []byte(pStat + string(rune(Day)))
	it := o.txn.NewIterator(opts)
	defer it.Close()
	it.Seek([]byte(pStat + PeriodOf(Day, from)))
	return it.Valid()
}

// recountCase takes off the counters and daily series that before's
// calendar made of the case's events and adds those o.reg's makes.
func (o *overlay) recountCase(before casework.Registry, c *yizhanv1.Case, events []*yizhanv1.CaseEvent) {
	was, now := newOverlay(o.b, o.txn, before), newOverlay(o.b, o.txn, o.reg)
	was.noBase, now.noBase = true, true
	was.count(c, events, len(events))
	now.count(c, events, len(events))
	keys := slices.Concat(was.order, now.order)
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		a, b := was.writes[k].val, now.writes[k].val
		if bytes.Equal(a, b) {
			continue
		}
		var fields int
		switch {
		case len(k) > len(pStat) && k[:len(pStat)] == pStat:
			fields = 1
		case len(k) > len(pDaily) && k[:len(pDaily)] == pDaily:
			fields = 2
		default:
			continue
		}
		held, _ := o.get([]byte(k))
		next, zero := make([]byte, 8*fields), true
		for f := range fields {
			n := int64(field(held, f, fields)) + int64(field(b, f, fields)) - int64(field(a, f, fields))
			putField(next, f, uint64(max(n, 0)))
			zero = zero && n <= 0
		}
		if zero {
			o.del([]byte(k)) // no key for nothing counted, as a recount leaves it
		} else {
			o.set([]byte(k), next)
		}
	}
}

// field is the f-th of a value's fields (8 bytes each), 0 when the value
// is not of fields fields.
func field(v []byte, f, fields int) uint64 {
	if len(v) != 8*fields {
		return 0
	}
	return decodeUint(v[8*f : 8*f+8])
}

func putField(v []byte, f int, n uint64) { copy(v[8*f:], be64(n)) }

// rejudgeCards withdraws the cards of the case that before's calendar
// gave it and o.reg's does not (cardEarned), and gives it those that
// o.reg's gives by one of its events (supervision.OnEvent) and before's
// did not. A time-driven card o.reg's calendar gives is the sweep's to
// give: the case's new place in the queue leads the sweep to it.
func (o *overlay) rejudgeCards(before casework.Registry, c *yizhanv1.Case, events []*yizhanv1.CaseEvent, from time.Time) {
	for _, rule := range withdrawnWhenLate {
		k := cardKey(c.GetNumber(), rule)
		card := &yizhanv1.Card{}
		if !o.getProto(k, card) || card.GetWithdrawn() || !cardEarned(card, events, before) || cardEarned(card, events, o.reg) {
			continue
		}
		o.withdrawCard(k, card, "工作日历自"+from.In(registry.CST).Format("2006年1月2日")+"起调整后重新核算，该办件并无“"+supervision.RuleName(rule)+"”情形，予以撤销")
	}
	for i := range events {
		log := events[:i+1]
		was := supervision.OnEvent(c, log, before)
		for _, card := range supervision.OnEvent(c, log, o.reg) {
			if slices.ContainsFunc(was, func(w *yizhanv1.Card) bool { return w.GetRule() == card.GetRule() }) {
				continue
			}
			card.IssuedAt = events[i].GetAt()
			o.issueCard(card)
		}
	}
}

// withdrawCard withdraws card, held at k, for reason: it no longer
// counts, at o's time.
func (o *overlay) withdrawCard(k []byte, card *yizhanv1.Card, reason string) {
	o.countCard(card, false)
	card.Withdrawn = true
	if o.at != 0 {
		card.WithdrawnAt = timestamppb.New(time.Unix(0, o.at))
	}
	card.WithdrawnReason = reason
	o.setProto(k, card)
	o.set(cardByTimeKey(card), cardIndexValue(card))
}
