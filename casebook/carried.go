package casebook

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// Records carried up the tree beside the cases: consultations, urgent
// reports and their acknowledgements, unsigned reports' flags, duty
// shifts, zero reports. Each is kept in the book of the office that wrote
// it and queued to the parent in the outbox under its
// id (its version as upto_seq); the case mail sends it as a CaseMessage
// holding the record instead of a case's log; the parent keeps a copy and
// queues it on. The ids' prefixes tell them from case numbers (which
// start with an office's digits) and from each other.

// carriesRecords reports whether a Receive holds a record other than a
// case's log.
func carriesRecords(rc *peerv1.ReceiveCaseMessages) bool {
	return slices.ContainsFunc(rc.GetMessages(), isRecordMessage)
}

func isRecordMessage(m *peerv1.CaseMessage) bool { return Records(m) > 0 }

// Records is how many records (a consultation, a report, an
// acknowledgement, a shift, a zero report, an unsigned flag) message m
// carries. A message carries one record, or a case's log: the record
// checked (its signature, at the mail) must be the record applied, so a
// message with more, or with a record and events, is refused
// (OneRecordOrCase).
func Records(m *peerv1.CaseMessage) int {
	n := 0
	for _, set := range []bool{m.GetConsultation() != nil, m.GetReport() != nil, m.GetReportAck() != nil, m.GetShift() != nil,
		m.GetZeroReport() != nil, m.GetUnsignedFlag() != nil} {
		if set {
			n++
		}
	}
	return n
}

// OneRecordOrCase is why message m must be refused for what it carries,
// "" when it carries one record, or a case's log, not both.
func OneRecordOrCase(m *peerv1.CaseMessage) string {
	switch n := Records(m); {
	case n > 1:
		return fmt.Sprintf("message carries %d records: one a message", n)
	case n == 1 && (len(m.GetEvents()) > 0 || m.GetHandoffTo() != ""):
		return "message carries a record and a case's events: one or the other"
	}
	return ""
}

// receive applies a Receive that carries records among its case
// messages: each in turn, the receipts in the messages' order.
func (o *overlay) receive(rc *peerv1.ReceiveCaseMessages, cmd *peerv1.CaseCommand, reg casework.Registry) (proto.Message, error) {
	resp := &peerv1.DeliverCasesResponse{}
	for _, m := range rc.GetMessages() {
		if why := OneRecordOrCase(m); why != "" {
			resp.Receipts = append(resp.Receipts, &peerv1.CaseReceipt{CaseNumber: m.GetCaseNumber(), Refused: why})
			continue
		}
		switch {
		case m.GetConsultation() != nil:
			resp.Receipts = append(resp.Receipts, o.receiveConsultation(m))
		case m.GetReport() != nil:
			resp.Receipts = append(resp.Receipts, o.receiveReport(m))
		case m.GetReportAck() != nil:
			resp.Receipts = append(resp.Receipts, o.receiveAck(m))
		case m.GetShift() != nil:
			resp.Receipts = append(resp.Receipts, o.receiveShift(m))
		case m.GetZeroReport() != nil:
			resp.Receipts = append(resp.Receipts, o.receiveZeroReport(m))
		case m.GetUnsignedFlag() != nil:
			resp.Receipts = append(resp.Receipts, o.receiveUnsigned(m))
		default:
			one := &peerv1.CaseCommand{AtUnixNano: cmd.GetAtUnixNano(), Op: &peerv1.CaseCommand_Receive{
				Receive: &peerv1.ReceiveCaseMessages{Messages: []*peerv1.CaseMessage{m}}}}
			v, err := casework.ApplyCommand(o, o.b.office, one, reg)
			if err != nil {
				return nil, err
			}
			resp.Receipts = append(resp.Receipts, v.(*peerv1.DeliverCasesResponse).GetReceipts()...)
		}
	}
	return resp, nil
}

// recordMessage is the message that carries the record an outbox entry
// names; ok is false when en names a case.
func (b *Book) recordMessage(en *peerv1.OutboxEntry) (m *peerv1.CaseMessage, isRecord, ok bool) {
	id := en.GetCaseNumber()
	switch {
	case supervision.IsConsultationID(id):
		m, ok = b.consultationMessage(en)
	case duty.IsReportID(id):
		r, found := b.Report(id)
		m, ok = &peerv1.CaseMessage{CaseNumber: id, FromOffice: b.office, Report: r.GetReport()}, found
	case duty.IsShiftID(id):
		s, found := b.Shift(id)
		m, ok = &peerv1.CaseMessage{CaseNumber: id, FromOffice: b.office, Shift: s}, found
	case duty.IsZeroReportID(id):
		z, found := b.zeroReport(id)
		m, ok = &peerv1.CaseMessage{CaseNumber: id, FromOffice: b.office, ZeroReport: z}, found
	case duty.IsUnsignedFlagID(id):
		f, found := b.unsignedFlag(id)
		m, ok = &peerv1.CaseMessage{CaseNumber: id, FromOffice: b.office, UnsignedFlag: f}, found
	case duty.IsAckID(id):
		a, found := b.ack(id)
		m, ok = &peerv1.CaseMessage{CaseNumber: id, FromOffice: b.office, ReportAck: a}, found
	default:
		return nil, false, false
	}
	return m, true, ok
}

// queueUp queues a record kept here to the parent office.
func (o *overlay) queueUp(id string, version uint32) {
	if parent := registry.ParentCode(o.b.office); parent != "" {
		// A version set aside before is taken back: the new one goes
		// instead (as a case's next event takes its entry back).
		if o.QuarantinedEntry(parent, id) != nil {
			o.DeleteQuarantinedEntry(parent, id)
		}
		o.PutOutboxEntry(&peerv1.OutboxEntry{DestOffice: parent, CaseNumber: id, UptoSeq: version})
	}
}
