package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Staff: the list of staff accounts and the form that creates one.

type staffRow struct {
	Staff      *yizhanv1.StaffMember
	Office     string
	Department string
}

type staffData struct {
	Office      string // filter
	Offices     []*yizhanv1.Office
	Departments []*yizhanv1.Department
	Rows        []staffRow
	F           formValues
}

func (s *server) staffPage(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	f := url.Values{"office_code": {rq.r.URL.Query().Get("office")}}
	return s.staffList(rq, http.StatusOK, f, formErrors{}, flash(rq))
}

func (s *server) staffList(rq *request, code int, f url.Values, errs formErrors, msg string) error {
	ctx := rq.ctx()
	filter := rq.r.URL.Query().Get("office")
	list, err := s.cfg.Registry.ListStaff(ctx, &yizhanv1.ListStaffRequest{OfficeCode: filter})
	if err != nil {
		return err
	}
	offices, err := s.cfg.Registry.ListOffices(ctx, &yizhanv1.ListOfficesRequest{})
	if err != nil {
		return err
	}
	deps, err := s.cfg.Registry.ListDepartments(ctx, &yizhanv1.ListDepartmentsRequest{})
	if err != nil {
		return err
	}
	officeNames := map[string]string{}
	for _, o := range offices.GetOffices() {
		officeNames[o.GetCode()] = o.GetName()
	}
	depNames := departmentNames(deps.GetDepartments())
	errs.labels = map[string]string{"username": "用户名", "name": "姓名", "office_code": "办事点", "department_code": "部门", "roles": "角色", "password": "初始密码"}
	d := &staffData{Office: filter, Offices: offices.GetOffices(), Departments: deps.GetDepartments(), F: formValues{f}}
	for _, m := range list.GetStaff() {
		d.Rows = append(d.Rows, staffRow{Staff: m, Office: officeNames[m.GetOfficeCode()], Department: depNames[m.GetDepartmentCode()]})
	}
	return s.render(rq, code, "staff", &view{Title: "人员管理", Section: "admin", AdminTab: "staff", Data: d, Errs: errs, Flash: msg, Meta: list.GetMeta()})
}

func (s *server) staffCreate(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	f := rq.r.PostForm
	m := &yizhanv1.StaffMember{
		Username:       strings.TrimSpace(f.Get("username")),
		Name:           strings.TrimSpace(f.Get("name")),
		OfficeCode:     f.Get("office_code"),
		DepartmentCode: f.Get("department_code"),
	}
	for _, r := range f["roles"] {
		n, _ := strconv.Atoi(r)
		m.Roles = append(m.Roles, yizhanv1.Role(n))
	}
	resp, err := s.cfg.Registry.CreateStaff(rq.ctx(), &yizhanv1.CreateStaffRequest{Staff: m, Password: f.Get("password")})
	if err != nil {
		f.Del("password") // never sent back to the browser
		if errs, ok := fieldErrors(err, "staff.", staffField); ok {
			return s.staffList(rq, http.StatusBadRequest, f, errs, "")
		}
		if status.Code(err) == codes.AlreadyExists {
			var errs formErrors
			errs.add("username", "用户名 "+m.GetUsername()+" 已被使用")
			return s.staffList(rq, http.StatusConflict, f, errs, "")
		}
		if errs, code, ok := unsaved(rq, err); ok {
			return s.staffList(rq, code, f, errs, "")
		}
		return err
	}
	return s.saved(rq, resp.GetRegistryIndex(), "/admin/staff?office="+url.QueryEscape(m.GetOfficeCode()), "staff")
}

// staffField is the staff form's field for a field of the API's request.
func staffField(field string) string {
	switch {
	case field == "roles", strings.HasPrefix(field, "roles["):
		return "roles"
	case field == "username", field == "name", field == "office_code", field == "department_code", field == "password", field == "new_password":
		return field
	}
	return ""
}

// The edit form of one staff member (编辑): name, department, roles,
// 停用, and a password reset the staff member must change at the next
// sign-in.

type staffEditData struct {
	Staff       *yizhanv1.StaffMember
	Office      string
	Departments []*yizhanv1.Department
	F           formValues // the form as typed, after an error
}

// Has reports whether the form (as typed, else the account) holds role r.
func (d staffEditData) Has(r int32) bool {
	if d.F.Values != nil {
		return d.F.Checked("roles", strconv.Itoa(int(r)))
	}
	for _, role := range d.Staff.GetRoles() {
		if int32(role) == r {
			return true
		}
	}
	return false
}

func (s *server) staffEdit(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	return s.showStaffEdit(rq, http.StatusOK, rq.r.PathValue("username"), formValues{}, formErrors{})
}

func (s *server) showStaffEdit(rq *request, code int, username string, f formValues, errs formErrors) error {
	ctx := rq.ctx()
	list, err := s.cfg.Registry.ListStaff(ctx, &yizhanv1.ListStaffRequest{})
	if err != nil {
		return err
	}
	var m *yizhanv1.StaffMember
	for _, st := range list.GetStaff() {
		if st.GetUsername() == username {
			m = st
		}
	}
	if m == nil {
		return errNotFound
	}
	deps, err := s.cfg.Registry.ListDepartments(ctx, &yizhanv1.ListDepartmentsRequest{})
	if err != nil {
		return err
	}
	office := m.GetOfficeCode()
	if o, err := s.cfg.Registry.GetOffice(ctx, &yizhanv1.GetOfficeRequest{Code: office}); err == nil {
		office = o.GetOffice().GetName()
	}
	errs.labels = map[string]string{"name": "姓名", "department_code": "部门", "roles": "角色", "new_password": "重置密码"}
	s.formCSRF(rq)
	d := &staffEditData{Staff: m, Office: office, Departments: deps.GetDepartments(), F: f}
	return s.render(rq, code, "staff_edit", &view{Title: "编辑工作人员 " + m.GetUsername(), Section: "admin", AdminTab: "staff", Data: d, Errs: errs})
}

func (s *server) staffUpdate(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	username := rq.r.PathValue("username")
	f := rq.r.PostForm
	m := &yizhanv1.StaffMember{Name: strings.TrimSpace(f.Get("name")), DepartmentCode: f.Get("department_code"), Disabled: f.Get("disabled") == "1"}
	for _, r := range f["roles"] {
		n, _ := strconv.Atoi(r)
		m.Roles = append(m.Roles, yizhanv1.Role(n))
	}
	resp, err := s.cfg.Registry.UpdateStaff(rq.ctx(), &yizhanv1.UpdateStaffRequest{Username: username, Staff: m, NewPassword: f.Get("new_password")})
	if err != nil {
		f.Del("new_password") // never sent back to the browser
		if errs, ok := fieldErrors(err, "staff.", staffField); ok {
			return s.showStaffEdit(rq, http.StatusBadRequest, username, formValues{f}, errs)
		}
		if errs, code, ok := unsaved(rq, err); ok {
			return s.showStaffEdit(rq, code, username, formValues{f}, errs)
		}
		return err
	}
	return s.saved(rq, resp.GetRegistryIndex(), "/admin/staff?office="+url.QueryEscape(resp.GetStaff().GetOfficeCode()), "staffed")
}
