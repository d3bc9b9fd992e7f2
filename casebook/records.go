package casebook

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// Follow-ups of complaints and bad ratings, and supervision orders: the
// county's records (package supervision has their rules). A follow-up is
// opened when the county's book stores the complaint or the rating, from
// its own office or from a mirror; orders are issued by a supervisor.
// Steps on both are SupervisionStep commands, checked against the
// record's state at apply time. Open records are indexed by due time
// (book/iv/) for the sweep that cards late ones.

func followUpKey(id string) []byte { return key(pFollowUp, id) }
func orderKey(id string) []byte    { return key(pOrder, id) }

// orderOfCaseKey lists a case's orders.
func orderOfCaseKey(number, id string) []byte { return key(pOrderOfCase, number, id) }

// dueKey indexes an open record by its due time: kind 'f' or 'o'
// (book/iv/<due><kind>\0<id>).
func dueKey(due time.Time, kind byte, id string) []byte {
	return key(pRecordDue, be64(uint64(max(due.UnixNano(), 0))), string([]byte{kind}), id)
}

// keepsCountyRecords: the county's book keeps follow-ups (every case of
// the county reaches it).
func (b *Book) keepsCountyRecords() bool {
	t, err := registry.TierOf(b.office)
	return err == nil && t == yizhanv1.Tier_TIER_COUNTY
}

// openFollowUps opens the follow-ups the added events call for.
func (o *overlay) openFollowUps(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, added int) {
	if !o.b.keepsCountyRecords() {
		return
	}
	for i := len(events) - added; i < len(events); i++ {
		f := supervision.OpensFollowUp(c, events[:i+1], o.reg)
		if f == nil {
			continue
		}
		k := followUpKey(f.GetId())
		if _, ok := o.get(k); ok {
			continue
		}
		f.ItemCode = c.GetItemCode()
		f.FirstReplyDue = f.GetDue()
		o.setProto(k, f)
		o.countRecord(nil, f)
		o.set(dueKey(f.GetDue().AsTime(), 'f', f.GetId()), nil)
	}
}

