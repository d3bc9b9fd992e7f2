package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The county admins' pages share this: who may open them, and waiting
// for a write to reach this node's registry before showing the result.

// requireAdmin lets admins through; anyone signed out goes to the
// sign-in page, and other staff get 无权限. What an admin may change is
// still decided by the API on each call.
func requireAdmin(rq *request) error {
	if rq.me == nil {
		return status.Error(codes.Unauthenticated, "web: sign in first")
	}
	if !isAdmin(rq.staff()) {
		return errNotAdmin
	}
	return nil
}

func (s *server) adminHome(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	return rq.redirect("/admin/items")
}

// waitIndex waits until this node's registry has applied index, so that
// the page shown after a write shows it (a write is made at the county
// leader and reaches a follower, a township or a village a moment later).
// It gives up after a few seconds: the page then says the copy here is
// still catching up.
func (s *server) waitIndex(ctx context.Context, index uint64) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	t := time.NewTicker(25 * time.Millisecond)
	defer t.Stop()
	for {
		st, err := s.cfg.Registry.GetRegistryStatus(ctx, &yizhanv1.GetRegistryStatusRequest{})
		if err == nil && st.GetIndex() >= index {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// saved redirects after a successful write to to, with a message key
// the next page turns into its confirmation.
func (s *server) saved(rq *request, index uint64, to, msg string) error {
	u, err := url.Parse(to)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("msg", msg)
	if !s.waitIndex(rq.r.Context(), index) {
		q.Set("lag", "1")
	}
	u.RawQuery = q.Encode()
	return rq.redirect(u.String())
}

// flashes are the confirmations shown after a write (by message key).
var flashes = map[string]string{
	"created":       "事项已创建。",
	"updated":       "已保存为新版本。",
	"nochange":      "没有修改任何内容，未生成新版本。",
	"granted":       "授权已生效。",
	"revoked":       "授权已撤销。",
	"staff":         "工作人员账号已创建。",
	"staffed":       "工作人员账号已保存，将同步到各办事点。",
	"retired":       "事项已废止：不再受理新的申请，已受理的办件继续办理。",
	"restored":      "事项已恢复受理。",
	"office":        "已保存，将同步到各办事点。",
	"officeCreated": "已新增，将同步到各办事点。新办事点的节点凭县级签发的证书（yizhan ca issue）启动后加入（见 README“Running real nodes”）。",
	"calendar":      "工作日历已保存。",
}

// flash is the confirmation asked for by the page's query.
func flash(rq *request) string {
	q := rq.r.URL.Query()
	msg := flashes[q.Get("msg")]
	if msg != "" && q.Get("lag") == "1" {
		msg += "（本节点的目录副本仍在同步，稍后刷新即可看到。）"
	}
	return msg
}

type adminItemsData struct {
	Query       string
	Dept        string
	Departments []*yizhanv1.Department
	Rows        []catalogueRow
}

func (s *server) adminItems(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	ctx := rq.ctx()
	q := rq.r.URL.Query()
	d := &adminItemsData{Query: q.Get("q"), Dept: q.Get("dept")}
	deps, err := s.cfg.Registry.ListDepartments(ctx, &yizhanv1.ListDepartmentsRequest{})
	if err != nil {
		return err
	}
	d.Departments = deps.GetDepartments()
	names := departmentNames(d.Departments)
	items, err := s.listAllItems(ctx, &yizhanv1.ListItemsRequest{Query: d.Query, DepartmentCode: d.Dept, IncludeRetired: true})
	if err != nil {
		return err
	}
	for _, it := range items {
		d.Rows = append(d.Rows, catalogueRow{Item: it, Department: names[it.GetDepartmentCode()]})
	}
	return s.render(rq, http.StatusOK, "admin_items", &view{Title: "事项管理", Section: "admin", AdminTab: "items", Data: d, Flash: flash(rq), Meta: deps.GetMeta()})
}

// listAllItems reads every page of a ListItems query.
func (s *server) listAllItems(ctx context.Context, req *yizhanv1.ListItemsRequest) ([]*yizhanv1.Item, error) {
	req.PageSize = 1000
	items, _, err := everyPage(100000, func(token string) ([]*yizhanv1.Item, string, *yizhanv1.ReadMeta, error) {
		req.PageToken = token
		resp, err := s.cfg.Registry.ListItems(ctx, req)
		return resp.GetItems(), resp.GetNextPageToken(), resp.GetMeta(), err
	})
	return items, err
}

// listAllGrants is every grant req selects, following the pages, and
// the read's meta (everyPage).
func (s *server) listAllGrants(ctx context.Context, req *yizhanv1.ListGrantsRequest) ([]*yizhanv1.Grant, *yizhanv1.ReadMeta, error) {
	req.PageSize = 1000
	return everyPage(1000000, func(token string) ([]*yizhanv1.Grant, string, *yizhanv1.ReadMeta, error) {
		req.PageToken = token
		resp, err := s.cfg.Registry.ListGrants(ctx, req)
		return resp.GetGrants(), resp.GetNextPageToken(), resp.GetMeta(), err
	})
}

// listAllVersions is every version of an item, oldest first, following
// the pages, and the read's meta (everyPage).
func (s *server) listAllVersions(ctx context.Context, code string) ([]*yizhanv1.Item, *yizhanv1.ReadMeta, error) {
	req := &yizhanv1.ListItemVersionsRequest{Code: code, PageSize: 1000}
	return everyPage(100000, func(token string) ([]*yizhanv1.Item, string, *yizhanv1.ReadMeta, error) {
		req.PageToken = token
		resp, err := s.cfg.Registry.ListItemVersions(ctx, req)
		return resp.GetVersions(), resp.GetNextPageToken(), resp.GetMeta(), err
	})
}

// everyPage gathers a registry list's pages, from the first until one
// gives no next token or more than limit are held, and the read's meta
// of the first page (the staleness shown is the oldest).
func everyPage[T any](limit int, page func(token string) ([]T, string, *yizhanv1.ReadMeta, error)) ([]T, *yizhanv1.ReadMeta, error) {
	var (
		out   []T
		first *yizhanv1.ReadMeta
		token string
	)
	for {
		got, next, meta, err := page(token)
		if err != nil {
			return nil, nil, err
		}
		if first == nil {
			first = meta
		}
		out = append(out, got...)
		if next == "" || len(out) > limit {
			return out, first, nil
		}
		token = next
	}
}

// itemTypes is the type of every item of the catalogue, retired too, by
// code.
func (s *server) itemTypes(rq *request) (map[string]yizhanv1.ItemType, error) {
	items, err := s.listAllItems(rq.r.Context(), &yizhanv1.ListItemsRequest{IncludeRetired: true})
	if err != nil {
		return nil, err
	}
	types := make(map[string]yizhanv1.ItemType, len(items))
	for _, it := range items {
		types[it.GetCode()] = it.GetType()
	}
	return types, nil
}

// formValues is a form's values as typed, so that a form shown again
// after an error shows exactly what was entered.
type formValues struct{ url.Values }

// V is the value of a field.
func (f formValues) V(name string) string { return f.Get(name) }

// Or is the value of a field as sent, even empty, or def when the form
// was not sent (a page shown, not refused): a field cleared and refused
// comes back cleared, not as it was.
func (f formValues) Or(name, def string) string {
	if _, sent := f.Values[name]; sent {
		return f.Get(name)
	}
	return def
}

// Checked reports whether a checkbox (or multi-select) has value.
func (f formValues) Checked(name, value string) bool { return slices.Contains(f.Values[name], value) }

// Sel reports whether a select's value is the enum value v.
func (f formValues) Sel(name string, v int32) bool { return f.Get(name) == strconv.Itoa(int(v)) }

// Rows is the number of rows of a table of the form.
func (f formValues) Rows(name string) []int {
	n, _ := strconv.Atoi(f.Get(name + "_rows"))
	n = min(max(n, 0), maxRows)
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// maxRows bounds the rows of a form's table.
const maxRows = 200
