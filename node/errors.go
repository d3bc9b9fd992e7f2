package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

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

// knownEnum refuses an enum value its enum does not declare, OUT_OF_RANGE
// naming field (enum, got), its message listing the values there are: a
// filter's value no release has (a client's typo, a newer client's value)
// listed nothing, which reads as "none" rather than "not understood". The
// unset value passes: a filter left out.
func knownEnum(field string, e protoreflect.Enum) error {
	d := e.Descriptor()
	if d.Values().ByNumber(e.Number()) != nil {
		return nil
	}
	var names []string
	for i := range d.Values().Len() {
		if v := d.Values().Get(i); v.Number() != 0 {
			names = append(names, string(v.Name()))
		}
	}
	return fieldError(field, registry.ReasonOutOfRange, reason.Meta{"enum": string(d.Name()), "got": reason.Itoa(int32(e.Number()))},
		fmt.Sprintf("%d is not a known %s value (%s)", e.Number(), d.Name(), strings.Join(names, ", ")))
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
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, toStatus(decodeViolation(err)))
}

// The gateway's own refusals of what it could not read into the request:
// a query parameter (`parsing field "page_size": …`), a path parameter
// (`type mismatch, parameter: year, …`), a body field of the wrong type
// (`invalid value for string field itemCode: 5`, by its JSON name) or one
// the request does not have (`unknown field "itemcode"`).
var (
	queryFieldRE   = regexp.MustCompile(`^parsing field "([^"]+)": `)
	pathParamRE    = regexp.MustCompile(`^type mismatch, parameter: ([a-z0-9_.]+), `)
	bodyFieldRE    = regexp.MustCompile(`invalid value for [a-z0-9 ]+ field ([A-Za-z0-9_]+): `)
	unknownFieldRE = regexp.MustCompile(`unknown field "([^"]{1,64})"`)
)

// decodeViolation is err, or, when it is the gateway's InvalidArgument of
// a field it could not read, that field's violation (INVALID_FORMAT, or
// UNKNOWN_FIELD), named as the API names its fields (snake_case; a body
// field by its own name, without the path to it): the client sees which
// field, as for the API's own refusals.
func decodeViolation(err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument || len(st.Details()) > 0 {
		return err
	}
	msg := st.Message()
	if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
		return fieldError(m[1], reason.UnknownField, reason.Meta{"path": m[1]}, "is not a field of the request")
	}
	var field string
	if m := queryFieldRE.FindStringSubmatch(msg); m != nil {
		field = m[1]
	} else if m := pathParamRE.FindStringSubmatch(msg); m != nil {
		field = m[1]
	} else if m := bodyFieldRE.FindStringSubmatch(msg); m != nil {
		field = snakeCase(m[1])
	}
	if field == "" || len(field) > registry.MaxCodeLen {
		return err
	}
	if len(msg) > 200 { // it quotes the value, which may be long
		msg = strings.ToValidUTF8(msg[:200], "") + "…"
	}
	return fieldError(field, registry.ReasonInvalidFormat, nil, msg)
}

// snakeCase is a JSON field name (itemCode) as the proto's (item_code).
func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if 'A' <= r && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
