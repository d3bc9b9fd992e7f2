package casework

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/yizhan-gov/yizhan/registry"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The test county: 武鸣 with township 城厢镇 and its villages 东村 and 西村.
const (
	county   = "450122000000"
	township = "450122101000"
	village  = "450122101203"
	village2 = "450122101204"
)

// The items.
const (
	tobacco   = "YC-LSXK" // county licence, 20/10 working days
	joint     = "SP-JY"   // joint: lead scjg, co-departments sw and xf
	townItem  = "ZJ-NCJF" // delegated to the township: ACCEPT, REVIEW, APPROVE
	immediate = "ZM-JB"   // immediate, with a fee
)

// regAt is when the registry's commands were made; grants run from then.
var regAt = time.Date(2024, 12, 1, 9, 0, 0, 0, registry.CST)

// t0 is when the tests' cases are filed: Monday 3 March 2025, 09:00 CST.
var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, registry.CST)

func cst(y int, m time.Month, d, h int) time.Time {
	return time.Date(y, m, d, h, 0, 0, 0, registry.CST)
}

var (
	right = struct{ accept, review, approve, certify, deliver, proxy yizhanv1.Right }{
		yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_REVIEW, yizhanv1.Right_RIGHT_APPROVE,
		yizhanv1.Right_RIGHT_CERTIFY, yizhanv1.Right_RIGHT_DELIVER, yizhanv1.Right_RIGHT_PROXY_FILE,
	}
	allRights = []yizhanv1.Right{right.accept, right.review, right.approve, right.certify, right.deliver}
)

// testReg wraps a registry with a helper to apply more commands.
type testReg struct {
	*registry.Registry
	t testing.TB
}

func (r *testReg) apply(cmd *peerv1.RegistryCommand) proto.Message {
	r.t.Helper()
	if cmd.AtUnixNano == 0 {
		cmd.AtUnixNano = regAt.UnixNano()
	}
	if cmd.Actor == "" {
		cmd.Actor = "county.admin"
	}
	out, err := r.Apply(r.Index()+1, cmd)
	if err != nil {
		r.t.Fatalf("registry apply %v: %v", cmd, err)
	}
	return out
}

func (r *testReg) grant(g *yizhanv1.Grant) *yizhanv1.Grant {
	r.t.Helper()
	return r.apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateGrant{CreateGrant: &peerv1.CreateGrant{Grant: g}}}).(*yizhanv1.Grant)
}

func (r *testReg) revoke(id string, at time.Time) {
	r.t.Helper()
	r.apply(&peerv1.RegistryCommand{AtUnixNano: at.UnixNano(), Op: &peerv1.RegistryCommand_RevokeGrant{RevokeGrant: &peerv1.RevokeGrant{Id: id}}})
}

