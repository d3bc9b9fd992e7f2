//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fileCases files n tobacco cases at a village through its agent, from 8
// clients at once, and returns their numbers.
func fileCases(t *testing.T, agent *api, n int) map[string]bool {
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
	t.Logf("a county registry write reached the village in %s with its township stopped", time.Since(start).Round(time.Millisecond))

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
