package node

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation"
	"github.com/yizhan-gov/yizhan/office"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// registryService serves the registry: reads from this node's replica,
// writes authored at the county leader (forwarded there from anywhere).
type registryService struct {
	yizhanv1.UnsafeRegistryServiceServer
	n *Node
}

var _ yizhanv1.RegistryServiceServer = (*registryService)(nil)

// readMeta checks min_index and says how fresh this node's answer is.
func (s *registryService) readMeta(minIndex uint64) (*yizhanv1.ReadMeta, error) {
	o := s.n.office
	idx := o.Registry().Index()
	if minIndex > idx {
		return nil, toStatus(reason.Errorf(reason.RegistryBehind, reason.Meta{"index": reason.Itoa(idx), "minIndex": reason.Itoa(minIndex)},
			"%w: registry at index %d here, behind min_index %d", registry.ErrFailedPrecondition, idx, minIndex))
	}
	return &yizhanv1.ReadMeta{
		RegistryIndex: idx, UpstreamIndex: o.UpstreamIndex(),
		StaleSeconds: o.StaleSeconds(time.Now()), OfficeCode: o.Code(), Node: o.NodeName(),
	}, nil
}

// stamped is meta once the answer is read: its registry_index then is
// the registry's index after the read, so an answer reflects no more than
// it says. A client that reads again with min_index at the index it was
// told never sees an older registry than it saw (readMeta's index is read
// before the answer, which a write applied in between can pass).
func (s *registryService) stamped(meta *yizhanv1.ReadMeta) *yizhanv1.ReadMeta {
	meta.RegistryIndex = max(meta.RegistryIndex, s.n.office.Registry().Index())
	return meta
}

// countyAdmin authenticates the caller and requires a county admin.
func (s *registryService) countyAdmin(ctx context.Context) (*auth.Principal, error) {
	p, err := s.n.authn.FromContext(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	if !p.Has(yizhanv1.Role_ROLE_ADMIN) || p.Office != federation.CountyOf(s.n.office.Code()) {
		return nil, toStatus(fmt.Errorf("%w: registry changes need a county admin (%s is not)", auth.ErrPermissionDenied, p.Username))
	}
	return p, nil
}

// write runs a registry write: authenticate, then either forward the
// request toward the county leader or build the command and propose it.
func write[Resp proto.Message](ctx context.Context, s *registryService, req proto.Message,
	forward func(context.Context, yizhanv1.RegistryServiceClient) (Resp, error),
	build func(p *auth.Principal) (*peerv1.RegistryCommand, error),
	answer func(v proto.Message, index uint64) Resp,
) (Resp, error) {
	var zero Resp
	p, err := s.countyAdmin(ctx)
	if err != nil {
		return zero, err
	}
	o := s.n.office
	if o.IsCounty() && o.Group().IsLeader() {
		r, err := clientRequest(ctx, string(req.ProtoReflect().Descriptor().FullName()), secretsDigested(ctx, req))
		if err != nil {
			return zero, err
		}
		w, err := whenLeaderReady(ctx, s.n, func() (office.Written, error) {
			return s.n.svc.WriteRegistry(ctx, office.RegistryWrite{Request: r, Build: func() (*peerv1.RegistryCommand, error) { return build(p) }})
		})
		if err == nil {
			if w.Replayed {
				markReplayed(ctx)
			}
			return answer(w.Value, w.Index), nil
		}
		if !office.Forwardable(err) {
			return zero, toStatus(err)
		}
		// Leadership moved between the check and the proposal: forward.
	}
	var resp Resp
	err = o.ForwardRegistry(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		var err error
		resp, err = forward(ctx, yizhanv1.NewRegistryServiceClient(conn))
		return err
	})
	return resp, err
}

// secretFields are the request fields that hold passwords: a request's
// hash (kept with its command for exactly-once writes, in the raft log
// and the registry's changelog) is taken with each replaced by an
// argon2id digest of it (secretsDigested), or without them
// (withoutSecrets), so that no plain SHA-256 of a password is kept
// anywhere.
var secretFields = []protoreflect.Name{"password", "new_password", "old_password"}

// secretsDigested is req with each password field it sets replaced by
// auth.RequestDigest under its request ID (the field's, or the
// Idempotency-Key header's), for the request's hash: the same request ID
// sent again with another password, or with one where there was none, is
// another request, refused (REQUEST_ID_REUSED), not answered as the first
// with the password dropped. Without a request ID (nothing is
// remembered) the fields are cleared. req itself when it sets none.
func secretsDigested(ctx context.Context, req proto.Message) proto.Message {
	m := req.ProtoReflect()
	id := ""
	if fd := m.Descriptor().Fields().ByName("request_id"); fd != nil {
		id = m.Get(fd).String()
	}
	if id == "" {
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			if v := md.Get(idempotencyKey); len(v) > 0 {
				id = v[0]
			}
		}
	}
	var out proto.Message
	for _, name := range secretFields {
		fd := m.Descriptor().Fields().ByName(name)
		if fd == nil || m.Get(fd).String() == "" {
			continue
		}
		if out == nil {
			out = proto.Clone(req)
		}
		if id == "" {
			out.ProtoReflect().Clear(fd)
		} else {
			out.ProtoReflect().Set(fd, protoreflect.ValueOfString("argon2id:"+auth.RequestDigest(m.Get(fd).String(), id)))
		}
	}
	if out == nil {
		return req
	}
	return out
}

// withoutSecrets is req without its password fields (req itself when it
// has none). Its request_id, set from the Idempotency-Key header by
// clientRequest, is set on the copy only: the forwarded request still
// carries the header.
func withoutSecrets(req proto.Message) proto.Message {
	fields := req.ProtoReflect().Descriptor().Fields()
	var out proto.Message
	for _, name := range secretFields {
		if fd := fields.ByName(name); fd != nil {
			if out == nil {
				out = proto.Clone(req)
			}
			out.ProtoReflect().Clear(fd)
		}
	}
	if out == nil {
		return req
	}
	return out
}

