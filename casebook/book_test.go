package casebook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/supervision"
)

var (
	villageAgent = casework.Actor{Username: "agent", Office: village, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}}
	citizen      = casework.Actor{Name: "申请人", Citizen: true}
)

// actAs takes an action on a case as actor.
func (o *office) actAs(actor casework.Actor, number string, a casework.Action, in *yizhanv1.CaseActionRequest) Result {
	o.t.Helper()
	c, events, ok := o.book.CaseAndEvents(number)
	if !ok {
		o.t.Fatalf("%s holds no case %s", o.code, number)
	}
	e, err := casework.NewEvent(c, nil, a, in, actor, o.code, o.now.Add(time.Minute), o.reg)
	if err != nil {
		o.t.Fatalf("%s %s: %v", a, number, err)
	}
	casework.Seal(e, events[len(events)-1].GetHash())
	return o.apply(Request{}, appendCmd(number, e))
}

// settle runs the federation of offices until nothing moves: each office
// does what it does by itself, and each outbox entry is received at its
// destination (if it is one of offices) and acknowledged.
func settle(t *testing.T, offices map[string]*office) {
	t.Helper()
	for range 20 {
		moved := false
		for _, o := range offices {
			o.auto()
			for _, en := range o.book.Outbox() {
				dest, ok := offices[en.GetDestOffice()]
				if !ok {
					continue
				}
				msg, ok := o.book.Message(en)
				if !ok {
					t.Fatalf("%s: no message for %v", o.code, en)
				}
				if res := dest.apply(Request{}, &peerv1.CaseCommand{Op: &peerv1.CaseCommand_Receive{Receive: &peerv1.ReceiveCaseMessages{Messages: []*peerv1.CaseMessage{msg}}}}); res.Err != nil {
					t.Fatalf("%s receives %s: %v", dest.code, en.GetCaseNumber(), res.Err)
				}
				if res := o.apply(Request{}, &peerv1.CaseCommand{Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{Acks: []*peerv1.OutboxEntry{en}}}}); res.Err != nil {
					t.Fatalf("%s acks %s: %v", o.code, en.GetCaseNumber(), res.Err)
				}
				moved = true
			}
		}
		if !moved {
			return
		}
	}
	t.Fatal("the offices did not settle")
}

