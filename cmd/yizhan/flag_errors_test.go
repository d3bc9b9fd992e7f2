package main

// What a newcomer meets at the command line when a flag is wrong: each
// error names the flag (or the environment variable) to mend.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// officeCertFlags makes a county CA and a certificate of office in a
// temp directory with `yizhan ca`, as an operator would, and returns the
// --tls-* flags.
func officeCertFlags(t *testing.T, office string) []string {
	t.Helper()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := run([]string{"ca", "init", "--dir", filepath.Join(dir, "ca")}, &out, &errOut); err != nil {
		t.Fatalf("ca init: %v %s", err, errOut.String())
	}
	certDir := filepath.Join(dir, "node")
	if err := run([]string{"ca", "issue", "--dir", filepath.Join(dir, "ca"), "--office", office, "--node", "n1", "--host", "127.0.0.1", "--out", certDir}, &out, &errOut); err != nil {
		t.Fatalf("ca issue: %v %s", err, errOut.String())
	}
	return []string{"--tls-cert", filepath.Join(certDir, "node.crt"), "--tls-key", filepath.Join(certDir, "node.key"), "--tls-ca", filepath.Join(certDir, "ca.crt")}
}

// `yizhan node` refused --join/--upstream addresses without a port, but
// `yizhan members` and `yizhan backup` took `--peer 127.0.0.1`, dialled
// 127.0.0.1:443 and answered "dial tcp 127.0.0.1:443: connect: connection
// refused" (or hung until --timeout where 443 is filtered), which said
// nothing of the missing port. They refuse it now before dialling, naming
// --peer and host:port.
func TestMembersAndBackupRefuseAPeerWithoutPort(t *testing.T) {
	tlsFlags := officeCertFlags(t, "450122101203")
	for _, tc := range []struct {
		name string
		args []string
		run  func(context.Context, []string, *bytes.Buffer, *bytes.Buffer) error
	}{
		{"members", append([]string{"--peer", "127.0.0.1", "--timeout", "3s"}, tlsFlags...),
			func(ctx context.Context, args []string, out, errOut *bytes.Buffer) error {
				return runMembers(ctx, args, out, errOut)
			}},
		{"backup", append([]string{"--peer", "127.0.0.1", "--out", filepath.Join(t.TempDir(), "b.yzb"), "--timeout", "3s"}, tlsFlags...),
			func(ctx context.Context, args []string, out, errOut *bytes.Buffer) error {
				return runBackup(ctx, args, out, errOut)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := tc.run(ctx, tc.args, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), "--peer") || !strings.Contains(err.Error(), "host:port") {
				t.Errorf("yizhan %s --peer 127.0.0.1 (no port): %v; want it refused before dialling, naming --peer and host:port", tc.name, err)
			}
		})
	}
}

// A certificate path that did not exist was answered "pki: load bundle:
// stat nope.crt: no such file or directory": the operator had to guess
// which of --tls-cert, --tls-key, --tls-ca it was. The error names the
// flag now, in `yizhan node` and in the commands that speak to a node
// with a certificate of its office (members, backup).
func TestMissingCertificateNamesItsFlag(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	tlsFlags := officeCertFlags(t, "450122000000")
	for i, flagName := range []string{"--tls-cert", "--tls-key", "--tls-ca"} {
		withMissing := append([]string{}, tlsFlags...)
		if withMissing[2*i] != flagName {
			t.Fatalf("flag order: %v", withMissing)
		}
		withMissing[2*i+1] = filepath.Join(t.TempDir(), "nope.pem")
		var out, errOut bytes.Buffer
		err := runNode(context.Background(), append([]string{"--office", "450122000000", "--data", t.TempDir(), "--log-level", "error"}, withMissing...), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), flagName) {
			t.Errorf("yizhan node, %s pointing at a missing file: %v; want the error to name %s", flagName, err, flagName)
		}
		err = runMembers(context.Background(), append([]string{"--peer", "127.0.0.1:7070"}, withMissing...), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), flagName) {
			t.Errorf("yizhan members, %s pointing at a missing file: %v; want the error to name %s", flagName, err, flagName)
		}
	}
}