// step applies a SupervisionStep at the command's time, and answers the
// record after it.
func (o *overlay) step(s *peerv1.SupervisionStep) (proto.Message, error) {
	if !o.b.keepsCountyRecords() {
		return nil, fmt.Errorf("%w: follow-ups and orders are the county's records", casework.ErrFailedPrecondition)
	}
	at := time.Unix(0, o.at)
	stamp := func(e *yizhanv1.FollowUpEntry) *yizhanv1.FollowUpEntry {
		e = proto.CloneOf(e)
		e.At = timestamppb.New(at)
		return e
	}
	followUp := func(id string, f func(*yizhanv1.FollowUp) error) (proto.Message, error) {
		fu := &yizhanv1.FollowUp{}
		if !o.getProto(followUpKey(id), fu) {
			return nil, fmt.Errorf("no follow-up %q: %w", id, casework.ErrNotFound)
		}
		oldDue, wasOpen := fu.GetDue().AsTime(), fu.GetState() == yizhanv1.FollowUpState_FOLLOW_UP_STATE_OPEN
		before := proto.CloneOf(fu)
		if err := f(fu); err != nil {
			return nil, err
		}
		o.countRecord(before, fu)
		if wasOpen {
			o.del(dueKey(oldDue, 'f', id))
		}
		if fu.GetState() == yizhanv1.FollowUpState_FOLLOW_UP_STATE_OPEN {
			o.set(dueKey(fu.GetDue().AsTime(), 'f', id), nil)
		}
		o.setProto(followUpKey(id), fu)
		return fu, nil
	}
	order := func(id string, f func(*yizhanv1.SupervisionOrder) error) (proto.Message, error) {
		od := &yizhanv1.SupervisionOrder{}
		if !o.getProto(orderKey(id), od) {
			return nil, fmt.Errorf("no order %q: %w", id, casework.ErrNotFound)
		}
		oldDue, wasOpen := od.GetDue().AsTime(), od.GetState() == yizhanv1.OrderState_ORDER_STATE_OPEN
		if err := f(od); err != nil {
			return nil, err
		}
		if wasOpen {
			o.del(dueKey(oldDue, 'o', id))
		}
		if od.GetState() == yizhanv1.OrderState_ORDER_STATE_OPEN {
			o.set(dueKey(od.GetDue().AsTime(), 'o', id), nil)
		}
		o.setProto(orderKey(id), od)
		return od, nil
	}
	switch op := s.GetOp().(type) {
	case *peerv1.SupervisionStep_ReplyFollowUp:
		return followUp(op.ReplyFollowUp.GetId(), func(f *yizhanv1.FollowUp) error {
			return supervision.Reply(f, stamp(op.ReplyFollowUp.GetEntry()))
		})
	case *peerv1.SupervisionStep_RevisitFollowUp:
		return followUp(op.RevisitFollowUp.GetId(), func(f *yizhanv1.FollowUp) error {
			return supervision.Revisit(f, stamp(op.RevisitFollowUp.GetEntry()), o.reg)
		})
	case *peerv1.SupervisionStep_AnswerOrder:
		return order(op.AnswerOrder.GetId(), func(od *yizhanv1.SupervisionOrder) error {
			return supervision.AnswerOrder(od, stamp(op.AnswerOrder.GetEntry()))
		})
	case *peerv1.SupervisionStep_DecideOrder:
		return order(op.DecideOrder.GetId(), func(od *yizhanv1.SupervisionOrder) error {
			return supervision.DecideOrder(od, op.DecideOrder.GetClose(), stamp(op.DecideOrder.GetEntry()), o.reg)
		})
	case *peerv1.SupervisionStep_IssueOrder:
		od := proto.CloneOf(op.IssueOrder.GetOrder())
		l := o.load(od.GetCaseNumber())
		if l.c == nil {
			return nil, fmt.Errorf("no case %q: %w", od.GetCaseNumber(), casework.ErrNotFound)
		}
		f := l.events[0].GetFiling()
		od.Id = fmt.Sprintf("DB%d", o.index)
		od.DepartmentCode, od.ItemCode = f.GetDepartmentCode(), f.GetItemCode()
		if od.GetOfficeCode() == "" {
			od.OfficeCode = l.c.GetOwnerOffice()
		}
		supervision.Issue(od, at, od.GetIssuedBy(), "", o.reg)
		o.setProto(orderKey(od.GetId()), od)
		o.countRecord(nil, od)
		o.set(orderOfCaseKey(od.GetCaseNumber(), od.GetId()), nil)
		o.set(dueKey(od.GetDue().AsTime(), 'o', od.GetId()), nil)
		return od, nil
	}
	return nil, fmt.Errorf("%w: an empty supervision step", casework.ErrFailedPrecondition)
}

// recordCounters are the counters a follow-up or an order adds to, as
// it stands (supervision's FollowUpsOpened, FollowUpsReplied,
// FollowUpsRepliedInTime, OrdersIssued): at the responsible office, on
// the day of the step (the opening, the first reply, the issue). A duty
// shift, a signed report and an unsigned flag add to duty's counters
// (duty.Counters) at their office, with no item or department.
func recordCounters(r proto.Message) map[string]uint64 {
	out := map[string]uint64{}
	add := func(office, item, dept string, at time.Time, outcome string) {
		for _, period := range periodsOf(at) {
			out[string(statKey(period, office, item, dept, outcome))]++
		}
	}
	switch r := r.(type) {
	case *yizhanv1.FollowUp:
		o, item, dept := r.GetOfficeCode(), r.GetItemCode(), r.GetDepartmentCode()
		add(o, item, dept, r.GetOpenedAt().AsTime(), supervision.FollowUpsOpened)
		for _, e := range r.GetHistory() {
			if e.GetKind() != supervision.EntryReply {
				continue
			}
			add(o, item, dept, e.GetAt().AsTime(), supervision.FollowUpsReplied)
			if !e.GetAt().AsTime().After(r.GetFirstReplyDue().AsTime()) {
				add(o, item, dept, e.GetAt().AsTime(), supervision.FollowUpsRepliedInTime)
			}
			break // the first reply only
		}
	case *yizhanv1.SupervisionOrder:
		add(r.GetOfficeCode(), r.GetItemCode(), r.GetDepartmentCode(), r.GetIssuedAt().AsTime(), supervision.OrdersIssued)
	case *yizhanv1.DutyShift, *yizhanv1.UrgentReport, *yizhanv1.UnsignedReportFlag:
		at, outcomes := duty.Counters(r)
		for _, outcome := range outcomes {
			add(dutyOffice(r), "", "", at, outcome)
		}
	}
	return out
}

