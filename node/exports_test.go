package node

import (
	"context"
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/reason"
)

// A node builds at most maxExports workbooks at once: the next export
// waits for a slot, and after exportWait is answered EXPORT_BUSY (retry
// after a while); a slot given back is taken again.
func TestExportsAtOnce(t *testing.T) {
	defer func(w time.Duration) { exportWait = w }(exportWait)
	exportWait = 50 * time.Millisecond
	n := &Node{exports: make(chan struct{}, maxExports)}
	var releases []func()
	for range maxExports {
		release, err := n.exportSlot(context.Background())
		if err != nil {
			t.Fatalf("slot %d: %v", len(releases)+1, err)
		}
		releases = append(releases, release)
	}
	if _, err := n.exportSlot(context.Background()); reason.StatusReason(err) != reason.ExportBusy {
		t.Errorf("an export past %d at once: %v, want EXPORT_BUSY", maxExports, err)
	}
	done := make(chan error, 1)
	go func() {
		exportWait = time.Second
		release, err := n.exportSlot(context.Background())
		if err == nil {
			release()
		}
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	releases[0]()
	if err := <-done; err != nil {
		t.Errorf("an export waiting for a slot given back: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	releases[1]()
	for range maxExports {
		n.exports <- struct{}{}
	}
	if _, err := n.exportSlot(ctx); reason.StatusReason(err) != reason.Canceled {
		t.Errorf("an export whose caller went away while it waited: %v", err)
	}
}
