package casebook

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/registry"
)

const (
	county   = "450122000000"
	township = "450122101000"
	village  = "450122101203"
	licence  = "YC-LSXK" // county: every right; 20/10 working days; department yc
	service  = "ZM-JB"   // county: every right; department mz
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, registry.CST) // a Monday

// newRegistry is a county with a township and a village, two items the
// county decides, and a query-code key.
func newRegistry(t testing.TB) *registry.Registry {
	t.Helper()
	return newRegistryKeyed(t, true)
}

// newRegistryKeyed is newRegistry, without its query-code key unless
// withKey.
func newRegistryKeyed(t testing.TB, withKey bool) *registry.Registry {
	t.Helper()
	return newRegistryWith(t, withKey, registry.Options{})
}

// newRegistryWith is newRegistryKeyed of a registry made with opts.
func newRegistryWith(t testing.TB, withKey bool, opts registry.Options) *registry.Registry {
	t.Helper()
	r := registry.New(opts)
	at := t0.Add(-24 * time.Hour).UnixNano()
	apply := func(cmd *peerv1.RegistryCommand) {
		t.Helper()
		cmd.AtUnixNano, cmd.Actor = at, "county.admin"
		if _, err := r.Apply(r.Index()+1, cmd); err != nil {
			t.Fatalf("registry %v: %v", cmd, err)
		}
	}
	for _, o := range []*yizhanv1.Office{{Code: county, Name: "县政务服务中心"}, {Code: township, Name: "镇便民服务中心"}, {Code: village, Name: "村便民服务站"}} {
		apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateOffice{CreateOffice: &peerv1.CreateOffice{Office: o}}})
	}
	for code, name := range map[string]string{"yc": "烟草专卖局", "mz": "民政局"} {
		apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateDepartment{CreateDepartment: &peerv1.CreateDepartment{Department: &yizhanv1.Department{Code: code, Name: name}}}})
	}
	for _, it := range []*yizhanv1.Item{
		{Code: licence, Name: "烟草专卖零售许可证核发", Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE, DepartmentCode: "yc",
			Materials:          []*yizhanv1.Material{{Name: "申请表", Required: true}},
			StatutoryLimitDays: 20, PromisedLimitDays: 10, CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
			SpecialProcedures: []*yizhanv1.SpecialProcedure{{Name: "现场勘查", LimitDays: 5}, {Name: "听证", LimitDays: 10, CountsInLimit: true}, {Name: "专家评审"}}},
		{Code: service, Name: "婚姻登记记录证明", Type: yizhanv1.ItemType_ITEM_TYPE_PUBLIC_SERVICE, DepartmentCode: "mz",
			Materials:          []*yizhanv1.Material{{Name: "居民身份证", Required: true}},
			StatutoryLimitDays: 5, PromisedLimitDays: 3, CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY},
	} {
		apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateItem{CreateItem: &peerv1.CreateItem{Item: it}}})
		apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateGrant{CreateGrant: &peerv1.CreateGrant{Grant: &yizhanv1.Grant{
			ItemCode: it.Code, OfficeCode: county, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_REVIEW, yizhanv1.Right_RIGHT_APPROVE, yizhanv1.Right_RIGHT_CERTIFY, yizhanv1.Right_RIGHT_DELIVER},
		}}}})
		apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateGrant{CreateGrant: &peerv1.CreateGrant{Grant: &yizhanv1.Grant{
			ItemCode: it.Code, Tier: yizhanv1.Tier_TIER_VILLAGE, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_PROXY_FILE, yizhanv1.Right_RIGHT_DELIVER},
		}}}})
	}
	if !withKey {
		return r
	}
	key := make([]byte, registry.QueryCodeKeyLen)
	for i := range key {
		key[i] = byte(i + 1)
	}
	apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_PutQueryCodeKey{PutQueryCodeKey: &peerv1.PutQueryCodeKey{Key: &peerv1.QueryCodeKey{Id: 1, Key: key}}}})
	return r
}

