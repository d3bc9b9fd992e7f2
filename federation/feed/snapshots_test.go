package feed

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/registry"
)

// villageCode is the code of the township's i-th village (0 to 98).
func villageCode(i int) string { return fmt.Sprintf("4501221012%02d", i+1) }

// largeRegistry returns a township's registry of about size bytes
// encoded (its items' conditions), whose changelog no longer reaches
// back to index 0, so that a new village is sent a snapshot: the county,
// the township and 30 villages, two staff members of each with their
// password hashes, and a changelog of departments and staff created.
func largeRegistry(t testing.TB, size int) *registry.Registry {
	t.Helper()
	snap := &peerv1.RegistrySnapshot{Offices: []*yizhanv1.Office{{Code: county}, {Code: township}}}
	staff := func(office string, n int) (*yizhanv1.StaffMember, *peerv1.StaffCredential) {
		user := fmt.Sprintf("clerk-%s-%d", office, n)
		return &yizhanv1.StaffMember{Username: user, OfficeCode: office},
			&peerv1.StaffCredential{Username: user, PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$" + user}
	}
	offices := []string{county, township}
	for i := range 30 {
		snap.Offices = append(snap.Offices, &yizhanv1.Office{Code: villageCode(i)})
		offices = append(offices, villageCode(i))
	}
	for _, o := range offices {
		for n := range 2 {
			m, c := staff(o, n)
			snap.Staff = append(snap.Staff, m)
			snap.Credentials = append(snap.Credentials, c)
		}
	}
	conditions := strings.Repeat("条", 10000/3) // about 10 kB
	for i := 0; i < size/len(conditions); i++ {
		snap.Items = append(snap.Items, &peerv1.ItemHistory{Versions: []*yizhanv1.Item{{
			Code: fmt.Sprintf("ITEM-%06d", i), Version: 1, Name: "事项", Conditions: conditions}}})
	}
	index := uint64(1000)
	for i := range 200 {
		e := &peerv1.ChangelogEntry{Index: index + 1, PrevIndex: index, Command: &peerv1.RegistryCommand{
			RequestId: fmt.Sprintf("req-%d", i), RequestHash: []byte("hash")}}
		if i%10 == 0 {
			m, c := staff(offices[i/10%len(offices)], 2+i)
			e.Command.Op = &peerv1.RegistryCommand_CreateStaff{CreateStaff: &peerv1.CreateStaff{Staff: m, Credential: c}}
		} else {
			e.Command.Op = &peerv1.RegistryCommand_CreateDepartment{CreateDepartment: &peerv1.CreateDepartment{
				Department: &yizhanv1.Department{Code: fmt.Sprintf("D%03d", i), Name: "科室"}}}
		}
		snap.Changelog = append(snap.Changelog, e)
		index++
	}
	snap.Index = index
	reg := registry.New(registry.Options{})
	if err := reg.Restore(snap); err != nil {
		t.Fatal(err)
	}
	return reg
}

// townshipFeed is the feed of a township's node serving reg, with no raft
// group: Serve only reads the registry, and its heartbeat does not come.
func townshipFeed(reg *registry.Registry) *Feed {
	return New(Config{Office: township, County: county, Node: "chengguan-1", Registry: reg,
		FSM: raftgroup.NewFSM(reg, nil), Heartbeat: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// subscriberContext is the context of a feed call from a node of office,
// as its verified certificate says.
func subscriberContext(ctx context.Context, office string) context.Context {
	cert := &x509.Certificate{URIs: []*url.URL{{Scheme: "spiffe", Host: "yizhan", Path: "/office/" + office}}}
	return peer.NewContext(ctx, &peer.Peer{AuthInfo: credentials.TLSInfo{
		State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}}})
}

// slowStream is a subscriber's feed stream on a slow line: each message
// sent waits until the line is opened (open), after the first has told
// that the stream is sending (started). It keeps what it receives, put
// back together, when keep is set.
type slowStream struct {
	grpc.ServerStream
	ctx     context.Context
	open    <-chan struct{}
	started func()
	once    sync.Once
	keep    bool
	chunks  feedAssembler
	got     []*peerv1.FeedMessage
	sent    chan struct{} // closed when the snapshot has gone whole
}

func (s *slowStream) Context() context.Context { return s.ctx }

func (s *slowStream) Send(m *peerv1.FeedMessage) error {
	s.once.Do(s.started)
	select {
	case <-s.open:
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
	if m.GetSnapshot() != nil || m.GetChunk().GetLast() {
		select {
		case <-s.sent: // a second snapshot
		default:
			close(s.sent)
		}
	}
	if !s.keep {
		return nil
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	piece := &peerv1.FeedMessage{}
	if err := proto.Unmarshal(b, piece); err != nil {
		return err
	}
	whole, err := s.chunks.add(piece)
	if whole != nil {
		s.got = append(s.got, whole)
	}
	return err
}

// heapInUse is the heap's live bytes after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// snapshotsAtOnce has n new villages ask f for the registry at once, each
// on a line that holds every message until all n are sending, and
// returns how much the sending node's heap grew meanwhile, and what each
// village received when keep is set.
func snapshotsAtOnce(t testing.TB, f *Feed, n int, keep bool) (grew uint64, got [][]*peerv1.FeedMessage) {
	t.Helper()
	before := heapInUse()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := make(chan struct{})
	var sending sync.WaitGroup
	sending.Add(n)
	streams := make([]*slowStream, n)
	errs := make(chan error, n)
	for i := range n {
		s := &slowStream{ctx: subscriberContext(ctx, villageCode(i)), open: open, started: sending.Done, keep: keep, sent: make(chan struct{})}
		streams[i] = s
		go func() {
			errs <- f.Serve(&peerv1.FeedRequest{OfficeCode: villageCode(i), Node: "v-1"}, s)
		}()
	}
	waitGroup(t, &sending, "every village's snapshot on its way")
	during := heapInUse()
	close(open)
	deadline := time.After(time.Minute)
	for _, s := range streams {
		select {
		case <-s.sent:
		case <-deadline:
			t.Fatal("timed out waiting for the snapshots to go")
		case err := <-errs:
			t.Fatalf("a feed ended before its snapshot went: %v", err)
		}
	}
	cancel()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range streams {
		got = append(got, s.got)
	}
	if during < before {
		return 0, got
	}
	return during - before, got
}

func waitGroup(t testing.TB, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// BenchmarkSnapshotsAtOnce measures the heap a township's node holds
// while new villages take a large registry's snapshot from it at once (a
// county going live): YIZHAN_BENCH_SNAPSHOT_MB (default 25) of registry,
// 1, 8 and 30 villages.
//
//	go test -run '^$' -bench BenchmarkSnapshotsAtOnce -benchtime 1x ./federation/feed/
func BenchmarkSnapshotsAtOnce(b *testing.B) {
	mb := 25
	if v, err := strconv.Atoi(os.Getenv("YIZHAN_BENCH_SNAPSHOT_MB")); err == nil && v > 0 {
		mb = v
	}
	reg := largeRegistry(b, mb<<20)
	size := proto.Size(reg.Snapshot())
	f := townshipFeed(reg)
	for _, n := range []int{1, 8, 30} {
		b.Run(fmt.Sprintf("villages=%d", n), func(b *testing.B) {
			var grew uint64
			for b.Loop() {
				g, _ := snapshotsAtOnce(b, f, n, false)
				grew = max(grew, g)
			}
			b.ReportMetric(float64(size)/(1<<20), "snapshot-MiB")
			b.ReportMetric(float64(grew)/(1<<20), "heap-MiB")
		})
	}
}

// New villages that take the registry whole from their township at once
// each receive it redacted for their office, exactly as if it had been
// encoded for them alone, and the township's node holds one copy of it
// while they do, not one for each.
func TestSnapshotsServedAtOnceShareOneCopy(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
	}{{"a small registry, in one message", 0}, {"a large registry, in chunks", 12 << 20}} {
		t.Run(tc.name, func(t *testing.T) {
			reg := largeRegistry(t, tc.size)
			f := townshipFeed(reg)
			const villages = 8
			grew, got := snapshotsAtOnce(t, f, villages, true)
			for i, msgs := range got {
				want := registry.RedactSnapshot(reg.Snapshot(), villageCode(i))
				if len(msgs) != 1 || !proto.Equal(msgs[0].GetSnapshot(), want) {
					t.Fatalf("village %s received %d messages, not its registry redacted for it", villageCode(i), len(msgs))
				}
				if n := len(want.GetCredentials()); n != 2 {
					t.Fatalf("premise: village %s may hold %d password hashes, want its own 2", villageCode(i), n)
				}
			}
			if size := uint64(proto.Size(reg.Snapshot())); tc.size > 0 && grew > size+villages*4<<20 {
				t.Errorf("the township's heap grew by %d MiB while %d villages took its %d MiB registry, want at most one copy and 4 MiB a village", grew>>20, villages, size>>20)
			}
		})
	}
}

// A village that asks for the registry while others are being sent it
// is sent the copy they are sent, though the registry has moved on
// since, and the changes after it in batches; once the last of them has
// it, the copy is dropped, and the next village is sent the registry as
// it is then.
func TestAVillageAskingMeanwhileIsSentTheCopyBeingSent(t *testing.T) {
	reg := largeRegistry(t, 0)
	f := townshipFeed(reg)
	first := f.snapshots.acquire(reg, 0)
	at := reg.Index()
	if err := reg.Replay(&peerv1.ChangelogEntry{Index: at + 1, PrevIndex: at, Command: &peerv1.RegistryCommand{
		Op: &peerv1.RegistryCommand_CreateDepartment{CreateDepartment: &peerv1.CreateDepartment{
			Department: &yizhanv1.Department{Code: "d-new", Name: "新科室"}}}}}); err != nil {
		t.Fatal(err)
	}
	second := f.snapshots.acquire(reg, 0)
	if second != first || second.index != at {
		t.Errorf("a village asking meanwhile is sent a copy at index %d, not the one being sent (%d)", second.index, at)
	}
	f.snapshots.release(first)
	f.snapshots.release(second)
	third := f.snapshots.acquire(reg, 0)
	defer f.snapshots.release(third)
	if third == first || third.index != at+1 {
		t.Errorf("after the last village had it, the next is sent a copy at index %d, want the registry's %d", third.index, at+1)
	}
}

// A node sending the registry whole to as many offices as it does at
// once tells the next to come back (Unavailable, with how long to wait),
// sends it nothing, and sends it the registry once one of the others has
// had it.
func TestANodeSendingAsManySnapshotsAsItDoesAtOnceTellsTheNextToComeBack(t *testing.T) {
	reg := largeRegistry(t, 2<<20)
	f := townshipFeed(reg)
	f.cfg.SnapshotsAtOnce = 2
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := make(chan struct{})
	var sending sync.WaitGroup
	sending.Add(2)
	errs := make(chan error, 3)
	for i := range 2 {
		s := &slowStream{ctx: subscriberContext(ctx, villageCode(i)), open: open, started: sending.Done, sent: make(chan struct{})}
		go func() { errs <- f.Serve(&peerv1.FeedRequest{OfficeCode: villageCode(i)}, s) }()
	}
	waitGroup(t, &sending, "two villages' snapshots on their way")

	third := &slowStream{ctx: subscriberContext(ctx, villageCode(2)), open: open, started: func() {}, sent: make(chan struct{})}
	err := f.Serve(&peerv1.FeedRequest{OfficeCode: villageCode(2)}, third)
	wait, busy := busyRetryAfter(err)
	if !busy || wait < snapshotsBusyRetry/2 || wait > 3*snapshotsBusyRetry/2 {
		t.Fatalf("a third village asking meanwhile: %v (asked to wait %s); want Unavailable, asked to wait about %s", err, wait, snapshotsBusyRetry)
	}
	select {
	case <-third.sent:
		t.Fatal("the third village was sent the registry too")
	default:
	}

	close(open)
	waitUntil(t, "the two villages sent the registry", func() bool {
		f.snapshots.mu.Lock()
		defer f.snapshots.mu.Unlock()
		return f.snapshots.sending == 0
	})
	again := &slowStream{ctx: subscriberContext(ctx, villageCode(2)), open: open, started: func() {}, sent: make(chan struct{}), keep: true}
	go func() { errs <- f.Serve(&peerv1.FeedRequest{OfficeCode: villageCode(2)}, again) }()
	select {
	case <-again.sent:
	case err := <-errs:
		t.Fatalf("a feed ended: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the third village, asking again, was not sent the registry")
	}
}

// The copy of the registry shared by the offices sent it at once holds
// no password hash of any office: each office's own hashes, and the
// staff entries of the changelog, are encoded for it alone; a township
// is sent its own hashes and its villages', a village its own only,
// exactly as if the snapshot had been redacted for it alone.
func TestTheSharedSnapshotHoldsNoOfficesPasswordHash(t *testing.T) {
	reg := largeRegistry(t, 0)
	f := townshipFeed(reg)
	s := f.snapshots.acquire(reg, 0)
	defer f.snapshots.release(s)
	shared := [][]byte{s.head}
	for _, p := range s.log {
		if p.entry == nil {
			shared = append(shared, p.shared)
		}
	}
	for _, b := range shared {
		if bytes.Contains(b, []byte("$argon2id")) {
			t.Fatal("the shared copy of the registry holds a password hash")
		}
	}
	for _, sub := range []string{township, villageCode(0), villageCode(29)} {
		pieces, size, err := s.pieces(sub)
		if err != nil {
			t.Fatal(err)
		}
		data := bytes.Join(pieces, nil)
		if len(data) != size {
			t.Fatalf("office %s: pieces of %d bytes, said %d", sub, len(data), size)
		}
		msg := &peerv1.FeedMessage{}
		if err := proto.Unmarshal(data, msg); err != nil {
			t.Fatal(err)
		}
		want := registry.RedactSnapshot(reg.Snapshot(), sub)
		if !proto.Equal(msg.GetSnapshot(), want) {
			t.Fatalf("office %s is not sent the registry redacted for it", sub)
		}
		hashes := 0
		for _, c := range msg.GetSnapshot().GetCredentials() {
			if c.GetPasswordHash() != "" {
				hashes++
			}
		}
		if wantHashes := map[bool]int{true: 2 * 31, false: 2}[sub == township]; hashes != wantHashes {
			t.Fatalf("office %s is sent %d password hashes, want %d", sub, hashes, wantHashes)
		}
	}
}

// A village asking for the registry while others are being sent a copy
// whose index the changelog no longer reaches back to is sent the
// registry as it is, not that copy: the changelog could not take it on
// from the copy's index.
func TestAVillageAskingAfterTheChangelogMovedPastTheCopyIsSentTheRegistryAsItIs(t *testing.T) {
	reg := registry.New(registry.Options{ChangelogRetention: 3})
	codes := []string{county, township, villageCode(0), villageCode(1), villageCode(2), villageCode(3), villageCode(4)}
	replay := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if err := reg.Replay(createOffice(uint64(i+1), codes[i])); err != nil {
				t.Fatal(err)
			}
		}
	}
	replay(0, 3)
	f := townshipFeed(reg)
	first := f.snapshots.acquire(reg, 0)
	defer f.snapshots.release(first)
	replay(3, len(codes))
	if _, needSnapshot := reg.ChangelogSince(first.index, 1); !needSnapshot {
		t.Fatalf("premise: the changelog still reaches back to index %d", first.index)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := make(chan struct{})
	close(open)
	s := &slowStream{ctx: subscriberContext(ctx, villageCode(5)), open: open, started: func() {}, keep: true, sent: make(chan struct{})}
	errs := make(chan error, 1)
	go func() { errs <- f.Serve(&peerv1.FeedRequest{OfficeCode: villageCode(5)}, s) }()
	select {
	case <-s.sent:
	case err := <-errs:
		t.Fatalf("the feed ended: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the village was not sent the registry")
	}
	cancel()
	<-errs
	if len(s.got) == 0 || s.got[0].GetSnapshot().GetIndex() != reg.Index() {
		t.Fatalf("the village was first sent %v, not the registry at index %d", s.got, reg.Index())
	}
	if !proto.Equal(s.got[0].GetSnapshot(), registry.RedactSnapshot(reg.Snapshot(), villageCode(5))) {
		t.Fatal("the village was not sent the registry as it is, redacted for it")
	}
}

// Villages that hang up while being sent the registry whole free their
// places: the node sends the next as many at once as before, and holds
// no copy once none is sent.
func TestVillagesHangingUpMidSnapshotFreeTheirPlaces(t *testing.T) {
	reg := largeRegistry(t, 2<<20)
	f := townshipFeed(reg)
	f.cfg.SnapshotsAtOnce = 2
	ctx, cancel := context.WithCancel(context.Background())
	never := make(chan struct{}) // the line never carries a chunk
	var sending sync.WaitGroup
	sending.Add(2)
	errs := make(chan error, 2)
	for i := range 2 {
		s := &slowStream{ctx: subscriberContext(ctx, villageCode(i)), open: never, started: sending.Done, sent: make(chan struct{})}
		go func() { errs <- f.Serve(&peerv1.FeedRequest{OfficeCode: villageCode(i)}, s) }()
	}
	waitGroup(t, &sending, "two villages' snapshots on their way")
	cancel()
	for range 2 {
		if err := <-errs; err == nil {
			t.Fatal("a feed whose village hung up mid-snapshot ended without an error")
		}
	}
	f.snapshots.mu.Lock()
	held, newest := f.snapshots.sending, f.snapshots.newest
	f.snapshots.mu.Unlock()
	if held != 0 || newest != nil {
		t.Fatalf("after both villages hung up the node counts %d snapshots sending and holds a copy: %v", held, newest != nil)
	}
	open := make(chan struct{})
	close(open)
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	for i := range 2 {
		s := &slowStream{ctx: subscriberContext(ctx2, villageCode(2+i)), open: open, started: func() {}, sent: make(chan struct{})}
		go func() { errs <- f.Serve(&peerv1.FeedRequest{OfficeCode: villageCode(2 + i)}, s) }()
		select {
		case <-s.sent:
		case err := <-errs:
			t.Fatalf("village %s asking next: %v", villageCode(2+i), err)
		case <-time.After(time.Minute):
			t.Fatalf("village %s asking next was not sent the registry", villageCode(2+i))
		}
	}
}
