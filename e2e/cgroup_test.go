//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// memoryCgroup is a memory cgroup of the benchmark's own, made under the
// one this process runs in, whose limit counts everything a process in it
// uses: its anonymous memory, the page cache it brings in (its binary,
// its files) and the kernel's memory for it. Over the limit the kernel
// first takes back page cache; what it cannot take back ends in the OOM
// killer. cgroup v1 (a memory hierarchy under /sys/fs/cgroup/memory) and
// v2 (the unified hierarchy with the memory controller) both serve.
type memoryCgroup struct {
	dir string
	v2  bool
}

// newMemoryCgroup makes a cgroup limited to limitMB, without swap, and
// removes it when b ends (after the processes the benchmark started in it
// are killed: cleanups run last first).
func newMemoryCgroup(b *testing.B, name string, limitMB int) *memoryCgroup {
	b.Helper()
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		b.Fatal(err)
	}
	var cg *memoryCgroup
	for _, line := range strings.Split(string(self), "\n") {
		f := strings.SplitN(line, ":", 3)
		switch {
		case len(f) != 3:
		case strings.Contains(","+f[1]+",", ",memory,"):
			cg = &memoryCgroup{dir: filepath.Join("/sys/fs/cgroup/memory", f[2], name)}
		case f[0] == "0" && f[1] == "" && cg == nil:
			for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
				ctl, _ := os.ReadFile(filepath.Join(root, f[2], "cgroup.controllers"))
				if strings.Contains(string(ctl), "memory") {
					cg = &memoryCgroup{dir: filepath.Join(root, f[2], name), v2: true}
					break
				}
			}
		}
	}
	if cg == nil {
		b.Fatal("no memory cgroup controller on this machine (neither v1 nor v2)")
	}
	if err := os.Mkdir(cg.dir, 0o755); err != nil {
		b.Fatalf("a memory cgroup of %d MB: %v (it needs root and a writable cgroup hierarchy)", limitMB, err)
	}
	b.Cleanup(func() {
		if err := os.Remove(cg.dir); err != nil {
			b.Logf("cgroup %s: %v", cg.dir, err)
		}
	})
	limit := strconv.Itoa(limitMB << 20)
	if cg.v2 {
		cg.write(b, "memory.max", limit)
		cg.write(b, "memory.swap.max", "0")
	} else {
		cg.write(b, "memory.limit_in_bytes", limit)
		// Without swap on the machine memsw is the same limit; with it,
		// this keeps the process from swapping its way under the limit.
		if _, err := os.Stat(filepath.Join(cg.dir, "memory.memsw.limit_in_bytes")); err == nil {
			cg.write(b, "memory.memsw.limit_in_bytes", limit)
		}
	}
	return cg
}

func (cg *memoryCgroup) write(b *testing.B, file, value string) {
	b.Helper()
	if err := os.WriteFile(filepath.Join(cg.dir, file), []byte(value), 0o644); err != nil {
		b.Fatalf("cgroup %s: %v", file, err)
	}
}

func (cg *memoryCgroup) read(b *testing.B, file string) string {
	b.Helper()
	data, err := os.ReadFile(filepath.Join(cg.dir, file))
	if err != nil {
		b.Fatalf("cgroup %s: %v", file, err)
	}
	return string(data)
}

// bytesMB reads a file of one number of bytes as MB.
func (cg *memoryCgroup) bytesMB(b *testing.B, file string) float64 {
	b.Helper()
	n, err := strconv.ParseFloat(strings.TrimSpace(cg.read(b, file)), 64)
	if err != nil {
		b.Fatalf("cgroup %s: %v", file, err)
	}
	return n / (1 << 20)
}

// usage is the memory the cgroup's processes use now and at most since
// it was made, in MB, and how many of them the OOM killer killed.
// (A v2 kernel before 5.19 has no memory.peak: peak is then 0.)
func (cg *memoryCgroup) usage(b *testing.B) (now, peak float64, oomKills int) {
	b.Helper()
	if cg.v2 {
		now = cg.bytesMB(b, "memory.current")
		if _, err := os.Stat(filepath.Join(cg.dir, "memory.peak")); err == nil {
			peak = cg.bytesMB(b, "memory.peak")
		}
		return now, peak, cg.field(b, "memory.events", "oom_kill")
	}
	return cg.bytesMB(b, "memory.usage_in_bytes"), cg.bytesMB(b, "memory.max_usage_in_bytes"),
		cg.field(b, "memory.oom_control", "oom_kill")
}

// field is the number after name in a file of "name value" lines.
func (cg *memoryCgroup) field(b *testing.B, file, name string) int {
	for _, line := range strings.Split(cg.read(b, file), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// wrap writes a script that moves itself into the cgroup and then runs
// a copy of the binary under test: a copy out of the page cache, so that
// the binary's pages are brought in, and counted, by the process in the
// cgroup rather than already cached by the nodes outside it.
func (cg *memoryCgroup) wrap(b *testing.B, dir string) string {
	b.Helper()
	data, err := os.ReadFile(binary)
	if err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(dir, "yizhan-in-cgroup")
	f, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		b.Fatal(err)
	}
	// Written, synced and dropped from the page cache: the pages this
	// process wrote would stay charged to its own cgroup.
	if _, err := f.Write(data); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	script := filepath.Join(dir, "in-cgroup.sh")
	body := fmt.Sprintf("#!/bin/sh\necho $$ > %s || exit 1\nexec %s \"$@\"\n",
		filepath.Join(cg.dir, "cgroup.procs"), bin)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		b.Fatal(err)
	}
	return script
}
