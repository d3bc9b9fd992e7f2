package casework

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Fold derives a case from its log: everything about a case is its
// events. It checks the log's shape only (seqs 1..n, a FILED event with a
// filing first and nowhere else: ErrConflict otherwise), not the hashes
// (VerifyChain) nor whether each event was allowed (Permitted): logs are
// checked before they are stored, and Fold is how they are read.
//
// The applicant is not masked (masking is the caller's job), Deadlines is
// left unset (see Clocks), Mirror is false and QueryCode empty.
func Fold(events []*yizhanv1.CaseEvent) (*yizhanv1.Case, error) {
	if len(events) == 0 {
		return nil, fmt.Errorf("fold: no events: %w", ErrConflict)
	}
	var c *yizhanv1.Case
	for i, e := range events {
		switch want := uint32(i + 1); {
		case e.GetSeq() != want:
			return nil, fmt.Errorf("fold: event %d has seq %d: %w", want, e.GetSeq(), ErrConflict)
		case i == 0 && (e.GetType() != yizhanv1.EventType_EVENT_TYPE_FILED || e.GetFiling() == nil):
			return nil, fmt.Errorf("fold: seq 1 must be EVENT_TYPE_FILED with a filing, got %s: %w", e.GetType(), ErrConflict)
		case i > 0 && e.GetType() == yizhanv1.EventType_EVENT_TYPE_FILED:
			return nil, fmt.Errorf("fold: seq %d files the case again: %w", want, ErrConflict)
		}
		if i == 0 {
			c = fileCase(e)
		} else {
			foldEvent(c, events[0].GetFiling(), e)
		}
	}
	return c, nil
}

// fileCase is the case its FILED event makes: state FILED (PRECHECK for a
// filing that waits for its pre-check), owned by the office where it was
// filed.
func fileCase(e *yizhanv1.CaseEvent) *yizhanv1.Case {
	f := e.GetFiling()
	c := &yizhanv1.Case{
		Number:       f.GetNumber(),
		ItemCode:     f.GetItemCode(),
		ItemVersion:  f.GetItemVersion(),
		ItemName:     f.GetItemName(),
		CaseKind:     f.GetCaseKind(),
		GrantIds:     slices.Clone(f.GetGrantIds()),
		OriginOffice: f.GetOriginOffice(),
		OwnerOffice:  f.GetOriginOffice(),
		State:        stFiled,
		Applicant:    proto.CloneOf(f.GetApplicant()),
		LastSeq:      e.GetSeq(),
		FiledAt:      proto.CloneOf(e.GetAt()),
		UpdatedAt:    proto.CloneOf(e.GetAt()),
	}
	if f.GetPrecheck() {
		c.State = stPrecheck
	}
	for _, s := range f.GetRoute() {
		c.Route = append(c.Route, proto.CloneOf(s))
	}
	for _, m := range e.GetMaterials() {
		c.Materials = append(c.Materials, proto.CloneOf(m))
	}
	return c
}

