package node

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/reason"
)

// Sign-in: which node decides, what it spends and what it counts. See
// "Sign-in" in DESIGN.md.

// forwardLogin sends a sign-in on (to the leader, or up the tree) with
// the client's address.
func forwardLogin(ctx context.Context, req *yizhanv1.LoginRequest,
	forward func(context.Context, func(context.Context, *grpc.ClientConn) error) error) (*yizhanv1.LoginResponse, error) {
	var resp *yizhanv1.LoginResponse
	err := forward(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		var err error
		resp, err = yizhanv1.NewAuthServiceClient(conn).Login(passClientAddr(ctx), req)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// check decides a sign-in on the leader of the deciding office. Every
// attempt costs one argon2id verification, whether the account exists,
// is disabled, has no password here or the password is wrong; the
// attempt is counted before it is checked (loginLimits) and the
// verifications a node runs at once are bounded (argonSlots).
func (s *authService) check(ctx context.Context, username, password string, staff *yizhanv1.StaffMember) (*yizhanv1.LoginResponse, error) {
	if err := s.n.verifyPassword(ctx, username, password, staff); err != nil {
		return nil, err
	}
	if staff.GetMustChangePassword() {
		return nil, toStatus(fmt.Errorf("%w: an admin reset the password of %q", auth.ErrPasswordChange, username))
	}
	// A node whose clock is known to be off writes nothing, and a token it
	// dated would be refused (a clock years behind: issued after the
	// password change the county stamped, in this node's future): say why.
	if err := s.n.office.ClockOff(); err != nil {
		return nil, err
	}
	var changed time.Time
	if pc := staff.GetPasswordChangedAt(); pc != nil {
		changed = pc.AsTime()
	}
	tok, exp, err := s.n.issuer.IssueAfter(username, staff.GetOfficeCode(), changed)
	if err != nil {
		return nil, toStatus(err)
	}
	return &yizhanv1.LoginResponse{Token: tok, ExpiresAt: timestamppb.New(exp), Staff: staff, IssuedByOffice: s.n.office.Code()}, nil
}

// verifyPassword checks username's password against the credential this
// node holds, within the sign-in limits of the account and the client's
// address (a failure counts as a failed sign-in): errBadLogin when it is
// wrong, the account unknown or disabled.
func (n *Node) verifyPassword(ctx context.Context, username, password string, staff *yizhanv1.StaffMember) error {
	done, err := n.logins.reserve(username, clientAddr(ctx))
	if err != nil {
		return err
	}
	release, err := n.argonSlots.acquire(ctx)
	if err != nil {
		done(attemptNotMade)
		return err
	}
	hash, known := "", false
	if staff != nil && !staff.GetDisabled() {
		hash, known = n.office.Registry().Credential(username)
	}
	good := false
	if known {
		good, err = auth.VerifyPassword(hash, password)
	} else {
		auth.VerifyAbsent(password)
	}
	release()
	if err != nil {
		done(attemptNotMade)
		return toStatus(err)
	}
	if !good {
		done(attemptFailed)
		return errBadLogin
	}
	done(attemptSucceeded)
	return nil
}

// argonSlots bounds the password verifications a node runs at once: each
// holds 19 MiB and a core for about 30 ms, and forty at once took 350 MiB.
// A sign-in waits for a slot with its context, at most argonWait; then it
// is refused with ResourceExhausted.
type argonSlots chan struct{}

// argonWait is the longest a sign-in waits for a verification slot: a
// queue of about a hundred sign-ins on two cores.
const argonWait = 2 * time.Second

// newArgonSlots gives a node one slot per core, at least 2 and at most 4.
func newArgonSlots() argonSlots {
	return make(argonSlots, min(4, max(2, runtime.GOMAXPROCS(0))))
}

func (s argonSlots) acquire(ctx context.Context) (release func(), err error) {
	select {
	case s <- struct{}{}:
		return func() { <-s }, nil
	default:
	}
	t := time.NewTimer(argonWait)
	defer t.Stop()
	select {
	case s <- struct{}{}:
		return func() { <-s }, nil
	case <-ctx.Done():
		return nil, toStatus(ctx.Err())
	case <-t.C:
		return nil, reason.Status(reason.Busy, "too many sign-ins at once: try again in a moment",
			reason.Meta{"retryAfterSeconds": "1"}, time.Second).Err()
	}
}
