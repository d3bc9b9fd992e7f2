package reason

import (
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Status is the answer to a request refused for reason: the catalogue's
// code, msg (English), a google.rpc.ErrorInfo (the reason, Domain, meta),
// a google.rpc.LocalizedMessage (zh-CN, made from the reason and meta), a
// google.rpc.RetryInfo when retryAfter is positive, then more (a
// BadRequest). node's toStatus is where errors become statuses; this is
// the form they take.
func Status(reason, msg string, meta Meta, retryAfter time.Duration, more ...protoadapt.MessageV1) *status.Status {
	return Build(Code(reason), reason, msg, meta, "", retryAfter, more...)
}

// StatusCode is Status with another code than the catalogue's, for an
// answer that keeps the code it had (a status without ErrorInfo).
func StatusCode(code codes.Code, reason, msg string, meta Meta, more ...protoadapt.MessageV1) *status.Status {
	return Build(code, reason, msg, meta, "", 0, more...)
}

// Build is Status with the code and the zh-CN text given ("": the
// reason's text for meta).
func Build(code codes.Code, reason, msg string, meta Meta, zh string, retryAfter time.Duration, more ...protoadapt.MessageV1) *status.Status {
	if zh == "" {
		zh = Text(reason, meta)
	}
	ds := []protoadapt.MessageV1{
		&errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: meta},
		&errdetails.LocalizedMessage{Locale: Locale, Message: zh},
	}
	if retryAfter > 0 {
		ds = append(ds, &errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)})
	}
	st := status.New(code, msg)
	if d, err := st.WithDetails(append(ds, more...)...); err == nil {
		return d
	}
	return st
}

// A Violation is one field's problem: its path in the request, the
// English description, the reason and its meta. (registry.FieldViolation
// converts to it.)
type Violation struct {
	Field       string
	Description string
	Reason      string
	Meta        Meta
}

// BadRequest is the INVALID_ARGUMENT answer naming each bad field: a
// google.rpc.BadRequest whose violations carry their reason
// (INVALID_VALUE when none was given) and zh-CN text (FieldText); an
// ErrorInfo INVALID_ARGUMENT naming the first field; the first field and
// its text as the LocalizedMessage.
func BadRequest(vs ...Violation) *status.Status {
	msg := "invalid argument"
	if len(vs) > 0 {
		msg = vs[0].Field + ": " + vs[0].Description
		if len(vs) > 1 {
			msg += " (and more)"
		}
	}
	br := &errdetails.BadRequest{}
	meta := Meta{"violations": Itoa(len(vs))}
	zh := ""
	for i, v := range vs {
		why := v.Reason
		if why == "" {
			why = InvalidValue
		}
		text := FieldText(why, v.Meta)
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: v.Field, Description: v.Description, Reason: why,
			LocalizedMessage: &errdetails.LocalizedMessage{Locale: Locale, Message: text},
		})
		if i == 0 {
			meta["field"], meta["fieldReason"] = v.Field, why
			zh = v.Field + "：" + text
			if len(vs) > 1 {
				zh += "（另有 " + Itoa(len(vs)-1) + " 处需要修改）"
			}
		}
	}
	return Build(codes.InvalidArgument, InvalidArgument, msg, meta, zh, 0, br)
}

// codeReasons is the reason of a status that came without one (from a
// node of an older version, or from gRPC itself), by its code.
var codeReasons = map[codes.Code]string{
	codes.InvalidArgument:    InvalidArgument,
	codes.OutOfRange:         InvalidArgument,
	codes.NotFound:           NotFound,
	codes.AlreadyExists:      AlreadyExists,
	codes.Aborted:            Conflict,
	codes.FailedPrecondition: FailedPrecondition,
	codes.Unauthenticated:    Unauthenticated,
	codes.PermissionDenied:   PermissionDenied,
	codes.Unavailable:        Unreachable,
	codes.DeadlineExceeded:   DeadlineExceeded,
	codes.Canceled:           Canceled,
	codes.ResourceExhausted:  Busy,
}

// Complete gives st what every answer carries: an ErrorInfo (by its code
// when it has none: UNREACHABLE for Unavailable, INTERNAL for Internal,
// …) and a zh-CN LocalizedMessage; the field violations of a BadRequest
// get their zh-CN text and a reason (INVALID_VALUE when they had none).
// A status that has them all is returned as it is.
func Complete(st *status.Status) *status.Status {
	if st.Code() == codes.OK {
		return st
	}
	p := st.Proto()
	var info *errdetails.ErrorInfo
	hasZH, changed := false, false
	for i, a := range p.GetDetails() {
		m, err := a.UnmarshalNew()
		if err != nil {
			continue
		}
		switch d := m.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.LocalizedMessage:
			hasZH = hasZH || d.GetLocale() == Locale
		case *errdetails.BadRequest:
			if localizeViolations(d) {
				if b, err := anypb.New(d); err == nil {
					p.Details[i], changed = b, true
				}
			}
		}
	}
	var add []proto.Message
	if info == nil {
		why, ok := codeReasons[st.Code()]
		if !ok {
			why = Internal
		}
		info = &errdetails.ErrorInfo{Reason: why, Domain: Domain}
		add = append(add, info)
	}
	if !hasZH {
		add = append(add, &errdetails.LocalizedMessage{Locale: Locale, Message: Text(info.GetReason(), info.GetMetadata())})
	}
	for _, m := range add {
		if a, err := anypb.New(m); err == nil {
			p.Details, changed = append(p.Details, a), true
		}
	}
	if !changed {
		return st
	}
	return status.FromProto(p)
}

// localizeViolations gives each violation of br a reason and a zh-CN text
// where it has none, and reports whether it changed any.
func localizeViolations(br *errdetails.BadRequest) bool {
	changed := false
	for _, fv := range br.GetFieldViolations() {
		if fv.GetReason() == "" {
			fv.Reason, changed = InvalidValue, true
		}
		if fv.GetLocalizedMessage() == nil {
			fv.LocalizedMessage, changed = &errdetails.LocalizedMessage{Locale: Locale, Message: FieldText(fv.GetReason(), nil)}, true
		}
	}
	return changed
}

// Err is Status(...).Err() for an error of reason with no meta.
func Err(reason, msg string) error { return Status(reason, msg, nil, 0).Err() }

// StatusErrorf is the status error of Errorf(reason, meta, format, args...).
func StatusErrorf(reason string, meta Meta, format string, args ...any) error {
	return Status(reason, Errorf(reason, meta, format, args...).Error(), meta, 0).Err()
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

// OnlyFieldReason reports whether err is an INVALID_ARGUMENT whose field
// violations all have reason why (one at least): a write refused only
// for files the office does not hold (AttachmentMissing), which it
// checks once all else passes, is sent again once they are uploaded.
func OnlyFieldReason(err error, why string) bool {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		return false
	}
	found := false
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				if fv.GetReason() != why {
					return false
				}
				found = true
			}
		}
	}
	return found
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
