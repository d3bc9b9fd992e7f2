package mail

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/federation/pki"
)

// previousPort stands in front of an office's mail as the peer port of a
// township still on a release from before the mail carried records up
// (the case mail carried cases only, and CaseReceipt had no
// unknown_kind) would, while previous is set: it reads a record's
// message as a case with no events and refuses it in that release's
// words, without saying the kind is unknown. Here the zero reports noted
// "previous" play the records; the rest of the mail, which that release
// takes, passes.
type previousPort struct {
	peerv1.UnimplementedPeerServer
	mail     *Mail
	previous atomic.Bool
	refused  atomic.Int32
}

func (p *previousPort) DeliverCases(ctx context.Context, req *peerv1.DeliverCasesRequest) (*peerv1.DeliverCasesResponse, error) {
	if !p.previous.Load() {
		return p.mail.Receive(ctx, req)
	}
	resp := &peerv1.DeliverCasesResponse{}
	for _, m := range req.GetMessages() {
		if casebook.Records(m) > 0 && m.GetZeroReport().GetNote() == "previous" {
			p.refused.Add(1)
			resp.Receipts = append(resp.Receipts, &peerv1.CaseReceipt{CaseNumber: m.GetCaseNumber(),
				Refused: fmt.Sprintf("case %s: no events: casework: conflict", m.GetCaseNumber())})
			continue
		}
		r, err := p.mail.Receive(ctx, &peerv1.DeliverCasesRequest{Messages: []*peerv1.CaseMessage{m}})
		if err != nil {
			return nil, err
		}
		resp.Receipts = append(resp.Receipts, r.GetReceipts()...)
	}
	return resp, nil
}

// A village upgraded before its township, whose release is from before
// the mail carried records up, sends it a record (a zero report): the
// township refuses it as a case with no events, without saying the kind
// is unknown. The village keeps it, never setting it aside however long
// the township refuses it (here many times its QuarantineAfter, while
// the township takes the village's other mail), and it arrives once the
// township is upgraded.
func TestARecordRefusedByAReleaseFromBeforeRecordsWaitsAtItsSender(t *testing.T) {
	ca := newCA(t)
	const after = 200 * time.Millisecond
	town := startOffice(t, ca, township, newRegistry(t, county, township, village), nil)
	port := &previousPort{mail: town.mail}
	port.previous.Store(true)
	addr := startPort(t, ca, town, port)
	vil := startOffice(t, ca, village, newRegistry(t, county, township, village), func(c *Config) {
		c.QuarantineAfter = after
		c.Routes.PeerRoutes[township] = []string{addr}
	})
	report := vil.zeroReport(0, "previous")
	known := vil.zeroReport(1, "无情况")

	waitFor(t, "the other mail at the township", func() bool { return !vil.queued(known) && town.queued(known) }, 10*time.Second)
	start := time.Now()
	waitFor(t, "the report refused four times, over many QuarantineAfter", func() bool {
		return port.refused.Load() >= 4 && time.Since(start) > 8*after || vil.quarantined(report) != nil
	}, 20*time.Second)
	if q := vil.quarantined(report); q != nil {
		t.Fatalf("the village set the report aside (%s): it must keep it until the township is upgraded", q.GetReason())
	}
	if !vil.queued(report) {
		t.Fatal("the village no longer holds the report")
	}

	port.previous.Store(false) // the township runs this release
	waitFor(t, "the report at the upgraded township", func() bool { return !vil.queued(report) && town.queued(report) }, 20*time.Second)
}

// startPort serves srv in front of office's mail, with a certificate of
// office, and returns its address.
func startPort(t *testing.T, ca *pki.CA, o *office, port peerv1.PeerServer) string {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(pki.Identity{Office: o.code, Node: o.code + "-1"}, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := pki.LoadPEM(certPEM, keyPEM, ca.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(append(forward.PeerServerOptions(), grpc.Creds(credentials.NewTLS(bundle.ServerConfig())))...)
	peerv1.RegisterPeerServer(srv, port)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}
