package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The catalogue editor: create an item, edit it (each save is a new
// version), see its versions and what changed between them.

// editableItemFields are the item's fields a person edits; an update
// names them all, so that a field emptied on the form is emptied.
var editableItemFields = []string{
	"name", "aliases", "type", "department_code", "co_department_codes", "legal_basis", "conditions",
	"materials", "steps", "statutory_limit_days", "promised_limit_days", "extension_limit_days", "fee_basis",
	"fee_standard", "fee_cents", "fee_unit", "case_kind", "exercise_tier", "special_procedures", "visits",
	"where_to_apply", "office_hours", "consultation_phone", "complaint_phone",
}

// itemFieldLabels name the item's fields on the page.
var itemFieldLabels = map[string]string{
	"code": "事项编码", "name": "事项名称", "aliases": "常用名（俗称）", "change_note": "修改说明", "type": "事项类型", "department_code": "主办部门",
	"co_department_codes": "协办部门", "legal_basis": "设定依据", "conditions": "受理条件",
	"materials": "申请材料", "steps": "办理流程", "statutory_limit_days": "法定时限",
	"promised_limit_days": "承诺时限", "extension_limit_days": "延期上限", "fee_basis": "收费依据", "fee_standard": "收费标准",
	"fee_cents": "收费金额", "fee_unit": "计费单位", "case_kind": "办件类型", "exercise_tier": "行使层级",
	"special_procedures": "特别程序", "visits": "到现场次数", "where_to_apply": "办理地点",
	"office_hours": "办理时间", "consultation_phone": "咨询电话", "complaint_phone": "投诉电话",
}

// itemFormLabels name the item form's fields in the error summary.
var itemFormLabels = func() map[string]string {
	m := map[string]string{
		"fee": "收费金额", "materials.name": "材料名称", "materials.copies": "份数",
		"steps.name": "步骤名称", "steps.limit_days": "时限",
		"special_procedures.name": "程序名称", "special_procedures.limit_days": "时限",
	}
	for k, v := range itemFieldLabels {
		m[k] = v
	}
	m["special_procedures"] = "特别程序"
	m["steps"] = "办理流程"
	return m
}()

type itemFormData struct {
	Edit        bool
	Code        string
	Name        string // the item's name when editing
	Version     uint32
	F           formValues
	Departments []*yizhanv1.Department
}

// itemValues is an item as form values.
func itemValues(it *yizhanv1.Item) url.Values {
	v := url.Values{}
	set := func(k, val string) { v.Set(k, val) }
	num := func(k string, n int32) { v.Set(k, strconv.Itoa(int(n))) }
	set("code", it.GetCode())
	set("name", it.GetName())
	num("type", int32(it.GetType()))
	set("department_code", it.GetDepartmentCode())
	v["co_department_codes"] = append([]string(nil), it.GetCoDepartmentCodes()...)
	set("legal_basis", it.GetLegalBasis())
	set("conditions", it.GetConditions())
	num("statutory_limit_days", it.GetStatutoryLimitDays())
	num("promised_limit_days", it.GetPromisedLimitDays())
	if it.GetExtensionLimitDays() != 0 {
		num("extension_limit_days", it.GetExtensionLimitDays())
	}
	set("fee_basis", it.GetFeeBasis())
	set("fee_standard", it.GetFeeStandard())
	set("fee_unit", it.GetFeeUnit())
	if it.GetFeeCents() != 0 {
		set("fee", fmt.Sprintf("%d.%02d", it.GetFeeCents()/100, it.GetFeeCents()%100))
	}
	num("case_kind", int32(it.GetCaseKind()))
	num("exercise_tier", int32(it.GetExerciseTier()))
	num("visits", it.GetVisits())
	set("where_to_apply", it.GetWhereToApply())
	set("aliases", strings.Join(it.GetAliases(), "、"))
	set("office_hours", it.GetOfficeHours())
	set("consultation_phone", it.GetConsultationPhone())
	set("complaint_phone", it.GetComplaintPhone())
	for i, m := range it.GetMaterials() {
		p := fmt.Sprintf("materials[%d].", i)
		set(p+"name", m.GetName())
		num(p+"form", int32(m.GetForm()))
		num(p+"copies", m.GetCopies())
		set(p+"required", boolValue(m.GetRequired()))
		set(p+"condition", m.GetCondition())
		set(p+"notes", m.GetNotes())
	}
	for i, st := range it.GetSteps() {
		p := fmt.Sprintf("steps[%d].", i)
		set(p+"name", st.GetName())
		if st.GetLimitDays() != 0 {
			num(p+"limit_days", st.GetLimitDays())
		}
		set(p+"description", st.GetDescription())
	}
	for i, sp := range it.GetSpecialProcedures() {
		p := fmt.Sprintf("special_procedures[%d].", i)
		set(p+"name", sp.GetName())
		num(p+"limit_days", sp.GetLimitDays())
		set(p+"counts_in_limit", boolValue(sp.GetCountsInLimit()))
	}
	num("materials_rows", int32(len(it.GetMaterials())+2))
	num("steps_rows", int32(len(it.GetSteps())+2))
	num("special_procedures_rows", int32(len(it.GetSpecialProcedures())+1))
	return v
}

func boolValue(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// itemRows records, for each list of an item built from a form, which
// form row each entry came from (blank rows are left out).
type itemRows map[string][]int

// remap turns a field of the API's violation into the form's field.
func (rows itemRows) remap(field string) string {
	if m := rowFieldRE.FindStringSubmatch(field); m != nil {
		list, k, rest := m[1], m[2], m[3]
		idx, _ := strconv.Atoi(k)
		if list == "co_department_codes" {
			return list
		}
		if idx < len(rows[list]) {
			return fmt.Sprintf("%s[%d]%s", list, rows[list][idx], rest)
		}
		return ""
	}
	if field == "fee_cents" {
		return "fee"
	}
	if _, ok := itemFieldLabels[field]; ok {
		return field
	}
	return ""
}

var rowFieldRE = regexp.MustCompile(`^(materials|steps|special_procedures|co_department_codes)\[(\d+)\](.*)$`)

// feeRE is an amount in yuan with at most two decimals.
var feeRE = regexp.MustCompile(`^(\d{1,9})(?:\.(\d{1,2}))?$`)

// parseItem builds an item from form values. It checks only what it
// must to build one (numbers that are numbers); the API checks the rest.
func parseItem(f url.Values) (*yizhanv1.Item, itemRows, formErrors) {
	var errs formErrors
	rows := itemRows{}
	str := func(k string) string { return strings.TrimSpace(f.Get(k)) }
	num := func(k string) int32 {
		s := str(k)
		if s == "" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			errs.add(k, "请填写整数")
		}
		return int32(n)
	}
	enum := func(k string) int32 {
		n, _ := strconv.Atoi(f.Get(k))
		return int32(n)
	}
	it := &yizhanv1.Item{
		Code: str("code"), Name: str("name"),
		Type:               yizhanv1.ItemType(enum("type")),
		DepartmentCode:     str("department_code"),
		LegalBasis:         str("legal_basis"),
		Conditions:         str("conditions"),
		StatutoryLimitDays: num("statutory_limit_days"),
		PromisedLimitDays:  num("promised_limit_days"),
		ExtensionLimitDays: num("extension_limit_days"),
		FeeBasis:           str("fee_basis"),
		FeeStandard:        str("fee_standard"),
		FeeUnit:            str("fee_unit"),
		CaseKind:           yizhanv1.CaseKind(enum("case_kind")),
		ExerciseTier:       yizhanv1.Tier(enum("exercise_tier")),
		Visits:             num("visits"),
		WhereToApply:       str("where_to_apply"),
		OfficeHours:        str("office_hours"),
		ConsultationPhone:  str("consultation_phone"),
		ComplaintPhone:     str("complaint_phone"),
		Aliases:            splitWords(str("aliases")),
	}
	for _, c := range f["co_department_codes"] {
		if c != "" && c != it.DepartmentCode {
			it.CoDepartmentCodes = append(it.CoDepartmentCodes, c)
		}
	}
	if fee := str("fee"); fee != "" {
		m := feeRE.FindStringSubmatch(fee)
		if m == nil {
			errs.add("fee", "请填写金额（元），最多两位小数")
		} else {
			yuan, _ := strconv.ParseInt(m[1], 10, 64)
			fen := int64(0)
			if m[2] != "" {
				fen, _ = strconv.ParseInt((m[2] + "0")[:2], 10, 64)
			}
			it.FeeCents = yuan*100 + fen
		}
	}
	n := func(list string) int {
		k, _ := strconv.Atoi(f.Get(list + "_rows"))
		return min(max(k, 0), maxRows)
	}
	for i := range n("materials") {
		p := fmt.Sprintf("materials[%d].", i)
		if str(p+"name") == "" && str(p+"condition") == "" && str(p+"notes") == "" {
			continue
		}
		copies := int32(1)
		if str(p+"copies") != "" {
			copies = num(p + "copies")
		}
		it.Materials = append(it.Materials, &yizhanv1.Material{
			Name: str(p + "name"), Form: yizhanv1.MaterialForm(enum(p + "form")), Copies: copies,
			Required: f.Get(p+"required") != "0", Condition: str(p + "condition"), Notes: str(p + "notes"),
		})
		rows["materials"] = append(rows["materials"], i)
	}
	for i := range n("steps") {
		p := fmt.Sprintf("steps[%d].", i)
		if str(p+"name") == "" && str(p+"description") == "" && str(p+"limit_days") == "" {
			continue
		}
		it.Steps = append(it.Steps, &yizhanv1.ProcedureStep{Name: str(p + "name"), LimitDays: num(p + "limit_days"), Description: str(p + "description")})
		rows["steps"] = append(rows["steps"], i)
	}
	for i := range n("special_procedures") {
		p := fmt.Sprintf("special_procedures[%d].", i)
		if str(p+"name") == "" && str(p+"limit_days") == "" {
			continue
		}
		it.SpecialProcedures = append(it.SpecialProcedures, &yizhanv1.SpecialProcedure{
			Name: str(p + "name"), LimitDays: num(p + "limit_days"), CountsInLimit: f.Get(p+"counts_in_limit") == "1",
		})
		rows["special_procedures"] = append(rows["special_procedures"], i)
	}
	return it, rows, errs
}

// moreRows handles the "增加一行" buttons: it adds rows to a table of the
// form and reports whether it did (the form is then shown again, unsaved).
func moreRows(f url.Values) bool {
	list := f.Get("more")
	switch list {
	case "materials", "steps", "special_procedures", "days":
		n, _ := strconv.Atoi(f.Get(list + "_rows"))
		f.Set(list+"_rows", strconv.Itoa(min(n+3, maxRows)))
		return true
	}
	return false
}

func (s *server) itemForm(rq *request, code int, d *itemFormData, errs formErrors) error {
	deps, err := s.cfg.Registry.ListDepartments(rq.ctx(), &yizhanv1.ListDepartmentsRequest{})
	if err != nil {
		return err
	}
	d.Departments = deps.GetDepartments()
	errs.labels = itemFormLabels
	title := "新建事项"
	if d.Edit {
		title = "修改事项：" + d.Name
	}
	return s.render(rq, code, "item_form", &view{Title: title, Section: "admin", AdminTab: "items", Data: d, Errs: errs})
}

func (s *server) itemNew(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	v := url.Values{
		"type": {"1"}, "case_kind": {"2"}, "exercise_tier": {"1"}, "visits": {"1"},
		"materials_rows": {"3"}, "steps_rows": {"5"}, "special_procedures_rows": {"1"},
		"fee_basis": {"不收费"}, "fee_standard": {"不收费"},
	}
	for i, step := range []string{"受理", "审核", "审批", "制证", "送达"} {
		v.Set(fmt.Sprintf("steps[%d].name", i), step)
	}
	v.Set("materials[0].name", "申请人居民身份证")
	v.Set("materials[0].form", "3")
	return s.itemForm(rq, http.StatusOK, &itemFormData{F: formValues{v}}, formErrors{})
}

func (s *server) itemCreate(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	f := rq.r.PostForm
	d := &itemFormData{F: formValues{f}}
	if moreRows(f) {
		return s.itemForm(rq, http.StatusOK, d, formErrors{})
	}
	it, rows, errs := parseItem(f)
	if errs.Any() {
		return s.itemForm(rq, http.StatusBadRequest, d, errs)
	}
	resp, err := s.cfg.Registry.CreateItem(rq.ctx(), &yizhanv1.CreateItemRequest{Item: it})
	if err != nil {
		if errs, ok := fieldErrors(err, "item.", rows.remap); ok {
			return s.itemForm(rq, http.StatusBadRequest, d, errs)
		}
		if status.Code(err) == codes.AlreadyExists {
			errs.add("code", "事项编码 "+it.GetCode()+" 已存在")
			return s.itemForm(rq, http.StatusConflict, d, errs)
		}
		if errs, code, ok := unsaved(rq, err); ok {
			return s.itemForm(rq, code, d, errs)
		}
		return err
	}
	return s.saved(rq, resp.GetRegistryIndex(), "/admin/items/"+url.PathEscape(it.GetCode())+"/versions", "created")
}

func (s *server) itemEdit(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	resp, err := s.cfg.Registry.GetItem(rq.ctx(), &yizhanv1.GetItemRequest{Code: rq.r.PathValue("code")})
	if err != nil {
		return err
	}
	it := resp.GetItem()
	d := &itemFormData{Edit: true, Code: it.GetCode(), Name: it.GetName(), Version: it.GetVersion(), F: formValues{itemValues(it)}}
	return s.itemForm(rq, http.StatusOK, d, formErrors{})
}

func (s *server) itemUpdate(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	code := rq.r.PathValue("code")
	f := rq.r.PostForm
	f.Set("code", code)
	cur, err := s.cfg.Registry.GetItem(rq.ctx(), &yizhanv1.GetItemRequest{Code: code})
	if err != nil {
		return err
	}
	base, _ := strconv.ParseUint(f.Get("base_version"), 10, 32)
	d := &itemFormData{Edit: true, Code: code, Name: cur.GetItem().GetName(), Version: uint32(base), F: formValues{f}}
	if moreRows(f) {
		return s.itemForm(rq, http.StatusOK, d, formErrors{})
	}
	it, rows, errs := parseItem(f)
	if errs.Any() {
		return s.itemForm(rq, http.StatusBadRequest, d, errs)
	}
	if v := cur.GetItem().GetVersion(); v != uint32(base) {
		// Someone saved a version since this form was opened: show it, and
		// let the admin save over it knowingly.
		errs.addGeneral(fmt.Sprintf("您打开此表单后，该事项已被修改为第 %d 版。请先查看版本记录，核对后再次保存将以您填写的内容生成新版本。", v))
		d.Version = v
		f.Set("base_version", strconv.Itoa(int(v)))
		return s.itemForm(rq, http.StatusConflict, d, errs)
	}
	if sameItem(cur.GetItem(), it) {
		return rq.redirect("/admin/items/" + url.PathEscape(code) + "/versions?msg=nochange")
	}
	// Every version says why it was made.
	if it.ChangeNote = strings.TrimSpace(f.Get("change_note")); it.ChangeNote == "" {
		errs.add("change_note", "请填写修改说明（为什么修改，依据什么文件）")
		return s.itemForm(rq, http.StatusBadRequest, d, errs)
	}
	resp, err := s.cfg.Registry.UpdateItem(rq.ctx(), &yizhanv1.UpdateItemRequest{
		Item: it, UpdateMask: &fieldmaskpb.FieldMask{Paths: editableItemFields},
	})
	if err != nil {
		if errs, ok := fieldErrors(err, "item.", rows.remap); ok {
			return s.itemForm(rq, http.StatusBadRequest, d, errs)
		}
		if errs, code, ok := unsaved(rq, err); ok {
			return s.itemForm(rq, code, d, errs)
		}
		return err
	}
	return s.saved(rq, resp.GetRegistryIndex(), "/admin/items/"+url.PathEscape(code)+"/versions", "updated")
}

// sameItem reports whether next changes none of cur's editable fields.
func sameItem(cur, next *yizhanv1.Item) bool {
	return len(changedFields(cur, next)) == 0
}

// changedFields lists the editable fields that differ between a and b.
func changedFields(a, b *yizhanv1.Item) []protoreflect.FieldDescriptor {
	ra, rb := a.ProtoReflect(), b.ProtoReflect()
	fields := ra.Descriptor().Fields()
	var out []protoreflect.FieldDescriptor
	for _, name := range editableItemFields {
		fd := fields.ByName(protoreflect.Name(name))
		if ra.Has(fd) != rb.Has(fd) || (ra.Has(fd) && !ra.Get(fd).Equal(rb.Get(fd))) {
			out = append(out, fd)
		}
	}
	return out
}

// change is one field changed by a version.
type change struct {
	Field    string
	From, To string // empty for lists: see Summary
	Summary  string
}

type versionRow struct {
	Item    *yizhanv1.Item
	Changes []change
	First   bool
	Editor  string // 王强（wangqiang）
}

type versionsData struct {
	Item     *yizhanv1.Item // current
	Versions []versionRow   // newest first
}

func (s *server) itemVersions(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	vs, meta, err := s.listAllVersions(rq.ctx(), rq.r.PathValue("code"))
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		return errNotFound
	}
	d := &versionsData{Item: vs[len(vs)-1]}
	names := map[string]string{}
	if st, err := s.cfg.Registry.ListStaff(rq.ctx(), &yizhanv1.ListStaffRequest{}); err == nil {
		for _, m := range st.GetStaff() {
			names[m.GetUsername()] = m.GetName()
		}
	}
	for i := len(vs) - 1; i >= 0; i-- {
		row := versionRow{Item: vs[i], First: i == 0, Editor: vs[i].GetUpdatedBy()}
		if n := names[row.Editor]; n != "" {
			row.Editor = n + "（" + row.Editor + "）"
		}
		if i > 0 {
			row.Changes = describeChanges(vs[i-1], vs[i])
		}
		d.Versions = append(d.Versions, row)
	}
	return s.render(rq, http.StatusOK, "item_versions", &view{Title: "版本记录：" + d.Item.GetName(), Section: "admin", AdminTab: "items", Data: d, Flash: flash(rq), Meta: meta})
}

