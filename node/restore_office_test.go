package node_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/yizhan-gov/yizhan/federation"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/node"
)

// An operator restores the wrong file: the county's backup into the data
// directory of the village 东村 (docs/OPERATIONS.md: `yizhan restore
// --from … --data … --name dongcun-1`, then `yizhan node --office
// 450122101203 …` "as before"). The node started, and served the county's
// case book and registry as the village's; it refuses now, naming both
// offices (the book names its office: casebook keyOffice).
func TestANodeRefusesTheDataDirectoryOfAnotherOffice(t *testing.T) {
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	fileTobacco(t, agent, "张三")
	countyNode := f.nodes["county-1"]
	waitFor(t, "the county to hold the village's case", func() bool { return countyNode.Office().Cases().Len() >= 1 }, 30*time.Second)

	// The county's backup, taken with a county certificate.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	own := f.bundle(county, "")
	dialOwn := func(addr string) (*grpc.ClientConn, error) {
		return grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(own.ClientConfig(county))))
	}
	path := filepath.Join(t.TempDir(), "county.yzb")
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := federation.FetchBackup(ctx, dialOwn, []string{countyNode.PeerAddr()}, county, file); err != nil {
		t.Fatal(err)
	}
	file.Close()

	// Restored as the village's node (a new machine: --members names it).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raftAddr := l.Addr().String()
	l.Close()
	dataDir := filepath.Join(t.TempDir(), "dongcun-2")
	if _, err := node.Restore(path, dataDir, "dongcun-2", []raftgroup.BackupMember{{ID: "dongcun-2", Address: raftAddr, Voter: true}}); err != nil {
		t.Fatalf("restore: %v", err)
	}

	// Started as the village, as before.
	cfg := node.Config{
		Office: dongcun, Name: "dongcun-2", DataDir: dataDir,
		HTTPAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0", RaftAddr: raftAddr,
		TLS: f.bundle(dongcun, "dongcun-2"), Logger: testLogger(),
		Timing: fastTiming(), FeedHeartbeat: 100 * time.Millisecond, SmallBadger: true,
		Upstream: f.peerAddrs("chengguan-1"),
	}
	n, err := node.New(cfg)
	if err == nil {
		err = n.Start()
		defer n.Close()
	}
	if err == nil {
		t.Fatalf("the node of office %s started on a data directory restored from the county's backup: it holds %d cases; ready=%v",
			dongcun, n.Office().Cases().Len(), n.Ready())
	}
	if msg := err.Error(); !strings.Contains(msg, "office "+county) || !strings.Contains(msg, "--office "+county) {
		t.Errorf("the refusal does not name the offices: %v", err)
	}
}
