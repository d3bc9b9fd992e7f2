package mail

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/registry"
)

const (
	county   = "450122000000"
	township = "450122101000"
	village  = "450122101203"
)

// office is one office of one node, as far as its mail goes: a real raft
// group (over raft's in-memory transport), its state machine with a
// registry and a case book in badger, the mail over them, and a peer port
// on 127.0.0.1 that serves DeliverCases over mutual TLS.
type office struct {
	t     testing.TB
	code  string
	fsm   *raftgroup.FSM
	group *raftgroup.Group
	owner *owner
	mail  *Mail
	addr  string // the peer port
	day   time.Time
}

// newRegistry is a registry holding offices (parents before children).
func newRegistry(t testing.TB, offices ...string) *registry.Registry {
	t.Helper()
	r := registry.New(registry.Options{})
	for i, code := range offices {
		cmd := &peerv1.RegistryCommand{AtUnixNano: time.Now().UnixNano(), Actor: "county.admin",
			Op: &peerv1.RegistryCommand_CreateOffice{CreateOffice: &peerv1.CreateOffice{Office: &yizhanv1.Office{Code: code, Name: "办事点 " + code}}}}
		if _, err := r.Apply(uint64(i+1), cmd); err != nil {
			t.Fatalf("registry: create office %s: %v", code, err)
		}
	}
	return r
}

// withoutOffice is the registry snapshot the feed would install after the
// county dropped office (a county restored from a backup taken before it
// was created): reg's, one index on, without it.
func withoutOffice(reg *registry.Registry, office string) *peerv1.RegistrySnapshot {
	s := reg.Snapshot()
	s.Offices = slices.DeleteFunc(s.Offices, func(o *yizhanv1.Office) bool { return o.GetCode() == office })
	s.Changelog = nil
	s.Index++
	return s
}

