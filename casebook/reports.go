package casebook

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/registry"
)

// Urgent reports (package duty has their rules) and their
// acknowledgements, carried up the tree (carried.go). A report is
// written, changed and signed at its office (PutUrgentReport); signed, it
// is queued up. Each book that stores it signed notes when (its own
// office: when it was signed) and whether that was after a first
// report's deadline (迟报), from the command's time, the same on every
// node. Each office above acknowledges it (PutReportAck), once. A
// follow-up or final report takes its matter's next number when it is
// signed (numbered), so that the numbers follow what was sent.
//
//	book/dr/<id>                  the report (yizhanv1.UrgentReport)
//	book/drh/<id>                 when this book stored it signed (8 bytes), late (1 byte)
//	book/idr/<office>\0<at><id>   by reporting office and time written
//	book/idq/<at><id>             signed reports from below this office has not acknowledged
//	book/drf/<first id>\0<id>     a first report's follow-ups and final report
//	book/dq/<report id>\0<office> an acknowledgement (yizhanv1.ReportAck)
//	book/idrs/<signed at><id>     signed first reports by when they were signed (the assessment)
//	book/idrd/<due><id>           this office's draft first reports by deadline (the sweep)
//
// A draft first report still unsigned at its deadline is flagged by the
// office's sweep (unsigned.go). Every book counts, per office and day,
// the reports signed, the first reports and the late ones (duty's
// counters among the statistics: recordCounters).

func reportKey(id string) []byte     { return key(pReport, id) }
func reportHeldKey(id string) []byte { return key(pReportHeld, id) }
func reportByOfficeKey(r *yizhanv1.UrgentReport) []byte {
	return key(pReportByOffice, r.GetOfficeCode(), be64(uint64(max(r.GetWrittenAt().AsTime().UnixNano(), 0))), r.GetId())
}
func awaitingAckKey(at time.Time, id string) []byte {
	return key(pAwaitingAck, be64(uint64(max(at.UnixNano(), 0))), id)
}
func followingKey(first, id string) []byte { return key(pReportFollowing, first, id) }
func firstBySignedKey(r *yizhanv1.UrgentReport) []byte {
	return key(pFirstBySigned, be64(uint64(max(r.GetSignedAt().AsTime().UnixNano(), 0))), r.GetId())
}
func draftDueKey(due time.Time, id string) []byte {
	return key(pDraftDue, be64(uint64(max(due.UnixNano(), 0))), id)
}
func ackKey(report, office string) []byte { return key(pReportAck, report, office) }

