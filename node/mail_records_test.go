package node_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/duty"
)

// A township, with its own key, passes off an acknowledgement in the name
// of a village below it, unsigned, by putting it into a message beside a
// duty shift of its own that it signs: the receiver verifies the shift's
// signature (mail.recordSignature looked at the shift first) while the
// book applied the acknowledgement (casebook's receive looked at the
// acknowledgement first). A message carries one record now, or a case's
// log: this one is refused, as the acknowledgement alone is.
func TestAnUnsignedAckRidingOnASignedShiftIsRefused(t *testing.T) {
	f := newCaseFed(t, 1)
	countyNode := f.nodes["county-1"]
	tb := f.bundle(township, "chengguan-1")
	signer := auth.NewIssuer(tb.Signer(), tb.Certificate.Certificate, township, "chengguan-1", time.Hour, nil)
	now := time.Now()

	reportID := duty.ReportID(dongcun, now, "ZZZZZZ")
	forgedAck := func() *yizhanv1.ReportAck {
		return &yizhanv1.ReportAck{Id: duty.AckID(dongcun, reportID), ReportId: reportID, OfficeCode: dongcun,
			By: "dongcun", ByName: "黄秀英", At: timestamppb.New(now),
			Signature: []byte("not a signature")} // no chain: signed by no one
	}
	start := now.Truncate(time.Minute)
	shift := &yizhanv1.DutyShift{Id: duty.ShiftID(township, start), OfficeCode: township,
		Start: timestamppb.New(start), End: timestamppb.New(start.Add(8 * time.Hour)), Leader: "x", Version: 1}
	sig, err := signer.Sign(duty.Hash(shift))
	if err != nil {
		t.Fatal(err)
	}
	shift.Signature, shift.SignerChain = sig, signer.Chain()

	pc := newPeerClient(t, tb, countyNode.PeerAddr())
	ackID := duty.AckID(dongcun, reportID)

	// Alone, the unsigned acknowledgement is refused (as it should be).
	resp, err := pc.DeliverCases(context.Background(), &peerv1.DeliverCasesRequest{Messages: []*peerv1.CaseMessage{
		{CaseNumber: ackID, FromOffice: township, ReportAck: forgedAck()}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetReceipts()[0].GetRefused() == "" {
		t.Fatalf("the unsigned acknowledgement alone was taken: %v", resp.GetReceipts()[0])
	}

	// Beside a shift the township signed, it is taken.
	resp, err = pc.DeliverCases(context.Background(), &peerv1.DeliverCasesRequest{Messages: []*peerv1.CaseMessage{
		{CaseNumber: ackID, FromOffice: township, ReportAck: forgedAck(), Shift: shift}}})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.GetReceipts()[0]
	m, held := countyNode.Office().Cases().Message(&peerv1.OutboxEntry{CaseNumber: ackID})
	if r.GetRefused() == "" || held {
		t.Errorf("an acknowledgement in the name of %s, signed by no one, sent by %s, was taken by the county: receipt %v, held %v (%v)",
			dongcun, township, r, held, m.GetReportAck())
	}
}
