package node_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/node"
)

// peerConn dials a node's peer port with bundle, expecting a node of
// office there.
func peerConn(t *testing.T, n *node.Node, bundle *pki.Bundle, office string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(n.PeerAddr(), grpc.WithTransportCredentials(credentials.NewTLS(bundle.ClientConfig(office))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// fetchBackupOf asks node name of office for a backup with a certificate
// of the office, trying for up to wait; it returns the last error.
func fetchBackupOf(t *testing.T, f *fed, name, office string, wait time.Duration) ([]byte, error) {
	t.Helper()
	own := f.bundle(office, "")
	dialOwn := func(addr string) (*grpc.ClientConn, error) {
		return grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(own.ClientConfig(office))))
	}
	var err error
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		var buf bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = federation.FetchBackup(ctx, dialOwn, []string{f.cfgs[name].PeerAddr}, office, &buf)
		cancel()
		if err == nil {
			return buf.Bytes(), nil
		}
	}
	return nil, err
}

// Only the office's own certificates take its backup, and only a
// neighbouring office asks for the cases through itself; the backup
// restores, on a new disk, a node holding every case as the office held
// it, which then finishes its recovery with its neighbours.
func TestBackupIsTheOfficesAndRestoresItsCases(t *testing.T) {
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	for _, name := range []string{"张三", "李四", "王五"} {
		fileTobacco(t, agent, name)
	}
	village := f.nodes["dongcun-1"]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Another office's certificate: refused, nothing sent.
	stream, err := peerv1.NewPeerClient(peerConn(t, village, f.bundle(township, "chengguan-1"), dongcun)).Backup(ctx, &peerv1.BackupRequest{OfficeCode: dongcun})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("the township's certificate asking the village's backup: %v, want PermissionDenied", err)
	}
	// Cases through an office: only that office asks, and only of a
	// neighbour.
	for _, c := range []struct{ office, name, asks string }{
		{county, "county-1", dongcun}, // not its own office
		{xicun, "xicun-1", xicun},     // not a neighbour of the village
	} {
		_, err := peerv1.NewPeerClient(peerConn(t, village, f.bundle(c.office, c.name), dongcun)).CasesThrough(ctx, &peerv1.CasesThroughRequest{OfficeCode: c.asks})
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s asking the village for the cases through %s: %v, want PermissionDenied", c.name, c.asks, err)
		}
	}

	// The office's own certificate: a whole backup.
	var backup bytes.Buffer
	own := f.bundle(dongcun, "")
	dialOwn := func(addr string) (*grpc.ClientConn, error) {
		return grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(own.ClientConfig(dongcun))))
	}
	if err := federation.FetchBackup(ctx, dialOwn, []string{village.PeerAddr()}, dongcun, &backup); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dongcun.backup")
	if err := os.WriteFile(path, backup.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint32{}
	village.Office().Cases().Each(func(c *yizhanv1.Case) error {
		want[c.GetNumber()] = c.GetLastSeq()
		return nil
	})
	if len(want) != 3 {
		t.Fatalf("the village holds %d cases, want 3", len(want))
	}

	// More than a page of cases (64) after the backup, handed on: the
	// restored village takes them back from its township.
	for i := range 70 {
		c := fileTobacco(t, agent, fmt.Sprintf("备份后%d", i))
		want[c.GetNumber()] = 1
	}
	waitFor(t, "the township to hold every case", func() bool {
		return f.nodes["chengguan-1"].Office().Cases().Len() >= len(want)
	}, 30*time.Second)

	// A damaged backup is refused whole, writing nothing.
	damaged := filepath.Join(t.TempDir(), "damaged.backup")
	b := bytes.Clone(backup.Bytes())
	b[len(b)/2] ^= 0xff
	os.WriteFile(damaged, b, 0o600)
	newDir := filepath.Join(t.TempDir(), "data")
	if _, err := node.Restore(damaged, newDir, "dongcun-1", nil); err == nil {
		t.Error("a damaged backup was restored")
	}
	if _, err := os.Stat(filepath.Join(newDir, "badger")); err == nil {
		t.Error("a refused restore left a database")
	}

	// The village's disk dies; restored on a new one.
	f.stop("dongcun-1")
	info, err := node.Restore(path, newDir, "dongcun-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.Office != dongcun || info.Cases != 3 {
		t.Errorf("restored %+v", info)
	}
	if _, err := node.Restore(path, newDir, "dongcun-1", nil); err == nil {
		t.Error("a restore over a data directory with state went ahead")
	}
	cfg := f.cfgs["dongcun-1"]
	cfg.DataDir, cfg.Bootstrap = newDir, false
	restored := f.run("dongcun-1", cfg)
	waitFor(t, "the restored village ready", restored.Ready, 20*time.Second)
	waitFor(t, "the restored village to finish its recovery", func() bool {
		_, restoring := restored.Office().Cases().Restored()
		return !restoring
	}, 30*time.Second)
	for number, seq := range want {
		c, ok := restored.Office().Cases().Case(number)
		if !ok || c.GetLastSeq() < seq {
			t.Errorf("restored: %s held %v with %d events, want %d", number, ok, c.GetLastSeq(), seq)
		}
	}
	if n := restored.Office().Cases().Len(); n != len(want) {
		t.Errorf("the restored village holds %d cases, want %d", n, len(want))
	}
}
