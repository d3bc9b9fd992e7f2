package node

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation"
	"github.com/yizhan-gov/yizhan/registry"
)

// toStatus maps an error of the domain to a gRPC status (and so, through
// the gateway, to an HTTP status). It is the one place where that happens.
// Invalid input becomes InvalidArgument with a BadRequest detail listing
// each field, so a REST client gets a 400 that names the field.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var ve *registry.ValidationError
	switch {
	case errors.As(err, &ve):
		return invalidArgument(ve.Violations...)
	case errors.Is(err, registry.ErrNotFound), errors.Is(err, casework.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, registry.ErrAlreadyExists):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, registry.ErrConflict), errors.Is(err, casework.ErrConflict):
		return status.Error(codes.Aborted, err.Error())
	case errors.Is(err, registry.ErrFailedPrecondition), errors.Is(err, casework.ErrFailedPrecondition),
		errors.Is(err, casework.ErrNoRoute):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, auth.ErrUnauthenticated):
		return status.Error(codes.Unauthenticated, err.Error())
	case errors.Is(err, auth.ErrPermissionDenied), errors.Is(err, casework.ErrPermissionDenied):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, federation.ErrNotLeader), errors.Is(err, federation.ErrNoLeader),
		errors.Is(err, federation.ErrNotCounty), errors.Is(err, federation.ErrTooManyHops):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, federation.ErrRequestConflict):
		return status.Error(codes.Aborted, err.Error()+": use a new request_id for a new request")
	case errors.Is(err, federation.ErrTooLarge):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, federation.ErrOutcomeUnknown):
		return status.Error(codes.Unavailable, err.Error()+": look before retrying")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return status.Error(codes.Unavailable, "timed out: "+err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

// invalidArgument is an InvalidArgument status naming each bad field.
func invalidArgument(vs ...registry.FieldViolation) error {
	msg := "invalid argument"
	if len(vs) > 0 {
		msg = vs[0].Field + ": " + vs[0].Description
		if len(vs) > 1 {
			msg += " (and more)"
		}
	}
	st := status.New(codes.InvalidArgument, msg)
	br := &errdetails.BadRequest{}
	for _, v := range vs {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description, Reason: v.Reason})
	}
	if d, err := st.WithDetails(br); err == nil {
		return d.Err()
	}
	return st.Err()
}

func fieldError(field, desc string) error {
	return invalidArgument(registry.FieldViolation{Field: field, Description: desc})
}

// fieldReasonError is fieldError with a reason code (registry.Reason…).
func fieldReasonError(field, reason, desc string) error {
	return invalidArgument(registry.FieldViolation{Field: field, Description: desc, Reason: reason})
}
