package casebook

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// Consultations (咨询登记; package supervision has their rules) are kept
// in the book of the office where they came in (PutConsultation) and
// carried up the tree by the case mail: an outbox entry to the parent
// keyed by the consultation's id, with its version as upto_seq, so a
// link down for a week sends each one once it is back, and a receipt
// covering the version drops the entry. A copy with a higher version (the
// answer to a question left online) replaces a lower one wherever it
// arrives. Each is counted once per book, when it is first stored, and
// the answer when the answered copy is.
//
//	book/zc/<id>                         the consultation (yizhanv1.Consultation)
//	book/iz/<office>\0<at><id>          by the office where it came in and time
//	book/izq/<at><id>                   questions this office must answer, while asked

func consultationKey(id string) []byte { return key(pConsultation, id) }

func consultationByOfficeKey(c *yizhanv1.Consultation) []byte {
	return key(pConsultationByOffice, c.GetOfficeCode(), be64(uint64(max(c.GetAt().AsTime().UnixNano(), 0))), c.GetId())
}

func awaitingAnswerKey(c *yizhanv1.Consultation) []byte {
	return key(pAwaitingAnswer, be64(uint64(max(c.GetAt().AsTime().UnixNano(), 0))), c.GetId())
}

// awaits reports whether c is a question this book's office must answer.
func (b *Book) awaits(c *yizhanv1.Consultation) bool {
	return c.GetState() == yizhanv1.ConsultationState_CONSULTATION_STATE_ASKED && c.GetAnswerOffice() == b.office
}

// putConsultation applies PutConsultation: a consultation that came in at
// this office, or the answer this office gives to a question.
func (o *overlay) putConsultation(p *peerv1.PutConsultation) (proto.Message, error) {
	c := p.GetConsultation()
	if err := supervision.CheckConsultation(c); err != nil {
		return nil, fmt.Errorf("%w: %v", casework.ErrFailedPrecondition, err)
	}
	held := &yizhanv1.Consultation{}
	found := o.getProto(consultationKey(c.GetId()), held)
	switch {
	case c.GetVersion() == 1 && c.GetOfficeCode() != o.b.office:
		return nil, fmt.Errorf("%w: consultation %s came in at office %s, not here at %s", casework.ErrPermissionDenied, c.GetId(), c.GetOfficeCode(), o.b.office)
	case c.GetVersion() == 1 && found:
		return nil, fmt.Errorf("%w: consultation %s exists", casework.ErrConflict, c.GetId())
	case c.GetVersion() == 2 && c.GetAnswerOffice() != o.b.office:
		return nil, fmt.Errorf("%w: question %s is answered by office %s, not here at %s", casework.ErrPermissionDenied, c.GetId(), c.GetAnswerOffice(), o.b.office)
	case c.GetVersion() == 2 && !found:
		return nil, fmt.Errorf("no question %q here: %w", c.GetId(), casework.ErrNotFound)
	case c.GetVersion() == 2:
		if err := supervision.Replaces(c, held); err != nil {
			return nil, fmt.Errorf("%w: %v", casework.ErrConflict, err)
		}
	}
	if !found {
		held = nil
	}
	o.keepConsultation(c, held, false)
	return c, nil
}

// keepConsultation stores c over held (nil: the book had none), counts
// what is new, and queues c to the parent office; an answer given here,
// or come down from above (down), to the office below on the way to
// where the question was asked, so that its list there shows it answered.
func (o *overlay) keepConsultation(c, held *yizhanv1.Consultation, down bool) {
	if held == nil {
		o.set(consultationByOfficeKey(c), nil)
		o.countConsultation(c, false)
	} else if o.b.awaits(held) {
		o.del(awaitingAnswerKey(held))
	}
	if o.b.awaits(c) {
		o.set(awaitingAnswerKey(c), nil)
	}
	if answered(c) && (held == nil || !answered(held)) {
		o.countConsultation(c, true)
	}
	o.setProto(consultationKey(c.GetId()), c)
	if !down {
		o.queueUp(c.GetId(), c.GetVersion())
	}
	// Down only from the office that answered and on the way down: an
	// answer carried up from below is held below already.
	if answered(c) && (down || c.GetAnswerOffice() == o.b.office) && c.GetOfficeCode() != o.b.office &&
		registry.IsAncestorOrSelf(o.b.office, c.GetOfficeCode()) {
		if hop := casework.NextHop(o.b.office, c.GetOfficeCode()); hop != "" {
			o.PutOutboxEntry(&peerv1.OutboxEntry{DestOffice: hop, CaseNumber: c.GetId(), UptoSeq: c.GetVersion()})
		}
	}
}

