package registry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/yizhan-gov/yizhan/reason"
)

var (
	// ErrNotFound means the named office, department, item (or item
	// version), grant or staff member does not exist.
	ErrNotFound error = reason.New(reason.NotFound, "registry: not found")

	// ErrAlreadyExists means a create named a key (office code, department
	// code, item code, username) that is already taken.
	ErrAlreadyExists error = reason.New(reason.AlreadyExists, "registry: already exists")

	// ErrConflict means an item update was based on a version that is not
	// the current one: someone else changed the item first.
	ErrConflict error = reason.New(reason.Conflict, "registry: conflict")

	// ErrFailedPrecondition means the command is well formed but the state
	// does not allow it, e.g. revoking a grant that is already revoked.
	ErrFailedPrecondition error = reason.New(reason.FailedPrecondition, "registry: failed precondition")

	// ErrGap means a replayed changelog entry does not follow the registry's
	// index (its prev_index is not Index()): entries are missing in between
	// and the replica must pull again from its index, or take a snapshot.
	ErrGap = errors.New("registry: changelog gap")

	// ErrStaleIndex means Apply was given an index at or below Index():
	// registry indexes only grow.
	ErrStaleIndex = errors.New("registry: index not after the applied index")

	// ErrInvalidSnapshot means Restore was given a snapshot that is not
	// internally consistent (duplicate keys, broken version or changelog
	// chains); nothing was changed.
	ErrInvalidSnapshot = errors.New("registry: invalid snapshot")

	// ErrInvalidArgument matches every *ValidationError with errors.Is, for
	// callers that only need the class of the error.
	ErrInvalidArgument = errors.New("registry: invalid argument")
)

// FieldViolation is one problem with one field of a command. Field is the
// path of the field in the REST request body with its resource prefix,
// e.g. "item.promised_limit_days" or "calendar.days[3].date". Reason is a
// code in UPPER_SNAKE_CASE a client can act on (ReasonTooLong, …; the
// package reason lists them all), Meta the values that explain it (the
// limit, the value found): the Chinese text is made from the two.
// Description is the English.
type FieldViolation struct {
	Field       string
	Description string
	Reason      string
	Meta        reason.Meta
}

// Invalid is a *ValidationError of one violation.
func Invalid(field, why string, meta reason.Meta, format string, args ...any) error {
	return &ValidationError{Violations: []FieldViolation{{Field: field, Reason: why, Meta: meta, Description: fmt.Sprintf(format, args...)}}}
}

// entityError is an error of why about a record of kind (an office, an
// item, …) named code: reason NOT_FOUND, ALREADY_EXISTS, CONFLICT, with
// the kind and the code in its meta. The message is format's, wrapping
// sentinel.
func entityError(why, kind, code string, format string, args ...any) error {
	return reason.Errorf(why, reason.Meta{"kind": kind, "code": code}, format, args...)
}

// ValidationError is returned for invalid input. It lists every problem
// found, in the order of the fields, so a client can fix them all at once.
// Use errors.As to get at the violations; errors.Is(err, ErrInvalidArgument)
// is true.
type ValidationError struct {
	Violations []FieldViolation
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("registry: invalid argument: ")
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.Field)
		b.WriteString(": ")
		b.WriteString(v.Description)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalidArgument) true for a ValidationError.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidArgument }

// violations collects field violations while a command is checked.
type violations []FieldViolation

func (vs *violations) add(field, format string, args ...any) {
	*vs = append(*vs, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// addReason adds a violation with a reason code.
func (vs *violations) addReason(why, field, format string, args ...any) {
	*vs = append(*vs, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...), Reason: why})
}

// addMeta adds a violation with a reason code and its meta.
func (vs *violations) addMeta(why string, meta reason.Meta, field, format string, args ...any) {
	*vs = append(*vs, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...), Reason: why, Meta: meta})
}

// required adds "is required" (ReasonRequired).
func (vs *violations) required(field string) { vs.addReason(ReasonRequired, field, "is required") }

// err returns a *ValidationError holding the violations, or nil if none.
func (vs violations) err() error {
	if len(vs) == 0 {
		return nil
	}
	return &ValidationError{Violations: vs}
}
