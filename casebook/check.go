package casebook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"

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
// calendar: a calendar changed since a case was decided may count it in
// time where the counter, kept at the time, did not. nil means the book
// agrees with itself. It is one read transaction, which on a large book
// lasts minutes; it stops with ctx's error when ctx ends.
func (b *Book) Check(ctx context.Context, reg casework.Registry) ([]string, error) {
	var problems []string
	bad := func(format string, args ...any) {
		if len(problems) < 100 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	want := map[string][]byte{} // index key → value expected
	counted := newRecount()
	byDue := map[string]string{}  // queue key by due time → value, from the queue keys
	plain := map[string]string{}  // applicant key under plain SHA-256 → under the registry's key
	daySeq := map[string]uint32{} // the highest of this office's numbers held, by day
	chains := map[[sha256.Size]byte]bool{}
	err := b.db.View(func(txn *badger.Txn) error {
		walk := func(txn *badger.Txn, p []byte, f func(k, v []byte) error) error {
			return eachKey(txn, p, func(k, v []byte) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				return f(k, v)
			})
		}
		cases := 0
		err := walk(txn, []byte(pCase), func(k, v []byte) error {
			cases++
			number := string(k[len(pCase):])
			if office, day, seq, err := casework.ParseCaseNumber(number); err == nil && office == b.office {
				daySeq[day] = max(daySeq[day], seq)
			}
			c := &yizhanv1.Case{}
			if err := proto.Unmarshal(v, c); err != nil {
				bad("case %s: %v", number, err)
				return nil
			}
			events, err := loadEventsNoting(txn, number, c.GetLastSeq(), chains)
			if err != nil {
				bad("case %s: %v", number, err)
				return nil
			}
			if err := casework.VerifyChain(number, events); err != nil {
				bad("case %s: %v", number, err)
			}
			if len(events) == 0 {
				return nil // reported above; nothing to fold or index
			}
			if f, err := casework.Fold(events); err != nil || !proto.Equal(f, c) {
				bad("case %s: the case stored is not its events folded (%v)", number, err)
			}
			if _, _, pending := casework.Pending(c, events, b.office); pending {
				want[string(key(pNeeds, number))] = nil
			}
			o := newOverlay(b, txn, reg)
			o.noBase = true // count from zero
			o.cases[number] = &loaded{}
			applicant := events[0].GetFiling().GetApplicant()
			o.indexApplicant(number, applicant)
			// A case indexed before the county made its query-code key
			// keeps its keys under plain SHA-256: ByApplicant tries both.
			if hk := hashKey(reg); hk != nil {
				keyed := applicantKeysUnder(applicant, number, hk)
				for i, k := range applicantKeysUnder(applicant, number, nil) {
					plain[string(k)] = string(keyed[i])
				}
			}
			o.indexTouched(number, c, events, len(events))
			o.count(c, events, len(events))
			for key, v := range counted.add(o) {
				want[key] = v
			}
			if !casework.Final(c.GetState()) {
				// The queue key's owner, state and department are the
				// case's now (its rank, a due time, is the calendar's of
				// its last change: not checked).
				want[string(key(pQueueKey, number))] = queueKeyOf(c, events, reg)
			}
			return nil
		})
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
		// the time index nothing else.
		times := map[string]string{}
		if err := walk(txn, []byte(pReqTime), func(k, v []byte) error {
			times[string(k)] = string(v)
			return nil
		}); err != nil {
			return err
		}
		if err := walk(txn, []byte(pRequest), func(k, v []byte) error {
			rec := &peerv1.RequestRecord{}
			if err := proto.Unmarshal(v, rec); err != nil {
				bad("request %q: %v", k, err)
				return nil
			}
			tk := string(requestTimeKey(rec.GetAtUnixNano(), rec.GetIndex()))
			if id, ok := times[tk]; !ok || id != rec.GetId() {
				bad("request %q has no time key (%q → %q)", k, tk, id)
			}
			delete(times, tk)
			return nil
		}); err != nil {
			return err
		}
		for k, id := range times {
			bad("time key %q names request %q, which is not remembered", k, id)
		}
		// The audit trail's records by target.
		if err := walk(txn, []byte(pRegistryChange), func(k, v []byte) error {
			c := &yizhanv1.RegistryChange{}
			if err := proto.Unmarshal(v, c); err != nil || len(k) != len(pRegistryChange)+8 || !bytes.Equal(k, registryChangeKey(c.GetIndex())) {
				bad("registry change %q: not a record of its index (%v)", k, err)
				return nil
			}
			if c.GetKind() != "" && c.GetTarget() != "" {
				want[string(registryChangeTargetKey(c.GetKind(), c.GetTarget(), c.GetIndex()))] = nil
			}
			return nil
		}); err != nil {
			return err
		}
		// Every index key present is expected, and the other way round.
		for _, p := range []string{pNeeds, pTouched, pApplicant, pQueueKey, pRegistryChangeByTarget} {
			if err := walk(txn, []byte(p), func(k, v []byte) error {
				w, ok := want[string(k)]
				if keyed, old := plain[string(k)]; !ok && old {
					if _, wanted := want[keyed]; wanted {
						k, w, ok = []byte(keyed), want[keyed], true
					}
				}
				switch {
				case !ok:
					bad("index key %q (→ %q) belongs to no case", k, v)
				case p == pQueueKey:
					if part := len(w) - 8 - len(k[len(pQueueKey):]); part < 0 || !bytes.HasPrefix(v, w[:part]) {
						bad("%q names queue key %q, not one under %q", k, v, w[:max(part, 0)])
					}
					if item, err := txn.Get(v); err != nil {
						bad("%q names queue key %q, which is missing", k, v)
					} else if n, _ := item.ValueCopy(nil); string(n) != string(k[len(pQueueKey):]) {
						bad("queue key %q holds case %q, not %q", v, n, k[len(pQueueKey):])
					}
				case !bytes.Equal(w, v):
					bad("index key %q holds %q, not %q", k, v, w)
				}
				delete(want, string(k))
				return nil
			}); err != nil {
				return err
			}
		}
		if err := walk(txn, []byte(pQueue), func(k, v []byte) error {
			kq, err := txn.Get(key(pQueueKey, string(v)))
			if err != nil {
				bad("queue key %q: case %s has no queue key", k, v)
				return nil
			}
			if held, _ := kq.ValueCopy(nil); !bytes.Equal(held, k) {
				bad("queue key %q: case %s names %q", k, v, held)
			}
			dk, dv, ok := byDueKeyOf(k)
			if !ok {
				bad("queue key %q is malformed", k)
				return nil
			}
			byDue[string(dk)] = string(dv)
			return nil
		}); err != nil {
			return err
		}
		if err := walk(txn, []byte(pQueueByDue), func(k, v []byte) error {
			w, ok := byDue[string(k)]
			switch {
			case !ok:
				bad("queue key by due time %q belongs to no queue key", k)
			case w != string(v):
				bad("queue key by due time %q holds %q, not %q", k, v, w)
			}
			delete(byDue, string(k))
			return nil
		}); err != nil {
			return err
		}
		for k := range byDue {
			bad("queue key by due time %q is missing", k)
		}
		for k := range want {
			if bytes.HasPrefix([]byte(k), []byte(pQueueKey)) {
				bad("case %s is open and not in the queue", k[len(pQueueKey):])
			} else {
				bad("index key %q is missing", k)
			}
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
		return checkStats(txn, counted, bad)
	})
	return problems, err
}
