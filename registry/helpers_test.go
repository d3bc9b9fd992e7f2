package registry

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The test county: 武鸣 with one township, two villages of it and a second
// township without villages.
const (
	county    = "450122000000"
	township  = "450122101000"
	village   = "450122101203"
	village2  = "450122101204"
	township2 = "450122102000"
)

// t0 is the time of the commands the tests make.
var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, CST)

const testHash = "$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"

func command(actor string) *peerv1.RegistryCommand {
	return &peerv1.RegistryCommand{AtUnixNano: t0.UnixNano(), Actor: actor}
}

func createOffice(o *yizhanv1.Office) *peerv1.RegistryCommand {
	c := command("admin")
	c.Op = &peerv1.RegistryCommand_CreateOffice{CreateOffice: &peerv1.CreateOffice{Office: o}}
	return c
}

func createDepartment(d *yizhanv1.Department) *peerv1.RegistryCommand {
	c := command("admin")
	c.Op = &peerv1.RegistryCommand_CreateDepartment{CreateDepartment: &peerv1.CreateDepartment{Department: d}}
	return c
}

func createItem(it *yizhanv1.Item) *peerv1.RegistryCommand {
	c := command("admin")
	c.Op = &peerv1.RegistryCommand_CreateItem{CreateItem: &peerv1.CreateItem{Item: it}}
	return c
}

func updateItem(it *yizhanv1.Item, base uint32) *peerv1.RegistryCommand {
	c := command("editor")
	c.Op = &peerv1.RegistryCommand_UpdateItem{UpdateItem: &peerv1.UpdateItem{Item: it, BaseVersion: base}}
	return c
}

func createGrant(g *yizhanv1.Grant) *peerv1.RegistryCommand {
	c := command("admin")
	c.Op = &peerv1.RegistryCommand_CreateGrant{CreateGrant: &peerv1.CreateGrant{Grant: g}}
	return c
}

func revokeGrant(id string) *peerv1.RegistryCommand {
	c := command("admin")
	c.Op = &peerv1.RegistryCommand_RevokeGrant{RevokeGrant: &peerv1.RevokeGrant{Id: id}}
	return c
}

func createStaff(m *yizhanv1.StaffMember, cred *peerv1.StaffCredential) *peerv1.RegistryCommand {
	c := command("admin")
	c.Op = &peerv1.RegistryCommand_CreateStaff{CreateStaff: &peerv1.CreateStaff{Staff: m, Credential: cred}}
	return c
}

func putCalendar(cal *yizhanv1.Calendar) *peerv1.RegistryCommand {
	c := command("admin")
	c.Op = &peerv1.RegistryCommand_PutCalendar{PutCalendar: &peerv1.PutCalendar{Calendar: cal}}
	return c
}

func putNode(n *yizhanv1.NodeEntry) *peerv1.RegistryCommand {
	c := command("node:county-1")
	c.Op = &peerv1.RegistryCommand_PutNode{PutNode: &peerv1.PutNode{Node: n}}
	return c
}

// validItem is a promised licence of department scjg, exercised at the
// county.
func validItem(code string) *yizhanv1.Item {
	return &yizhanv1.Item{
		Code:               code,
		Name:               "烟草专卖零售许可证核发",
		Type:               yizhanv1.ItemType_ITEM_TYPE_LICENCE,
		DepartmentCode:     "scjg",
		LegalBasis:         "《烟草专卖法》",
		Materials:          []*yizhanv1.Material{{Name: "申请表", Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL, Copies: 1, Required: true}},
		Steps:              []*yizhanv1.ProcedureStep{{Name: "受理", LimitDays: 1}, {Name: "审批", LimitDays: 8}},
		StatutoryLimitDays: 20,
		PromisedLimitDays:  10,
		FeeCents:           0,
		CaseKind:           yizhanv1.CaseKind_CASE_KIND_PROMISED,
		ExerciseTier:       yizhanv1.Tier_TIER_COUNTY,
		SpecialProcedures:  []*yizhanv1.SpecialProcedure{{Name: "现场勘查", LimitDays: 5}},
		Visits:             1,
	}
}

func validStaff(username, office string) *yizhanv1.StaffMember {
	return &yizhanv1.StaffMember{Username: username, Name: "张三", OfficeCode: office, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}
}

