package raftnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// LevelTrace is the slog level hclog's Trace maps to.
const LevelTrace = slog.LevelDebug - 4

// NewHCLogger returns an hclog.Logger that writes to l, for hashicorp
// libraries (raft, its transport): each record carries logger=name, and
// hclog's levels map to slog's (Trace to LevelTrace), but for raft's
// warnings in the ordinary start of a group (startupMessages), which are
// logged at info. The slog handler decides what is shown; SetLevel can
// only filter further.
func NewHCLogger(l *slog.Logger, name string) hclog.Logger {
	if l == nil {
		l = slog.Default()
	}
	level := new(atomic.Int32)
	level.Store(int32(hclog.Trace))
	return newHCLogger(l, name, nil, level)
}

// hcLogger adapts hclog.Logger to slog. Loggers derived with With, Named and
// ResetNamed share the level, as hclog's own do.
type hcLogger struct {
	base    *slog.Logger // the logger given to NewHCLogger
	name    string
	implied []any
	level   *atomic.Int32 // hclog.Level below which records are dropped
	out     *slog.Logger  // base with name and implied args
}

func newHCLogger(base *slog.Logger, name string, implied []any, level *atomic.Int32) *hcLogger {
	out := base
	if name != "" {
		out = out.With("logger", name)
	}
	if len(implied) > 0 {
		out = out.With(implied...)
	}
	return &hcLogger{base: base, name: name, implied: implied, level: level, out: out}
}

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return LevelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default: // Info, NoLevel (hclog's default level)
		return slog.LevelInfo
	}
}

func (h *hcLogger) enabled(l hclog.Level) bool {
	if l == hclog.Off {
		return false
	}
	if l == hclog.NoLevel {
		l = hclog.Info
	}
	min := hclog.Level(h.level.Load())
	if min == hclog.Off || l < min {
		return false
	}
	return h.out.Enabled(context.Background(), slogLevel(l))
}

func (h *hcLogger) Log(level hclog.Level, msg string, args ...any) {
	if !h.enabled(level) {
		return
	}
	for i, a := range args {
		switch v := a.(type) {
		case hclog.Format:
			// hclog.Fmt("%+v", x): format it as hclog would.
			if len(v) > 0 {
				if f, ok := v[0].(string); ok {
					args[i] = fmt.Sprintf(f, v[1:]...)
				}
			}
		case error:
			// Raft's transport reports its own shutdown as an error while
			// the node stops on purpose: that is not worth an operator's
			// attention.
			if level >= hclog.Warn && errors.Is(v, raft.ErrTransportShutdown) {
				level = hclog.Debug
				if !h.enabled(level) {
					return
				}
			}
		}
	}
	if level == hclog.Warn && startupMessage(msg, args) {
		level = hclog.Info
		if !h.enabled(level) {
			return
		}
	}
	h.out.Log(context.Background(), slogLevel(level), msg, args...)
}

// startupMessages are the warnings hashicorp/raft (v1.8) gives in the
// ordinary start of a group, each with the condition on its arguments
// under which it is that and nothing worse: they are logged at info, so
// that warn is left for what an operator must look at. A warning not
// listed here, or whose condition does not hold, stays a warning.
var startupMessages = []struct {
	msg  string
	when func(args []any) bool
}{
	// A voter that has heard of no leader since it started waits one
	// heartbeat timeout, then stands: the first election of a new group,
	// or of a group starting again. Losing a known leader names it in
	// last-leader-addr and stays a warning.
	{"heartbeat timeout reached, starting election", func(args []any) bool {
		return argString(args, "last-leader-addr") == "" && argString(args, "last-leader-id") == ""
	}},
	// A node with no configuration yet: one that joins an office waits
	// for its leader to add it (raft says so once per follower spell).
	{"no known peers, aborting election", func([]any) bool { return true }},
	// A follower just added, with an empty log, is sent the leader's
	// latest entries first and answers that it has nothing before them.
	{"failed to get previous log", func(args []any) bool {
		return argString(args, "last-index") == "0"
	}},
	// The leader's side of the same: it starts that follower's log again
	// from the first entry.
	{"appendEntries rejected, sending older logs", func(args []any) bool {
		return argString(args, "next") == "1"
	}},
}

// startupMessage reports whether a warning with msg and args is one of
// startupMessages.
func startupMessage(msg string, args []any) bool {
	for _, m := range startupMessages {
		if m.msg == msg {
			return m.when(args)
		}
	}
	return false
}

// argString is the value of key among hclog's key-value args, formatted
// with fmt.Sprint ("<absent>" when it is not there).
func argString(args []any, key string) string {
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok && k == key {
			return fmt.Sprint(args[i+1])
		}
	}
	return "<absent>"
}

func (h *hcLogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hcLogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hcLogger) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hcLogger) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hcLogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hcLogger) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *hcLogger) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *hcLogger) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *hcLogger) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *hcLogger) IsError() bool { return h.enabled(hclog.Error) }

func (h *hcLogger) ImpliedArgs() []any { return append([]any(nil), h.implied...) }

func (h *hcLogger) With(args ...any) hclog.Logger {
	implied := append(append([]any(nil), h.implied...), args...)
	return newHCLogger(h.base, h.name, implied, h.level)
}

func (h *hcLogger) Name() string { return h.name }

func (h *hcLogger) Named(name string) hclog.Logger {
	if h.name != "" {
		name = h.name + "." + name
	}
	return newHCLogger(h.base, name, h.implied, h.level)
}

func (h *hcLogger) ResetNamed(name string) hclog.Logger {
	return newHCLogger(h.base, name, h.implied, h.level)
}

func (h *hcLogger) SetLevel(level hclog.Level) {
	if level == hclog.NoLevel {
		level = hclog.Trace
	}
	h.level.Store(int32(level))
}

func (h *hcLogger) GetLevel() hclog.Level { return hclog.Level(h.level.Load()) }

func (h *hcLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *hcLogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	if opts == nil {
		opts = &hclog.StandardLoggerOptions{}
	}
	return &stdWriter{h: h, opts: *opts}
}

// stdWriter logs each line written by a standard library logger.
type stdWriter struct {
	h    *hcLogger
	opts hclog.StandardLoggerOptions
}

func (w *stdWriter) Write(p []byte) (int, error) {
	for line := range bytes.Lines(p) {
		msg := strings.TrimRight(string(line), "\r\n")
		if msg == "" {
			continue
		}
		level := hclog.Info
		switch {
		case w.opts.ForceLevel != hclog.NoLevel:
			level = w.opts.ForceLevel
		case w.opts.InferLevels || w.opts.InferLevelsWithTimestamp:
			level, msg = inferLevel(msg, w.opts.InferLevelsWithTimestamp)
		}
		w.h.Log(level, msg)
	}
	return len(p), nil
}

// inferLevel reads a "[ERR]"-style prefix, as hclog's own writer does,
// after a timestamp if withTimestamp.
func inferLevel(msg string, withTimestamp bool) (hclog.Level, string) {
	s := msg
	if withTimestamp {
		if i := strings.Index(s, "["); i > 0 {
			s = s[i:]
		}
	}
	for _, p := range []struct {
		prefix string
		level  hclog.Level
	}{
		{"[TRACE]", hclog.Trace},
		{"[DEBUG]", hclog.Debug},
		{"[INFO]", hclog.Info},
		{"[WARN]", hclog.Warn},
		{"[ERR]", hclog.Error},
		{"[ERROR]", hclog.Error},
	} {
		if rest, ok := strings.CutPrefix(s, p.prefix); ok {
			return p.level, strings.TrimSpace(rest)
		}
	}
	return hclog.Info, msg
}