func (s *registryService) command(p *auth.Principal, op any) *peerv1.RegistryCommand {
	cmd := &peerv1.RegistryCommand{AtUnixNano: s.n.now().UnixNano(), Actor: p.Username}
	switch v := op.(type) {
	case *peerv1.CreateOffice:
		cmd.Op = &peerv1.RegistryCommand_CreateOffice{CreateOffice: v}
	case *peerv1.CreateDepartment:
		cmd.Op = &peerv1.RegistryCommand_CreateDepartment{CreateDepartment: v}
	case *peerv1.CreateItem:
		cmd.Op = &peerv1.RegistryCommand_CreateItem{CreateItem: v}
	case *peerv1.UpdateItem:
		cmd.Op = &peerv1.RegistryCommand_UpdateItem{UpdateItem: v}
	case *peerv1.CreateGrant:
		cmd.Op = &peerv1.RegistryCommand_CreateGrant{CreateGrant: v}
	case *peerv1.RevokeGrant:
		cmd.Op = &peerv1.RegistryCommand_RevokeGrant{RevokeGrant: v}
	case *peerv1.CreateStaff:
		cmd.Op = &peerv1.RegistryCommand_CreateStaff{CreateStaff: v}
	case *peerv1.PutCalendar:
		cmd.Op = &peerv1.RegistryCommand_PutCalendar{PutCalendar: v}
	case *peerv1.PutSupervisionPolicy:
		cmd.Op = &peerv1.RegistryCommand_PutSupervisionPolicy{PutSupervisionPolicy: v}
	case *peerv1.PutDutyPolicy:
		cmd.Op = &peerv1.RegistryCommand_PutDutyPolicy{PutDutyPolicy: v}
	case *peerv1.PutCasePolicy:
		cmd.Op = &peerv1.RegistryCommand_PutCasePolicy{PutCasePolicy: v}
	case *peerv1.UpdateStaff:
		cmd.Op = &peerv1.RegistryCommand_UpdateStaff{UpdateStaff: v}
	case *peerv1.UpdateOffice:
		cmd.Op = &peerv1.RegistryCommand_UpdateOffice{UpdateOffice: v}
	case *peerv1.UpdateDepartment:
		cmd.Op = &peerv1.RegistryCommand_UpdateDepartment{UpdateDepartment: v}
	default:
		panic(fmt.Sprintf("node: unknown registry op %T", op))
	}
	return cmd
}

// --- offices ---

func (s *registryService) ListOffices(_ context.Context, req *yizhanv1.ListOfficesRequest) (*yizhanv1.ListOfficesResponse, error) {
	if err := knownEnum("tier", req.GetTier()); err != nil {
		return nil, err
	}
	meta, err := s.readMeta(req.GetMinIndex())
	if err != nil {
		return nil, err
	}
	return &yizhanv1.ListOfficesResponse{Offices: s.n.office.Registry().Offices(req.GetTier(), req.GetParentCode()), Meta: s.stamped(meta)}, nil
}

func (s *registryService) GetOffice(_ context.Context, req *yizhanv1.GetOfficeRequest) (*yizhanv1.GetOfficeResponse, error) {
	meta, err := s.readMeta(req.GetMinIndex())
	if err != nil {
		return nil, err
	}
	reg := s.n.office.Registry()
	o, err := reg.Office(req.GetCode())
	if err != nil {
		return nil, toStatus(err)
	}
	return &yizhanv1.GetOfficeResponse{Office: o, Children: reg.Children(o.GetCode()), Meta: s.stamped(meta)}, nil
}

func (s *registryService) CreateOffice(ctx context.Context, req *yizhanv1.CreateOfficeRequest) (*yizhanv1.CreateOfficeResponse, error) {
	return write(ctx, s, req,
		func(ctx context.Context, c yizhanv1.RegistryServiceClient) (*yizhanv1.CreateOfficeResponse, error) {
			return c.CreateOffice(ctx, req)
		},
		func(p *auth.Principal) (*peerv1.RegistryCommand, error) {
			return s.command(p, &peerv1.CreateOffice{Office: req.GetOffice()}), nil
		},
		func(v proto.Message, index uint64) *yizhanv1.CreateOfficeResponse {
			return &yizhanv1.CreateOfficeResponse{Office: v.(*yizhanv1.Office), RegistryIndex: index}
		})
}

// --- departments ---

func (s *registryService) ListDepartments(_ context.Context, req *yizhanv1.ListDepartmentsRequest) (*yizhanv1.ListDepartmentsResponse, error) {
	meta, err := s.readMeta(req.GetMinIndex())
	if err != nil {
		return nil, err
	}
	return &yizhanv1.ListDepartmentsResponse{Departments: s.n.office.Registry().Departments(), Meta: s.stamped(meta)}, nil
}

func (s *registryService) CreateDepartment(ctx context.Context, req *yizhanv1.CreateDepartmentRequest) (*yizhanv1.CreateDepartmentResponse, error) {
	return write(ctx, s, req,
		func(ctx context.Context, c yizhanv1.RegistryServiceClient) (*yizhanv1.CreateDepartmentResponse, error) {
			return c.CreateDepartment(ctx, req)
		},
		func(p *auth.Principal) (*peerv1.RegistryCommand, error) {
			return s.command(p, &peerv1.CreateDepartment{Department: req.GetDepartment()}), nil
		},
		func(v proto.Message, index uint64) *yizhanv1.CreateDepartmentResponse {
			return &yizhanv1.CreateDepartmentResponse{Department: v.(*yizhanv1.Department), RegistryIndex: index}
		})
}

