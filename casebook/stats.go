package casebook

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// RangeQuery selects the counters of the days From to To, both included
// (China Standard Time; any time of each day names it).
type RangeQuery struct {
	From, To time.Time
	// Office, when set, keeps the counters of that office, and with
	// Subtree those of the offices below it too.
	Office  string
	Subtree bool
	// ByDay reads the counters of each day even where a month's or a
	// year's would do (rows by day).
	ByDay bool
}

// Periods are the counter periods that cover the days from to to (both
// included) without overlap: whole years and months where they fit
// (unless byDay), days at the edges.
func Periods(from, to time.Time, byDay bool) []string {
	day := func(t time.Time) time.Time {
		t = t.In(registry.CST)
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, registry.CST)
	}
	d, last := day(from), day(to)
	var out []string
	for !d.After(last) && len(out) < 100_000 {
		switch {
		case !byDay && d.YearDay() == 1 && !d.AddDate(1, 0, -1).After(last):
			out = append(out, PeriodOf(Year, d))
			d = d.AddDate(1, 0, 0)
		case !byDay && d.Day() == 1 && !d.AddDate(0, 1, -1).After(last):
			out = append(out, PeriodOf(Month, d))
			d = d.AddDate(0, 1, 0)
		default:
			out = append(out, PeriodOf(Day, d))
			d = d.AddDate(0, 0, 1)
		}
	}
	return out
}

// SumStats sums the counters the query selects into groups: group names
// a counter's group ("" leaves it out). With ByDay, the period (the day,
// "d20261201") is the counter's Period.
func (b *Book) SumStats(q RangeQuery, group func(Stat) string) (map[string]supervision.Counters, error) {
	out := map[string]supervision.Counters{}
	inScope := map[string]bool{} // office → counted
	err := b.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		for _, period := range Periods(q.From, q.To, q.ByDay) {
			p := key(pStat, period, "")
			if q.Office != "" && !q.Subtree {
				p = key(pStat, period, q.Office, "")
			}
			opts.Prefix = p
			it := txn.NewIterator(opts)
			for it.Rewind(); it.Valid(); it.Next() {
				k := it.Item().Key()
				parts := strings.Split(string(k[len(pStat):]), "\x00")
				if len(parts) != 5 {
					continue
				}
				s := Stat{Period: parts[0], Office: parts[1], ItemCode: parts[2], Department: parts[3], Outcome: parts[4]}
				if q.Office != "" && q.Subtree {
					in, ok := inScope[s.Office]
					if !ok {
						in = registry.IsAncestorOrSelf(q.Office, s.Office)
						inScope[s.Office] = in
					}
					if !in {
						continue
					}
				}
				g := group(s)
				if g == "" {
					continue
				}
				err := it.Item().Value(func(v []byte) error {
					s.Value = decodeUint(v)
					return nil
				})
				if err != nil {
					it.Close()
					return err
				}
				c := out[g]
				if c == nil {
					c = supervision.Counters{}
					out[g] = c
				}
				c[s.Outcome] += s.Value
			}
			it.Close()
		}
		return nil
	})
	return out, err
}

// The daily series' scopes (see dailyScopes).
func DailyAll() string                 { return "*" }
func DailyOffice(code string) string   { return "o" + code }
func DailyTownship(code string) string { return "t" + code }
func DailyDept(code string) string     { return "d" + code }

