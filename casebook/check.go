package casebook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// Check walks the whole book and reports every way its indexes and
// counters disagree with its cases: each case folds from its events and
// its chain holds; the queue, touched and applicant indexes hold exactly
// the keys the cases call for; the counts are right; and the statistics
// counters equal a recount of every event. The recount uses reg's
// calendar, which the counters follow: a calendar write judges them
// again (CalendarChanged). nil means the book
// agrees with itself. It is one read transaction, which on a large book
// lasts minutes; it stops with ctx's error when ctx ends, and fails with
// ErrStatsRecounting while the counters are being counted again or wait
// to be (StatsStale), and with ErrReplacing while the book is being
// restored.
//
// Its memory does not grow with the cases or the counters: the case
// indexes, the records' indexes and the statistics are compared by digest
// (checkdigest.go), the other indexes by looking each key up from both
// ends. What it holds is a number for each day the office has served
// (its highest case number of the day) and each signer chain.
func (b *Book) Check(ctx context.Context, reg casework.Registry) ([]string, error) {
	problems, _, err := b.check(ctx, reg)
	return problems, err
}

// check is Check, and how many index keys and counters it held in memory
// to name those that differ (none for a book that agrees with itself).
func (b *Book) check(ctx context.Context, reg casework.Registry) (problems []string, held int, err error) {
	bad := func(format string, args ...any) {
		if len(problems) < 100 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	expected := newAmountDigest()
	counted := &recount{to: expected.add}
	daySeq := map[string]uint32{} // the highest of this office's numbers held, by day
	chains := map[[sha256.Size]byte]bool{}
	// Counters being counted again are part of the whole (readStats);
	// counters of an older release, counted again at the next write, are
	// not today's definitions' to compare with a recount.
	epoch, generation, stale := b.statsEpoch.Load(), b.generation.Load(), b.statsStale.Load()
	if generation%2 == 1 {
		return nil, 0, ErrReplacing
	}
	if epoch%2 == 1 || stale {
		return nil, 0, ErrStatsRecounting
	}
	err = b.db.View(func(txn *badger.Txn) error {
		walk := func(txn *badger.Txn, p []byte, f func(k, v []byte) error) error {
			return eachKey(txn, p, func(k, v []byte) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				return f(k, v)
			})
		}
		cases := 0
		// eachCase calls f with each case whose events load (the first
		// walk reports those that do not).
		eachCase := func(first bool, f func(number string, c *yizhanv1.Case, events []*yizhanv1.CaseEvent)) error {
			var refs map[[sha256.Size]byte]bool
			report := func(string, ...any) {}
			if first {
				refs, report = chains, bad
			}
			return walk(txn, []byte(pCase), func(k, v []byte) error {
				number := string(k[len(pCase):])
				if first {
					cases++
					if office, day, seq, err := casework.ParseCaseNumber(number); err == nil && office == b.office {
						daySeq[day] = max(daySeq[day], seq)
					}
				}
				c := &yizhanv1.Case{}
				if err := proto.Unmarshal(v, c); err != nil {
					report("case %s: %v", number, err)
					return nil
				}
				events, err := loadEventsNoting(txn, number, c.GetLastSeq(), refs)
				if err == nil && uint32(len(events)) != c.GetLastSeq() {
					b.noteDamage(generation, damagedCase(number, c.GetLastSeq(), len(events))) // reported below, as the fold that differs
				}
				if err != nil {
					b.noteDamage(generation, err)
					report("case %s: %v", number, err)
					return nil
				}
				f(number, c, events)
				return nil
			})
		}
		// The case indexes, against the keys the cases call for; the
		// first walk of the cases checks them, and counts them again.
		held, err = indexCheck{
			prefixes: caseIndexes,
			valued:   func(i int) bool { return caseIndexes[i] != pQueueKey && caseIndexes[i] != pStepKey },
			expect: func(first bool, emit func(k, v []byte)) error {
				return eachCase(first, func(number string, c *yizhanv1.Case, events []*yizhanv1.CaseEvent) {
					if first {
						if err := casework.VerifyChain(number, events); err != nil {
							bad("case %s: %v", number, err)
						}
						if len(events) > 0 {
							if f, err := casework.Fold(events); err != nil || !proto.Equal(f, c) {
								bad("case %s: the case stored is not its events folded (%v)", number, err)
							}
						}
					}
					if len(events) == 0 {
						return // reported on the first walk; nothing to fold or index
					}
					recount := counted
					if !first {
						recount = nil
					}
					b.expectIndexKeys(txn, reg, number, c, events, recount, func(k, v []byte) {
						emit(k, v)
						if first && bytes.HasPrefix(k, []byte(pQueueKey)) {
							if item, err := txn.Get(k); err == nil {
								stored, _ := item.ValueCopy(nil)
								checkQueueKey(number, stored, v, bad)
							}
						}
						if first && bytes.HasPrefix(k, []byte(pStepKey)) {
							if item, err := txn.Get(k); err == nil {
								stored, _ := item.ValueCopy(nil)
								checkStepKey(number, stored, bad)
							}
						}
					})
				})
			},
			seen: func(i int, k, v []byte) {
				if caseIndexes[i] == pStepKey {
					if !hasKey(txn, v) {
						bad("%q names step key %q, which is missing", k, v)
					}
					return
				}
				if caseIndexes[i] != pQueueKey {
					return
				}
				if item, err := txn.Get(v); err != nil {
					bad("%q names queue key %q, which is missing", k, v)
				} else if n, _ := item.ValueCopy(nil); string(n) != string(k[len(pQueueKey):]) {
					bad("queue key %q holds case %q, not %q", v, n, k[len(pQueueKey):])
				}
			},
			missing: func(k []byte) string {
				if number, ok := bytes.CutPrefix(k, []byte(pQueueKey)); ok {
					return fmt.Sprintf("case %s is open and not in the queue", number)
				}
				if number, ok := bytes.CutPrefix(k, []byte(pStepKey)); ok {
					return fmt.Sprintf("case %s is in a step with a limit of its own and not among the steps by their end", number)
				}
				return fmt.Sprintf("index key %q is missing", k)
			},
			owner: "case",
		}.run(func(p []byte, f func(k, v []byte) error) error { return walk(txn, p, f) }, bad)
		if err != nil {
			return err
		}
		// Each signer chain the events refer to is in the book: read
		// here from the database, as the events' reads may have had it
		// from the process's cache (chains.go).
		for sum := range chains {
			if _, err := readChain(txn, sum); err != nil {
				bad("%v", err)
			}
		}
		if n, _ := getUint(txn, keyCases); n != uint64(cases) {
			bad("the book counts %d cases and holds %d", n, cases)
		}
		// A day's sequence is at least the highest of the office's
		// numbers held that day, or a number could be handed out twice
		// (a book imported from the release before may hold more: the
		// numbers it handed out).
		for day, seq := range daySeq {
			if got, _ := getUint(txn, key(pSeq, day)); got < uint64(seq) {
				bad("the sequence of day %s is %d, below number %d held", day, got, seq)
			}
		}
		for _, c := range []struct {
			p string
			k []byte
		}{{pOutbox, keyOutboxLen}, {pQuarantine, keyQuarantLen}, {pRequest, keyRequests}} {
			n := 0
			if err := walk(txn, []byte(c.p), func(k, _ []byte) error {
				n++
				return nil
			}); err != nil {
				return err
			}
			if got, _ := getUint(txn, c.k); got != uint64(n) {
				bad("%s counts %d and holds %d", c.k, got, n)
			}
		}
		// The count of cases needing an action, kept in memory, equals
		// the book/n/ keys, when no command was applied since this view
		// began (Apply writes under writeMu).
		needs := 0
		if err := walk(txn, []byte(pNeeds), func(_, _ []byte) error {
			needs++
			return nil
		}); err != nil {
			return err
		}
		viewApplied, _ := getUint(txn, keyApplied)
		b.writeMu.Lock()
		applied, needsCounted := b.applied.Load(), b.needs.Load()
		b.writeMu.Unlock()
		if applied == viewApplied && needsCounted != int64(needs) {
			bad("the book counts %d cases needing an action and holds %d", needsCounted, needs)
		}
		// Each request ID remembered has its key in the time index, and
		// each time key names a request remembered with that time.
		if err := walk(txn, []byte(pRequest), func(k, v []byte) error {
			rec := &peerv1.RequestRecord{}
			if err := proto.Unmarshal(v, rec); err != nil {
				bad("request %q: %v", k, err)
				return nil
			}
			tk := requestTimeKey(rec.GetAtUnixNano(), rec.GetIndex())
			var id []byte
			if item, err := txn.Get(tk); err == nil {
				id, _ = item.ValueCopy(nil)
			}
			if string(id) != rec.GetId() {
				bad("request %q has no time key (%q → %q)", k, tk, id)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := walk(txn, []byte(pReqTime), func(k, v []byte) error {
			rec := &peerv1.RequestRecord{}
			if ok, err := getProto(txn, key(pRequest, string(v)), rec); err != nil || !ok {
				bad("time key %q names request %q, which is not remembered", k, v)
			} else if tk := requestTimeKey(rec.GetAtUnixNano(), rec.GetIndex()); !bytes.Equal(tk, k) {
				bad("time key %q names request %q, whose time key is %q", k, v, tk)
			}
			return nil
		}); err != nil {
			return err
		}
		// The audit trail's records, each under its target, and each key
		// by target naming a record of that target.
		if err := walk(txn, []byte(pRegistryChange), func(k, v []byte) error {
			c := &yizhanv1.RegistryChange{}
			if err := proto.Unmarshal(v, c); err != nil || len(k) != len(pRegistryChange)+8 || !bytes.Equal(k, registryChangeKey(c.GetIndex())) {
				bad("registry change %q: not a record of its index (%v)", k, err)
				return nil
			}
			if c.GetKind() != "" && c.GetTarget() != "" {
				if tk := registryChangeTargetKey(c.GetKind(), c.GetTarget(), c.GetIndex()); !hasKey(txn, tk) {
					bad("index key %q is missing", tk)
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if err := walk(txn, []byte(pRegistryChangeByTarget), func(k, _ []byte) error {
			c := &yizhanv1.RegistryChange{}
			if len(k) < len(pRegistryChangeByTarget)+8 {
				bad("index key %q belongs to no registry change", k)
			} else if ok, err := getProto(txn, registryChangeKey(binary.BigEndian.Uint64(k[len(k)-8:])), c); err != nil || !ok ||
				!bytes.Equal(registryChangeTargetKey(c.GetKind(), c.GetTarget(), c.GetIndex()), k) {
				bad("index key %q belongs to no registry change", k)
			}
			return nil
		}); err != nil {
			return err
		}
		// The scans no case names, listed with when they came: each file
		// held that no event names, and no other.
		unnamed := map[string]int64{}
		if err := eachUnnamed(txn, func(sha string, held *peerv1.PutAttachmentPart) error {
			unnamed[sha] = held.GetFirstAtUnixNano()
			return ctx.Err()
		}); err != nil {
			return err
		}
		if err := eachUnnamedListed(txn, func(sha string, at int64) bool {
			switch want, ok := unnamed[sha]; {
			case !ok:
				bad("scan %s is listed among those no case names, but is not held, or a case names it", sha)
			case at != want:
				bad("scan %s is listed among those no case names as begun at %d, its record says %d", sha, at, want)
			}
			delete(unnamed, sha)
			return true
		}); err != nil {
			return err
		}
		for _, sha := range slices.Sorted(maps.Keys(unnamed)) {
			bad("scan %s, which no case names, is not listed among them", sha)
		}
		// The queue and the queue by due time name each other.
		if err := walk(txn, []byte(pQueue), func(k, v []byte) error {
			kq, err := txn.Get(key(pQueueKey, string(v)))
			if err != nil {
				bad("queue key %q: case %s has no queue key", k, v)
				return nil
			}
			if stored, _ := kq.ValueCopy(nil); !bytes.Equal(stored, k) {
				bad("queue key %q: case %s names %q", k, v, stored)
			}
			dk, dv, ok := byDueKeyOf(k)
			if !ok {
				bad("queue key %q is malformed", k)
				return nil
			}
			if item, err := txn.Get(dk); err != nil {
				bad("queue key by due time %q is missing", dk)
			} else if stored, _ := item.ValueCopy(nil); !bytes.Equal(stored, dv) {
				bad("queue key by due time %q holds %q, not %q", dk, stored, dv)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := walk(txn, []byte(pQueueByDue), func(k, v []byte) error {
			if q, err := queueKeyOfByDue(k, v); err != nil {
				bad("queue key by due time %q belongs to no queue key (%v)", k, err)
			} else if !hasKey(txn, q) {
				bad("queue key by due time %q belongs to no queue key (%q is not in the queue)", k, q)
			}
			return nil
		}); err != nil {
			return err
		}
		// Each case by its open step's end is named by its book/ks/ key.
		if err := walk(txn, []byte(pStepDue), func(k, _ []byte) error {
			if len(k) < len(pStepDue)+8 {
				bad("step key %q is malformed", k)
				return nil
			}
			number := k[len(pStepDue)+8:]
			if item, err := txn.Get(key(pStepKey, string(number))); err != nil {
				bad("step key %q: case %s has no step key", k, number)
			} else if stored, _ := item.ValueCopy(nil); !bytes.Equal(stored, k) {
				bad("step key %q: case %s names %q", k, number, stored)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := checkCards(txn, counted, bad); err != nil {
			return err
		}
		if err := checkRecords(txn, counted, bad); err != nil {
			return err
		}
		if err := checkConsultations(b, txn, counted, bad); err != nil {
			return err
		}
		if err := eachDutyRecord(txn, counted.addRecord); err != nil {
			return err
		}
		if err := checkReports(b, txn, bad); err != nil {
			return err
		}
		if err := checkShifts(b, txn, bad); err != nil {
			return err
		}
		statsHeld, err := checkStats(txn, expected, func(r *recount) error { return b.recountAll(txn, generation, reg, r, false, nil) }, bad)
		held += statsHeld
		return err
	})
	if err == nil && b.generation.Load() != generation {
		return nil, 0, ErrReplacing
	}
	if err == nil && b.statsEpoch.Load() != epoch {
		return nil, 0, ErrStatsRecounting
	}
	return problems, held, err
}

// caseIndexes are the indexes whose keys the cases call for.
var caseIndexes = []string{pNeeds, pTouched, pApplicant, pQueueKey, pStepKey}

// expectIndexKeys gives give each key of the case indexes (caseIndexes)
// that case number calls for, with its value (the queue key's: the queue
// key it calls for), and counts the case into counted unless nil. An
// applicant key the case calls for under the registry's query-code key
// but held under plain SHA-256 (indexed before the county made the key:
// ByApplicant tries both) is given as held.
func (b *Book) expectIndexKeys(txn *badger.Txn, reg casework.Registry, number string, c *yizhanv1.Case, events []*yizhanv1.CaseEvent, counted *recount, give func(k, v []byte)) {
	if _, _, pending := casework.Pending(c, events, b.office); pending {
		give(key(pNeeds, number), nil)
	}
	o := newOverlay(b, txn, reg)
	o.noBase = true // count from zero
	o.cases[number] = &loaded{}
	o.indexTouched(number, c, events, len(events))
	if counted != nil {
		o.count(c, events, len(events))
		counted.add(o)
	}
	for k, w := range o.writes {
		if strings.HasPrefix(k, pTouched) {
			give([]byte(k), w.val)
		}
	}
	applicant := events[0].GetFiling().GetApplicant()
	hk := hashKey(reg)
	keyed := applicantKeysUnder(applicant, number, hk)
	var plain [][]byte
	if hk != nil {
		plain = applicantKeysUnder(applicant, number, nil)
	}
	for i, k := range keyed {
		if plain != nil && !bytes.Equal(k, plain[i]) && !hasKey(txn, k) && hasKey(txn, plain[i]) {
			k = plain[i]
		}
		give(k, []byte(number))
	}
	if !casework.Final(c.GetState()) {
		give(key(pQueueKey, number), queueKeyOf(c, events, reg))
	}
	if k := stepKeyOf(c, events, reg); k != nil {
		give(key(pStepKey, number), k)
	}
}

// hasKey reports whether txn holds key k.
func hasKey(txn *badger.Txn, k []byte) bool {
	_, err := txn.Get(k)
	return err == nil
}