// dutyOffice is the office a duty record is of.
func dutyOffice(m proto.Message) string {
	switch r := m.(type) {
	case *yizhanv1.DutyShift:
		return r.GetOfficeCode()
	case *yizhanv1.UrgentReport:
		return r.GetOfficeCode()
	case *yizhanv1.UnsignedReportFlag:
		return r.GetOfficeCode()
	}
	return ""
}

// countRecord moves the counters from what record before added (nil: it
// is new) to what after adds.
func (o *overlay) countRecord(before, after proto.Message) {
	delta := map[string]int64{}
	if before != nil {
		for k, n := range recordCounters(before) {
			delta[k] -= int64(n)
		}
	}
	for k, n := range recordCounters(after) {
		delta[k] += int64(n)
	}
	for k, d := range delta {
		switch {
		case d > 0:
			o.addUint([]byte(k), uint64(d))
		case d < 0:
			if n := o.getUint([]byte(k)); n > uint64(-d) {
				o.set([]byte(k), be64(n-uint64(-d)))
			} else {
				o.del([]byte(k))
			}
		}
	}
}

// lateCard is the card the case's open follow-ups or orders earn at at:
// the first one past its due time.
func (o *overlay) lateCard(number string, r yizhanv1.CardRule, at time.Time) *yizhanv1.Card {
	switch r {
	case yizhanv1.CardRule_CARD_RULE_FOLLOW_UP_LATE:
		var found *yizhanv1.Card
		o.eachBase(key(pFollowUp, number+"."), func(_, v []byte) bool {
			f := &yizhanv1.FollowUp{}
			if proto.Unmarshal(v, f) == nil && f.GetState() == yizhanv1.FollowUpState_FOLLOW_UP_STATE_OPEN && at.After(f.GetDue().AsTime()) {
				found = supervision.LateCard(r, number, f.GetOfficeCode(), f.GetDepartmentCode(), f.GetItemCode(), f.GetItemName(), f.GetDue().AsTime(),
					fmt.Sprintf("投诉、差评 %d 个工作日内未答复", supervision.FollowUpDays))
				return false
			}
			return true
		})
		return found
	case yizhanv1.CardRule_CARD_RULE_ORDER_LATE:
		var found *yizhanv1.Card
		o.eachBase(key(pOrderOfCase, number, ""), func(k, _ []byte) bool {
			id := string(k[len(key(pOrderOfCase, number, "")):])
			od := &yizhanv1.SupervisionOrder{}
			if o.getProto(orderKey(id), od) && od.GetState() == yizhanv1.OrderState_ORDER_STATE_OPEN && at.After(od.GetDue().AsTime()) {
				found = supervision.LateCard(r, number, od.GetOfficeCode(), od.GetDepartmentCode(), od.GetItemCode(), "", od.GetDue().AsTime(),
					fmt.Sprintf("督办 %s 逾期未答复", od.GetId()))
				return false
			}
			return true
		})
		return found
	}
	return nil
}

// eachKey walks the keys under p as the transaction sees them, as the
// package's eachKey does, for a command: a value the database fails to
// read stops the apply (readFailed); f's own error is returned.
func (o *overlay) eachKey(p []byte, f func(k, v []byte) error) error {
	var fErr error
	err := eachKey(o.txn, p, func(k, v []byte) error {
		fErr = f(k, v)
		return fErr
	})
	if err != nil && fErr == nil {
		o.readFailed(err, "read the values under %q", p)
	}
	return err
}

// eachBase walks the keys under p as the transaction sees them (the
// command's own writes are not among them: records it changes are read
// by key).
func (o *overlay) eachBase(p []byte, f func(k, v []byte) bool) {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = p
	it := o.txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			o.readFailed(err, "read the value of %q", it.Item().Key())
			return
		}
		if !f(it.Item().KeyCopy(nil), v) {
			return
		}
	}
}