// Daily is the daily series of scope over the days from to to (both
// included): one Day per day with acceptances or same-day decisions.
func (b *Book) Daily(scope string, from, to time.Time) ([]supervision.Day, error) {
	first, last := PeriodOf(Day, from), PeriodOf(Day, to)
	var out []supervision.Day
	err := b.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = key(pDaily, scope, "")
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(dailyKey(scope, first)); it.Valid(); it.Next() {
			k := it.Item().Key()
			day := string(k[len(opts.Prefix):])
			if day > last {
				break
			}
			d, err := time.ParseInLocation("20060102", strings.TrimPrefix(day, string(rune(Day))), registry.CST)
			if err != nil {
				continue
			}
			err = it.Item().Value(func(v []byte) error {
				if len(v) == 16 {
					out = append(out, supervision.Day{Date: d, Accepted: binary.BigEndian.Uint64(v), SameDay: binary.BigEndian.Uint64(v[8:])})
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// recount is the counters and daily series that the cases and records in
// txn make, counted from nothing with today's definitions: upgradeStats
// writes them; Check sums them in a digest, and counts again only the
// keys of the parts where the digest differs from the counters held, to
// name them (checkStats).
type recount struct {
	stats map[string]uint64
	daily map[string][2]uint64
	// digest, when set, takes every amount in place of the maps, which
	// stay empty: its memory does not grow with the counters.
	digest *amountDigest
	// keep, when set, says which keys the maps take (the parts of the
	// counters a check names).
	keep func(k string) bool
}

func newRecount() *recount {
	return &recount{stats: map[string]uint64{}, daily: map[string][2]uint64{}}
}

// addStat adds n to counter k.
func (r *recount) addStat(k string, n uint64) {
	switch {
	case r.digest != nil:
		r.digest.add(k, n, 0)
	case r.keep == nil || r.keep(k):
		r.stats[k] += n
	}
}

// addDaily adds d to daily series k.
func (r *recount) addDaily(k string, d [2]uint64) {
	switch {
	case r.digest != nil:
		r.digest.add(k, d[0], d[1])
	case r.keep == nil || r.keep(k):
		sum := r.daily[k]
		r.daily[k] = [2]uint64{sum[0] + d[0], sum[1] + d[1]}
	}
}

// add takes the counter and daily writes of an overlay that counted one
// case from zero.
func (r *recount) add(o *overlay) {
	for k, w := range o.writes {
		switch {
		case strings.HasPrefix(k, pStat):
			r.addStat(k, decodeUint(w.val))
		case strings.HasPrefix(k, pDaily) && len(w.val) == 16:
			r.addDaily(k, [2]uint64{binary.BigEndian.Uint64(w.val), binary.BigEndian.Uint64(w.val[8:])})
		}
	}
}

// addCard counts a card kept in the book.
func (r *recount) addCard(c *yizhanv1.Card) {
	if c.GetWithdrawn() {
		return
	}
	for _, period := range periodsOf(c.GetAt().AsTime()) {
		r.addStat(string(statKey(period, c.GetOfficeCode(), c.GetItemCode(), c.GetDepartmentCode(), supervision.CardOutcome(c.GetRule()))), 1)
	}
}

// countCase counts one case from zero into r.
func (r *recount) countCase(b *Book, txn *badger.Txn, reg casework.Registry, c *yizhanv1.Case, events []*yizhanv1.CaseEvent) {
	o := newOverlay(b, txn, reg)
	o.noBase = true
	o.count(c, events, len(events))
	r.add(o)
}

// recountAll counts into r every case in txn and every card, follow-up,
// order, duty record and consultation. Each case is given to each, if
// set, whose error stops the walk. A case whose record or events do not
// load stops it too when strict; otherwise it is passed over (Check
// reported it on its first walk).
func (b *Book) recountAll(txn *badger.Txn, reg casework.Registry, r *recount, strict bool, each func(k []byte, c *yizhanv1.Case, events []*yizhanv1.CaseEvent) error) error {
	if err := eachKey(txn, []byte(pCase), func(k, v []byte) error {
		number := string(k[len(pCase):])
		c := &yizhanv1.Case{}
		if err := proto.Unmarshal(v, c); err != nil {
			if !strict {
				return nil
			}
			return fmt.Errorf("case %s: %w", number, err)
		}
		events, err := loadEvents(txn, number, c.GetLastSeq())
		if err != nil || len(events) == 0 {
			if !strict {
				return nil
			}
			return fmt.Errorf("case %s: %v", number, err)
		}
		r.countCase(b, txn, reg, c, events)
		if each != nil {
			return each(k, c, events)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := eachKey(txn, []byte(pCard), func(_, v []byte) error {
		c := &yizhanv1.Card{}
		if err := proto.Unmarshal(v, c); err != nil {
			return err
		}
		r.addCard(c)
		return nil
	}); err != nil {
		return err
	}
	if err := eachRecord(txn, r.addRecord); err != nil {
		return err
	}
	if err := eachDutyRecord(txn, r.addRecord); err != nil {
		return err
	}
	return eachConsultation(txn, r.addConsultation)
}

// upgradeStats counts the counters again with today's definitions when
// the book's were counted with older ones (book/m/stats-format), before
// Apply applies anything more: with the registry as the log has it at
// that point, the same on every node that upgrades there. A stop part-way
// does it again from the start.
func (b *Book) upgradeStats(reg casework.Registry) error {
	clear(b.hot) // the counters are written anew below
	start := time.Now()
	r := newRecount()
	cases := 0
	var indexes [][]byte
	refold := map[string][]byte{} // cases whose folded fields an older release did not keep
	var requeue [][3][]byte       // suspended cases whose queue rank an older release set: number, old key, new key
	err := b.db.View(func(txn *badger.Txn) error {
		var err error
		if indexes, err = b.dutyIndexKeys(txn); err != nil {
			return err
		}
		return b.recountAll(txn, reg, r, true, func(k []byte, c *yizhanv1.Case, events []*yizhanv1.CaseEvent) error {
			if folded, ok := refolded(c, events); ok {
				refold[string(k)] = folded
			}
			if c.GetSuspended() {
				number := string(k[len(pCase):])
				held := getRaw(txn, key(pQueueKey, number))
				if next := queueKeyOf(c, events, reg); !bytes.Equal(held, next) {
					requeue = append(requeue, [3][]byte{[]byte(number), held, next})
				}
			}
			cases++
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("casebook: count the statistics again: %w", err)
	}
	// Drop the old counters, then write the new ones and the format last.
	var old [][]byte
	if err := b.db.View(func(txn *badger.Txn) error {
		for _, p := range []string{pStat, pDaily} {
			opts := badger.DefaultIteratorOptions
			opts.PrefetchValues = false
			opts.Prefix = []byte(p)
			it := txn.NewIterator(opts)
			for it.Rewind(); it.Valid(); it.Next() {
				old = append(old, it.Item().KeyCopy(nil))
			}
			it.Close()
		}
		return nil
	}); err != nil {
		return err
	}
	wb := b.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range old {
		if err := wb.Delete(k); err != nil {
			return err
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("casebook: drop the old statistics: %w", err)
	}
	wb = b.db.NewWriteBatch()
	for k, v := range r.stats {
		if err := wb.Set([]byte(k), be64(v)); err != nil {
			return err
		}
	}
	for k, d := range r.daily {
		v := binary.BigEndian.AppendUint64(be64(d[0]), d[1])
		if err := wb.Set([]byte(k), v); err != nil {
			return err
		}
	}
	for _, k := range indexes {
		if err := wb.Set(k, nil); err != nil {
			return err
		}
	}
	for k, v := range refold {
		if err := wb.Set([]byte(k), v); err != nil {
			return err
		}
	}
	for _, q := range requeue {
		if err := requeueIn(wb, q[0], q[1], q[2]); err != nil {
			return err
		}
	}
	if err := wb.Set(keyStatsFormat, be64(statsFormat)); err != nil {
		return err
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("casebook: write the statistics: %w", err)
	}
	b.statsStale = false
	slog.Info("casebook: counted the statistics again with this release's definitions",
		"cases", cases, "counters", len(r.stats), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// checkStats compares the counters and daily series held with those the
// records count. first is a recount into a digest (Check's first walk of
// the records), compared here with a digest of those held; only where
// parts of them differ does recountParts count again, into a recount
// that keeps the keys of those parts alone, to name the counters that
// differ. It returns how many counters and series it held to name them.
func checkStats(txn *badger.Txn, first *recount, recountParts func(*recount) error, bad func(string, ...any)) (held int, err error) {
	// eachHeld gives f each counter and daily series held, with its
	// amounts; ok is false for a value that is not one (reported on the
	// first walk).
	eachHeld := func(f func(k string, a, b uint64, ok bool)) error {
		if err := eachKey(txn, []byte(pStat), func(k, v []byte) error {
			f(string(k), decodeUint(v), 0, len(v) == 8)
			return nil
		}); err != nil {
			return err
		}
		return eachKey(txn, []byte(pDaily), func(k, v []byte) error {
			if len(v) != 16 {
				f(string(k), 0, 0, false)
			} else {
				f(string(k), binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:]), true)
			}
			return nil
		})
	}
	present := &amountDigest{seeds: first.digest.seeds}
	if err := eachHeld(func(k string, a, b uint64, ok bool) {
		if !ok {
			bad("%s %q does not hold its counts", kindNames[kindOf(k)], k)
			return
		}
		present.add(k, a, b)
	}); err != nil {
		return 0, err
	}
	d, differ := differingAmounts(first.digest, present)
	if !differ {
		return 0, nil
	}
	named := newRecount()
	named.keep = func(k string) bool { return slices.Contains(d.parts[kindOf(k)], present.partOf(k)) }
	if err := recountParts(named); err != nil {
		bad("the statistics differ from a recount, and counting them again to name the counters failed: %v", err)
		return 0, nil
	}
	held = len(named.stats) + len(named.daily)
	notes := 0
	note := func(format string, args ...any) {
		notes++
		bad(format, args...)
	}
	if err := eachHeld(func(k string, a, b uint64, ok bool) {
		if !named.keep(k) {
			return
		}
		if kindOf(k) == 0 {
			want := named.stats[k]
			delete(named.stats, k)
			if !ok {
				notes++ // reported above
			} else if a != want {
				note("counter %q is %d, a recount gives %d", k, a, want)
			}
			return
		}
		want := named.daily[k]
		delete(named.daily, k)
		if !ok {
			notes++
		} else if got := [2]uint64{a, b}; got != want {
			note("daily series %q is %v, a recount gives %v", k, got, want)
		}
	}); err != nil {
		return held, err
	}
	for _, k := range slices.Sorted(maps.Keys(named.stats)) {
		if n := named.stats[k]; n != 0 {
			note("counter %q is missing, a recount gives %d", k, n)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(named.daily)) {
		note("daily series %q is missing, a recount gives %v", k, named.daily[k])
	}
	for kind, name := range kindNames {
		if notes == 0 && len(d.parts[kind]) > 0 {
			bad("the %s keys differ from a recount in %d parts, and no key could be named", name, len(d.parts[kind])+d.more[kind])
		}
		if d.more[kind] > 0 {
			bad("the %s keys differ from a recount in %d more parts, not named here (%d of %d named)", name, d.more[kind], len(d.parts[kind]), digestParts)
		}
	}
	return held, nil
}

// kindNames name the two kinds of amounts (kindOf).
var kindNames = [2]string{"counter", "daily series"}

// checkCards checks that each card has its key in the time index, and
// each key of the time index names a card that has it, with the card's
// office, department and state: looked up from both ends, in memory that
// does not grow with the cards.
func checkCards(txn *badger.Txn, r *recount, bad func(string, ...any)) error {
	if err := eachKey(txn, []byte(pCard), func(k, v []byte) error {
		c := &yizhanv1.Card{}
		if err := proto.Unmarshal(v, c); err != nil {
			bad("card %q: %v", k, err)
			return nil
		}
		if !bytes.Equal(k, cardKey(c.GetCaseNumber(), c.GetRule())) {
			bad("card %q holds the card of %s rule %s", k, c.GetCaseNumber(), c.GetRule())
		}
		tk, w := cardByTimeKey(c), cardIndexValue(c)
		if item, err := txn.Get(tk); err != nil {
			bad("card index key %q is missing", tk)
		} else if held, _ := item.ValueCopy(nil); !bytes.Equal(held, w) {
			bad("card index key %q holds %q, not %q", tk, held, w)
		}
		r.addCard(c)
		return nil
	}); err != nil {
		return err
	}
	return eachKey(txn, []byte(pCardByTime), func(k, _ []byte) error {
		// book/ik/<at><number>\0<rule>
		rest := k[len(pCardByTime):]
		c := &yizhanv1.Card{}
		if len(rest) < 8+1+5 || rest[len(rest)-5] != 0 {
			bad("card index key %q belongs to no card", k)
		} else if ok, err := getProto(txn, key(pCard, string(rest[8:len(rest)-5]), rest[len(rest)-4:]), c); err != nil || !ok || !bytes.Equal(cardByTimeKey(c), k) {
			bad("card index key %q belongs to no card", k)
		}
		return nil
	})
}

// StatsStale reports whether the book's counters and indexes were made by
// an older release and wait for the next applied entry to be counted
// again (the office's leader proposes an empty one: office.Service.
// UpgradeBook).
func (b *Book) StatsStale() bool {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	return b.statsStale
}

// requeueIn moves a case's queue keys (book/iq/, book/ir/, book/kq/)
// from held (nil: none) to next (nil: none), in wb.
func requeueIn(wb *badger.WriteBatch, number, held, next []byte) error {
	if held != nil {
		if err := wb.Delete(held); err != nil {
			return err
		}
		if k, _, ok := byDueKeyOf(held); ok {
			if err := wb.Delete(k); err != nil {
				return err
			}
		}
	}
	kq := key(pQueueKey, string(number))
	if next == nil {
		return wb.Delete(kq)
	}
	if err := wb.Set(next, number); err != nil {
		return err
	}
	if k, v, ok := byDueKeyOf(next); ok {
		if err := wb.Set(k, v); err != nil {
			return err
		}
	}
	return wb.Set(kq, next)
}

// refolded is stored case c with the fields its log folds to that an
// older release did not keep (the correction notices, the extensions,
// who accepted and reviewed, the review and the opinions), marshalled,
// when they differ.
func refolded(c *yizhanv1.Case, events []*yizhanv1.CaseEvent) ([]byte, bool) {
	f, err := casework.Fold(events)
	if err != nil {
		return nil, false
	}
	n := proto.CloneOf(c)
	n.CorrectionNotices, n.CorrectionNoticeAt, n.Extensions = f.GetCorrectionNotices(), f.GetCorrectionNoticeAt(), f.GetExtensions()
	n.AcceptedBy, n.ReviewedBy, n.Review, n.Opinions = f.GetAcceptedBy(), f.GetReviewedBy(), f.GetReview(), f.GetOpinions()
	n.FeeAssessed, n.FeeUnits = f.GetFeeAssessed(), f.GetFeeUnits()
	if proto.Equal(n, c) {
		return nil, false
	}
	v, err := proto.MarshalOptions{Deterministic: true}.Marshal(n)
	return v, err == nil
}
