package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/yizhan-gov/yizhan/federation"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/node"
)

// officeTLSFlags declares the flags of a command that speaks to an
// office's nodes on their peer port with a certificate of the office
// (backup, members), and returns what loads the bundle once they are
// parsed.
func officeTLSFlags(fs *flag.FlagSet) func() (*pki.Bundle, error) {
	tlsCert := fs.String("tls-cert", "", "a certificate of the office (a node's; required)")
	tlsKey := fs.String("tls-key", "", "its key (required)")
	tlsCA := fs.String("tls-ca", "", "county CA certificate (required)")
	return func() (*pki.Bundle, error) {
		return loadTLS(*tlsCert, *tlsKey, *tlsCA, "")
	}
}

// runBackup takes an online backup of a node's office state over its
// peer port, with a certificate of the same office (docs/OPERATIONS.md).
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	peers := fs.String("peer", "", "comma-separated peer addresses (host:port) of the office's nodes, tried in turn (required)")
	out := fs.String("out", "", "the backup file to write (required; written whole or not at all)")
	officeTLS := officeTLSFlags(fs)
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *peers == "" || *out == "" {
		return errors.New("--peer and --out are required")
	}
	peerList, err := peerAddrs(flagLabel(fs, "peer"), *peers)
	if err != nil {
		return err
	}
	bundle, err := officeTLS()
	if err != nil {
		return err
	}
	office := bundle.Identity.Office
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	tmp, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // gone once renamed
	dial := func(addr string) (*grpc.ClientConn, error) {
		return grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(bundle.ClientConfig(office))),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
	}
	if err := federation.FetchBackup(ctx, dial, peerList, office, tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("backup of office %s: %w", office, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	info, err := raftgroup.ReadBackupInfo(tmp.Name())
	if err != nil {
		return fmt.Errorf("the backup received is not whole: %w", err)
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(*out)); err == nil {
		d.Sync()
		d.Close()
	}
	fmt.Fprintf(stdout, "backup of office %s written to %s: raft index %d, registry index %d, %d cases, taken on node %s at %s\n",
		info.Office, *out, info.Index, info.RegistryIndex, info.Cases, info.Node, info.TakenAt.Format(time.RFC3339))
	return nil
}

// runRestore makes a node's data directory from a backup.
func runRestore(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the backup file (required)")
	data := fs.String("data", "", "the new node's data directory: new, or without state (required)")
	name := fs.String("name", "", "the node's name, one of the office's members (required)")
	members := fs.String("members", "", "NAME=RAFT_ADDR,… : the office's nodes when they are not the backup's (a new machine or address), each address host:port, each name and address once; every one is a voter")
	info := fs.Bool("info", false, "only check the backup and say what it holds")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *from == "" {
		return errors.New("--from is required")
	}
	if *info {
		bi, err := raftgroup.ReadBackupInfo(*from)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "office %s, raft index %d (term %d), registry index %d, %d cases, taken on node %s at %s; members:",
			bi.Office, bi.Index, bi.Term, bi.RegistryIndex, bi.Cases, bi.Node, bi.TakenAt.Format(time.RFC3339))
		for _, m := range bi.Members {
			fmt.Fprintf(stdout, " %s=%s", m.ID, m.Address)
		}
		fmt.Fprintln(stdout)
		return nil
	}
	if *data == "" || *name == "" {
		return errors.New("--data and --name are required")
	}
	ms, err := restoreMembers(flagLabel(fs, "members"), *members)
	if err != nil {
		return err
	}
	bi, err := node.Restore(*from, *data, *name, ms)
	if err != nil {
		return err
	}
	// The index the node starts at, the snapshot's restore wrote: a
	// county's is past the backup's and any index it reached before.
	start, err := raftgroup.SnapshotIndex(*data)
	if err != nil {
		return err
	}
	at := fmt.Sprint(start)
	if start != bi.Index {
		at = fmt.Sprintf("%d (the backup's %d: a restored county starts its registry anew, above any index it reached before; docs/OPERATIONS.md)", start, bi.Index)
	}
	fmt.Fprintf(stdout, "node %s of office %s restored in %s at raft index %s with %d cases (backup of %s); start it as before: its office takes back from its neighbours what changed since\n",
		*name, bi.Office, *data, at, bi.Cases, bi.TakenAt.Format(time.RFC3339))
	return nil
}

// restoreMembers reads --members (label: flagLabel's), NAME=RAFT_ADDR,…:
// every restored node of the office is written with this list as its raft
// configuration, so a list raft cannot run on is refused before anything
// is written: an address without its host or port, or with a port no
// node listens on (checkHostPort), a node named twice, or two nodes at
// one address, however each is written (one machine counted twice). The
// office would elect no leader.
func restoreMembers(label, v string) ([]raftgroup.BackupMember, error) {
	var ms []raftgroup.BackupMember
	names, addrs := map[string]string{}, map[string]string{}
	for _, m := range splitList(v) {
		id, addr, ok := strings.Cut(m, "=")
		id, addr = strings.TrimSpace(id), strings.TrimSpace(addr)
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("%s: %q is not NAME=RAFT_ADDR", label, m)
		}
		key, err := checkHostPort(addr)
		if err == nil && strings.HasPrefix(addr, ":") {
			err = fmt.Errorf("%q names no host", addr)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w: a node's raft address with its port, such as 10.0.1.21:7000", label, m, err)
		}
		if prev, ok := names[id]; ok {
			return nil, fmt.Errorf("%s: %q and %q name node %s twice", label, prev, m, id)
		}
		if prev, ok := addrs[key]; ok {
			return nil, fmt.Errorf("%s: %q and %q put two nodes at one raft address", label, prev, m)
		}
		names[id], addrs[key] = m, m
		ms = append(ms, raftgroup.BackupMember{ID: id, Address: addr, Voter: true})
	}
	return ms, nil
}
