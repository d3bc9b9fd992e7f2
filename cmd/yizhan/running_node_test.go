package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/federation/pki"
)

// freeLoopbackAddr returns a 127.0.0.1 address nothing listens on now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// peerLeaf handshakes with a node's peer port using the office's
// certificate and returns the certificate the node presents.
func peerLeaf(t *testing.T, addr string, client *pki.Bundle) *x509.Certificate {
	t.Helper()
	cfg := client.ClientConfig("")
	cfg.NextProtos = []string{"h2"}
	var conn *tls.Conn
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		conn, err = tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, cfg)
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// countyNode is a county node of one run by the binary's `node` command,
// with its county CA and the office's certificate files.
type countyNode struct {
	caDir, tlsDir, office, peer string
	crt, key, ca                string
}

// startCountyNode starts a bootstrapped county node of one in t's
// directory, stopped when t ends.
func startCountyNode(t *testing.T) countyNode {
	t.Helper()
	dir := t.TempDir()
	n := countyNode{caDir: filepath.Join(dir, "ca"), tlsDir: filepath.Join(dir, "tls"), office: "450122000000", peer: freeLoopbackAddr(t)}
	if err := pki.InitCA(n.caDir, "test CA"); err != nil {
		t.Fatal(err)
	}
	if err := pki.IssueNode(n.caDir, pki.Identity{Office: n.office}, []string{"127.0.0.1"}, n.tlsDir); err != nil {
		t.Fatal(err)
	}
	n.crt, n.key, n.ca = filepath.Join(n.tlsDir, "node.crt"), filepath.Join(n.tlsDir, "node.key"), filepath.Join(n.tlsDir, "ca.crt")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, errOut syncBuffer
	go func() {
		done <- runNode(ctx, []string{"--office", n.office, "--name", "county-1", "--data", filepath.Join(dir, "data"),
			"--bootstrap", "--http-addr", freeLoopbackAddr(t), "--peer-addr", n.peer, "--raft-addr", freeLoopbackAddr(t),
			"--tls-cert", n.crt, "--tls-key", n.key, "--tls-ca", n.ca, "--log-level", "error"}, &out, &errOut)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the node did not stop")
		}
	})
	return n
}

// The operator renews a node's certificate as the docs say
// (deploy-kubernetes.md: "Renew it before it expires (the pods read the
// files from the Secret's volume)"; the chart's cert-manager Certificate
// renews the Secret 30 days before expiry with a new key). A running node
// serves the renewed certificate within its reload interval (10 s); it
// kept the one it read at start until restarted, so once that expired
// every mutual-TLS link of the office failed while /healthz said ok.
func TestARunningNodeServesItsRenewedCertificate(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	n := startCountyNode(t)
	caDir, tlsDir, office, peer := n.caDir, n.tlsDir, n.office, n.peer
	crt, key, ca := n.crt, n.key, n.ca

	client, err := pki.Load(crt, key, ca)
	if err != nil {
		t.Fatal(err)
	}
	before := peerLeaf(t, peer, client)

	// Renewal: new certificate and key written over the files the node
	// was started with (what `yizhan ca issue` again, or cert-manager's
	// Secret update, does).
	if err := pki.IssueNode(caDir, pki.Identity{Office: office}, []string{"127.0.0.1"}, tlsDir); err != nil {
		t.Fatal(err)
	}
	renewed, err := pki.Load(crt, key, ca)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(renewed.Leaf.Raw, before.Raw) {
		t.Fatal("the renewal did not change the certificate")
	}
	var after *x509.Certificate
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		after = peerLeaf(t, peer, renewed)
		if bytes.Equal(after.Raw, renewed.Leaf.Raw) {
			return
		}
	}
	t.Errorf("15 s after the certificate files were renewed the node still presents the old certificate (serial %s, expires %s), not the renewed one (serial %s, expires %s)",
		after.SerialNumber, after.NotAfter.Format(time.RFC3339), renewed.Leaf.SerialNumber, renewed.Leaf.NotAfter.Format(time.RFC3339))
}

// `yizhan members` lists an office's raft members over a node's peer
// port with a certificate of the office, and refuses to take out the
// office's last voter, naming why.
func TestMembersListsAndKeepsTheLastVoter(t *testing.T) {
	n := startCountyNode(t)
	peer, crt, key, ca := n.peer, n.crt, n.key, n.ca
	tls := []string{"--peer", peer, "--tls-cert", crt, "--tls-key", key, "--tls-ca", ca}
	var list bytes.Buffer
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		list.Reset()
		if err = run(append([]string{"members"}, tls...), &list, io.Discard); err == nil {
			break
		}
	}
	if err != nil || !strings.Contains(list.String(), "county-1") || !strings.Contains(list.String(), "voter") {
		t.Fatalf("yizhan members: %v\n%s", err, list.String())
	}
	err = run(append([]string{"members", "--remove", "county-1"}, tls...), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "last voter") {
		t.Errorf("yizhan members --remove the only node: %v", err)
	}
}
