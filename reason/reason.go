// Package reason names why a request failed: a stable UPPER_SNAKE code, with the values that explain it, and its text in Chinese.
//
// The packages that decide (registry, casework, auth, federation) return
// an *Error for each refusal a client can meet: its Reason (NOT_LEADER,
// CASE_STATE, ID_NUMBER_CHECKSUM, …), its Meta (the state, the field, the
// limit) and an English message for logs and API users. Field problems
// are registry.FieldViolations carrying a reason and meta the same way.
//
// The catalogue (catalogue.go) is the one list of reasons: for each, the
// gRPC code it is answered with, whether the same request may be sent
// again, what it means, and its zh-CN text, made from the reason and its
// meta (never by translating the English). node's toStatus turns an error
// into a status with a google.rpc.ErrorInfo and a google.rpc.LocalizedMessage
// (Status here); the web UI shows the LocalizedMessage. docs/ERRORS.md is
// the catalogue as a table.
package reason

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Domain is the ErrorInfo domain of every reason.
const Domain = "yizhan.gov"

// Locale is the locale of the LocalizedMessages.
const Locale = "zh-CN"

// Meta is what explains an error: ErrorInfo metadata, keys in lowerCamelCase.
type Meta map[string]string

// Error is a refusal with its reason. Error() is the English message;
// errors.Is and errors.As see through it to what it wraps.
type Error struct {
	Reason string
	Meta   Meta
	// RetryAfter, when positive, is how long to wait before sending the
	// request again (a google.rpc.RetryInfo goes with the status).
	RetryAfter time.Duration
	err        error
}

func (e *Error) Error() string { return e.err.Error() }

// Unwrap is what the message wraps (with %w), if anything.
func (e *Error) Unwrap() []error {
	switch u := e.err.(type) {
	case interface{ Unwrap() error }:
		if w := u.Unwrap(); w != nil {
			return []error{w}
		}
	case interface{ Unwrap() []error }:
		return u.Unwrap()
	}
	return nil
}

// New is an error of reason with a fixed message: a sentinel to compare
// with errors.Is.
func New(reason, msg string) *Error {
	return &Error{Reason: reason, err: errors.New(msg)}
}

// Errorf is an error of reason with meta; the message is fmt.Errorf's, so
// %w wraps (errors.Is(err, casework.ErrFailedPrecondition) stays true).
func Errorf(reason string, meta Meta, format string, args ...any) *Error {
	return &Error{Reason: reason, Meta: meta, err: fmt.Errorf(format, args...)}
}

// A Reasoner is an error that names its reason: an *Error, or a
// package's own type of error that knows its reason and meta.
type Reasoner interface {
	error
	ErrorReason() (reason string, meta Meta)
}

// ErrorReason is e's reason and meta.
func (e *Error) ErrorReason() (string, Meta) { return e.Reason, e.Meta }

// Of is the first Reasoner in err's chain as an *Error, or nil.
func Of(err error) *Error {
	var r Reasoner
	if !errors.As(err, &r) {
		return nil
	}
	if e, ok := r.(*Error); ok {
		return e
	}
	why, meta := r.ErrorReason()
	return &Error{Reason: why, Meta: meta, err: fmt.Errorf("%w", r)}
}

// ReasonOf is the reason of the first *Error in err's chain, or "".
func ReasonOf(err error) string {
	if e := Of(err); e != nil {
		return e.Reason
	}
	return ""
}

// Itoa is strconv.Itoa for any integer, for Meta values.
func Itoa[T ~int | ~int32 | ~int64 | ~uint32 | ~uint64](n T) string {
	return strconv.FormatInt(int64(n), 10)
}

// Seconds is a wait as Meta's retryAfterSeconds: whole seconds, rounded up.
func Seconds(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}

// HumanDuration is a short Chinese duration ("30 秒", "2 分钟", "1 小时").
func HumanDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d 秒", max(1, int(d.Seconds()+0.5)))
	}
	if d < time.Hour {
		return fmt.Sprintf("%d 分钟", int(d.Minutes()+0.5))
	}
	return fmt.Sprintf("%d 小时", int(d.Hours()+0.5))
}