// openDB opens a badger in dir with the node's options.
func openDB(t testing.TB, dir string) *badger.DB {
	t.Helper()
	db, err := badgerstore.OpenDB(dir, badgerstore.DBOptions{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openBook(t testing.TB, db *badger.DB, office string) *Book {
	t.Helper()
	b, err := Open(db, office)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// office drives one office's book as its raft log would: each command an
// entry with the next index.
type office struct {
	t     testing.TB
	code  string
	book  *Book
	mem   *casework.Book // the book in memory, given every command too
	reg   *registry.Registry
	index uint64
	seqs  map[string]uint32
	now   time.Time
	step  time.Duration // between two commands: a minute
	// chain is the signer chain put in every event the office makes, as
	// its node would sign them (signerChain).
	chain [][]byte
	// numberAt, when set, is the time a filing's number is made at (the
	// filing itself is at now).
	numberAt time.Time
}

// signerChain stands for the certificate chain of office's node: a leaf
// of a node's size, DER's first byte, and a county CA.
func signerChain(office string) [][]byte {
	leaf := append([]byte{0x30, 0x82, 0x02, 0x2c}, []byte(strings.Repeat("leaf of "+office+" ", 40))[:556]...)
	return [][]byte{leaf, append([]byte{0x30, 0x82}, "county CA"...)}
}

func newOffice(t testing.TB, code string, reg *registry.Registry) *office {
	return &office{t: t, code: code, book: openBook(t, openDB(t, t.TempDir()), code), mem: casework.NewBook(code),
		reg: reg, index: 100, seqs: map[string]uint32{}, now: t0, step: time.Minute, chain: signerChain(code)}
}

// restoredCopy is a new office of o's code, its book restored from a
// stream of o's (a follower after a raft snapshot).
func (o *office) restoredCopy() *office {
	var stream bytes.Buffer
	if _, err := o.book.Stream(&stream); err != nil {
		o.t.Fatal(err)
	}
	c := newOffice(o.t, o.code, o.reg)
	if err := c.book.Restore(&stream); err != nil {
		o.t.Fatal(err)
	}
	return c
}

// apply applies a command as the next raft entry, to both books, and
// fails the test when they disagree on the answer.
func (o *office) apply(req Request, cmd *peerv1.CaseCommand) Result {
	o.t.Helper()
	o.index++
	o.now = o.now.Add(o.step)
	res := o.book.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Request: req, Cmd: cmd}}, o.index, o.reg)[0]
	if req.ID == "" || res.Index == o.index {
		want, werr := o.mem.Apply(cmd, o.reg)
		if (werr == nil) != (res.Err == nil) || (werr == nil && !proto.Equal(want, res.Value)) {
			o.t.Fatalf("index %d: the book on disk answered %v, %v; the book in memory %v, %v", o.index, res.Value, res.Err, want, werr)
		}
	}
	return res
}

var clerk = casework.Actor{Username: "clerk", Office: county, Department: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_REVIEWER, yizhanv1.Role_ROLE_APPROVER}}

// orgCreditCode is a valid unified social credit code (GB 32100).
const orgCreditCode = "91350100M000100Y43"

// idNumber is a valid resident ID number made from n.
func idNumber(n int) string {
	first := fmt.Sprintf("45012219800101%03d", n%1000)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range first {
		sum += int(c-'0') * weights[i]
	}
	return first + string("10X98765432"[sum%11])
}

// file files a case at the office (a county clerk) and returns its number.
func (o *office) file(item string, n int, req Request) string {
	o.t.Helper()
	actor := clerk
	actor.Office = o.code
	return o.fileAs(actor, item, n, req)
}

// fileAs files a case as actor (an agent proxy-filing at a village) and
// returns its number.
func (o *office) fileAs(actor casework.Actor, item string, n int, req Request) string {
	o.t.Helper()
	number, cmd := o.filing(actor, item, n)
	if res := o.apply(req, cmd); res.Err != nil {
		o.t.Fatalf("file %s: %v", number, res.Err)
	}
	return number
}

