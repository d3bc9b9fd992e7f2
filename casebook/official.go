package casebook

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
)

// The State Council's calendars come with the binary (registry.OfficialData),
// not down the registry's log: a release whose holiday data differs from
// the one the book was judged with (the next year's holidays, published
// each November, or a year mended) changes working days with no calendar
// write to judge the cases again. The book keeps the data it judged with
// (keyOfficial) and, under other data, judges again as after a calendar
// write (judgeOfficial, at the first write after it is opened).

// calendarSource is a registry that says the calendar it judges by and
// the official data in it (registry.Registry, or registry.WithWorkdays:
// one judging by the calendar in force before a calendar write).
type calendarSource interface {
	casework.Registry
	Workdays() registry.Workdays
	OfficialData() string
	WithDays(registry.Workdays) registry.WithWorkdays
}

// judgeOfficial judges the book again when the official calendars it was
// judged with (keyOfficial) are not those of judge, the registry the
// book is to hold the judgements of (the node's, or, before a calendar
// write is judged, the one judging by the calendar before it), with the
// data it was judged with as the calendar of before; and keeps judge's
// data. In w: the transaction of the first write after the book is
// opened (Apply, CalendarChanged), so a stop before its commit does it
// again. A book that keeps no data (a new one, or one of a release
// before the record) was judged with registry.OfficialDataBefore. A
// recount from nothing (upgradeStats) counts with judge's data
// (keyOfficialCounted): the cards and places are judged again, not the
// counters. A change too large for one transaction counts the
// statistics again from nothing, as a calendar write's does. Each node
// of an office judges again at its own first write under the release:
// their counters end the same; a time-driven card (the sweep's) that a
// node still on the old release gave or did not give in between may
// differ in its time (upgrade the office's nodes together). Under
// writeMu, settled; a registry that does not say its calendar (tests'
// own) judges nothing.
func (b *Book) judgeOfficial(w *writer, judge casework.Registry) {
	if b.officialJudged || b.statsStale.Load() {
		// Judged since the book was opened; or a recount from nothing
		// comes first (upgradeStats, at the next Apply), then this.
		return
	}
	b.officialJudged = true
	src, ok := judge.(calendarSource)
	if !ok {
		return
	}
	data := src.OfficialData()
	var held, counted []byte
	b.view(func(txn *badger.Txn) error {
		held, counted = getRaw(txn, keyOfficial), getRaw(txn, keyOfficialCounted)
		return nil
	})
	kept := held != nil
	if !kept {
		// A book of a release before the record (or a new one, empty):
		// judged with the data of every release before it.
		held = []byte(registry.OfficialDataBefore())
	}
	if counted != nil {
		if err := w.txn.Delete(keyOfficialCounted); err != nil {
			panic(fmt.Errorf("casebook: keep the official calendars: %w", err))
		}
		w.count++
	}
	if kept && string(held) == data {
		return
	}
	if err := w.txn.Set(keyOfficial, []byte(data)); err != nil {
		panic(fmt.Errorf("casebook: keep the official calendars: %w", err))
	}
	w.count++
	if string(held) == data {
		return
	}
	now := src.Workdays()
	before, err := now.WithOfficial(string(held))
	from, changed := registry.FirstChange(before, now)
	if err != nil || !changed {
		// Data this binary cannot read (said below), or nothing changed.
		if err != nil {
			slog.Warn("casebook: the official calendars the book was judged with cannot be read; the book is not judged again with this release's", "err", err)
		}
		return
	}
	start := time.Now()
	o := newOverlay(b, w.txn, judge)
	// Counters a recount made with this data count by it already.
	ch := CalendarChange{Before: src.WithDays(before), From: from, Counted: string(counted) == data}
	walked, err := o.rejudge(ch, func() bool {
		return w.fits(o) && (rejudgeMaxKeys == 0 || len(o.writes) <= rejudgeMaxKeys)
	})
	switch {
	case errors.Is(err, errRejudgeTooLarge):
		b.markRecount(w)
		slog.Warn("casebook: this release's official calendars change too much to judge the cases again at once: the statistics are counted again at the next write",
			"from", from.Format(time.DateOnly), "cases_walked", walked)
	case err != nil:
		panic(fmt.Errorf("casebook: judge the cases again with this release's official calendars: %w", err))
	default:
		w.add(o)
		slog.Info("casebook: judged the cases again with this release's official calendars",
			"from", from.Format(time.DateOnly), "cases_walked", walked, "keys_written", len(o.writes), "took", time.Since(start).Round(time.Millisecond))
	}
}
