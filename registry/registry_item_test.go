package registry

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

func TestCreateItem(t *testing.T) {
	r := newCounty(t)
	in := validItem("450122-YC-001")
	in.Version = 7 // output only: ignored
	out := mustApply(t, r, createItem(in))
	it, ok := out.(*yizhanv1.Item)
	if !ok {
		t.Fatalf("Apply returned %T, want *yizhanv1.Item", out)
	}
	if it.GetVersion() != 1 || it.GetRegistryIndex() != r.Index() || it.GetUpdatedBy() != "admin" || !it.GetUpdatedAt().AsTime().Equal(t0) {
		t.Errorf("item = version %d index %d by %q at %v", it.GetVersion(), it.GetRegistryIndex(), it.GetUpdatedBy(), it.GetUpdatedAt())
	}
	got, err := r.Item("450122-YC-001", 0)
	if err != nil || !proto.Equal(got, it) {
		t.Errorf("Item = %v, %v", got, err)
	}
	if _, err := r.Item("nope", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Item(nope) = %v, want ErrNotFound", err)
	}

	// The registry stored a clone: changing the command afterwards changes nothing.
	in.Name = "changed"
	if got, _ := r.Item("450122-YC-001", 0); got.GetName() == "changed" {
		t.Errorf("the registry aliases the command's item")
	}
}

func TestCreateItemKinds(t *testing.T) {
	tests := []struct {
		name string
		edit func(it *yizhanv1.Item)
	}{
		{name: "immediate with no limit", edit: func(it *yizhanv1.Item) {
			it.CaseKind = yizhanv1.CaseKind_CASE_KIND_IMMEDIATE
			it.StatutoryLimitDays, it.PromisedLimitDays = 0, 0
		}},
		{name: "joint with co-departments", edit: func(it *yizhanv1.Item) {
			it.CaseKind = yizhanv1.CaseKind_CASE_KIND_JOINT
			it.CoDepartmentCodes = []string{"sw"}
		}},
		{name: "reported, village tier, fee", edit: func(it *yizhanv1.Item) {
			it.CaseKind = yizhanv1.CaseKind_CASE_KIND_REPORTED
			it.ExerciseTier = yizhanv1.Tier_TIER_VILLAGE
			it.FeeCents = 1000
		}},
		{name: "promised equal to statutory", edit: func(it *yizhanv1.Item) { it.PromisedLimitDays = it.StatutoryLimitDays }},
		{name: "code with dots", edit: func(it *yizhanv1.Item) { it.Code = "11450122MB1234567X.000" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCounty(t)
			it := validItem("I1")
			tt.edit(it)
			mustApply(t, r, createItem(it))
		})
	}
}