// filing makes the command that files a case as actor, with the next
// number of the office's day, and returns its number.
func (o *office) filing(actor casework.Actor, item string, n int) (string, *peerv1.CaseCommand) {
	o.t.Helper()
	it, err := o.reg.Item(item, 0)
	if err != nil {
		o.t.Fatal(err)
	}
	numbered := o.now
	if !o.numberAt.IsZero() {
		numbered = o.numberAt
	}
	day := numbered.In(registry.CST).Format("20060102")
	o.seqs[day]++
	number := casework.CaseNumber(o.code, numbered, o.seqs[day])
	keyID, key, _ := o.reg.NewestQueryCodeKey()
	applicant := &yizhanv1.Applicant{Name: fmt.Sprintf("申请人%d", n), IdNumber: idNumber(n), Phone: fmt.Sprintf("139077%05d", n)}
	if n == 1 {
		applicant.CreditCode = orgCreditCode // applicant 1 is an organisation
	}
	e, err := casework.NewFiling(casework.FileInput{
		Number: number, QueryCode: "7KQ9M3XP2WHD", Item: it, Office: o.code,
		Applicant: applicant,
		Materials: []*yizhanv1.SubmittedMaterial{{Name: it.GetMaterials()[0].GetName(), Copies: 1}},
		Actor:     actor, At: o.now, QueryCodeKeyID: keyID, QueryCodeKey: key,
	}, o.reg)
	if err != nil {
		o.t.Fatal(err)
	}
	e.SignerChain = o.chain
	casework.Seal(e, casework.GenesisHash(number))
	return number, appendCmd(number, e)
}

func appendCmd(number string, events ...*yizhanv1.CaseEvent) *peerv1.CaseCommand {
	return &peerv1.CaseCommand{Op: &peerv1.CaseCommand_Append{Append: &peerv1.AppendCaseEvents{CaseNumber: number, Events: events}}}
}

// act takes an action on a case the office holds.
func (o *office) act(number string, a casework.Action, in *yizhanv1.CaseActionRequest) Result {
	o.t.Helper()
	c, events, ok := o.book.CaseAndEvents(number)
	if !ok {
		o.t.Fatalf("%s holds no case %s", o.code, number)
	}
	actor := clerk
	actor.Office = o.code
	actor.Department = events[0].GetFiling().GetDepartmentCode() // the item's department's staff
	if a == casework.ActionDecide {
		actor.Username = "approver" // not who accepted and reviewed it
	}
	if in == nil {
		in = &yizhanv1.CaseActionRequest{}
	}
	e, err := casework.NewEvent(c, events, a, in, actor, o.code, o.now.Add(time.Minute), o.reg)
	if err != nil {
		o.t.Fatalf("%s %s: %v", a, number, err)
	}
	e.SignerChain = o.chain
	casework.Seal(e, events[len(events)-1].GetHash())
	return o.apply(Request{}, appendCmd(number, e))
}

// appendOld appends an event made as an older release made them, which
// today's rules of asking would refuse (the office's own log, applied as
// received): e's seq, hash and time are set here.
func (o *office) appendOld(number string, e *yizhanv1.CaseEvent) Result {
	o.t.Helper()
	_, events, ok := o.book.CaseAndEvents(number)
	if !ok {
		o.t.Fatalf("%s holds no case %s", o.code, number)
	}
	e.Seq, e.OfficeCode, e.At = uint32(len(events)+1), o.code, timestamppb.New(o.now.Add(time.Minute))
	e.SignerChain = o.chain
	casework.Seal(e, events[len(events)-1].GetHash())
	return o.apply(Request{}, appendCmd(number, e))
}

// auto appends what the office does by itself (forward, receive, close)
// until nothing is pending.
func (o *office) auto() {
	o.t.Helper()
	for _, number := range o.book.NeedsAction() {
		c, events, _ := o.book.CaseAndEvents(number)
		action, to, ok := casework.Pending(c, events, o.code)
		if !ok {
			continue
		}
		e := casework.NewAutoEvent(c, action, to, o.code, o.now)
		e.SignerChain = o.chain
		casework.Seal(e, events[len(events)-1].GetHash())
		if res := o.apply(Request{}, appendCmd(number, e)); res.Err != nil {
			o.t.Fatalf("%s %s: %v", action, number, res.Err)
		}
	}
}

