// Package casework holds cases: their events, lifecycle rules, routes along the tree and working-day clocks.
//
// A case (办件) is an append-only log of CaseEvents chained by hashes; the
// case itself is what Fold derives from its events. NewFiling and NewEvent
// make the events an office's staff ask for, checking the state, the
// staff member's role, the office's grants and the input; Permitted is the
// same check made by an office receiving events another office appended;
// Pending says what an office must do by itself (forward, receive, close);
// Clocks computes the working-day deadlines; a Book is the cases an office
// holds, applied by its raft state machine. Nothing here does I/O, reads
// the clock or draws random numbers: times come in as arguments. See
// DESIGN.md.
package casework

import (
	"errors"
	"fmt"
	"time"

	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Registry is what casework reads of the registry (*registry.Registry satisfies it).
type Registry interface {
	Item(code string, version uint32) (*yizhanv1.Item, error)
	Office(code string) (*yizhanv1.Office, error)
	Grants(f registry.GrantFilter) []*yizhanv1.Grant
	Rights(itemCode, officeCode string, at time.Time) []yizhanv1.Right
	IsWorkingDay(d time.Time) bool
	AddWorkingDays(from time.Time, n int) time.Time
	WorkingDaysBetween(from, to time.Time) int
	CasePolicy() *yizhanv1.CasePolicy
}

var _ Registry = (*registry.Registry)(nil)

// viewer is a Registry that can answer items and grants without copies
// (*registry.Registry: ItemView, GrantsView).
type viewer interface {
	ItemView(code string, version uint32) (*yizhanv1.Item, error)
	GrantsView(f registry.GrantFilter) []*yizhanv1.Grant
}

var _ viewer = (*registry.Registry)(nil)

// itemView is reg's item version for a caller that only reads it: the
// stored version when reg can answer it (the registry never changes a
// version it holds), else reg.Item's copy. A copy of a catalogue item
// costs several microseconds; a filing read one in its state machine and
// one in its answer, a case's clock one per case listed.
func itemView(reg Registry, code string, version uint32) (*yizhanv1.Item, error) {
	if v, ok := reg.(viewer); ok {
		return v.ItemView(code, version)
	}
	return reg.Item(code, version)
}

// ItemView is itemView for the packages that apply the rules beside
// casework (supervision's open step, read at every event a case
// applies); the caller must not change the item.
func ItemView(reg Registry, code string, version uint32) (*yizhanv1.Item, error) {
	return itemView(reg, code, version)
}

// grantsView is reg's grants for a caller that only reads them, as
// itemView is for items (a grant revoked is replaced, not changed).
// Route reads them for every right of a filing's route.
func grantsView(reg Registry, f registry.GrantFilter) []*yizhanv1.Grant {
	if v, ok := reg.(viewer); ok {
		return v.GrantsView(f)
	}
	return reg.Grants(f)
}

var (
	// ErrNotFound means the case (or the item version it names) does not
	// exist.
	ErrNotFound error = reason.New(reason.CaseNotFound, "casework: not found")

	// ErrFailedPrecondition means the case's state does not allow the
	// action: the message names the state ("case is CASE_STATE_FILED:
	// accept it first"), or the office that holds the case.
	ErrFailedPrecondition error = reason.New(reason.FailedPrecondition, "casework: failed precondition")

	// ErrPermissionDenied means the actor's role, the office's rights for
	// the item, or the case's ownership does not allow the action.
	ErrPermissionDenied error = reason.New(reason.PermissionDenied, "casework: permission denied")

	// ErrConflict means events do not follow the case's log: a wrong seq,
	// prev_hash or hash, a case number already taken, a log that diverges
	// from the one held.
	ErrConflict error = reason.New(reason.Conflict, "casework: conflict")

	// ErrNoRoute means no office on the path from the filing office to the
	// county holds a right the item's procedure needs.
	ErrNoRoute error = reason.New(reason.NoRoute, "casework: no route")

	// ErrInvalidSnapshot means Book.Restore was given a snapshot that does
	// not hold together (a broken chain, a duplicate case); nothing changed.
	ErrInvalidSnapshot = errors.New("casework: invalid snapshot")
)

// violations collects field violations; err makes a *registry.ValidationError.
type violations []registry.FieldViolation

func (vs *violations) add(field, format string, args ...any) {
	*vs = append(*vs, registry.FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// addReason adds a violation with a reason code (registry.Reason…).
func (vs *violations) addReason(why, field, format string, args ...any) {
	*vs = append(*vs, registry.FieldViolation{Field: field, Description: fmt.Sprintf(format, args...), Reason: why})
}

// addMeta adds a violation with a reason code and its meta.
func (vs *violations) addMeta(why string, meta reason.Meta, field, format string, args ...any) {
	*vs = append(*vs, registry.FieldViolation{Field: field, Description: fmt.Sprintf(format, args...), Reason: why, Meta: meta})
}

// addErr adds err, from ValidIDNumber or ValidPhone, as the violation of
// field: its message, its reason and meta.
func (vs *violations) addErr(field string, err error) {
	v := registry.FieldViolation{Field: field, Description: err.Error(), Reason: reason.InvalidValue}
	if e := reason.Of(err); e != nil {
		v.Reason, v.Meta = e.Reason, e.Meta
	}
	*vs = append(*vs, v)
}

func (vs violations) err() error {
	if len(vs) == 0 {
		return nil
	}
	return &registry.ValidationError{Violations: vs}
}

// invalid is a *registry.ValidationError with one violation.
func invalid(field, format string, args ...any) error {
	var vs violations
	vs.add(field, format, args...)
	return vs.err()
}