// putReport applies PutUrgentReport at the reporting office.
func (o *overlay) putReport(p *peerv1.PutUrgentReport) (proto.Message, error) {
	r := p.GetReport()
	if err := duty.Check(r); err != nil {
		return nil, fmt.Errorf("%w: %v", casework.ErrFailedPrecondition, err)
	}
	if r.GetOfficeCode() != o.b.office {
		return nil, fmt.Errorf("%w: report %s is of office %s, not %s", casework.ErrPermissionDenied, r.GetId(), r.GetOfficeCode(), o.b.office)
	}
	held := &yizhanv1.UrgentReport{}
	if o.getProto(reportKey(r.GetId()), held) {
		if err := duty.Changes(r, held); err != nil {
			return nil, fmt.Errorf("%w: %v", casework.ErrFailedPrecondition, err)
		}
		// A first report's hour, once run out, is not moved later by a
		// change of the draft (the time of the event, its category or
		// level): it stays late (迟报), as its unsigned flag says.
		if passed := duty.Due(held); !passed.IsZero() && time.Unix(0, o.at).After(passed) && duty.Due(r).After(passed) {
			return nil, fmt.Errorf("%w: report %s: its first report's hour ran out at %s; a change may not move it later", casework.ErrFailedPrecondition, r.GetId(), passed.Format(time.RFC3339))
		}
		signing := held.GetState() == yizhanv1.ReportState_REPORT_STATE_DRAFT && r.GetState() == yizhanv1.ReportState_REPORT_STATE_SIGNED
		// A follow-up or a second final report drafted before the final
		// report was signed stays a draft: nothing follows the final.
		if signing && r.GetKind() != yizhanv1.ReportKind_REPORT_KIND_FIRST && o.closed(r.GetFirstId()) {
			return nil, fmt.Errorf("%w: the matter of report %s is closed by its final report: report %s cannot be signed", casework.ErrFailedPrecondition, r.GetFirstId(), r.GetId())
		}
		if err := o.numbered(r, held, signing); err != nil {
			return nil, err
		}
	} else {
		if r.GetVersion() != 1 || r.GetState() != yizhanv1.ReportState_REPORT_STATE_DRAFT {
			return nil, fmt.Errorf("%w: report %s: a new report is a draft, version 1", casework.ErrFailedPrecondition, r.GetId())
		}
		if r.GetKind() != yizhanv1.ReportKind_REPORT_KIND_FIRST {
			first := &yizhanv1.UrgentReport{}
			switch {
			case !o.getProto(reportKey(r.GetFirstId()), first) || first.GetOfficeCode() != o.b.office:
				return nil, fmt.Errorf("no first report %q of this office: %w", r.GetFirstId(), casework.ErrNotFound)
			case first.GetKind() != yizhanv1.ReportKind_REPORT_KIND_FIRST || first.GetState() != yizhanv1.ReportState_REPORT_STATE_SIGNED:
				return nil, fmt.Errorf("%w: report %s is not a signed first report", casework.ErrFailedPrecondition, r.GetFirstId())
			case o.closed(r.GetFirstId()):
				return nil, fmt.Errorf("%w: the matter of report %s is closed by its final report", casework.ErrFailedPrecondition, r.GetFirstId())
			}
		}
		o.set(reportByOfficeKey(r), nil)
		if r.GetFirstId() != "" {
			o.set(followingKey(r.GetFirstId(), r.GetId()), nil)
		}
		held = nil
	}
	// The sweep finds a draft first report by its deadline, until it is
	// signed or flagged (a change may move the deadline).
	if held != nil {
		if due := duty.Due(held); !due.IsZero() {
			o.del(draftDueKey(due, r.GetId()))
		}
	}
	if _, flagged := o.get(unsignedFlagKey(r.GetId())); !flagged && r.GetState() == yizhanv1.ReportState_REPORT_STATE_DRAFT {
		if due := duty.Due(r); !due.IsZero() {
			o.set(draftDueKey(due, r.GetId()), nil)
		}
	}
	o.setProto(reportKey(r.GetId()), r)
	if r.GetState() == yizhanv1.ReportState_REPORT_STATE_SIGNED {
		o.held(r, r.GetSignedAt().AsTime())
		o.queueUp(r.GetId(), r.GetVersion())
	}
	return o.b.heldReport(o, r.GetId()), nil
}

// numbered checks the number of follow-up or final report r, next of
// held: a draft carries none, and keeps the one it has; signed, it takes
// the next of its matter (nextNumber), so that the numbers follow the
// order the reports were signed and sent, each once. Drafts written by
// an earlier release carry the number counted when they were written:
// the signing of one is not checked, so that the entries of that release
// apply as they did (the office's leader numbers it as any other).
func (o *overlay) numbered(r, held *yizhanv1.UrgentReport, signing bool) error {
	switch {
	case r.GetKind() == yizhanv1.ReportKind_REPORT_KIND_FIRST:
		if r.GetFollowUpNumber() != 0 {
			return fmt.Errorf("%w: report %s: a first report has no follow-up number", casework.ErrFailedPrecondition, r.GetId())
		}
	case !signing:
		if r.GetFollowUpNumber() != held.GetFollowUpNumber() {
			return fmt.Errorf("%w: report %s: a draft's follow-up number is given when it is signed", casework.ErrFailedPrecondition, r.GetId())
		}
	case held.GetFollowUpNumber() == 0:
		if next := nextNumber(o, r.GetFirstId()); r.GetFollowUpNumber() != next {
			return fmt.Errorf("%w: report %s signed as number %d of the matter of report %s, whose next is %d (another of its reports was signed meanwhile): sign it again",
				ErrFollowUpNumber, r.GetId(), r.GetFollowUpNumber(), r.GetFirstId(), next)
		}
	}
	return nil
}

