package casebook

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/registry"
)

// Unsigned flags (逾时未审签): a draft first report of this office still
// unsigned at its deadline is flagged by the leader's sweep
// (FlagUnsignedReport, found by book/idrd/); the flag is kept, carried up
// (carried.go) and never changes. Each book that holds a flag and not
// the report signed counts it as an unsigned report and lists it
// (book/idw/); when the signed report comes, the book settles it: the
// report counts as late instead.
//
//	book/dw/<report id>          the flag (yizhanv1.UnsignedReportFlag)
//	book/idw/<due><report id>    flags whose report is not held signed here

func unsignedFlagKey(report string) []byte { return key(pUnsignedFlag, report) }
func unsignedOpenKey(f *yizhanv1.UnsignedReportFlag) []byte {
	return key(pUnsignedOpen, be64(uint64(max(f.GetDue().AsTime().UnixNano(), 0))), f.GetReportId())
}

// signedHere reports whether the book holds report id signed.
func signedHere(rd reader, id string) bool {
	r := &yizhanv1.UrgentReport{}
	v, ok := rd.get(reportKey(id))
	return ok && proto.Unmarshal(v, r) == nil && r.GetState() == yizhanv1.ReportState_REPORT_STATE_SIGNED
}

// flagUnsigned applies FlagUnsignedReport at the reporting office: the
// report is still a draft first report of this office, past its deadline
// at the command's time, and not flagged before.
func (o *overlay) flagUnsigned(p *peerv1.FlagUnsignedReport) (proto.Message, error) {
	f := p.GetFlag()
	if err := duty.CheckUnsignedFlag(f); err != nil {
		return nil, fmt.Errorf("%w: %v", casework.ErrFailedPrecondition, err)
	}
	r := &yizhanv1.UrgentReport{}
	switch {
	case f.GetOfficeCode() != o.b.office:
		return nil, fmt.Errorf("%w: flag of office %s, not %s", casework.ErrPermissionDenied, f.GetOfficeCode(), o.b.office)
	case !o.getProto(reportKey(f.GetReportId()), r):
		return nil, fmt.Errorf("no report %q here: %w", f.GetReportId(), casework.ErrNotFound)
	}
	if _, flagged := o.get(unsignedFlagKey(f.GetReportId())); flagged {
		return nil, fmt.Errorf("%w: report %s is flagged already", casework.ErrFailedPrecondition, f.GetReportId())
	}
	want, due := duty.UnsignedFlag(r, time.Unix(0, o.at))
	if !due {
		return nil, fmt.Errorf("%w: report %s is signed, or not past its deadline", casework.ErrFailedPrecondition, r.GetId())
	}
	if !f.GetDue().AsTime().Equal(want.GetDue().AsTime()) {
		return nil, fmt.Errorf("%w: flag %s names a deadline other than the report's", casework.ErrFailedPrecondition, f.GetId())
	}
	o.del(draftDueKey(want.GetDue().AsTime(), r.GetId()))
	o.keepUnsigned(f)
	return f, nil
}

// keepUnsigned stores flag f, counts and lists it unless the report is
// held signed here, and queues it up.
func (o *overlay) keepUnsigned(f *yizhanv1.UnsignedReportFlag) {
	o.setProto(unsignedFlagKey(f.GetReportId()), f)
	if !signedHere(o, f.GetReportId()) {
		o.set(unsignedOpenKey(f), nil)
		o.countRecord(nil, f)
	}
	o.queueUp(f.GetId(), 1)
}

// settleUnsigned drops report id's flag from the unsigned count and list,
// now that the book holds the report signed.
func (o *overlay) settleUnsigned(id string) {
	f := &yizhanv1.UnsignedReportFlag{}
	if !o.getProto(unsignedFlagKey(id), f) {
		return
	}
	if _, open := o.get(unsignedOpenKey(f)); open {
		o.del(unsignedOpenKey(f))
		o.countRecord(f, nil)
	}
}

