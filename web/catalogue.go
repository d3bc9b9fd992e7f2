package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The citizens' pages: the home page, the catalogue and an item's page.
// They need no sign-in.

type homeData struct {
	Departments []*yizhanv1.Department
	HereCount   int
	Total       int
}

func (s *server) home(rq *request) error {
	ctx := rq.r.Context()
	deps, err := s.cfg.Registry.ListDepartments(ctx, &yizhanv1.ListDepartmentsRequest{})
	if err != nil {
		return err
	}
	all, err := s.cfg.Registry.ListItems(ctx, &yizhanv1.ListItemsRequest{PageSize: 1000})
	if err != nil {
		return err
	}
	here, err := s.cfg.Registry.ListItems(ctx, &yizhanv1.ListItemsRequest{PageSize: 1000, OfficeCode: s.cfg.Office})
	if err != nil {
		return err
	}
	d := &homeData{Departments: deps.GetDepartments(), Total: len(all.GetItems()), HereCount: len(here.GetItems())}
	return s.render(rq, http.StatusOK, "home", &view{Section: "home", Data: d, Meta: deps.GetMeta()})
}

// catalogueRow is one item of the catalogue with what this office may do.
type catalogueRow struct {
	Item       *yizhanv1.Item
	Department string
	Here       string // "受理" (accepts it here), "代办" (proxy-files it here) or ""
}

type catalogueData struct {
	Query       string
	Dept        string
	DeptName    string
	HereOnly    bool
	Departments []*yizhanv1.Department
	Rows        []catalogueRow
	Next        string // URL of the next page
	Prev        string
	// Nearest are the items closest to words that found nothing: those
	// sharing the most characters with them.
	Nearest []*yizhanv1.Item
}

const cataloguePageSize = 50

func (s *server) catalogue(rq *request) error {
	ctx := rq.r.Context()
	q := rq.r.URL.Query()
	d := &catalogueData{Query: strings.TrimSpace(q.Get("q")), Dept: q.Get("dept"), HereOnly: q.Get("here") == "1"}
	deps, err := s.cfg.Registry.ListDepartments(ctx, &yizhanv1.ListDepartmentsRequest{})
	if err != nil {
		return err
	}
	d.Departments = deps.GetDepartments()
	names := departmentNames(d.Departments)
	d.DeptName = names[d.Dept]
	// The page's address holds its token (page) and those of the pages
	// before it but the first (back, oldest first): the API's tokens go
	// on with their query only, so the way back is kept, not made.
	page := q.Get("page")
	var back []string
	if b := q.Get("back"); b != "" && page != "" {
		back = strings.Split(b, ",")
	}
	req := &yizhanv1.ListItemsRequest{Query: d.Query, DepartmentCode: d.Dept, PageSize: cataloguePageSize, PageToken: page}
	if d.HereOnly {
		req.OfficeCode = s.cfg.Office
	}
	items, err := s.cfg.Registry.ListItems(ctx, req)
	if page != "" && refusedPageToken(err) {
		// An address of an earlier release (a bookmark) or a made-up
		// one: the catalogue from its first page.
		page, back, req.PageToken = "", nil, ""
		items, err = s.cfg.Registry.ListItems(ctx, req)
	}
	if err != nil {
		return err
	}
	here, err := s.hereRights(rq, "")
	if err != nil {
		return err
	}
	for _, it := range items.GetItems() {
		d.Rows = append(d.Rows, catalogueRow{Item: it, Department: names[it.GetDepartmentCode()], Here: hereLabel(here[it.GetCode()])})
	}
	link := func(page string, back []string) string {
		v := url.Values{}
		if d.Query != "" {
			v.Set("q", d.Query)
		}
		if d.Dept != "" {
			v.Set("dept", d.Dept)
		}
		if d.HereOnly {
			v.Set("here", "1")
		}
		if page != "" {
			v.Set("page", page)
			if len(back) > 0 {
				v.Set("back", strings.Join(back, ","))
			}
		}
		if len(v) == 0 {
			return "/items"
		}
		return "/items?" + v.Encode()
	}
	if t := items.GetNextPageToken(); t != "" {
		if page != "" {
			d.Next = link(t, append(slices.Clone(back), page))
		} else {
			d.Next = link(t, nil)
		}
	}
	if len(d.Rows) == 0 && d.Query != "" {
		all, err := s.listAllItems(ctx, &yizhanv1.ListItemsRequest{})
		if err != nil {
			return err
		}
		d.Nearest = nearest(all, d.Query, 5)
	}
	if page != "" {
		if len(back) == 0 {
			d.Prev = link("", nil)
		} else {
			d.Prev = link(back[len(back)-1], back[:len(back)-1])
		}
	}
	title := "事项目录"
	if d.HereOnly {
		title = "在本办事点可办的事项"
	}
	return s.render(rq, http.StatusOK, "catalogue", &view{Title: title, Section: "catalogue", Data: d, Meta: items.GetMeta()})
}