func (r *testReg) item(code string) *yizhanv1.Item {
	r.t.Helper()
	it, err := r.Item(code, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	return it
}

var tobaccoMaterials = []string{"烟草专卖零售许可证申请表", "营业执照", "经营者身份证明", "经营场所使用证明", "委托书"}

// newReg returns the test county's registry: offices, departments, the
// four items, and grants: the county holds every right on every item
// (but CERTIFY on the township item), villages may proxy-file and deliver
// every item, the township item is delegated to the township (ACCEPT,
// REVIEW, APPROVE).
func newReg(t testing.TB) *testReg {
	t.Helper()
	r := &testReg{Registry: registry.New(registry.Options{}), t: t}
	for _, o := range []*yizhanv1.Office{
		{Code: county, Name: "武鸣区政务服务中心"},
		{Code: township, Name: "城厢镇便民服务中心"},
		{Code: village, Name: "东村便民服务站"},
		{Code: village2, Name: "西村便民服务站"},
	} {
		r.apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateOffice{CreateOffice: &peerv1.CreateOffice{Office: o}}})
	}
	for code, name := range map[string]string{"yc": "烟草专卖局", "scjg": "市场监督管理局", "sw": "税务局", "xf": "消防救援大队", "zrzy": "自然资源局", "mz": "民政局"} {
		r.apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateDepartment{CreateDepartment: &peerv1.CreateDepartment{Department: &yizhanv1.Department{Code: code, Name: name}}}})
	}
	var materials []*yizhanv1.Material
	for i, n := range tobaccoMaterials {
		materials = append(materials, &yizhanv1.Material{Name: n, Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL, Copies: 1, Required: i < 4})
	}
	items := []*yizhanv1.Item{
		{
			Code: tobacco, Name: "烟草专卖零售许可证核发", Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE, DepartmentCode: "yc",
			LegalBasis: "《中华人民共和国烟草专卖法》", Materials: materials,
			Steps:              []*yizhanv1.ProcedureStep{{Name: "受理", LimitDays: 1}, {Name: "审核", LimitDays: 5}, {Name: "审批", LimitDays: 3}, {Name: "制证", LimitDays: 1}},
			StatutoryLimitDays: 20, PromisedLimitDays: 10, CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
			SpecialProcedures: []*yizhanv1.SpecialProcedure{{Name: "现场勘查", LimitDays: 5}, {Name: "听证", LimitDays: 10, CountsInLimit: true}},
			FeeStandard:       "工本费每证 25 元", FeeCents: 2500,
		},
		{
			Code: joint, Name: "食品经营许可", Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE, DepartmentCode: "scjg", CoDepartmentCodes: []string{"sw", "xf"},
			Materials:          []*yizhanv1.Material{{Name: "食品经营许可申请书", Required: true}, {Name: "营业执照", Required: true}},
			StatutoryLimitDays: 20, PromisedLimitDays: 15, CaseKind: yizhanv1.CaseKind_CASE_KIND_JOINT, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
		},
		{
			Code: townItem, Name: "农村村民住宅建设审批", Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE, DepartmentCode: "zrzy",
			Materials:          []*yizhanv1.Material{{Name: "农村宅基地和建房申请表", Required: true}, {Name: "户口簿", Required: true}},
			StatutoryLimitDays: 20, PromisedLimitDays: 10, CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_TOWNSHIP,
		},
		{
			Code: immediate, Name: "婚姻登记记录证明", Type: yizhanv1.ItemType_ITEM_TYPE_PUBLIC_SERVICE, DepartmentCode: "mz",
			Materials:          []*yizhanv1.Material{{Name: "居民身份证", Required: true}},
			StatutoryLimitDays: 0, PromisedLimitDays: 0, FeeCents: 1000, CaseKind: yizhanv1.CaseKind_CASE_KIND_IMMEDIATE, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
		},
	}
	for _, it := range items {
		r.apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateItem{CreateItem: &peerv1.CreateItem{Item: it}}})
	}
	for _, code := range []string{tobacco, joint, immediate} {
		r.grant(&yizhanv1.Grant{ItemCode: code, OfficeCode: county, Rights: allRights})
		r.grant(&yizhanv1.Grant{ItemCode: code, Tier: yizhanv1.Tier_TIER_VILLAGE, Rights: []yizhanv1.Right{right.proxy, right.deliver}})
	}
	r.grant(&yizhanv1.Grant{ItemCode: townItem, OfficeCode: county, Rights: []yizhanv1.Right{right.accept, right.review, right.approve, right.deliver}})
	r.grant(&yizhanv1.Grant{ItemCode: townItem, Tier: yizhanv1.Tier_TIER_VILLAGE, Rights: []yizhanv1.Right{right.proxy, right.deliver}})
	r.grant(&yizhanv1.Grant{ItemCode: townItem, OfficeCode: township, Rights: []yizhanv1.Right{right.accept, right.review, right.approve}, Note: "下放乡镇"})
	return r
}

// idWithCheck completes 17 digits with their GB 11643 check character,
// computed as (12 - S mod 11) mod 11 with weights 2^(17-i) mod 11, 10
// written X.
func idWithCheck(first17 string) string {
	s := 0
	for i, c := range first17 {
		w := 1
		for range 17 - i {
			w = w * 2 % 11
		}
		s += int(c-'0') * w
	}
	check := (12 - s%11) % 11
	if check == 10 {
		return first17 + "X"
	}
	return first17 + fmt.Sprint(check)
}

func applicant() *yizhanv1.Applicant {
	return &yizhanv1.Applicant{Name: "韦小宝", IdNumber: idWithCheck("45012219850612301"), Phone: "13877112345", Address: "东村3组"}
}

func submitted(names ...string) []*yizhanv1.SubmittedMaterial {
	var out []*yizhanv1.SubmittedMaterial
	for _, n := range names {
		out = append(out, &yizhanv1.SubmittedMaterial{Name: n, Copies: 1})
	}
	return out
}