// answered reports whether c is a question left online and answered.
func answered(c *yizhanv1.Consultation) bool {
	return c.GetChannel() == yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_ONLINE &&
		c.GetState() == yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED
}

// consultationCounters are the counters c adds to: its channel's where
// and when it came in, or (answer) questions answered where and when it
// was answered.
func consultationCounters(c *yizhanv1.Consultation, answer bool) [][]byte {
	office, at, outcome := c.GetOfficeCode(), c.GetAt().AsTime(), supervision.ConsultedOutcome(c.GetChannel())
	if answer {
		office, at, outcome = c.GetAnswerOffice(), c.GetAnsweredAt().AsTime(), supervision.QuestionsAnswered
	}
	var out [][]byte
	for _, period := range periodsOf(at) {
		out = append(out, statKey(period, office, c.GetItemCode(), c.GetDepartmentCode(), outcome))
	}
	return out
}

func (o *overlay) countConsultation(c *yizhanv1.Consultation, answer bool) {
	for _, k := range consultationCounters(c, answer) {
		o.addUint(k, 1)
	}
}

// addConsultation counts a consultation kept in the book.
func (r *recount) addConsultation(c *yizhanv1.Consultation) {
	for _, k := range consultationCounters(c, false) {
		r.addStat(string(k), 1)
	}
	if answered(c) {
		for _, k := range consultationCounters(c, true) {
			r.addStat(string(k), 1)
		}
	}
}

// receiveConsultation stores a consultation carried up from the child
// office m comes from (the mail checked its signature): it must have
// come in at that office or below it, and an answer must have been given
// there or below; or an answer carried down from the parent, given there
// or above, to a question asked here or below. An older or equal copy
// changes nothing. The receipt's have_seq is the version held.
func (o *overlay) receiveConsultation(m *peerv1.CaseMessage) *peerv1.CaseReceipt {
	c := m.GetConsultation()
	r := &peerv1.CaseReceipt{CaseNumber: m.GetCaseNumber()}
	held := &yizhanv1.Consultation{}
	found := o.getProto(consultationKey(c.GetId()), held)
	if found {
		r.HaveSeq = held.GetVersion()
	}
	from := m.GetFromOffice()
	down := from != "" && registry.ParentCode(o.b.office) == from
	var err error
	switch {
	case m.GetCaseNumber() != c.GetId() || len(m.GetEvents()) > 0:
		err = fmt.Errorf("the message names %s and carries consultation %s", m.GetCaseNumber(), c.GetId())
	case down && (!answered(c) || !registry.IsAncestorOrSelf(supervision.Signer(c), from) || !registry.IsAncestorOrSelf(o.b.office, c.GetOfficeCode())):
		err = fmt.Errorf("an answer comes down from the office that gave it (or above it) towards where its question was asked: %s from %s, asked at %s, answered by %s",
			c.GetId(), from, c.GetOfficeCode(), supervision.Signer(c))
	case !down && registry.ParentCode(from) != o.b.office:
		err = fmt.Errorf("consultations travel up the tree, and answers down: office %s is neither a child nor the parent of %s", from, o.b.office)
	case !down && !registry.IsAncestorOrSelf(from, supervision.Signer(c)):
		err = fmt.Errorf("consultation %s was signed for office %s, which is not office %s or below it", c.GetId(), supervision.Signer(c), from)
	default:
		err = supervision.CheckConsultation(c)
	}
	if err == nil && found {
		if c.GetVersion() <= held.GetVersion() {
			return r // a copy held already, or an older one
		}
		err = supervision.Replaces(c, held)
	}
	if err != nil {
		r.Refused = err.Error()
		return r
	}
	if !found {
		held = nil
	}
	o.keepConsultation(c, held, down)
	r.HaveSeq = c.GetVersion()
	return r
}

// consultationMessage is the message that carries the consultation an
// outbox entry names.
func (b *Book) consultationMessage(en *peerv1.OutboxEntry) (*peerv1.CaseMessage, bool) {
	c, ok := b.Consultation(en.GetCaseNumber())
	if !ok {
		return nil, false
	}
	return &peerv1.CaseMessage{CaseNumber: c.GetId(), FromOffice: b.office, Consultation: c}, true
}