// Every command applied to the book on disk gives the answer, the cases,
// events, outbox and pending work the book in memory gives — the rules are
// casework's, the book only stores them — and the indexes and counters
// agree with the cases after each step.
func TestBookOnDiskAppliesAsTheBookInMemory(t *testing.T) {
	reg := newRegistry(t)
	// The rules read the catalogue's items as the registry holds them
	// (ItemView, no copy): whatever they do, the items stay as they were.
	items := map[string]*yizhanv1.Item{}
	for _, code := range []string{licence, service} {
		it, err := reg.Item(code, 0)
		if err != nil {
			t.Fatal(err)
		}
		items[code] = it
	}
	defer func() {
		for code, want := range items {
			if got, err := reg.ItemView(code, want.GetVersion()); err != nil || !proto.Equal(got, want) {
				t.Errorf("item %s after the cases' rules: %v, %v; want it as it was", code, got, err)
			}
		}
	}()
	c, tw, v := newOffice(t, county, reg), newOffice(t, township, reg), newOffice(t, village, reg)
	tw.index, v.index = 500, 1000 // the offices' logs are their own
	offices := map[string]*office{county: c, township: tw, village: v}

	// At the county's window: accepted, reviewed, approved, certified,
	// delivered, rated; one refused; one denied; one withdrawn; one left
	// waiting.
	var numbers []string
	for i := range 5 {
		numbers = append(numbers, c.file(licence, i, Request{}))
	}
	c.sameAsMemory()
	for _, n := range numbers[:4] {
		c.act(n, casework.ActionAccept, nil)
	}
	c.act(numbers[4], casework.ActionRefuse, &yizhanv1.CaseActionRequest{Reason: "不属于本机关职权", LegalBasis: "《行政许可法》第三十二条"})
	for _, n := range numbers[:3] {
		c.act(n, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	}
	c.act(numbers[0], casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"})
	c.act(numbers[1], casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: false, Reason: "不符合布局要求", LegalBasis: "《烟草专卖法实施条例》第十条"})
	c.actAs(citizen, numbers[2], casework.ActionWithdraw, &yizhanv1.CaseActionRequest{Reason: "不办了"})
	c.act(numbers[0], casework.ActionCertify, &yizhanv1.CaseActionRequest{CertificateNumber: "C-1"})
	c.auto()
	c.act(numbers[0], casework.ActionDeliver, nil)
	c.auto()
	c.actAs(citizen, numbers[0], casework.ActionRate, &yizhanv1.CaseActionRequest{Rating: yizhanv1.Rating_RATING_VERY_SATISFIED, Reason: "窗口服务热情"})
	c.sameAsMemory()

	// Proxy-filed at the village, carried to the county, decided there,
	// and carried back to be delivered where the citizen filed.
	var fromVillage []string
	for i := range 3 {
		fromVillage = append(fromVillage, v.fileAs(villageAgent, service, 100+i, Request{}))
	}
	settle(t, offices)
	for _, n := range fromVillage {
		got, ok := c.book.Case(n)
		if !ok || got.GetOwnerOffice() != county {
			t.Fatalf("case %s at the county: %v, %v", n, got, ok)
		}
		c.act(n, casework.ActionAccept, nil)
		c.act(n, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
		c.act(n, casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"})
		c.act(n, casework.ActionCertify, &yizhanv1.CaseActionRequest{CertificateNumber: "Z-" + n})
	}
	settle(t, offices)
	for _, n := range fromVillage {
		got, ok := v.book.Case(n)
		if !ok || got.GetOwnerOffice() != village || got.GetState() != yizhanv1.CaseState_CASE_STATE_CERTIFIED {
			t.Fatalf("case %s back at the village: %v, %v", n, got, ok)
		}
		v.actAs(villageAgent, n, casework.ActionDeliver, nil)
	}
	settle(t, offices)
	for _, o := range offices {
		o.sameAsMemory()
		if o.book.OutboxLen() != 0 {
			t.Errorf("%s: %d messages left in the outbox", o.code, o.book.OutboxLen())
		}
	}
	for _, n := range fromVillage {
		got, _ := c.book.Case(n)
		if got.GetState() != yizhanv1.CaseState_CASE_STATE_CLOSED || !got.GetMirror() {
			t.Errorf("county's copy of %s: state %s, mirror %v; want closed, a mirror", n, got.GetState(), got.GetMirror())
		}
	}

	// What every case allows every actor (the answers' actions), and
	// its clocks, read the items too.
	for _, o := range offices {
		for _, n := range append(slices.Clone(numbers), fromVillage...) {
			cs, events, ok := o.book.CaseAndEvents(n)
			if !ok {
				continue
			}
			for _, actor := range []casework.Actor{clerk, villageAgent, citizen} {
				casework.AllowedActions(cs, events, actor, o.code, o.now, reg)
			}
			casework.Clocks(cs, events, reg, o.now)
		}
	}

	// A failing command answers as the book in memory does and writes
	// nothing but the index it reached.
	before, applied := contents(t, c.book), c.book.Applied()
	e, err := casework.NewEvent(mustCase(t, c.book, numbers[3]), nil, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"}, clerk, county, c.now, reg)
	if err != nil {
		t.Fatal(err)
	}
	casework.Seal(e, []byte("not the previous hash"))
	if res := c.apply(Request{}, appendCmd(numbers[3], e)); res.Err == nil {
		t.Fatal("an event off the chain was applied")
	}
	sameContents(t, before, contents(t, c.book))
	if c.book.Applied() != c.index || applied >= c.index {
		t.Errorf("applied %d after a refused command at %d (was %d): the index moves on", c.book.Applied(), c.index, applied)
	}
}

func mustCase(t *testing.T, b *Book, number string) *yizhanv1.Case {
	t.Helper()
	c, ok := b.Case(number)
	if !ok {
		t.Fatalf("no case %s", number)
	}
	return c
}

// contents are the book's keys and values but its meta keys (the raft
// index it reached, the counts, written with each commit).
func contents(t *testing.T, b *Book) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := b.db.View(func(txn *badger.Txn) error {
		return eachKey(txn, []byte(prefix), func(k, v []byte) error {
			if !bytes.HasPrefix(k, []byte(prefix+"m/")) {
				out[string(k)] = string(v)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameContents(t *testing.T, before, after map[string]string) {
	t.Helper()
	for k, v := range after {
		if w, ok := before[k]; !ok || w != v {
			t.Errorf("key %q written", k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			t.Errorf("key %q deleted", k)
		}
	}
}

func digestOf(t *testing.T, b *Book) ([]byte, uint64) {
	t.Helper()
	d, applied, err := b.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d, applied
}

// A node started again reopens its book where it stopped: the entries the
// book holds are not applied twice when raft replays its log.
func TestReopenedBookSkipsWhatItApplied(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	db := openDB(t, dir)
	o := newOffice(t, county, reg)
	o.book = openBook(t, db, county)
	var entries []Entry
	for i := range 20 {
		o.file(licence, i, Request{ID: fmt.Sprintf("req-%d", i), Hash: []byte{byte(i)}})
	}
	o.sameAsMemory()
	digest, applied := digestOf(t, o.book)
	if applied != o.index {
		t.Fatalf("applied %d, want %d", applied, o.index)
	}

	// Raft replays its whole log after a restart: every entry again.
	reopened := openBook(t, db, county)
	if reopened.Len() != 20 || reopened.Applied() != applied {
		t.Fatalf("reopened: %d cases through %d; want 20 through %d", reopened.Len(), reopened.Applied(), applied)
	}
	for i, c := range o.mem.List(casework.ListFilter{}) {
		entries = append(entries, Entry{Index: applied - 19 + uint64(i), Request: Request{ID: fmt.Sprintf("req-%d", i), Hash: []byte{byte(i)}},
			Cmd: appendCmd(c.GetNumber(), o.mem.Events(c.GetNumber())[0])})
	}
	for _, res := range reopened.Apply(entries, applied, reg) {
		if res.Err != nil {
			t.Fatalf("replayed entry %d: %v", res.Index, res.Err)
		}
	}
	if d, a := digestOf(t, reopened); !bytes.Equal(d, digest) || a != applied {
		t.Error("replaying applied entries changed the book")
	}
	if reopened.Len() != 20 {
		t.Errorf("%d cases after the replay, want 20", reopened.Len())
	}
}

// The cases the office must act on by itself are counted when a book
// opens (the count is kept in memory only, and NeedsAction reads nothing
// while it is zero), so a node started again still steps them; Check
// compares the count with the keys.
func TestNeedsActionCountedWhenTheBookOpens(t *testing.T) {
	reg := newRegistry(t)
	db := openDB(t, t.TempDir())
	o := newOffice(t, village, reg)
	o.book = openBook(t, db, village)
	if got := o.book.NeedsAction(); len(got) != 0 {
		t.Fatalf("an empty book needs an action on %v", got)
	}
	// Filed at the village for an item the county decides: the village
	// forwards it by itself.
	n := o.fileAs(villageAgent, service, 0, Request{})
	want := o.book.NeedsAction()
	if !slices.Equal(want, []string{n}) {
		t.Fatalf("after the filing, NeedsAction %v; want [%s]", want, n)
	}
	if problems, err := o.book.Check(t.Context(), reg); err != nil || len(problems) > 0 {
		t.Fatalf("check: %v %v", problems, err)
	}

	o.book = openBook(t, db, village)
	if got := o.book.NeedsAction(); !slices.Equal(got, want) {
		t.Fatalf("reopened, NeedsAction %v; want %v", got, want)
	}
	o.auto()
	o.sameAsMemory()
	if got := o.book.NeedsAction(); len(got) != 0 {
		t.Errorf("after the office's own step, NeedsAction %v", got)
	}
	if got := o.book.Outbox(); len(got) != 1 || got[0].GetCaseNumber() != n {
		t.Errorf("after forwarding %s, the outbox holds %v", n, got)
	}
	if problems, err := o.book.Check(t.Context(), reg); err != nil || len(problems) > 0 {
		t.Errorf("check: %v %v", problems, err)
	}
}

// A request ID answers its first answer for as long as the book remembers
// it, refuses another request under it, and is forgotten after
// RequestMemory.
func TestRequestIDsAnswerOnce(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	req := Request{ID: "file-1", Hash: []byte("filing one")}
	number := o.file(licence, 1, req)
	first := o.book.Len()

	// The same request again (a client's retry through another node): the
	// first answer, with the first index, and nothing written.
	c, _, _ := o.book.CaseAndEvents(number)
	again := o.book.Apply([]Entry{{Index: o.index + 1, At: o.now.UnixNano(), Request: req, Cmd: appendCmd(number, o.book.Events(number)[0])}}, o.index+1, reg)[0]
	o.index++
	if again.Err != nil || again.Index != o.index-1 {
		t.Fatalf("retry: %v at %d; want the first answer at %d", again.Err, again.Index, o.index-1)
	}
	if o.book.Len() != first || len(o.book.Events(number)) != len(o.mem.Events(c.GetNumber())) {
		t.Error("the retry wrote")
	}
	if v, at, ok, err := o.book.Answered(req); !ok || err != nil || at != o.index-1 || v == nil {
		t.Errorf("Answered: %v %d %v %v", v, at, ok, err)
	}

	// Another request under the same ID.
	other := Request{ID: "file-1", Hash: []byte("something else")}
	if _, _, _, err := o.book.Answered(other); !errors.Is(err, ErrRequestConflict) {
		t.Errorf("Answered(another request, same ID): %v, want ErrRequestConflict", err)
	}
	o.index++
	res := o.book.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Request: other, Cmd: appendCmd("x", nil)}}, o.index, reg)[0]
	if !errors.Is(res.Err, ErrRequestConflict) || reason.ReasonOf(res.Err) != reason.RequestIDReused {
		t.Errorf("applying another request under a used ID: %v, want ErrRequestConflict with a reason", res.Err)
	}

	// A day later the ID is forgotten (the next entry's time moves the
	// window on).
	o.now = o.now.Add(RequestMemory + time.Hour)
	o.file(licence, 2, Request{ID: "file-2", Hash: []byte("filing two")})
	if _, _, ok, _ := o.book.Answered(req); ok {
		t.Error("a request older than RequestMemory is still remembered")
	}
	o.check()
}

// One command that would write more than one transaction may is refused
// with ErrTooLarge, on every node alike, and writes nothing; the same
// messages in smaller commands go in.
func TestCommandTooLargeIsRefusedWhole(t *testing.T) {
	reg := newRegistry(t)
	v := newOffice(t, village, reg)
	for i := range 400 {
		v.fileAs(villageAgent, service, i, Request{})
	}
	v.auto()
	var msgs []*peerv1.CaseMessage
	dest := ""
	for _, en := range v.book.Outbox() {
		m, ok := v.book.Message(en)
		if !ok {
			t.Fatalf("no message for %v", en)
		}
		dest = en.GetDestOffice()
		msgs = append(msgs, m)
	}
	if len(msgs) != 400 {
		t.Fatalf("%d messages in the village's outbox, want 400", len(msgs))
	}
	o := newOffice(t, dest, reg)
	before := contents(t, o.book)
	receive := func(ms []*peerv1.CaseMessage) *peerv1.CaseCommand {
		return &peerv1.CaseCommand{Op: &peerv1.CaseCommand_Receive{Receive: &peerv1.ReceiveCaseMessages{Messages: ms}}}
	}
	o.index++
	res := o.book.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Cmd: receive(msgs)}}, o.index, reg)[0]
	if !errors.Is(res.Err, ErrTooLarge) || reason.ReasonOf(res.Err) != reason.TooLarge {
		t.Fatalf("receiving 400 cases in one command: %v; want ErrTooLarge", res.Err)
	}
	sameContents(t, before, contents(t, o.book))
	if o.book.Applied() != o.index {
		t.Errorf("applied %d, want %d: a refused command still moves the index on", o.book.Applied(), o.index)
	}
	for i := 0; i < len(msgs); i += 50 {
		if res := o.apply(Request{}, receive(msgs[i:i+50])); res.Err != nil {
			t.Fatalf("receiving cases %d–%d: %v", i, i+50, res.Err)
		}
	}
	if o.book.Len() != 400 {
		t.Errorf("%d cases, want 400", o.book.Len())
	}
	o.check()
}

// The per-command limits fit one transaction of the smallest badger
// profile a node opens (Small: a village's, a township's) beside the
// request memory's expiry, which is bounded apart: a command within the
// limits is never more than a node's transaction can hold, whatever the
// node's badger options.
func TestCommandLimitsFitTheSmallestTransaction(t *testing.T) {
	db := openDB(t, t.TempDir())
	b := openBook(t, db, village)
	w := b.newWriter()
	defer w.txn.Discard()
	o := newOverlay(b, w.txn, nil)
	// maxCommandKeys keys of maxCommandBytes together, values under the
	// value threshold (kept in the LSM tree: counted whole).
	each := maxCommandBytes / maxCommandKeys
	for i := range maxCommandKeys {
		k := []byte(fmt.Sprintf("c/%032d", i))
		o.set(k, make([]byte, each-len(k)-2-10))
	}
	if o.size > maxCommandBytes || len(o.writes) != maxCommandKeys {
		t.Fatalf("the command holds %d bytes in %d keys, over the limits", o.size, len(o.writes))
	}
	// The expiry's most: two keys for each of maxExpiredPerCommand
	// requests (their time and their record), request IDs of 128 bytes.
	for i := range maxExpiredPerCommand {
		id := fmt.Sprintf("%0128d", i)
		o.del(requestTimeKey(int64(i), uint64(i)))
		o.del(key(pRequest, id))
	}
	if !w.fits(o) {
		t.Fatalf("a command at the limits (%d bytes, %d keys with the expiry) does not fit a transaction of %d bytes, %d keys",
			o.size, len(o.writes), db.MaxBatchSize(), db.MaxBatchCount())
	}
}

// Check finds an index entry missing, one left over, and a counter off.
func TestCheckFindsWhatDisagrees(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	number := o.file(licence, 1, Request{})
	o.act(number, casework.ActionAccept, nil)
	o.check()
	c, events, _ := o.book.CaseAndEvents(number)
	queueKey := queueKeyOf(c, events, reg)
	stat := statKey(PeriodOf(Year, t0), county, licence, "yc", supervision.Received)
	err := o.book.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(queueKey); err != nil {
			return err
		}
		if err := txn.Set(key(pQueue, county, "stray"), []byte(number)); err != nil {
			return err
		}
		if err := txn.Set(key(pQueueByDue, county, "due"), []byte("x")); err != nil {
			return err
		}
		if err := txn.Set(requestTimeKey(1, 2), []byte("gone")); err != nil {
			return err
		}
		if err := txn.Delete(key(pSeq, t0.Format("20060102"))); err != nil {
			return err
		}
		// A case whose events are gone (a store that lost writes): a
		// problem reported, not a panic of the walk.
		if err := txn.Set(key(pCase, "450122000000-20260302-0099"), mustMarshal(c)); err != nil {
			return err
		}
		return txn.Set(stat, be64(7))
	})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := o.book.Check(context.Background(), reg)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(problems, "\n")
	for _, want := range []string{"which is missing", `450122000000\x00stray`, "is 7, a recount gives 1", `ir/450122000000\x00due" belongs to no queue key`, `names request "gone", which is not remembered`,
		"the sequence of day 20260302 is 0, below number 99 held",
		"case 450122000000-20260302-0099: no events"} {
		if !strings.Contains(got, want) {
			t.Errorf("Check did not report %q; it reported:\n%s", want, got)
		}
	}
}

// Thousands of request records expiring at once (a busy day, then a quiet
// weekend) do not make the next command too large: they are forgotten a
// few hundred per command.
func TestManyExpiredRequestsDoNotBlockTheBook(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	const remembered = 3000
	o.step = time.Second
	for i := range remembered {
		o.file(service, i, Request{ID: fmt.Sprintf("busy-%d", i), Hash: []byte{1}})
	}
	if o.book.requests.Load() != remembered {
		t.Fatalf("%d requests remembered, want %d", o.book.requests.Load(), remembered)
	}
	o.now = o.now.Add(3 * 24 * time.Hour)
	for i := range remembered/maxExpiredPerCommand + 1 {
		if res := o.apply(Request{ID: fmt.Sprintf("monday-%d", i), Hash: []byte{2}}, appendCmd("x")); res.Err == nil {
			t.Fatal("an append to no case was applied")
		}
		o.file(service, remembered+i, Request{ID: fmt.Sprintf("monday-file-%d", i), Hash: []byte{2}})
	}
	if _, _, ok, _ := o.book.Answered(Request{ID: "busy-2999", Hash: []byte{1}}); ok {
		t.Error("a request of three days ago is still remembered")
	}
	if got := o.book.requests.Load(); got != remembered/maxExpiredPerCommand+1 {
		t.Errorf("%d requests remembered, want the %d of Monday", got, remembered/maxExpiredPerCommand+1)
	}
	o.check()
	checkNamesDamage(t, o.book, o.reg, pReqTime)
}

// Past MaxRequests the oldest request IDs are forgotten a few hundred at
// a time: the expiry scans about twice per maxExpiredPerCommand commands,
// not on every command, and the count stays within its bound.
func TestRequestsPastTheBoundAreForgottenInBatches(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	o.book.maxRequests = 100
	o.step = time.Second
	const filings = 1500
	for i := range filings {
		o.file(service, i, Request{ID: fmt.Sprintf("r-%d", i), Hash: []byte{1}})
		// The bound, a batch waiting, and the command's own.
		if n := o.book.requests.Load(); n > int64(o.book.maxRequests)+maxExpiredPerCommand+1 {
			t.Fatalf("after filing %d: %d request IDs remembered, bound %d + %d + 1", i, n, o.book.maxRequests, maxExpiredPerCommand)
		}
	}
	if _, _, ok, _ := o.book.Answered(Request{ID: fmt.Sprintf("r-%d", filings-1), Hash: []byte{1}}); !ok {
		t.Error("the newest request ID is forgotten")
	}
	if _, _, ok, _ := o.book.Answered(Request{ID: "r-0", Hash: []byte{1}}); ok {
		t.Error("the oldest request ID is still remembered")
	}
	batches := (filings - o.book.maxRequests) / maxExpiredPerCommand
	if scans := o.book.expiryScans.Load(); scans > uint64(2*batches+4) {
		t.Errorf("%d expiry scans for %d filings past a bound of %d: want about two per batch of %d (%d batches)", scans, filings, o.book.maxRequests, maxExpiredPerCommand, batches)
	}
	o.check()
}

// Commands whose times go backwards (proposers stamp them before raft
// orders them) leave the book a node kept open and the book a node
// reopened (its caches and the expiry's cursor lost) the same, entry by
// entry, through the day their request IDs expire.
func TestRequestExpiryIsTheSameOnEveryNode(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	running := newOffice(t, county, reg)
	running.book = openBook(t, openDB(t, dir), county)
	running.step = 0 // each entry at the time set below
	restarted := newOffice(t, county, reg)
	at := t0
	var entries []Entry
	for i := range 60 {
		// Times zigzag: each pair commits in reverse time order.
		when := at.Add(time.Duration(i) * time.Minute)
		if i%2 == 1 {
			when = when.Add(-90 * time.Second)
		}
		if i == 40 {
			when = when.Add(25 * time.Hour) // a day on: the first ones expire
		}
		if i > 40 {
			when = when.Add(25 * time.Hour)
		}
		running.now = when
		number := running.file(service, i, Request{ID: fmt.Sprintf("z-%d", i), Hash: []byte{1}})
		e := running.book.Events(number)[0]
		entries = append(entries, Entry{Index: running.index, At: when.UnixNano(), Request: Request{ID: fmt.Sprintf("z-%d", i), Hash: []byte{1}}, Cmd: appendCmd(number, e)})
	}
	// The other node applies the same entries, reopening its book (as
	// after a restart) every few entries.
	for i, e := range entries {
		if i%7 == 0 {
			restarted.book = openBook(t, restarted.book.db, county)
		}
		if res := restarted.book.Apply([]Entry{e}, e.Index, reg)[0]; res.Err != nil {
			t.Fatalf("entry %d: %v", e.Index, res.Err)
		}
	}
	a, ia := digestOf(t, running.book)
	b, ib := digestOf(t, restarted.book)
	if !bytes.Equal(a, b) || ia != ib {
		sameContents(t, contents(t, running.book), contents(t, restarted.book))
		t.Fatalf("the books differ (at %d and %d)", ia, ib)
	}
	if _, _, ok, _ := running.book.Answered(Request{ID: "z-1", Hash: []byte{1}}); ok {
		t.Error("a request ID of the day before is still remembered")
	}
	running.check()
}

func mustMarshal(m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// A book that lost a case's events (its record still there: a disk that
// dropped keys it had acknowledged) stops the node at the next command
// on that case, saying so, rather than apply it on what is left or fail
// with an index out of range.
func TestADamagedBookStopsTheNode(t *testing.T) {
	commandOnDamagedCaseStopsTheNode(t, "a case without its events", "", func(o *office, n string) error {
		return o.book.db.DropPrefix(eventPrefix(n))
	})
}

// commandOnDamagedCaseStopsTheNode files a case, damages it on the disk
// with damage, and applies an acceptance of it: the apply must stop the
// node with a *DamageError (ErrDamaged) naming the case, the raft index
// of the acceptance (and saying says), which the state machine turns
// into the node's stop (raftgroup).
func commandOnDamagedCaseStopsTheNode(t *testing.T, what, says string, damage func(o *office, n string) error) {
	t.Helper()
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	n := o.file(licence, 1, Request{})
	c, events, _ := o.book.CaseAndEvents(n)
	e, err := casework.NewEvent(c, nil, casework.ActionAccept, &yizhanv1.CaseActionRequest{}, clerk, o.code, o.now.Add(time.Minute), reg)
	if err != nil {
		t.Fatal(err)
	}
	casework.Seal(e, events[len(events)-1].GetHash())
	if err := damage(o, n); err != nil {
		t.Fatal(err)
	}
	at := o.index + 1
	defer func() {
		d, _ := recover().(*DamageError)
		if d == nil || !errors.Is(d, ErrDamaged) || d.Case != n || d.Index != at || !strings.Contains(d.Error(), n) || !strings.Contains(d.Error(), says) {
			t.Errorf("applying on %s: %v, want a *DamageError naming the case, raft index %d and saying %q", what, d, at, says)
		}
	}()
	o.apply(Request{}, appendCmd(n, e))
	t.Errorf("applied on %s", what)
}

// Apply answers before badger has written its transaction. A commit that
// then fails (a full disk) stops the node, and nothing applied after it is
// ever written: the next write panics before it commits, so the book on
// disk ends at the last good commit and a restart replays the log from
// there.
func TestAFailedCommitStopsTheNextWrite(t *testing.T) {
	reg := newRegistry(t)
	db := openDB(t, t.TempDir())
	o := newOffice(t, county, reg)
	o.book = openBook(t, db, county)
	o.file(licence, 1, Request{})
	good := o.book.Applied()

	var held func(error)
	o.book.commitTxn = func(txn *badger.Txn, done func(error)) {
		txn.Discard()
		held = done
	}
	o.file(licence, 2, Request{})
	if held == nil {
		t.Fatal("the second filing did not commit")
	}
	failed := o.book.Applied() // the index of the commit that fails
	panics := func(what string, f func()) (msg string) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				msg = fmt.Sprint(r)
				// The state machine stops the node on it (raftgroup).
				if d, ok := r.(*DiskError); !ok || d.Index != failed || !strings.Contains(d.Fault(), "ENOSPC") {
					t.Errorf("%s panicked with %#v; want a *DiskError of raft index %d, the disk full", what, r, failed)
				}
			}
		}()
		f()
		t.Errorf("%s did not panic", what)
		return ""
	}
	full := errors.New("no space left on device")
	if msg := panics("the failed commit", func() { held(full) }); !strings.Contains(msg, full.Error()) {
		t.Errorf("the failed commit panicked with %q, want the disk's error", msg)
	}
	o.book.commitTxn = (*badger.Txn).CommitWith
	if msg := panics("the write after it", func() { o.file(licence, 3, Request{}) }); !strings.Contains(msg, full.Error()) {
		t.Errorf("the next write panicked with %q, want the failed commit's error", msg)
	}

	reopened := openBook(t, db, county)
	if reopened.Applied() != good || reopened.Len() != 1 {
		t.Errorf("on disk: %d cases through index %d, want 1 through %d (the last good commit)", reopened.Len(), reopened.Applied(), good)
	}
}

