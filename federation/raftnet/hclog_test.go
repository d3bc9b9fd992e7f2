package raftnet

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// records decodes the JSON lines of buf.
func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		out = append(out, m)
	}
	buf.Reset()
	return out
}

func TestHCLogger(t *testing.T) {
	var buf bytes.Buffer
	l := NewHCLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), "raft")

	l.Trace("dropped by the handler")
	l.Debug("debug", "peer", "c1")
	l.Info("info")
	l.Warn("warn")
	l.Error("error", "error", "boom")
	got := records(t, &buf)
	wantLevels := []string{"DEBUG", "INFO", "WARN", "ERROR"}
	if len(got) != len(wantLevels) {
		t.Fatalf("got %d records, want %d: %v", len(got), len(wantLevels), got)
	}
	for i, r := range got {
		if r["level"] != wantLevels[i] || r["logger"] != "raft" {
			t.Errorf("record %d = %v, want level %s logger raft", i, r, wantLevels[i])
		}
	}
	if got[0]["peer"] != "c1" || got[3]["error"] != "boom" {
		t.Errorf("attributes lost: %v", got)
	}
	if l.IsTrace() || !l.IsDebug() || !l.IsError() {
		t.Errorf("IsTrace %v IsDebug %v IsError %v", l.IsTrace(), l.IsDebug(), l.IsError())
	}

	sub := l.Named("net").With("office", "330102000000")
	if sub.Name() != "raft.net" || len(sub.ImpliedArgs()) != 2 {
		t.Fatalf("Named/With: name %q implied %v", sub.Name(), sub.ImpliedArgs())
	}
	sub.Info("hello")
	r := records(t, &buf)[0]
	if r["logger"] != "raft.net" || r["office"] != "330102000000" {
		t.Fatalf("sub-logger record = %v", r)
	}
	if reset := sub.ResetNamed("other"); reset.Name() != "other" {
		t.Fatalf("ResetNamed: %q", reset.Name())
	}

	// SetLevel filters further, for every logger derived from the same one.
	l.SetLevel(hclog.Warn)
	l.Info("filtered")
	sub.Info("filtered too")
	sub.Warn("kept")
	if got := records(t, &buf); len(got) != 1 || got[0]["msg"] != "kept" {
		t.Fatalf("after SetLevel(Warn): %v", got)
	}
	if l.GetLevel() != hclog.Warn || l.IsInfo() {
		t.Fatalf("GetLevel = %v, IsInfo = %v", l.GetLevel(), l.IsInfo())
	}
	l.SetLevel(hclog.Off)
	l.Error("off")
	if buf.Len() != 0 {
		t.Fatalf("logged with level Off: %s", buf.String())
	}
	l.SetLevel(hclog.Trace)

	// The standard logger some hashicorp code still uses.
	std := l.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})
	std.Print("[WARN] raft: disk slow")
	std.Print("plain line")
	got = records(t, &buf)
	if len(got) != 2 || got[0]["level"] != "WARN" || got[0]["msg"] != "raft: disk slow" || got[1]["level"] != "INFO" {
		t.Fatalf("standard logger records = %v", got)
	}
}

func TestHCLoggerTraceLevel(t *testing.T) {
	var buf bytes.Buffer
	l := NewHCLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: LevelTrace})), "raft")
	if !l.IsTrace() {
		t.Fatal("IsTrace false with a trace-level handler")
	}
	l.Trace("t")
	if got := records(t, &buf); len(got) != 1 || got[0]["level"] != "DEBUG-4" {
		t.Fatalf("trace record = %v", got)
	}
}

// TestHCLoggerStartupMessages checks the list of raft's start-up warnings
// logged at info: each is downgraded only under its condition, with the
// argument types raft gives, and any other warning stays a warning.
func TestHCLoggerStartupMessages(t *testing.T) {
	var buf bytes.Buffer
	l := NewHCLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), "raft").
		With("office", "450122000000")
	peer := raft.Server{Suffrage: raft.Voter, ID: "county-2", Address: "127.0.0.1:18601"}
	for _, c := range []struct {
		msg   string
		args  []any
		level string
	}{
		// a new group, or one starting again: no leader heard of yet
		{"heartbeat timeout reached, starting election",
			[]any{"last-leader-addr", raft.ServerAddress(""), "last-leader-id", raft.ServerID("")}, "INFO"},
		// a leader lost: an operator looks at that
		{"heartbeat timeout reached, starting election",
			[]any{"last-leader-addr", raft.ServerAddress("127.0.0.1:18600"), "last-leader-id", raft.ServerID("county-1")}, "WARN"},
		{"no known peers, aborting election", nil, "INFO"},
		// a follower just added, its log empty
		{"failed to get previous log",
			[]any{"previous-index", uint64(72), "last-index", uint64(0), "error", raft.ErrLogNotFound}, "INFO"},
		// a follower whose log has a gap
		{"failed to get previous log",
			[]any{"previous-index", uint64(72), "last-index", uint64(40), "error", raft.ErrLogNotFound}, "WARN"},
		{"appendEntries rejected, sending older logs", []any{"peer", peer, "next", uint64(1)}, "INFO"},
		{"appendEntries rejected, sending older logs", []any{"peer", peer, "next", uint64(500)}, "WARN"},
		// not on the list
		{"not part of stable configuration, aborting election", nil, "WARN"},
		{"Election timeout reached, restarting election", nil, "WARN"},
		{"failed to contact quorum of nodes, stepping down", nil, "WARN"},
	} {
		l.Warn(c.msg, c.args...)
		got := records(t, &buf)
		if len(got) != 1 || got[0]["msg"] != c.msg || got[0]["level"] != c.level || got[0]["office"] != "450122000000" {
			t.Errorf("Warn(%q, %v) = %v, want one record at %s", c.msg, c.args, got, c.level)
		}
	}

	// The same text at error is not touched; nor is a start-up message
	// given at info already.
	l.Error("no known peers, aborting election")
	l.Info("failed to get previous log", "last-index", uint64(0))
	if got := records(t, &buf); len(got) != 2 || got[0]["level"] != "ERROR" || got[1]["level"] != "INFO" {
		t.Errorf("error and info records = %v", got)
	}

	// Under a warn-level handler (the demo's), the start of a group says
	// nothing.
	quiet := NewHCLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})), "raft")
	quiet.Warn("heartbeat timeout reached, starting election", "last-leader-addr", raft.ServerAddress(""), "last-leader-id", raft.ServerID(""))
	quiet.Warn("no known peers, aborting election")
	if buf.Len() != 0 {
		t.Errorf("start-up messages under a warn-level handler: %s", buf.String())
	}
}

// TestStartupMessagesInRaft checks that raft, in the version go.mod names,
// still gives each message of startupMessages at warn: a message it has
// renamed or dropped would leave its start-up warning a warning again.
func TestStartupMessagesInRaft(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/hashicorp/raft").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Skipf("no raft sources in %q: %v", dir, err)
	}
	var src strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	for _, m := range startupMessages {
		if !strings.Contains(src.String(), `logger.Warn("`+m.msg+`"`) {
			t.Errorf("raft in %s has no logger.Warn(%q): check startupMessages against this version", dir, m.msg)
		}
	}
}
