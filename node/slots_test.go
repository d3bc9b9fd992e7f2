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

// A node reads at most HTTPLimits.Uploads web forms with files at once:
// another waits for one of them to end, for at most the wait (then 503),
// or until its client goes.
func TestUploadsAtOnce(t *testing.T) {
	n := &Node{uploads: make(chan struct{}, 1)}
	if !n.takeUpload(context.Background(), time.Second) {
		t.Fatal("the first upload found no slot")
	}
	start := time.Now()
	if n.takeUpload(context.Background(), 50*time.Millisecond) {
		t.Error("a second upload at once took a slot")
	} else if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("it gave up after %s, before its wait", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n.takeUpload(ctx, time.Second) {
		t.Error("an upload whose client went took a slot")
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		<-n.uploads // the first ends
	}()
	if !n.takeUpload(context.Background(), time.Second) {
		t.Error("an upload waiting for a slot given back")
	}
}
