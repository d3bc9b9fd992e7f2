package node

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// Scanned materials through the API: staff upload a file a part at a
// time at their office before the filing or resubmission that names it,
// and read a case's files where the case is held. The files are never
// shown to the public: a query code reads none.

// uploadRoles are those who may upload a scan: who file cases and take
// materials handed in again (casework's file and resubmit).
var uploadRoles = []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT, yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_WINDOW}

// UploadAttachment stores a part of a scanned file at this office.
func (s *caseService) UploadAttachment(ctx context.Context, req *yizhanv1.UploadAttachmentRequest) (*yizhanv1.UploadAttachmentResponse, error) {
	p, err := s.optionalPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, status.Error(codes.Unauthenticated, "uploading a scan needs staff's sign-in")
	}
	// Scans are handed in with a filing or a resubmission: by those who
	// take them (the filing's roles), not by every account of the office
	// (each file goes into the raft log of every node of the office).
	if !slices.ContainsFunc(p.Roles, func(r yizhanv1.Role) bool { return slices.Contains(uploadRoles, r) }) {
		return nil, reason.Status(reason.WrongRole, fmt.Sprintf("%s may not upload a scan: it needs %v, %v or %v", p.Username, uploadRoles[0], uploadRoles[1], uploadRoles[2]),
			reason.Meta{"action": "upload", "roles": "ROLE_AGENT,ROLE_CLERK,ROLE_WINDOW"}, 0).Err()
	}
	// Staff upload at their office; a file handed in with a correction
	// at another office on the case's route goes on to the office that
	// holds the case (uploadTo), above or below on the same branch.
	here := s.n.office.Code()
	if !registry.IsAncestorOrSelf(here, p.Office) && !registry.IsAncestorOrSelf(p.Office, here) {
		return nil, toStatus(fmt.Errorf("%w: %s works at office %s, not on a branch through %s", auth.ErrPermissionDenied, p.Username, p.Office, here))
	}
	if err := casework.CheckAttachmentPartSent(req.GetSha256(), req.GetSize(), req.GetContentType(), req.GetOffset(), req.GetData()); err != nil {
		return nil, toStatus(err)
	}
	return onLeader(ctx, s, func() (*yizhanv1.UploadAttachmentResponse, error) {
		got, err := s.n.svc.PutAttachmentPart(ctx, &peerv1.PutAttachmentPart{Sha256: req.GetSha256(), Size: req.GetSize(),
			ContentType: req.GetContentType(), Offset: req.GetOffset(), Data: req.GetData(), UploaderOffice: p.Office})
		if err != nil {
			return nil, err
		}
		return &yizhanv1.UploadAttachmentResponse{Received: got.GetReceived(), Complete: got.GetComplete()}, nil
	}, func(ctx context.Context, c yizhanv1.CaseServiceClient) (*yizhanv1.UploadAttachmentResponse, error) {
		return c.UploadAttachment(ctx, req)
	})
}

