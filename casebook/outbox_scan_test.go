package casebook

import (
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
