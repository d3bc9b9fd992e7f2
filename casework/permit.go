package casework

import (
	"fmt"
	"slices"
	"time"

	"github.com/yizhan-gov/yizhan/registry"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// Permitted is the check an office makes of each event another office
// appended to a case, before storing it: before is the case folded from
// the events before e (nil when e is the first). In order:
//
//   - e.office_code held the case before e (for FILED: e is filed by the
//     origin office, under a number of that office);
//   - the office's grants at e.at allow the event type, by its rule in
//     the rule table (table.go): the rule's right (ACCEPTED needs ACCEPT,
//     DECIDED APPROVE, …), or, for the events that need any right or
//     being on the path (relaying, closing, fees, withdrawal, the
//     pre-check, ratings, complaints), the office on the case's path
//     (PathUp of the origin); FILED needs ACCEPT or PROXY_FILE;
//   - the events only the citizen asks for (RATED, COMPLAINED) are the
//     citizen's (actor "citizen"), and RATED carries one of the five
//     ratings;
//   - a filing matches the item version it names (limits, fee, kind,
//     departments) and routes along the path;
//   - the case's state allowed the event (the rule table's states and
//     guards, as for NewEvent, without the role and input checks: RATED
//     only once, after CLOSED).
//
// Errors: ErrPermissionDenied (not the owner, no right at e.at, or at the
// case's last event if e is dated before it: a village
// claiming DECIDED for a county item, an event under an expired or revoked
// grant; a rating not by the citizen), ErrFailedPrecondition (the state),
// ErrNotFound (the item version is unknown here), ErrConflict (a malformed
// filing or rating). The rules of the log
// itself (seq, hashes, receiving after forwarding) are Follows'.
func Permitted(before *yizhanv1.Case, e *yizhanv1.CaseEvent, reg Registry) error {
	if e == nil {
		return fmt.Errorf("no event: %w", ErrConflict)
	}
	if before == nil {
		if e.GetType() != yizhanv1.EventType_EVENT_TYPE_FILED {
			return fmt.Errorf("the first event of a case must be EVENT_TYPE_FILED, got %s: %w", e.GetType(), ErrNotFound)
		}
		return permitFiling(e, reg)
	}
	office := e.GetOfficeCode()
	if err := checkOwner(before, office, ErrPermissionDenied); err != nil {
		return err
	}
	// The grants at the event's time, but never before the case's last
	// event: an office that held the case only after its grant ended may
	// not date its event back into the grant's time.
	at := eventTime(e)
	if last := before.GetUpdatedAt(); last != nil && last.AsTime().After(at) {
		at = last.AsTime()
	}
	if err := checkRight(before, e.GetType(), office, at, e.GetRegistryIndex(), reg); err != nil {
		return err
	}
	if err := checkCitizens(e); err != nil {
		return err
	}
	if e.GetType() == evRerouted {
		if err := checkRoute(before.GetNumber(), e.GetRoute(), before.GetOriginOffice()); err != nil {
			return err
		}
	}
	return checkState(before, e)
}

// checkCitizens checks the citizen's events: those only the citizen asks
// for (RATED, COMPLAINED) are made by the citizen (ErrPermissionDenied),
// and a RATED event carries a rating (ErrConflict).
func checkCitizens(e *yizhanv1.CaseEvent) error {
	t := e.GetType()
	if r := ruleOfEvent[t]; r != nil && r.citizenOnly() && e.GetActor() != CitizenActor {
		return fmt.Errorf("%s by %q: only the citizen rates and complains: %w", t, e.GetActor(), ErrPermissionDenied)
	}
	if t == evRated && !knownRating(e.GetRating()) {
		return fmt.Errorf("%s without a rating (%d): %w", t, int32(e.GetRating()), ErrConflict)
	}
	if e.GetCorrectionLapsed() && (t != yizhanv1.EventType_EVENT_TYPE_WITHDRAWN || e.GetActor() == CitizenActor) {
		return fmt.Errorf("%s by %q marked correction_lapsed: only staff's withdrawal is: %w", t, e.GetActor(), ErrConflict)
	}
	return nil
}

// checkRight reports whether office may append an event of type t to c
// at at (ErrPermissionDenied), with the registry writes up to seen
// applied where it made it (rightsKnownAt; 0: this office's registry of
// now). Unknown types pass: checkState names them.
func checkRight(c *yizhanv1.Case, t yizhanv1.EventType, office string, at time.Time, seen uint64, reg Registry) error {
	right, onPath, known := eventRight(t)
	switch {
	case !known:
		return nil
	case onPath:
		if !slices.Contains(PathUp(c.GetOriginOffice()), office) {
			return reason.Errorf(reason.NotOnPath, reason.Meta{"number": c.GetNumber(), "office": office},
				"office %s is not on the path of case %s (filed at %s): %w", office, c.GetNumber(), c.GetOriginOffice(), ErrPermissionDenied)
		}
		return nil
	}
	if !slices.Contains(rightsKnownAt(reg, c.GetItemCode(), office, at, seen), right) {
		return reason.Errorf(reason.NoRightForItem, reason.Meta{"office": office, "item": c.GetItemCode(), "right": right.String()},
			"office %s holds no %s for item %s at %s, needed for %s: %w",
			office, right, c.GetItemCode(), at.In(registry.CST).Format(time.DateTime), t, ErrPermissionDenied)
	}
	return nil
}

// rightsKnownAt is office's rights on item at, as the office that made an
// event saw them with the registry writes up to known applied (the
// event's registry_index): a grant revoked by a write it had not heard of
// still counts, within registry.MaxRevocationLag (a village cut off while
// its delegation was withdrawn files and delivers under it; refusing its
// events would strand the case). reg.Rights when known is 0 (an event of
// a release before) or reg cannot say.
func rightsKnownAt(reg Registry, itemCode, office string, at time.Time, known uint64) []yizhanv1.Right {
	if kr, ok := reg.(interface {
		RightsKnownAt(itemCode, officeCode string, at time.Time, known uint64) []yizhanv1.Right
	}); ok && known > 0 {
		return kr.RightsKnownAt(itemCode, office, at, known)
	}
	return reg.Rights(itemCode, office, at)
}

// registryIndex is the index of the registry writes reg has applied, 0
// when it cannot say.
func registryIndex(reg Registry) uint64 {
	if ix, ok := reg.(interface{ Index() uint64 }); ok {
		return ix.Index()
	}
	return 0
}

// permitFiling checks a FILED event received from another office.
func permitFiling(e *yizhanv1.CaseEvent, reg Registry) error {
	f := e.GetFiling()
	if f == nil {
		return fmt.Errorf("a FILED event without a filing: %w", ErrConflict)
	}
	office, number := e.GetOfficeCode(), f.GetNumber()
	if f.GetOriginOffice() != office {
		return fmt.Errorf("case %s: filed by office %s for origin %s: %w", number, office, f.GetOriginOffice(), ErrPermissionDenied)
	}
	numOffice, _, _, err := ParseCaseNumber(number)
	if err != nil {
		return fmt.Errorf("case %q: %w: %w", number, ErrConflict, err)
	}
	if numOffice != office {
		return fmt.Errorf("case %s: office %s may only file under its own numbers: %w", number, office, ErrPermissionDenied)
	}
	at := eventTime(e)
	rights := rightsKnownAt(reg, f.GetItemCode(), office, at, e.GetRegistryIndex())
	if !slices.Contains(rights, yizhanv1.Right_RIGHT_ACCEPT) && !slices.Contains(rights, yizhanv1.Right_RIGHT_PROXY_FILE) {
		return fmt.Errorf("case %s: office %s holds neither %s nor %s for item %s at %s: %w", number, office,
			yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_PROXY_FILE, f.GetItemCode(), at.In(registry.CST).Format(time.DateTime), ErrPermissionDenied)
	}
	if f.GetItemVersion() == 0 {
		return fmt.Errorf("case %s: the filing names no item version: %w", number, ErrConflict)
	}
	item, err := itemView(reg, f.GetItemCode(), f.GetItemVersion())
	if err != nil {
		return fmt.Errorf("case %s: item %s version %d: %w: %w", number, f.GetItemCode(), f.GetItemVersion(), ErrNotFound, err)
	}
	mismatch := ""
	switch {
	case f.GetItemName() != item.GetName():
		mismatch = "item_name"
	case f.GetCaseKind() != item.GetCaseKind():
		mismatch = "case_kind"
	case f.GetStatutoryLimitDays() != item.GetStatutoryLimitDays():
		mismatch = "statutory_limit_days"
	case f.GetPromisedLimitDays() != item.GetPromisedLimitDays():
		mismatch = "promised_limit_days"
	case f.GetFeeCents() != item.GetFeeCents():
		mismatch = "fee_cents"
	case f.GetDepartmentCode() != item.GetDepartmentCode():
		mismatch = "department_code"
	case !slices.Equal(f.GetCoDepartmentCodes(), item.GetCoDepartmentCodes()):
		mismatch = "co_department_codes"
	}
	if mismatch != "" {
		return fmt.Errorf("case %s: filing.%s does not match item %s version %d: %w", number, mismatch, item.GetCode(), item.GetVersion(), ErrPermissionDenied)
	}
	return checkRoute(number, f.GetRoute(), office)
}

// checkRoute checks a route of case number filed at origin: every step a
// step of the procedure at an office on the path up from origin, and the
// required steps there (ErrPermissionDenied).
func checkRoute(number string, route []*yizhanv1.RouteStep, origin string) error {
	path := PathUp(origin)
	for _, s := range route {
		if !slices.Contains(routeRights, s.GetRight()) || !slices.Contains(path, s.GetOfficeCode()) {
			return fmt.Errorf("case %s: route step %s at %q is not a step on the path %v: %w", number, s.GetRight(), s.GetOfficeCode(), path, ErrPermissionDenied)
		}
	}
	for _, right := range routeRights {
		if requiredRight(right) && stepOffice(route, right) == "" {
			return fmt.Errorf("case %s: route has no %s step: %w", number, right, ErrPermissionDenied)
		}
	}
	return nil
}