// GetAttachment reads a part of one of a case's scanned files: staff
// who handle the case (its owner's, its origin's, an office on its
// route; at the county, of its lead or co-departments, or the
// comprehensive window: casework.DepartmentSees), at an office that
// holds the case and the file, else from the offices above.
func (s *caseService) GetAttachment(ctx context.Context, req *yizhanv1.GetAttachmentRequest) (*yizhanv1.AttachmentPart, error) {
	p, err := s.optionalPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, status.Error(codes.Unauthenticated, "scans are shown to staff only")
	}
	if v := registry.CheckLine("sha256", req.GetSha256(), 64); v != nil {
		return nil, invalidArgument(*v)
	}
	c, _, found, err := s.readable(ctx, req.GetNumber(), "")
	if err != nil {
		return nil, err
	}
	up := func(ctx context.Context, cl yizhanv1.CaseServiceClient) (*yizhanv1.AttachmentPart, error) {
		return cl.GetAttachment(ctx, req)
	}
	if !found {
		return forwardUp(ctx, s, req.GetNumber(), up)
	}
	if !handles(p, c) {
		return nil, toStatus(fmt.Errorf("%w: the scans of case %s are for the staff who handle it", auth.ErrPermissionDenied, c.GetNumber()))
	}
	events := s.n.office.Cases().Events(c.GetNumber())
	if !seesScans(p, c, events) {
		return nil, toStatus(fmt.Errorf("%w: the scans of case %s are for the staff of its departments (%s)", auth.ErrPermissionDenied,
			c.GetNumber(), departmentsOf(events)))
	}
	files := casework.Attachments(events)
	i := slices.IndexFunc(files, func(a *yizhanv1.Attachment) bool { return a.GetSha256() == req.GetSha256() })
	if i < 0 {
		return nil, status.Errorf(codes.NotFound, "case %s has no file %s", c.GetNumber(), req.GetSha256())
	}
	if off := req.GetOffset(); off < 0 || off > files[i].GetSize() {
		return nil, fieldError("offset", registry.ReasonOutOfRange, reason.Meta{"min": "0", "max": reason.Itoa(files[i].GetSize()), "got": reason.Itoa(off)},
			fmt.Sprintf("must be from 0 to the file's %d bytes", files[i].GetSize()))
	}
	if _, complete := s.n.office.Cases().AttachmentHeld(req.GetSha256()); !complete {
		return forwardUp(ctx, s, req.GetNumber(), up)
	}
	data, err := s.n.office.Cases().ReadAttachment(req.GetSha256(), req.GetOffset(), casework.AttachmentPartBytes)
	if err != nil {
		return nil, toStatus(err)
	}
	if req.GetOffset() == 0 {
		// A scan is a citizen's personal data (an ID card, a licence):
		// who read which, when, is kept in the log, once a reading.
		s.n.log.Info("personal data read: a citizen's scanned file", "audit", "scan_read", "case", c.GetNumber(),
			"file", req.GetSha256()[:12], "staff", p.Username, "staff_office", p.Office)
	}
	return &yizhanv1.AttachmentPart{Data: data, Offset: req.GetOffset(), Size: files[i].GetSize(), ContentType: files[i].GetContentType()}, nil
}

// uploadTo uploads to another office (cl, as the caller) the scans the
// materials name that this office holds, each from what that office
// holds on: a correction handed in here is relayed to the office that
// holds the case with its files.
func (s *caseService) uploadTo(ctx context.Context, cl yizhanv1.CaseServiceClient, ms []*yizhanv1.SubmittedMaterial) error {
	for _, m := range ms {
		for _, a := range m.GetFiles() {
			if _, complete := s.n.office.Cases().AttachmentHeld(a.GetSha256()); !complete {
				// Not uploaded here, or this node has not applied it yet.
				return toStatus(registry.Invalid("materials.files.sha256", reason.AttachmentMissing, reason.Meta{"sha256": a.GetSha256()},
					"office %s holds no whole file %s: upload it here first, or try again shortly", s.n.office.Code(), a.GetSha256()))
			}
			req := &yizhanv1.UploadAttachmentRequest{Sha256: a.GetSha256(), Size: a.GetSize(), ContentType: a.GetContentType()}
			done := false
			for range casework.MaxAttachmentBytes/casework.AttachmentPartBytes + 2 {
				got, err := cl.UploadAttachment(ctx, req)
				if err != nil {
					return err
				}
				if done = got.GetComplete(); done {
					break
				}
				data, err := s.n.office.Cases().ReadAttachment(a.GetSha256(), got.GetReceived(), casework.AttachmentPartBytes)
				if err != nil {
					return toStatus(fmt.Errorf("file %s: %w", a.GetSha256(), err)) // a damaged copy keeps its reason
				}
				if len(data) == 0 {
					return toStatus(fmt.Errorf("file %s: nothing to read at %d", a.GetSha256(), got.GetReceived()))
				}
				req.Offset, req.Data = got.GetReceived(), data
			}
			if !done {
				return toStatus(fmt.Errorf("file %s: the office holding the case did not take it whole", a.GetSha256()))
			}
		}
	}
	return nil
}

// departmentsOf names a case's lead department and co-departments.
func departmentsOf(events []*yizhanv1.CaseEvent) string {
	if len(events) == 0 {
		return ""
	}
	f := events[0].GetFiling()
	return strings.Join(append([]string{f.GetDepartmentCode()}, f.GetCoDepartmentCodes()...), ", ")
}
