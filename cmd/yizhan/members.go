package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
)

// runMembers lists an office's raft members over a node's peer port, with
// a certificate of the office, and with --remove takes one out: the node
// whose machine is gone for good, replaced by a new node of another name,
// or the office scaled down (docs/OPERATIONS.md).
func runMembers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("members", flag.ContinueOnError)
	fs.SetOutput(stderr)
	peers := fs.String("peer", "", "comma-separated peer addresses (host:port) of the office's nodes, tried in turn (required)")
	remove := fs.String("remove", "", "the node name of a member to take out of the office's group")
	officeTLS := officeTLSFlags(fs)
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *peers == "" {
		return errors.New("--peer is required")
	}
	bundle, err := officeTLS()
	if err != nil {
		return err
	}
	office := bundle.Identity.Office
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var errs []error
	for _, addr := range splitList(*peers) {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(bundle.ClientConfig(office))))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		resp, err := peerv1.NewPeerClient(conn).Members(ctx, &peerv1.MembersRequest{OfficeCode: office, Remove: *remove})
		conn.Close()
		if err != nil {
			if c := status.Code(err); c != codes.Unavailable && c != codes.DeadlineExceeded {
				return fmt.Errorf("members of office %s at %s: %w", office, addr, err) // an answer: no other node says otherwise
			}
			errs = append(errs, fmt.Errorf("%s: %w", addr, err))
			continue
		}
		if *remove != "" {
			fmt.Fprintf(stdout, "node %s taken out of office %s\n", *remove, office)
		}
		fmt.Fprintf(stdout, "office %s, leader %s:\n", office, resp.GetLeader())
		for _, m := range resp.GetMembers() {
			kind := "voter"
			if !m.GetVoter() {
				kind = "non-voter"
			}
			fmt.Fprintf(stdout, "  %-20s %-24s %s\n", m.GetNode(), m.GetRaftAddress(), kind)
		}
		return nil
	}
	return fmt.Errorf("members of office %s: %w", office, errors.Join(errs...))
}
