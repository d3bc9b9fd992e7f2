package mail

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
)

// appender is an office's write path that records the cases it was asked
// to append to.
type appender struct {
	owner
	mu       sync.Mutex
	appended []string
}

func (a *appender) AppendEvents(ctx context.Context, number string, prevHash []byte, events ...*yizhanv1.CaseEvent) (*yizhanv1.Case, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.appended = append(a.appended, number)
	return nil, nil
}

// A village's book that lost the events of cases it must close by itself
// (dropped, or read back empty) does not stop the node's mail with a
// panic: the mail acts on the sound ones, leaves the damaged ones alone,
// and refuses mail on them, which would stop the node. The node's log
// names each damaged case at error once, whoever met it first and however
// often the mail reads it (the book's note: docs/logging.md).
func TestTheMailLeavesADamagedCaseAlone(t *testing.T) {
	db, err := badgerstore.OpenDB(t.TempDir(), badgerstore.DBOptions{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const (
		dropped = village + "-20260302-0001"
		emptied = village + "-20260302-0002"
		sound   = village + "-20260302-0003"
	)
	// Delivered cases the village closes by itself, written as the book
	// writes them (casebook/DESIGN.md, "Keys"), then damaged.
	err = db.Update(func(txn *badger.Txn) error {
		for _, number := range []string{dropped, emptied, sound} {
			c := &yizhanv1.Case{Number: number, OwnerOffice: village, State: yizhanv1.CaseState_CASE_STATE_DELIVERED, LastSeq: 1}
			e := &yizhanv1.CaseEvent{Seq: 1, OfficeCode: village, Hash: []byte("hash of " + number)}
			if number == emptied {
				e = &yizhanv1.CaseEvent{}
			}
			for k, m := range map[string]proto.Message{"book/c/" + number: c, "book/n/" + number: nil, eventKey(number, 1): e} {
				var v []byte
				if m != nil {
					v, _ = proto.Marshal(m)
				}
				if k == eventKey(number, 1) && number == dropped {
					continue
				}
				if err := txn.Set([]byte(k), v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	book, err := casebook.Open(db, village)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	var logMu sync.Mutex
	w := &appender{}
	log := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logged}, nil))
	book.SetLogger(log) // as the node: one log for the book and the mail
	ml := New(Config{Office: village, Node: village + "-1", FSM: raftgroup.NewFSM(newRegistry(t, county, township, village), book),
		Owner: w, Logger: log})

	for range 3 {
		ml.autoActions(t.Context())
	}
	if want := []string{sound, sound, sound}; !slices.Equal(w.appended, want) {
		t.Errorf("the mail appended to %q, want %q", w.appended, want)
	}
	// A message from the township on a damaged case is refused, naming
	// it, before it is proposed: applied, it would stop the node.
	for _, number := range []string{dropped, emptied, sound} {
		m := &peerv1.CaseMessage{CaseNumber: number, FromOffice: township,
			Events: []*yizhanv1.CaseEvent{{Seq: 2, OfficeCode: township, Hash: []byte("next of " + number)}}}
		why := ml.check(township, m, false)
		if number == sound && why != "" {
			t.Errorf("a message on sound case %s refused: %s", number, why)
		}
		if number != sound && (!strings.Contains(why, number) || !strings.Contains(why, "damaged")) {
			t.Errorf("a message on damaged case %s: refused %q; want refused naming the case and the damage", number, why)
		}
	}
	logMu.Lock()
	lines := strings.Split(strings.TrimSpace(logged.String()), "\n")
	logMu.Unlock()
	for _, number := range []string{dropped, emptied} {
		var found []string
		for _, l := range lines {
			if strings.Contains(l, number) {
				found = append(found, l)
			}
		}
		if len(found) != 1 || !strings.Contains(found[0], "level=ERROR") || !strings.Contains(found[0], "damaged") {
			t.Errorf("the log names damaged case %s in %q; want one line at error saying it is damaged", number, found)
		}
	}
}

// eventKey is the book's key of a case's event (casebook/DESIGN.md).
func eventKey(number string, seq uint32) string {
	return "book/e/" + number + "\x00" + string(binary.BigEndian.AppendUint32(nil, seq))
}

// lockedWriter serialises the log's writes.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
