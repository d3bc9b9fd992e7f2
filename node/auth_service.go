package node

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/registry"
)

// authService signs staff in. A node signs a token only for staff of its
// own office or of an office below it; otherwise it forwards the sign-in
// up the tree, where a node that may sign it is found.
type authService struct {
	yizhanv1.UnsafeAuthServiceServer
	n *Node
}

var _ yizhanv1.AuthServiceServer = (*authService)(nil)

// errBadLogin is the one answer to a wrong username or password, so that
// the answer does not tell which accounts exist.
var errBadLogin = status.Error(codes.Unauthenticated, "wrong username or password")

func (s *authService) Login(ctx context.Context, req *yizhanv1.LoginRequest) (*yizhanv1.LoginResponse, error) {
	username := strings.TrimSpace(req.GetUsername())
	if username == "" {
		return nil, fieldError("username", "is required")
	}
	if req.GetPassword() == "" {
		return nil, fieldError("password", "is required")
	}
	reg := s.n.office.Registry()
	staff, err := reg.Staff(username)
	mine := s.n.office.Code()
	if err == nil && registry.CanSignIn(mine, staff.GetOfficeCode()) {
		if staff.GetDisabled() {
			return nil, errBadLogin
		}
		hash, ok := reg.Credential(username)
		if !ok {
			return nil, status.Errorf(codes.FailedPrecondition, "no password is set for %q", username)
		}
		if err := s.n.loginLimiter.wait(ctx, username); err != nil {
			return nil, err
		}
		good, err := auth.VerifyPassword(hash, req.GetPassword())
		if err != nil {
			return nil, toStatus(err)
		}
		s.n.loginLimiter.record(username, good)
		if !good {
			return nil, errBadLogin
		}
		tok, exp, err := s.n.issuer.Issue(username, staff.GetOfficeCode())
		if err != nil {
			return nil, toStatus(err)
		}
		return &yizhanv1.LoginResponse{Token: tok, ExpiresAt: timestamppb.New(exp), Staff: staff, IssuedByOffice: mine}, nil
	}
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		return nil, toStatus(err)
	}
	if s.n.office.IsCounty() {
		// The county knows every account: unknown here is unknown.
		return nil, errBadLogin
	}
	// Staff of another office, or not yet known here: ask upstream.
	var resp *yizhanv1.LoginResponse
	ferr := s.n.office.ForwardUp(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		var err error
		resp, err = yizhanv1.NewAuthServiceClient(conn).Login(ctx, req)
		return err
	})
	if ferr != nil {
		return nil, ferr
	}
	return resp, nil
}

func (s *authService) WhoAmI(ctx context.Context, _ *yizhanv1.WhoAmIRequest) (*yizhanv1.WhoAmIResponse, error) {
	p, err := s.n.authn.FromContext(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	staff, err := s.n.office.Registry().Staff(p.Username)
	if err != nil {
		return nil, toStatus(fmt.Errorf("%w: %v", auth.ErrUnauthenticated, err))
	}
	return &yizhanv1.WhoAmIResponse{Staff: staff, IssuedByOffice: p.IssuerOffice, ExpiresAt: timestamppb.New(p.ExpiresAt)}, nil
}
