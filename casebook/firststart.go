package casebook

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// An office below the county whose node is started with --bootstrap on an
// empty data directory may be new, or may have run before and lost its
// data (a village point's disk died, and the operator forgot --rebuild).
// Numbered from 1 again, the second would hand out the numbers of cases
// its neighbours hold for other citizens. So its book starts with a mark,
// book/m/firststart, written before raft has a configuration (as
// MarkRestored is), and the office numbers no case while the book has it
// (FirstStartPending; the office layer answers a filing FIRST_START_PENDING).
// Its leader finds out whether the office ran before (federation,
// firststart.go) and proposes AnswerFirstStart, which drops the mark on
// every node, and, when the office ran before, marks the book restored
// from nothing, as --rebuild does (RebuiltSince). A book without the mark
// (one of an older release, a restored node, a node that joined) is
// answered.
//
//	book/m/firststart  8 bytes: when the node first started (Unix ns, its clock)

// RebuiltSince is when a book rebuilt from nothing (--rebuild, or an office
// found to have run before by AnswerFirstStart) is marked restored from:
// before any case of any office. Its leader takes back every case its
// neighbours hold of the office, and the office numbers its cases above
// RestoredSeqGap on the days from it through the end of the take-back
// (so, today's: a lost disk's last cases, mirrored to no one, keep their
// numbers to themselves).
var RebuiltSince = time.Date(2000, 1, 1, 0, 0, 0, 0, registry.CST)

var keyFirstStart = []byte(prefix + "m/firststart")

// MarkFirstStart marks the empty book of an office started on an empty data
// directory as not knowing yet whether its office ran before (see above),
// before raft starts. A book marked already (the node stopped before raft
// had a configuration, and started again) keeps its first time.
func (b *Book) MarkFirstStart(at time.Time) error {
	if b.Len() != 0 || b.Applied() != 0 {
		return fmt.Errorf("casebook: mark a first start: the book holds cases or applied entries (raft index %d)", b.Applied())
	}
	if _, pending := b.FirstStart(); pending {
		return nil
	}
	v := binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano()))
	if err := b.db.Update(func(txn *badger.Txn) error { return txn.Set(keyFirstStart, v) }); err != nil {
		return fmt.Errorf("casebook: mark a first start: %w", err)
	}
	b.numbers.setMarks(string(keyFirstStart), write{val: v})
	return nil
}

// FirstStart reports whether the book's office has not yet found out
// whether it ran before (see above), and if so when its node first
// started. It reads memory only: the office layer asks it at every filing.
func (b *Book) FirstStart() (since time.Time, pending bool) {
	ns := b.numbers.firstStart.Load()
	if ns == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// answerFirstStart is AnswerFirstStart: the mark goes; an office that ran
// before is marked restored from nothing (RebuiltSince), its floor
// RestoredSeqGap above the numbers its book holds of that day (none),
// unless it is marked restored already or finished a recovery (an answer
// proposed twice). Only what the log wrote decides: the mark itself was
// written outside it, and a node that joined the office after the answer
// replays the answer without it.
//
// The restored mark is written before the first-start mark goes: each
// write reaches the book's memory as it is made (Book.wrote), and the
// office layer, which reads the first-start mark without a lock before
// it numbers a filing, must never see the office answered while NextSeq
// does not yet number above the floor.
func (o *overlay) answerFirstStart(a *peerv1.AnswerFirstStart) (proto.Message, error) {
	_, restored := o.get(keyRestored)
	_, recovered := o.get(keySeqFloor)
	if a.GetRanBefore() && !restored && !recovered {
		day := RebuiltSince.In(registry.CST).Format("20060102")
		o.set(keyRestored, restoredMark(RebuiltSince, o.getUint(key(pSeq, day))+RestoredSeqGap))
	}
	if _, ok := o.get(keyFirstStart); ok {
		o.del(keyFirstStart)
	}
	return proto.CloneOf(a), nil
}

// restoredMark is book/m/restored's value: a book restored from a backup
// taken at takenAt, its case numbers above floor meanwhile (restore.go).
func restoredMark(takenAt time.Time, floor uint64) []byte {
	v := binary.BigEndian.AppendUint64(nil, uint64(takenAt.UnixNano()))
	return binary.BigEndian.AppendUint32(v, uint32(floor))
}