// Consultation returns one consultation the book holds.
func (b *Book) Consultation(id string) (*yizhanv1.Consultation, bool) {
	c := &yizhanv1.Consultation{}
	var ok bool
	b.view(func(txn *badger.Txn) error {
		var err error
		ok, err = getProto(txn, consultationKey(id), c)
		return err
	})
	return c, ok
}

// ConsultationQuery selects consultations.
type ConsultationQuery struct {
	// Office keeps those that came in at it, with Subtree at the offices
	// below it too.
	Office  string
	Subtree bool
	// From and To bound the time they came in (zero: no bound).
	From, To time.Time
	// Awaiting lists instead the questions this office must answer,
	// oldest first.
	Awaiting  bool
	Limit     int    // default and at most 1000
	PageToken string // the next page's token the page before gave
}

// Consultations lists a page of the consultations q selects, newest
// first (oldest first with Awaiting), and the token of the next page (""
// after the last). A page goes on after the time and id of the last
// consultation of the page before.
func (b *Book) Consultations(q ConsultationQuery) ([]*yizhanv1.Consultation, string, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 1000
	}
	listing := consultationPages
	if q.Awaiting {
		listing = questionPages
	}
	var ps []recordPos
	err := b.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = []byte(pConsultationByOffice)
		switch {
		case q.Awaiting:
			opts.Prefix = []byte(pAwaitingAnswer)
		case !q.Subtree && q.Office != "":
			opts.Prefix = key(pConsultationByOffice, q.Office, "")
		case q.Office != "":
			// The subtree's codes share a beginning: a village's list
			// reads its own, not the county's.
			opts.Prefix = append([]byte(pConsultationByOffice), registry.SubtreePrefix(q.Office)...)
		}
		it := txn.NewIterator(opts)
		defer it.Close()
		byOffice := !q.Awaiting && (q.Subtree || q.Office == "") // keys of many offices: the office first
		for it.Rewind(); it.Valid(); it.Next() {
			rest := it.Item().Key()[len(opts.Prefix):]
			if byOffice {
				rest = it.Item().Key()[len(pConsultationByOffice):]
				office, after, ok := bytes.Cut(rest, []byte{0})
				if !ok || (q.Office != "" && !registry.IsAncestorOrSelf(q.Office, string(office))) {
					continue
				}
				rest = after
			}
			if len(rest) < 8 {
				continue
			}
			at := binary.BigEndian.Uint64(rest)
			if t := time.Unix(0, int64(at)); !q.Awaiting && ((!q.From.IsZero() && t.Before(q.From)) || (!q.To.IsZero() && !t.Before(q.To))) {
				continue
			}
			ps = append(ps, recordPos{at, string(rest[8:])})
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if !q.Awaiting {
		slices.SortFunc(ps, func(a, b recordPos) int { return b.compare(a) })
	}
	if ps, err = recordsAfter(ps, listing, q.PageToken, !q.Awaiting, supervision.IsConsultationID); err != nil {
		return nil, "", err
	}
	out, next := recordPage(ps, listing, q.Limit, b.Consultation)
	return out, next, nil
}

// checkConsultations checks that each consultation is well formed and
// indexed, the indexes name only consultations, and counts them into r.
func checkConsultations(b *Book, txn *badger.Txn, r *recount, bad func(string, ...any)) error {
	return checkIndexes(txn, "consultation", bad, func(w recordWalk) error {
		return eachKey(txn, []byte(pConsultation), func(k, v []byte) error {
			c := &yizhanv1.Consultation{}
			if err := proto.Unmarshal(v, c); err != nil {
				w.report("consultation %q: %v", k, err)
				return nil
			}
			if err := supervision.CheckConsultation(c); err != nil {
				w.report("%v", err)
			}
			w.emit(consultationByOfficeKey(c))
			if b.awaits(c) {
				w.emit(awaitingAnswerKey(c))
			}
			if w.first {
				r.addConsultation(c)
			}
			return nil
		})
	}, pConsultationByOffice, pAwaitingAnswer)
}

// eachConsultation calls f with each consultation in txn.
func eachConsultation(txn *badger.Txn, f func(*yizhanv1.Consultation)) error {
	return eachKey(txn, []byte(pConsultation), func(_, v []byte) error {
		c := &yizhanv1.Consultation{}
		if err := proto.Unmarshal(v, c); err != nil {
			return errors.Join(errors.New("a consultation"), err)
		}
		f(c)
		return nil
	})
}