// receiveUnsigned stores a flag carried up from a child office.
func (o *overlay) receiveUnsigned(m *peerv1.CaseMessage) *peerv1.CaseReceipt {
	f := m.GetUnsignedFlag()
	rc := &peerv1.CaseReceipt{CaseNumber: m.GetCaseNumber()}
	from := m.GetFromOffice()
	var err error
	switch {
	case m.GetCaseNumber() != f.GetId():
		err = fmt.Errorf("the message names %s and carries flag %s", m.GetCaseNumber(), f.GetId())
	case from == o.b.office || !registry.IsAncestorOrSelf(o.b.office, from):
		// From a child, or from further below past an office out of
		// reach (越级, federation/mail's past.go).
		err = fmt.Errorf("flags travel up the tree: office %s is not below %s", from, o.b.office)
	case !registry.IsAncestorOrSelf(from, f.GetOfficeCode()):
		err = fmt.Errorf("flag %s is of office %s, which is not office %s or below it", f.GetId(), f.GetOfficeCode(), from)
	default:
		err = duty.CheckUnsignedFlag(f)
	}
	if err != nil {
		rc.Refused = err.Error()
		return rc
	}
	rc.HaveSeq = 1
	if _, held := o.get(unsignedFlagKey(f.GetReportId())); !held {
		o.keepUnsigned(f)
	}
	return rc
}

// unsignedFlag returns a flag the book holds, by its id.
func (b *Book) unsignedFlag(id string) (*yizhanv1.UnsignedReportFlag, bool) {
	if !duty.IsUnsignedFlagID(id) {
		return nil, false
	}
	f := &yizhanv1.UnsignedReportFlag{}
	var ok bool
	b.view(func(txn *badger.Txn) error {
		var err error
		ok, err = getProto(txn, unsignedFlagKey(id[len(duty.UnsignedFlagID("")):]), f)
		return err
	})
	return f, ok
}

// UnsignedFlags are the flags of the reports of office and the offices
// below it ("" all) that this book does not hold signed, oldest deadline
// first.
func (b *Book) UnsignedFlags(office string) ([]*yizhanv1.UnsignedReportFlag, error) {
	var out []*yizhanv1.UnsignedReportFlag
	err := b.db.View(func(txn *badger.Txn) error {
		rd := txnReader{txn}
		rd.eachBase([]byte(pUnsignedOpen), func(k, _ []byte) bool {
			rest := k[len(pUnsignedOpen):]
			if len(rest) <= 8 {
				return true
			}
			id := string(rest[8:])
			if office != "" && !registry.IsAncestorOrSelf(office, duty.ReportOffice(id)) {
				return true
			}
			f := &yizhanv1.UnsignedReportFlag{}
			if v, ok := rd.get(unsignedFlagKey(id)); ok && proto.Unmarshal(v, f) == nil {
				out = append(out, f)
			}
			return true
		})
		return nil
	})
	return out, err
}

// DraftsDue are this office's draft first reports past their deadline at
// now and not flagged yet, at most limit, oldest deadline first.
func (b *Book) DraftsDue(now time.Time, limit int) ([]*yizhanv1.UrgentReport, error) {
	var out []*yizhanv1.UrgentReport
	err := b.db.View(func(txn *badger.Txn) error {
		rd := txnReader{txn}
		rd.eachBase([]byte(pDraftDue), func(k, _ []byte) bool {
			rest := k[len(pDraftDue):]
			if len(rest) <= 8 || !now.After(time.Unix(0, int64(binary.BigEndian.Uint64(rest)))) {
				return false
			}
			r := &yizhanv1.UrgentReport{}
			if v, ok := rd.get(reportKey(string(rest[8:]))); ok && proto.Unmarshal(v, r) == nil {
				out = append(out, r)
			}
			return len(out) < limit
		})
		return nil
	})
	return out, err
}

// FirstReportsSigned are the first reports of office and the offices
// below it ("" all) signed from from until before to, as held here, in
// the order they were signed.
func (b *Book) FirstReportsSigned(office string, from, to time.Time) ([]*yizhanv1.HeldReport, error) {
	var out []*yizhanv1.HeldReport
	err := b.db.View(func(txn *badger.Txn) error {
		rd := txnReader{txn}
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = []byte(pFirstBySigned)
		it := txn.NewIterator(opts)
		defer it.Close()
		end := be64(uint64(max(to.UnixNano(), 0)))
		for it.Seek(key(pFirstBySigned, be64(uint64(max(from.UnixNano(), 0))))); it.Valid(); it.Next() {
			rest := it.Item().Key()[len(pFirstBySigned):]
			if len(rest) <= 8 || string(rest[:8]) >= string(end) {
				break
			}
			id := string(rest[8:])
			if office != "" && !registry.IsAncestorOrSelf(office, duty.ReportOffice(id)) {
				continue
			}
			if h := b.heldReport(rd, id); h != nil {
				out = append(out, h)
			}
		}
		return nil
	})
	return out, err
}

