package node

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// FuzzUpdateItemJSON: the body of PATCH /v1/items/{code} (the item) and
// its update_mask, decoded as the gateway decodes them, merged into the
// current version as UpdateItem merges, then checked as the county
// leader checks before proposing. Nothing panics; what Check accepts is
// within the limits and applies.
func FuzzUpdateItemJSON(f *testing.F) {
	for _, s := range [][2]string{
		{`{"promised_limit_days":8}`, ""},
		{`{"conditions":"一、申请人具备条件；\n二、……","materials":[{"name":"申请表","copies":2}]}`, "conditions,materials"},
		{`{"conditions":"` + strings.Repeat("条", 200) + `\u0000"}`, ""},
		{`{"materials":[{"name":"申请表","copies":2147483647,"form":"MATERIAL_FORM_COPY"}],"fee_cents":"9223372036854775807"}`, ""},
		{`{"name":"烟草\u2028","code":"OTHER","version":9}`, "name,code"},
		{`{"steps":[{},{},{}],"special_procedures":[{"name":"听证","limit_days":366}]}`, "steps,special_procedures"},
		{`{"unknown":1}`, ""},
	} {
		f.Add([]byte(s[0]), s[1])
	}
	f.Fuzz(func(t *testing.T, body []byte, mask string) {
		patch := &yizhanv1.Item{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(body, patch); err != nil {
			return
		}
		var paths []string
		for _, p := range strings.Split(mask, ",") {
			if p == "" {
				continue
			}
			// As UpdateItem: a path names a field that may be changed.
			if patch.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(p)) == nil || outputOnlyItemFields[p] {
				return
			}
			paths = append(paths, p)
		}
		reg := fuzzRegistry(t)
		cur, err := reg.Item("YC", 0)
		if err != nil {
			t.Fatal(err)
		}
		next := mergeItem(cur, patch, paths)
		cmd := &peerv1.RegistryCommand{AtUnixNano: 1, Actor: "admin",
			Op: &peerv1.RegistryCommand_UpdateItem{UpdateItem: &peerv1.UpdateItem{Item: next, BaseVersion: cur.GetVersion()}}}
		if err := reg.Check(cmd); err != nil {
			if st := toStatus(err); st == nil {
				t.Fatalf("no status for %v", err)
			}
			return
		}
		if err := registry.CheckLimits(cmd); err != nil {
			t.Fatalf("Check accepted what breaks the limits: %v", err)
		}
		if n := proto.Size(cmd); n > registry.MaxCommandBytes {
			t.Fatalf("Check accepted a command of %d bytes", n)
		}
		if next.GetCode() != "YC" {
			t.Fatalf("the patch moved the item to %q", next.GetCode())
		}
		if _, err := reg.Apply(reg.Index()+1, cmd); err != nil {
			t.Fatalf("Check accepted what Apply refuses: %v", err)
		}
	})
}

// fuzzRegistry is a county with department yc and item YC.
func fuzzRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	reg := registry.New(registry.Options{})
	for _, cmd := range []*peerv1.RegistryCommand{
		{Op: &peerv1.RegistryCommand_CreateOffice{CreateOffice: &peerv1.CreateOffice{Office: &yizhanv1.Office{Code: "450122000000", Name: "县政务服务中心"}}}},
		{Op: &peerv1.RegistryCommand_CreateDepartment{CreateDepartment: &peerv1.CreateDepartment{Department: &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}}}},
		{Op: &peerv1.RegistryCommand_CreateItem{CreateItem: &peerv1.CreateItem{Item: &yizhanv1.Item{
			Code: "YC", Name: "烟草专卖零售许可证核发", Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE, DepartmentCode: "yc",
			StatutoryLimitDays: 20, PromisedLimitDays: 10, CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
			Materials: []*yizhanv1.Material{{Name: "申请表", Copies: 1, Required: true}},
		}}}},
	} {
		if _, err := reg.Apply(reg.Index()+1, cmd); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}