// `yizhan verify-export -h` (and docs/DUTY.md) said the CA file was
// "ca.pem from yizhan ca init", but `yizhan ca init` writes ca.crt and
// ca.key: the help named a file that did not exist. It names ca.crt now.
func TestVerifyExportHelpNamesTheFileCAInitWrites(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := run([]string{"ca", "init", "--dir", dir}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	_ = run([]string{"verify-export", "-h"}, &out, &errOut)
	help := errOut.String()
	if strings.Contains(help, "ca.pem") {
		t.Errorf("verify-export -h names ca.pem, a file yizhan ca init does not write: %q", help)
	}
	if !strings.Contains(help, "ca.crt") {
		t.Errorf("verify-export -h does not name ca.crt, the CA certificate yizhan ca init writes: %q", help)
	}
	if _, err := os.Stat(filepath.Join(dir, "ca.crt")); err != nil {
		t.Errorf("yizhan ca init wrote no ca.crt: %v", err)
	}
}

// `yizhan node` with no flags logged `yizhan node starting office=""`
// before it said the TLS flags were missing: it now checks its flags
// first and says nothing of starting a node that will not run.
func TestNodeChecksItsFlagsBeforeItSaysItStarts(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	for _, args := range [][]string{
		nil,
		{"--office", "450122000000"},
		{"--office", "450122000000", "--data", t.TempDir()},
	} {
		var out, errOut bytes.Buffer
		err := runNode(context.Background(), args, &out, &errOut)
		if err == nil {
			t.Fatalf("yizhan node %v started", args)
		}
		if strings.Contains(errOut.String(), "starting") {
			t.Errorf("yizhan node %v: logged that it starts before refusing (%v):\n%s", args, err, errOut.String())
		}
	}
}

// A bad value from an environment variable was reported under its flag's
// name (`--log-level: slog: level string "loud": unknown name`) though no
// such flag was given: the error names the variable now.
func TestABadEnvironmentVariableIsNamed(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("YIZHAN_LOG_LEVEL", "loud")
	args := append([]string{"--office", "450122000000", "--data", t.TempDir()}, officeCertFlags(t, "450122000000")...)
	var out, errOut bytes.Buffer
	err := runNode(context.Background(), args, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "YIZHAN_LOG_LEVEL") {
		t.Errorf("YIZHAN_LOG_LEVEL=loud: %v; want the error to name YIZHAN_LOG_LEVEL", err)
	}
	err = runNode(context.Background(), append(args, "--log-level", "louder"), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "--log-level") || strings.Contains(err.Error(), "YIZHAN_LOG_LEVEL") {
		t.Errorf("--log-level louder over YIZHAN_LOG_LEVEL: %v; want the error to name the flag given", err)
	}
}

// --upstream given to a county node and --trusted-proxies without
// --behind-tls have no use; the node started without a word. It warns
// now, naming the flag.
func TestNodeWarnsOfFlagsWithoutUse(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the node starts and stops at once: its start's log is what counts
	var out, errOut syncBuffer
	args := append([]string{"--office", "450122000000", "--name", "n1", "--data", t.TempDir(), "--bootstrap",
		"--http-addr", freeLoopbackAddr(t), "--peer-addr", freeLoopbackAddr(t), "--raft-addr", freeLoopbackAddr(t),
		"--upstream", "127.0.0.1:7070", "--trusted-proxies", "10.0.0.1", "--log-level", "warn"}, officeCertFlags(t, "450122000000")...)
	if err := runNode(ctx, args, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, flagName := range []string{"--upstream", "--trusted-proxies"} {
		if !strings.Contains(errOut.String(), "level=WARN msg=\""+flagName) {
			t.Errorf("no warning of %s:\n%s", flagName, errOut.String())
		}
	}
}
