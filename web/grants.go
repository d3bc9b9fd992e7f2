package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The delegation matrix: items × offices, the rights each office (or each
// tier) holds with their validity; grant and revoke.

// column is one column of the matrix: one office, or every office of a
// tier.
type column struct {
	Key   string // "office:<code>" or "tier:<n>", the grant form's target
	Label string
	Sub   string // the office code, or "全部"
	Tier  bool   // a whole tier
	Level string // "县", "乡镇", "村"
}

type grantView struct {
	ID        string
	Rights    string
	Validity  string
	State     string // "" (in force), "未生效", "已过期", "已撤销"
	Note      string
	Revocable bool
}

type matrixCell struct {
	Key    string
	Label  string // the column's office or tier, for the cell's controls
	Grants []grantView
	// Inherited are the rights the office holds through its tier's grants
	// in force (全部乡镇, 全部村), besides its own.
	Inherited string
}

type matrixRow struct {
	Item  *yizhanv1.Item
	Dept  string
	Cells []matrixCell
}

type matrixData struct {
	Query, Dept, Township string
	All                   bool // also revoked and expired grants
	Departments           []*yizhanv1.Department
	Townships             []*yizhanv1.Office
	VillagesHidden        int // villages not shown (choose a township)
	Columns               []column
	Rows                  []matrixRow
}

// maxVillageColumns is how many village columns the matrix shows before
// it asks for a township to narrow them to.
const maxVillageColumns = 12

// targetKey is the matrix column a grant belongs to.
func targetKey(g *yizhanv1.Grant) string {
	if g.GetOfficeCode() != "" {
		return "office:" + g.GetOfficeCode()
	}
	return "tier:" + strconv.Itoa(int(g.GetTier()))
}

// columns are the matrix's columns: the county, all townships, each
// township, all villages, each village (of one township when there are
// many).
func (s *server) columns(rq *request, township string) ([]column, []*yizhanv1.Office, int, error) {
	resp, err := s.cfg.Registry.ListOffices(rq.ctx(), &yizhanv1.ListOfficesRequest{})
	if err != nil {
		return nil, nil, 0, err
	}
	var county, towns, villages []*yizhanv1.Office
	for _, o := range resp.GetOffices() {
		switch o.GetTier() {
		case yizhanv1.Tier_TIER_COUNTY:
			county = append(county, o)
		case yizhanv1.Tier_TIER_TOWNSHIP:
			towns = append(towns, o)
		case yizhanv1.Tier_TIER_VILLAGE:
			villages = append(villages, o)
		}
	}
	office := func(o *yizhanv1.Office, level string) column {
		return column{Key: "office:" + o.GetCode(), Label: o.GetName(), Sub: o.GetCode(), Level: level}
	}
	var cols []column
	for _, o := range county {
		cols = append(cols, office(o, "县"))
	}
	cols = append(cols, column{Key: "tier:2", Label: "全部乡镇", Sub: "乡镇级", Tier: true, Level: "乡镇"})
	for _, o := range towns {
		cols = append(cols, office(o, "乡镇"))
	}
	cols = append(cols, column{Key: "tier:3", Label: "全部村（社区）", Sub: "村级", Tier: true, Level: "村"})
	hidden := 0
	for _, o := range villages {
		if (township != "" && o.GetParentCode() != township) || (township == "" && len(villages) > maxVillageColumns) {
			hidden++
			continue
		}
		cols = append(cols, office(o, "村"))
	}
	return cols, towns, hidden, nil
}

func (s *server) matrix(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	ctx := rq.ctx()
	q := rq.r.URL.Query()
	d := &matrixData{Query: q.Get("q"), Dept: q.Get("dept"), Township: q.Get("township"), All: q.Get("all") == "1"}
	deps, err := s.cfg.Registry.ListDepartments(ctx, &yizhanv1.ListDepartmentsRequest{})
	if err != nil {
		return err
	}
	d.Departments = deps.GetDepartments()
	names := departmentNames(d.Departments)
	if d.Columns, d.Townships, d.VillagesHidden, err = s.columns(rq, d.Township); err != nil {
		return err
	}
	items, err := s.listAllItems(ctx, &yizhanv1.ListItemsRequest{Query: d.Query, DepartmentCode: d.Dept})
	if err != nil {
		return err
	}
	gs, gmeta, err := s.listAllGrants(ctx, &yizhanv1.ListGrantsRequest{IncludeInactive: true})
	if err != nil {
		return err
	}
	now := s.now()
	byCell := map[string][]grantView{}
	canRevoke := isCountyAdmin(rq.staff())
	for _, g := range gs {
		gv := viewGrant(g, now)
		if !d.All && (gv.State == "已撤销" || gv.State == "已过期") {
			continue
		}
		gv.Revocable = canRevoke && !g.GetRevoked()
		k := g.GetItemCode() + "|" + targetKey(g)
		byCell[k] = append(byCell[k], gv)
	}
	// What each tier's grants in force give every office of the tier.
	tierRights := map[string][]yizhanv1.Right{}
	for _, g := range gs {
		if g.GetOfficeCode() == "" && viewGrant(g, now).State == "" {
			k := g.GetItemCode() + "|" + targetKey(g)
			tierRights[k] = append(tierRights[k], g.GetRights()...)
		}
	}
	tierOf := map[string]string{"乡镇": "tier:2", "村": "tier:3"}
	for _, it := range items {
		row := matrixRow{Item: it, Dept: names[it.GetDepartmentCode()]}
		for _, c := range d.Columns {
			cell := matrixCell{Key: c.Key, Label: c.Label, Grants: byCell[it.GetCode()+"|"+c.Key]}
			if t, ok := tierOf[c.Level]; ok && !c.Tier {
				rs := slices.Clone(tierRights[it.GetCode()+"|"+t])
				slices.Sort(rs)
				cell.Inherited = rightList(slices.Compact(rs))
			}
			row.Cells = append(row.Cells, cell)
		}
		d.Rows = append(d.Rows, row)
	}
	return s.render(rq, http.StatusOK, "matrix", &view{Title: "授权矩阵", Section: "admin", AdminTab: "grants", Data: d, Flash: flash(rq), Meta: gmeta})
}

// viewGrant is a grant as the matrix shows it.
func viewGrant(g *yizhanv1.Grant, now time.Time) grantView {
	gv := grantView{ID: g.GetId(), Rights: rightList(g.GetRights()), Note: g.GetNote(), Validity: validity(g)}
	switch {
	case g.GetRevoked():
		gv.State = "已撤销"
	case g.GetValidUntil() != nil && !now.Before(g.GetValidUntil().AsTime()):
		gv.State = "已过期"
	case g.GetValidFrom() != nil && now.Before(g.GetValidFrom().AsTime()):
		gv.State = "未生效"
	}
	return gv
}

// validity says when a grant is in force. valid_from is always set (to
// the time of writing when not given): it is shown only when chosen.
func validity(g *yizhanv1.Grant) string {
	from := ""
	if vf := g.GetValidFrom(); vf != nil && (g.GetCreatedAt() == nil || vf.AsTime().Sub(g.GetCreatedAt().AsTime()) > time.Minute) {
		from = dateOf(vf)
	}
	until := ""
	if vu := g.GetValidUntil(); vu != nil {
		until = untilDate(vu)
	}
	switch {
	case from != "" && until != "":
		return from + " 至 " + until
	case from != "":
		return "自 " + from + " 起"
	case until != "":
		return "至 " + until
	}
	return "长期有效"
}

// untilDate is the last day a grant ending at the (exclusive) valid_until
// is in force.
func untilDate(ts *timestamppb.Timestamp) string {
	return ts.AsTime().Add(-time.Nanosecond).In(china).Format("2006-01-02")
}

type grantFormData struct {
	F       formValues
	Items   []*yizhanv1.Item
	Columns []column
}

func (s *server) grantForm(rq *request, code int, f url.Values, errs formErrors) error {
	items, err := s.listAllItems(rq.ctx(), &yizhanv1.ListItemsRequest{})
	if err != nil {
		return err
	}
	cols, _, _, err := s.columns(rq, "")
	if err != nil {
		return err
	}
	// The form offers every village, not only the matrix's.
	if resp, err := s.cfg.Registry.ListOffices(rq.ctx(), &yizhanv1.ListOfficesRequest{Tier: yizhanv1.Tier_TIER_VILLAGE}); err == nil && len(resp.GetOffices()) > maxVillageColumns {
		for _, o := range resp.GetOffices() {
			cols = append(cols, column{Key: "office:" + o.GetCode(), Label: o.GetName(), Sub: o.GetCode(), Level: "村"})
		}
	}
	errs.labels = map[string]string{"item_code": "事项", "target": "授权给", "rights": "权限", "valid_from": "生效日期", "valid_until": "截止日期", "note": "备注"}
	d := &grantFormData{F: formValues{f}, Items: items, Columns: cols}
	return s.render(rq, code, "grant_form", &view{Title: "授权", Section: "admin", AdminTab: "grants", Data: d, Errs: errs})
}

func (s *server) grantNew(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	q := rq.r.URL.Query()
	f := url.Values{"item_code": {q.Get("item")}, "target": {q.Get("target")}}
	if strings.HasPrefix(q.Get("target"), "tier:3") || isVillageKey(q.Get("target")) {
		f["rights"] = []string{"6", "5"}
	} else {
		f["rights"] = []string{"1", "5"}
	}
	return s.grantForm(rq, http.StatusOK, f, formErrors{})
}

func isVillageKey(key string) bool {
	code, ok := strings.CutPrefix(key, "office:")
	return ok && len(code) == 12 && !strings.HasSuffix(code, "000")
}

// parseDay reads a date input (YYYY-MM-DD) as the start of that day in
// China.
func parseDay(s string) (time.Time, error) {
	return time.ParseInLocation("2006-01-02", s, china)
}

func (s *server) grantCreate(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	f := rq.r.PostForm
	var errs formErrors
	g := &yizhanv1.Grant{ItemCode: f.Get("item_code"), Note: strings.TrimSpace(f.Get("note"))}
	target := f.Get("target")
	switch {
	case strings.HasPrefix(target, "office:"):
		g.OfficeCode = strings.TrimPrefix(target, "office:")
	case strings.HasPrefix(target, "tier:"):
		n, _ := strconv.Atoi(strings.TrimPrefix(target, "tier:"))
		g.Tier = yizhanv1.Tier(n)
	}
	for _, r := range f["rights"] {
		n, err := strconv.Atoi(r)
		if err != nil {
			errs.add("rights", "不是有效的权限")
			continue
		}
		g.Rights = append(g.Rights, yizhanv1.Right(n))
	}
	slices.Sort(g.Rights)
	if v := strings.TrimSpace(f.Get("valid_from")); v != "" {
		t, err := parseDay(v)
		if err != nil {
			errs.add("valid_from", "日期格式应为 年-月-日")
		} else {
			g.ValidFrom = timestamppb.New(t)
		}
	}
	if v := strings.TrimSpace(f.Get("valid_until")); v != "" {
		t, err := parseDay(v)
		if err != nil {
			errs.add("valid_until", "日期格式应为 年-月-日")
		} else {
			// The last day is included: the grant ends when it is over.
			g.ValidUntil = timestamppb.New(t.AddDate(0, 0, 1))
		}
	}
	if errs.Any() {
		return s.grantForm(rq, http.StatusBadRequest, f, errs)
	}
	resp, err := s.cfg.Registry.CreateGrant(rq.ctx(), &yizhanv1.CreateGrantRequest{Grant: g})
	if err != nil {
		if errs, ok := fieldErrors(err, "grant.", grantField); ok {
			return s.grantForm(rq, http.StatusBadRequest, f, errs)
		}
		if errs, code, ok := unsaved(rq, err); ok {
			return s.grantForm(rq, code, f, errs)
		}
		return err
	}
	return s.saved(rq, resp.GetRegistryIndex(), "/admin/grants#item-"+g.GetItemCode(), "granted")
}

// grantField is the grant form's field for a field of the API's grant.
func grantField(field string) string {
	switch {
	case field == "item_code":
		return "item_code"
	case field == "office_code", field == "tier":
		return "target"
	case field == "rights", strings.HasPrefix(field, "rights["):
		return "rights"
	case field == "valid_from", field == "valid_until", field == "note":
		return field
	}
	return ""
}

type revokeData struct {
	Grant  grantView
	Item   *yizhanv1.Item
	Target string
}

// findGrant looks a grant up by id (the API lists grants; it has no call
// for one).
func (s *server) findGrant(rq *request, id string) (*yizhanv1.Grant, error) {
	gs, _, err := s.listAllGrants(rq.ctx(), &yizhanv1.ListGrantsRequest{IncludeInactive: true})
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		if g.GetId() == id {
			return g, nil
		}
	}
	return nil, errNotFound
}

func (s *server) grantRevokeConfirm(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	g, err := s.findGrant(rq, rq.r.PathValue("id"))
	if err != nil {
		return err
	}
	it, err := s.cfg.Registry.GetItem(rq.ctx(), &yizhanv1.GetItemRequest{Code: g.GetItemCode()})
	if err != nil {
		return err
	}
	offices, err := s.officeNames(rq)
	if err != nil {
		return err
	}
	d := &revokeData{Grant: viewGrant(g, s.now()), Item: it.GetItem(), Target: grantTarget(g, offices)}
	return s.render(rq, http.StatusOK, "grant_revoke", &view{Title: "撤销授权", Section: "admin", AdminTab: "grants", Data: d})
}

func (s *server) grantRevoke(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	id := rq.r.PathValue("id")
	resp, err := s.cfg.Registry.RevokeGrant(rq.ctx(), &yizhanv1.RevokeGrantRequest{Id: id})
	if err != nil {
		return err
	}
	return s.saved(rq, resp.GetRegistryIndex(), "/admin/grants#item-"+resp.GetGrant().GetItemCode(), "revoked")
}
