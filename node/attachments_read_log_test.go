package node_test

import (
	"context"
	"log/slog"
	"strings"
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

// Staff looking a citizen up by ID number, phone or name is kept in the
// log of the node that answered: who searched, by what kind of key, the
// key masked as for those who do not handle a case (a name never), and
// the cases found, which say whose.
func TestSearchingByApplicantIsLogged(t *testing.T) {
	audit := &auditLog{}
	f := newTunedCaseFed(t, 1, func(name string, c *node.Config) {
		if name == "dongcun-1" {
			c.Logger = slog.New(audit)
		}
	})
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	c := fileTobacco(t, agent, "韦丽")
	cl := caseClient(t, agent)
	for _, key := range []string{applicantID, "13907710001", "韦丽"} {
		if _, err := cl.ListCases(agent.ctx(), &yizhanv1.ListCasesRequest{Applicant: key, History: true}); err != nil {
			t.Fatalf("search by %q: %v", key, err)
		}
	}
	if _, err := cl.ListCases(agent.ctx(), &yizhanv1.ListCasesRequest{History: true}); err != nil {
		t.Fatal(err)
	}
	got := audit.of("applicant_search")
	want := []struct{ by, key string }{
		{"id_number", casework.MaskIDNumber(applicantID)}, {"phone", casework.MaskPhone("13907710001")}, {"name", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("the village's log of searches: %v; want one line for each of the %d searches by applicant, none for the history", got, len(want))
	}
	for i, w := range want {
		r := got[i]
		if r["staff"] != "dongcun" || r["by"] != w.by || r["key"] != w.key || r["found"] != "1" || r["cases"] != c.GetNumber() {
			t.Errorf("search %d logged as %v; want staff dongcun, by %s, key %q, case %s", i, r, w.by, w.key, c.GetNumber())
		}
		for k, v := range r {
			if strings.Contains(v, applicantID) || strings.Contains(v, "13907710001") || strings.Contains(v, "韦丽") {
				t.Errorf("search %d's record holds the citizen's data in clear in %s: %q", i, k, v)
			}
		}
	}
}
