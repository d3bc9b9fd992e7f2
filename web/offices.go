package web

import (
	"net/http"
	"slices"
	"strings"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Offices and departments (机构与部门): their names, addresses and phones,
// and an office's authority (实施机关, in whose name its documents are
// issued), which the county admin corrects here (codes, and so the tree,
// stay).

type officesData struct {
	Offices     []*yizhanv1.Office
	Departments []*yizhanv1.Department
	Failed      string // the code of the form shown again after an error
	F           formValues
}

func (s *server) officesPage(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	return s.showOffices(rq, http.StatusOK, "", formValues{}, formErrors{}, flash(rq))
}

func (s *server) showOffices(rq *request, code int, failed string, f formValues, errs formErrors, msg string) error {
	ctx := rq.ctx()
	offices, err := s.cfg.Registry.ListOffices(ctx, &yizhanv1.ListOfficesRequest{})
	if err != nil {
		return err
	}
	deps, err := s.cfg.Registry.ListDepartments(ctx, &yizhanv1.ListDepartmentsRequest{})
	if err != nil {
		return err
	}
	errs.labels = map[string]string{"code": "编码", "name": "名称", "address": "地址", "phone": "电话", "authority": "实施机关"}
	// The failed form's inputs: new-office-phone, office-<code>-phone …
	switch {
	case failed == "":
	case strings.HasPrefix(failed, "new-"):
		errs.idPrefix = failed + "-"
	case slices.ContainsFunc(offices.GetOffices(), func(o *yizhanv1.Office) bool { return o.GetCode() == failed }):
		errs.idPrefix = "office-" + failed + "-"
	default:
		errs.idPrefix = "department-" + failed + "-"
	}
	d := &officesData{Offices: offices.GetOffices(), Departments: deps.GetDepartments(), Failed: failed, F: f}
	return s.render(rq, code, "offices", &view{Title: "机构与部门", Section: "admin", AdminTab: "offices", Data: d, Errs: errs, Flash: msg})
}

// officeCreate adds an office (kind "office": a new township centre or
// village point, its code the division code that places it in the tree)
// or a department (kind "department"); the form comes back with what the
// registry refused named (Failed "new-office", "new-department").
func (s *server) officeCreate(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	kind, f := rq.r.PathValue("kind"), rq.r.PostForm
	v := func(k string) string { return strings.TrimSpace(f.Get(k)) }
	var index uint64
	var err error
	switch kind {
	case "office":
		var resp *yizhanv1.CreateOfficeResponse
		resp, err = s.cfg.Registry.CreateOffice(rq.ctx(), &yizhanv1.CreateOfficeRequest{Office: &yizhanv1.Office{Code: v("code"), Name: v("name"),
			Address: v("address"), Phone: v("phone"), Authority: v("authority")}})
		index = resp.GetRegistryIndex()
	case "department":
		var resp *yizhanv1.CreateDepartmentResponse
		resp, err = s.cfg.Registry.CreateDepartment(rq.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: v("code"), Name: v("name"), Phone: v("phone")}})
		index = resp.GetRegistryIndex()
	default:
		return errNotFound
	}
	if err != nil {
		if errs, ok := fieldErrors(err, kind+".", nil); ok {
			return s.showOffices(rq, http.StatusBadRequest, "new-"+kind, formValues{f}, errs, "")
		}
		if errs, code, ok := unsaved(rq, err); ok {
			return s.showOffices(rq, code, "new-"+kind, formValues{f}, errs, "")
		}
		return err
	}
	return s.saved(rq, index, "/admin/offices", "officeCreated")
}

// officeUpdate saves an office's (kind "office") or a department's
// (kind "department") name, address and phone.
func (s *server) officeUpdate(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	kind, code, f := rq.r.PathValue("kind"), rq.r.PathValue("code"), rq.r.PostForm
	name, address, phone := strings.TrimSpace(f.Get("name")), strings.TrimSpace(f.Get("address")), strings.TrimSpace(f.Get("phone"))
	authority := strings.TrimSpace(f.Get("authority"))
	var index uint64
	var err error
	switch kind {
	case "office":
		var resp *yizhanv1.CreateOfficeResponse
		resp, err = s.cfg.Registry.UpdateOffice(rq.ctx(), &yizhanv1.UpdateOfficeRequest{Code: code, Office: &yizhanv1.Office{Name: name, Address: address, Phone: phone, Authority: authority}})
		index = resp.GetRegistryIndex()
	case "department":
		var resp *yizhanv1.CreateDepartmentResponse
		resp, err = s.cfg.Registry.UpdateDepartment(rq.ctx(), &yizhanv1.UpdateDepartmentRequest{Code: code, Department: &yizhanv1.Department{Name: name, Phone: phone}})
		index = resp.GetRegistryIndex()
	default:
		return errNotFound
	}
	if err != nil {
		if errs, ok := fieldErrors(err, kind+".", nil); ok {
			return s.showOffices(rq, http.StatusBadRequest, code, formValues{f}, errs, "")
		}
		if errs, code2, ok := unsaved(rq, err); ok {
			return s.showOffices(rq, code2, code, formValues{f}, errs, "")
		}
		return err
	}
	return s.saved(rq, index, "/admin/offices", "office")
}