// ErrFollowUpNumber refuses a follow-up or final report signed with a
// number that is not its matter's next (another was signed meanwhile).
var ErrFollowUpNumber = fmt.Errorf("%w: not the matter's next follow-up number", casework.ErrFailedPrecondition)

// nextNumber is the number the next follow-up or final report of first's
// matter takes when it is signed: one more than the highest its signed
// ones carry (their count, in a book of this release; one of an earlier
// release, which numbered the drafts as they were written, may hold a
// number twice or skip one: the next is still one no report holds).
func nextNumber(rd reader, first string) uint32 {
	var n uint32
	p := key(pReportFollowing, first, "")
	rd.eachBase(p, func(k, _ []byte) bool {
		r := &yizhanv1.UrgentReport{}
		if v, ok := rd.get(reportKey(string(k[len(p):]))); ok && proto.Unmarshal(v, r) == nil &&
			r.GetState() == yizhanv1.ReportState_REPORT_STATE_SIGNED {
			n = max(n, r.GetFollowUpNumber())
		}
		return true
	})
	return n + 1
}

// NextFollowUpNumber is the number the next follow-up or final report of
// first's matter takes when it is signed here (the office's leader reads
// it, one signature at a time; the book checks it where it is applied).
func (b *Book) NextFollowUpNumber(first string) uint32 {
	var n uint32
	b.view(func(txn *badger.Txn) error {
		n = nextNumber(txnReader{txn}, first)
		return nil
	})
	return n
}

// closed reports whether first's matter has a signed final report here.
func (o *overlay) closed(first string) bool {
	closed := false
	o.eachBase(key(pReportFollowing, first, ""), func(k, _ []byte) bool {
		r := &yizhanv1.UrgentReport{}
		id := string(k[len(key(pReportFollowing, first, "")):])
		if o.getProto(reportKey(id), r) && r.GetKind() == yizhanv1.ReportKind_REPORT_KIND_FINAL && r.GetState() == yizhanv1.ReportState_REPORT_STATE_SIGNED {
			closed = true
			return false
		}
		return true
	})
	return closed
}

// held notes when this book stored signed report r, and whether that was
// late; an office above awaits its acknowledgement. It counts the report
// and settles its unsigned flag, if this book holds one (once per report:
// a signed report does not change).
func (o *overlay) held(r *yizhanv1.UrgentReport, at time.Time) {
	o.countRecord(nil, r)
	if r.GetKind() == yizhanv1.ReportKind_REPORT_KIND_FIRST {
		o.set(firstBySignedKey(r), nil)
		o.settleUnsigned(r.GetId())
	}
	v := be64(uint64(at.UnixNano()))
	if duty.Late(r, at) {
		v = append(v, 1)
	} else {
		v = append(v, 0)
	}
	o.set(reportHeldKey(r.GetId()), v)
	if r.GetOfficeCode() != o.b.office {
		if _, acked := o.get(ackKey(r.GetId(), o.b.office)); !acked {
			o.set(awaitingAckKey(at, r.GetId()), nil)
		}
	}
}