// hereRights is what this node's office may do now, by item (of one item
// when itemCode is set).
func (s *server) hereRights(rq *request, itemCode string) (map[string][]yizhanv1.Right, error) {
	gs, _, err := s.listAllGrants(rq.r.Context(), &yizhanv1.ListGrantsRequest{OfficeCode: s.cfg.Office, ItemCode: itemCode})
	if err != nil {
		return nil, err
	}
	out := map[string][]yizhanv1.Right{}
	for _, g := range gs {
		for _, r := range g.GetRights() {
			if !slices.Contains(out[g.GetItemCode()], r) {
				out[g.GetItemCode()] = append(out[g.GetItemCode()], r)
			}
		}
	}
	for _, rs := range out {
		slices.Sort(rs)
	}
	return out, nil
}

func hereLabel(rs []yizhanv1.Right) string {
	switch {
	case slices.Contains(rs, yizhanv1.Right_RIGHT_ACCEPT):
		return "受理"
	case slices.Contains(rs, yizhanv1.Right_RIGHT_PROXY_FILE):
		return "代办"
	}
	return ""
}

func departmentNames(ds []*yizhanv1.Department) map[string]string {
	m := make(map[string]string, len(ds))
	for _, d := range ds {
		m[d.GetCode()] = d.GetName()
	}
	return m
}

// handler is one office (or every office of a tier) that holds rights
// on an item.
type handler struct {
	Target string
	Rights string
	Until  string
	Note   string
}

type itemData struct {
	Item          *yizhanv1.Item
	Current       uint32 // the current version, when an older one is shown
	Department    *yizhanv1.Department
	CoDepartments []string
	HereRights    string
	HereLabel     string
	// Taker is the office above that takes the item in when this one
	// does not: a citizen here may file online there. Route is the way a
	// case filed there goes.
	Taker    *yizhanv1.Office
	Route    []routeStep
	Handlers []handler
}

func (s *server) itemPage(rq *request) error {
	d, meta, err := s.loadItem(rq)
	if err != nil {
		return err
	}
	return s.render(rq, http.StatusOK, "item", &view{Title: d.Item.GetName(), Section: "catalogue", Data: d, Meta: meta})
}

// itemGuide is the item's one-page guide (办事指南), printed for a
// citizen at a window: the eight publics, the materials, where and when.
func (s *server) itemGuide(rq *request) error {
	d, meta, err := s.loadItem(rq)
	if err != nil {
		return err
	}
	return s.render(rq, http.StatusOK, "item_guide", &view{Title: d.Item.GetName() + " 办事指南", Section: "catalogue", Data: d, Meta: meta})
}

// loadItem reads the item of the path (the version of ?v=, else the
// current one), its departments and who handles it.
func (s *server) loadItem(rq *request) (*itemData, *yizhanv1.ReadMeta, error) {
	ctx := rq.r.Context()
	code := rq.r.PathValue("code")
	var version uint32
	if v := rq.r.URL.Query().Get("v"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, nil, errNotFound
		}
		version = uint32(n)
	}
	resp, err := s.cfg.Registry.GetItem(ctx, &yizhanv1.GetItemRequest{Code: code, Version: version})
	if err != nil {
		return nil, nil, err
	}
	it := resp.GetItem()
	d := &itemData{Item: it}
	if version != 0 {
		cur, err := s.cfg.Registry.GetItem(ctx, &yizhanv1.GetItemRequest{Code: code})
		if err != nil {
			return nil, nil, err
		}
		if cur.GetItem().GetVersion() != it.GetVersion() {
			d.Current = cur.GetItem().GetVersion()
		}
	}
	deps, err := s.cfg.Registry.ListDepartments(ctx, &yizhanv1.ListDepartmentsRequest{})
	if err != nil {
		return nil, nil, err
	}
	for _, dep := range deps.GetDepartments() {
		if dep.GetCode() == it.GetDepartmentCode() {
			d.Department = dep
		}
		if slices.Contains(it.GetCoDepartmentCodes(), dep.GetCode()) {
			d.CoDepartments = append(d.CoDepartments, dep.GetName())
		}
	}
	here, err := s.hereRights(rq, code)
	if err != nil {
		return nil, nil, err
	}
	d.HereRights = rightList(here[code])
	d.HereLabel = hereLabel(here[code])
	if d.HereLabel == "" {
		if d.Taker, d.Route, err = s.takerOf(rq, code); err != nil {
			return nil, nil, err
		}
	}
	if d.Handlers, err = s.handlers(rq, code); err != nil {
		return nil, nil, err
	}
	return d, resp.GetMeta(), nil
}

