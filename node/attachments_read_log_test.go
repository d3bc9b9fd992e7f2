package node_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/node"
)

// auditLog keeps the log records that carry an "audit" attribute.
type auditLog struct {
	mu      sync.Mutex
	records []map[string]string
}

func (l *auditLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *auditLog) Handle(_ context.Context, r slog.Record) error {
	rec := map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool { rec[a.Key] = a.Value.String(); return true })
	if rec["audit"] != "" {
		l.mu.Lock()
		l.records = append(l.records, rec)
		l.mu.Unlock()
	}
	return nil
}
func (l *auditLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *auditLog) WithGroup(string) slog.Handler      { return l }

func (l *auditLog) of(kind string) []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]string
	for _, r := range l.records {
		if r["audit"] == kind {
			out = append(out, r)
		}
	}
	return out
}

// A citizen's scan is personal data: the node that serves it to staff
// keeps who read which scan of which case in its log, once a reading
// (not once a part).
func TestReadingAScanIsLogged(t *testing.T) {
	audit := &auditLog{}
	f := newTunedCaseFed(t, 1, func(name string, c *node.Config) {
		if name == "county-1" {
			c.Logger = slog.New(audit)
		}
	})
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	data := scan(3*casework.AttachmentPartBytes/2, 11)
	a := upload(t, agent, data, casework.TypePDF, "覃海燕身份证.pdf")
	c, err := fileWithScan(t, agent, "覃海燕", a)
	if err != nil {
		t.Fatal(err)
	}
	countyNode := f.nodes["county-1"]
	waitFor(t, "the case and its scan at the county", func() bool {
		_, whole := countyNode.Office().Cases().AttachmentHeld(a.Sha256)
		return received(countyNode, c.GetNumber()) && whole
	}, 30*time.Second)
	clerk := dial(t, countyNode).login("clerk", password)
	for off := int64(0); off < a.Size; off += casework.AttachmentPartBytes {
		if _, err := caseClient(t, clerk).GetAttachment(clerk.ctx(), &yizhanv1.GetAttachmentRequest{Number: c.GetNumber(), Sha256: a.Sha256, Offset: off}); err != nil {
			t.Fatalf("the county's clerk reads the scan at %d: %v", off, err)
		}
	}
	got := audit.of("scan_read")
	if len(got) != 1 || got[0]["staff"] != "clerk" || got[0]["case"] != c.GetNumber() || got[0]["file"] != a.Sha256[:12] {
		t.Errorf("the county's log of scans read: %v; want one record of the clerk reading %s of case %s", got, a.Sha256[:12], c.GetNumber())
	}
}
