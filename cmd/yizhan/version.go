package main

import (
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=…"; without
// it, the main module's version from the build info is used.
var version = "dev"

// commit is set at build time with -ldflags "-X main.commit=…" where the
// build has no version control information to read (the image: its build
// context leaves .git out); the build info's vcs.revision, when there is
// one, is used before it.
var commit = ""

// buildInfo is what `yizhan version` says and every node logs at start:
// the version and the commit the binary was built from.
type buildInfo struct {
	Version  string // -X main.version, else the main module's version, else "dev"
	Commit   string // vcs.revision, else -X main.commit; "" when the build had neither
	Time     string // vcs.time, the commit's time (RFC 3339)
	Modified bool   // vcs.modified: built from a tree with uncommitted changes
	Go       string // the Go version that built it
}

// readBuildInfo reads the binary's own build information.
func readBuildInfo() buildInfo {
	info, _ := debug.ReadBuildInfo()
	return newBuildInfo(info, version, commit)
}

// newBuildInfo picks the version and commit out of info (nil when the
// binary has none); ldflagsVersion is main.version, ldflagsCommit
// main.commit, the commit when info names none.
func newBuildInfo(info *debug.BuildInfo, ldflagsVersion, ldflagsCommit string) buildInfo {
	b := buildInfo{Version: ldflagsVersion, Go: runtime.Version()}
	if info == nil {
		if b.Version == "" {
			b.Version = "dev"
		}
		b.Commit = ldflagsCommit
		return b
	}
	if info.GoVersion != "" {
		b.Go = info.GoVersion
	}
	if b.Version == "" || b.Version == "dev" {
		if v := info.Main.Version; v != "" && v != "(devel)" {
			b.Version = v
		} else {
			b.Version = "dev"
		}
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	if b.Commit == "" {
		b.Commit = ldflagsCommit
	}
	return b
}

// String is the line `yizhan version` prints:
//
//	yizhan v1.2.0 commit 611dad3c… (2026-11-30T10:00:00Z) go1.26.8
//	yizhan dev commit 611dad3c… (2026-11-30T10:00:00Z, modified) go1.26.8
//	yizhan v1.2.0 commit 611dad3c… go1.26.8 (the image: -X main.version, -X main.commit)
//	yizhan dev commit unknown (built without version control information) go1.26.8
func (b buildInfo) String() string {
	if b.Commit == "" {
		return fmt.Sprintf("yizhan %s commit unknown (built without version control information) %s", b.Version, b.Go)
	}
	when := b.Time
	if b.Modified {
		if when != "" {
			when += ", "
		}
		when += "modified"
	}
	if when != "" {
		when = " (" + when + ")"
	}
	return fmt.Sprintf("yizhan %s commit %s%s %s", b.Version, b.Commit, when, b.Go)
}

// logAttrs are the attributes of the line a node logs at start.
func (b buildInfo) logAttrs() []any {
	commit := b.Commit
	if commit == "" {
		commit = "unknown"
	}
	attrs := []any{slog.String("version", b.Version), slog.String("commit", commit)}
	if b.Time != "" {
		attrs = append(attrs, slog.String("commit_time", b.Time))
	}
	if b.Modified {
		attrs = append(attrs, slog.Bool("modified", true))
	}
	return append(attrs, slog.String("go", b.Go))
}
