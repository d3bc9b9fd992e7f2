//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// The second village of the case test, next to villageCode (东村).
const village2Code = "450122101204" // 西村

// caseItemCode is the item the case test files: the tobacco retail licence.
const caseItemCode = "450122-YC-001"

// caseIDNumber completes the first 17 digits of a resident ID number with
// its GB 11643 check character (ISO 7064 MOD 11-2), computed here rather
// than by the code under test.
func caseIDNumber(first17 string) string {
	sum := 0
	for i, c := range first17 {
		weight := 1
		for range 17 - i {
			weight = weight * 2 % 11
		}
		sum += int(c-'0') * weight
	}
	return first17 + string("10X98765432"[sum%11])
}

// caseWrongCheck is id with a different, wrong check character.
func caseWrongCheck(id string) string {
	last := id[17]
	wrong := byte('0')
	if last == '0' {
		wrong = '1'
	}
	return id[:17] + string(wrong)
}

// TestCaseAcrossTheTiers runs a county node, a township and two villages
// as processes and takes one case across the tiers over REST: filed by
// the agent of village 1, handed up to the county, accepted, reviewed,
// decided and certified there, handed back down, delivered at village 1,
// and followed by the citizen at village 2 with number and query code.
func TestCaseAcrossTheTiers(t *testing.T) {
	start := time.Now()
	c, _ := newCaseCluster(t, 1)
	t.Logf("county, township and two villages up, catalogue and staff everywhere, %s after the start", time.Since(start).Round(time.Millisecond))

	clerk := c.api("county-1").login("clerk", adminPassword)
	approver := c.api("county-1").login("approver", adminPassword)
	agent := c.api("dongcun-1").login("dongcun", adminPassword)
	citizen := c.api("xicun-1") // no token

	// A bad ID number is refused at filing, naming the field.
	id := caseIDNumber("45012219850312002")
	filing := func(idNumber string) map[string]any {
		return map[string]any{
			"item_code": caseItemCode,
			"applicant": map[string]string{"name": "张三", "id_number": idNumber, "phone": "13907710001"},
			"materials": []map[string]any{{"name": "申请表", "copies": 1}},
		}
	}
	code, body, err := agent.call("POST", "/v1/cases", filing(caseWrongCheck(id)))
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusBadRequest || !slices.Contains(caseViolatedFields(body), "applicant.id_number") ||
		!strings.Contains(fmt.Sprint(body["message"]), "applicant.id_number") {
		t.Errorf("filing with ID number %s (wrong check character): %d %v, want 400 naming applicant.id_number", caseWrongCheck(id), code, body)
	}

	// The agent files at village 1.
	filed := caseDo(t, agent, "POST", "/v1/cases", filing(id))
	number, _ := filed["number"].(string)
	queryCode, _ := filed["query_code"].(string)
	if number == "" || queryCode == "" {
		t.Fatalf("the filing answer lacks number or query code: %v", filed)
	}
	if filed["state"] != "CASE_STATE_FILED" || filed["owner_office"] != villageCode {
		t.Errorf("filed case: state %v, owner %v", filed["state"], filed["owner_office"])
	}
	filedAt := time.Now()
	t.Logf("filed %s at %s", number, villageCode)

	// It travels up to the county.
	path := "/v1/cases/" + number
	caseWaitOwned(t, clerk, number, countyCode)
	t.Logf("the county holds %s, %s after the filing", number, time.Since(filedAt).Round(time.Millisecond))

	caseDo(t, clerk, "POST", path+":accept", map[string]any{})
	// Certify before the decision: the state does not allow it.
	code, body, err = clerk.call("POST", path+":certify", map[string]any{"certificate_number": "4501220001"})
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusBadRequest || body["code"] != float64(9) || !strings.Contains(fmt.Sprint(body["message"]), "CASE_STATE_ACCEPTED") {
		t.Errorf("certify an accepted case: %d %v, want 400 FAILED_PRECONDITION naming CASE_STATE_ACCEPTED", code, body)
	}
	if reasonOf(body) != "CASE_STATE" || localizedOf(body) != "办件当前为“已受理”，不能制证。" {
		t.Errorf("certify an accepted case: reason %q, zh-CN %q, want CASE_STATE and its Chinese", reasonOf(body), localizedOf(body))
	}
	caseDo(t, clerk, "POST", path+":review", map[string]any{"reason": "材料齐全，符合法定形式", "conclusion": "CONCLUSION_AGREE"})
	caseDo(t, approver, "POST", path+":decide", map[string]any{"approved": true, "reason": "符合烟草专卖零售许可条件"})
	certified := caseDo(t, clerk, "POST", path+":certify", map[string]any{"certificate_number": "4501220001"})
	if certified["state"] != "CASE_STATE_CERTIFIED" || certified["certificate_number"] != "4501220001" {
		t.Errorf("certified case: state %v, certificate %v", certified["state"], certified["certificate_number"])
	}
	certifiedAt := time.Now()

	// Back down to village 1, where the agent delivers.
	caseWaitOwned(t, agent, number, villageCode)
	t.Logf("village 1 holds %s again, %s after the certificate", number, time.Since(certifiedAt).Round(time.Millisecond))
	caseDo(t, agent, "POST", path+":deliver", map[string]any{})

	// The citizen follows it at village 2, with number and query code.
	q := "?query_code=" + url.QueryEscape(queryCode)
	var got map[string]any
	waitFor(t, number+" closed, seen at village 2", func() error {
		code, body, err := citizen.call("GET", path+q, nil)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("%d %v", code, body)
		}
		got, _ = body["case"].(map[string]any)
		if got["state"] != "CASE_STATE_CLOSED" {
			return fmt.Errorf("state %v", got["state"])
		}
		return nil
	}, syncTimeout)
	applicant, _ := got["applicant"].(map[string]any)
	if want := id[:4] + "**********" + id[14:]; applicant["id_number"] != want {
		t.Errorf("the citizen sees ID number %v, want %s", applicant["id_number"], want)
	}
	if got["certificate_number"] != "4501220001" {
		t.Errorf("the citizen sees certificate %v", got["certificate_number"])
	}
	code, body, err = citizen.call("GET", path+"?query_code=00000000", nil)
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusNotFound || reasonOf(body) != "CASE_NOT_FOUND" || !strings.Contains(localizedOf(body), "没有找到该办件") {
		t.Errorf("a wrong query code: %d %v, want 404 CASE_NOT_FOUND", code, body)
	}

	code, body, err = citizen.call("GET", path+"/events"+q, nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("the events at village 2: %d %v %v", code, body, err)
	}
	if body["chain_valid"] != true {
		t.Errorf("chain_valid = %v", body["chain_valid"])
	}
	if raw := fmt.Sprint(body); strings.Contains(raw, id) {
		t.Errorf("the events show the citizen the whole ID number")
	}
	events, _ := body["events"].([]any)
	var types []string
	for _, e := range events {
		m, _ := e.(map[string]any)
		types = append(types, strings.TrimPrefix(fmt.Sprint(m["type"]), "EVENT_TYPE_"))
	}
	want := []string{
		"FILED",
		"FORWARDED", "RECEIVED", // village 1 → township
		"FORWARDED", "RECEIVED", // township → county
		"ACCEPTED", "REVIEWED", "DECIDED", "CERTIFIED",
		"FORWARDED", "RECEIVED", // county → township
		"FORWARDED", "RECEIVED", // township → village 1
		"DELIVERED", "CLOSED",
	}
	if !slices.Equal(types, want) {
		t.Errorf("events:\n got %v\nwant %v", types, want)
	}
	t.Logf("%s closed and followed at village 2; the test took %s", number, time.Since(start).Round(time.Millisecond))
}

