package node_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/reason"
)

// damageOnDisk changes one byte of the first copy of needle in the value
// log of the badger database in dir, as a bad sector would.
func damageOnDisk(t *testing.T, dir string, needle []byte) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(data, needle)
		if i < 0 {
			continue
		}
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt([]byte{needle[0] ^ 0xff}, int64(i)); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no copy of the bytes in the value log of %s", dir)
}

// errorLog keeps the messages logged at error.
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return nil
}
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }

func (l *errorLog) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.Contains(m, substr) {
			n++
		}
	}
	return n
}

// A village's copy of a scan goes bad on its disk after the case naming
// it was filed, before it went up (the line to the township down). The
// village's agent reading it is refused (DATA_LOSS, naming the file and
// the damage), the case waits for the file while the village's delivery
// error names it, the metric counts it and the log says so once. The
// agent uploads the same file again: the copy is mended, reads back
// byte for byte, and the file and its case go up.
func TestADamagedScanIsRefusedAndNotSentUntilUploadedAgain(t *testing.T) {
	errs := &errorLog{}
	f := newTunedCaseFed(t, 1, func(name string, c *node.Config) {
		if name == "dongcun-1" {
			c.Logger = slog.New(errs)
		}
	})
	village, town := f.nodes["dongcun-1"], f.nodes["chengguan-1"]
	agent := dial(t, village).login("dongcun", password)
	part := casework.AttachmentPartBytes
	data := scan(3*part/2, 17)
	a := upload(t, agent, data, casework.TypePDF, "覃海燕身份证.pdf")
	townAddr := f.cfgs["chengguan-1"].PeerAddr
	f.links["dongcun-1"].Block(townAddr)
	c, err := fileWithScan(t, agent, "覃海燕", a)
	if err != nil {
		t.Fatalf("file with the scan: %v", err)
	}
	if err := village.Office().Cases().Sync(); err != nil {
		t.Fatal(err)
	}
	damageOnDisk(t, filepath.Join(f.cfgs["dongcun-1"].DataDir, "badger"), data[part+100:part+164])
	f.links["dongcun-1"].Unblock(townAddr)
	read := func() ([]byte, error) {
		var got []byte
		for int64(len(got)) < a.Size {
			p, err := caseClient(t, agent).GetAttachment(agent.ctx(), &yizhanv1.GetAttachmentRequest{Number: c.GetNumber(), Sha256: a.Sha256, Offset: int64(len(got))})
			if err != nil {
				return got, err
			}
			got = append(got, p.GetData()...)
		}
		return got, nil
	}
	for range 2 {
		_, err := read()
		st, _ := status.FromError(err)
		if st.Code() != codes.DataLoss || reason.Info(st).GetReason() != reason.AttachmentDamaged ||
			!strings.Contains(st.Message(), a.Sha256[:12]) || !strings.Contains(st.Message(), "damaged") {
			t.Fatalf("the agent reads the damaged scan: %v; want DATA_LOSS, %s, naming %s and the damage", err, reason.AttachmentDamaged, a.Sha256[:12])
		}
	}
	waitFor(t, "the village's delivery error names the damaged scan", func() bool {
		for _, e := range village.Office().DeliveryErrors() {
			if strings.Contains(e.Err, a.Sha256[:12]) && strings.Contains(e.Err, "damaged") {
				return true
			}
		}
		return false
	}, 20*time.Second)
	time.Sleep(6 * time.Second) // past the pusher's retry (5 s): the mail tries again
	if held, _ := town.Office().Cases().AttachmentHeld(a.Sha256); held != nil {
		t.Errorf("the township holds %d bytes of the damaged scan", held.GetOffset())
	}
	if _, ok := town.Office().Cases().Case(c.GetNumber()); ok {
		t.Error("the case went up without its scan")
	}
	if got := metricValue(t, village, "yizhan_casebook_scans_damaged"); got != "1" {
		t.Errorf("yizhan_casebook_scans_damaged = %s, want 1", got)
	}
	if n := errs.count("stored copy of a scanned file is damaged"); n != 1 {
		t.Errorf("the damage logged at error %d times, want once (%q)", n, errs.msgs)
	}

	// The agent uploads the file again (the paper, scanned again, or the
	// office above's copy): it takes the damaged copy's place.
	upload(t, agent, data, casework.TypePDF, "覃海燕身份证.pdf")
	if got, err := read(); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the scan uploaded again reads %d bytes, %v", len(got), err)
	}
	waitFor(t, "the case and its scan at the township", func() bool {
		_, whole := town.Office().Cases().AttachmentHeld(a.Sha256)
		_, ok := town.Office().Cases().Case(c.GetNumber())
		return whole && ok
	}, 30*time.Second)
	if got := metricValue(t, village, "yizhan_casebook_scans_damaged"); got != "0" {
		t.Errorf("yizhan_casebook_scans_damaged = %s after the mending, want 0", got)
	}
}