// receiveReport stores a signed report carried up from a child office.
func (o *overlay) receiveReport(m *peerv1.CaseMessage) *peerv1.CaseReceipt {
	r := m.GetReport()
	rc := &peerv1.CaseReceipt{CaseNumber: m.GetCaseNumber()}
	held := &yizhanv1.UrgentReport{}
	found := o.getProto(reportKey(r.GetId()), held)
	if found {
		rc.HaveSeq = held.GetVersion()
	}
	from := m.GetFromOffice()
	var err error
	switch {
	case m.GetCaseNumber() != r.GetId() || len(m.GetEvents()) > 0:
		err = fmt.Errorf("the message names %s and carries report %s", m.GetCaseNumber(), r.GetId())
	case from == o.b.office || !registry.IsAncestorOrSelf(o.b.office, from):
		// From a child, or from further below past an office out of
		// reach (越级, federation/mail's past.go).
		err = fmt.Errorf("reports travel up the tree: office %s is not below %s", from, o.b.office)
	case !registry.IsAncestorOrSelf(from, r.GetOfficeCode()):
		err = fmt.Errorf("report %s is of office %s, which is not office %s or below it", r.GetId(), r.GetOfficeCode(), from)
	case r.GetState() != yizhanv1.ReportState_REPORT_STATE_SIGNED:
		err = fmt.Errorf("report %s is not signed", r.GetId())
	default:
		err = duty.Check(r)
	}
	if err == nil && found {
		if held.GetVersion() >= r.GetVersion() {
			return rc // held already
		}
		err = fmt.Errorf("report %s: a signed copy does not change", r.GetId())
	}
	if err != nil {
		rc.Refused = err.Error()
		return rc
	}
	o.setProto(reportKey(r.GetId()), r)
	o.set(reportByOfficeKey(r), nil)
	if r.GetFirstId() != "" {
		o.set(followingKey(r.GetFirstId(), r.GetId()), nil)
	}
	o.held(r, time.Unix(0, o.at))
	o.queueUp(r.GetId(), r.GetVersion())
	rc.HaveSeq = r.GetVersion()
	return rc
}

// putAck applies PutReportAck: this office acknowledges a report from
// below it.
func (o *overlay) putAck(p *peerv1.PutReportAck) (proto.Message, error) {
	a := p.GetAck()
	if err := duty.CheckAck(a); err != nil {
		return nil, fmt.Errorf("%w: %v", casework.ErrFailedPrecondition, err)
	}
	r := &yizhanv1.UrgentReport{}
	switch {
	case a.GetOfficeCode() != o.b.office:
		return nil, fmt.Errorf("%w: acknowledgement of office %s, not %s", casework.ErrPermissionDenied, a.GetOfficeCode(), o.b.office)
	case !o.getProto(reportKey(a.GetReportId()), r):
		return nil, fmt.Errorf("no report %q here: %w", a.GetReportId(), casework.ErrNotFound)
	case r.GetOfficeCode() == o.b.office:
		return nil, fmt.Errorf("%w: an office acknowledges the reports from below it, not its own", casework.ErrPermissionDenied)
	}
	if _, ok := o.get(ackKey(a.GetReportId(), o.b.office)); ok {
		return nil, fmt.Errorf("%w: report %s is acknowledged here already", casework.ErrFailedPrecondition, a.GetReportId())
	}
	o.keepAck(a)
	h := o.b.heldReport(o, a.GetReportId())
	h.Acks = append(h.Acks, a) // the command's own write: not among those eachBase reads
	SetNextFollowUp(h)         // with the interval it asks for
	return h, nil
}

func (o *overlay) keepAck(a *yizhanv1.ReportAck) {
	o.setProto(ackKey(a.GetReportId(), a.GetOfficeCode()), a)
	if a.GetOfficeCode() == o.b.office {
		if v, ok := o.get(reportHeldKey(a.GetReportId())); ok && len(v) >= 8 {
			o.del(awaitingAckKey(time.Unix(0, int64(binary.BigEndian.Uint64(v))), a.GetReportId()))
		}
	}
	o.queueUp(a.GetId(), 1)
}