func cred(username string) *peerv1.StaffCredential {
	return &peerv1.StaffCredential{Username: username, PasswordHash: testHash + "-" + username}
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// mustApply applies cmd at the next index and fails the test on error.
func mustApply(t testing.TB, r *Registry, cmd *peerv1.RegistryCommand) proto.Message {
	t.Helper()
	out, err := r.Apply(r.Index()+1, cmd)
	if err != nil {
		t.Fatalf("apply %v: %v", cmd, err)
	}
	return out
}

// newCounty returns a registry holding the test county's offices and the
// departments scjg (市场监管) and sw (税务).
func newCounty(t testing.TB) *Registry {
	t.Helper()
	r := New(Options{})
	for _, o := range []*yizhanv1.Office{
		{Code: county, Name: "武鸣区政务服务中心"},
		{Code: township, Name: "城厢镇便民服务中心", ParentCode: county},
		{Code: township2, Name: "双桥镇便民服务中心"},
		{Code: village, Name: "东村便民服务站", ParentCode: township},
		{Code: village2, Name: "西村便民服务站"},
	} {
		mustApply(t, r, createOffice(o))
	}
	mustApply(t, r, createDepartment(&yizhanv1.Department{Code: "scjg", Name: "市场监督管理局"}))
	mustApply(t, r, createDepartment(&yizhanv1.Department{Code: "sw", Name: "税务局"}))
	return r
}

// rejected applies cmd, expecting it to fail, and checks that Check agrees
// and that nothing changed: not the index, not the changelog, not the
// state. It returns Apply's error.
func rejected(t *testing.T, r *Registry, cmd *peerv1.RegistryCommand) error {
	t.Helper()
	before := r.Snapshot()
	checkErr := r.Check(cmd)
	_, err := r.Apply(r.Index()+1, cmd)
	if err == nil {
		t.Fatalf("Apply succeeded, want an error")
	}
	if checkErr == nil || checkErr.Error() != err.Error() {
		t.Errorf("Check = %v, Apply = %v: want the same error", checkErr, err)
	}
	if after := r.Snapshot(); !proto.Equal(before, after) {
		t.Errorf("a rejected command changed the registry (index %d → %d)", before.GetIndex(), after.GetIndex())
	}
	return err
}

// wantViolation fails unless err is a *ValidationError naming field.
func wantViolation(t *testing.T, err error, field string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *ValidationError, want a violation of %s", err, field)
	}
	if !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("errors.Is(%v, ErrInvalidArgument) = false", err)
	}
	fields := make([]string, len(ve.Violations))
	for i, v := range ve.Violations {
		fields[i] = v.Field
		if v.Description == "" {
			t.Errorf("violation of %s has no description", v.Field)
		}
	}
	if !slices.Contains(fields, field) {
		t.Errorf("violations %q, want one of %s (%v)", fields, field, err)
	}
}

// wantError checks err against either a violated field or a sentinel.
func wantError(t *testing.T, err error, field string, sentinel error) {
	t.Helper()
	switch {
	case sentinel != nil:
		if !errors.Is(err, sentinel) {
			t.Errorf("error %v, want %v", err, sentinel)
		}
	default:
		wantViolation(t, err, field)
	}
}

// description returns the description of the violation of field.
func description(err error, field string) string {
	var ve *ValidationError
	if errors.As(err, &ve) {
		for _, v := range ve.Violations {
			if v.Field == field {
				return v.Description
			}
		}
	}
	return ""
}

func mustContain(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%q does not contain %q", s, sub)
		}
	}
}

// fullCounty returns a registry that has seen every kind of command, with
// gaps between indexes as the county's raft log has them.
func fullCounty(t testing.TB, opts Options) *Registry {
	t.Helper()
	r := New(opts)
	index := uint64(0)
	apply := func(cmd *peerv1.RegistryCommand) proto.Message {
		t.Helper()
		index += 2 // other raft entries between registry commands
		out, err := r.Apply(index, cmd)
		if err != nil {
			t.Fatalf("apply at %d: %v", index, err)
		}
		return out
	}
	for _, o := range []*yizhanv1.Office{
		{Code: county, Name: "县政务服务中心"},
		{Code: township, Name: "城厢镇"},
		{Code: township2, Name: "双桥镇"},
		{Code: village, Name: "东村"},
		{Code: village2, Name: "西村"},
	} {
		apply(createOffice(o))
	}
	apply(createDepartment(&yizhanv1.Department{Code: "scjg", Name: "市场监督管理局"}))
	apply(createDepartment(&yizhanv1.Department{Code: "sw", Name: "税务局"}))
	apply(createItem(validItem("YC")))
	joint := validItem("JOINT")
	joint.CaseKind = yizhanv1.CaseKind_CASE_KIND_JOINT
	joint.CoDepartmentCodes = []string{"sw"}
	apply(createItem(joint))
	v2 := validItem("YC")
	v2.PromisedLimitDays = 7
	apply(updateItem(v2, 1))
	g := apply(createGrant(&yizhanv1.Grant{ItemCode: "YC", Tier: yizhanv1.Tier_TIER_VILLAGE, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_PROXY_FILE}})).(*yizhanv1.Grant)
	apply(createGrant(&yizhanv1.Grant{ItemCode: "YC", OfficeCode: county, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_APPROVE}}))
	apply(revokeGrant(g.GetId()))
	apply(createStaff(validStaff("county.admin", county), cred("county.admin")))
	apply(createStaff(validStaff("town.clerk", township), cred("town.clerk")))
	apply(createStaff(validStaff("east.agent", village), cred("east.agent")))
	apply(createStaff(validStaff("west.agent", village2), cred("west.agent")))
	apply(putCalendar(&yizhanv1.Calendar{Year: 2027, Days: []*yizhanv1.CalendarDay{{Date: "2027-01-04", Kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, Name: "x"}}}))
	apply(putNode(&yizhanv1.NodeEntry{Name: "county-1", OfficeCode: county, RaftAddress: "c1:7000", PeerAddress: "c1:7001"}))
	apply(putNode(&yizhanv1.NodeEntry{Name: "east-1", OfficeCode: village, RaftAddress: "e1:7000", PeerAddress: "e1:7001"}))
	return r
}
