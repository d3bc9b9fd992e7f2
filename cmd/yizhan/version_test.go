package main

import (
	"bytes"
	"log/slog"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildInfoString(t *testing.T) {
	vcs := func(rev, at, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/yizhan-gov/yizhan", Version: "(devel)"},
			Settings: []debug.BuildSetting{
				{Key: "-trimpath", Value: "true"},
				{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: rev},
				{Key: "vcs.time", Value: at},
				{Key: "vcs.modified", Value: modified},
			}}
	}
	const rev = "611dad3c2b0f6a1e9d4c7b8a5f3e2d1c0b9a8f7e"
	tagged := vcs(rev, "2026-11-30T10:00:00Z", "false")
	tagged.Main.Version = "v1.2.0"
	for _, c := range []struct {
		name    string
		info    *debug.BuildInfo
		ldflags string
		commit  string // -X main.commit
		want    string
	}{
		{"a clean checkout", vcs(rev, "2026-11-30T10:00:00Z", "false"), "dev", "",
			"yizhan dev commit " + rev + " (2026-11-30T10:00:00Z) go1.26.8"},
		{"uncommitted changes", vcs(rev, "2026-11-30T10:00:00Z", "true"), "dev", "",
			"yizhan dev commit " + rev + " (2026-11-30T10:00:00Z, modified) go1.26.8"},
		{"go install …@v1.2.0", tagged, "dev", "",
			"yizhan v1.2.0 commit " + rev + " (2026-11-30T10:00:00Z) go1.26.8"},
		{"-X main.version wins", tagged, "v1.3.0-rc1", "",
			"yizhan v1.3.0-rc1 commit " + rev + " (2026-11-30T10:00:00Z) go1.26.8"},
		{"vcs.revision before -X main.commit", tagged, "dev", "0000000000000000000000000000000000000000",
			"yizhan v1.2.0 commit " + rev + " (2026-11-30T10:00:00Z) go1.26.8"},
		{"no version control information", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "dev", "",
			"yizhan dev commit unknown (built without version control information) go1.26.8"},
		// The image's build: its context leaves .git out, the Dockerfile
		// passes the version and commit with -ldflags -X.
		{"the image: -X main.version and -X main.commit", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "v1.2.0", rev,
			"yizhan v1.2.0 commit " + rev + " go1.26.8"},
		{"no build information", nil, "dev", "",
			"yizhan dev commit unknown (built without version control information) " + runtime.Version()},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := newBuildInfo(c.info, c.ldflags, c.commit).String(); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestVersionCommand runs `yizhan version` in the test binary, which go
// test builds without version control information.
func TestVersionCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run([]string{"version"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSuffix(out.String(), "\n")
	re := regexp.MustCompile(`^yizhan \S+ commit (unknown \(built without version control information\)|[0-9a-f]{40}( \([^)]*\))?) go\S+$`)
	if !re.MatchString(line) || strings.Contains(line, "\n") {
		t.Errorf("yizhan version printed %q, want a line matching %s", out.String(), re)
	}
}

func TestBuildInfoLogAttrs(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	b := buildInfo{Version: "dev", Commit: "611dad3c", Time: "2026-11-30T10:00:00Z", Modified: true, Go: "go1.26.8"}
	l.Info("yizhan node starting", b.logAttrs()...)
	want := `msg="yizhan node starting" version=dev commit=611dad3c commit_time=2026-11-30T10:00:00Z modified=true go=go1.26.8`
	if !strings.Contains(buf.String(), want) {
		t.Errorf("logged %q, want it to hold %q", buf.String(), want)
	}
	buf.Reset()
	l.Info("yizhan node starting", buildInfo{Version: "dev", Go: "go1.26.8"}.logAttrs()...)
	if !strings.Contains(buf.String(), "version=dev commit=unknown go=go1.26.8") {
		t.Errorf("without version control information: %q", buf.String())
	}
}