// caseDo makes a REST call that must answer 200 with a case, and returns
// the case.
func caseDo(t testing.TB, a *api, method, path string, body any) map[string]any {
	t.Helper()
	code, resp, err := a.call(method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if code != http.StatusOK {
		t.Fatalf("%s %s: %d %v", method, path, code, resp)
	}
	c, ok := resp["case"].(map[string]any)
	if !ok {
		t.Fatalf("%s %s: no case in %v", method, path, resp)
	}
	return c
}

// caseWaitOwned waits until a's node shows that office owns the case and
// has received it: owner_office is office and the last event is
// RECEIVED.
func caseWaitOwned(t testing.TB, a *api, number, office string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s received by office %s", number, office), func() error {
		code, body, err := a.call("GET", "/v1/cases/"+number, nil)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("%d %v", code, body)
		}
		c, _ := body["case"].(map[string]any)
		if c["owner_office"] != office {
			return fmt.Errorf("owned by %v, state %v", c["owner_office"], c["state"])
		}
		code, body, err = a.call("GET", "/v1/cases/"+number+"/events", nil)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("events: %d %v", code, body)
		}
		events, _ := body["events"].([]any)
		if len(events) == 0 {
			return fmt.Errorf("no events")
		}
		last, _ := events[len(events)-1].(map[string]any)
		if last["type"] != "EVENT_TYPE_RECEIVED" || last["office_code"] != office {
			return fmt.Errorf("last event %v by %v", last["type"], last["office_code"])
		}
		return nil
	}, syncTimeout)
}