// handlers lists who holds rights on the item now, county first.
func (s *server) handlers(rq *request, itemCode string) ([]handler, error) {
	ctx := rq.r.Context()
	gs, _, err := s.listAllGrants(ctx, &yizhanv1.ListGrantsRequest{ItemCode: itemCode})
	if err != nil {
		return nil, err
	}
	offices, err := s.officeNames(rq)
	if err != nil {
		return nil, err
	}
	var out []handler
	for _, g := range gs {
		h := handler{Target: grantTarget(g, offices), Rights: rightList(g.GetRights()), Note: g.GetNote()}
		if g.GetValidUntil() != nil {
			h.Until = untilDate(g.GetValidUntil())
		}
		out = append(out, h)
	}
	slices.SortStableFunc(out, func(a, b handler) int { return targetRank(a.Target) - targetRank(b.Target) })
	return out, nil
}

func targetRank(t string) int {
	switch {
	case strings.HasPrefix(t, "全部乡镇"):
		return 1
	case strings.HasPrefix(t, "全部村"):
		return 3
	}
	return 2
}

func (s *server) officeNames(rq *request) (map[string]string, error) {
	resp, err := s.cfg.Registry.ListOffices(rq.r.Context(), &yizhanv1.ListOfficesRequest{})
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, o := range resp.GetOffices() {
		m[o.GetCode()] = o.GetName()
	}
	return m, nil
}

// grantTarget names the office a grant is for, or its tier.
func grantTarget(g *yizhanv1.Grant, offices map[string]string) string {
	if c := g.GetOfficeCode(); c != "" {
		if n := offices[c]; n != "" {
			return n
		}
		return c
	}
	switch g.GetTier() {
	case yizhanv1.Tier_TIER_COUNTY:
		return "县级"
	case yizhanv1.Tier_TIER_TOWNSHIP:
		return "全部乡镇便民服务中心"
	case yizhanv1.Tier_TIER_VILLAGE:
		return "全部村（社区）便民服务站"
	}
	return "?"
}

// nearest lists up to n items sharing the most characters with q (in
// their name or everyday names), most first: what a search that found
// nothing suggests instead.
func nearest(items []*yizhanv1.Item, q string, n int) []*yizhanv1.Item {
	type scored struct {
		it    *yizhanv1.Item
		score int
	}
	var out []scored
	for _, it := range items {
		words := it.GetName() + " " + strings.Join(it.GetAliases(), " ")
		score := 0
		for _, r := range dedupRunes(q) {
			if unicode.Is(unicode.Han, r) && strings.ContainsRune(words, r) { // Han characters, not punctuation or Latin noise
				score++
			}
		}
		if score > 0 {
			out = append(out, scored{it, score})
		}
	}
	slices.SortStableFunc(out, func(a, b scored) int { return b.score - a.score })
	var items2 []*yizhanv1.Item
	for _, s := range out[:min(n, len(out))] {
		items2 = append(items2, s.it)
	}
	return items2
}

func dedupRunes(s string) []rune {
	var out []rune
	for _, r := range s {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// takerOf finds, for an item this office does not take in, the nearest
// office above that does (ACCEPT or PROXY_FILE), and the route a case
// filed there would take: for each step, the lowest office from it up
// holding the step's right. nil when none does.
func (s *server) takerOf(rq *request, itemCode string) (*yizhanv1.Office, []routeStep, error) {
	ctx := rq.r.Context()
	resp, err := s.cfg.Registry.ListOffices(ctx, &yizhanv1.ListOfficesRequest{})
	if err != nil {
		return nil, nil, err
	}
	byCode := map[string]*yizhanv1.Office{}
	for _, o := range resp.GetOffices() {
		byCode[o.GetCode()] = o
	}
	var path []*yizhanv1.Office // from the office above this one up
	for o := byCode[byCode[s.cfg.Office].GetParentCode()]; o != nil && len(path) < 5; o = byCode[o.GetParentCode()] {
		path = append(path, o)
	}
	rights := map[string][]yizhanv1.Right{}
	var taker *yizhanv1.Office
	for _, o := range path {
		gs, _, err := s.listAllGrants(ctx, &yizhanv1.ListGrantsRequest{OfficeCode: o.GetCode(), ItemCode: itemCode})
		if err != nil {
			return nil, nil, err
		}
		for _, g := range gs {
			rights[o.GetCode()] = append(rights[o.GetCode()], g.GetRights()...)
		}
		if taker == nil && hereLabel(rights[o.GetCode()]) != "" {
			taker = o
		}
	}
	if taker == nil {
		return nil, nil, nil
	}
	var route []routeStep
	for _, r := range []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_REVIEW, yizhanv1.Right_RIGHT_APPROVE,
		yizhanv1.Right_RIGHT_CERTIFY, yizhanv1.Right_RIGHT_DELIVER} {
		from := slices.IndexFunc(path, func(o *yizhanv1.Office) bool { return o.GetCode() == taker.GetCode() })
		for _, o := range path[from:] {
			if slices.Contains(rights[o.GetCode()], r) {
				route = append(route, routeStep{Right: rightNames[r], Office: o.GetName()})
				break
			}
		}
	}
	return taker, route, nil
}
