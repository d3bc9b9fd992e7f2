package node_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// violations lists the field violations of a google.rpc.BadRequest
// detail in a REST error body, as field → reason.
func violations(body map[string]any) map[string]string {
	out := map[string]string{}
	details, _ := body["details"].([]any)
	for _, d := range details {
		dm, _ := d.(map[string]any)
		fvs, _ := dm["field_violations"].([]any)
		if fvs == nil {
			fvs, _ = dm["fieldViolations"].([]any)
		}
		for _, fv := range fvs {
			if m, ok := fv.(map[string]any); ok {
				field, _ := m["field"].(string)
				reason, _ := m["reason"].(string)
				out[field] = reason
			}
		}
	}
	return out
}

// TestRESTInputLimits: bodies beyond the input limits are refused with
// 400, naming the field and the reason, and nothing is written: no case,
// no item nor item version, no office.
func TestRESTInputLimits(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	n := f.nodes["county-1"]
	admin := dial(t, n).login("admin", password)
	ctx := admin.ctx()
	if _, err := admin.reg.CreateDepartment(ctx, &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.reg.CreateItem(ctx, &yizhanv1.CreateItemRequest{Item: tobacco()}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{ItemCode: tobacco().Code, OfficeCode: county, Rights: allRights}}); err != nil {
		t.Fatal(err)
	}
	base := "http://" + n.HTTPAddr()
	tok := admin.token
	filing := func(name, address, copies string) string {
		return `{"item_code":"450122-YC-001","applicant":{"name":"` + name + `","id_number":"` + applicantID +
			`","phone":"13907710001","address":"` + address + `"},"materials":[{"name":"申请表","copies":` + copies + `}]}`
	}

	// A case to complain about, filed by a citizen online.
	code, body := restCall(t, "POST", base+"/v1/cases", "", filing("黄志明", "东村3组", "1"))
	if code != http.StatusOK {
		t.Fatalf("file a case: %d %v", code, body)
	}
	filed := body["case"].(map[string]any)
	number, queryCode := filed["number"].(string), filed["query_code"].(string)

	long := strings.Repeat("a", 300_000) // beyond every limit, within the HTTP port's body limit
	tests := []struct {
		name, method, path, token, body string
		field, reason                   string
	}{
		{"filing: address of 300 KB", "POST", "/v1/cases", "", filing("黄志明", long, "1"), "applicant.address", registry.ReasonTooLong},
		{"filing: NUL in the name", "POST", "/v1/cases", "", filing(`黄\u0000志明`, "东村3组", "1"), "applicant.name", registry.ReasonControlCharacter},
		{"filing: copies 2^31-1", "POST", "/v1/cases", "", filing("黄志明", "东村3组", "2147483647"), "materials[0].copies", registry.ReasonOutOfRange},
		{"filing by staff: name of 300 KB", "POST", "/v1/cases", tok, filing(long, "东村3组", "1"), "applicant.name", registry.ReasonTooLong},
		{"complaint of 300 KB", "POST", "/v1/cases/" + number + ":complain", "", `{"query_code":"` + queryCode + `","reason":"` + long + `"}`, "reason", registry.ReasonTooLong},
		{"item: conditions of 300 KB", "PATCH", "/v1/items/450122-YC-001", tok, `{"conditions":"` + long + `"}`, "item.conditions", registry.ReasonTooLong},
		{"item: copies 2^31-1", "PATCH", "/v1/items/450122-YC-001", tok, `{"materials":[{"name":"申请表","copies":2147483647}]}`, "item.materials[0].copies", registry.ReasonOutOfRange},
		{"item: NUL in the name", "PATCH", "/v1/items/450122-YC-001", tok, `{"name":"烟草\u0000"}`, "item.name", registry.ReasonControlCharacter},
		{"item: a material form its enum does not declare", "PATCH", "/v1/items/450122-YC-001", tok, `{"materials":[{"name":"申请表","form":99}]}`, "item.materials[0].form", registry.ReasonOutOfRange},
		{"new item: a material form its enum does not declare", "POST", "/v1/items", tok, `{"code":"450122-YC-002","name":"烟草专卖零售许可证延续","type":"ITEM_TYPE_LICENCE","department_code":"yc","statutory_limit_days":20,"promised_limit_days":10,"case_kind":"CASE_KIND_PROMISED","exercise_tier":"TIER_COUNTY","materials":[{"name":"申请表","form":5,"copies":1}]}`, "item.materials[0].form", registry.ReasonOutOfRange},
		{"office: name of 300 KB", "POST", "/v1/offices", tok, `{"code":"450122101000","name":"` + long + `"}`, "office.name", registry.ReasonTooLong},
		{"grant: note with ESC", "POST", "/v1/grants", tok, `{"item_code":"450122-YC-001","office_code":"450122000000","rights":["RIGHT_ACCEPT"],"note":"\u001b[2J"}`, "grant.note", registry.ReasonControlCharacter},
		{"staff: password of 300 KB", "POST", "/v1/staff", tok, `{"staff":{"username":"lisi","name":"李四","office_code":"450122000000","roles":["ROLE_CLERK"]},"password":"` + long + `"}`, "password", registry.ReasonTooLong},
		// What the gateway cannot read into the request is named too.
		{"list: page size not a number", "GET", "/v1/cases?page_size=abc", tok, "", "page_size", registry.ReasonInvalidFormat},
		{"list: a state of 8 KB", "GET", "/v1/cases?state=" + strings.Repeat("S", 8<<10), tok, "", "state", registry.ReasonInvalidFormat},
		{"list: a date without its time", "GET", "/v1/cases?filed_from=2026-01-01", tok, "", "filed_from", registry.ReasonInvalidFormat},
		{"filing: a number for a code", "POST", "/v1/cases", "", `{"item_code":5}`, "item_code", registry.ReasonInvalidFormat},
		{"filing: copies not a number", "POST", "/v1/cases", "", filing("黄志明", "东村3组", `"x"`), "copies", registry.ReasonInvalidFormat},
		{"item: a material form by a name there is not", "PATCH", "/v1/items/450122-YC-001", tok, `{"materials":[{"name":"申请表","form":"MATERIAL_FORM_FAX"}]}`, "form", registry.ReasonInvalidFormat},
		{"filing: a field it does not have", "POST", "/v1/cases", "", `{"itemcode":"450122-YC-001"}`, "itemcode", reason.UnknownField},
	}
	// What the requests would write. (Not the registry index: the node
	// directory may change it meanwhile.)
	written := func() string {
		reg, book := n.Registry(), n.Office().Cases()
		it, _ := reg.Item(tobacco().Code, 0)
		_, newItemErr := reg.Item("450122-YC-002", 0)
		_, officeErr := reg.Office("450122101000")
		_, staffErr := reg.Staff("lisi")
		grants := reg.Grants(registry.GrantFilter{ItemCode: tobacco().Code, IncludeInactive: true})
		return fmt.Sprint(it.GetVersion(), newItemErr == nil, officeErr == nil, staffErr == nil, len(grants), book.Len(), len(book.Events(number)))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := written()
			code, body := restCall(t, tt.method, base+tt.path, tt.token, tt.body)
			if code != http.StatusBadRequest {
				t.Fatalf("%s %s: %d %v, want 400", tt.method, tt.path, code, body)
			}
			vs := violations(body)
			if reason, ok := vs[tt.field]; !ok || reason != tt.reason {
				t.Errorf("violations %v, want %s with %s", vs, tt.field, tt.reason)
			}
			if msg, _ := body["message"].(string); !strings.HasPrefix(msg, tt.field+": ") || len(msg) > 300 {
				t.Errorf("message %.300q: want the field first, and short", msg)
			}
			if after := written(); after != before {
				t.Errorf("a refused request wrote something: %s, was %s", after, before)
			}
		})
	}
	if it, _ := n.Registry().Item(tobacco().Code, 0); it.GetVersion() != 1 {
		t.Errorf("item version %d after refused edits, want 1", it.GetVersion())
	}

	// The regression of issue 8: a 5 MB address. The HTTP port may refuse
	// the body as a whole first (413); if it reads it, the filing names
	// the field.
	resp, err := http.Post(base+"/v1/cases", "application/json", strings.NewReader(filing("黄志明", strings.Repeat("a", 5<<20), "1")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body = nil
	_ = json.Unmarshal(b, &body)
	switch {
	case resp.StatusCode == http.StatusRequestEntityTooLarge:
	case resp.StatusCode == http.StatusBadRequest && violations(body)["applicant.address"] == registry.ReasonTooLong:
	default:
		t.Errorf("a 5 MB address: %d %.300s", resp.StatusCode, b)
	}
	if got := n.Office().Cases().Len(); got != 1 {
		t.Errorf("%d cases after refused filings, want the 1", got)
	}
}
