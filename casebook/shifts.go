package casebook

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/registry"
)

// Shifts of the duty roster and the duty log (package duty has their
// rules). A shift is kept at its office (PutShifts: published, swapped,
// taken over, handed over, flagged), each change checked against the
// shift as the log has it at the command's time, and carried up the tree
// (carried.go), so the offices above see who is on duty below them and
// the flags. The office's own shifts with a flag due are indexed by when
// (book/idsf/) for the leader's sweep. The log stays at its office.
//
//	book/ds/<id>                    a shift (yizhanv1.DutyShift)
//	book/ids/<office>\0<start><id>  shifts by office and start
//	book/idsf/<due><id>             this office's shifts by when a flag falls due
//	book/dl/<id>                    a log entry (yizhanv1.DutyLogEntry)
//	book/idl/<shift id>\0<at><id>   a shift's log entries
//	book/idld/<day>\0<at><id>       log entries by day (YYYYMMDD)

func shiftKey(id string) []byte { return key(pShift, id) }
func shiftByOfficeKey(s *yizhanv1.DutyShift) []byte {
	return key(pShiftByOffice, s.GetOfficeCode(), be64(uint64(max(s.GetStart().AsTime().UnixNano(), 0))), s.GetId())
}
func shiftDueKey(due time.Time, id string) []byte {
	return key(pShiftDue, be64(uint64(max(due.UnixNano(), 0))), id)
}
func logKey(id string) []byte { return key(pLog, id) }
func logByShiftKey(e *yizhanv1.DutyLogEntry) []byte {
	return key(pLogByShift, e.GetShiftId(), be64(uint64(max(e.GetAt().AsTime().UnixNano(), 0))), e.GetId())
}
func logByDayKey(e *yizhanv1.DutyLogEntry) []byte {
	return key(pLogByDay, e.GetAt().AsTime().In(registry.CST).Format("20060102"), be64(uint64(max(e.GetAt().AsTime().UnixNano(), 0))), e.GetId())
}

// putShifts applies PutShifts: every shift is a change the rules allow,
// or none is kept.
func (o *overlay) putShifts(p *peerv1.PutShifts) (proto.Message, error) {
	at := time.Unix(0, o.at)
	out := &yizhanv1.PublishShiftsResponse{}
	for _, next := range p.GetShifts() {
		if next.GetOfficeCode() != o.b.office {
			return nil, fmt.Errorf("%w: shift %s is of office %s, not %s", casework.ErrPermissionDenied, next.GetId(), next.GetOfficeCode(), o.b.office)
		}
		held := &yizhanv1.DutyShift{}
		if !o.getProto(shiftKey(next.GetId()), held) {
			held = nil
		}
		if _, err := duty.ChangeOf(next, held, at); err != nil {
			return nil, fmt.Errorf("%w: %v", casework.ErrFailedPrecondition, err)
		}
		o.keepShift(next, held)
		out.Shifts = append(out.Shifts, next)
	}
	return out, nil
}

// keepShift stores s over held (nil: new), keeps the indexes and queues
// it up.
func (o *overlay) keepShift(s, held *yizhanv1.DutyShift) {
	if held == nil {
		o.set(shiftByOfficeKey(s), nil)
		o.countRecord(nil, s)
	} else {
		o.countRecord(held, s)
	}
	if s.GetOfficeCode() == o.b.office {
		if held != nil {
			if due := duty.FlagDue(held); !due.IsZero() {
				o.del(shiftDueKey(due, held.GetId()))
			}
		}
		if due := duty.FlagDue(s); !due.IsZero() {
			o.set(shiftDueKey(due, s.GetId()), nil)
		}
	}
	o.setProto(shiftKey(s.GetId()), s)
	o.queueUp(s.GetId(), s.GetVersion())
}

// receiveShift stores a shift carried up from a child office: a higher
// version replaces a lower one (the outbox carries only the latest, so
// versions may be skipped).
func (o *overlay) receiveShift(m *peerv1.CaseMessage) *peerv1.CaseReceipt {
	s := m.GetShift()
	rc := &peerv1.CaseReceipt{CaseNumber: m.GetCaseNumber()}
	held := &yizhanv1.DutyShift{}
	found := o.getProto(shiftKey(s.GetId()), held)
	if found {
		rc.HaveSeq = held.GetVersion()
	}
	from := m.GetFromOffice()
	switch {
	case m.GetCaseNumber() != s.GetId() || s.GetId() != duty.ShiftID(s.GetOfficeCode(), s.GetStart().AsTime()):
		rc.Refused = fmt.Sprintf("the message names %s and carries shift %s", m.GetCaseNumber(), s.GetId())
	case registry.ParentCode(from) != o.b.office:
		rc.Refused = fmt.Sprintf("shifts travel up the tree: office %s is not a child of %s", from, o.b.office)
	case !registry.IsAncestorOrSelf(from, s.GetOfficeCode()):
		rc.Refused = fmt.Sprintf("shift %s is of office %s, which is not office %s or below it", s.GetId(), s.GetOfficeCode(), from)
	}
	if rc.Refused != "" || (found && held.GetVersion() >= s.GetVersion()) {
		return rc
	}
	if !found {
		held = nil
	}
	o.keepShift(s, held)
	rc.HaveSeq = s.GetVersion()
	return rc
}

