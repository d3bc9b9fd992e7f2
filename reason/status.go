package reason

import (
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Status is the answer to a request refused for reason: the catalogue's
// code, msg (English), a google.rpc.ErrorInfo (the reason, Domain, meta),
// a google.rpc.LocalizedMessage (zh-CN, made from the reason and meta), a
// google.rpc.RetryInfo when retryAfter is positive, then more (a
// BadRequest). node's toStatus is where errors become statuses; this is
// the form they take.
func Status(reason, msg string, meta Meta, retryAfter time.Duration, more ...protoadapt.MessageV1) *status.Status {
	return withDetails(status.New(Code(reason), msg), reason, meta, retryAfter, more...)
}

// StatusCode is Status with another code than the catalogue's, for an
// answer that keeps the code it had (a status without ErrorInfo).
func StatusCode(code codes.Code, reason, msg string, meta Meta, more ...protoadapt.MessageV1) *status.Status {
	return withDetails(status.New(code, msg), reason, meta, 0, more...)
}

// Err is Status(...).Err() for an error of reason with no meta.
func Err(reason, msg string) error { return Status(reason, msg, nil, 0).Err() }

// StatusErrorf is the status error of Errorf(reason, meta, format, args...).
func StatusErrorf(reason string, meta Meta, format string, args ...any) error {
	return Status(reason, Errorf(reason, meta, format, args...).Error(), meta, 0).Err()
}

func withDetails(st *status.Status, reason string, meta Meta, retryAfter time.Duration, more ...protoadapt.MessageV1) *status.Status {
	ds := []protoadapt.MessageV1{
		&errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: meta},
		&errdetails.LocalizedMessage{Locale: Locale, Message: Text(reason, meta)},
	}
	if retryAfter > 0 {
		ds = append(ds, &errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)})
	}
	ds = append(ds, more...)
	if d, err := st.WithDetails(ds...); err == nil {
		return d
	}
	return st
}

// Info is the ErrorInfo of st, or nil.
func Info(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei
		}
	}
	return nil
}

// StatusReason is the ErrorInfo reason of err's status, or "".
func StatusReason(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	return Info(st).GetReason()
}

// Localized is the zh-CN LocalizedMessage of st ("" when it has none).
func Localized(st *status.Status) string {
	for _, d := range st.Details() {
		if lm, ok := d.(*errdetails.LocalizedMessage); ok && lm.GetLocale() == Locale {
			return lm.GetMessage()
		}
	}
	return ""
}
