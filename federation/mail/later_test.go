package mail

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/federation/pki"
)

// laterPort stands in front of an office's mail as the peer port of a
// township still on the earlier release would, while older is set: a
// record the village's release carries up and the township's does not
// know arrives as a field the township cannot read. Here the village's
// zero reports noted "later" play that new kind of record: their field
// is renumbered to 11, which CaseMessage does not declare.
type laterPort struct {
	peerv1.UnimplementedPeerServer
	mail  *Mail
	older atomic.Bool

	mu       sync.Mutex
	refusals []*peerv1.CaseReceipt // receipts refused for an unknown kind
}

func (p *laterPort) DeliverCases(ctx context.Context, req *peerv1.DeliverCasesRequest) (*peerv1.DeliverCasesResponse, error) {
	if p.older.Load() {
		req = proto.CloneOf(req)
		for _, m := range req.GetMessages() {
			if z := m.GetZeroReport(); z != nil && z.GetNote() == "later" {
				b, err := proto.Marshal(z)
				if err != nil {
					return nil, err
				}
				m.ZeroReport = nil
				m.ProtoReflect().SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, 11, protowire.BytesType), b))
			}
		}
	}
	resp, err := p.mail.Receive(ctx, req)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rc := range resp.GetReceipts() {
		if rc.GetUnknownKind() {
			p.refusals = append(p.refusals, rc)
		}
	}
	return resp, err
}

func (p *laterPort) refused() []*peerv1.CaseReceipt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*peerv1.CaseReceipt(nil), p.refusals...)
}

// startLaterPort serves office's mail behind a laterPort, with a
// certificate of office, and returns it and its address.
func startLaterPort(t *testing.T, ca *pki.CA, o *office) (*laterPort, string) {
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
	p := &laterPort{mail: o.mail}
	p.older.Store(true)
	srv := grpc.NewServer(append(forward.PeerServerOptions(), grpc.Creds(credentials.NewTLS(bundle.ServerConfig())))...)
	peerv1.RegisterPeerServer(srv, p)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return p, lis.Addr().String()
}

// A village upgraded before its township (villages first) carries up a
// kind of record the township's release does not know. The township
// refuses it at once, saying so and naming the field, and stores nothing
// of it; the village keeps it, sending it again, and never sets it aside
// however long the township refuses it (here many times its
// QuarantineAfter, while the township takes the village's other mail).
// Once the township is upgraded, it arrives.
func TestARecordOfALaterReleaseWaitsAtItsSenderUntilTheOfficeAboveIsUpgraded(t *testing.T) {
	ca := newCA(t)
	const after = 200 * time.Millisecond
	town := startOffice(t, ca, township, newRegistry(t, county, township, village), nil)
	port, addr := startLaterPort(t, ca, town)
	vil := startOffice(t, ca, village, newRegistry(t, county, township, village), func(c *Config) {
		c.QuarantineAfter = after
		c.Routes.PeerRoutes[township] = []string{addr}
	})
	later := vil.zeroReport(0, "later")
	known := vil.zeroReport(1, "无情况")

	waitFor(t, "the known report at the township", func() bool { return !vil.queued(known) && town.queued(known) }, 10*time.Second)
	start := time.Now()
	waitFor(t, "the later report refused four times, over many QuarantineAfter", func() bool {
		return len(port.refused()) >= 4 && time.Since(start) > 8*after || vil.quarantined(later) != nil
	}, 20*time.Second)
	if q := vil.quarantined(later); q != nil {
		t.Fatalf("the village set the report aside (%s): it must keep it until the township is upgraded", q.GetReason())
	}
	if !vil.queued(later) {
		t.Fatal("the village no longer holds the report")
	}
	if town.queued(later) {
		t.Error("the township stored the record it cannot read")
	}
	why := port.refused()[0].GetRefused()
	for _, want := range []string{later, "kind of record this release does not know", "field 11", "office " + township + " runs an earlier release"} {
		if !strings.Contains(why, want) {
			t.Errorf("the refusal %q does not say %q", why, want)
		}
	}

	port.older.Store(false) // the township runs the later release
	waitFor(t, "the report at the upgraded township", func() bool { return !vil.queued(later) && town.queued(later) }, 20*time.Second)
	if q := vil.quarantined(later); q != nil {
		t.Errorf("the report was set aside: %s", q.GetReason())
	}
}

// A case event of a type the receiver's release does not declare, or a
// record it cannot read, is a kind of a later release; a known record or
// event, or a field beside them, is not.
func TestLaterKindNamesWhatTheReceiversReleaseDoesNotKnow(t *testing.T) {
	const number = village + "-20260302-0001"
	filed := &yizhanv1.CaseEvent{Seq: 1, Type: yizhanv1.EventType_EVENT_TYPE_FILED}
	withField := func(m *peerv1.CaseMessage, n protowire.Number) *peerv1.CaseMessage {
		m.ProtoReflect().SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, n, protowire.BytesType), []byte("x")))
		return m
	}
	tests := []struct {
		name string
		m    *peerv1.CaseMessage
		want string
	}{
		{"an event of a later type", &peerv1.CaseMessage{CaseNumber: number, FromOffice: village,
			Events: []*yizhanv1.CaseEvent{filed, {Seq: 2, Type: yizhanv1.EventType(900)}}},
			"case " + number + " seq 2 is an event of type 900, which this release does not know: office " + township + " runs an earlier release"},
		{"a record of a later kind", withField(&peerv1.CaseMessage{CaseNumber: "X-1", FromOffice: village}, 12),
			"message X-1 carries a kind of record this release does not know (CaseMessage field 12)"},
		{"a known case with a later field", withField(&peerv1.CaseMessage{CaseNumber: number, FromOffice: village, Events: []*yizhanv1.CaseEvent{filed}}, 12), ""},
		{"a known record with a later field", withField(&peerv1.CaseMessage{CaseNumber: "Z-1", FromOffice: village, ZeroReport: &yizhanv1.ZeroReport{Id: "Z-1"}}, 12), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := laterKind(township, tt.m)
			if tt.want == "" && got != "" || !strings.HasPrefix(got, tt.want) {
				t.Errorf("laterKind = %q\nwant %q", got, tt.want)
			}
		})
	}
}