// foldEvent changes c, filed by f, by e, an event after the filing. It
// does not judge whether e was allowed: see checkState.
func foldEvent(c *yizhanv1.Case, f *yizhanv1.CaseFiling, e *yizhanv1.CaseEvent) {
	c.LastSeq = e.GetSeq()
	c.UpdatedAt = proto.CloneOf(e.GetAt())
	switch e.GetType() {
	case yizhanv1.EventType_EVENT_TYPE_PRECHECKED:
		c.State = stFiled
	case yizhanv1.EventType_EVENT_TYPE_PRECHECK_REJECTED:
		c.State = stPrecheckRejected
	case yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED:
		c.State = yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED
		c.MissingMaterials = slices.Clone(e.GetMissingMaterials())
		c.CorrectionNotices++
		c.CorrectionNoticeAt = proto.CloneOf(e.GetAt())
	case yizhanv1.EventType_EVENT_TYPE_RESUBMITTED:
		c.State = yizhanv1.CaseState_CASE_STATE_FILED
		c.MissingMaterials = nil
		c.Materials = mergeMaterials(c.Materials, e.GetMaterials())
	case yizhanv1.EventType_EVENT_TYPE_ACCEPTED:
		c.State = yizhanv1.CaseState_CASE_STATE_ACCEPTED
		c.AcceptedBy = e.GetActor()
		c.OpinionsPending = nil
		if c.GetCaseKind() == yizhanv1.CaseKind_CASE_KIND_JOINT {
			c.OpinionsPending = slices.Clone(f.GetCoDepartmentCodes())
		}
	case yizhanv1.EventType_EVENT_TYPE_REFUSED:
		c.State = yizhanv1.CaseState_CASE_STATE_REFUSED
	case yizhanv1.EventType_EVENT_TYPE_FORWARDED:
		c.OwnerOffice = e.GetToOffice()
	case yizhanv1.EventType_EVENT_TYPE_REVIEWED:
		c.State = yizhanv1.CaseState_CASE_STATE_REVIEWED
		c.ReviewedBy = e.GetActor()
		c.Review = opinionOf(e)
	case yizhanv1.EventType_EVENT_TYPE_DECIDED:
		c.State = yizhanv1.CaseState_CASE_STATE_DENIED
		if e.GetApproved() {
			c.State = yizhanv1.CaseState_CASE_STATE_APPROVED
		}
	case yizhanv1.EventType_EVENT_TYPE_CERTIFIED:
		c.State = yizhanv1.CaseState_CASE_STATE_CERTIFIED
		c.CertificateNumber = e.GetCertificateNumber()
	case yizhanv1.EventType_EVENT_TYPE_FEE_ASSESSED, yizhanv1.EventType_EVENT_TYPE_FEE_CORRECTED:
		c.FeeCents, c.FeeUnits, c.FeeAssessed = e.GetFeeCents(), e.GetFeeUnits(), true
		c.FeePaid = false
	case yizhanv1.EventType_EVENT_TYPE_FEE_PAID:
		c.FeePaid = true
	case yizhanv1.EventType_EVENT_TYPE_DELIVERED:
		c.State = yizhanv1.CaseState_CASE_STATE_DELIVERED
	case yizhanv1.EventType_EVENT_TYPE_CLOSED:
		c.State = yizhanv1.CaseState_CASE_STATE_CLOSED
	case yizhanv1.EventType_EVENT_TYPE_WITHDRAWN:
		c.State = yizhanv1.CaseState_CASE_STATE_WITHDRAWN
		c.Suspended = false
		c.OpinionsPending = nil
	case yizhanv1.EventType_EVENT_TYPE_EXTENDED:
		c.Extensions++
	case yizhanv1.EventType_EVENT_TYPE_REROUTED:
		c.Route = cloneRoute(e.GetRoute())
	case yizhanv1.EventType_EVENT_TYPE_SUSPENDED:
		c.Suspended = true
	case yizhanv1.EventType_EVENT_TYPE_RESUMED:
		c.Suspended = false
	case yizhanv1.EventType_EVENT_TYPE_OPINION_GIVEN:
		c.OpinionsPending = slices.DeleteFunc(c.OpinionsPending, func(d string) bool { return d == e.GetDepartmentCode() })
		c.Opinions = slices.DeleteFunc(c.Opinions, func(o *yizhanv1.Opinion) bool { return o.GetDepartmentCode() == e.GetDepartmentCode() })
		c.Opinions = append(c.Opinions, opinionOf(e))
	case yizhanv1.EventType_EVENT_TYPE_RATED:
		c.Rating = e.GetRating()
		c.RatingComment = e.GetReason()
	case yizhanv1.EventType_EVENT_TYPE_COMPLAINED:
		c.Complaints++
	}
	// RECEIVED and WITHDRAWAL_REQUESTED change nothing that the Case
	// shows (EXTENDED's days: see Clocks).
}

// opinionOf is the opinion or review conclusion event e records.
func opinionOf(e *yizhanv1.CaseEvent) *yizhanv1.Opinion {
	return &yizhanv1.Opinion{DepartmentCode: e.GetDepartmentCode(), Agrees: e.GetAgrees(), Reason: e.GetReason(),
		By: e.GetActor(), ByName: e.GetActorName(), At: proto.CloneOf(e.GetAt())}
}

// mergeMaterials replaces the materials of the same name by the
// resubmitted ones and adds the new ones after.
func mergeMaterials(have, resubmitted []*yizhanv1.SubmittedMaterial) []*yizhanv1.SubmittedMaterial {
	out := slices.Clone(have)
	for _, m := range resubmitted {
		m = proto.CloneOf(m)
		if i := slices.IndexFunc(out, func(h *yizhanv1.SubmittedMaterial) bool { return h.GetName() == m.GetName() }); i >= 0 {
			out[i] = m
		} else {
			out = append(out, m)
		}
	}
	return out
}
