package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
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
	ask := func(ctx context.Context, addr, remove string) (*peerv1.MembersResponse, error) {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(bundle.ClientConfig(office))))
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		return peerv1.NewPeerClient(conn).Members(ctx, &peerv1.MembersRequest{OfficeCode: office, Remove: remove})
	}
	var errs []error
	for _, addr := range peerList {
		resp, err := ask(ctx, addr, *remove)
		if err != nil {
			if st, ok := status.FromError(err); ok && st.Code() != codes.Unavailable && st.Code() != codes.DeadlineExceeded {
				return fmt.Errorf("members of office %s at %s: %w", office, addr, err) // an answer: no other node says otherwise
			}
			errs = append(errs, fmt.Errorf("%s: %w", addr, err))
			continue
		}
		if *remove != "" {
			fmt.Fprintf(stdout, "node %s taken out of office %s\n", *remove, office)
			if !leaderListed(resp) {
				// The leader took itself out: the others elect a new one.
				if r := awaitNewLeader(ctx, peerList, ask); r != nil {
					resp = r
				}
			}
		}
		if !leaderListed(resp) {
			fmt.Fprintf(stdout, "office %s, no leader known (the office is electing one: ask again shortly):\n", office)
		} else {
			fmt.Fprintf(stdout, "office %s, leader %s:\n", office, resp.GetLeader())
		}
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

// newLeaderWait is how long `members --remove` of the leader waits for
// the office to name its next one.
const newLeaderWait = 10 * time.Second

// awaitNewLeader asks peers for the office's members until one answers
// naming a leader among them (the office elected one after its leader
// took itself out), for at most newLeaderWait; nil if none did.
func awaitNewLeader(ctx context.Context, peers []string, ask func(ctx context.Context, addr, remove string) (*peerv1.MembersResponse, error)) *peerv1.MembersResponse {
	ctx, cancel := context.WithTimeout(ctx, newLeaderWait)
	defer cancel()
	for {
		for _, addr := range peers {
			actx, acancel := context.WithTimeout(ctx, 2*time.Second)
			resp, err := ask(actx, addr, "")
			acancel()
			if err == nil && leaderListed(resp) {
				return resp
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// leaderListed reports whether the answer names a leader among the
// members it lists: a leader that took itself out leads no more (a node
// of an earlier release still named itself).
func leaderListed(resp *peerv1.MembersResponse) bool {
	return resp.GetLeader() != "" && slices.ContainsFunc(resp.GetMembers(), func(m *peerv1.Member) bool { return m.GetNode() == resp.GetLeader() })
}