func describeChanges(a, b *yizhanv1.Item) []change {
	var out []change
	for _, fd := range changedFields(a, b) {
		name := string(fd.Name())
		if name == "change_note" {
			continue // shown on its own
		}
		c := change{Field: itemFieldLabels[name]}
		if fd.IsList() {
			c.Summary = listChanges(a.ProtoReflect().Get(fd).List(), b.ProtoReflect().Get(fd).List())
		} else {
			c.From, c.To = itemFieldText(a, name), itemFieldText(b, name)
		}
		out = append(out, c)
	}
	return out
}

// itemFieldText is a scalar field of an item as a person reads it.
func itemFieldText(it *yizhanv1.Item, name string) string {
	switch name {
	case "type":
		return itemTypeNames[it.GetType()]
	case "case_kind":
		return caseKindNames[it.GetCaseKind()]
	case "exercise_tier":
		return tierNames[it.GetExerciseTier()]
	case "extension_limit_days":
		if it.GetExtensionLimitDays() == 0 {
			return "10 个工作日（行政许可法第四十二条）"
		}
		return fmt.Sprintf("%d 个工作日", it.GetExtensionLimitDays())
	case "statutory_limit_days", "promised_limit_days":
		fd := it.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(name))
		return limitDays(int32(it.ProtoReflect().Get(fd).Int()))
	case "fee_cents":
		if u := it.GetFeeUnit(); u != "" {
			return yuan(it.GetFeeCents()) + "／" + u
		}
		return yuan(it.GetFeeCents())
	case "visits":
		return fmt.Sprintf("%d 次", it.GetVisits())
	}
	fd := it.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil {
		return ""
	}
	return shorten(it.ProtoReflect().Get(fd).String(), 60)
}

