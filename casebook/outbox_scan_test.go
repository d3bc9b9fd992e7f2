package casebook

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/duty"
)

// The mail's sender reads the outbox a part at a time, from the front of
// a destination's messages and from where its urgent records begin:
// what it reads is what the whole outbox holds there, whatever was
// receipted (deleted) or added since it last read, a message added
// before where the messages began included.
func TestTheOutboxReadAPartAtATimeIsTheWholeOutbox(t *testing.T) {
	o := newOffice(t, village, newRegistry(t))
	// (The book in memory keeps no duty records: the book on disk alone.)
	apply := func(cmd *peerv1.CaseCommand) Result {
		o.index++
		o.now = o.now.Add(o.step)
		return o.book.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Cmd: cmd}}, o.index, o.reg)[0]
	}
	zero := func(day int) string {
		d := fmt.Sprintf("2026-03-%02d", day)
		z := &yizhanv1.ZeroReport{Id: duty.ZeroReportID(village, d[:4]+d[5:7]+d[8:]), OfficeCode: village, Day: d, By: "duty", ByName: "值班员"}
		if res := apply(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_PutZeroReport{PutZeroReport: &peerv1.PutZeroReport{Report: z}}}); res.Err != nil {
			t.Fatal(res.Err)
		}
		return z.GetId()
	}
	ack := func(numbers ...string) {
		var acks []*peerv1.OutboxEntry
		for _, n := range numbers {
			en, ok := o.book.OutboxEntry(township, n)
			if !ok {
				t.Fatalf("no message of %s waits for the township", n)
			}
			acks = append(acks, en)
		}
		if res := apply(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{Acks: acks}}}); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	// read is what a read from from finds, the first n at most.
	read := func(from string, n int) []string {
		var got []string
		o.book.OutboxScan(township, from, func(en *peerv1.OutboxEntry) bool {
			if len(got) == n {
				return false
			}
			got = append(got, en.GetCaseNumber())
			return true
		})
		return got
	}
	// whole is the same, read from the whole outbox.
	whole := func(from string, n int) []string {
		var got []string
		for _, en := range o.book.Outbox() {
			if en.GetDestOffice() == township && en.GetCaseNumber() >= from && len(got) < n {
				got = append(got, en.GetCaseNumber())
			}
		}
		return got
	}
	check := func(when string) {
		t.Helper()
		for _, from := range []string{"", "BG-", "LB-" + village + "-20260315"} {
			for range 2 { // the second read from where the first found the front
				if got, want := read(from, 3), whole(from, 3); !slices.Equal(got, want) {
					t.Fatalf("%s, read from %q: %v; the whole outbox holds %v", when, from, got, want)
				}
			}
		}
		var dests []string
		if len(whole("", 1)) > 0 {
			dests = []string{township}
		}
		if got := o.book.OutboxDestinations(); !slices.Equal(got, dests) && len(got) > 0 && len(dests) > 0 {
			t.Fatalf("%s, the outbox's destinations read %v, want %v", when, got, dests)
		}
	}

	var days []string
	for d := 10; d < 20; d++ {
		days = append(days, zero(d))
	}
	check("ten reports queued")
	ack(days[:5]...)
	check("the first five receipted")
	early := zero(5)
	check("one added before where the messages began")
	ack(early)
	ack(days[5:8]...)
	check("more receipted")
	zero(25)
	ack(days[8:]...)
	check("one added after, the others receipted")
	ack(duty.ZeroReportID(village, "20260325"))
	check("every one receipted")
	if got := read("", 1); len(got) != 0 {
		t.Errorf("an empty outbox reads %v", got)
	}
	zero(1)
	check("one added to the empty outbox")
}

// A follower's book restored from the leader's snapshot (a stream) holds
// what the snapshot holds, though it added nothing itself since it last
// read: a message waiting before where its own read found the front is
// read, the one it remembered gone is not; and a message added before
// the front in the batch that receipts others is read.
func TestTheOutboxReadAPartAtATimeAfterARestore(t *testing.T) {
	reg := newRegistry(t)
	apply := func(o *office, cmds ...*peerv1.CaseCommand) {
		t.Helper()
		var entries []Entry
		for _, cmd := range cmds {
			o.index++
			o.now = o.now.Add(o.step)
			entries = append(entries, Entry{Index: o.index, At: o.now.UnixNano(), Cmd: cmd})
		}
		for _, res := range o.book.Apply(entries, o.index, o.reg) {
			if res.Err != nil {
				t.Fatal(res.Err)
			}
		}
	}
	zero := func(day int) *peerv1.CaseCommand {
		d := fmt.Sprintf("2026-03-%02d", day)
		z := &yizhanv1.ZeroReport{Id: duty.ZeroReportID(village, d[:4]+d[5:7]+d[8:]), OfficeCode: village, Day: d, By: "duty", ByName: "值班员"}
		return &peerv1.CaseCommand{Op: &peerv1.CaseCommand_PutZeroReport{PutZeroReport: &peerv1.PutZeroReport{Report: z}}}
	}
	ack := func(o *office, days ...int) *peerv1.CaseCommand {
		t.Helper()
		var acks []*peerv1.OutboxEntry
		for _, d := range days {
			en, ok := o.book.OutboxEntry(township, duty.ZeroReportID(village, fmt.Sprintf("202603%02d", d)))
			if !ok {
				t.Fatalf("no message of day %d waits for the township", d)
			}
			acks = append(acks, en)
		}
		return &peerv1.CaseCommand{Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{Acks: acks}}}
	}
	read := func(o *office) []string {
		var got []string
		o.book.OutboxScan(township, "", func(en *peerv1.OutboxEntry) bool {
			got = append(got, en.GetCaseNumber())
			return true
		})
		return got
	}
	whole := func(o *office) []string {
		var got []string
		for _, en := range o.book.Outbox() {
			if en.GetDestOffice() == township {
				got = append(got, en.GetCaseNumber())
			}
		}
		return got
	}
	check := func(o *office, when string) {
		t.Helper()
		for range 2 {
			if got, want := read(o), whole(o); !slices.Equal(got, want) {
				t.Fatalf("%s: read %v; the whole outbox holds %v", when, got, want)
			}
		}
	}

	// The follower read its outbox with days 10 to 12 receipted: its
	// front is day 13.
	follower := newOffice(t, village, reg)
	for d := 10; d < 20; d++ {
		apply(follower, zero(d))
	}
	apply(follower, ack(follower, 10, 11, 12))
	check(follower, "the follower's own outbox")

	// The leader's book holds day 5 and not day 13; the follower is
	// restored from it, at the same count of additions as its own.
	leader := newOffice(t, village, reg)
	apply(leader, zero(5))
	for d := 10; d < 20; d++ {
		apply(leader, zero(d))
	}
	apply(leader, ack(leader, 10, 11, 12, 13))
	var stream bytes.Buffer
	if _, err := leader.book.Stream(&stream); err != nil {
		t.Fatal(err)
	}
	if err := follower.book.Restore(&stream); err != nil {
		t.Fatal(err)
	}
	follower.index = leader.index
	check(follower, "restored from the leader's snapshot")
	if got := read(follower); len(got) == 0 || got[0] != duty.ZeroReportID(village, "20260305") {
		t.Fatalf("restored from the leader's snapshot: read %v, the first not day 5", got)
	}

	// A message receipted and one added before the front in one batch.
	apply(follower, ack(follower, 5, 14), zero(6))
	check(follower, "a message receipted and one added before the front in one batch")
}