// lateRecords finds the cases with an open follow-up or order past its due
// time at now and no card of its rule yet.
func lateRecords(txn *badger.Txn, now time.Time, limit int, out []*peerv1.CardCheck) ([]*peerv1.CardCheck, error) {
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = []byte(pRecordDue)
	it := txn.NewIterator(opts)
	defer it.Close()
	seen := map[string]bool{}
	for it.Rewind(); it.Valid() && len(out) < limit; it.Next() {
		k := it.Item().Key()[len(pRecordDue):]
		if len(k) < 10 || int64(binary.BigEndian.Uint64(k)) >= now.UnixNano() {
			break
		}
		kind, id := k[8], string(k[10:]) // <due><kind>\0<id>
		var number string
		rule := yizhanv1.CardRule_CARD_RULE_FOLLOW_UP_LATE
		if kind == 'f' {
			number = id[:max(strings.LastIndexByte(id, '.'), 0)]
		} else {
			rule = yizhanv1.CardRule_CARD_RULE_ORDER_LATE
			od := &yizhanv1.SupervisionOrder{}
			if ok, err := getProto(txn, orderKey(id), od); err != nil || !ok {
				continue
			}
			number = od.GetCaseNumber()
		}
		if seen[number+rule.String()] {
			continue
		}
		seen[number+rule.String()] = true
		if held, err := holdsCard(txn, number, rule); err != nil {
			return out, err
		} else if held {
			continue
		}
		out = append(out, &peerv1.CardCheck{CaseNumber: number, Rule: rule})
	}
	return out, nil
}

// RecordQuery selects follow-ups or orders; empty fields select all.
type RecordQuery struct {
	Office     string // the responsible office
	Subtree    bool   // and those below it
	CaseNumber string
	State      int32 // FollowUpState or OrderState; 0: every state
}

// holds reports whether the query selects the records of office.
func (q RecordQuery) holds(office string) bool {
	return q.Office == "" || office == q.Office || q.Subtree && registry.IsAncestorOrSelf(q.Office, office)
}

// FollowUps lists the follow-ups the query selects, the earliest due
// first.
func (b *Book) FollowUps(q RecordQuery) ([]*yizhanv1.FollowUp, error) {
	var out []*yizhanv1.FollowUp
	p := []byte(pFollowUp)
	if q.CaseNumber != "" {
		p = key(pFollowUp, q.CaseNumber+".")
	}
	err := b.db.View(func(txn *badger.Txn) error {
		return eachKey(txn, p, func(_, v []byte) error {
			f := &yizhanv1.FollowUp{}
			if err := proto.Unmarshal(v, f); err != nil {
				return err
			}
			if q.holds(f.GetOfficeCode()) && (q.State == 0 || int32(f.GetState()) == q.State) {
				out = append(out, f)
			}
			return nil
		})
	})
	slices.SortStableFunc(out, func(a, b *yizhanv1.FollowUp) int { return a.GetDue().AsTime().Compare(b.GetDue().AsTime()) })
	return out, err
}

// FollowUp returns one follow-up.
func (b *Book) FollowUp(id string) (*yizhanv1.FollowUp, bool) {
	f := &yizhanv1.FollowUp{}
	var ok bool
	b.view(func(txn *badger.Txn) error {
		var err error
		ok, err = getProto(txn, followUpKey(id), f)
		return err
	})
	return f, ok
}

// Order returns one order.
func (b *Book) Order(id string) (*yizhanv1.SupervisionOrder, bool) {
	od := &yizhanv1.SupervisionOrder{}
	var ok bool
	b.view(func(txn *badger.Txn) error {
		var err error
		ok, err = getProto(txn, orderKey(id), od)
		return err
	})
	return od, ok
}

// Orders lists the orders the query selects, the earliest due first.
func (b *Book) Orders(q RecordQuery) ([]*yizhanv1.SupervisionOrder, error) {
	var out []*yizhanv1.SupervisionOrder
	err := b.db.View(func(txn *badger.Txn) error {
		return eachKey(txn, []byte(pOrder), func(_, v []byte) error {
			od := &yizhanv1.SupervisionOrder{}
			if err := proto.Unmarshal(v, od); err != nil {
				return err
			}
			if q.holds(od.GetOfficeCode()) && (q.State == 0 || int32(od.GetState()) == q.State) &&
				(q.CaseNumber == "" || od.GetCaseNumber() == q.CaseNumber) {
				out = append(out, od)
			}
			return nil
		})
	})
	slices.SortStableFunc(out, func(a, b *yizhanv1.SupervisionOrder) int { return a.GetDue().AsTime().Compare(b.GetDue().AsTime()) })
	return out, err
}

// addRecord counts a follow-up or an order kept in the book.
func (r *recount) addRecord(m proto.Message) {
	for k, n := range recordCounters(m) {
		r.addStat(k, n)
	}
}