// receiveAck stores an acknowledgement carried up from a child office.
func (o *overlay) receiveAck(m *peerv1.CaseMessage) *peerv1.CaseReceipt {
	a := m.GetReportAck()
	rc := &peerv1.CaseReceipt{CaseNumber: m.GetCaseNumber()}
	from := m.GetFromOffice()
	var err error
	switch {
	case m.GetCaseNumber() != a.GetId():
		err = fmt.Errorf("the message names %s and carries acknowledgement %s", m.GetCaseNumber(), a.GetId())
	case registry.ParentCode(from) != o.b.office:
		err = fmt.Errorf("acknowledgements travel up the tree: office %s is not a child of %s", from, o.b.office)
	case !registry.IsAncestorOrSelf(from, a.GetOfficeCode()):
		err = fmt.Errorf("acknowledgement %s is of office %s, which is not office %s or below it", a.GetId(), a.GetOfficeCode(), from)
	default:
		err = duty.CheckAck(a)
	}
	if err != nil {
		rc.Refused = err.Error()
		return rc
	}
	rc.HaveSeq = 1
	if _, ok := o.get(ackKey(a.GetReportId(), a.GetOfficeCode())); ok {
		return rc
	}
	o.keepAck(a)
	return rc
}

// Report returns a report the book holds, as held here.
func (b *Book) Report(id string) (*yizhanv1.HeldReport, bool) {
	var h *yizhanv1.HeldReport
	b.view(func(txn *badger.Txn) error {
		h = b.heldReport(txnReader{txn}, id)
		return nil
	})
	return h, h != nil
}

// reader reads keys: an overlay (a command's view) or a transaction.
type reader interface {
	get(k []byte) ([]byte, bool)
	eachBase(p []byte, f func(k, v []byte) bool)
}

type txnReader struct{ txn *badger.Txn }

func (t txnReader) get(k []byte) ([]byte, bool) {
	it, err := t.txn.Get(k)
	if err != nil {
		return nil, false
	}
	v, err := it.ValueCopy(nil)
	return v, err == nil
}

func (t txnReader) eachBase(p []byte, f func(k, v []byte) bool) {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = p
	it := t.txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		v, err := it.Item().ValueCopy(nil)
		if err != nil || !f(it.Item().KeyCopy(nil), v) {
			return
		}
	}
}

// heldReport is report id with what this book knows of it, nil if none.
func (b *Book) heldReport(rd reader, id string) *yizhanv1.HeldReport {
	v, ok := rd.get(reportKey(id))
	if !ok {
		return nil
	}
	r := &yizhanv1.UrgentReport{}
	if proto.Unmarshal(v, r) != nil {
		return nil
	}
	h := &yizhanv1.HeldReport{Report: r}
	if due := duty.Due(r); !due.IsZero() {
		h.Due = timestamppb.New(due)
	}
	if v, ok := rd.get(reportHeldKey(id)); ok && len(v) == 9 {
		h.ReceivedAt = timestamppb.New(time.Unix(0, int64(binary.BigEndian.Uint64(v))))
		h.Late = v[8] == 1
	}
	rd.eachBase(key(pReportAck, id, ""), func(_, v []byte) bool {
		a := &yizhanv1.ReportAck{}
		if proto.Unmarshal(v, a) == nil {
			h.Acks = append(h.Acks, a)
		}
		return true
	})
	f := &yizhanv1.UnsignedReportFlag{}
	if v, ok := rd.get(unsignedFlagKey(id)); ok && proto.Unmarshal(v, f) == nil {
		h.FlaggedUnsignedAt = f.GetFlaggedAt()
	}
	if r.GetKind() == yizhanv1.ReportKind_REPORT_KIND_FIRST {
		last := r.GetSignedAt().AsTime()
		rd.eachBase(key(pReportFollowing, id, ""), func(k, _ []byte) bool {
			f := &yizhanv1.UrgentReport{}
			if v, ok := rd.get(reportKey(string(k[len(key(pReportFollowing, id, "")):]))); !ok || proto.Unmarshal(v, f) != nil ||
				f.GetState() != yizhanv1.ReportState_REPORT_STATE_SIGNED {
				return true
			}
			if at := f.GetSignedAt().AsTime(); at.After(last) {
				last = at
			}
			if f.GetKind() == yizhanv1.ReportKind_REPORT_KIND_FINAL {
				h.Closed = true
			}
			return true
		})
		if r.GetState() == yizhanv1.ReportState_REPORT_STATE_SIGNED {
			h.LastReportedAt = timestamppb.New(last)
		}
		SetNextFollowUp(h)
	}
	return h
}

