package casebook

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/registry"
)

// Zero reports (零报告): one per office and day, kept at the office and
// carried up (carried.go), so the offices above see who has sent theirs.
//
//	book/dz/<YYYYMMDD>\0<office>   a zero report (yizhanv1.ZeroReport)

func zeroKey(day, office string) []byte { return key(pZero, day, office) }

// zeroKeyOf is the key of zero report z (its id names office and day).
func zeroKeyOf(id string) ([]byte, bool) {
	office, day, ok := duty.ZeroReportParts(id)
	if !ok {
		return nil, false
	}
	return zeroKey(day, office), true
}

// putZeroReport applies PutZeroReport: once per office and day.
func (o *overlay) putZeroReport(p *peerv1.PutZeroReport) (proto.Message, error) {
	z := p.GetReport()
	k, ok := zeroKeyOf(z.GetId())
	switch {
	case !ok || z.GetId() != duty.ZeroReportID(z.GetOfficeCode(), dayOf(z.GetDay())):
		return nil, fmt.Errorf("%w: zero report %s does not name its office and day", casework.ErrFailedPrecondition, z.GetId())
	case z.GetOfficeCode() != o.b.office:
		return nil, fmt.Errorf("%w: zero report of office %s, not %s", casework.ErrPermissionDenied, z.GetOfficeCode(), o.b.office)
	}
	if _, held := o.get(k); held {
		return nil, fmt.Errorf("%w: the zero report of %s is sent already", casework.ErrFailedPrecondition, z.GetDay())
	}
	if id := reportInHand(o, o.b.office, dayOf(z.GetDay())); id != "" {
		return nil, fmt.Errorf("%w: no zero report beside first report %s: something happened", casework.ErrFailedPrecondition, id)
	}
	o.setProto(k, z)
	o.queueUp(z.GetId(), 1)
	return z, nil
}

// ReportInHand is a first report of office that says something happened
// on day (YYYYMMDD, China time): written that day (signed or still a
// draft waiting for its leader), or signed that day; "" when none. A zero report (零报告) says nothing
// happened: the book refuses one beside it (瞒报 is what the seed warns
// of).
func (b *Book) ReportInHand(office, day string) string {
	var id string
	b.view(func(txn *badger.Txn) error {
		id = reportInHand(txnReader{txn}, office, day)
		return nil
	})
	return id
}

// reportInHand is ReportInHand read through rd.
func reportInHand(rd reader, office, day string) string {
	var id string
	p := key(pReportByOffice, office, "")
	rd.eachBase(p, func(k, _ []byte) bool {
		if len(k) < len(p)+8 {
			return true
		}
		r := &yizhanv1.UrgentReport{}
		v, ok := rd.get(reportKey(string(k[len(p)+8:])))
		if !ok || proto.Unmarshal(v, r) != nil || r.GetKind() != yizhanv1.ReportKind_REPORT_KIND_FIRST {
			return true
		}
		on := func(t *timestamppb.Timestamp) bool {
			return t != nil && t.AsTime().In(registry.CST).Format("20060102") == day
		}
		if on(r.GetWrittenAt()) || on(r.GetSignedAt()) {
			id = r.GetId()
			return false
		}
		return true
	})
	return id
}

// receiveZeroReport stores a zero report carried up from a child office.
func (o *overlay) receiveZeroReport(m *peerv1.CaseMessage) *peerv1.CaseReceipt {
	z := m.GetZeroReport()
	rc := &peerv1.CaseReceipt{CaseNumber: m.GetCaseNumber()}
	k, ok := zeroKeyOf(z.GetId())
	from := m.GetFromOffice()
	switch {
	case !ok || m.GetCaseNumber() != z.GetId() || z.GetId() != duty.ZeroReportID(z.GetOfficeCode(), dayOf(z.GetDay())):
		rc.Refused = fmt.Sprintf("the message names %s and carries zero report %s", m.GetCaseNumber(), z.GetId())
	case registry.ParentCode(from) != o.b.office:
		rc.Refused = fmt.Sprintf("zero reports travel up the tree: office %s is not a child of %s", from, o.b.office)
	case !registry.IsAncestorOrSelf(from, z.GetOfficeCode()):
		rc.Refused = fmt.Sprintf("zero report %s is of office %s, which is not office %s or below it", z.GetId(), z.GetOfficeCode(), from)
	}
	if rc.Refused != "" {
		return rc
	}
	rc.HaveSeq = 1
	if _, held := o.get(k); !held {
		o.setProto(k, z)
		o.queueUp(z.GetId(), 1)
	}
	return rc
}

// dayOf is a YYYY-MM-DD day as YYYYMMDD.
func dayOf(d string) string {
	out := make([]byte, 0, 8)
	for i := 0; i < len(d); i++ {
		if d[i] != '-' {
			out = append(out, d[i])
		}
	}
	return string(out)
}

// zeroReport returns a zero report the book holds, by its id.
func (b *Book) zeroReport(id string) (*yizhanv1.ZeroReport, bool) {
	k, ok := zeroKeyOf(id)
	if !ok {
		return nil, false
	}
	z := &yizhanv1.ZeroReport{}
	b.view(func(txn *badger.Txn) error {
		var err error
		ok, err = getProto(txn, k, z)
		return err
	})
	return z, ok
}

// ZeroReportsBetween are the zero reports of the days from through to
// (YYYYMMDD, both included) held here, by day and office, read in one
// walk (a year's assessment: docs/BENCHMARKS.md).
func (b *Book) ZeroReportsBetween(from, to string) (map[string]map[string]*yizhanv1.ZeroReport, error) {
	out := map[string]map[string]*yizhanv1.ZeroReport{}
	err := b.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(pZero)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(key(pZero, from, "")); it.Valid(); it.Next() {
			rest := it.Item().Key()[len(pZero):]
			if len(rest) < 9 || rest[8] != 0 {
				continue
			}
			day := string(rest[:8])
			if day > to {
				break
			}
			z := &yizhanv1.ZeroReport{}
			if err := it.Item().Value(func(v []byte) error { return proto.Unmarshal(v, z) }); err != nil {
				return err
			}
			if out[day] == nil {
				out[day] = map[string]*yizhanv1.ZeroReport{}
			}
			out[day][z.GetOfficeCode()] = z
		}
		return nil
	})
	return out, err
}

// ZeroReports are the zero reports of day (YYYYMMDD) held here, by office.
func (b *Book) ZeroReports(day string) (map[string]*yizhanv1.ZeroReport, error) {
	out := map[string]*yizhanv1.ZeroReport{}
	err := b.db.View(func(txn *badger.Txn) error {
		return eachKey(txn, key(pZero, day, ""), func(_, v []byte) error {
			z := &yizhanv1.ZeroReport{}
			if err := proto.Unmarshal(v, z); err != nil {
				return err
			}
			out[z.GetOfficeCode()] = z
			return nil
		})
	})
	return out, err
}
