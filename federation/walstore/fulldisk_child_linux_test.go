package walstore

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"golang.org/x/sys/unix"
)

// The disk fills at every moment of raft's use of the log: in an append,
// while a segment is sealed and the next one made, while the head is cut
// after a snapshot, while the term is stored. The writer is a child
// process (the file size limit is per process) that appends as raft does,
// prints each append that returned on its stdout (a pipe, which the limit
// does not stop), and stops on a failure as the node does (walstore
// panics; the test's child exits). Opened again with room, the log must
// hold every append that returned, in order, and go on.

const fullDiskChildEnv = "YIZHAN_WAL_FULLDISK_CHILD"

// TestFullDiskWALChild is the writer; it does nothing in a normal run.
func TestFullDiskWALChild(t *testing.T) {
	dir := os.Getenv(fullDiskChildEnv)
	if dir == "" {
		return // run by TestFullDiskAtEveryMoment as a child process only
	}
	limitAt, _ := strconv.Atoi(os.Getenv(fullDiskChildEnv + "_LIMIT_AT"))
	liftAt, _ := strconv.Atoi(os.Getenv(fullDiskChildEnv + "_LIFT_AT"))
	s, err := open(dir, discard, 64<<10) // small segments: many rotations
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(3)
	}
	last, _ := s.LastIndex()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	stop := func(what string, err error) {
		fmt.Fprintf(out, "stopped %s: %v\n", what, err)
		out.Flush()
		os.Exit(2)
	}
	defer func() {
		if r := recover(); r != nil {
			stop("panic", fmt.Errorf("%v", r))
		}
	}()
	// step counts the writes (appends, cuts, terms); the disk is full
	// from the limitAt-th on.
	step := 0
	next := func() {
		step++
		if step == limitAt {
			if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: 0, Max: unix.RLIM_INFINITY}); err != nil {
				stop("setrlimit", err)
			}
		}
		if step == liftAt {
			unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY})
		}
	}
	for n := 0; n < 4000; n++ {
		next()
		batch := make([]*raft.Log, 1+n%7)
		for i := range batch {
			last++
			batch[i] = testLog(last)
		}
		if err := s.StoreLogs(batch); err != nil {
			stop("append", err)
		}
		fmt.Fprintf(out, "ok %d\n", last)
		switch {
		case n%50 == 49:
			// A snapshot: the head is cut, trailing entries kept.
			first, _ := s.FirstIndex()
			if last > first+200 {
				next()
				// raft logs a failed cut and goes on.
				if err := s.DeleteRange(first, last-200); err == nil {
					fmt.Fprintf(out, "head %d\n", last-199)
				}
			}
		case n%13 == 0:
			next()
			if err := s.SetUint64([]byte("CurrentTerm"), uint64(n)); err != nil {
				stop("term", err)
			}
			fmt.Fprintf(out, "term %d\n", n)
		}
	}
	out.Flush()
	os.Exit(0)
}

func TestFullDiskAtEveryMoment(t *testing.T) {
	// Every step from 1 to 200 (the first cut is near step 60, segments
	// turn about every 40), then some later ones.
	var limits []int
	for i := 1; i <= 200; i++ {
		limits = append(limits, i)
	}
	limits = append(limits, 260, 333, 499, 777, 1500)
	for i := 1; i <= 200; i++ {
		limits = append(limits, -i)
	}
	for _, tc := range limits {
		limitAt, liftAt := tc, 0
		name := fmt.Sprintf("full from write %d", limitAt)
		if tc < 0 {
			// The disk has room again two writes later (a failed cut
			// of the head, which raft only logs, then appends).
			limitAt, liftAt = -tc, -tc+2
			name = fmt.Sprintf("full for writes %d-%d", limitAt, liftAt-1)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each writer is a process of its own, in its own directory
			dir := t.TempDir()
			acked, head, term, said := runWALChild(t, dir, limitAt, liftAt)
			if liftAt == 0 && !strings.HasPrefix(said, "stopped") {
				t.Fatalf("the writer did not stop on the full disk: %q", said)
			}
			t.Logf("acknowledged through %d, head %d, term %d; %s", acked, head, term, said)
			s := openTestStore(t, dir, 64<<10)
			first, _ := s.FirstIndex()
			lastIdx, _ := s.LastIndex()
			if lastIdx < acked {
				t.Fatalf("the log ends at %d, below the last append acknowledged (%d)", lastIdx, acked)
			}
			if first > head {
				t.Fatalf("the log starts at %d, past the head kept (%d)", first, head)
			}
			if lastIdx > 0 {
				checkLogs(t, s, first, lastIdx)
			}
			if got, err := s.GetUint64([]byte("CurrentTerm")); err != nil || got < uint64(term) {
				t.Fatalf("term %d (%v), want at least %d as stored", got, err, term)
			}
			storeLogs(t, s, lastIdx+1, lastIdx+50, 7) // and it goes on
			checkLogs(t, s, max(first, 1), lastIdx+50)
		})
	}
}

// runWALChild runs the writer with the disk full from its limitAt-th
// append and returns what it acknowledged: the last index appended, the
// head after the last cut (1 if none), the last term stored.
func runWALChild(t *testing.T, dir string, limitAt, liftAt int) (acked, head uint64, term int, said string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFullDiskWALChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), fullDiskChildEnv+"="+dir, fullDiskChildEnv+"_LIMIT_AT="+strconv.Itoa(limitAt), fullDiskChildEnv+"_LIFT_AT="+strconv.Itoa(liftAt))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	head = 1
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 {
			n, err := strconv.ParseUint(f[1], 10, 64)
			switch {
			case err != nil:
			case f[0] == "ok":
				acked = n
				continue
			case f[0] == "head":
				head = n
				continue
			case f[0] == "term":
				term = int(n)
				continue
			}
		}
		said = sc.Text()
	}
	cmd.Wait()
	return acked, head, term, said
}
