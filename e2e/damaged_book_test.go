//go:build e2e

package e2e

import (
	endian "encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/yizhan-gov/yizhan/federation/badgerstore"
)

// The county node's case book loses a case's events (a disk that
// dropped keys it had acknowledged). Started so, it serves the case's
// readers DATA_LOSS (CASE_DAMAGED, HTTP 500) naming the case, and counts
// it in yizhan_casebook_cases_damaged. A command of the office's log on
// that case then stops the process, at every start, with the exit
// status of a damaged book (3) and one line at error naming the case and
// the raft index, and no Go stack: raft is not left running with the
// entry half applied.
func TestADamagedBookStopsTheProcessWithItsExitStatus(t *testing.T) {
	c, _ := newCaseCluster(t, 1)
	county := c.nodes["county-1"]
	// The check of the book would list the damage as a problem, which
	// the cluster's cleanup takes for a failure: this node is not
	// checked.
	county.args = slices.DeleteFunc(slices.Clone(county.args), func(a string) bool { return a == "--check-book" })
	agent := c.api("dongcun-1").login("dongcun", adminPassword)
	filed := caseDo(t, agent, "POST", "/v1/cases", map[string]any{
		"item_code": caseItemCode,
		"applicant": map[string]string{"name": "张三", "id_number": caseIDNumber("45012219850312002"), "phone": "13907710001"},
		"materials": []map[string]any{{"name": "申请表", "copies": 1}},
	})
	number, _ := filed["number"].(string)
	clerk := c.api("county-1").login("clerk", adminPassword)
	caseWaitOwned(t, clerk, number, countyCode)

	// The index the book reached before the acceptance below.
	county.stop(stopTimeout)
	dir := filepath.Join(c.dir, "county-1", "data", "badger")
	var before uint64
	withBadger(t, dir, func(txn *badger.Txn) error {
		item, err := txn.Get([]byte("book/m/applied"))
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		before = endian.BigEndian.Uint64(v)
		return err
	})
	county.start()
	c.waitReady("county-1")
	clerk = c.api("county-1").login("clerk", adminPassword)
	caseDo(t, clerk, "POST", "/v1/cases/"+number+":accept", map[string]any{})
	county.stop(stopTimeout)

	// The disk loses the case's events.
	withBadger(t, dir, func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.PrefetchValues = []byte("book/e/"+number+"\x00"), false
		it := txn.NewIterator(opts)
		var keys [][]byte
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		it.Close()
		if len(keys) == 0 {
			return errors.New("no events of the case in the book")
		}
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	county.start()
	c.waitReady("county-1")
	clerk = c.api("county-1").login("clerk", adminPassword)
	for range 3 {
		code, body, err := clerk.call("GET", "/v1/cases/"+number, nil)
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusInternalServerError || body["code"] != float64(15) || reasonOf(body) != "CASE_DAMAGED" ||
			!strings.Contains(fmt.Sprint(body["message"]), number) || !strings.Contains(localizedOf(body), "记录已损坏") {
			t.Errorf("GET the damaged case: %d %v; want 500, DATA_LOSS (15), CASE_DAMAGED naming the case, and its Chinese", code, body)
		}
	}
	resp, err := c.http.Get(c.metricsURL("county-1"))
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	if v, ok := metricIn(page, "yizhan_casebook_cases_damaged"); !ok || v != "1" {
		t.Errorf("yizhan_casebook_cases_damaged after three reads: %q (found %v); want 1", v, ok)
	}
	county.stop(stopTimeout)
	noted := 0
	for _, line := range strings.Split(lastStart(county.output()), "\n") {
		if strings.Contains(line, "case book: a case is damaged") && strings.Contains(line, "case="+number) {
			noted++
		}
	}
	if noted != 1 {
		t.Errorf("the book logs the damaged case %d times in the start that read it three times; want once:\n%s", noted, lastStart(county.output()))
	}

	// The book back at the index before the acceptance, as after a power
	// cut (it does not sync each write): at start, raft applies the
	// acceptance again, on the damaged case.
	withBadger(t, dir, func(txn *badger.Txn) error {
		return txn.Set([]byte("book/m/applied"), endian.BigEndian.AppendUint64(nil, before))
	})
	for start := range 2 {
		county.start()
		err := waitExit(county.proc, startTimeout)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 3 {
			t.Fatalf("start %d on the damaged book: the process ended with %v; want exit status 3", start+1, err)
		}
		out := lastStart(county.output())
		var stop string
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "the case book on disk is damaged: this node stops") {
				stop = line
			}
		}
		for _, want := range []string{"level=ERROR", "office=" + countyCode, "case=" + number, "raft_index=", "events on disk", "--join", "exit_status=3"} {
			if !strings.Contains(stop, want) {
				t.Errorf("start %d: the stop's line lacks %s: %q", start+1, want, stop)
			}
		}
		if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic:") {
			t.Errorf("start %d: the process wrote a Go stack:\n%s", start+1, out)
		}
	}
}

// withBadger opens the stopped node's badger in dir and runs f in one
// read-write transaction.
func withBadger(t *testing.T, dir string, f func(txn *badger.Txn) error) {
	t.Helper()
	db, err := badgerstore.OpenDB(dir, badgerstore.DBOptions{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(f); err != nil {
		db.Close()
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// waitExit waits up to timeout for p to exit by itself, and returns its
// exit error (nil for status 0).
func waitExit(p *proc, timeout time.Duration) error {
	p.t.Helper()
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
	case <-time.After(timeout):
		p.kill()
		p.t.Fatalf("%s still runs %s after its start", p.name, timeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitErr
}

// lastStart is what a process's log holds since its last start.
func lastStart(log string) string {
	if i := strings.LastIndex(log, "\n=== "); i >= 0 {
		return log[i+1:]
	}
	return log
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
