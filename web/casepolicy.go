package web

import (
	"net/http"
	"strconv"
	"strings"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The county's case policy (办件规则), for its admin: the small offices
// where one person may accept, review and decide a case, the bodies the
// appeal notices name, and how long a correction notice waits.

type casePolicyData struct {
	Policy  *yizhanv1.CasePolicy
	Offices []*yizhanv1.Office // every office, for the single-handed ones' names
	F       formValues
}

// Named is office code's name, or the code.
func (d casePolicyData) Named(code string) string {
	for _, o := range d.Offices {
		if o.GetCode() == code {
			return o.GetName()
		}
	}
	return code
}

// SingleHanded reports whether office code is one the policy names.
func (d casePolicyData) SingleHanded(code string) bool {
	for _, c := range d.Policy.GetSingleHandedOffices() {
		if c == code {
			return true
		}
	}
	return false
}

func (s *server) casePolicyPage(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	return s.showCasePolicy(rq, http.StatusOK, formValues{}, formErrors{}, "")
}

func (s *server) showCasePolicy(rq *request, code int, f formValues, errs formErrors, flash string) error {
	ctx := rq.ctx()
	p, err := s.cfg.Registry.GetCasePolicy(ctx, &yizhanv1.GetCasePolicyRequest{})
	if err != nil {
		return err
	}
	offices, err := s.cfg.Registry.ListOffices(ctx, &yizhanv1.ListOfficesRequest{})
	if err != nil {
		return err
	}
	s.formCSRF(rq)
	d := &casePolicyData{Policy: p.GetPolicy(), Offices: offices.GetOffices(), F: f}
	return s.render(rq, code, "case_policy", &view{Title: "办件规则", Section: "admin", AdminTab: "case-policy", Data: d, Errs: errs, Flash: flash})
}

func (s *server) casePolicyPut(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	f := rq.r.PostForm
	p := &yizhanv1.CasePolicy{SingleHandedOffices: f["single_handed_offices"],
		ReconsiderationBody: strings.TrimSpace(f.Get("reconsideration_body")), Court: strings.TrimSpace(f.Get("court")),
		ComprehensiveWindowAccepts: f.Get("comprehensive_window_accepts") == "1"}
	if d := strings.TrimSpace(f.Get("correction_wait_days")); d != "" {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil {
			var errs formErrors
			errs.add("correction_wait_days", "请填写天数（整数）")
			errs.labels = casePolicyLabels
			return s.showCasePolicy(rq, http.StatusBadRequest, formValues{f}, errs, "")
		}
		p.CorrectionWaitDays = int32(n)
	}
	if _, err := s.cfg.Registry.PutCasePolicy(rq.ctx(), &yizhanv1.PutCasePolicyRequest{Policy: p}); err != nil {
		if errs, ok := fieldErrors(err, "policy.", func(field string) string {
			if strings.HasPrefix(field, "single_handed_offices") {
				return "single_handed_offices"
			}
			return field
		}); ok {
			errs.labels = casePolicyLabels
			return s.showCasePolicy(rq, http.StatusBadRequest, formValues{f}, errs, "")
		}
		if errs, code, ok := unsaved(rq, err); ok {
			return s.showCasePolicy(rq, code, formValues{f}, errs, "")
		}
		return err
	}
	return s.showCasePolicy(rq, http.StatusOK, formValues{}, formErrors{}, "办件规则已保存，将同步到各办事点。")
}

var casePolicyLabels = map[string]string{
	"single_handed_offices": "可由一人受理、审核、审批的办事点", "reconsideration_body": "行政复议机关",
	"court": "人民法院", "correction_wait_days": "补正期限（天）",
}
