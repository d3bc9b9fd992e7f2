package casebook

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// forgetCachedChains empties the process's cache of chains read, as a
// restart would.
func forgetCachedChains() {
	chainCache.Lock()
	clear(chainCache.m)
	chainCache.Unlock()
}

// storedChains returns the keys under book/sc/ and the raw values of the
// book's events.
func storedChains(t *testing.T, b *Book) (chains int, events [][]byte) {
	t.Helper()
	err := b.db.View(func(txn *badger.Txn) error {
		if err := eachKey(txn, []byte(pChain), func(k, v []byte) error { chains++; return nil }); err != nil {
			return err
		}
		return eachKey(txn, []byte(pEvent), func(k, v []byte) error {
			events = append(events, bytes.Clone(v))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return chains, events
}

// Each signer's chain is stored once however many events it signed, the
// events refer to it, and every reader gets the events whole.
func TestSignerChainsAreStoredOnce(t *testing.T) {
	reg := newRegistry(t)
	c, tw, v := newOffice(t, county, reg), newOffice(t, township, reg), newOffice(t, village, reg)
	tw.index, v.index = 500, 1000
	var numbers []string
	for i := range 10 {
		numbers = append(numbers, c.file(licence, i, Request{}))
	}
	for _, n := range numbers[:5] {
		c.act(n, casework.ActionAccept, nil)
	}
	chains, events := storedChains(t, c.book)
	if chains != 1 || len(events) != 15 {
		t.Fatalf("%d chains and %d events stored, want 1 and 15", chains, len(events))
	}
	leaf := c.chain[0]
	for _, raw := range events {
		if bytes.Contains(raw, leaf[4:64]) {
			t.Fatalf("an event stored with its certificate (%d bytes)", len(raw))
		}
	}
	filed := &yizhanv1.CaseEvent{}
	if err := proto.Unmarshal(events[0], filed); err != nil || !isChainRef(filed.GetSignerChain()) {
		t.Fatalf("a stored event's chain is %q (%v), want a reference", filed.GetSignerChain(), err)
	}
	whole, _ := proto.Marshal(c.mem.Events(numbers[0])[0])
	t.Logf("a FILED event: %d bytes whole, %d stored", len(whole), len(events[0]))
	if len(events[0]) > len(whole)-len(leaf)+chainRefLen {
		t.Errorf("a FILED event stored in %d bytes, whole %d: the chain's %d not saved", len(events[0]), len(whole), len(leaf))
	}

	// A reader in another process (no chain cached) gets them whole; so
	// does the mail, whose messages stand on their own.
	forgetCachedChains()
	c.sameAsMemory()
	for _, ev := range c.book.Events(numbers[0]) {
		if !slices.EqualFunc(ev.GetSignerChain(), c.chain, bytes.Equal) {
			t.Fatalf("event %d read with chain %q", ev.GetSeq(), ev.GetSignerChain())
		}
	}
	c.check()

	// Cases filed at the village reach the county, through the
	// township, with the village's and the township's chains: two more
	// chains stored there, each once.
	offices := map[string]*office{county: c, township: tw, village: v}
	for i := range 3 {
		v.fileAs(villageAgent, service, 100+i, Request{})
	}
	settle(t, offices)
	if chains, _ := storedChains(t, c.book); chains != 3 {
		t.Errorf("%d chains stored at the county after the village's cases, want 3", chains)
	}
	forgetCachedChains()
	c.sameAsMemory()
	v.sameAsMemory()
	c.check()
	v.check()
}

// A book of format 1 (events stored whole) is read as it is, takes new
// events stored with a reference, and its snapshot restores a follower
// that ends with the same bytes.
func TestABookOfFormatOneReadsAsItIs(t *testing.T) {
	reg := newRegistry(t)
	c := newOffice(t, county, reg)
	var numbers []string
	for i := range 4 {
		numbers = append(numbers, c.file(licence, i, Request{}))
	}
	// Rewrite it as the release before wrote it: events whole, no chain
	// stored, format 1.
	err := c.book.db.Update(func(txn *badger.Txn) error {
		for _, n := range numbers {
			for _, e := range c.mem.Events(n) {
				v, err := proto.MarshalOptions{Deterministic: true}.Marshal(e)
				if err != nil {
					return err
				}
				if err := txn.Set(eventKey(n, e.GetSeq()), v); err != nil {
					return err
				}
			}
		}
		if err := eachKey(txn, []byte(pChain), func(k, _ []byte) error { return txn.Delete(bytes.Clone(k)) }); err != nil {
			return err
		}
		return txn.Set(keyFormat, be64(1))
	})
	if err != nil {
		t.Fatal(err)
	}
	if chains, _ := storedChains(t, c.book); chains != 0 {
		t.Fatalf("%d chains left", chains)
	}
	forgetCachedChains()
	c.book = openBook(t, c.book.db, county) // a restart on the new release
	c.sameAsMemory()
	c.check()

	c.act(numbers[0], casework.ActionAccept, nil)
	c.file(licence, 9, Request{})
	chains, _ := storedChains(t, c.book)
	if chains != 1 {
		t.Errorf("%d chains stored after the upgrade's first events, want 1", chains)
	}
	var f uint64
	c.book.view(func(txn *badger.Txn) error { f, err = getUint(txn, keyFormat); return err })
	if f != format {
		t.Errorf("format %d after an apply, want %d", f, format)
	}
	forgetCachedChains()
	c.sameAsMemory()
	c.check()

	follower := c.restoredCopy()
	want, _, _ := c.book.Digest()
	got, _, _ := follower.book.Digest()
	if !bytes.Equal(got, want) {
		t.Error("the follower restored from the snapshot holds other bytes")
	}
	forgetCachedChains()
	follower.mem = c.mem
	follower.sameAsMemory()
}

// The book writes chain references; an event that comes with one is
// refused, and nothing is written.
func TestAnEventWithAChainReferenceIsRefused(t *testing.T) {
	reg := newRegistry(t)
	c := newOffice(t, county, reg)
	c.file(licence, 0, Request{})
	_, events := storedChains(t, c.book)
	before := contents(t, c.book)
	c.chain = [][]byte{append([]byte{chainRefMarker}, make([]byte, 32)...)}
	it, _ := c.reg.Item(licence, 0)
	number := casework.CaseNumber(county, c.now, 7)
	e, err := casework.NewFiling(casework.FileInput{Number: number, QueryCode: "7KQ9M3XP2WHD", Item: it, Office: county,
		Applicant: &yizhanv1.Applicant{Name: "申请人", IdNumber: idNumber(7), Phone: "13907700007"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}, Actor: clerk, At: c.now}, c.reg)
	if err != nil {
		t.Fatal(err)
	}
	e.SignerChain = c.chain
	casework.Seal(e, casework.GenesisHash(number))
	c.index++
	res := c.book.Apply([]Entry{{Index: c.index, At: c.now.UnixNano(), Cmd: appendCmd(number, e)}}, c.index, reg)[0]
	if res.Err == nil || !strings.Contains(res.Err.Error(), "reference for its signer chain") {
		t.Fatalf("an event carrying a chain reference: %v; want refused", res.Err)
	}
	sameContents(t, before, contents(t, c.book))
	if _, after := storedChains(t, c.book); len(after) != len(events) {
		t.Errorf("%d events stored, want %d", len(after), len(events))
	}
}

// A chain lost from the book (a damaged database) is named by the check
// and by a reader that does not have it cached.
func TestALostSignerChainIsDamage(t *testing.T) {
	reg := newRegistry(t)
	c := newOffice(t, county, reg)
	number := c.file(licence, 0, Request{})
	err := c.book.db.Update(func(txn *badger.Txn) error {
		return eachKey(txn, []byte(pChain), func(k, _ []byte) error { return txn.Delete(bytes.Clone(k)) })
	})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := c.book.Check(t.Context(), reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !strings.Contains(problems[0], "signer chain") {
		t.Errorf("check with the chain lost: %q", problems)
	}
	forgetCachedChains()
	var rerr error
	c.book.view(func(txn *badger.Txn) error { _, _, _, rerr = loadCase(txn, number); return nil })
	if !errors.Is(rerr, ErrDamaged) {
		t.Errorf("reading a case whose chain is lost: %v; want ErrDamaged", rerr)
	}
}

// A book restored from a snapshot forgets which chains it held: the next
// event signed with one it no longer holds stores it again.
func TestARestoredBookStoresItsChainsAgain(t *testing.T) {
	reg := newRegistry(t)
	c := newOffice(t, county, reg)
	c.file(licence, 0, Request{})
	var empty bytes.Buffer
	if _, err := newOffice(t, county, reg).book.Stream(&empty); err != nil {
		t.Fatal(err)
	}
	if err := c.book.Restore(&empty); err != nil {
		t.Fatal(err)
	}
	c.mem = casework.NewBook(county)
	c.index = c.book.Applied()
	c.file(licence, 1, Request{})
	if chains, _ := storedChains(t, c.book); chains != 1 {
		t.Fatalf("%d chains after the restore and a filing, want 1", chains)
	}
	forgetCachedChains()
	c.sameAsMemory()
	c.check()
}

// encodeChain and decodeChain are each other's inverse, and decodeChain
// refuses what encodeChain does not write.
func TestChainEncoding(t *testing.T) {
	chain := signerChain(county)
	got, err := decodeChain(encodeChain(chain))
	if err != nil || !slices.EqualFunc(got, chain, bytes.Equal) {
		t.Fatalf("decode(encode(chain)) = %q, %v", got, err)
	}
	for _, bad := range [][]byte{{0x0a}, {0x0a, 5, 1}, binary.AppendUvarint([]byte{0x12}, 1)} {
		if _, err := decodeChain(bad); err == nil {
			t.Errorf("decodeChain(%x) accepted", bad)
		}
	}
}

// Events go to badger's value log whatever their size, and the case
// records, rewritten at each event, stay in the LSM tree; so do they
// after a restore from a stream.
func TestEventsAreKeptInTheValueLog(t *testing.T) {
	reg := newRegistry(t)
	c := newOffice(t, county, reg)
	for i := range 5 {
		c.act(c.file(licence, i, Request{}), casework.ActionAccept, nil)
	}
	placed := func(b *Book) (events, inLog, cases, casesInLog int) {
		t.Helper()
		err := b.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix)})
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				item := it.Item()
				// A value in the tree is estimated at key and value; one
				// in the value log at its whole entry there (a header,
				// the key with its version, the value and a checksum).
				logged := item.EstimatedSize() > int64(len(item.Key()))+item.ValueSize()
				switch k := string(item.Key()); {
				case strings.HasPrefix(k, pEvent):
					events++
					if logged {
						inLog++
					}
				case strings.HasPrefix(k, pCase):
					cases++
					if logged {
						casesInLog++
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	check := func(b *Book, when string) {
		t.Helper()
		events, inLog, cases, casesInLog := placed(b)
		if events != 10 || inLog != events || cases != 5 || casesInLog != 0 {
			t.Errorf("%s: %d of %d events in the value log, %d of %d case records: want every event, no record", when, inLog, events, casesInLog, cases)
		}
	}
	check(c.book, "applied")
	follower := c.restoredCopy()
	check(follower.book, "restored")
}