// shorten cuts s to n characters.
func shorten(s string, n int) string {
	if s == "" {
		return "（空）"
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// itemRetire retires an item (废止: no new filings, running cases go on)
// or brings it back, as a new version of the item.
func (s *server) itemRetire(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	code := rq.r.PathValue("code")
	retired := rq.r.PostForm.Get("retired") == "1"
	note := strings.TrimSpace(rq.r.PostForm.Get("change_note"))
	if note == "" {
		return &pageError{status: http.StatusBadRequest, title: "未办理", msg: "请填写废止或恢复受理的依据（文件名称、文号）。"}
	}
	resp, err := s.cfg.Registry.UpdateItem(rq.ctx(), &yizhanv1.UpdateItemRequest{
		Item: &yizhanv1.Item{Code: code, Retired: retired, ChangeNote: note}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"retired"}},
	})
	if err != nil {
		return err
	}
	msg := "restored"
	if retired {
		msg = "retired"
	}
	return s.saved(rq, resp.GetRegistryIndex(), "/admin/items", msg)
}

// splitWords splits a list typed as 烟草证、卖烟, 烟草许可 (Chinese or
// Latin commas, 、 or spaces) into its words.
func splitWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == '、' || r == ',' || r == '，' || r == ';' || r == '；' || unicode.IsSpace(r)
	})
}

