package node_test

import (
	"slices"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Each case comes with the actions the one asking may take on it now:
// staff of the office holding it, by their roles; nothing to staff of
// another office or in a copy; the citizen's own with the query code.
// What is allowed is accepted.
func TestCaseAllowedActions(t *testing.T) {
	f := newCaseFed(t, 1)
	countyNode, village := f.nodes["county-1"], f.nodes["dongcun-1"]
	agent := dial(t, village).login("dongcun", password)
	filed := fileTobacco(t, agent, "张三")
	number, code := filed.GetNumber(), filed.GetQueryCode()
	waitFor(t, "county owns the case", func() bool { return received(countyNode, number) }, 20*time.Second)

	clerk := dial(t, countyNode).login("clerk", password) // CLERK and REVIEWER
	approver := dial(t, countyNode).login("approver", password)
	citizen := dial(t, f.nodes["xicun-1"])
	allowed := func(c *client, query string) []string {
		t.Helper()
		resp, err := caseClient(t, c).GetCase(c.ctx(), &yizhanv1.GetCaseRequest{Number: number, QueryCode: query})
		if err != nil {
			t.Fatalf("get case: %v", err)
		}
		return resp.GetCase().GetAllowedActions()
	}
	check := func(when, who string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s, %s: allowed %q, want %q", when, who, got, want)
		}
	}
	check("filed", "the county clerk", allowed(clerk, ""), []string{"accept", "requestCorrection", "refuse", "withdraw"})
	check("filed", "the county approver", allowed(approver, ""), nil)
	check("filed", "the village agent (a copy, where it was filed: the query code only)", allowed(agent, ""), []string{"reissueQueryCode"})
	check("filed", "the citizen", allowed(citizen, code), []string{"withdraw", "complain"})

	if _, err := caseClient(t, clerk).Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number}); err != nil {
		t.Fatalf("accept, allowed: %v", err)
	}
	check("accepted", "the county clerk (no fee: the licence is free; extensions are the head's)", allowed(clerk, ""), []string{"review", "suspend", "withdraw"})
	check("accepted", "the county approver (the review first)", allowed(approver, ""), []string{"suspend"})
	list, err := caseClient(t, clerk).ListCases(clerk.ctx(), &yizhanv1.ListCasesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list.GetCases() {
		if c.GetNumber() == number {
			check("accepted", "the county clerk's queue", c.GetAllowedActions(), []string{"review", "suspend", "withdraw"})
		}
	}

	// Over REST, as the REST verbs.
	st, body := restCall(t, "GET", "http://"+countyNode.HTTPAddr()+"/v1/cases/"+number, clerk.token, "")
	c, _ := body["case"].(map[string]any)
	if got, _ := c["allowed_actions"].([]any); st != 200 || len(got) != 3 || got[0] != "review" {
		t.Errorf("REST GET: %d, allowed_actions %v, want review first of 3", st, c["allowed_actions"])
	}
}
