//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The offices of the test county.
const (
	countyCode   = "450122000000"
	townshipCode = "450122101000"
	villageCode  = "450122101203"

	adminPassword = "correct-horse-battery"
)

// Timeouts. The binary runs raft with its production timing (1s
// heartbeat and election timeouts), on a loaded 2-core machine.
const (
	startTimeout = 60 * time.Second // a process serves and is ready
	syncTimeout  = 30 * time.Second // a change reaches another node
	writeTimeout = 30 * time.Second // a write is acknowledged, retried through an election
	stopTimeout  = 15 * time.Second // a process exits after SIGTERM or SIGINT
)

// cluster is a federation of yizhan node processes sharing one county CA.
type cluster struct {
	t      testing.TB
	dir    string
	caDir  string
	pwFile string // the county admin's bootstrap password
	nodes  map[string]*node
	http   *http.Client
	// previous, when set, is the binary of an earlier release the nodes
	// started from now on run (the upgrade test).
	previous string
	// profiles gives the nodes started from now on a metrics address
	// serving Go's profiles (the benchmarks' heap profiles).
	profiles bool
	// bins, for the nodes it names, is the program they run instead of
	// the binary under test (the memory benchmark's cgroup wrapper).
	bins map[string]string
	// logPipes has the nodes started from now on log through a pipe the
	// test copies (proc.logPipe): a node whose file size limit the test
	// lowers (a full disk) still says why it stopped.
	logPipes bool
}

// node is one node process and the addresses it listens on. Its flags,
// and so its ports and data directory, stay the same over restarts.
type node struct {
	*proc
	office                       string
	httpAddr, peerAddr, raftAddr string
	metricsAddr                  string // with cluster.profiles
}

// metricsURL is where a node serves /metrics: its metrics port when it
// has one, else its HTTP port.
func (c *cluster) metricsURL(name string) string {
	n := c.nodes[name]
	if n.metricsAddr != "" {
		return "http://" + n.metricsAddr + "/metrics"
	}
	return "http://" + n.httpAddr + "/metrics"
}

// metricIn finds metric (a gauge or counter whose only labels are the
// node's) in the text of a /metrics page and returns its value as written.
func metricIn(page, metric string) (string, bool) {
	for _, line := range strings.Split(page, "\n") {
		if strings.HasPrefix(line, metric+"{") || strings.HasPrefix(line, metric+" ") {
			return line[strings.LastIndexByte(line, ' ')+1:], true
		}
	}
	return "", false
}