// eachRecord calls f with each follow-up and order in txn.
func eachRecord(txn *badger.Txn, f func(proto.Message)) error {
	for _, p := range []struct {
		prefix string
		new    func() proto.Message
	}{{pFollowUp, func() proto.Message { return &yizhanv1.FollowUp{} }}, {pOrder, func() proto.Message { return &yizhanv1.SupervisionOrder{} }}} {
		if err := eachKey(txn, []byte(p.prefix), func(_, v []byte) error {
			m := p.new()
			if err := proto.Unmarshal(v, m); err != nil {
				return err
			}
			f(m)
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// eachDutyRecord calls f with each record of duty that counts: shifts,
// signed reports, and unsigned flags whose report is not held signed.
func eachDutyRecord(txn *badger.Txn, f func(proto.Message)) error {
	if err := eachKey(txn, []byte(pShift), func(_, v []byte) error {
		s := &yizhanv1.DutyShift{}
		if err := proto.Unmarshal(v, s); err != nil {
			return err
		}
		f(s)
		return nil
	}); err != nil {
		return err
	}
	if err := eachKey(txn, []byte(pReport), func(_, v []byte) error {
		r := &yizhanv1.UrgentReport{}
		if err := proto.Unmarshal(v, r); err != nil {
			return err
		}
		f(r)
		return nil
	}); err != nil {
		return err
	}
	return eachKey(txn, []byte(pUnsignedFlag), func(_, v []byte) error {
		u := &yizhanv1.UnsignedReportFlag{}
		if err := proto.Unmarshal(v, u); err != nil {
			return err
		}
		if !signedHere(txnReader{txn}, u.GetReportId()) {
			f(u)
		}
		return nil
	})
}

// checkRecords checks that exactly the open follow-ups and orders are
// indexed by their due time, and each order under its case: looked up
// from both ends, in memory that does not grow with the records.
func checkRecords(txn *badger.Txn, r *recount, bad func(string, ...any)) error {
	if err := eachKey(txn, []byte(pFollowUp), func(k, v []byte) error {
		f := &yizhanv1.FollowUp{}
		if err := proto.Unmarshal(v, f); err != nil {
			bad("follow-up %q: %v", k, err)
			return nil
		}
		r.addRecord(f)
		if dk := dueKey(f.GetDue().AsTime(), 'f', f.GetId()); f.GetState() == yizhanv1.FollowUpState_FOLLOW_UP_STATE_OPEN && !hasKey(txn, dk) {
			bad("due index key %q is missing", dk)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := eachKey(txn, []byte(pOrder), func(k, v []byte) error {
		od := &yizhanv1.SupervisionOrder{}
		if err := proto.Unmarshal(v, od); err != nil {
			bad("order %q: %v", k, err)
			return nil
		}
		r.addRecord(od)
		if dk := dueKey(od.GetDue().AsTime(), 'o', od.GetId()); od.GetState() == yizhanv1.OrderState_ORDER_STATE_OPEN && !hasKey(txn, dk) {
			bad("due index key %q is missing", dk)
		}
		if !hasKey(txn, orderOfCaseKey(od.GetCaseNumber(), od.GetId())) {
			bad("order %s is not listed under its case %s", od.GetId(), od.GetCaseNumber())
		}
		return nil
	}); err != nil {
		return err
	}
	// book/iv/<due><kind>\0<id>: the record of that kind and id is open
	// and due then.
	return eachKey(txn, []byte(pRecordDue), func(k, _ []byte) error {
		rest := k[len(pRecordDue):]
		open := false
		if len(rest) > 10 && rest[9] == 0 {
			id := string(rest[10:])
			switch rest[8] {
			case 'f':
				f := &yizhanv1.FollowUp{}
				ok, err := getProto(txn, followUpKey(id), f)
				open = err == nil && ok && f.GetState() == yizhanv1.FollowUpState_FOLLOW_UP_STATE_OPEN && bytes.Equal(dueKey(f.GetDue().AsTime(), 'f', id), k)
			case 'o':
				od := &yizhanv1.SupervisionOrder{}
				ok, err := getProto(txn, orderKey(id), od)
				open = err == nil && ok && od.GetState() == yizhanv1.OrderState_ORDER_STATE_OPEN && bytes.Equal(dueKey(od.GetDue().AsTime(), 'o', id), k)
			}
		}
		if !open {
			bad("due index key %q names no open follow-up or order", k)
		}
		return nil
	})
}
