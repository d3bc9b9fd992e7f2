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

// judgeOfficial judges the book again when the official calendars it was
// judged with (keyOfficial) are not reg's, with the data it was judged
// with as the calendar of before, and keeps reg's: in w, the transaction
// of the first entries the book applies after it is opened, so a stop
// before their commit does it again. A book that keeps no data (a new
// one, or one of a release before this record) takes reg's as the data
// it was judged with. A change too large for one transaction counts the
// statistics again from nothing, as a calendar write's does
// (CalendarChanged). Every node of an office judges again at its own
// first write under the release, and ends with the same book (the cards
// withdrawn carry no time of the node's). Under writeMu, settled; a
// registry other than the node's (registry.Registry) judges nothing.
func (b *Book) judgeOfficial(w *writer, reg casework.Registry) {
	if b.officialJudged {
		return
	}
	b.officialJudged = true
	r, ok := reg.(*registry.Registry)
	if !ok {
		return
	}
	data := r.OfficialData()
	var held []byte
	b.view(func(txn *badger.Txn) error {
		held = getRaw(txn, keyOfficial)
		return nil
	})
	if string(held) == data {
		return
	}
	if err := w.txn.Set(keyOfficial, []byte(data)); err != nil {
		panic(fmt.Errorf("casebook: keep the official calendars: %w", err))
	}
	w.count++
	now := r.Workdays()
	before, err := now.WithOfficial(string(held))
	from, changed := registry.FirstChange(before, now)
	if held == nil || err != nil || !changed || b.statsStale.Load() {
		// Nothing to judge with (no data kept, or data this binary cannot
		// read: said below), nothing changed, or a recount from nothing
		// to come, which counts with this binary's data.
		if held != nil && err != nil {
			slog.Warn("casebook: the official calendars the book was judged with cannot be read; the book is not judged again with this release's", "err", err)
		}
		return
	}
	start := time.Now()
	o := newOverlay(b, w.txn, reg)
	ch := CalendarChange{Before: registry.WithWorkdays{Registry: r, Days: before}, From: from}
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