// Staff of the test county.
var (
	eastAgent     = Actor{Username: "east.agent", Name: "黄村代办", Office: village, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}}
	westAgent     = Actor{Username: "west.agent", Name: "蓝村代办", Office: village2, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}}
	townClerk     = Actor{Username: "town.clerk", Name: "镇窗口", Office: township, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}
	townReviewer  = Actor{Username: "town.reviewer", Name: "镇审核", Office: township, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_REVIEWER}}
	townApprover  = Actor{Username: "town.approver", Name: "镇审批", Office: township, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_APPROVER}}
	countyClerk   = Actor{Username: "county.clerk", Name: "县窗口", Office: county, Department: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}
	countyReview  = Actor{Username: "county.reviewer", Name: "县审核", Office: county, Department: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_REVIEWER}}
	countyApprove = Actor{Username: "county.approver", Name: "县审批", Office: county, Department: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_APPROVER}}
	taxReviewer   = Actor{Username: "sw.reviewer", Name: "税务", Office: county, Department: "sw", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_REVIEWER}}
	fireApprover  = Actor{Username: "xf.approver", Name: "消防", Office: county, Department: "xf", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_APPROVER}}
	countyHead    = Actor{Username: "yc.head", Name: "烟草局长", Office: county, Department: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DEPARTMENT_HEAD}}
	// The county's windows of the other departments (each acts on its
	// own items only).
	scjgClerk    = Actor{Username: "scjg.clerk", Name: "市监窗口", Office: county, Department: "scjg", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}
	scjgReviewer = Actor{Username: "scjg.reviewer", Name: "市监审核", Office: county, Department: "scjg", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_REVIEWER}}
	scjgApprover = Actor{Username: "scjg.approver", Name: "市监审批", Office: county, Department: "scjg", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_APPROVER}}
	mzClerk      = Actor{Username: "mz.clerk", Name: "民政窗口", Office: county, Department: "mz", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}
	mzReviewer   = Actor{Username: "mz.reviewer", Name: "民政审核", Office: county, Department: "mz", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_REVIEWER}}
	mzApprover   = Actor{Username: "mz.approver", Name: "民政审批", Office: county, Department: "mz", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_APPROVER}}
	zrzyClerk    = Actor{Username: "zrzy.clerk", Name: "自然资源窗口", Office: county, Department: "zrzy", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}
	citizen      = Actor{Name: "韦小宝", Citizen: true}
)

// world is a county of offices, each with its book, sharing one registry,
// passing messages as the nodes would.
type world struct {
	t     testing.TB
	reg   *testReg
	books map[string]*Book
	now   time.Time
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{t: t, reg: newReg(t), books: map[string]*Book{}, now: t0}
	for _, o := range []string{county, township, village, village2} {
		w.books[o] = NewBook(o)
	}
	return w
}

// tick moves the clock on and returns it.
func (w *world) tick() time.Time {
	w.now = w.now.Add(10 * time.Minute)
	return w.now
}

// appendEvent seals e after the book's log and applies it.
func (w *world) appendEvent(office string, e *yizhanv1.CaseEvent, number string) (*yizhanv1.Case, error) {
	b := w.books[office]
	prev := GenesisHash(number)
	if evs := b.Events(number); len(evs) > 0 {
		prev = evs[len(evs)-1].GetHash()
	}
	Seal(e, prev)
	out, err := b.Apply(&peerv1.CaseCommand{AtUnixNano: w.now.UnixNano(), Op: &peerv1.CaseCommand_Append{Append: &peerv1.AppendCaseEvents{CaseNumber: number, Events: []*yizhanv1.CaseEvent{e}}}}, w.reg)
	if err != nil {
		return nil, err
	}
	return out.(*yizhanv1.Case), nil
}

// file files a case of item at office by actor with the given materials
// and returns its number.
func (w *world) file(office, item string, actor Actor, materials ...string) string {
	w.t.Helper()
	b := w.books[office]
	at := w.tick()
	day := at.In(registry.CST).Format("20060102")
	number := CaseNumber(office, at, b.NextSeq(day))
	e, err := NewFiling(FileInput{
		Number: number, QueryCode: "q-" + number, Item: w.reg.item(item), Office: office,
		Applicant: applicant(), Materials: submitted(materials...), Actor: actor, At: at,
	}, w.reg)
	if err != nil {
		w.t.Fatalf("file %s at %s: %v", item, office, err)
	}
	if _, err := w.appendEvent(office, e, number); err != nil {
		w.t.Fatalf("append filing %s: %v", number, err)
	}
	return number
}

// do asks for action at office and appends the event.
func (w *world) do(office, number string, action Action, in *yizhanv1.CaseActionRequest, actor Actor) (*yizhanv1.Case, error) {
	c, ok := w.books[office].Case(number)
	if !ok {
		return nil, fmt.Errorf("office %s does not hold %s: %w", office, number, ErrNotFound)
	}
	e, err := NewEvent(c, w.books[office].Events(number), action, in, actor, office, w.tick(), w.reg)
	if err != nil {
		return nil, err
	}
	return w.appendEvent(office, e, number)
}

func (w *world) mustDo(office, number string, action Action, in *yizhanv1.CaseActionRequest, actor Actor) *yizhanv1.Case {
	w.t.Helper()
	c, err := w.do(office, number, action, in, actor)
	if err != nil {
		w.t.Fatalf("%s %s at %s: %v", action, number, office, err)
	}
	return c
}

