package casebook

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// sweep is one leader's sweep at the office's clock: the cases CardsDue
// finds, applied as an EvaluateCards entry. It returns how many checks
// it proposed.
func (o *office) sweep() int {
	o.t.Helper()
	checks, err := o.book.CardsDue(o.now, o.reg, supervision.Policy{}, MaxCardChecks)
	if err != nil {
		o.t.Fatal(err)
	}
	if len(checks) > 0 {
		o.evaluate(checks)
	}
	return len(checks)
}

// evaluate applies an EvaluateCards entry at the office's clock.
func (o *office) evaluate(checks []*peerv1.CardCheck) {
	o.t.Helper()
	o.index++
	cmd := &peerv1.CaseCommand{AtUnixNano: o.now.UnixNano(), Op: &peerv1.CaseCommand_EvaluateCards{EvaluateCards: &peerv1.EvaluateCards{Checks: checks}}}
	if res := o.book.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Cmd: cmd}}, o.index, o.reg)[0]; res.Err != nil {
		o.t.Fatal(res.Err)
	}
}

func (o *office) cards(q CardQuery) map[string]*yizhanv1.Card {
	o.t.Helper()
	q.PageSize = 1000
	cs, _, err := o.book.Cards(q)
	if err != nil {
		o.t.Fatal(err)
	}
	out := map[string]*yizhanv1.Card{}
	for _, c := range cs {
		k := c.GetCaseNumber() + " " + c.GetRule().String()
		if out[k] != nil {
			o.t.Errorf("card %s listed twice", k)
		}
		out[k] = c
	}
	return out
}

func day(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, registry.CST) }