// startOffice starts the node of office code over reg, its certificate
// issued by ca; tune, when set, changes the mail's configuration.
func startOffice(t testing.TB, ca *pki.CA, code string, reg *registry.Registry, tune func(*Config)) *office {
	t.Helper()
	log := testLogger()
	db, err := badgerstore.OpenDB(t.TempDir(), badgerstore.DBOptions{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	book, err := casebook.Open(db, code)
	if err != nil {
		t.Fatal(err)
	}
	fsm := raftgroup.NewFSM(reg, book)
	raftAddr, transport := raft.NewInmemTransport("")
	group, err := raftgroup.OpenGroup(raftgroup.GroupConfig{Office: code, NodeID: code + "-1", Dir: t.TempDir(), DB: db,
		Transport: transport, FSM: fsm, Logger: log, Timing: raftgroup.Timing{
			HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond, LeaderLeaseTimeout: 100 * time.Millisecond,
			CommitTimeout: 5 * time.Millisecond, NudgeQuiet: 2 * time.Millisecond, LeaderHold: time.Second,
			SnapshotInterval: time.Hour, SnapshotThreshold: 1 << 20, TrailingLogs: 1 << 20,
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := group.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	_ = raftAddr

	certPEM, keyPEM, err := ca.Issue(pki.Identity{Office: code, Node: code + "-1"}, []string{"127.0.0.1"})
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
	o := &office{t: t, code: code, fsm: fsm, group: group, owner: &owner{group: group}, addr: lis.Addr().String(),
		day: time.Date(2026, 3, 2, 0, 0, 0, 0, registry.CST)}
	peers := forward.NewPeers(bundle, nil)
	cfg := Config{Office: code, Node: code + "-1", FSM: fsm, Group: group, Owner: o.owner, Peers: peers,
		Routes: &forward.Routes{Office: code, County: county, Node: code + "-1", PeerAddr: o.addr, Directory: reg, Leadership: group,
			PeerRoutes: map[string][]string{}},
		Logger: log}
	if tune != nil {
		tune(&cfg)
	}
	o.mail = New(cfg)
	srv := grpc.NewServer(append(forward.PeerServerOptions(), grpc.Creds(credentials.NewTLS(bundle.ServerConfig())))...)
	peerv1.RegisterPeerServer(srv, &peerPort{mail: o.mail})
	go srv.Serve(lis)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.mail.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Stop()
		peers.Close()
		group.Close()
		db.Close()
	})
	waitFor(t, code+" leads its office", group.IsLeader, 10*time.Second)
	return o
}

// zeroReport keeps the office's zero report of the day n days after
// March 2nd, 2026, with note, which the book queues up to the parent.
func (o *office) zeroReport(n int, note string) string {
	o.t.Helper()
	day := o.day.AddDate(0, 0, n)
	z := &yizhanv1.ZeroReport{Id: duty.ZeroReportID(o.code, day.Format("20060102")), OfficeCode: o.code, Day: day.Format(time.DateOnly),
		By: "duty", ByName: "值班员", Note: note}
	if _, err := o.owner.ProposeCase(context.Background(), &peerv1.CaseCommand{AtUnixNano: time.Now().UnixNano(),
		Op: &peerv1.CaseCommand_PutZeroReport{PutZeroReport: &peerv1.PutZeroReport{Report: z}}}); err != nil {
		o.t.Fatalf("keep zero report %s: %v", z.GetId(), err)
	}
	return z.GetId()
}

// quarantined is the entry the office set aside for id, nil when none.
func (o *office) quarantined(id string) *peerv1.QuarantinedEntry {
	for _, q := range o.fsm.Cases().Quarantined() {
		if q.GetEntry().GetCaseNumber() == id {
			return q
		}
	}
	return nil
}

// queued reports whether the office's outbox holds an entry for id.
func (o *office) queued(id string) bool {
	return slices.ContainsFunc(o.fsm.Cases().Outbox(), func(e *peerv1.OutboxEntry) bool { return e.GetCaseNumber() == id })
}

// owner is the office's own write path as federation.Office is for the
// mail, over the real raft group: it proposes, it does not sign (the
// signatures are pki's and federation's to check: here every one is
// taken as good). refuse, when set, stands for what the office's write
// path refuses before or when applying a command (raft's entry limit, the
// book's transaction limit).
type owner struct {
	group  *raftgroup.Group
	refuse func(cmd *peerv1.CaseCommand) error
}

func (w *owner) LeaderReady() bool                              { return w.group.IsLeader() }
func (w *owner) ClockOff() error                                { return nil }
func (w *owner) LockCase(number string) func()                  { return func() {} }
func (w *owner) VerifyEventSignature(*yizhanv1.CaseEvent) error { return nil }
func (w *owner) VerifyRecordSignature(office, what string, hash, sig []byte, chain [][]byte) error {
	return nil
}

func (w *owner) AppendEvents(ctx context.Context, number string, prevHash []byte, events ...*yizhanv1.CaseEvent) (*yizhanv1.Case, error) {
	return nil, fmt.Errorf("the test's offices append no events (case %s)", number)
}

func (w *owner) ProposeCase(ctx context.Context, cmd *peerv1.CaseCommand) (proto.Message, error) {
	if w.refuse != nil {
		if err := w.refuse(cmd); err != nil {
			return nil, err
		}
	}
	res, err := w.group.Apply(ctx, &peerv1.Command{Kind: &peerv1.Command_Cases{Cases: cmd}})
	if err != nil {
		return nil, err
	}
	return res.Value, res.Err
}

// peerPort serves the mail's calls of the Peer service: case mail, and
// scanned files pushed from below.
type peerPort struct {
	peerv1.UnimplementedPeerServer
	mail *Mail
}

func (p *peerPort) DeliverCases(ctx context.Context, req *peerv1.DeliverCasesRequest) (*peerv1.DeliverCasesResponse, error) {
	return p.mail.Receive(ctx, req)
}

func (p *peerPort) PushAttachment(ctx context.Context, part *peerv1.PutAttachmentPart) (*peerv1.AttachmentProgress, error) {
	return p.mail.ReceiveAttachment(ctx, part)
}

func newCA(t testing.TB) *pki.CA {
	t.Helper()
	ca, err := pki.GenerateCA("县政务服务中心 CA")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func testLogger() *slog.Logger {
	if os.Getenv("YIZHAN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// waitFor waits until cond holds, for timeout at most.
func waitFor(t testing.TB, what string, cond func() bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sliceOutbox is an outbox held in a slice, read as the sender reads the
// book's (outboxReader).
type sliceOutbox []*peerv1.OutboxEntry

func (o sliceOutbox) sorted() []*peerv1.OutboxEntry {
	s := slices.Clone(o)
	slices.SortFunc(s, func(a, b *peerv1.OutboxEntry) int {
		if c := strings.Compare(a.GetDestOffice(), b.GetDestOffice()); c != 0 {
			return c
		}
		return strings.Compare(a.GetCaseNumber(), b.GetCaseNumber())
	})
	return s
}

func (o sliceOutbox) OutboxDestinations() []string {
	var dests []string
	for _, e := range o.sorted() {
		if len(dests) == 0 || dests[len(dests)-1] != e.GetDestOffice() {
			dests = append(dests, e.GetDestOffice())
		}
	}
	return dests
}

func (o sliceOutbox) OutboxScan(dest, from string, f func(*peerv1.OutboxEntry) bool) {
	for _, e := range o.sorted() {
		if e.GetDestOffice() == dest && e.GetCaseNumber() >= from && !f(e) {
			return
		}
	}
}

func (o sliceOutbox) OutboxEntry(dest, number string) (*peerv1.OutboxEntry, bool) {
	for _, e := range o {
		if e.GetDestOffice() == dest && e.GetCaseNumber() == number {
			return e, true
		}
	}
	return nil, false
}
