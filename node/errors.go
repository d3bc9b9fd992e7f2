package node

import (
	"context"
	"errors"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// toStatus maps an error to a gRPC status (and so, through the gateway,
// to an HTTP status). It is the one place where that happens:
//
//   - invalid input (*registry.ValidationError) is InvalidArgument with a
//     BadRequest naming each field, its reason and its zh-CN text;
//   - an error that names its reason (reason.Of: the sentinels and typed
//     errors of registry, casework, auth and federation) gets the code of
//     the reason in the catalogue (package reason, docs/ERRORS.md): not
//     the leader, no leader, catching up are Unavailable (nothing was
//     done: safe to send again); OUTCOME_UNKNOWN is Aborted, which no
//     node forwards on and no client retries blindly;
//   - the caller's own deadline and cancellation stay DeadlineExceeded
//     and Canceled;
//   - anything else is Internal.
//
// Every answer carries a google.rpc.ErrorInfo with its reason and a zh-CN
// google.rpc.LocalizedMessage; a status error passes through with them
// added if it lacks them (reason.Complete).
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return reason.Complete(st).Err()
	}
	var ve *registry.ValidationError
	if errors.As(err, &ve) {
		return invalidArgument(ve.Violations...)
	}
	if e := reason.Of(err); e != nil {
		return reason.Status(e.Reason, err.Error()+hints[e.Reason], e.Meta, e.RetryAfter).Err()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return reason.Status(reason.DeadlineExceeded, "timed out: "+err.Error(), nil, 0).Err()
	case errors.Is(err, context.Canceled):
		return reason.Status(reason.Canceled, "canceled: "+err.Error(), nil, 0).Err()
	}
	return reason.Status(reason.Internal, err.Error(), nil, 0).Err()
}

// hints end the English message of some reasons with what to do.
var hints = map[string]string{
	reason.OutcomeUnknown:  ": look before retrying",
	reason.RequestIDReused: ": use a new request_id for a new request",
}

// invalidArgument is an InvalidArgument status naming each bad field,
// with its reason and zh-CN text (reason.BadRequest).
func invalidArgument(vs ...registry.FieldViolation) error {
	rvs := make([]reason.Violation, len(vs))
	for i, v := range vs {
		rvs[i] = reason.Violation(v)
	}
	return reason.BadRequest(rvs...).Err()
}

// fieldError is an InvalidArgument naming one field, with its reason and
// the meta its zh-CN text is made from.
func fieldError(field, why string, meta reason.Meta, desc string) error {
	return invalidArgument(registry.FieldViolation{Field: field, Description: desc, Reason: why, Meta: meta})
}

// fieldReasonError is fieldError without meta.
func fieldReasonError(field, why, desc string) error {
	return fieldError(field, why, nil, desc)
}

// completeErrors gives every error a gRPC handler returns its reason and
// zh-CN text (toStatus), whichever way it was made.
func completeErrors(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	return resp, toStatus(err)
}

// gatewayErrors does the same for the REST gateway's answers, the
// gateway's own (a body that is not JSON) included.
func gatewayErrors(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, toStatus(err))
}