// putLogEntry applies PutLogEntry: written by someone on a shift of this
// office that is on duty; a correction names an entry of this office.
func (o *overlay) putLogEntry(p *peerv1.PutLogEntry) (proto.Message, error) {
	e := p.GetEntry()
	s := &yizhanv1.DutyShift{}
	switch {
	case e.GetOfficeCode() != o.b.office:
		return nil, fmt.Errorf("%w: log entry of office %s, not %s", casework.ErrPermissionDenied, e.GetOfficeCode(), o.b.office)
	case !o.getProto(shiftKey(e.GetShiftId()), s) || s.GetOfficeCode() != o.b.office:
		return nil, fmt.Errorf("no shift %q of this office: %w", e.GetShiftId(), casework.ErrNotFound)
	case s.GetState() != yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY || !duty.OnShift(s, e.GetWriter()):
		return nil, fmt.Errorf("%w: the log is written by someone on the shift on duty; %s is not", casework.ErrPermissionDenied, e.GetWriter())
	}
	if _, ok := o.get(logKey(e.GetId())); ok {
		return nil, fmt.Errorf("%w: log entry %s exists", casework.ErrConflict, e.GetId())
	}
	if c := e.GetCorrects(); c != "" {
		if _, ok := o.get(logKey(c)); !ok {
			return nil, fmt.Errorf("no log entry %q to correct: %w", c, casework.ErrNotFound)
		}
	}
	o.setProto(logKey(e.GetId()), e)
	o.set(logByShiftKey(e), nil)
	o.set(logByDayKey(e), nil)
	return e, nil
}

// HasLogEntry reports whether the book holds log entry id.
func (b *Book) HasLogEntry(id string) bool {
	found := false
	b.view(func(txn *badger.Txn) error {
		_, err := txn.Get(logKey(id))
		found = err == nil
		return nil
	})
	return found
}

// Shift returns a shift the book holds.
func (b *Book) Shift(id string) (*yizhanv1.DutyShift, bool) {
	s := &yizhanv1.DutyShift{}
	var ok bool
	b.view(func(txn *badger.Txn) error {
		var err error
		ok, err = getProto(txn, shiftKey(id), s)
		return err
	})
	return s, ok
}

// ShiftQuery selects shifts.
type ShiftQuery struct {
	Office string // with the offices below it ("" all)
	// From and To select the shifts on between them: starting before To
	// and ending after From (a night shift that began the evening before
	// is one of the day's).
	From, To time.Time
	Flagged  bool
}

// Shifts lists the shifts q selects, by start.
func (b *Book) Shifts(q ShiftQuery) ([]*yizhanv1.DutyShift, error) {
	var out []*yizhanv1.DutyShift
	err := b.db.View(func(txn *badger.Txn) error {
		rd := txnReader{txn}
		rd.eachBase([]byte(pShiftByOffice), func(k, _ []byte) bool {
			office, rest, ok := bytes.Cut(k[len(pShiftByOffice):], []byte{0})
			if !ok || len(rest) < 8 || (q.Office != "" && !registry.IsAncestorOrSelf(q.Office, string(office))) {
				return true
			}
			start := time.Unix(0, int64(binary.BigEndian.Uint64(rest)))
			if (!q.From.IsZero() && start.Before(q.From.Add(-duty.MaxShift))) || (!q.To.IsZero() && !start.Before(q.To)) {
				return true
			}
			s := &yizhanv1.DutyShift{}
			if v, ok := rd.get(shiftKey(string(rest[8:]))); ok && proto.Unmarshal(v, s) == nil &&
				(q.From.IsZero() || s.GetEnd().AsTime().After(q.From)) &&
				(!q.Flagged || s.GetFlaggedEmpty() || s.GetFlaggedNotHandedOver()) {
				out = append(out, s)
			}
			return true
		})
		return nil
	})
	slices.SortStableFunc(out, func(a, b *yizhanv1.DutyShift) int { return a.GetStart().AsTime().Compare(b.GetStart().AsTime()) })
	return out, err
}