func newCluster(t testing.TB) *cluster {
	t.Helper()
	c := &cluster{t: t, dir: t.TempDir(), nodes: map[string]*node{},
		http: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{}}}
	t.Cleanup(c.http.CloseIdleConnections)
	c.caDir = filepath.Join(c.dir, "ca")
	runCLI(t, "ca", "init", "--dir", c.caDir)
	c.pwFile = filepath.Join(c.dir, "admin-password")
	if err := os.WriteFile(c.pwFile, []byte(adminPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// runCLI runs a short yizhan command to completion.
func runCLI(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("yizhan %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// start starts a node process of office with a certificate of its own,
// free ports and a data directory of its own. extra are more flags
// (--bootstrap, --join, --upstream …). It does not wait for the node.
func (c *cluster) start(name, office string, extra ...string) *node {
	c.t.Helper()
	if _, ok := c.nodes[name]; ok {
		c.t.Fatalf("node %s exists", name)
	}
	dir := filepath.Join(c.dir, name)
	tlsDir := filepath.Join(dir, "tls")
	runCLI(c.t, "ca", "issue", "--dir", c.caDir, "--office", office, "--node", name, "--host", "127.0.0.1", "--out", tlsDir)
	n := &node{office: office, httpAddr: freeAddr(c.t), peerAddr: freeAddr(c.t), raftAddr: freeAddr(c.t)}
	args := append([]string{"node",
		"--office", office, "--name", name, "--data", filepath.Join(dir, "data"),
		"--http-addr", n.httpAddr, "--peer-addr", n.peerAddr, "--raft-addr", n.raftAddr,
		"--tls-cert", filepath.Join(tlsDir, "node.crt"), "--tls-key", filepath.Join(tlsDir, "node.key"),
		"--tls-ca", filepath.Join(tlsDir, "ca.crt"),
	}, extra...)
	if c.previous == "" {
		// Each start walks the case book once caught up: any index
		// entry or counter that disagrees with the cases fails the test.
		args = append(args, "--check-book")
	}
	if c.profiles {
		n.metricsAddr = freeAddr(c.t)
		args = append(args, "--metrics-addr", n.metricsAddr, "--pprof")
	}
	n.proc = newProc(c.t, name, args...)
	n.proc.bin = c.previous
	n.proc.logPipe = c.logPipes
	if bin, ok := c.bins[name]; ok {
		n.proc.bin = bin
	}
	c.t.Cleanup(func() {
		for _, line := range strings.Split(n.output(), "\n") {
			if strings.Contains(line, `msg="case book problem"`) || strings.Contains(line, `msg="case book check failed"`) {
				c.t.Errorf("%s: %s", name, line)
			}
		}
	})
	n.start()
	c.nodes[name] = n
	return n
}

// startCounty starts a county office of size nodes: county-1 bootstraps
// it with the admin account, the others join county-1. It waits until
// every node is ready and the admin can sign in.
func (c *cluster) startCounty(size int) {
	c.t.Helper()
	first := c.start("county-1", countyCode, "--bootstrap", "--bootstrap-admin-password-file", c.pwFile)
	for i := 2; i <= size; i++ {
		c.start(fmt.Sprintf("county-%d", i), countyCode, "--join", first.peerAddr)
	}
	for _, name := range c.county() {
		c.waitReady(name)
	}
}

// startTree creates the township and village offices in the registry and
// starts a node for each, the village fed by the township, falling back
// to the county.
func (c *cluster) startTree(admin *api) {
	c.t.Helper()
	for _, o := range []map[string]string{
		{"code": townshipCode, "name": "城关镇便民服务中心"},
		{"code": villageCode, "name": "东村便民服务站"},
	} {
		admin.write("/v1/offices", o)
	}
	county := c.peerAddrs(c.county()...)
	township := c.start("chengguan-1", townshipCode, "--bootstrap", "--upstream", county)
	c.start("dongcun-1", villageCode, "--bootstrap", "--upstream", township.peerAddr+","+county)
	c.waitReady("chengguan-1")
	c.waitReady("dongcun-1")
}

// county lists the county nodes' names in order.
func (c *cluster) county() []string {
	var out []string
	for name, n := range c.nodes {
		if n.office == countyCode {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func (c *cluster) peerAddrs(names ...string) string {
	var out []string
	for _, name := range names {
		out = append(out, c.nodes[name].peerAddr)
	}
	return strings.Join(out, ",")
}

// api is a REST client of the named node, not signed in.
func (c *cluster) api(name string) *api {
	return &api{t: c.t, http: c.http, base: "http://" + c.nodes[name].httpAddr}
}

// waitReady waits until the node answers /readyz with 200, failing early
// when its process exits.
func (c *cluster) waitReady(name string) {
	c.t.Helper()
	n, a := c.nodes[name], c.api(name)
	waitFor(c.t, name+" ready", func() error {
		if !n.running() {
			c.t.Fatalf("%s exited while starting", name)
		}
		code, body, err := a.call("GET", "/readyz", nil)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("readyz %d %v", code, body)
		}
		return nil
	}, startTimeout)
}

// countyLeader waits until the county nodes named in among agree on a
// leader that is one of them, and returns its name.
func (c *cluster) countyLeader(among ...string) string {
	c.t.Helper()
	var leader string
	waitFor(c.t, fmt.Sprintf("a county leader among %v", among), func() error {
		leader = ""
		for _, name := range among {
			l, err := c.api(name).leader()
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if l == "" || (leader != "" && l != leader) {
				return fmt.Errorf("%s sees leader %q, another %q", name, l, leader)
			}
			leader = l
		}
		if !slices.Contains(among, leader) {
			return fmt.Errorf("leader %q is not among %v", leader, among)
		}
		return nil
	}, syncTimeout)
	return leader
}

// api is a REST client of one node.
type api struct {
	t     testing.TB
	http  *http.Client
	base  string // http://host:port
	token string // sent as a bearer token when set
	// retries counts the tries tryWrite repeated (503 or no answer). Only
	// one goroutine writes through an api.
	retries int
}

// call makes a REST call. body, when not nil, is sent as JSON. It returns
// the status and the decoded JSON object; err is for a failed exchange
// (connection refused, timeout) or an answer that is not a JSON object.
func (a *api) call(method, path string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: %d, not a JSON object: %q", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, v, nil
}

// get GETs path and fails the test unless the answer is 200.
func (a *api) get(path string) map[string]any {
	a.t.Helper()
	code, body, err := a.call("GET", path, nil)
	if err != nil {
		a.t.Fatalf("GET %s%s: %v", a.base, path, err)
	}
	if code != http.StatusOK {
		a.t.Fatalf("GET %s%s: %d %v", a.base, path, code, body)
	}
	return body
}

// getAt polls GET path?min_index=idx until the node has caught up to idx
// (until then it answers 400 FailedPrecondition) and returns the answer.
func (a *api) getAt(path string, idx uint64, timeout time.Duration) map[string]any {
	a.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	url := path + sep + "min_index=" + strconv.FormatUint(idx, 10)
	var body map[string]any
	waitFor(a.t, fmt.Sprintf("%s%s", a.base, url), func() error {
		code, b, err := a.call("GET", url, nil)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("%d %v", code, b)
		}
		body = b
		return nil
	}, timeout)
	return body
}

// login signs in, retrying while the node cannot answer yet (it may not
// have the account replicated, or the county may have no leader).
func (a *api) login(username, password string) *api {
	a.t.Helper()
	waitFor(a.t, "sign in as "+username+" at "+a.base, func() error {
		code, body, err := a.call("POST", "/v1/auth/login", map[string]string{"username": username, "password": password})
		if err != nil {
			return err
		}
		tok, _ := body["token"].(string)
		if code != http.StatusOK || tok == "" {
			return fmt.Errorf("%d %v", code, body)
		}
		a.token = tok
		return nil
	}, syncTimeout)
	return a
}

// tryWrite POSTs a registry write, retrying while there is no county
// leader (503), the exchange fails or the outcome is unknown (409
// OUTCOME_UNKNOWN: the leader lost its leadership with the write in
// flight), for at most writeTimeout. A write is acknowledged by 200, or
// by 409 when an earlier try went through without its answer arriving.
// It returns the write's registry index (0 after a 409) or an error.
func (a *api) tryWrite(path string, body any) (uint64, error) {
	deadline := time.Now().Add(writeTimeout)
	for attempt := 1; ; attempt++ {
		code, resp, err := a.call("POST", path, body)
		switch {
		case err == nil && code == http.StatusOK:
			return u64(resp["registry_index"]), nil
		case err == nil && code == http.StatusConflict && reasonOf(resp) == "OUTCOME_UNKNOWN":
		case err == nil && code == http.StatusConflict && attempt > 1:
			return 0, nil
		case err == nil && code != http.StatusServiceUnavailable:
			return 0, fmt.Errorf("POST %s: %d %v", path, code, resp)
		}
		a.retries++
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("POST %s: no answer after %d tries in %s: %d %v %v", path, attempt, writeTimeout, code, resp, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// reasonOf is the google.rpc.ErrorInfo reason of a REST error body.
func reasonOf(body map[string]any) string {
	details, _ := body["details"].([]any)
	for _, d := range details {
		if m, _ := d.(map[string]any); m["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
			r, _ := m["reason"].(string)
			return r
		}
	}
	return ""
}

// localizedOf is the zh-CN google.rpc.LocalizedMessage of a REST error body.
func localizedOf(body map[string]any) string {
	details, _ := body["details"].([]any)
	for _, d := range details {
		if m, _ := d.(map[string]any); m["@type"] == "type.googleapis.com/google.rpc.LocalizedMessage" && m["locale"] == "zh-CN" {
			s, _ := m["message"].(string)
			return s
		}
	}
	return ""
}

// write is tryWrite that fails the test when the write is not
// acknowledged.
func (a *api) write(path string, body any) uint64 {
	a.t.Helper()
	idx, err := a.tryWrite(path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	return idx
}

// leader is the leader's ID that the node's /v1/cluster names.
func (a *api) leader() (string, error) {
	code, body, err := a.call("GET", "/v1/cluster", nil)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("GET /v1/cluster: %d %v", code, body)
	}
	id, _ := body["leader_id"].(string)
	return id, nil
}

// registryIndex is the registry index the node has applied.
func (a *api) registryIndex() (uint64, error) {
	code, body, err := a.call("GET", "/v1/registry/status", nil)
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("GET /v1/registry/status: %d %v", code, body)
	}
	return u64(body["index"]), nil
}

// u64 reads a uint64 field: protojson writes them as strings. A field
// left out (zero) reads as 0.
func u64(v any) uint64 {
	switch v := v.(type) {
	case string:
		n, _ := strconv.ParseUint(v, 10, 64)
		return n
	case float64:
		return uint64(v)
	}
	return 0
}

// codes lists the "code" of each object in list (a JSON array).
func codes(list any) []string {
	var out []string
	items, _ := list.([]any)
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			code, _ := m["code"].(string)
			out = append(out, code)
		}
	}
	return out
}
