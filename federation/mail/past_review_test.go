package mail

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/federation/pki"
)

// recordingOwner records what the mail proposes (a quarantine) and takes it.
type recordingOwner struct {
	Owner
	mu  sync.Mutex
	got []*peerv1.CaseCommand
}

func (w *recordingOwner) ProposeCase(_ context.Context, cmd *peerv1.CaseCommand) (proto.Message, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, cmd)
	if q := cmd.GetQuarantine(); q != nil {
		return q, nil
	}
	return nil, nil
}

// The township was down for two hours (a power cut): the village's
// pusher failed every 5 s for want of the office, never for the file
// (its quarantine clock never started). The township is back: the first
// call that goes through to it does not set aside, at once, the case
// waiting for its scan, which has not been tried once with the township
// answering: QuarantineAfter is an hour of the file failing while the
// office answers.
func TestACaseWaitingForItsScanIsNotSetAsideTheMomentItsOfficeIsBack(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	own := &recordingOwner{}
	ml := New(Config{Office: village, Owner: own, QuarantineAfter: time.Hour, Now: func() time.Time { return now }})
	m := newMailer(ml)
	sha := fmt.Sprintf("%064x", 7)
	down := now.Add(-2 * time.Hour)
	ml.pushers = map[string]*pusher{township: {queued: map[string]bool{sha: true}, cases: map[string]string{sha: "c1"},
		failing: map[string]*pushFailure{sha: {sha: sha, name: "身份证.pdf", number: "c1", first: down, tries: 1400,
			why: "connection refused"}}}}
	waiting := &peerv1.OutboxEntry{DestOffice: township, CaseNumber: village + "260302000001", UptoSeq: 3}
	other := &peerv1.OutboxEntry{DestOffice: township, CaseNumber: village + "260302000002", UptoSeq: 1}
	// The township is back: a call carrying another case goes through.
	m.done(context.Background(), township, deliveryResult{sent: 1, first: other,
		waiting: []waitingEntry{{entry: waiting, files: []string{sha}, stuck: ml.stuckFile(township, []string{sha})}}})
	for _, c := range own.got {
		for _, q := range c.GetQuarantine().GetEntries() {
			t.Errorf("set aside the moment the township answered again, after an outage: %s", q.GetReason())
		}
	}
	if m.held[outboxKey{township, waiting.GetCaseNumber()}] == nil {
		t.Errorf("the case waiting for its scan is no longer held back for its file")
	}
}

// A scan going up a slow line: two attempts failed an hour and more ago
// with the office answering (its clock started then), and the push since
// has been taking part after part: each part's arrival forgets the
// failures before it, so the case waiting for the scan is not set aside
// while its file is going up.
func TestACaseIsNotSetAsideWhileItsScanIsGoingUp(t *testing.T) {
	for _, arrived := range []bool{true, false} {
		now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
		own := &recordingOwner{}
		ml := New(Config{Office: village, Owner: own, QuarantineAfter: time.Hour, Now: func() time.Time { return now }})
		m := newMailer(ml)
		sha := fmt.Sprintf("%064x", 8)
		p := &pusher{running: true, queued: map[string]bool{sha: true}, cases: map[string]string{sha: "c1"},
			failing: map[string]*pushFailure{sha: {sha: sha, name: "身份证.pdf", number: "c1", first: now.Add(-90 * time.Minute),
				clock: now.Add(-90 * time.Minute), tries: 2, why: "a blip"}}}
		ml.pushers = map[string]*pusher{township: p}
		ml.pushAnswered(p, sha, arrived) // a part arrived a moment ago, or the office answered and took nothing
		waiting := &peerv1.OutboxEntry{DestOffice: township, CaseNumber: village + "260302000001", UptoSeq: 3}
		// A pass in which only that case was due: no call went.
		m.done(context.Background(), township, deliveryResult{
			waiting: []waitingEntry{{entry: waiting, files: []string{sha}, stuck: ml.stuckFile(township, []string{sha})}}})
		setAside := 0
		for _, c := range own.got {
			setAside += len(c.GetQuarantine().GetEntries())
		}
		if arrived && setAside != 0 {
			t.Errorf("set aside while its scan is going up, a part arriving a moment ago")
		}
		if !arrived && setAside != 1 {
			t.Errorf("not set aside though its scan failed for 90 minutes with the office answering and nothing arriving")
		}
	}
}

// refusingCounty answers every call, refusing every message.
type refusingCounty struct {
	peerv1.UnimplementedPeerServer
	calls atomic.Int32
}

func (c *refusingCounty) DeliverCases(_ context.Context, req *peerv1.DeliverCasesRequest) (*peerv1.DeliverCasesResponse, error) {
	c.calls.Add(1)
	resp := &peerv1.DeliverCasesResponse{}
	for _, m := range req.GetMessages() {
		resp.Receipts = append(resp.Receipts, &peerv1.CaseReceipt{CaseNumber: m.GetCaseNumber(), Refused: "the county's registry has no office " + village + " yet"})
	}
	return resp, nil
}

// The township is down and the county answers the calls past it, but
// refuses what they carry (its registry behind, say): the calls past
// the township back off as they do when nobody answers, not one at every
// pass of the mail loop (200 ms), each with its warnings, for as long as
// the outage lasts.
func TestCallsPastTheParentThatTheCountyRefusesBackOff(t *testing.T) {
	ca := newCA(t)
	certPEM, keyPEM, err := ca.Issue(pki.Identity{Office: county, Node: county + "-1"}, []string{"127.0.0.1"})
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
	fake := &refusingCounty{}
	srv := grpc.NewServer(append(forward.PeerServerOptions(), grpc.Creds(credentials.NewTLS(bundle.ServerConfig())))...)
	peerv1.RegisterPeerServer(srv, fake)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)

	vil := startOffice(t, ca, village, newRegistry(t, county, township, village), func(c *Config) {
		c.PastAfter = 200 * time.Millisecond
		c.Routes.PeerRoutes[county] = []string{lis.Addr().String()}
	})
	now := time.Now()
	r := &yizhanv1.UrgentReport{Id: duty.ReportID(village, now, "ZZZZZY"), OfficeCode: village, Kind: yizhanv1.ReportKind_REPORT_KIND_FIRST,
		Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_NATURAL_DISASTER, Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV,
		Title: "滑坡", Place: "后山", Details: "冲毁农房", OccurredAt: timestamppb.New(now.Add(-10 * time.Minute)),
		WrittenAt: timestamppb.New(now), State: yizhanv1.ReportState_REPORT_STATE_DRAFT, Version: 1, Reporter: "duty"}
	for _, rep := range []*yizhanv1.UrgentReport{r, duty.Sign(r, "leader", "带班领导", now)} {
		if _, err := vil.owner.ProposeCase(context.Background(), &peerv1.CaseCommand{AtUnixNano: time.Now().UnixNano(),
			Op: &peerv1.CaseCommand_PutReport{PutReport: &peerv1.PutUrgentReport{Report: rep}}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a first call past the township", func() bool { return fake.calls.Load() > 0 }, 10*time.Second)
	start := fake.calls.Load()
	time.Sleep(4 * time.Second) // the window measured, not a wait for a condition
	if n := fake.calls.Load() - start; n > 4 {
		t.Errorf("%d calls past the township to a county refusing them in 4 s: want them backing off (1 s, 2 s, 4 s, … a minute)", n)
	}
}