func TestCreateItemRejected(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(it *yizhanv1.Item)
		nilItem  bool
		field    string
		sentinel error
	}{
		{name: "no item", nilItem: true, field: "item"},
		{name: "code missing", edit: func(it *yizhanv1.Item) { it.Code = "" }, field: "item.code"},
		{name: "code with space", edit: func(it *yizhanv1.Item) { it.Code = "YC 001" }, field: "item.code"},
		{name: "code with slash", edit: func(it *yizhanv1.Item) { it.Code = "YC/001" }, field: "item.code"},
		{name: "code too long", edit: func(it *yizhanv1.Item) { it.Code = strings.Repeat("A", 65) }, field: "item.code"},
		{name: "duplicate code", edit: func(it *yizhanv1.Item) { it.Code = "EXISTING" }, sentinel: ErrAlreadyExists},
		{name: "name missing", edit: func(it *yizhanv1.Item) { it.Name = "" }, field: "item.name"},
		{name: "type unspecified", edit: func(it *yizhanv1.Item) { it.Type = 0 }, field: "item.type"},
		{name: "type unknown", edit: func(it *yizhanv1.Item) { it.Type = 42 }, field: "item.type"},
		{name: "case kind unspecified", edit: func(it *yizhanv1.Item) { it.CaseKind = 0 }, field: "item.case_kind"},
		{name: "case kind unknown", edit: func(it *yizhanv1.Item) { it.CaseKind = 9 }, field: "item.case_kind"},
		{name: "exercise tier unspecified", edit: func(it *yizhanv1.Item) { it.ExerciseTier = 0 }, field: "item.exercise_tier"},
		{name: "exercise tier unknown", edit: func(it *yizhanv1.Item) { it.ExerciseTier = 4 }, field: "item.exercise_tier"},
		{name: "department missing", edit: func(it *yizhanv1.Item) { it.DepartmentCode = "" }, field: "item.department_code"},
		{name: "department unknown", edit: func(it *yizhanv1.Item) { it.DepartmentCode = "gaj" }, field: "item.department_code"},
		{name: "co-department unknown", edit: func(it *yizhanv1.Item) { it.CoDepartmentCodes = []string{"sw", "gaj"} }, field: "item.co_department_codes[1]"},
		{name: "co-department empty", edit: func(it *yizhanv1.Item) { it.CoDepartmentCodes = []string{""} }, field: "item.co_department_codes[0]"},
		{name: "co-department is the lead", edit: func(it *yizhanv1.Item) { it.CoDepartmentCodes = []string{"scjg"} }, field: "item.co_department_codes[0]"},
		{name: "co-department repeated", edit: func(it *yizhanv1.Item) { it.CoDepartmentCodes = []string{"sw", "sw"} }, field: "item.co_department_codes[1]"},
		{name: "joint without co-departments", edit: func(it *yizhanv1.Item) { it.CaseKind = yizhanv1.CaseKind_CASE_KIND_JOINT }, field: "item.co_department_codes"},
		{name: "statutory negative", edit: func(it *yizhanv1.Item) { it.StatutoryLimitDays = -1; it.PromisedLimitDays = 0 }, field: "item.statutory_limit_days"},
		{name: "statutory zero for a promised item", edit: func(it *yizhanv1.Item) { it.StatutoryLimitDays = 0; it.PromisedLimitDays = 0 }, field: "item.statutory_limit_days"},
		{name: "statutory negative for an immediate item", edit: func(it *yizhanv1.Item) {
			it.CaseKind = yizhanv1.CaseKind_CASE_KIND_IMMEDIATE
			it.StatutoryLimitDays, it.PromisedLimitDays = -2, 0
		}, field: "item.statutory_limit_days"},
		{name: "promised negative", edit: func(it *yizhanv1.Item) { it.PromisedLimitDays = -1 }, field: "item.promised_limit_days"},
		{name: "promised above statutory", edit: func(it *yizhanv1.Item) { it.PromisedLimitDays = 21 }, field: "item.promised_limit_days"},
		{name: "fee negative", edit: func(it *yizhanv1.Item) { it.FeeCents = -100 }, field: "item.fee_cents"},
		{name: "material without name", edit: func(it *yizhanv1.Item) { it.Materials = append(it.Materials, &yizhanv1.Material{Copies: 1}) }, field: "item.materials[1].name"},
		{name: "material copies negative", edit: func(it *yizhanv1.Item) { it.Materials[0].Copies = -1 }, field: "item.materials[0].copies"},
		{name: "step without name", edit: func(it *yizhanv1.Item) { it.Steps[1].Name = "" }, field: "item.steps[1].name"},
		{name: "step limit negative", edit: func(it *yizhanv1.Item) { it.Steps[0].LimitDays = -1 }, field: "item.steps[0].limit_days"},
		{name: "special procedure without name", edit: func(it *yizhanv1.Item) { it.SpecialProcedures[0].Name = " " }, field: "item.special_procedures[0].name"},
		{name: "special procedure limit negative", edit: func(it *yizhanv1.Item) { it.SpecialProcedures[0].LimitDays = -5 }, field: "item.special_procedures[0].limit_days"},
		{name: "visits negative", edit: func(it *yizhanv1.Item) { it.Visits = -1 }, field: "item.visits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCounty(t)
			mustApply(t, r, createItem(validItem("EXISTING")))
			var it *yizhanv1.Item
			if !tt.nilItem {
				it = validItem("NEW-1")
				tt.edit(it)
			}
			wantError(t, rejected(t, r, createItem(it)), tt.field, tt.sentinel)
		})
	}
}

func TestItemViolationsAreAllListed(t *testing.T) {
	r := newCounty(t)
	it := validItem("BAD")
	it.Name = ""
	it.FeeCents = -1
	it.PromisedLimitDays = 30
	err := rejected(t, r, createItem(it))
	for _, f := range []string{"item.name", "item.fee_cents", "item.promised_limit_days"} {
		wantViolation(t, err, f)
	}
	mustContain(t, description(err, "item.promised_limit_days"), "30", "20")
	mustContain(t, err.Error(), "item.name: is required")
}

func TestUpdateItemVersions(t *testing.T) {
	r := newCounty(t)
	mustApply(t, r, createItem(validItem("YC")))

	v2 := validItem("YC")
	v2.PromisedLimitDays = 8
	out := mustApply(t, r, updateItem(v2, 1))
	got := out.(*yizhanv1.Item)
	if got.GetVersion() != 2 || got.GetPromisedLimitDays() != 8 || got.GetUpdatedBy() != "editor" || got.GetRegistryIndex() != r.Index() {
		t.Errorf("version 2 = %v", got)
	}
	v3 := validItem("YC")
	v3.PromisedLimitDays = 5
	mustApply(t, r, updateItem(v3, 2))

	tests := []struct {
		name     string
		version  uint32
		promised int32
		err      error
	}{
		{name: "current", version: 0, promised: 5},
		{name: "first", version: 1, promised: 10},
		{name: "second", version: 2, promised: 8},
		{name: "third", version: 3, promised: 5},
		{name: "beyond", version: 4, err: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, err := r.Item("YC", tt.version)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Item(YC, %d) error = %v, want %v", tt.version, err, tt.err)
			}
			if err == nil && it.GetPromisedLimitDays() != tt.promised {
				t.Errorf("Item(YC, %d) promised = %d, want %d", tt.version, it.GetPromisedLimitDays(), tt.promised)
			}
		})
	}
	versions, err := r.ItemVersions("YC")
	if err != nil {
		t.Fatal(err)
	}
	var nums []uint32
	for _, v := range versions {
		nums = append(nums, v.GetVersion())
	}
	if !slices.Equal(nums, []uint32{1, 2, 3}) {
		t.Errorf("ItemVersions = %v, want [1 2 3]", nums)
	}
	if _, err := r.ItemVersions("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ItemVersions(nope) = %v, want ErrNotFound", err)
	}
}