// The walk of a large book lasts minutes: a node that is stopping ends it
// (its shutdown waited for the walk, and was killed).
func TestCheckStopsWhenItsContextEnds(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	for i := range 3 {
		o.file(licence, i+1, Request{})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if problems, err := o.book.Check(ctx, reg); !errors.Is(err, context.Canceled) || problems != nil {
		t.Errorf("a check whose context has ended answered %v, %v; want context.Canceled", problems, err)
	}
	if problems, err := o.book.Check(context.Background(), reg); err != nil || len(problems) > 0 {
		t.Errorf("the same book checked: %v, %v", problems, err)
	}
}

// The probe reads what the listing reads: a case filed while another
// read transaction stays open (as the start-up walk of a large book
// does) is met by every walk, at a version the probe's read sees.
func TestProbeSeesWhatTheListingSees(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	first := o.file(licence, 1, Request{})
	held := make(chan struct{})
	release := make(chan struct{})
	go func() {
		_ = o.book.db.View(func(*badger.Txn) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	defer close(release)
	second := o.file(licence, 2, Request{})
	p, err := o.book.Probe(county, []string{first, second, "no-such-case"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Listed != 2 || p.ReadTs < p.MaxVersion || p.AppliedRead != p.Applied || p.AppliedVersion == 0 {
		t.Errorf("probe: listed %d, read ts %d, max version %d, applied %d read %d; want 2 listed, the newest version read, the index read back",
			p.Listed, p.ReadTs, p.MaxVersion, p.Applied, p.AppliedRead)
	}
	if p.ListPages != 1 || p.ListCases != 2 || !slices.Equal(p.ListFirst, []string{second, first}) {
		t.Errorf("probe: List paged through as %d pages of %d cases, first %v; want 1 of 2, newest first", p.ListPages, p.ListCases, p.ListFirst)
	}
	for _, c := range p.Cases[:2] {
		if c.Version == 0 || c.TouchedVersion == 0 || len(c.Versions) != 1 || !c.Reverse || !c.ReversePrefetching || !c.Forward || !c.NoPrefix || !slices.Equal(c.ListedAs, []string{"listed"}) {
			t.Errorf("case %s probed as %+v; want held, its touched key met by every walk", c.Number, c)
		}
	}
	if c := p.Cases[2]; c.Version != 0 || c.Touched != "" || c.Reverse {
		t.Errorf("a case not held probed as %+v", c)
	}
}

// A commit writes the formats once and the counts only when they moved
// (each key is a skiplist insert and a log write of badger's on every
// filing); a book opened again reads the same counts, and the formats
// are not written again.
func TestCommitsWriteOnlyTheMetaKeysThatMoved(t *testing.T) {
	reg := newRegistry(t)
	db := openDB(t, t.TempDir())
	o := newOffice(t, county, reg)
	o.book = openBook(t, db, county)
	versions := func(k []byte) int {
		t.Helper()
		n := 0
		err := db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{AllVersions: true, Prefix: k})
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				if bytes.Equal(it.Item().Key(), k) {
					n++
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i := range 5 {
		o.file(licence, i, Request{ID: fmt.Sprintf("req-%d", i), Hash: []byte{byte(i)}})
	}
	for _, tt := range []struct {
		name string
		k    []byte
		want int
	}{
		{"format", keyFormat, 1}, {"stats format", keyStatsFormat, 1},
		{"applied", keyApplied, 5}, {"cases", keyCases, 5}, {"requests", keyRequests, 5},
		{"set aside", keyQuarantLen, 0},
	} {
		if got := versions(tt.k); got != tt.want {
			t.Errorf("%s (%s): %d versions after 5 filings, want %d", tt.name, tt.k, got, tt.want)
		}
	}

	reopened := openBook(t, db, county)
	if reopened.Len() != 5 || reopened.QuarantinedLen() != 0 || reopened.OutboxLen() != o.book.OutboxLen() || reopened.Applied() != o.index {
		t.Fatalf("reopened: %d cases, %d set aside, %d to send, through %d; want 5, 0, %d, %d",
			reopened.Len(), reopened.QuarantinedLen(), reopened.OutboxLen(), reopened.Applied(), o.book.OutboxLen(), o.index)
	}
	o.book = reopened
	o.file(licence, 5, Request{ID: "req-5", Hash: []byte{5}})
	if got := versions(keyFormat); got != 1 {
		t.Errorf("format: %d versions after a filing by the reopened book, want 1", got)
	}
	if reopened.Len() != 6 {
		t.Errorf("%d cases, want 6", reopened.Len())
	}
}

// Nodes of an office commit the same entries in batches of their own
// (a leader's batch is not its follower's): a count that moves and comes
// back within one batch must leave the same keys as when each entry is
// committed alone.
func TestBatchesLeaveTheSameBook(t *testing.T) {
	reg := newRegistry(t)
	alone := newOffice(t, county, reg)
	var entries []Entry
	apply := func(req Request, cmd *peerv1.CaseCommand) {
		t.Helper()
		if res := alone.apply(req, cmd); res.Err != nil {
			t.Fatal(res.Err)
		}
		entries = append(entries, Entry{Index: alone.index, At: alone.now.UnixNano(), Request: req, Cmd: cmd})
	}
	// A request remembered (the count 0 → 1), then forgotten by a
	// filing past RequestMemory (1 → 0).
	_, cmd := alone.filing(clerk, licence, 1)
	apply(Request{ID: "req-a", Hash: []byte{1}}, cmd)
	alone.step = RequestMemory + time.Hour
	_, cmd = alone.filing(clerk, licence, 2)
	apply(Request{}, cmd)
	if alone.book.requests.Load() != 0 {
		t.Fatalf("%d requests remembered, want 0 (the test relies on the expiry)", alone.book.requests.Load())
	}

	batched := newOffice(t, county, reg)
	for _, res := range batched.book.Apply(entries, entries[len(entries)-1].Index, reg) {
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	a, atA := digestOf(t, alone.book)
	b, atB := digestOf(t, batched.book)
	if !bytes.Equal(a, b) || atA != atB {
		t.Errorf("entries committed one by one and in one batch left different books (through %d and %d)", atA, atB)
	}
}

// A leader applies its own writes with their events' hashes checked
// ahead (Entry.Hashed); its followers check them in the apply. Both
// books end the same.
func TestHashedEntriesLeaveTheSameBook(t *testing.T) {
	reg := newRegistry(t)
	follower := newOffice(t, county, reg)
	var entries []Entry
	for i := range 3 {
		follower.now = follower.now.Add(follower.step)
		_, cmd := follower.filing(clerk, licence, i)
		if !casework.HashesMatch(cmd.GetAppend().GetEvents()) {
			t.Fatal("a sealed filing's hashes do not match")
		}
		follower.index++
		entries = append(entries, Entry{Index: follower.index, At: follower.now.UnixNano(), Request: Request{ID: fmt.Sprint("req-", i), Hash: []byte{byte(i)}}, Cmd: cmd})
	}
	leader := newOffice(t, county, reg)
	for _, e := range entries {
		if res := follower.book.Apply([]Entry{e}, e.Index, reg)[0]; res.Err != nil {
			t.Fatal(res.Err)
		}
		e.Hashed = true
		if res := leader.book.Apply([]Entry{e}, e.Index, reg)[0]; res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	a, atA := digestOf(t, follower.book)
	b, atB := digestOf(t, leader.book)
	if !bytes.Equal(a, b) || atA != atB || leader.book.Len() != 3 {
		t.Errorf("the books differ: %d cases through %d, %d through %d", follower.book.Len(), atA, leader.book.Len(), atB)
	}
}

// A read the database fails during an apply (here: the database closed
// under it; in service, a disk that answers EIO) is a fault of this
// node's disk, not of the command, which the office's other nodes apply:
// the apply stops with a *DiskError marked as a read, naming the raft
// index, rather than refuse the command on this node alone and leave its
// book different from the office's. Nothing of the command is written.
func TestAReadTheDiskFailsStopsTheApply(t *testing.T) {
	reg := newRegistry(t)
	db := openDB(t, t.TempDir())
	o := newOffice(t, county, reg)
	o.book = openBook(t, db, county)
	o.file(licence, 1, Request{})
	before := o.book.Applied()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		r := recover()
		d, ok := r.(*DiskError)
		if !ok || !d.Read || d.Index != before+1 {
			t.Fatalf("a filing whose read the database failed: panicked with %#v; want a *DiskError of a read at raft index %d", r, before+1)
		}
		if !strings.Contains(d.Error(), "read") || d.Fault() == "" {
			t.Errorf("the stop's error %q (fault %q) does not say a read failed", d.Error(), d.Fault())
		}
		if got := o.book.Applied(); got != before {
			t.Errorf("the book reached raft index %d; want %d (the command not applied)", got, before)
		}
	}()
	o.file(licence, 2, Request{ID: "a-request-the-disk-fails-to-look-up", Hash: []byte{1}})
	t.Error("a filing whose reads the database fails was applied, or refused, without stopping the apply")
}