// SetNextFollowUp sets h's next_follow_up_due from its acknowledgements
// and last report (duty.NextFollowUp): a first report signed, its matter
// not closed. Call it again when acknowledgements are added.
func SetNextFollowUp(h *yizhanv1.HeldReport) {
	h.NextFollowUpDue = nil
	if h.GetClosed() || h.GetLastReportedAt() == nil || h.GetReport().GetKind() != yizhanv1.ReportKind_REPORT_KIND_FIRST {
		return
	}
	if due := duty.NextFollowUp(h.GetAcks(), h.GetLastReportedAt().AsTime()); !due.IsZero() {
		h.NextFollowUpDue = timestamppb.New(due)
	}
}

// ack returns an acknowledgement the book holds, by its id.
func (b *Book) ack(id string) (*yizhanv1.ReportAck, bool) {
	// QS-<office>-<report id>
	rest := id[len("QS-"):]
	i := bytes.IndexByte([]byte(rest), '-')
	if i < 0 {
		return nil, false
	}
	office, report := rest[:i], rest[i+1:]
	a := &yizhanv1.ReportAck{}
	var ok bool
	b.view(func(txn *badger.Txn) error {
		var err error
		ok, err = getProto(txn, ackKey(report, office), a)
		return err
	})
	return a, ok
}

// ReportQuery selects reports.
type ReportQuery struct {
	Office         string // the reporting office, with the offices below it ("" all)
	State          yizhanv1.ReportState
	FirstID        string // a matter: its first report and those that follow it
	Unacknowledged bool   // signed reports from below that this office has not acknowledged, oldest first
	// Scope narrows a listing to Office's own reports, or to those from
	// the offices below it (unspecified: both).
	Scope     yizhanv1.ReportScope
	Limit     int    // default and at most 1000
	PageToken string // the next page's token the page before gave
}

// holds reports whether q lists the reports of office: Office's own, or
// those of an office below it, as Scope says; every office's without an
// Office.
func (q ReportQuery) holds(office string) bool {
	switch {
	case q.Office == "":
		return true
	case q.Scope == yizhanv1.ReportScope_REPORT_SCOPE_OWN:
		return office == q.Office
	case q.Scope == yizhanv1.ReportScope_REPORT_SCOPE_BELOW:
		return office != q.Office && registry.IsAncestorOrSelf(q.Office, office)
	}
	return registry.IsAncestorOrSelf(q.Office, office)
}

