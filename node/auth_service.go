package node

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/reason"
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
var errBadLogin = reason.Err(reason.WrongCredentials, "wrong username or password")

func (s *authService) Login(ctx context.Context, req *yizhanv1.LoginRequest) (*yizhanv1.LoginResponse, error) {
	username := strings.TrimSpace(req.GetUsername())
	if username == "" {
		return nil, fieldReasonError("username", registry.ReasonRequired, "is required")
	}
	// Bounded before the limiter keeps it as a key, or it goes up the tree.
	if v := registry.CheckLine("username", username, registry.MaxCodeLen); v != nil {
		return nil, invalidArgument(*v)
	}
	if req.GetPassword() == "" {
		return nil, fieldReasonError("password", registry.ReasonRequired, "is required")
	}
	ctx = pinClientAddr(ctx)
	reg := s.n.office.Registry()
	staff, err := reg.Staff(username)
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		return nil, toStatus(err)
	}
	if err != nil {
		staff = nil
	}
	mine := s.n.office.Code()
	// The office that decides is the staff member's office or one above
	// it, and the county for an account no one knows. Any other office
	// asks upstream, without counting or checking anything itself.
	if (staff == nil || !registry.CanSignIn(mine, staff.GetOfficeCode())) && !s.n.office.IsCounty() {
		return forwardLogin(ctx, req, s.n.office.ForwardUp)
	}
	// In the deciding office the leader alone checks and counts, so that
	// the limits hold for the office, not for each of its nodes.
	if !s.n.office.Group().IsLeader() {
		return forwardLogin(ctx, req, s.n.office.ForwardToLeader)
	}
	return s.check(ctx, username, req.GetPassword(), staff)
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