// UpdateOffice changes an office's name, address, phone and authority.
func (s *registryService) UpdateOffice(ctx context.Context, req *yizhanv1.UpdateOfficeRequest) (*yizhanv1.CreateOfficeResponse, error) {
	return write(ctx, s, req,
		func(ctx context.Context, c yizhanv1.RegistryServiceClient) (*yizhanv1.CreateOfficeResponse, error) {
			return c.UpdateOffice(ctx, req)
		},
		func(p *auth.Principal) (*peerv1.RegistryCommand, error) {
			u := req.GetOffice()
			o := &yizhanv1.Office{Code: req.GetCode(), Name: u.GetName(), Address: u.GetAddress(), Phone: u.GetPhone(), Authority: u.GetAuthority()}
			return s.command(p, &peerv1.UpdateOffice{Office: o}), nil
		},
		func(v proto.Message, index uint64) *yizhanv1.CreateOfficeResponse {
			return &yizhanv1.CreateOfficeResponse{Office: v.(*yizhanv1.Office), RegistryIndex: index}
		})
}

// UpdateDepartment changes a department's name and phone.
func (s *registryService) UpdateDepartment(ctx context.Context, req *yizhanv1.UpdateDepartmentRequest) (*yizhanv1.CreateDepartmentResponse, error) {
	return write(ctx, s, req,
		func(ctx context.Context, c yizhanv1.RegistryServiceClient) (*yizhanv1.CreateDepartmentResponse, error) {
			return c.UpdateDepartment(ctx, req)
		},
		func(p *auth.Principal) (*peerv1.RegistryCommand, error) {
			d := &yizhanv1.Department{Code: req.GetCode(), Name: req.GetDepartment().GetName(), Phone: req.GetDepartment().GetPhone()}
			return s.command(p, &peerv1.UpdateDepartment{Department: d}), nil
		},
		func(v proto.Message, index uint64) *yizhanv1.CreateDepartmentResponse {
			return &yizhanv1.CreateDepartmentResponse{Department: v.(*yizhanv1.Department), RegistryIndex: index}
		})
}

// --- items ---

const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// pageSizeOf is the size of a listing's page that a request asks for:
// defaultPageSize for 0, at most maxPageSize; a negative size is refused.
// Every listing of the API reads its page_size so (pageSizeWithin for
// one of other bounds).
func pageSizeOf(n int32) (int, error) { return pageSizeWithin(n, defaultPageSize, maxPageSize) }

// pageSizeWithin is the size of a page that a request asks for: def for
// 0, most for more than most (AIP-158: a size above the maximum is taken
// as the maximum, not refused); a negative size is refused, naming
// page_size.
func pageSizeWithin(n int32, def, most int) (int, error) {
	switch {
	case n < 0:
		return 0, fieldError("page_size", registry.ReasonOutOfRange, reason.Meta{"min": "0", "got": reason.Itoa(n)}, "must not be negative")
	case n == 0:
		return def, nil
	}
	return min(int(n), most), nil
}