// Reports lists a page of the reports q selects, newest written first,
// and the token of the next page ("" after the last). A page goes on
// after the last report of the page before: its time and id (a matter's
// first report comes first, then those that follow it, by id).
func (b *Book) Reports(q ReportQuery) ([]*yizhanv1.HeldReport, string, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 1000
	}
	listing := reportPages
	switch {
	case q.Unacknowledged:
		listing = unackedPages
	case q.FirstID != "":
		listing = matterPages
	}
	var (
		out  []*yizhanv1.HeldReport
		next string
	)
	err := b.db.View(func(txn *badger.Txn) error {
		rd := txnReader{txn}
		var ps []recordPos
		switch listing {
		case unackedPages:
			rd.eachBase([]byte(pAwaitingAck), func(k, _ []byte) bool {
				if rest := k[len(pAwaitingAck):]; len(rest) > 8 {
					ps = append(ps, recordPos{binary.BigEndian.Uint64(rest), string(rest[8:])})
				}
				return true
			})
		case matterPages:
			ps = append(ps, recordPos{0, q.FirstID})
			p := key(pReportFollowing, q.FirstID, "")
			rd.eachBase(p, func(k, _ []byte) bool {
				ps = append(ps, recordPos{1, string(k[len(p):])})
				return true
			})
		default:
			rd.eachBase([]byte(pReportByOffice), func(k, _ []byte) bool {
				office, rest, ok := bytes.Cut(k[len(pReportByOffice):], []byte{0})
				if ok && len(rest) > 8 && q.holds(string(office)) {
					ps = append(ps, recordPos{binary.BigEndian.Uint64(rest), string(rest[8:])})
				}
				return true
			})
			slices.SortFunc(ps, func(a, b recordPos) int { return b.compare(a) })
		}
		ps, err := recordsAfter(ps, listing, q.PageToken, listing == reportPages, duty.IsReportID)
		if err != nil {
			return err
		}
		out, next = recordPage(ps, listing, q.Limit, func(id string) (*yizhanv1.HeldReport, bool) {
			h := b.heldReport(rd, id)
			return h, h != nil && (q.State == 0 || h.GetReport().GetState() == q.State) &&
				q.holds(h.GetReport().GetOfficeCode())
		})
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// checkReports checks that every report is well formed and indexed by
// its office, each follow-up under its first report, and that the
// reports awaiting this office's acknowledgement are exactly the signed
// ones from below that it has not acknowledged.
func checkReports(b *Book, txn *badger.Txn, bad func(string, ...any)) error {
	return checkIndexes(txn, "report", bad, func(w recordWalk) error {
		rd := txnReader{txn}
		if err := eachKey(txn, []byte(pReport), func(k, v []byte) error {
			r := &yizhanv1.UrgentReport{}
			if err := proto.Unmarshal(v, r); err != nil {
				w.report("report %q: %v", k, err)
				return nil
			}
			if err := duty.Check(r); err != nil {
				w.report("%v", err)
			}
			w.emit(reportByOfficeKey(r))
			if r.GetFirstId() != "" {
				w.emit(followingKey(r.GetFirstId(), r.GetId()))
			}
			if due := duty.Due(r); !due.IsZero() && r.GetState() == yizhanv1.ReportState_REPORT_STATE_DRAFT && r.GetOfficeCode() == b.office {
				if _, flagged := rd.get(unsignedFlagKey(r.GetId())); !flagged {
					w.emit(draftDueKey(due, r.GetId()))
				}
			}
			if r.GetState() == yizhanv1.ReportState_REPORT_STATE_SIGNED && r.GetKind() == yizhanv1.ReportKind_REPORT_KIND_FIRST {
				w.emit(firstBySignedKey(r))
			}
			if r.GetState() == yizhanv1.ReportState_REPORT_STATE_SIGNED {
				at, ok := rd.get(reportHeldKey(r.GetId()))
				if !ok || len(at) != 9 {
					w.report("signed report %s has no time held", r.GetId())
				} else if _, acked := rd.get(ackKey(r.GetId(), b.office)); r.GetOfficeCode() != b.office && !acked {
					w.emit(awaitingAckKey(time.Unix(0, int64(binary.BigEndian.Uint64(at))), r.GetId()))
				}
			}
			return nil
		}); err != nil {
			return err
		}
		return eachKey(txn, []byte(pUnsignedFlag), func(k, v []byte) error {
			f := &yizhanv1.UnsignedReportFlag{}
			if err := proto.Unmarshal(v, f); err != nil {
				w.report("unsigned flag %q: %v", k, err)
				return nil
			}
			if err := duty.CheckUnsignedFlag(f); err != nil {
				w.report("%v", err)
			}
			if !signedHere(rd, f.GetReportId()) {
				w.emit(unsignedOpenKey(f))
			}
			return nil
		})
	}, pReportByOffice, pReportFollowing, pAwaitingAck, pFirstBySigned, pDraftDue, pUnsignedOpen)
}