// CurrentShift is office's shift on at now, if any: the one on duty (its
// time covers now, or it was taken over early, duty.TakeOverEarly before
// its start), else the latest started whose time covers now. Between a
// night shift taken over early and its start, the night shift is the one
// on: the day shift was handed over to it.
func (b *Book) CurrentShift(office string, now time.Time) (*yizhanv1.DutyShift, bool) {
	var covering, onDuty *yizhanv1.DutyShift
	b.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = key(pShiftByOffice, office, "")
		opts.Reverse = true
		it := txn.NewIterator(opts)
		defer it.Close()
		seek := append(slices.Clone(opts.Prefix), be64(uint64(now.Add(duty.TakeOverEarly).UnixNano()))...)
		seek = append(seek, 0xff)
		for it.Seek(seek); it.Valid(); it.Next() {
			id := string(it.Item().Key()[len(opts.Prefix)+8:])
			s := &yizhanv1.DutyShift{}
			if ok, err := getProto(txn, shiftKey(id), s); err != nil || !ok {
				continue
			}
			if s.GetState() == yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY && now.Before(s.GetEnd().AsTime()) {
				onDuty = s
				return nil
			}
			if covering == nil && duty.Covers(s, now) {
				covering = s
			}
			if now.Sub(s.GetStart().AsTime()) > duty.MaxShift {
				return nil // no earlier shift can still be on
			}
		}
		return nil
	})
	if onDuty != nil {
		return onDuty, true
	}
	return covering, covering != nil
}

// ShiftsDue are this office's shifts with a flag due at now, at most limit.
func (b *Book) ShiftsDue(now time.Time, limit int) ([]*yizhanv1.DutyShift, error) {
	var out []*yizhanv1.DutyShift
	err := b.db.View(func(txn *badger.Txn) error {
		rd := txnReader{txn}
		rd.eachBase([]byte(pShiftDue), func(k, _ []byte) bool {
			rest := k[len(pShiftDue):]
			if len(rest) < 8 || time.Unix(0, int64(binary.BigEndian.Uint64(rest))).After(now) {
				return false
			}
			s := &yizhanv1.DutyShift{}
			if v, ok := rd.get(shiftKey(string(rest[8:]))); ok && proto.Unmarshal(v, s) == nil {
				out = append(out, s)
			}
			return len(out) < limit
		})
		return nil
	})
	return out, err
}

// LogEntries lists the log entries of a shift, or else of a day
// (YYYYMMDD), oldest first.
func (b *Book) LogEntries(shiftID, day string) ([]*yizhanv1.DutyLogEntry, error) {
	p := key(pLogByDay, day, "")
	if shiftID != "" {
		p = key(pLogByShift, shiftID, "")
	}
	var out []*yizhanv1.DutyLogEntry
	err := b.db.View(func(txn *badger.Txn) error {
		rd := txnReader{txn}
		rd.eachBase(p, func(k, _ []byte) bool {
			rest := k[len(p):]
			if len(rest) < 8 {
				return true
			}
			e := &yizhanv1.DutyLogEntry{}
			if v, ok := rd.get(logKey(string(rest[8:]))); ok && proto.Unmarshal(v, e) == nil {
				out = append(out, e)
			}
			return true
		})
		return nil
	})
	return out, err
}

// checkShifts checks that every shift is indexed by its office, the
// flag-due index names exactly this office's shifts with a flag due, and
// every log entry is indexed by its shift and its day.
func checkShifts(b *Book, txn *badger.Txn, bad func(string, ...any)) error {
	return checkIndexes(txn, "duty", bad, func(w recordWalk) error {
		if err := eachKey(txn, []byte(pShift), func(k, v []byte) error {
			s := &yizhanv1.DutyShift{}
			if err := proto.Unmarshal(v, s); err != nil {
				w.report("shift %q: %v", k, err)
				return nil
			}
			w.emit(shiftByOfficeKey(s))
			if due := duty.FlagDue(s); !due.IsZero() && s.GetOfficeCode() == b.office {
				w.emit(shiftDueKey(due, s.GetId()))
			}
			return nil
		}); err != nil {
			return err
		}
		return eachKey(txn, []byte(pLog), func(k, v []byte) error {
			e := &yizhanv1.DutyLogEntry{}
			if err := proto.Unmarshal(v, e); err != nil {
				w.report("log entry %q: %v", k, err)
				return nil
			}
			w.emit(logByShiftKey(e))
			w.emit(logByDayKey(e))
			return nil
		})
	}, pShiftByOffice, pShiftDue, pLogByShift, pLogByDay)
}