// autos runs every office's automatic actions once; it reports whether
// any ran.
func (w *world) autos() bool {
	w.t.Helper()
	ran := false
	for _, o := range slices.Sorted(maps.Keys(w.books)) {
		b := w.books[o]
		for _, n := range b.NeedsAction() {
			c, _ := b.Case(n)
			action, to, ok := b.Pending(n)
			if !ok {
				w.t.Fatalf("NeedsAction lists %s at %s but Pending says no", n, o)
			}
			if _, err := w.appendEvent(o, NewAutoEvent(c, action, to, o, w.tick()), n); err != nil {
				w.t.Fatalf("%s %s at %s: %v", action, n, o, err)
			}
			ran = true
		}
	}
	return ran
}

// deliver sends every outbox entry of every office as the node would
// (Outbox → Message → Receive at the destination → Ack), and reports
// whether anything was sent.
func (w *world) deliver() bool {
	w.t.Helper()
	sent := false
	for _, o := range slices.Sorted(maps.Keys(w.books)) {
		b := w.books[o]
		for _, en := range b.Outbox() {
			dest, ok := w.books[en.GetDestOffice()]
			if !ok {
				w.t.Fatalf("outbox of %s names unknown office %s", o, en.GetDestOffice())
			}
			m, ok := b.Message(en)
			if !ok {
				w.t.Fatalf("outbox of %s names case %s it does not hold", o, en.GetCaseNumber())
			}
			r := receive(w.t, dest, w.reg, m)
			if r.GetRefused() != "" {
				w.t.Fatalf("%s refused %s from %s: %s", en.GetDestOffice(), en.GetCaseNumber(), o, r.GetRefused())
			}
			if r.GetHaveSeq() >= en.GetUptoSeq() {
				if _, err := b.Apply(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{Acks: []*peerv1.OutboxEntry{en}}}}, w.reg); err != nil {
					w.t.Fatal(err)
				}
			}
			sent = true
		}
	}
	return sent
}

// settle runs automatic actions and deliveries until nothing moves.
func (w *world) settle() {
	w.t.Helper()
	for range 50 {
		ran := w.autos()
		sent := w.deliver()
		if !ran && !sent {
			return
		}
	}
	w.t.Fatal("the offices did not settle")
}

func receive(t testing.TB, b *Book, reg Registry, msgs ...*peerv1.CaseMessage) *peerv1.CaseReceipt {
	t.Helper()
	out, err := b.Apply(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_Receive{Receive: &peerv1.ReceiveCaseMessages{Messages: msgs}}}, reg)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	rs := out.(*peerv1.DeliverCasesResponse).GetReceipts()
	if len(rs) != len(msgs) {
		t.Fatalf("%d receipts for %d messages", len(rs), len(msgs))
	}
	return rs[len(rs)-1]
}

// wantErr checks err against a sentinel and the substrings its message
// must hold.
func wantErr(t testing.TB, err, sentinel error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want %v", err, sentinel)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

// wantField checks that err is a *registry.ValidationError naming field.
func wantField(t testing.TB, err error, field string) {
	t.Helper()
	var ve *registry.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *registry.ValidationError naming %s", err, field)
	}
	if !errors.Is(err, registry.ErrInvalidArgument) {
		t.Errorf("errors.Is(%v, registry.ErrInvalidArgument) is false", err)
	}
	var fields []string
	for _, v := range ve.Violations {
		fields = append(fields, v.Field)
		if v.Description == "" {
			t.Errorf("violation of %s has no description", v.Field)
		}
	}
	if !slices.Contains(fields, field) {
		t.Errorf("violations of %q, want %s (%v)", fields, field, err)
	}
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// eventTypes lists the types of a log.
func eventTypes(events []*yizhanv1.CaseEvent) []yizhanv1.EventType {
	out := make([]yizhanv1.EventType, len(events))
	for i, e := range events {
		out[i] = e.GetType()
	}
	return out
}

func grantFilter(item, office string) registry.GrantFilter {
	return registry.GrantFilter{ItemCode: item, OfficeCode: office, At: t0}
}

func sorted(s ...string) []string { slices.Sort(s); return s }

func createItemCmd(it *yizhanv1.Item) *peerv1.RegistryCommand {
	return &peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateItem{CreateItem: &peerv1.CreateItem{Item: it}}}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// unwrapInvalid returns registry.ErrInvalidArgument for a validation error.
func unwrapInvalid(err error) error {
	if errors.Is(err, registry.ErrInvalidArgument) {
		return registry.ErrInvalidArgument
	}
	return err
}
