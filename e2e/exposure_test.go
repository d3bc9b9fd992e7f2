//go:build e2e

package e2e

import (
	"io/fs"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// TestNodeKeepsItsDataAndMetricsToItself: the binary run with
// --metrics-addr and --behind-tls serves /metrics only on the metrics
// address and sends HSTS; every file and directory it writes under --data
// (badger's tables and logs, raft's snapshots) and the key `yizhan ca
// issue` wrote are its user's alone, whatever the umask it was started
// with.
func TestNodeKeepsItsDataAndMetricsToItself(t *testing.T) {
	c := newCluster(t)
	metricsAddr := freeAddr(t)
	n := c.start("county-1", countyCode, "--bootstrap", "--bootstrap-admin-password-file", c.pwFile,
		"--metrics-addr", metricsAddr, "--behind-tls")
	c.waitReady("county-1")
	admin := c.api("county-1").login("admin", adminPassword)
	admin.write("/v1/departments", map[string]any{"code": "yc", "name": "县烟草专卖局"})

	get := func(url string) *http.Response {
		t.Helper()
		resp, err := c.http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get("http://" + n.httpAddr + "/metrics"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the HTTP port: %d, want 404", resp.StatusCode)
	}
	if resp := get("http://" + metricsAddr + "/metrics"); resp.StatusCode != http.StatusOK {
		t.Errorf("/metrics on --metrics-addr: %d, want 200", resp.StatusCode)
	}
	if hsts := get("http://" + n.httpAddr + "/healthz").Header.Get("Strict-Transport-Security"); hsts != "max-age=31536000" {
		t.Errorf("Strict-Transport-Security with --behind-tls: %q", hsts)
	}

	dir := filepath.Join(c.dir, "county-1")
	check := func() (files int) {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return nil // a temporary file, gone meanwhile
			}
			rel, _ := filepath.Rel(dir, path)
			public := rel == "." || rel == "tls" || rel == filepath.Join("tls", "node.crt") || rel == filepath.Join("tls", "ca.crt")
			if info.Mode().IsRegular() {
				files++
			}
			if perm := info.Mode().Perm(); perm&0o077 != 0 && !public {
				t.Errorf("%s has mode %v: readable beyond the node's user", rel, perm)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	if files := check(); files < 5 {
		t.Fatalf("only %d files under %s", files, dir)
	}
	// And after a clean stop, what badger and raft wrote on the way out.
	n.stop(stopTimeout)
	time.Sleep(100 * time.Millisecond)
	check()
}