func TestUpdateItemRejected(t *testing.T) {
	tests := []struct {
		name     string
		item     *yizhanv1.Item
		base     uint32
		field    string
		sentinel error
	}{
		{name: "no item", item: nil, base: 2, field: "item"},
		{name: "unknown item", item: validItem("NOPE"), base: 1, sentinel: ErrNotFound},
		{name: "base version stale", item: validItem("YC"), base: 1, sentinel: ErrConflict},
		{name: "base version ahead", item: validItem("YC"), base: 3, sentinel: ErrConflict},
		{name: "base version missing", item: validItem("YC"), base: 0, sentinel: ErrConflict},
		{name: "invalid code", item: validItem("Y C"), base: 2, field: "item.code"},
		{name: "invalid new version", item: func() *yizhanv1.Item {
			it := validItem("YC")
			it.PromisedLimitDays = 99
			return it
		}(), base: 2, field: "item.promised_limit_days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCounty(t)
			mustApply(t, r, createItem(validItem("YC")))
			mustApply(t, r, updateItem(validItem("YC"), 1))
			wantError(t, rejected(t, r, updateItem(tt.item, tt.base)), tt.field, tt.sentinel)
		})
	}
}

func TestItemsFilter(t *testing.T) {
	r := newCounty(t)
	yc := validItem("YC-001")
	mustApply(t, r, createItem(yc))
	tax := validItem("SW-002")
	tax.Name = "发票领用"
	tax.DepartmentCode = "sw"
	tax.ExerciseTier = yizhanv1.Tier_TIER_TOWNSHIP
	mustApply(t, r, createItem(tax))
	social := validItem("ab-003")
	social.Name = "城乡居民养老保险参保登记"
	social.ExerciseTier = yizhanv1.Tier_TIER_VILLAGE
	mustApply(t, r, createItem(social))
	// The village may proxy-file YC-001, every township may accept SW-002,
	// and the village may review (but not take in) ab-003.
	mustApply(t, r, createGrant(&yizhanv1.Grant{ItemCode: "YC-001", OfficeCode: village, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_PROXY_FILE}}))
	mustApply(t, r, createGrant(&yizhanv1.Grant{ItemCode: "SW-002", Tier: yizhanv1.Tier_TIER_TOWNSHIP, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT}}))
	mustApply(t, r, createGrant(&yizhanv1.Grant{ItemCode: "ab-003", OfficeCode: village, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_REVIEW}}))

	now := t0.AddDate(0, 1, 0)
	tests := []struct {
		name   string
		filter ItemFilter
		want   []string
	}{
		{name: "all, by code", filter: ItemFilter{}, want: []string{"SW-002", "YC-001", "ab-003"}},
		{name: "department", filter: ItemFilter{DepartmentCode: "sw"}, want: []string{"SW-002"}},
		{name: "query on name", filter: ItemFilter{Query: "养老"}, want: []string{"ab-003"}},
		{name: "query on code, any case", filter: ItemFilter{Query: "yc-0"}, want: []string{"YC-001"}},
		{name: "exercise tier", filter: ItemFilter{ExerciseTier: yizhanv1.Tier_TIER_TOWNSHIP}, want: []string{"SW-002"}},
		{name: "village may take in", filter: ItemFilter{OfficeCode: village, At: now}, want: []string{"YC-001"}},
		{name: "township may take in", filter: ItemFilter{OfficeCode: township2, At: now}, want: []string{"SW-002"}},
		{name: "before the grants", filter: ItemFilter{OfficeCode: village, At: t0.Add(-1)}, want: nil},
		{name: "county holds nothing", filter: ItemFilter{OfficeCode: county, At: now}, want: nil},
		{name: "combined", filter: ItemFilter{OfficeCode: township, Query: "发票", DepartmentCode: "sw", At: now}, want: []string{"SW-002"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, it := range r.Items(tt.filter) {
				got = append(got, it.GetCode())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Items = %v, want %v", got, tt.want)
			}
		})
	}
}
