package node_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/yizhan-gov/yizhan/federation"
	"github.com/yizhan-gov/yizhan/node"
)

// docs/deploy-kubernetes.md: "To restore an office, scale it to 0, run
// `yizhan restore` into each volume (a debug pod mounting the claim),
// scale back". The volume's root belongs to the pod's user (65532, the
// chart's runAsUser/fsGroup, fsGroupChangePolicy OnRootMismatch so the
// kubelet does not chown again). A debug pod runs as root unless told
// otherwise: restore wrote root-owned 0700/0600 files that the node (uid
// 65532) could not open, and the office's pods crash-looped after the
// restore. What restore writes belongs to the data directory's owner.
// (It takes root to give files away: CI runs as root.)
func TestRestoreLeavesFilesTheNodeUserCanOpen(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving files to another user takes root, as a debug pod runs")
	}
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	fileTobacco(t, agent, "张三")
	village := f.nodes["dongcun-1"]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	own := f.bundle(dongcun, "")
	dialOwn := func(addr string) (*grpc.ClientConn, error) {
		return grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(own.ClientConfig(dongcun))))
	}
	path := filepath.Join(t.TempDir(), "dongcun.yzb")
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := federation.FetchBackup(ctx, dialOwn, []string{village.PeerAddr()}, dongcun, file); err != nil {
		t.Fatal(err)
	}
	file.Close()

	// The claim's root, as the kubelet leaves it for the pod.
	vol := filepath.Join(t.TempDir(), "var-lib-yizhan")
	if err := os.Mkdir(vol, 0o2775); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(vol, 65532, 65532); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Restore(path, vol, "dongcun-1", nil); err != nil {
		t.Fatal(err)
	}
	var bad []string
	filepath.WalkDir(vol, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == vol {
			return err
		}
		info, _ := d.Info()
		st := info.Sys().(*syscall.Stat_t)
		if st.Uid != 65532 && info.Mode().Perm()&0o070 == 0 || st.Uid != 65532 && st.Gid != 65532 {
			rel, _ := filepath.Rel(vol, p)
			bad = append(bad, rel)
		}
		return nil
	})
	if len(bad) > 0 {
		t.Errorf("after `yizhan restore` run as root into a volume owned by 65532, the node (uid 65532) cannot open %d of what it wrote: %v", len(bad), bad)
	}
}
