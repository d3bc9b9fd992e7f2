package casebook

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
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
	err := b.readStats(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		for _, period := range Periods(q.From, q.To, q.ByDay) {
			p := key(pStat, period, "")
			switch {
			case q.Office != "" && !q.Subtree:
				p = key(pStat, period, q.Office, "")
			case q.Office != "":
				// The subtree's codes share a beginning: a village's
				// figures read its own counters, not the county's.
				p = append(p, registry.SubtreePrefix(q.Office)...)
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

// ErrStatsRecounting is a read of the statistics while the book counts
// them again with this release's definitions (upgradeStats, at the first
// write after an upgrade: about two minutes for a million cases). The
// figures held meanwhile are part of the whole; nothing is wrong: ask
// again after the wait it names.
var ErrStatsRecounting = func() error {
	e := reason.Errorf(reason.StatsRecounting, reason.Meta{"retryAfterSeconds": "30"},
		"casebook: the statistics are being counted again with this release's definitions")
	e.RetryAfter = 30 * time.Second
	return e
}()

// readStats runs read in a read transaction unless the counters are
// being counted again (or the book restored: ErrReplacing), and fails
// with ErrStatsRecounting if a recount began before it ended (statsEpoch,
// a sequence lock: upgradeStats drops the old counters outside any
// transaction, and writes the new ones as it goes).
func (b *Book) readStats(read func(txn *badger.Txn) error) error {
	epoch, generation := b.statsEpoch.Load(), b.generation.Load()
	switch {
	case generation%2 == 1:
		return ErrReplacing
	case epoch%2 == 1:
		return ErrStatsRecounting
	}
	if err := b.db.View(read); err != nil {
		return err
	}
	switch {
	case b.generation.Load() != generation:
		return ErrReplacing
	case b.statsEpoch.Load() != epoch:
		return ErrStatsRecounting
	}
	return nil
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
	err := b.readStats(func(txn *badger.Txn) error {
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
	// keep, when set, says which keys the maps take (the parts of the
	// counters a check names).
	keep func(k string) bool
	// to, when set, takes every amount in place of the maps, which stay
	// empty (Check's digest, upgradeStats' spiller): a counter's in a, a
	// daily series' two fields in a and b.
	to func(k string, a, b uint64)
}

func newRecount() *recount {
	return &recount{stats: map[string]uint64{}, daily: map[string][2]uint64{}}
}

// addStat adds n to counter k.
func (r *recount) addStat(k string, n uint64) {
	switch {
	case r.to != nil:
		r.to(k, n, 0)
	case r.keep == nil || r.keep(k):
		r.stats[k] += n
	}
}

// addDaily adds d to daily series k.
func (r *recount) addDaily(k string, d [2]uint64) {
	switch {
	case r.to != nil:
		r.to(k, d[0], d[1])
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

// eachCaseByDay calls f with the key and value of each case in txn, in
// the order of the days in their numbers (<office>-<YYYYMMDD>-<seq>):
// each office's cases are in that order under the office's prefix, and
// the offices' walks are merged, so a walk that counts the statistics
// (kept by day) leaves behind the days it has passed. A key that is not a
// case number comes first.
func eachCaseByDay(txn *badger.Txn, f func(k, v []byte) error) error {
	// The offices' prefixes, each found by seeking past the one before.
	var offices [][]byte
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = []byte(pCase)
	it := txn.NewIterator(opts)
	for it.Rewind(); it.Valid(); {
		item := it.Item()
		k := item.KeyCopy(nil)
		if i := bytes.IndexByte(k[len(pCase):], '-'); i > 0 {
			office := k[:len(pCase)+i+1] // book/c/<office>-
			offices = append(offices, office)
			it.Seek(append(bytes.Clone(office[:len(office)-1]), '-'+1))
			continue
		}
		v, err := item.ValueCopy(nil)
		if err == nil {
			err = f(k, v)
		}
		if err != nil {
			it.Close()
			return err
		}
		it.Next()
	}
	it.Close()
	// Merge the offices' walks by day: the office whose next case has
	// the earliest day goes next.
	h := &casesByDay{}
	defer func() {
		for _, w := range h.walks {
			w.it.Close()
		}
	}()
	for _, p := range offices {
		o := badger.DefaultIteratorOptions
		o.Prefix, o.PrefetchSize = p, 4
		w := &officeWalk{it: txn.NewIterator(o), prefix: len(p)}
		if w.it.Rewind(); w.it.Valid() {
			h.walks = append(h.walks, w)
		} else {
			w.it.Close()
		}
	}
	heap.Init(h)
	for len(h.walks) > 0 {
		w := h.walks[0]
		item := w.it.Item()
		v, err := item.ValueCopy(nil)
		if err == nil {
			err = f(item.KeyCopy(nil), v)
		}
		if err != nil {
			return err
		}
		if w.it.Next(); w.it.Valid() {
			heap.Fix(h, 0)
		} else {
			w.it.Close()
			heap.Pop(h)
		}
	}
	return nil
}

// officeWalk is one office's cases in eachCaseByDay.
type officeWalk struct {
	it     *badger.Iterator
	prefix int // the length of book/c/<office>-
}

// day is the day part of the walk's next case number (shorter when
// malformed).
func (w *officeWalk) day() []byte {
	k := w.it.Item().Key()[w.prefix:]
	return k[:min(len(k), 8)]
}

// casesByDay is a heap of office walks by the day of their next case.
type casesByDay struct{ walks []*officeWalk }

func (h *casesByDay) Len() int { return len(h.walks) }
func (h *casesByDay) Less(i, j int) bool {
	return bytes.Compare(h.walks[i].day(), h.walks[j].day()) < 0
}
func (h *casesByDay) Swap(i, j int) { h.walks[i], h.walks[j] = h.walks[j], h.walks[i] }
func (h *casesByDay) Push(x any)    { h.walks = append(h.walks, x.(*officeWalk)) }
func (h *casesByDay) Pop() any {
	w := h.walks[len(h.walks)-1]
	h.walks = h.walks[:len(h.walks)-1]
	return w
}

// recountAll counts into r every case in txn and every card, follow-up,
// order, duty record and consultation. Each case is given to each, if
// set, whose error stops the walk. A case whose record or events do not
// load stops it too when strict; otherwise it is passed over (Check
// reported it on its first walk). gen is the generation of the book txn
// reads (noteDamage).
func (b *Book) recountAll(txn *badger.Txn, gen uint64, reg casework.Registry, r *recount, strict bool, each func(k []byte, c *yizhanv1.Case, events []*yizhanv1.CaseEvent) error) error {
	if err := eachCaseByDay(txn, func(k, v []byte) error {
		number := string(k[len(pCase):])
		c := &yizhanv1.Case{}
		if err := proto.Unmarshal(v, c); err != nil {
			if !strict {
				return nil
			}
			return fmt.Errorf("case %s: %w", number, err)
		}
		events, err := loadWhole(txn, number, c)
		if err == nil && len(events) == 0 {
			err = damagedCase(number, c.GetLastSeq(), 0) // a record without a single event
		}
		if err != nil {
			b.noteDamage(gen, err) // logged once and counted, if it is damage
			if !strict {
				return nil
			}
			return fmt.Errorf("case %s: %w", number, err) // a damaged case stops the apply by its name (raftgroup)
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
// that point, the same on every node that upgrades there.
//
// The book is marked as counting first (keyStatsCounting: the statistics
// are not read until it is whole, ErrStatsRecounting); then the old
// counters and daily series are dropped, and the new ones are
// added up in memory and added to those written as the memory fills (a
// county's years of counters do not fit at once: 2.2 million for a
// two-year book of a million cases; spiller). Cases whose folded fields
// an older release did not keep are written as the walk meets them, and
// so are the open cases' places in the queue and among the open steps
// (due dates by the calendar of now: an older release ranked suspended
// cases otherwise, and a calendar write too large to judge again at once
// ends here, CalendarChanged). The format is written last, so a stop
// part-way does it all again from the start.
func (b *Book) upgradeStats(reg casework.Registry) error {
	if done, err := b.upgradeSteps(reg); err != nil || done {
		return err
	}
	clear(b.hot) // the counters are written anew below
	start := time.Now()
	if err := b.db.Update(func(txn *badger.Txn) error { return txn.Set(keyStatsCounting, nil) }); err != nil {
		return fmt.Errorf("casebook: mark the statistics as being counted again: %w", err)
	}
	if b.statsEpoch.Load()%2 == 0 {
		b.statsEpoch.Add(1) // the readers fail from here (readStats)
	}
	// The drafts' deadlines go too, written again below with the
	// counters (dutyIndexKeys): format 12 runs them from when the event
	// became known.
	if err := b.db.DropPrefix([]byte(pStat), []byte(pDaily), []byte(pDraftDue)); err != nil {
		return fmt.Errorf("casebook: drop the old statistics: %w", err)
	}
	wb := b.db.NewWriteBatch()
	defer wb.Cancel()
	cases := 0
	// A case makes a few dozen counters at most, most of them shared.
	sp := newSpiller(b.db, upgradeSpillAt, 4*int(b.cases.Load()))
	err := b.db.View(func(txn *badger.Txn) error {
		indexes, err := b.dutyIndexKeys(txn)
		if err != nil {
			return err
		}
		for _, k := range indexes {
			if err := wb.Set(k, nil); err != nil {
				return err
			}
		}
		rejudged, err := rejudgedHeld(txn)
		if err != nil {
			return err
		}
		for k, v := range rejudged {
			if err := wb.Set([]byte(k), v); err != nil {
				return err
			}
		}
		return b.recountAll(txn, b.generation.Load(), reg, &recount{to: sp.add}, true, func(k []byte, c *yizhanv1.Case, events []*yizhanv1.CaseEvent) error {
			cases++
			if upgradeCaseMet != nil {
				if err := upgradeCaseMet(cases); err != nil {
					return err
				}
			}
			if folded, ok := refolded(c, events); ok {
				if err := wb.Set(k, folded); err != nil {
					return err
				}
			}
			if en := b.lateFilingUp(txn, string(k[len(pCase):]), c, events); en != nil {
				v, err := proto.Marshal(en)
				if err == nil {
					err = wb.Set(outboxKey(en.GetDestOffice(), en.GetCaseNumber()), v)
				}
				if err != nil {
					return err
				}
			}
			if err := restepIn(wb, k[len(pCase):], getRaw(txn, key(pStepKey, string(k[len(pCase):]))), stepKeyOf(c, events, reg)); err != nil {
				return err
			}
			if !casework.Final(c.GetState()) {
				number := k[len(pCase):]
				held := getRaw(txn, key(pQueueKey, string(number)))
				if next := queueKeyOf(c, events, reg); !bytes.Equal(held, next) {
					if err := requeueIn(wb, number, held, next); err != nil {
						return err
					}
				}
			}
			return sp.err
		})
	})
	if err == nil {
		err = sp.spill(true)
	}
	if err == nil {
		err = wb.Flush()
	}
	b.fronts.added(1) // late filings sent up may be in the outbox now
	if err == nil {
		_, err = b.indexUnnamed() // the scans' list of a book before format 13
	}
	if err == nil {
		err = b.db.Update(func(txn *badger.Txn) error {
			// The outbox may have grown by late filings sent up
			// (lateFilingUp): its length counted afresh.
			n := 0
			if err := eachKey(txn, []byte(pOutbox), func(_, _ []byte) error { n++; return nil }); err != nil {
				return err
			}
			if err := txn.Set(keyOutboxLen, be64(uint64(n))); err != nil {
				return err
			}
			b.outbox.Store(int64(n))
			if err := txn.Set(keyStatsFormat, be64(statsFormat)); err != nil {
				return err
			}
			return txn.Delete(keyStatsCounting)
		})
	}
	if err != nil {
		return fmt.Errorf("casebook: count the statistics again: %w", err)
	}
	b.statsStale.Store(false)
	b.statsEpoch.Add(1) // whole again
	slog.Info("casebook: counted the statistics again with this release's definitions",
		"cases", cases, "counters_written", sp.writes, "spills", sp.spills, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// lateFilingUp is the outbox entry that sends up case number, an online
// filing of this office that a release before stats format 12 carded
// 逾期未受理 and kept here (casework.MailLateFilingUp sends one up when it
// is carded now), nil for any other case or one queued for its parent
// already.
func (b *Book) lateFilingUp(txn *badger.Txn, number string, c *yizhanv1.Case, events []*yizhanv1.CaseEvent) *peerv1.OutboxEntry {
	parent := registry.ParentCode(b.office)
	if parent == "" || len(events) == 0 || c.GetOwnerOffice() != b.office || events[0].GetOfficeCode() != b.office ||
		!events[0].GetFiling().GetPrecheck() || !hasKey(txn, cardKey(number, yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME)) ||
		hasKey(txn, outboxKey(parent, number)) ||
		slices.ContainsFunc(events, func(e *yizhanv1.CaseEvent) bool { return e.GetType() == yizhanv1.EventType_EVENT_TYPE_PRECHECKED }) {
		return nil
	}
	return &peerv1.OutboxEntry{DestOffice: parent, CaseNumber: number, UptoSeq: events[len(events)-1].GetSeq()}
}

// restepFrom is the oldest stats format whose counters are this
// release's (keys.go): the formats after it, up to statsFormat, changed
// only indexes (13: the list of the scans no case names). A release that
// changes a counter raises it to its own statsFormat (12: when an online
// filing is received).
const restepFrom = 12

// upgradeSteps is the upgrade of a book of a stats format from restepFrom
// on: no counter changed, so none is counted again (a county of a
// million cases would stall its writes for two minutes), the open cases'
// steps are indexed again (book/is/, book/ks/), read through the queue's
// keys (book/kq/: every open case, and only those), the scans no case
// names listed (indexUnnamed), and the format written. done is false,
// and nothing written, for a book of an older format, or one whose
// recount stopped part-way: upgradeStats counts it all again.
func (b *Book) upgradeSteps(reg casework.Registry) (done bool, err error) {
	var from uint64
	var counting bool
	if err := b.db.View(func(txn *badger.Txn) error {
		counting = hasKey(txn, keyStatsCounting)
		from, err = getUint(txn, keyStatsFormat)
		return err
	}); err != nil {
		return false, err
	}
	if from < restepFrom || from >= statsFormat || counting {
		return false, nil
	}
	start := time.Now()
	wb := b.db.NewWriteBatch()
	defer wb.Cancel()
	open, indexed := 0, 0
	gen := b.generation.Load() // the book the view reads, for noteDamage
	err = b.db.View(func(txn *badger.Txn) error {
		return eachKey(txn, []byte(pQueueKey), func(k, _ []byte) error {
			number := string(k[len(pQueueKey):])
			c := &yizhanv1.Case{}
			if ok, err := getProto(txn, caseKey(number), c); err != nil || !ok {
				return err
			}
			events, err := loadWhole(txn, number, c)
			if err != nil {
				b.noteDamage(gen, err) // logged once and counted; the upgrade stops, as on any failed read
				return err
			}
			open++
			next := stepKeyOf(c, events, reg)
			if next != nil {
				indexed++
			}
			return restepIn(wb, []byte(number), getRaw(txn, key(pStepKey, number)), next)
		})
	})
	if err == nil {
		err = wb.Flush()
	}
	unnamed := 0
	if err == nil {
		unnamed, err = b.indexUnnamed() // format 13: the list of the scans no case names
	}
	if err == nil {
		err = b.db.Update(func(txn *badger.Txn) error { return txn.Set(keyStatsFormat, be64(statsFormat)) })
	}
	if err != nil {
		return false, fmt.Errorf("casebook: index the open cases' steps and the scans no case names: %w", err)
	}
	b.statsStale.Store(false)
	slog.Info("casebook: indexed the open cases' steps and the scans no case names (no counter changed: none counted again)",
		"open_cases", open, "in_a_watched_step", indexed, "scans_unnamed", unnamed, "took", time.Since(start).Round(time.Millisecond))
	return true, nil
}

// upgradeCaseMet, when set, is called with each case the recount meets
// (tests look at the book part-way, or stop the recount there).
var upgradeCaseMet func(cases int) error

// upgradeSpillAt is how many counters and daily series upgradeStats
// holds in memory at most (a variable: tests spill often).
var upgradeSpillAt = 250_000

// spiller adds up amounts of counters and daily series in memory, and
// adds them to those the database holds once it holds at amounts: first
// those not added to since it last spilled (a county's counters of the
// days the walk has left behind), all of them when those are fewer than
// a quarter. A counter added to throughout the walk (a year's, a
// county's day that every office's cases reach) stays in memory and is
// written once, at the end. A key is read back before it is written only
// when a filter of the keys written says it may have been.
type spiller struct {
	db      *badger.DB
	at      int
	held    map[string]spilled
	gen     uint32 // spills so far: a key added to since the last has gen == this
	written bloom  // the keys spilled
	spills  int
	writes  int // keys written, a key written in two spills twice
	err     error
}

type spilled struct {
	a, b uint64
	gen  uint32
}

// newSpiller is a spiller holding at most at keys, for about keys keys in
// all (the filter's size: more only costs reads).
func newSpiller(db *badger.DB, at, keys int) *spiller {
	return &spiller{db: db, at: at, held: map[string]spilled{}, written: newBloom(keys)}
}

// add adds a and b to key k (recount.to); the first error writing stops
// it, and stays in err.
func (s *spiller) add(k string, a, b uint64) {
	if s.err != nil {
		return
	}
	v := s.held[k]
	s.held[k] = spilled{a: v.a + a, b: v.b + b, gen: s.gen}
	if len(s.held) >= s.at {
		s.err = s.spill(false)
	}
}

// spill adds what it holds to the database: all of it, or the keys not
// added to since the last spill (see spiller).
func (s *spiller) spill(all bool) error {
	if !all {
		cold := 0
		for _, v := range s.held {
			if v.gen < s.gen {
				cold++
			}
		}
		all = cold < s.at/4
	}
	s.spills++
	s.gen++
	read := s.db.NewTransaction(false) // sees every spill before this one
	defer read.Discard()
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for k, v := range s.held {
		if !all && v.gen == s.gen-1 {
			continue // added to since the last spill: kept
		}
		var held []byte
		if s.written.mayHold(k) {
			held = getRaw(read, []byte(k))
		}
		var out []byte
		if kindOf(k) == 0 {
			out = be64(decodeUint(held) + v.a)
		} else {
			if len(held) == 16 {
				v.a += binary.BigEndian.Uint64(held)
				v.b += binary.BigEndian.Uint64(held[8:])
			}
			out = binary.BigEndian.AppendUint64(be64(v.a), v.b)
		}
		if err := wb.Set([]byte(k), out); err != nil {
			return err
		}
		s.written.add(k)
		delete(s.held, k)
		s.writes++
	}
	return wb.Flush()
}

// bloom is a Bloom filter of strings: mayHold is true for every string
// added, and for others with a chance that grows with the strings added
// per bit (about 0.2% at 16 bits a string).
type bloom struct {
	seeds [2]maphash.Seed
	bits  []uint64
}

// newBloom is a filter of 16 bits for each of n strings, 64 KiB at least
// and 8 MiB at most.
func newBloom(n int) bloom {
	words := min(max(n*16/64, 1<<13), 1<<20)
	return bloom{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, bits: make([]uint64, words)}
}

// probes calls f with the four bits of s.
func (f bloom) probes(s string, each func(word int, bit uint64)) {
	h1, h2 := maphash.String(f.seeds[0], s), maphash.String(f.seeds[1], s)|1
	n := uint64(len(f.bits)) * 64
	for i := range uint64(4) {
		b := (h1 + i*h2) % n
		each(int(b/64), 1<<(b%64))
	}
}

func (f bloom) add(s string) {
	f.probes(s, func(w int, bit uint64) { f.bits[w] |= bit })
}

func (f bloom) mayHold(s string) bool {
	all := true
	f.probes(s, func(w int, bit uint64) { all = all && f.bits[w]&bit != 0 })
	return all
}

// checkStats compares the counters and daily series held with those the
// records count. expected is the digest of what Check's first walk of
// the records counted, compared here with a digest of those held; only
// where parts of them differ does recountParts count again, into a
// recount that keeps the keys of those parts alone, to name the counters
// that differ. It returns how many counters and series it held to name
// them.
func checkStats(txn *badger.Txn, expected *amountDigest, recountParts func(*recount) error, bad func(string, ...any)) (held int, err error) {
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
	present := &amountDigest{seeds: expected.seeds}
	if err := eachHeld(func(k string, a, b uint64, ok bool) {
		if !ok {
			bad("%s %q does not hold its counts", kindNames[kindOf(k)], k)
			return
		}
		present.add(k, a, b)
	}); err != nil {
		return 0, err
	}
	d, differ := differingAmounts(expected, present)
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
// an older release, or their recount stopped part-way, and wait for the
// next applied entry to be counted again (the office's leader proposes an
// empty one: office.Service.UpgradeBook). It takes no lock: true while
// the recount runs, too.
func (b *Book) StatsStale() bool { return b.statsStale.Load() }

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

// restepIn moves a case's keys of the cases by their open step's end
// (book/is/, book/ks/) from held to next (nil: none), in wb.
func restepIn(wb *badger.WriteBatch, number, held, next []byte) error {
	if bytes.Equal(held, next) {
		return nil
	}
	if held != nil {
		if err := wb.Delete(held); err != nil {
			return err
		}
	}
	ks := key(pStepKey, string(number))
	if next == nil {
		return wb.Delete(ks)
	}
	if err := wb.Set(next, nil); err != nil {
		return err
	}
	return wb.Set(ks, next)
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