// caseViolatedFields lists the fields a google.rpc.Status answer's
// BadRequest detail names.
func caseViolatedFields(body map[string]any) []string {
	var out []string
	details, _ := body["details"].([]any)
	for _, d := range details {
		m, _ := d.(map[string]any)
		vs, _ := m["field_violations"].([]any)
		for _, v := range vs {
			fv, _ := v.(map[string]any)
			if f, ok := fv["field"].(string); ok {
				out = append(out, f)
			}
		}
	}
	return out
}

// newCaseCluster starts a county of countySize nodes, the township 城关镇
// and the villages 东村 and 西村 as processes, with the tobacco licence's
// catalogue, rights and staff (clerk, approver, the agents dongcun and
// xicun) everywhere, and returns the cluster and the county admin.
func newCaseCluster(t testing.TB, countySize int) (*cluster, *api) {
	t.Helper()
	return startCaseCluster(newCluster(t), countySize)
}

// startCaseCluster is newCaseCluster in a cluster made already.
func startCaseCluster(c *cluster, countySize int) (*cluster, *api) {
	t := c.t
	t.Helper()
	c.startCounty(countySize)
	admin := c.api("county-1").login("admin", adminPassword)

	// The offices and their nodes: 城关镇, 东村 and 西村 under it.
	for _, o := range []map[string]string{
		{"code": townshipCode, "name": "城关镇便民服务中心"},
		{"code": villageCode, "name": "东村便民服务站"},
		{"code": village2Code, "name": "西村便民服务站"},
	} {
		admin.write("/v1/offices", o)
	}
	county := c.peerAddrs(c.county()...)
	township := c.start("chengguan-1", townshipCode, "--bootstrap", "--upstream", county)
	c.start("dongcun-1", villageCode, "--bootstrap", "--upstream", township.peerAddr+","+county)
	c.start("xicun-1", village2Code, "--bootstrap", "--upstream", township.peerAddr+","+county)

	// The catalogue, the rights and the staff, written at the county
	// while the nodes below start.
	admin.write("/v1/departments", map[string]string{"code": "yc", "name": "县烟草专卖局"})
	item := tobaccoItem(caseItemCode)
	item["legal_basis"] = "《中华人民共和国烟草专卖法》第十六条"
	item["materials"] = []map[string]any{{"name": "申请表", "form": "MATERIAL_FORM_ORIGINAL", "copies": 1, "required": true}}
	admin.write("/v1/items", item)
	admin.write("/v1/grants", map[string]any{"item_code": caseItemCode, "office_code": countyCode,
		"rights": []string{"RIGHT_ACCEPT", "RIGHT_REVIEW", "RIGHT_APPROVE", "RIGHT_CERTIFY", "RIGHT_DELIVER"}})
	admin.write("/v1/grants", map[string]any{"item_code": caseItemCode, "tier": "TIER_VILLAGE",
		"rights": []string{"RIGHT_PROXY_FILE", "RIGHT_DELIVER"}})
	var idx uint64
	for _, s := range []map[string]any{
		{"username": "clerk", "name": "陈静", "office_code": countyCode, "department_code": "yc", "roles": []string{"ROLE_CLERK", "ROLE_REVIEWER"}},
		{"username": "approver", "name": "王强", "office_code": countyCode, "department_code": "yc", "roles": []string{"ROLE_APPROVER"}},
		{"username": "dongcun", "name": "黄秀英", "office_code": villageCode, "roles": []string{"ROLE_AGENT"}},
		{"username": "xicun", "name": "韦丽", "office_code": village2Code, "roles": []string{"ROLE_AGENT"}},
	} {
		idx = admin.write("/v1/staff", map[string]any{"staff": s, "password": adminPassword})
	}
	for _, name := range []string{"chengguan-1", "dongcun-1", "xicun-1"} {
		c.waitReady(name)
		c.api(name).getAt("/v1/items/"+caseItemCode, idx, syncTimeout)
	}
	return c, admin
}
