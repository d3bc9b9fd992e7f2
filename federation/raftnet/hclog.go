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
// hclog's levels map to slog's (Trace to LevelTrace). The slog handler
// decides what is shown; SetLevel can only filter further.
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
	h.out.Log(context.Background(), slogLevel(level), msg, args...)
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
