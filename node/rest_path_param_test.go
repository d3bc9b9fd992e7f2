package node_test

import (
	"net/http"
	"slices"
	"testing"
)

// docs/ERRORS.md: what the REST gateway cannot read into the request is
// named by the field's own name (a BadRequest). A path parameter that is
// not of its type — the calendar's year typed in full-width digits, or
// past int32 — is named too (it was answered with the gateway's "type
// mismatch, parameter: year" and no field violation).
func TestRESTPathParameterOfTheWrongTypeNamesItsField(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	n := f.nodes["county-1"]
	admin := dial(t, n).login("admin", password)
	base := "http://" + n.HTTPAddr()
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1/calendar/２０２６", ""},
		{"GET", "/v1/calendar/99999999999", ""},
		{"PUT", "/v1/calendar/2O26", `{"days":[]}`},
	} {
		code, body := restCall(t, tc.method, base+tc.path, admin.token, tc.body)
		if code != http.StatusBadRequest || !slices.Contains(violatedFields(body), "year") {
			t.Errorf("%s %s: %d, fields %v, message %q (want 400 naming year)", tc.method, tc.path, code, violatedFields(body), body["message"])
		}
	}
}