// The cards of a month at a county, and its figures worked out by hand.
// March 2026 has no holiday; the Qingming holiday (4–6 April) falls in
// the last case's limit.
func TestCardsAndFiguresOfAMonth(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	o.now = day(3, 2, 9) // Monday 2 March

	// A: licence (promised 10, statutory 20), accepted and decided on the
	// day: same day, in time, 0 working days used.
	a := o.file(licence, 1, Request{})
	o.act(a, casework.ActionAccept, nil)
	o.act(a, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	o.act(a, casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"})
	// B: licence, accepted 2 March, decided 23 March: due 16 March, 15
	// working days used, late.
	b := o.file(licence, 2, Request{})
	o.act(b, casework.ActionAccept, nil)
	o.act(b, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	// C: a filing nobody answers: §32's 5 working days end on 9 March.
	c := o.file(licence, 3, Request{})
	// D: two correction notices on one case; then accepted on 3 March.
	d := o.file(service, 4, Request{})
	o.act(d, casework.ActionRequestCorrection, &yizhanv1.CaseActionRequest{MissingMaterials: []string{"居民身份证"}, Reason: "缺身份证"})
	o.act(d, casework.ActionResubmit, &yizhanv1.CaseActionRequest{Materials: []*yizhanv1.SubmittedMaterial{{Name: "居民身份证", Copies: 1}}})
	// The second notice as an older release made them: today's rules
	// refuse a second one (the one-time notice).
	o.appendOld(d, &yizhanv1.CaseEvent{Type: yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED, Actor: "clerk", MissingMaterials: []string{"居民身份证"}, Reason: "复印件不清"})
	o.act(d, casework.ActionResubmit, &yizhanv1.CaseActionRequest{Materials: []*yizhanv1.SubmittedMaterial{{Name: "居民身份证", Copies: 1}}})

	// E: service (promised 3), accepted 3 March: due 6 March.
	o.now = day(3, 3, 9)
	o.act(d, casework.ActionAccept, nil)
	e := o.file(service, 5, Request{})
	o.act(e, casework.ActionAccept, nil)

	if n := o.sweep(); n != 0 {
		t.Errorf("3 March: %d cases earn a card by time", n)
	}
	// 4 March: E has 2 working days left (5 and 6 March): a warning. D
	// (due 6 March too) as well.
	o.now = day(3, 4, 10)
	o.sweep()
	// A second leader sweeping the same cases at once issues nothing
	// more: the appliers decide, on what the book holds.
	o.evaluate([]*peerv1.CardCheck{{CaseNumber: e, Rule: yizhanv1.CardRule_CARD_RULE_DUE_SOON}})
	// 10 March: C waited past 9 March; D and E are past 6 March.
	o.now = day(3, 10, 10)
	o.sweep()
	o.evaluate([]*peerv1.CardCheck{{CaseNumber: c, Rule: yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME}, {CaseNumber: e, Rule: yizhanv1.CardRule_CARD_RULE_OVERDUE}})
	if n := o.sweep(); n != 0 {
		t.Errorf("a second sweep proposed %d checks", n)
	}
	o.act(d, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	o.act(d, casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: false, Reason: "不符合条件", LegalBasis: "《婚姻登记条例》"})
	o.now = day(3, 23, 9)
	o.act(b, casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"})
	o.check()
	checkNamesDamage(t, o.book, o.reg, pCardByTime, pQueueByDue)

	rule := func(r yizhanv1.CardRule) string { return " " + r.String() }
	want := map[string]yizhanv1.CardColour{
		d + rule(yizhanv1.CardRule_CARD_RULE_SECOND_CORRECTION):    yizhanv1.CardColour_CARD_COLOUR_YELLOW,
		d + rule(yizhanv1.CardRule_CARD_RULE_DUE_SOON):             yizhanv1.CardColour_CARD_COLOUR_YELLOW,
		d + rule(yizhanv1.CardRule_CARD_RULE_OVERDUE):              yizhanv1.CardColour_CARD_COLOUR_RED,
		e + rule(yizhanv1.CardRule_CARD_RULE_DUE_SOON):             yizhanv1.CardColour_CARD_COLOUR_YELLOW,
		e + rule(yizhanv1.CardRule_CARD_RULE_OVERDUE):              yizhanv1.CardColour_CARD_COLOUR_RED,
		c + rule(yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME): yizhanv1.CardColour_CARD_COLOUR_YELLOW,
		b + rule(yizhanv1.CardRule_CARD_RULE_OVERDUE):              yizhanv1.CardColour_CARD_COLOUR_RED,
	}
	got := o.cards(CardQuery{})
	for k, colour := range want {
		staff := "clerk"
		if k == b+rule(yizhanv1.CardRule_CARD_RULE_OVERDUE) {
			staff = "approver" // decided late: the card is the decision's
		}
		if got[k] == nil {
			t.Errorf("no card %s", k)
		} else if got[k].GetColour() != colour || got[k].GetOfficeCode() != county || got[k].GetStaff() != staff {
			t.Errorf("card %s: %v", k, got[k])
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected card %s: %v", k, got[k])
		}
	}
	if c := got[e+rule(yizhanv1.CardRule_CARD_RULE_OVERDUE)]; c != nil && !c.GetAt().AsTime().Equal(reg.AddWorkingDays(day(3, 3, 9), 3)) {
		t.Errorf("E's red card is dated %v, want its due time", c.GetAt().AsTime())
	}
	if c := got[c+rule(yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME)]; c != nil && c.GetAt().AsTime().In(registry.CST).Day() != 9 {
		t.Errorf("C's card is dated %v, want the end of 9 March", c.GetAt().AsTime())
	}
	if red := o.cards(CardQuery{Colour: yizhanv1.CardColour_CARD_COLOUR_RED}); len(red) != 3 {
		t.Errorf("red cards: %d, want 3", len(red))
	}
	if one := o.cards(CardQuery{Office: township}); len(one) != 0 {
		t.Errorf("the township's cards: %v", one)
	}

	// The figures of March, counted by hand:
	// received 5; accepted A B D E = 4; decided A B D = 3 (A, B approved,
	// D denied); same day: A (of 2 March's 2 acceptances, 3 March's 2:
	// daily rates 1/2 and 0/2, average 0.25); in time A only (B late, D
	// decided 10 March past 6 March); Σstatutory 20+20+5 = 45, Σpromised
	// 10+10+3 = 23; working days used A 0, B 15, D 5 (3→10 March) = 20.
	groups, err := o.book.SumStats(RangeQuery{From: day(3, 1, 0), To: day(3, 31, 0), Office: county, Subtree: true}, func(Stat) string { return "*" })
	if err != nil {
		t.Fatal(err)
	}
	days, err := o.book.Daily(DailyAll(), day(3, 1, 0), day(3, 31, 0))
	if err != nil {
		t.Fatal(err)
	}
	f := supervision.Compute(groups["*"], days)
	for name, v := range map[string][2]float64{
		"received": {float64(f.Received), 5}, "accepted": {float64(f.Accepted), 4}, "decided": {float64(f.Decided), 3},
		"approved": {float64(f.Approved), 2}, "denied": {float64(f.Denied), 1}, "promised decided": {float64(f.PromisedDecided), 3},
		"same day": {float64(f.SameDayDecided), 1}, "same-day rate": {f.GetSameDayRate(), 0.25},
		"average daily same-day rate": {f.GetAverageDailySameDayRate(), 0.25},
		"in time":                     {float64(f.InTimeDecided), 1}, "in-time rate": {f.GetInTimeRate(), 1.0 / 3},
		"statutory days": {float64(f.StatutoryDays), 45}, "promised days": {float64(f.PromisedDays), 23},
		"working days used": {float64(f.WorkingDaysUsed), 20},
		"承诺提速":              {f.GetPromiseSpeedup(), 1 - 23.0/45}, "办理提速": {f.GetHandlingSpeedup(), 1 - 20.0/45},
		"average working days": {f.GetAverageWorkingDays(), 20.0 / 3},
		"red cards":            {float64(f.RedCards), 3}, "yellow cards": {float64(f.YellowCards), 4},
	} {
		if math.Abs(v[0]-v[1]) > 1e-9 {
			t.Errorf("%s: %v, want %v", name, v[0], v[1])
		}
	}
	// By day: 2 March alone.
	groups, err = o.book.SumStats(RangeQuery{From: day(3, 2, 0), To: day(3, 2, 0), Office: county}, func(s Stat) string { return s.Department })
	if err != nil {
		t.Fatal(err)
	}
	if yc := groups["yc"]; yc[supervision.Received] != 3 || yc[supervision.Accepted] != 2 || yc[supervision.DecidedSameDay] != 1 {
		t.Errorf("2 March, department yc: %v", yc)
	}
}

// A red card issued from a mirror that had not shown the decision yet is
// withdrawn when the decision, made in time, arrives.
func TestRedCardFromAStaleMirrorIsWithdrawn(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	o.now = day(3, 2, 9)
	n := o.file(service, 1, Request{})
	o.act(n, casework.ActionAccept, nil)
	o.act(n, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	// The book sees the case running past its due time (5 March) …
	o.now = day(3, 9, 9)
	o.evaluate([]*peerv1.CardCheck{{CaseNumber: n, Rule: yizhanv1.CardRule_CARD_RULE_OVERDUE}})
	if cs := o.cards(CardQuery{CaseNumber: n}); len(cs) != 1 {
		t.Fatalf("cards: %v", cs)
	}
	// … then learns it was decided on 4 March.
	at := o.now
	o.now = day(3, 4, 9)
	o.act(n, casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"})
	o.now = at.Add(time.Hour)
	o.check()
	cs := o.cards(CardQuery{CaseNumber: n})
	card := cs[n+" "+yizhanv1.CardRule_CARD_RULE_OVERDUE.String()]
	if card == nil || !card.GetWithdrawn() || card.GetWithdrawnReason() == "" {
		t.Fatalf("the red card: %v", card)
	}
	groups, err := o.book.SumStats(RangeQuery{From: day(3, 1, 0), To: day(3, 31, 0)}, func(Stat) string { return "*" })
	if err != nil {
		t.Fatal(err)
	}
	if f := supervision.Compute(groups["*"], nil); f.RedCards != 0 || f.InTimeDecided != 1 {
		t.Errorf("after the withdrawal: %d red cards, %d decided in time", f.RedCards, f.InTimeDecided)
	}
}

// A book whose counters were counted by the previous release counts them
// again before it applies anything more, and then checks.
func TestCountersOfAnOlderReleaseAreCountedAgain(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	n := o.file(licence, 1, Request{})
	o.act(n, casework.ActionAccept, nil)
	o.act(n, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	o.act(n, casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"})
	// What the previous release left: format-1 counters, no daily series.
	db := o.book.db
	if err := db.DropPrefix([]byte(pDaily), keyStatsFormat); err != nil {
		t.Fatal(err)
	}
	if !o.reopen() {
		t.Fatal("a book without its counters' format is not counted again")
	}
	b := o.book
	if b.statsStale.Load() {
		t.Error("still stale after applying")
	}
	if problems, err := b.Check(context.Background(), reg); err != nil || len(problems) > 0 {
		t.Fatalf("check: %v %v", problems, err)
	}
	days, err := b.Daily(DailyAll(), t0, t0)
	if err != nil || len(days) != 1 || days[0].Accepted != 1 || days[0].SameDay != 1 {
		t.Errorf("the daily series after the recount: %v %v", days, err)
	}
}

// The event rules met when the event is stored: a fee off the item's
// standard (the licence is free: an event of an older release, as
// today's rules refuse to make it), and a filing first answered after
// §32's five working days (accepted on the sixth).
func TestCardsOnEvents(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	o.now = day(3, 2, 9) // Monday
	fee := o.file(licence, 1, Request{})
	o.act(fee, casework.ActionAccept, nil)
	if res := o.appendOld(fee, &yizhanv1.CaseEvent{Type: yizhanv1.EventType_EVENT_TYPE_FEE_ASSESSED, Actor: "clerk", FeeCents: 5000}); res.Err != nil {
		t.Fatalf("assess a fee: %v", res.Err)
	}
	late := o.file(licence, 2, Request{})
	o.now = day(3, 10, 9) // Tuesday of the next week: past the end of 9 March
	o.act(late, casework.ActionAccept, nil)
	o.check()
	got := o.cards(CardQuery{})
	if c := got[fee+" "+yizhanv1.CardRule_CARD_RULE_FEE_NOT_STANDARD.String()]; c == nil || c.GetColour() != yizhanv1.CardColour_CARD_COLOUR_YELLOW {
		t.Errorf("no yellow card for the fee: %v", got)
	}
	if c := got[late+" "+yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME.String()]; c == nil || c.GetAt().AsTime().In(registry.CST).Day() != 9 {
		t.Errorf("no §32 card dated 9 March for the late acceptance: %v", got)
	}
	if len(got) != 2 {
		t.Errorf("cards: %v, want the two", got)
	}
}

// A 现场勘查 of 5 working days begun on Monday 2 March 2026 reaches its
// limit at the end of Monday 9 March: a case still suspended on the 10th
// gets the yellow card from the sweep, once; one resumed on the 10th gets
// it from its RESUMED event; one resumed on the 9th gets none.
func TestSuspensionPastItsProceduresLimit(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	o.now = day(3, 2, 9)
	var left, resumedLate, resumedInTime string
	for i, n := range []*string{&left, &resumedLate, &resumedInTime} {
		*n = o.file(licence, i, Request{})
		o.act(*n, casework.ActionAccept, nil)
		o.act(*n, casework.ActionSuspend, &yizhanv1.CaseActionRequest{SpecialProcedure: "现场勘查", Reason: "需现场核实经营场所"})
	}
	rule := yizhanv1.CardRule_CARD_RULE_SUSPENSION_OVER_LIMIT
	o.now = day(3, 9, 16)
	o.act(resumedInTime, casework.ActionResume, &yizhanv1.CaseActionRequest{Reason: "勘查完毕"})
	o.sweep()
	if got := o.cards(CardQuery{Office: county, Rule: rule}); len(got) != 0 {
		t.Errorf("cards on the limit's last day: %v", got)
	}
	o.now = day(3, 10, 9)
	o.act(resumedLate, casework.ActionResume, &yizhanv1.CaseActionRequest{Reason: "勘查完毕"})
	o.sweep()
	o.now = day(3, 11, 9)
	o.sweep()
	got := o.cards(CardQuery{Office: county, Rule: rule})
	for _, n := range []string{left, resumedLate} {
		c := got[n+" "+rule.String()]
		if c == nil {
			t.Errorf("%s: no card, got %v", n, got)
			continue
		}
		if c.GetColour() != yizhanv1.CardColour_CARD_COLOUR_YELLOW || !c.GetAt().AsTime().Equal(reg.AddWorkingDays(day(3, 2, 9), 5)) ||
			c.GetOfficeCode() != county || c.GetDepartmentCode() == "" {
			t.Errorf("%s: card %v, want yellow at the end of 9 March", n, c)
		}
	}
	if len(got) != 2 {
		t.Errorf("cards: %v, want %s's and %s's", got, left, resumedLate)
	}
	if c, _ := o.book.Case(left); !c.GetSuspended() {
		t.Fatal("the card resumed the case: it must be staff who resume it")
	}
	o.check()
}

// Counting again a book of many days' counters, a few dozen held at a
// time, writes the same counters and daily series as the book had kept
// at apply time, each once.
func TestCountersCountedAgainAFewAtATime(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	o.step = 13 * time.Hour
	for i := range 300 {
		n := o.file(licence, i, Request{})
		if i%2 == 0 {
			o.act(n, casework.ActionAccept, nil)
		}
	}
	db := o.book.db
	amounts := func() map[string]string {
		out := map[string]string{}
		err := db.View(func(txn *badger.Txn) error {
			for _, p := range []string{pStat, pDaily} {
				if err := eachKey(txn, []byte(p), func(k, v []byte) error {
					out[string(k)] = string(v)
					return nil
				}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	kept := amounts()
	// What an older release left: its counters (here, one wrong and one
	// not counted by today's definitions), an older format.
	stray := statKey(string(rune(Day))+"20350101", county, licence, "yc", supervision.Received)
	if err := db.Update(func(txn *badger.Txn) error {
		for k := range kept {
			if err := txn.Set([]byte(k), be64(99)); err != nil {
				return err
			}
			break
		}
		if err := txn.Set(stray, be64(1)); err != nil {
			return err
		}
		// Counted by a release whose counters were defined otherwise
		// (one from restepFrom on only lacks the steps' index).
		return txn.Set(keyStatsFormat, be64(restepFrom-1))
	}); err != nil {
		t.Fatal(err)
	}
	defer func(n int) { upgradeSpillAt = n }(upgradeSpillAt)
	upgradeSpillAt = 40
	b, err := Open(db, county)
	if err != nil {
		t.Fatal(err)
	}
	if !b.statsStale.Load() {
		t.Fatal("a book of an older format is not counted again")
	}
	o.book = b
	o.mem = casework.NewBook(county)
	o.index++
	b.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Cmd: &peerv1.CaseCommand{Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{}}}}}, o.index, reg)
	if b.statsStale.Load() {
		t.Error("still stale after applying")
	}
	if len(kept) < 20*upgradeSpillAt {
		t.Fatalf("%d counters and series: the test means many spills", len(kept))
	}
	if got := amounts(); !maps.Equal(got, kept) {
		for k, v := range got {
			if kept[k] != v {
				t.Errorf("%q: %x after counting again, %x kept at apply time", k, v, kept[k])
			}
		}
		t.Errorf("%d counters and series after counting again, %d kept at apply time", len(got), len(kept))
	}
	if problems, err := b.Check(t.Context(), reg); err != nil || len(problems) > 0 {
		t.Fatalf("check: %q %v", problems, err)
	}
}

// The recount walks the cases by the day in their numbers, across the
// offices, each case once; a key that is no case number comes first.
func TestEachCaseByDay(t *testing.T) {
	db := openDB(t, t.TempDir())
	var want []string
	offices := []string{"450122000000", "450122101000", "450122101201", "450122102000"}
	err := db.Update(func(txn *badger.Txn) error {
		for i, o := range offices {
			for d := range 5 {
				day := time.Date(2026, 3, 1+3*d+i%3, 0, 0, 0, 0, registry.CST)
				for seq := range 3 {
					n := casework.CaseNumber(o, day, uint32(seq+1))
					want = append(want, n)
					if err := txn.Set(caseKey(n), []byte(n)); err != nil {
						return err
					}
				}
			}
		}
		return txn.Set([]byte(pCase+"junk"), []byte("junk"))
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = db.View(func(txn *badger.Txn) error {
		return eachCaseByDay(txn, func(k, v []byte) error {
			if string(k[len(pCase):]) != string(v) {
				t.Errorf("key %q holds %q", k, v)
			}
			got = append(got, string(v))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want)+1 || got[0] != "junk" {
		t.Fatalf("walked %d keys, want %d and the stray key first: %q", len(got), len(want)+1, got)
	}
	day := func(n string) string { _, d, _, _ := casework.ParseCaseNumber(n); return d }
	for i := 2; i < len(got); i++ {
		if day(got[i]) < day(got[i-1]) {
			t.Errorf("%s walked after %s", got[i], got[i-1])
		}
	}
	slices.Sort(want)
	rest := slices.Clone(got[1:])
	slices.Sort(rest)
	if !slices.Equal(rest, want) {
		t.Errorf("walked %q, want each of %q once", rest, want)
	}
}

// While the counters are counted again the statistics are not read: the
// figures held are part of the whole. A recount stopped part-way (the
// node killed) leaves the book marked, so that the node started again
// does not read them either until its first write counts them whole; a
// read that began before a recount and ended after it fails too.
func TestStatisticsNotReadWhileCountedAgain(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	o.step = 13 * time.Hour
	t0 := o.now
	for i := range 60 {
		n := o.file(licence, i, Request{})
		if i%2 == 0 {
			o.act(n, casework.ActionAccept, nil)
		}
	}
	q := RangeQuery{From: t0, To: o.now, Office: county, Subtree: true}
	all := func(Stat) string { return "*" }
	want, err := o.book.SumStats(q, all)
	if err != nil || want["*"][supervision.Received] != 60 || want["*"][supervision.Accepted] != 30 {
		t.Fatalf("the figures before: %v %v", want, err)
	}
	db := o.book.db
	// Counted by a release whose counters were defined otherwise (the
	// one from restepFrom on only lacks the steps' index: no recount).
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set(keyStatsFormat, be64(restepFrom-1)) }); err != nil {
		t.Fatal(err)
	}
	reads := func(b *Book) map[string]error {
		_, sumErr := b.SumStats(q, all)
		_, dailyErr := b.Daily(DailyAll(), t0, o.now)
		_, statsErr := b.Stats(StatsQuery{Period: PeriodOf(Year, t0)})
		_, checkErr := b.Check(t.Context(), reg)
		return map[string]error{"SumStats": sumErr, "Daily": dailyErr, "Stats": statsErr, "Check": checkErr}
	}
	refused := func(when string, b *Book) {
		t.Helper()
		for name, err := range reads(b) {
			if !errors.Is(err, ErrStatsRecounting) || reason.ReasonOf(err) != reason.StatsRecounting {
				t.Errorf("%s: %s answered %v, not that the statistics are being counted again", when, name, err)
			}
		}
	}
	ack := func(b *Book) {
		o.index++
		b.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Cmd: &peerv1.CaseCommand{Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{}}}}}, o.index, reg)
	}
	defer func() { upgradeCaseMet = nil }()

	// Started again with the older format, the book serves the older
	// counters until its first write; Check, which counts with today's
	// definitions, waits for the recount.
	b, err := Open(db, county)
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range reads(b) {
		if (name == "Check") != errors.Is(err, ErrStatsRecounting) || name != "Check" && err != nil {
			t.Errorf("before the recount: %s: %v", name, err)
		}
	}
	// A read that began before the recount and ended after it is refused;
	// then the recount is killed part-way.
	reached, release := make(chan struct{}), make(chan struct{})
	stopped := errors.New("killed")
	upgradeCaseMet = func(cases int) error {
		switch cases {
		case 1:
			close(reached)
			<-release
		case 20:
			refused("part-way", b)
			return stopped
		}
		return nil
	}
	killed := make(chan any)
	first := true
	_, err = b.SumStats(q, func(Stat) string {
		if first {
			first = false
			go func() {
				defer func() { killed <- recover() }()
				ack(b)
			}()
			<-reached
		}
		return "*"
	})
	if !errors.Is(err, ErrStatsRecounting) {
		t.Errorf("a read overlapping the recount answered %v", err)
	}
	close(release)
	if r := <-killed; r == nil || !strings.Contains(fmt.Sprint(r), "killed") {
		t.Fatalf("the recount went on after it was stopped: %v", r)
	}
	upgradeCaseMet = nil
	b, err = Open(db, county)
	if err != nil {
		t.Fatal(err)
	}
	if !b.statsStale.Load() {
		t.Fatal("a book stopped part-way through its recount is not counted again")
	}
	refused("started again after a recount stopped part-way", b)
	ack(b)

	// Counted whole: read again, and the same figures.
	for name, err := range reads(b) {
		if err != nil {
			t.Errorf("after the recount: %s: %v", name, err)
		}
	}
	if got, err := b.SumStats(q, all); err != nil || !maps.Equal(got["*"], want["*"]) {
		t.Errorf("the figures after the recount: %v %v, want %v", got, err, want)
	}
	if problems, err := b.Check(t.Context(), reg); err != nil || len(problems) > 0 {
		t.Fatalf("check: %q %v", problems, err)
	}
	if b, err := Open(db, county); err != nil || b.statsEpoch.Load()%2 != 0 || b.statsStale.Load() {
		t.Errorf("opened again after the recount: marked %v, stale %v, %v", b.statsEpoch.Load()%2 == 1, b.statsStale.Load(), err)
	}
}
