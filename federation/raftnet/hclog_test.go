package raftnet

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
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
