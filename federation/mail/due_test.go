package mail

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/duty"
)

// wholeDue is the choice the sender made from the whole outbox (sorted
// by destination and case number) before it read a part at a time: up to
// deliverBatch messages a destination, its urgent records first, then
// the rest in case number order; those held back and not yet due left
// out.
func (m *mailer) wholeDue(outbox []*peerv1.OutboxEntry, now time.Time) map[string][]*peerv1.OutboxEntry {
	byDest := map[string][]*peerv1.OutboxEntry{}
	rest := map[string][]*peerv1.OutboxEntry{}
	for _, e := range outbox {
		k := outboxKey{e.GetDestOffice(), e.GetCaseNumber()}
		if h, ok := m.held[k]; ok {
			if h.upto != e.GetUptoSeq() {
				delete(m.held, k)
			} else if now.Before(h.until) && (h.files == nil || !m.ml.filesDue(k.dest, h.files)) {
				continue
			}
		}
		if isUrgentRecord(k.number) {
			if len(byDest[k.dest]) < deliverBatch {
				byDest[k.dest] = append(byDest[k.dest], e)
			}
		} else if len(rest[k.dest]) < deliverBatch {
			rest[k.dest] = append(rest[k.dest], e)
		}
	}
	for dest, entries := range rest {
		byDest[dest] = append(byDest[dest], entries[:min(len(entries), deliverBatch-len(byDest[dest]))]...)
	}
	return byDest
}

// The sender, reading each destination's messages a part at a time,
// chooses the messages of each call the whole outbox read at once chose,
// in the same order, whatever the outbox holds: urgent reports and
// unsigned flags more than a call's worth or among other records whose
// numbers begin alike (zero reports, acknowledgements, a number with the
// report's prefix that is no report), messages held back, held until a
// time gone by, or held at events since passed, several destinations.
func TestTheSenderChoosesWhatTheWholeOutboxChose(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	dests := []string{county, township, "450122101204"}
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 7))
		var outbox []*peerv1.OutboxEntry
		ml := New(Config{Office: village})
		m := newMailer(ml)
		seen := map[outboxKey]bool{}
		for range r.IntN(600) {
			var number string
			switch r.IntN(8) {
			case 0, 1:
				number = duty.ReportID(village, now.Add(-time.Duration(r.IntN(90))*24*time.Hour), fmt.Sprintf("%06X", r.IntN(1<<20)))
			case 2:
				number = duty.UnsignedFlagID(duty.ReportID(village, now, fmt.Sprintf("%06X", r.IntN(1<<20))))
			case 3:
				number = duty.ZeroReportID(village, fmt.Sprintf("202603%02d", 1+r.IntN(28)))
			case 4:
				number = duty.AckID(village, duty.ReportID(township, now, fmt.Sprintf("%06X", r.IntN(1<<20))))
			case 5:
				number = fmt.Sprintf("BG-%d", r.IntN(1000)) // the report's prefix, no report
			default:
				number = fmt.Sprintf("%s260302%06d", village, r.IntN(100000))
			}
			e := &peerv1.OutboxEntry{DestOffice: dests[r.IntN(len(dests))], CaseNumber: number, UptoSeq: uint32(1 + r.IntN(3))}
			k := outboxKey{e.GetDestOffice(), number}
			if seen[k] {
				continue
			}
			seen[k] = true
			outbox = append(outbox, e)
			switch r.IntN(6) {
			case 0: // held back, not yet due
				m.held[k] = &heldEntry{upto: e.GetUptoSeq(), first: now, until: now.Add(time.Minute)}
			case 1: // held until a time gone by
				m.held[k] = &heldEntry{upto: e.GetUptoSeq(), first: now, until: now.Add(-time.Second)}
			case 2: // held at events since passed
				m.held[k] = &heldEntry{upto: e.GetUptoSeq() - 1, first: now, until: now.Add(time.Minute)}
			}
		}
		whole := newMailer(ml)
		whole.held = maps.Clone(m.held)
		want := whole.wholeDue(sliceOutbox(outbox).sorted(), now)
		m.forgetGone(sliceOutbox(outbox)) // as sendDue does first
		got := m.due(sliceOutbox(outbox), now)
		for _, dest := range dests {
			if !slices.EqualFunc(got[dest], want[dest], func(a, b *peerv1.OutboxEntry) bool { return a == b }) {
				t.Fatalf("seed %d, destination %s: the sender chose %v; the whole outbox chose %v", seed, dest, numbers(got[dest]), numbers(want[dest]))
			}
		}
		if !maps.EqualFunc(m.held, whole.held, func(a, b *heldEntry) bool { return a == b }) {
			t.Fatalf("seed %d: the sender kept %d holds; the whole outbox's choice %d", seed, len(m.held), len(whole.held))
		}
	}
}

func numbers(entries []*peerv1.OutboxEntry) []string {
	var n []string
	for _, e := range entries {
		n = append(n, e.GetCaseNumber())
	}
	return n
}