func (s *registryService) ListItems(_ context.Context, req *yizhanv1.ListItemsRequest) (*yizhanv1.ListItemsResponse, error) {
	size, err := pageSizeOf(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	if oc := req.GetOfficeCode(); oc != "" {
		if err := registry.ValidCode(oc); err != nil {
			return nil, fieldError("office_code", registry.ReasonInvalidFormat, reason.Meta{"format": "DIVISION_CODE"}, err.Error())
		}
	}
	if err := knownEnum("exercise_tier", req.GetExerciseTier()); err != nil {
		return nil, err
	}
	// A page goes on from the offset of its first item in the list.
	pages := queryOf("ListItems", req.GetDepartmentCode(), req.GetOfficeCode(), req.GetQuery(), req.GetExerciseTier(), req.GetIncludeRetired())
	pos, err := pages.position(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	offset := 0
	if pos != "" {
		n, err := strconv.Atoi(pos)
		if err != nil || n < 0 {
			return nil, errBadPageToken()
		}
		offset = n
	}
	meta, err := s.readMeta(req.GetMinIndex())
	if err != nil {
		return nil, err
	}
	items := s.n.office.Registry().Items(registry.ItemFilter{
		DepartmentCode: req.GetDepartmentCode(), OfficeCode: req.GetOfficeCode(),
		Query: req.GetQuery(), ExerciseTier: req.GetExerciseTier(), At: s.n.now(), Retired: req.GetIncludeRetired(),
	})
	resp := &yizhanv1.ListItemsResponse{Meta: s.stamped(meta)} // items read above
	if offset < len(items) {
		end := min(offset+size, len(items))
		resp.Items = items[offset:end]
		if end < len(items) {
			resp.NextPageToken = pages.token(strconv.Itoa(end))
		}
	}
	return resp, nil
}

func (s *registryService) GetItem(_ context.Context, req *yizhanv1.GetItemRequest) (*yizhanv1.GetItemResponse, error) {
	meta, err := s.readMeta(req.GetMinIndex())
	if err != nil {
		return nil, err
	}
	it, err := s.n.office.Registry().Item(req.GetCode(), req.GetVersion())
	if err != nil {
		return nil, toStatus(err)
	}
	return &yizhanv1.GetItemResponse{Item: it, Meta: s.stamped(meta)}, nil
}

// errAbolishedType refuses 非行政许可审批 for a new item or a change of
// type to it: abolished in 2015. The registry keeps the items of that
// type it holds (and their later versions), which an older release wrote.
var errAbolishedType = fieldError("item.type", registry.ReasonOutOfRange, reason.Meta{"enum": "ItemType", "got": reason.Itoa(int32(yizhanv1.ItemType_ITEM_TYPE_NON_LICENCE))},
	"非行政许可审批 was abolished in 2015 (国发〔2015〕27号): choose 行政许可, 行政确认, 行政给付, 行政裁决, 行政奖励, 其他行政权力 or 公共服务")

func (s *registryService) CreateItem(ctx context.Context, req *yizhanv1.CreateItemRequest) (*yizhanv1.ItemWriteResponse, error) {
	if req.GetItem().GetType() == yizhanv1.ItemType_ITEM_TYPE_NON_LICENCE {
		return nil, errAbolishedType
	}
	return write(ctx, s, req,
		func(ctx context.Context, c yizhanv1.RegistryServiceClient) (*yizhanv1.ItemWriteResponse, error) {
			return c.CreateItem(ctx, req)
		},
		func(p *auth.Principal) (*peerv1.RegistryCommand, error) {
			return s.command(p, &peerv1.CreateItem{Item: req.GetItem()}), nil
		},
		itemAnswer)
}

func itemAnswer(v proto.Message, index uint64) *yizhanv1.ItemWriteResponse {
	return &yizhanv1.ItemWriteResponse{Item: v.(*yizhanv1.Item), RegistryIndex: index}
}

// outputOnlyItemFields may not be named in an update mask.
var outputOnlyItemFields = map[string]bool{
	"code": true, "version": true, "updated_at": true, "updated_by": true, "registry_index": true,
}

func (s *registryService) UpdateItem(ctx context.Context, req *yizhanv1.UpdateItemRequest) (*yizhanv1.ItemWriteResponse, error) {
	if req.GetItem().GetCode() == "" {
		return nil, fieldReasonError("item.code", registry.ReasonRequired, "is required")
	}
	for _, p := range req.GetUpdateMask().GetPaths() {
		fd := (&yizhanv1.Item{}).ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(p))
		if fd == nil {
			return nil, fieldError("update_mask", reason.UnknownField, reason.Meta{"path": p}, fmt.Sprintf("%q is not a field of an item", p))
		}
		if outputOnlyItemFields[p] {
			return nil, fieldError("update_mask", reason.ImmutableField, reason.Meta{"path": p}, fmt.Sprintf("%q cannot be changed", p))
		}
	}
	return write(ctx, s, req,
		func(ctx context.Context, c yizhanv1.RegistryServiceClient) (*yizhanv1.ItemWriteResponse, error) {
			return c.UpdateItem(ctx, req)
		},
		func(p *auth.Principal) (*peerv1.RegistryCommand, error) {
			cur, err := s.n.office.Registry().Item(req.GetItem().GetCode(), 0)
			if err != nil {
				return nil, err
			}
			next := mergeItem(cur, req.GetItem(), req.GetUpdateMask().GetPaths())
			next.ChangeNote = req.GetItem().GetChangeNote() // this edit's, never the last one's
			if next.GetType() == yizhanv1.ItemType_ITEM_TYPE_NON_LICENCE && cur.GetType() != yizhanv1.ItemType_ITEM_TYPE_NON_LICENCE {
				return nil, errAbolishedType
			}
			cmd := s.command(p, &peerv1.UpdateItem{Item: next, BaseVersion: cur.GetVersion()})
			if strings.TrimSpace(next.GetChangeNote()) == "" {
				// The version's own errors first: they say more.
				if err := s.n.office.Registry().Check(cmd); err != nil {
					return nil, err
				}
				return nil, fieldReasonError("item.change_note", registry.ReasonRequired,
					"is required: every new version of an item says why it changes and on what document (修改说明)")
			}
			return cmd, nil
		},
		itemAnswer)
}

// mergeItem returns cur with the fields named by paths taken from patch;
// with no paths, every field set in patch (a list replaces the list).
func mergeItem(cur, patch *yizhanv1.Item, paths []string) *yizhanv1.Item {
	next := proto.CloneOf(cur)
	dst, src := next.ProtoReflect(), patch.ProtoReflect()
	fields := src.Descriptor().Fields()
	set := func(fd protoreflect.FieldDescriptor) {
		if outputOnlyItemFields[string(fd.Name())] {
			return
		}
		if src.Has(fd) {
			dst.Set(fd, src.Get(fd))
		} else {
			dst.Clear(fd)
		}
	}
	if len(paths) == 0 {
		for i := range fields.Len() {
			if fd := fields.Get(i); src.Has(fd) {
				set(fd)
			}
		}
		return next
	}
	for _, p := range paths {
		set(fields.ByName(protoreflect.Name(p)))
	}
	return next
}

func (s *registryService) ListItemVersions(_ context.Context, req *yizhanv1.ListItemVersionsRequest) (*yizhanv1.ListItemVersionsResponse, error) {
	size, err := pageSizeOf(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	meta, err := s.readMeta(req.GetMinIndex())
	if err != nil {
		return nil, err
	}
	vs, err := s.n.office.Registry().ItemVersions(req.GetCode())
	if err != nil {
		return nil, toStatus(err)
	}
	// Versions are numbered from 1, oldest first: a page goes on after
	// the last version of the page before.
	pages := queryOf("ListItemVersions", req.GetCode())
	pos, err := pages.position(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	if pos != "" {
		after, err := strconv.ParseUint(pos, 10, 32)
		if err != nil {
			return nil, errBadPageToken()
		}
		vs = slices.DeleteFunc(vs, func(v *yizhanv1.Item) bool { return uint64(v.GetVersion()) <= after })
	}
	resp := &yizhanv1.ListItemVersionsResponse{Meta: s.stamped(meta)}
	if len(vs) > size {
		vs = vs[:size]
		resp.NextPageToken = pages.token(strconv.FormatUint(uint64(vs[size-1].GetVersion()), 10))
	}
	resp.Versions = vs
	return resp, nil
}

// --- grants ---

// ListGrants lists grants oldest first, a page at a time: a page goes on
// after the last grant of the page before (its id is the position its
// token holds), so a grant created or revoked between pages neither
// repeats one nor skips one (a new grant comes last).
func (s *registryService) ListGrants(_ context.Context, req *yizhanv1.ListGrantsRequest) (*yizhanv1.ListGrantsResponse, error) {
	size, err := pageSizeOf(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	if oc := req.GetOfficeCode(); oc != "" {
		if err := registry.ValidCode(oc); err != nil {
			return nil, fieldError("office_code", registry.ReasonInvalidFormat, reason.Meta{"format": "DIVISION_CODE"}, err.Error())
		}
	}
	pages := queryOf("ListGrants", req.GetItemCode(), req.GetOfficeCode(), req.GetIncludeInactive())
	after, err := pages.position(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	if after != "" && !s.grantToken(after) {
		return nil, errBadPageToken()
	}
	meta, err := s.readMeta(req.GetMinIndex())
	if err != nil {
		return nil, err
	}
	gs := s.n.office.Registry().GrantsView(registry.GrantFilter{
		ItemCode: req.GetItemCode(), OfficeCode: req.GetOfficeCode(),
		IncludeInactive: req.GetIncludeInactive(), At: s.n.now(), After: after,
	})
	resp := &yizhanv1.ListGrantsResponse{Meta: s.stamped(meta)}
	if len(gs) > size {
		gs = gs[:size]
		resp.NextPageToken = pages.token(gs[size-1].GetId())
	}
	resp.Grants = make([]*yizhanv1.Grant, len(gs))
	for i, g := range gs {
		resp.Grants[i] = proto.CloneOf(g) // the registry's own: see GrantsView
	}
	return resp, nil
}

// grantToken reports whether t may be the position of a ListGrants page
// token: a grant's id, as the registry makes them ("g" and the index
// that created it: one this node has not replicated yet too) or as it
// holds one.
func (s *registryService) grantToken(t string) bool {
	if len(t) < 2 || len(t) > 128 {
		return false
	}
	if t[0] == 'g' && len(t) <= 21 && strings.Trim(t[1:], "0123456789") == "" {
		return true
	}
	_, err := s.n.office.Registry().Grant(t)
	return err == nil
}

func (s *registryService) CreateGrant(ctx context.Context, req *yizhanv1.CreateGrantRequest) (*yizhanv1.GrantWriteResponse, error) {
	return write(ctx, s, req,
		func(ctx context.Context, c yizhanv1.RegistryServiceClient) (*yizhanv1.GrantWriteResponse, error) {
			return c.CreateGrant(ctx, req)
		},
		func(p *auth.Principal) (*peerv1.RegistryCommand, error) {
			return s.command(p, &peerv1.CreateGrant{Grant: req.GetGrant()}), nil
		},
		grantAnswer)
}

func grantAnswer(v proto.Message, index uint64) *yizhanv1.GrantWriteResponse {
	return &yizhanv1.GrantWriteResponse{Grant: v.(*yizhanv1.Grant), RegistryIndex: index}
}

func (s *registryService) RevokeGrant(ctx context.Context, req *yizhanv1.RevokeGrantRequest) (*yizhanv1.GrantWriteResponse, error) {
	if req.GetId() == "" {
		return nil, fieldReasonError("id", registry.ReasonRequired, "is required")
	}
	return write(ctx, s, req,
		func(ctx context.Context, c yizhanv1.RegistryServiceClient) (*yizhanv1.GrantWriteResponse, error) {
			return c.RevokeGrant(ctx, req)
		},
		func(p *auth.Principal) (*peerv1.RegistryCommand, error) {
			return s.command(p, &peerv1.RevokeGrant{Id: req.GetId()}), nil
		},
		grantAnswer)
}

// --- calendar ---

func checkYear(y int32) error {
	if y < 2000 || y > 2100 {
		return fieldError("year", registry.ReasonOutOfRange, reason.Meta{"min": "2000", "max": "2100", "got": reason.Itoa(y)},
			fmt.Sprintf("must be between 2000 and 2100, got %d", y))
	}
	return nil
}

func (s *registryService) GetCalendar(_ context.Context, req *yizhanv1.GetCalendarRequest) (*yizhanv1.GetCalendarResponse, error) {
	if err := checkYear(req.GetYear()); err != nil {
		return nil, err
	}
	meta, err := s.readMeta(req.GetMinIndex())
	if err != nil {
		return nil, err
	}
	return &yizhanv1.GetCalendarResponse{Calendar: s.n.office.Registry().Calendar(int(req.GetYear())), Meta: s.stamped(meta)}, nil
}

func (s *registryService) PutCalendar(ctx context.Context, req *yizhanv1.PutCalendarRequest) (*yizhanv1.PutCalendarResponse, error) {
	if err := checkYear(req.GetYear()); err != nil {
		return nil, err
	}
	if y := req.GetCalendar().GetYear(); y != 0 && y != req.GetYear() {
		return nil, fieldError("calendar.year", reason.Mismatch, reason.Meta{"want": reason.Itoa(req.GetYear())}, fmt.Sprintf("is %d but the path names %d", y, req.GetYear()))
	}
	return write(ctx, s, req,
		func(ctx context.Context, c yizhanv1.RegistryServiceClient) (*yizhanv1.PutCalendarResponse, error) {
			return c.PutCalendar(ctx, req)
		},
		func(p *auth.Principal) (*peerv1.RegistryCommand, error) {
			cal := proto.CloneOf(req.GetCalendar())
			if cal == nil {
				cal = &yizhanv1.Calendar{}
			}
			cal.Year = req.GetYear()
			return s.command(p, &peerv1.PutCalendar{Calendar: cal, BaseRegistryIndex: req.BaseRegistryIndex}), nil
		},
		func(v proto.Message, index uint64) *yizhanv1.PutCalendarResponse {
			return &yizhanv1.PutCalendarResponse{Calendar: v.(*yizhanv1.Calendar), RegistryIndex: index}
		})
}

// --- the supervision policy ---

func (s *registryService) GetSupervisionPolicy(_ context.Context, req *yizhanv1.GetSupervisionPolicyRequest) (*yizhanv1.GetSupervisionPolicyResponse, error) {
	meta, err := s.readMeta(req.GetMinIndex())
	if err != nil {
		return nil, err
	}
	return &yizhanv1.GetSupervisionPolicyResponse{Policy: s.n.office.Registry().SupervisionPolicy(), Meta: s.stamped(meta)}, nil
}

func (s *registryService) PutSupervisionPolicy(ctx context.Context, req *yizhanv1.PutSupervisionPolicyRequest) (*yizhanv1.PutSupervisionPolicyResponse, error) {
	return write(ctx, s, req,
		func(ctx context.Context, c yizhanv1.RegistryServiceClient) (*yizhanv1.PutSupervisionPolicyResponse, error) {
			return c.PutSupervisionPolicy(ctx, req)
		},
		func(p *auth.Principal) (*peerv1.RegistryCommand, error) {
			policy := proto.CloneOf(req.GetPolicy())
			if policy != nil {
				policy.RegistryIndex = 0
			}
			return s.command(p, &peerv1.PutSupervisionPolicy{Policy: policy}), nil
		},
		func(v proto.Message, index uint64) *yizhanv1.PutSupervisionPolicyResponse {
			return &yizhanv1.PutSupervisionPolicyResponse{Policy: v.(*yizhanv1.SupervisionPolicy), RegistryIndex: index}
		})
}

// --- the duty policy ---

func (s *registryService) GetDutyPolicy(_ context.Context, req *yizhanv1.GetDutyPolicyRequest) (*yizhanv1.GetDutyPolicyResponse, error) {
	meta, err := s.readMeta(req.GetMinIndex())
	if err != nil {
		return nil, err
	}
	return &yizhanv1.GetDutyPolicyResponse{Policy: s.n.office.Registry().DutyPolicy(), Meta: s.stamped(meta)}, nil
}

func (s *registryService) PutDutyPolicy(ctx context.Context, req *yizhanv1.PutDutyPolicyRequest) (*yizhanv1.PutDutyPolicyResponse, error) {
	return write(ctx, s, req,
		func(ctx context.Context, c yizhanv1.RegistryServiceClient) (*yizhanv1.PutDutyPolicyResponse, error) {
			return c.PutDutyPolicy(ctx, req)
		},
		func(p *auth.Principal) (*peerv1.RegistryCommand, error) {
			policy := proto.CloneOf(req.GetPolicy())
			if policy != nil {
				policy.RegistryIndex = 0
			}
			return s.command(p, &peerv1.PutDutyPolicy{Policy: policy}), nil
		},
		func(v proto.Message, index uint64) *yizhanv1.PutDutyPolicyResponse {
			return &yizhanv1.PutDutyPolicyResponse{Policy: v.(*yizhanv1.DutyPolicy), RegistryIndex: index}
		})
}

// --- the case policy ---

func (s *registryService) GetCasePolicy(_ context.Context, req *yizhanv1.GetCasePolicyRequest) (*yizhanv1.GetCasePolicyResponse, error) {
	meta, err := s.readMeta(req.GetMinIndex())
	if err != nil {
		return nil, err
	}
	return &yizhanv1.GetCasePolicyResponse{Policy: s.n.office.Registry().CasePolicy(), Meta: s.stamped(meta)}, nil
}

func (s *registryService) PutCasePolicy(ctx context.Context, req *yizhanv1.PutCasePolicyRequest) (*yizhanv1.PutCasePolicyResponse, error) {
	return write(ctx, s, req,
		func(ctx context.Context, c yizhanv1.RegistryServiceClient) (*yizhanv1.PutCasePolicyResponse, error) {
			return c.PutCasePolicy(ctx, req)
		},
		func(p *auth.Principal) (*peerv1.RegistryCommand, error) {
			policy := proto.CloneOf(req.GetPolicy())
			if policy != nil {
				policy.RegistryIndex = 0
			}
			return s.command(p, &peerv1.PutCasePolicy{Policy: policy}), nil
		},
		func(v proto.Message, index uint64) *yizhanv1.PutCasePolicyResponse {
			return &yizhanv1.PutCasePolicyResponse{Policy: v.(*yizhanv1.CasePolicy), RegistryIndex: index}
		})
}

// --- staff ---

func (s *registryService) ListStaff(ctx context.Context, req *yizhanv1.ListStaffRequest) (*yizhanv1.ListStaffResponse, error) {
	p, err := s.n.authn.FromContext(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	office := req.GetOfficeCode()
	countyAdmin := p.Has(yizhanv1.Role_ROLE_ADMIN) && p.Office == federation.CountyOf(p.Office)
	if !countyAdmin {
		if office != "" && office != p.Office {
			return nil, toStatus(fmt.Errorf("%w: %s may list the staff of office %s only", auth.ErrPermissionDenied, p.Username, p.Office))
		}
		office = p.Office
	}
	meta, err := s.readMeta(req.GetMinIndex())
	if err != nil {
		return nil, err
	}
	return &yizhanv1.ListStaffResponse{Staff: s.n.office.Registry().StaffList(office), Meta: s.stamped(meta)}, nil
}

func (s *registryService) CreateStaff(ctx context.Context, req *yizhanv1.CreateStaffRequest) (*yizhanv1.StaffWriteResponse, error) {
	if v := registry.CheckLine("password", req.GetPassword(), registry.MaxPasswordLen); v != nil {
		return nil, invalidArgument(*v)
	}
	if n := len([]rune(req.GetPassword())); n < auth.MinPasswordLength {
		return nil, fieldError("password", registry.ReasonTooShort, reason.Meta{"min": reason.Itoa(auth.MinPasswordLength)},
			fmt.Sprintf("must have at least %d characters", auth.MinPasswordLength))
	}
	return write(ctx, s, req,
		func(ctx context.Context, c yizhanv1.RegistryServiceClient) (*yizhanv1.StaffWriteResponse, error) {
			return c.CreateStaff(ctx, req)
		},
		func(p *auth.Principal) (*peerv1.RegistryCommand, error) {
			cs := &peerv1.CreateStaff{Staff: req.GetStaff()}
			// Check before the costly hash, so bad input answers at once.
			if err := s.n.office.Registry().Check(s.command(p, &peerv1.CreateStaff{Staff: req.GetStaff(),
				Credential: &peerv1.StaffCredential{Username: req.GetStaff().GetUsername(), PasswordHash: "pending"}})); err != nil {
				return nil, err
			}
			hash, err := auth.HashPassword(req.GetPassword())
			if err != nil {
				return nil, err
			}
			cs.Credential = &peerv1.StaffCredential{Username: req.GetStaff().GetUsername(), PasswordHash: hash}
			return s.command(p, cs), nil
		},
		func(v proto.Message, index uint64) *yizhanv1.StaffWriteResponse {
			return &yizhanv1.StaffWriteResponse{Staff: v.(*yizhanv1.StaffMember), RegistryIndex: index}
		})
}

// checkNewPassword checks a password an admin or the staff member sets.
func checkNewPassword(field, pw string) error {
	if v := registry.CheckLine(field, pw, registry.MaxPasswordLen); v != nil {
		return invalidArgument(*v)
	}
	if n := len([]rune(pw)); n < auth.MinPasswordLength {
		return fieldError(field, registry.ReasonTooShort, reason.Meta{"min": reason.Itoa(auth.MinPasswordLength)},
			fmt.Sprintf("must have at least %d characters", auth.MinPasswordLength))
	}
	return nil
}

// UpdateStaff changes a staff member as a county admin asks: the name,
// the department, the roles, disabled (the account's tokens stop working
// at each node as the registry reaches it), and a new password, which the
// staff member must change at the next sign-in.
func (s *registryService) UpdateStaff(ctx context.Context, req *yizhanv1.UpdateStaffRequest) (*yizhanv1.StaffWriteResponse, error) {
	if req.GetNewPassword() != "" {
		if err := checkNewPassword("new_password", req.GetNewPassword()); err != nil {
			return nil, err
		}
	}
	return write(ctx, s, req,
		func(ctx context.Context, c yizhanv1.RegistryServiceClient) (*yizhanv1.StaffWriteResponse, error) {
			return c.UpdateStaff(ctx, req)
		},
		func(p *auth.Principal) (*peerv1.RegistryCommand, error) {
			held, err := s.n.office.Registry().Staff(req.GetUsername())
			if err != nil {
				return nil, err
			}
			m := proto.CloneOf(req.GetStaff())
			if m == nil {
				m = &yizhanv1.StaffMember{}
			}
			// The office stays (one asked for is checked against it), and
			// is named so that the feed sends a new password only where
			// the staff member may sign in.
			if m.GetOfficeCode() == "" {
				m.OfficeCode = held.GetOfficeCode()
			}
			m.Username, m.MustChangePassword = req.GetUsername(), false // the registry decides it (a reset sets it)
			u := &peerv1.UpdateStaff{Staff: m}
			if err := s.n.office.Registry().Check(s.command(p, u)); err != nil {
				return nil, err
			}
			if pw := req.GetNewPassword(); pw != "" {
				hash, err := auth.HashPassword(pw)
				if err != nil {
					return nil, err
				}
				u.Credential = &peerv1.StaffCredential{Username: m.GetUsername(), PasswordHash: hash}
			}
			return s.command(p, u), nil
		},
		func(v proto.Message, index uint64) *yizhanv1.StaffWriteResponse {
			return &yizhanv1.StaffWriteResponse{Staff: v.(*yizhanv1.StaffMember), RegistryIndex: index}
		})
}

// ChangePassword is a staff member changing their own password with the
// one they have: no token (an account whose password an admin reset has
// none). The county's leader checks the old password, within the sign-in
// limits, and writes the new one; any other node passes it there.
func (s *registryService) ChangePassword(ctx context.Context, req *yizhanv1.ChangePasswordRequest) (*yizhanv1.StaffWriteResponse, error) {
	username := strings.TrimSpace(req.GetUsername())
	if username == "" {
		return nil, fieldReasonError("username", registry.ReasonRequired, "is required")
	}
	if v := registry.CheckLine("username", username, registry.MaxCodeLen); v != nil {
		return nil, invalidArgument(*v)
	}
	if req.GetOldPassword() == "" {
		return nil, fieldReasonError("old_password", registry.ReasonRequired, "is required")
	}
	if err := checkNewPassword("new_password", req.GetNewPassword()); err != nil {
		return nil, err
	}
	if req.GetNewPassword() == req.GetOldPassword() {
		return nil, fieldError("new_password", reason.Mismatch, nil, "must differ from the old password")
	}
	ctx = pinClientAddr(ctx)
	o := s.n.office
	if !o.IsCounty() || !o.Group().IsLeader() {
		var resp *yizhanv1.StaffWriteResponse
		err := o.ForwardRegistry(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
			var err error
			resp, err = yizhanv1.NewRegistryServiceClient(conn).ChangePassword(passClientAddr(ctx), req)
			return err
		})
		return resp, err
	}
	// The request's hash leaves the passwords out; a retry of a change
	// made answers as it did, before the old password (no longer it) is
	// checked again, to whoever knows the password it set (below): the
	// request ID alone proves nothing.
	r, err := clientRequest(ctx, "ChangePassword", withoutSecrets(req))
	if err != nil {
		return nil, err
	}
	w, err := s.n.svc.WriteRegistry(ctx, office.RegistryWrite{Request: r, Build: func() (*peerv1.RegistryCommand, error) {
		staff, err := o.Registry().Staff(username)
		if err != nil {
			staff = nil
		}
		if err := s.n.verifyPassword(ctx, username, req.GetOldPassword(), staff); err != nil {
			return nil, err
		}
		hash, err := auth.HashPassword(req.GetNewPassword())
		if err != nil {
			return nil, err
		}
		self := &auth.Principal{Username: username}
		return s.command(self, &peerv1.UpdateStaff{PasswordOnly: true,
			Staff:      &yizhanv1.StaffMember{Username: username, OfficeCode: staff.GetOfficeCode()},
			Credential: &peerv1.StaffCredential{Username: username, PasswordHash: hash}}), nil
	}})
	if err != nil {
		return nil, toStatus(err)
	}
	if w.Replayed {
		staff, err := o.Registry().Staff(username)
		if err != nil {
			staff = nil
		}
		if err := s.n.verifyPassword(ctx, username, req.GetNewPassword(), staff); err != nil {
			return nil, err
		}
		markReplayed(ctx)
	}
	return &yizhanv1.StaffWriteResponse{Staff: w.Value.(*yizhanv1.StaffMember), RegistryIndex: w.Index}, nil
}

// --- nodes and status ---

func (s *registryService) ListNodes(ctx context.Context, req *yizhanv1.ListNodesRequest) (*yizhanv1.ListNodesResponse, error) {
	if _, err := s.n.authn.FromContext(ctx); err != nil {
		return nil, toStatus(err)
	}
	meta, err := s.readMeta(req.GetMinIndex())
	if err != nil {
		return nil, err
	}
	return &yizhanv1.ListNodesResponse{Nodes: s.n.office.Registry().Nodes(req.GetOfficeCode()), Meta: s.stamped(meta)}, nil
}

func (s *registryService) GetRegistryStatus(context.Context, *yizhanv1.GetRegistryStatusRequest) (*yizhanv1.RegistryStatus, error) {
	return s.n.registryStatus(), nil
}

// --- the audit trail ---

// auditKinds are the kinds of registry write (RegistryChange.kind).
var auditKinds = map[string]bool{
	"office": true, "department": true, "item": true, "grant": true, "staff": true, "calendar": true,
	"node": true, "supervision_policy": true, "duty_policy": true, "case_policy": true, "query_code_key": true,
}

const (
	defaultChangesPageSize = 50
	maxChangesPageSize     = 500
)

// ListRegistryChanges reads the county's audit trail, which the county's
// nodes keep in their case books: a county admin's or supervisor's, at a
// county node.
func (s *registryService) ListRegistryChanges(ctx context.Context, req *yizhanv1.ListRegistryChangesRequest) (*yizhanv1.ListRegistryChangesResponse, error) {
	p, err := s.n.authn.FromContext(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	county := federation.CountyOf(p.Office)
	if p.Office != county || !(p.Has(yizhanv1.Role_ROLE_ADMIN) || p.Has(yizhanv1.Role_ROLE_SUPERVISOR)) {
		return nil, toStatus(fmt.Errorf("%w: the registry's audit trail is for the county's admins and supervisors", auth.ErrPermissionDenied))
	}
	if s.n.office.Code() != county {
		return nil, reason.Status(reason.FailedPrecondition, fmt.Sprintf("the registry's audit trail is kept at the county's nodes (office %s), not at office %s", county, s.n.office.Code()),
			reason.Meta{"office": county}, 0).Err()
	}
	if k := req.GetKind(); k != "" && !auditKinds[k] {
		return nil, fieldError("kind", registry.ReasonInvalidFormat, reason.Meta{"format": "REGISTRY_KIND"}, "is not a kind of registry entry (office, department, item, grant, staff, calendar, node, …)")
	}
	if req.GetTarget() != "" && req.GetKind() == "" {
		return nil, fieldReasonError("kind", registry.ReasonRequired, "is required with target")
	}
	for _, f := range []struct{ name, value string }{{"target", req.GetTarget()}, {"actor", req.GetActor()}} {
		if v := registry.CheckLine(f.name, f.value, registry.MaxNameLen); v != nil {
			return nil, invalidArgument(*v)
		}
	}
	size, err := pageSizeWithin(req.GetPageSize(), defaultChangesPageSize, maxChangesPageSize)
	if err != nil {
		return nil, err
	}
	pages := queryOf("ListRegistryChanges", req.GetKind(), req.GetTarget(), req.GetActor())
	pos, err := pages.position(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	var below uint64
	if pos != "" {
		if below, err = strconv.ParseUint(pos, 10, 64); err != nil || below == 0 {
			return nil, errBadPageToken()
		}
	}
	changes, next, err := s.n.office.Cases().RegistryChanges(casebook.ChangesQuery{
		Kind: req.GetKind(), Target: req.GetTarget(), Actor: req.GetActor(), Below: below, Limit: size})
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &yizhanv1.ListRegistryChangesResponse{Changes: changes}
	if next > 0 {
		resp.NextPageToken = pages.token(strconv.FormatUint(next, 10))
	}
	return resp, nil
}