// listChanges says what changed in a list field, element by element: a
// list of messages is matched by their name (materials, steps, special
// procedures), a list of words by the words.
func listChanges(a, b protoreflect.List) string {
	key := func(v protoreflect.Value) string {
		if m, ok := v.Interface().(protoreflect.Message); ok {
			if fd := m.Descriptor().Fields().ByName("name"); fd != nil {
				return m.Get(fd).String()
			}
		}
		return v.String()
	}
	index := func(l protoreflect.List) (map[string]protoreflect.Value, []string) {
		m := map[string]protoreflect.Value{}
		var order []string
		for i := range l.Len() {
			k := key(l.Get(i))
			m[k] = l.Get(i)
			order = append(order, k)
		}
		return m, order
	}
	am, aorder := index(a)
	bm, border := index(b)
	var added, removed, changed []string
	for _, k := range border {
		if av, ok := am[k]; !ok {
			added = append(added, k)
		} else if ma, ok := av.Interface().(protoreflect.Message); ok && !proto.Equal(ma.Interface(), bm[k].Message().Interface()) {
			changed = append(changed, k)
		}
	}
	for _, k := range aorder {
		if _, ok := bm[k]; !ok {
			removed = append(removed, k)
		}
	}
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "新增 "+strings.Join(added, "、"))
	}
	if len(removed) > 0 {
		parts = append(parts, "删除 "+strings.Join(removed, "、"))
	}
	if len(changed) > 0 {
		parts = append(parts, "修改 "+strings.Join(changed, "、"))
	}
	if len(parts) == 0 {
		return "调整了顺序"
	}
	return strings.Join(parts, "；")
}