// sameAsMemory fails the test where the book on disk and the one in
// memory differ.
func (o *office) sameAsMemory() {
	o.t.Helper()
	if got, want := o.book.Len(), o.mem.Len(); got != want {
		o.t.Errorf("Len %d, in memory %d", got, want)
	}
	var numbers []string
	if err := o.book.Each(func(c *yizhanv1.Case) error {
		numbers = append(numbers, c.GetNumber())
		want, ok := o.mem.Case(c.GetNumber())
		if !ok || !proto.Equal(c, want) {
			o.t.Errorf("case %s: %v, in memory %v", c.GetNumber(), c, want)
		}
		got, wantEv := o.book.Events(c.GetNumber()), o.mem.Events(c.GetNumber())
		if len(got) != len(wantEv) {
			o.t.Errorf("case %s: %d events, in memory %d", c.GetNumber(), len(got), len(wantEv))
		}
		for i := range min(len(got), len(wantEv)) {
			if !proto.Equal(got[i], wantEv[i]) {
				o.t.Errorf("case %s event %d differs", c.GetNumber(), i+1)
			}
		}
		return nil
	}); err != nil {
		o.t.Fatal(err)
	}
	if len(numbers) != o.mem.Len() {
		o.t.Errorf("Each walked %d cases, in memory %d", len(numbers), o.mem.Len())
	}
	same := func(what string, got, want []proto.Message) {
		if len(got) != len(want) {
			o.t.Errorf("%s: %d entries, in memory %d", what, len(got), len(want))
			return
		}
		for i := range got {
			if !proto.Equal(got[i], want[i]) {
				o.t.Errorf("%s[%d]: %v, in memory %v", what, i, got[i], want[i])
			}
		}
	}
	same("outbox", msgs(o.book.Outbox()), msgs(o.mem.Outbox()))
	same("quarantine", msgs(o.book.Quarantined()), msgs(o.mem.Quarantined()))
	if got, want := strings.Join(o.book.NeedsAction(), ","), strings.Join(o.mem.NeedsAction(), ","); got != want {
		o.t.Errorf("NeedsAction %s, in memory %s", got, want)
	}
	if got, want := o.book.OutboxLen(), o.mem.OutboxLen(); got != want {
		o.t.Errorf("OutboxLen %d, in memory %d", got, want)
	}
	day := t0.Format("20060102")
	if got, want := o.book.NextSeq(day), o.mem.NextSeq(day); got != want {
		o.t.Errorf("NextSeq %d, in memory %d", got, want)
	}
	o.check()
}

// check fails the test when the book's indexes or counters disagree with
// its cases.
func (o *office) check() {
	o.t.Helper()
	problems, err := o.book.Check(context.Background(), o.reg)
	if err != nil {
		o.t.Fatal(err)
	}
	for _, p := range problems {
		o.t.Error(p)
	}
}

func msgs[M proto.Message](in []M) []proto.Message {
	out := make([]proto.Message, len(in))
	for i, m := range in {
		out[i] = m
	}
	return out
}

// reopen opens the office's database again, as a node started on it
// would (a book another release left), and applies an empty entry (the
// leader's UpgradeBook): a book found stale at its opening upgrades then.
// It reports whether the book was stale at its opening. The book in
// memory starts again empty (not part of such a test).
func (o *office) reopen() (staleAtOpen bool) {
	o.t.Helper()
	b, err := Open(o.book.db, o.code)
	if err != nil {
		o.t.Fatal(err)
	}
	staleAtOpen = b.StatsStale()
	o.book, o.mem = b, casework.NewBook(o.code)
	o.index++
	b.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Cmd: &peerv1.CaseCommand{Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{}}}}}, o.index, o.reg)
	return staleAtOpen
}

// withCountyItem adds item to reg, every right at the county.
func withCountyItem(t *testing.T, reg *registry.Registry, item *yizhanv1.Item) {
	t.Helper()
	for _, cmd := range []*peerv1.RegistryCommand{
		{Op: &peerv1.RegistryCommand_CreateItem{CreateItem: &peerv1.CreateItem{Item: item}}},
		{Op: &peerv1.RegistryCommand_CreateGrant{CreateGrant: &peerv1.CreateGrant{Grant: &yizhanv1.Grant{
			ItemCode: item.GetCode(), OfficeCode: county, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_REVIEW,
				yizhanv1.Right_RIGHT_APPROVE, yizhanv1.Right_RIGHT_CERTIFY, yizhanv1.Right_RIGHT_DELIVER},
		}}}},
	} {
		cmd.AtUnixNano, cmd.Actor = t0.Add(-24*time.Hour).UnixNano(), "county.admin"
		if _, err := reg.Apply(reg.Index()+1, cmd); err != nil {
			t.Fatalf("registry %v: %v", cmd, err)
		}
	}
}