// MattersReported are the signed first reports, at office and below it
// (office "": all), of the matters with a report signed, or held here
// first, from from until to: the first report, or a follow-up or final
// report of a matter begun before, so that an upper office taking each
// period's export once gets every report (a final report signed a week
// after its first is in the export of its own week; a report signed at a
// village cut off for two days, in the export of the day it came). By the first reports' signing time. It reads
// every report held: an export's walk.
func (b *Book) MattersReported(office string, from, to time.Time) ([]*yizhanv1.HeldReport, error) {
	var out []*yizhanv1.HeldReport
	err := b.db.View(func(txn *badger.Txn) error {
		firsts := map[string]bool{}
		if err := eachKey(txn, []byte(pReport), func(_, v []byte) error {
			r := &yizhanv1.UrgentReport{}
			if err := proto.Unmarshal(v, r); err != nil {
				return err
			}
			if r.GetState() != yizhanv1.ReportState_REPORT_STATE_SIGNED || office != "" && !registry.IsAncestorOrSelf(office, r.GetOfficeCode()) {
				return nil
			}
			in := func(at time.Time) bool { return !at.Before(from) && at.Before(to) }
			held := getRaw(txn, reportHeldKey(r.GetId()))
			if !in(r.GetSignedAt().AsTime()) && (len(held) < 8 || !in(time.Unix(0, int64(binary.BigEndian.Uint64(held[:8]))))) {
				return nil // neither signed nor come here in the period
			}
			first := r.GetFirstId()
			if r.GetKind() == yizhanv1.ReportKind_REPORT_KIND_FIRST {
				first = r.GetId()
			}
			firsts[first] = true
			return nil
		}); err != nil {
			return err
		}
		rd := txnReader{txn}
		for id := range firsts {
			if h := b.heldReport(rd, id); h != nil && h.GetReport().GetState() == yizhanv1.ReportState_REPORT_STATE_SIGNED {
				out = append(out, h)
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b *yizhanv1.HeldReport) int {
		if c := a.GetReport().GetSignedAt().AsTime().Compare(b.GetReport().GetSignedAt().AsTime()); c != 0 {
			return c
		}
		return strings.Compare(a.GetReport().GetId(), b.GetReport().GetId())
	})
	return out, err
}

// rejudgedHeld are the signed reports' book/drh/ values whose late byte
// this release's rule (duty.Late from the time held) judges otherwise:
// stats format 12 runs a first report's hour from when its office learnt
// of the event, so a report judged late by the hour from the event may
// be on time. upgradeStats writes them with the counters, which it
// counts with the same rule, so a report reads as the assessment counts
// it.
func rejudgedHeld(txn *badger.Txn) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := eachKey(txn, []byte(pReportHeld), func(k, v []byte) error {
		if len(v) != 9 {
			return nil
		}
		r := &yizhanv1.UrgentReport{}
		if ok, err := getProto(txn, reportKey(string(k[len(pReportHeld):])), r); err != nil || !ok {
			return err
		}
		late := byte(0)
		if duty.Late(r, time.Unix(0, int64(binary.BigEndian.Uint64(v[:8])))) {
			late = 1
		}
		if v[8] != late {
			out[string(k)] = append(append([]byte(nil), v[:8]...), late)
		}
		return nil
	})
	return out, err
}

// dutyIndexKeys are the keys of the indexes statsFormat 4 added (signed
// first reports by signing time, this office's drafts by deadline, open
// unsigned flags), as the records in txn make them: upgradeStats writes
// them into a book of an older release.
func (b *Book) dutyIndexKeys(txn *badger.Txn) ([][]byte, error) {
	var out [][]byte
	rd := txnReader{txn}
	if err := eachKey(txn, []byte(pReport), func(_, v []byte) error {
		r := &yizhanv1.UrgentReport{}
		if err := proto.Unmarshal(v, r); err != nil {
			return err
		}
		due := duty.Due(r)
		switch {
		case r.GetKind() != yizhanv1.ReportKind_REPORT_KIND_FIRST:
		case r.GetState() == yizhanv1.ReportState_REPORT_STATE_SIGNED:
			out = append(out, firstBySignedKey(r))
		case r.GetOfficeCode() == b.office && !due.IsZero():
			if _, flagged := rd.get(unsignedFlagKey(r.GetId())); !flagged {
				out = append(out, draftDueKey(due, r.GetId()))
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	err := eachKey(txn, []byte(pUnsignedFlag), func(_, v []byte) error {
		f := &yizhanv1.UnsignedReportFlag{}
		if err := proto.Unmarshal(v, f); err != nil {
			return err
		}
		if !signedHere(rd, f.GetReportId()) {
			out = append(out, unsignedOpenKey(f))
		}
		return nil
	})
	return out, err
}
