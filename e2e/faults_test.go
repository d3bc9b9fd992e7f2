//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fileCases files n tobacco cases at a village through its agent, from 8
// clients at once, and returns their numbers.
func fileCases(t testing.TB, agent *api, n int) map[string]bool {
	t.Helper()
	var mu sync.Mutex
	numbers := map[string]bool{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				code, body, err := agent.call("POST", "/v1/cases", map[string]any{
					"item_code": caseItemCode,
					"applicant": map[string]string{"name": fmt.Sprintf("申请人%d", i), "id_number": caseIDNumber("45012219850312002"), "phone": "13907710001"},
					"materials": []map[string]any{{"name": "申请表", "copies": 1}},
				})
				if err != nil || code != http.StatusOK {
					t.Errorf("file case %d: %d %v %v", i, code, body, err)
					return
				}
				c, _ := body["case"].(map[string]any)
				mu.Lock()
				numbers[fmt.Sprint(c["number"])] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return numbers
}

// casesHeld counts the cases a node holds, paging through GET /v1/cases
// for its own office (the county admin may list any office).
func casesHeld(a *api, office string) (int, error) {
	n, token := 0, ""
	for {
		code, body, err := a.call("GET", fmt.Sprintf("/v1/cases?office_code=%s&history=true&page_size=500&page_token=%s", office, token), nil)
		if err != nil {
			return 0, err
		}
		if code != http.StatusOK {
			return 0, fmt.Errorf("list cases: %d %v", code, body)
		}
		list, _ := body["cases"].([]any)
		n += len(list)
		token, _ = body["next_page_token"].(string)
		if token == "" {
			return n, nil
		}
	}
}

// Every process killed with SIGKILL at once, holding thousands of cases,
// and started again: from the first moment each says ready, it answers
// with its whole state, and the village's next filing gets a fresh number.
func TestEveryProcessKilledAtOnceIsWholeWhenReady(t *testing.T) {
	c, admin := newCaseCluster(t, 3)
	agent := c.api("dongcun-1").login("dongcun", adminPassword)
	const filed = 1500
	numbers := fileCases(t, agent, filed)
	offices := map[string]string{"chengguan-1": townshipCode, "dongcun-1": villageCode}
	for _, name := range c.county() {
		offices[name] = countyCode
	}
	// Wait until every office holds every case: that is the state to
	// come back to.
	for name, office := range offices {
		a := c.api(name)
		a.token = admin.token
		waitFor(t, fmt.Sprintf("%s to hold all %d cases", name, filed), func() error {
			n, err := casesHeld(a, office)
			if err == nil && n < filed {
				err = fmt.Errorf("%d held", n)
			}
			return err
		}, syncTimeout)
	}

	for _, n := range c.nodes {
		n.kill()
	}
	restarted := time.Now()
	for _, n := range c.nodes {
		n.start()
	}
	var wg sync.WaitGroup
	for name, office := range offices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := c.api(name)
			a.token = admin.token
			deadline := time.Now().Add(startTimeout)
			for {
				code, _, err := a.call("GET", "/readyz", nil)
				if err == nil && code == http.StatusOK {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("%s not ready %s after the restart", name, startTimeout)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
			ready := time.Since(restarted)
			n, err := casesHeld(a, office)
			if err != nil || n != filed {
				t.Errorf("%s, at its first ready (%s after the restart), holds %d of %d cases (%v)", name, ready.Round(time.Millisecond), n, filed, err)
			}
		}()
	}
	wg.Wait()

	agent = c.api("dongcun-1").login("dongcun", adminPassword)
	code, body, err := agent.call("POST", "/v1/cases", map[string]any{
		"item_code": caseItemCode,
		"applicant": map[string]string{"name": "新申请人", "id_number": caseIDNumber("45012219850312002"), "phone": "13907710001"},
		"materials": []map[string]any{{"name": "申请表", "copies": 1}},
	})
	if err != nil || code != http.StatusOK {
		t.Fatalf("the first filing after the restart: %d %v %v", code, body, err)
	}
	if number := fmt.Sprint(body["case"].(map[string]any)["number"]); numbers[number] {
		t.Errorf("the first filing after the restart got %s, a number used before", number)
	}
}

// The township stopped with SIGSTOP (a hung host: its connections stay
// open and nothing answers): its villages get the county's registry
// writes through the county, read a case handed on through the county
// within seconds, and what queued for the township drains after SIGCONT.
func TestStoppedTownshipDoesNotCutItsVillagesOff(t *testing.T) {
	c, admin := newCaseCluster(t, 1)
	agent := c.api("xicun-1").login("xicun", adminPassword)
	filing := map[string]any{
		"item_code": caseItemCode,
		"applicant": map[string]string{"name": "黄志明", "id_number": caseIDNumber("45012219850312002"), "phone": "13907710001"},
		"materials": []map[string]any{{"name": "申请表", "copies": 1}},
	}
	handed := caseDo(t, agent, "POST", "/v1/cases", filing)["number"].(string)
	caseWaitOwned(t, admin, handed, countyCode)

	township := c.nodes["chengguan-1"]
	if err := township.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer township.cmd.Process.Signal(syscall.SIGCONT)

	start := time.Now()
	idx := admin.write("/v1/departments", map[string]string{"code": "mz", "name": "县民政局"})
	village := c.api("xicun-1")
	village.getAt("/v1/departments", idx, 20*time.Second)
	reached := time.Since(start)
	t.Logf("a county registry write reached the village in %s with its township stopped", reached.Round(time.Millisecond))
	// The village's feed takes a source silent for its idle timeout (5
	// heartbeats of 1 s) for hung and turns to the county; the
	// connection's keepalive, which closes a hung peer's connection
	// within 15 s, is the backstop, not the way.
	if reached > 10*time.Second {
		t.Errorf("the write took %s to reach the village: want the feed to leave its hung township after its idle timeout (5 s)", reached.Round(time.Millisecond))
	}

	start = time.Now()
	code, body, err := agent.call("GET", "/v1/cases/"+handed, nil)
	took := time.Since(start)
	if err != nil || code != http.StatusOK {
		t.Fatalf("read the handed-on case with the township stopped: %d %v %v", code, body, err)
	}
	if took > 6*time.Second {
		t.Errorf("the read took %s", took)
	}
	t.Logf("a read of the handed-on case answered in %s", took.Round(time.Millisecond))

	queued := caseDo(t, agent, "POST", "/v1/cases", filing)["number"].(string)
	if err := township.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	caseWaitOwned(t, admin, queued, countyCode)
}

// fileWithRetries files n cases at a village from 8 clients, each filing
// with a request ID of its own and retried under that ID, whatever the
// answer (a killed node, a leader gone), until it is acknowledged or
// until the deadline. It returns the numbers acknowledged and how many
// answers were failures.
func fileWithRetries(t testing.TB, agent *api, n int, deadline time.Time) (numbers map[string]int, failures int) {
	t.Helper()
	return fileWithRetriesAs(t, agent, n, "kill-test", deadline)
}

// fileWithRetriesAs is fileWithRetries with request IDs <prefix>-<i>.
func fileWithRetriesAs(t testing.TB, agent *api, n int, prefix string, deadline time.Time) (numbers map[string]int, failures int) {
	t.Helper()
	var mu sync.Mutex
	numbers = map[string]int{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				filing := retriedFiling(prefix, i)
				for {
					code, body, err := agent.call("POST", "/v1/cases", filing)
					if err == nil && code == http.StatusOK {
						c, _ := body["case"].(map[string]any)
						mu.Lock()
						numbers[fmt.Sprint(c["number"])]++
						mu.Unlock()
						break
					}
					if err == nil && code >= 400 && code < 500 && code != http.StatusTooManyRequests {
						t.Errorf("file case %d: %d %v", i, code, body)
						return
					}
					mu.Lock()
					failures++
					mu.Unlock()
					if time.Now().After(deadline) {
						t.Errorf("file case %d: no answer before the deadline (last: %d %v %v)", i, code, body, err)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	return numbers, failures
}

// retriedFiling is the i-th filing of fileWithRetriesAs, under request
// ID <prefix>-<i>.
func retriedFiling(prefix string, i int) map[string]any {
	return map[string]any{
		"item_code":  caseItemCode,
		"applicant":  map[string]string{"name": fmt.Sprintf("申请人%d", i), "id_number": caseIDNumber("45012219850312002"), "phone": "13907710001"},
		"materials":  []map[string]any{{"name": "申请表", "copies": 1}},
		"request_id": fmt.Sprintf("%s-%d", prefix, i),
	}
}

// casesListed lists every case a node holds for an office and counts
// each number (a case listed twice would be a case held twice).
func casesListed(a *api, office string) (map[string]int, error) {
	return casesListedSince(a, office, time.Time{})
}

// casesListedSince is casesListed for the cases filed at or after since
// (zero: all).
func casesListedSince(a *api, office string, since time.Time) (map[string]int, error) {
	seen := map[string]int{}
	err := eachCaseListed(a, office, since, func(c map[string]any) { seen[fmt.Sprint(c["number"])]++ })
	return seen, err
}

// eachCaseListed calls f with each case of office filed at or after since
// (zero: all) as a node's listing gives it (what its own book holds),
// following the pages to the last.
func eachCaseListed(a *api, office string, since time.Time, f func(c map[string]any)) error {
	from := ""
	if !since.IsZero() {
		from = "&filed_from=" + since.UTC().Format(time.RFC3339Nano)
	}
	token := ""
	for {
		code, body, err := a.call("GET", fmt.Sprintf("/v1/cases?office_code=%s&history=true&page_size=500%s&page_token=%s", office, from, token), nil)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("list cases of %s: %d %v", office, code, body)
		}
		list, _ := body["cases"].([]any)
		for _, c := range list {
			f(c.(map[string]any))
		}
		token, _ = body["next_page_token"].(string)
		if token == "" {
			return nil
		}
	}
}

// waitBookChecked waits for a node's check of its case book after its
// latest start (--check-book; the metric yizhan_casebook_problems, -1
// until it ran) and fails the test unless it found nothing.
func waitBookChecked(t testing.TB, c *cluster, name string) {
	t.Helper()
	waitFor(t, name+" to check its case book", func() error {
		resp, err := c.http.Get(c.metricsURL(name))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(body), "\n") {
			if !strings.HasPrefix(line, "yizhan_casebook_problems{") {
				continue
			}
			switch v := line[strings.LastIndexByte(line, ' ')+1:]; v {
			case "-1":
				return fmt.Errorf("not checked yet")
			case "0":
				return nil
			default:
				t.Errorf("%s: %s problems in its case book (see its log)", name, v)
				return nil
			}
		}
		return fmt.Errorf("no yizhan_casebook_problems in /metrics")
	}, startTimeout)
}

// The village and the county node killed with SIGKILL in the middle of a
// stream of filings, while cases are in flight between them, and started
// again: every filing the clients were told of (retrying under their
// request IDs through the outage) is at the village and at the county
// exactly once, and each book's indexes and counters agree with its cases.
func TestKilledDuringFilingsKeepsEveryAcknowledgedCaseOnce(t *testing.T) {
	c, admin := newCaseCluster(t, 1)
	agent := c.api("dongcun-1").login("dongcun", adminPassword)
	const filed = 600
	village, county := c.nodes["dongcun-1"], c.nodes["county-1"]
	asAdmin := func(name string) *api {
		a := c.api(name)
		a.token = admin.token
		return a
	}

	done := make(chan struct{})
	var numbers map[string]int
	var failures int
	go func() {
		defer close(done)
		numbers, failures = fileWithRetries(t, agent, filed, time.Now().Add(3*startTimeout))
	}()
	// Kill both in the middle of the stream: the village first, then,
	// once it is back and filing again, the county receiving its cases.
	waitFor(t, "the first filings", func() error {
		held, err := casesListed(asAdmin("county-1"), countyCode)
		if err == nil && len(held) < 50 {
			err = fmt.Errorf("%d at the county", len(held))
		}
		return err
	}, syncTimeout)
	village.kill()
	time.Sleep(500 * time.Millisecond)
	village.start()
	c.waitReady("dongcun-1")
	time.Sleep(300 * time.Millisecond)
	county.kill()
	time.Sleep(500 * time.Millisecond)
	county.start()
	<-done
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d filings acknowledged, %d failed answers retried", len(numbers), failures)
	if failures == 0 {
		t.Fatal("no filing met a killed node: the kills fell outside the stream of filings")
	}
	// Each of the filings acknowledged once, each under a number of its
	// own: a retry answered with a second case would show here.
	if len(numbers) != filed {
		t.Errorf("%d distinct case numbers for %d filings", len(numbers), filed)
	}
	// A client whose answer was lost sends its filing again, whenever
	// that is: the first filings, acknowledged before the village was
	// killed, sent again under their request IDs after both restarts,
	// answer with the cases they made, not with new ones.
	var made []string
	for i := range 40 {
		code, body, err := agent.call("POST", "/v1/cases", retriedFiling("kill-test", i))
		if err != nil || code != http.StatusOK {
			t.Fatalf("filing %d sent again after the restarts: %d %v %v", i, code, body, err)
		}
		if number := fmt.Sprint(body["case"].(map[string]any)["number"]); numbers[number] == 0 {
			made = append(made, fmt.Sprintf("filing %d: case %s", i, number))
		}
	}
	if len(made) > 0 {
		t.Errorf("%d of the first 40 filings, sent again under their request IDs after the restarts, made new cases (a case twice): %s", len(made), strings.Join(made, ", "))
	}

	check := func(name, office string) {
		t.Helper()
		a := asAdmin(name)
		waitFor(t, fmt.Sprintf("%s to hold all %d cases", name, filed), func() error {
			held, err := casesListed(a, office)
			if err != nil {
				return err
			}
			if len(held) < filed {
				return fmt.Errorf("%d held", len(held))
			}
			if len(held) != filed {
				t.Errorf("%s holds %d cases for %d filings", name, len(held), filed)
			}
			for n, times := range held {
				if times != 1 {
					t.Errorf("%s lists case %s %d times", name, n, times)
				}
				if numbers[n] == 0 {
					t.Errorf("%s holds case %s that no client was told of", name, n)
				}
			}
			return nil
		}, syncTimeout)
	}
	check("dongcun-1", villageCode)
	check("county-1", countyCode)
	waitBookChecked(t, c, "dongcun-1")

	// The county's check ran when it came back, before the last cases
	// reached it: stop and start it once more to check the whole book.
	county.stop(startTimeout)
	county.start()
	c.waitReady("county-1")
	waitBookChecked(t, c, "county-1")
}
