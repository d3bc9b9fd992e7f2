package web

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// The supervision page (电子监察): the office's latest cards,
// orders and follow-ups waiting for an answer, and the figures of the
// month with charts. Staff see their own office's; county admins and
// supervisors the whole county's, and supervisors issue, close and send
// back orders from it. The charts are drawn by Apache ECharts, served by
// the node itself (/static/echarts.min.js, no CDN); the figures are also
// in tables, so the page is whole without scripts.

//go:embed static/echarts.min.js
var echartsJS []byte

//go:embed static/charts.js
var chartsJS []byte

// The scripts are compressed once per process, when first asked for:
// not again by every node that starts (ECharts is a megabyte, and a
// demo county or a test runs many nodes in one process).
var (
	echartsAsset = sync.OnceValue(func() asset { return newAsset(echartsJS) })
	chartsAsset  = sync.OnceValue(func() asset { return newAsset(chartsJS) })
)

// cspWithScripts is the pages' policy with this node's scripts allowed:
// the supervision page only.
const cspWithScripts = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var orderStateNames = map[yizhanv1.OrderState]string{
	yizhanv1.OrderState_ORDER_STATE_OPEN:     "待答复",
	yizhanv1.OrderState_ORDER_STATE_ANSWERED: "已答复，待监察员审核",
	yizhanv1.OrderState_ORDER_STATE_CLOSED:   "已办结",
}

type supervisionData struct {
	Month      string
	Figures    *yizhanv1.Figures
	Cards      []*yizhanv1.Card // a page of the latest, newest first
	Orders     []*yizhanv1.SupervisionOrder
	FollowUps  []*yizhanv1.FollowUp
	Supervisor bool   // may issue, close and send back orders
	Office     string // the office whose records these are
	Charts     template.JS
	Now        time.Time
	Names      map[string]string // office code → name
	// The month shown (YYYY-MM), the one before and the one after it
	// (empty: the future).
	MonthKey, Prev, Next string
	// WarningDays is the county's policy (0: the default, 2).
	WarningDays int32
	// CountyRecordsMissing: the node could not read the county's records
	// (follow-ups, orders and their cards): 督办 and 答复及时率 are shown
	// "—", and a notice says the cards lack theirs.
	CountyRecordsMissing bool
	// CountyCards says which cards the figures count that only the
	// county's book lists (an office below the county; "" at the county
	// and when none): its card list is its own book's.
	CountyCards string
	// Form is a form the API refused, as typed, with "failed" naming it
	// (supervisionForm's key: "reply-<id>", "answer-<id>", …).
	Form formValues
	// CardsNext is the next page of cards (earlier ones), CardsFirst the
	// first, when this is a later one: "" when none.
	CardsNext, CardsFirst string
	// Shown is what every form of the page carries in its action (the
	// month and the page of cards shown: cardsPage), "" for the first
	// page of this month: refused, the page shown again, and done, the
	// page redirected to, are the view the form was posted from.
	Shown string
}

// Failed reports whether the form of key was the one refused.
func (d supervisionData) Failed(key string) bool { return key != "" && d.Form.V("failed") == key }

// Typed is what was typed in field of the form of key, when it was the
// one refused; otherwise "".
func (d supervisionData) Typed(key, field string) string {
	if !d.Failed(key) {
		return ""
	}
	return d.Form.V(field)
}

// OfficeName is an office's name, its code when the registry lacks it.
func (d supervisionData) OfficeName(code string) string {
	if n := d.Names[code]; n != "" {
		return n
	}
	return code
}

// CardRuleName is a rule in Chinese.
func (supervisionData) CardRuleName(r yizhanv1.CardRule) string { return supervision.RuleName(r) }

// OrderStateName is an order's state in Chinese.
func (supervisionData) OrderStateName(s yizhanv1.OrderState) string { return orderStateNames[s] }

// Mine reports whether the signed-in staff member answers for office.
func (d supervisionData) Mine(office string) bool { return office == d.Office }

// Late reports whether t is past.
func (d supervisionData) Late(t interface{ AsTime() time.Time }) bool { return d.Now.After(t.AsTime()) }

// percent is a rate of the figures as a percentage, "—" when it has none
// (nothing to divide by: no rating has no 满意率; not 0%).
func percent(v *float64) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(100**v, 'f', 1, 64) + "%"
}

// chart data for charts.js.
type chartData struct {
	Days     []string `json:"days"`
	Received []uint64 `json:"received"`
	Decided  []uint64 `json:"decided"`
	Depts    []string `json:"depts"`
	Red      []uint64 `json:"red"`
	Yellow   []uint64 `json:"yellow"`
	Ratings  []struct {
		Name  string `json:"name"`
		Value uint64 `json:"value"`
	} `json:"ratings"`
}

// cardsPageSize is the cards on one page of the supervision page's
// latest cards.
const cardsPageSize = 50

func (s *server) supervision(rq *request) error {
	return s.showSupervision(rq, http.StatusOK, formValues{url.Values{}}, formErrors{}, supervisionFlash[rq.r.URL.Query().Get("msg")])
}

// showSupervision renders the supervision page, with a refused form
// (form, errs) shown again as typed.
func (s *server) showSupervision(rq *request, code int, form formValues, errs formErrors, flash string) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	if s.cfg.Supervision == nil {
		return errNotFound
	}
	ctx := rq.ctx()
	me := rq.staff()
	now := s.now().In(china)
	month, last, err := monthRange(rq.r.URL.Query().Get("month"), now)
	if err != nil {
		return err
	}
	d := &supervisionData{Month: month.Format("2006年1月"), Office: me.GetOfficeCode(), Now: now,
		Supervisor: slices.Contains(me.GetRoles(), yizhanv1.Role_ROLE_SUPERVISOR),
		MonthKey:   month.Format("2006-01"), Prev: month.AddDate(0, -1, 0).Format("2006-01"), Form: form}
	if next := month.AddDate(0, 1, 0); !next.After(now) {
		d.Next = next.Format("2006-01")
	}
	from, to := month.Format("2006-01-02"), last.Format("2006-01-02")
	// Both at once: below the county each asks the county for its
	// records, so a slow link costs the page one wait, not two.
	var byDept *yizhanv1.Statistics
	deptErr := make(chan error, 1)
	go func() {
		var err error
		byDept, err = s.cfg.Supervision.GetStatistics(ctx, &yizhanv1.GetStatisticsRequest{From: from, To: to, GroupBy: yizhanv1.Grouping_GROUPING_DEPARTMENT})
		deptErr <- err
	}()
	byDay, err := s.cfg.Supervision.GetStatistics(ctx, &yizhanv1.GetStatisticsRequest{From: from, To: to, GroupBy: yizhanv1.Grouping_GROUPING_DAY})
	if derr := <-deptErr; err == nil {
		err = derr
	}
	if err != nil {
		return err
	}
	d.Figures = byDay.GetTotal()
	d.CountyRecordsMissing = byDay.GetCountyRecordsMissing() || byDept.GetCountyRecordsMissing()
	if t, _ := registry.TierOf(s.cfg.Office); t != yizhanv1.Tier_TIER_COUNTY {
		d.CountyCards = supervision.CountyCardsNote(d.Figures)
	}
	// A page token of the cards the API refuses (of an earlier release)
	// shows the newest cards (pagedLists.page), and the forms carry the
	// page shown.
	shown := cardsPage(rq.r.URL.Query())
	var cards *yizhanv1.ListCardsResponse
	if err := (pagedLists{path: "/supervision", names: []string{"cards"}, q: shown}).page("cards", func(token string) (err error) {
		cards, err = s.cfg.Supervision.ListCards(ctx, &yizhanv1.ListCardsRequest{PageSize: cardsPageSize, PageToken: token})
		return err
	}); err != nil {
		return err
	}
	token := shown.Get("cards")
	if len(shown) > 0 {
		d.Shown = "?" + shown.Encode()
	}
	d.Cards = cards.GetCards()
	if t := cards.GetNextPageToken(); t != "" {
		d.CardsNext = "/supervision?" + url.Values{"month": {d.MonthKey}, "cards": {t}}.Encode() + "#cards"
	}
	if token != "" {
		d.CardsFirst = "/supervision?" + url.Values{"month": {d.MonthKey}}.Encode() + "#cards"
	}
	// Follow-ups and orders live at the county: a node cut off from it
	// shows the page without them.
	if os, err := s.cfg.Supervision.ListOrders(ctx, &yizhanv1.ListOrdersRequest{}); err == nil {
		for _, o := range os.GetOrders() {
			if o.GetState() != yizhanv1.OrderState_ORDER_STATE_CLOSED {
				d.Orders = append(d.Orders, o)
			}
		}
	} else if status.Code(err) == codes.PermissionDenied {
		return err
	}
	if fs, err := s.cfg.Supervision.ListFollowUps(ctx, &yizhanv1.ListFollowUpsRequest{State: yizhanv1.FollowUpState_FOLLOW_UP_STATE_OPEN}); err == nil {
		d.FollowUps = fs.GetFollowUps()
	}
	if p, err := s.cfg.Registry.GetSupervisionPolicy(ctx, &yizhanv1.GetSupervisionPolicyRequest{}); err == nil {
		d.WarningDays = p.GetPolicy().GetWarningDays()
	}
	d.Names, _ = s.officeNames(rq) // codes shown when the registry cannot be read
	var c chartData
	for _, r := range byDay.GetRows() {
		c.Days = append(c.Days, strings.TrimPrefix(r.GetKey()[5:], "0"))
		c.Received = append(c.Received, r.GetFigures().GetReceived())
		c.Decided = append(c.Decided, r.GetFigures().GetDecided())
	}
	for _, r := range byDept.GetRows() {
		name := r.GetName()
		if name == "" {
			name = r.GetKey()
		}
		c.Depts = append(c.Depts, name)
		c.Red = append(c.Red, r.GetFigures().GetRedCards())
		c.Yellow = append(c.Yellow, r.GetFigures().GetYellowCards())
	}
	f := d.Figures
	for _, r := range []struct {
		name string
		v    uint64
	}{{"非常满意", f.GetRatedVerySatisfied()}, {"满意", f.GetRatedSatisfied()}, {"基本满意", f.GetRatedBasicallySatisfied()},
		{"不满意", f.GetRatedDissatisfied()}, {"非常不满意", f.GetRatedVeryDissatisfied()}} {
		c.Ratings = append(c.Ratings, struct {
			Name  string `json:"name"`
			Value uint64 `json:"value"`
		}{r.name, r.v})
	}
	js, err := json.Marshal(c) // escapes <, > and &: safe inside the script element
	if err != nil {
		return err
	}
	d.Charts = template.JS(js)
	rq.w.Header().Set("Content-Security-Policy", cspWithScripts)
	return s.render(rq, code, "supervision", &view{Title: "电子监察", Section: "supervision", Data: d, Errs: errs, Flash: flash})
}

var supervisionFlash = map[string]string{
	"issued":   "督办已发出。",
	"answered": "已答复。",
	"closed":   "督办已办结。",
	"returned": "督办已退回，待重新答复。",
	"replied":  "已答复群众，待群众回访。",
	"policy":   "监察设置已保存。",
}

// supervisionAct runs a form of the supervision page, then goes back to
// it; a refusal shows the page again with the form as typed, its fields
// named (supervisionForm).
func (s *server) supervisionAct(rq *request) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	if s.cfg.Supervision == nil {
		return errNotFound
	}
	f, ctx, sv := rq.r.PostForm, rq.ctx(), s.cfg.Supervision
	id, action := rq.r.PathValue("id"), rq.r.PathValue("action")
	key := supervisionForm(action, id, f)
	var msg string
	var err error
	form := &formReader{f: f}
	switch action {
	case "issue":
		req := &yizhanv1.IssueOrderRequest{CaseNumber: f.Get("case_number"), CardRule: yizhanv1.CardRule(form.int32("card_rule")),
			Instruction: f.Get("instruction"), AnswerDays: form.int32("answer_days")}
		if !form.errs.Any() {
			_, err = sv.IssueOrder(ctx, req)
		}
		msg = "issued"
	case "answer":
		_, err = sv.AnswerOrder(ctx, &yizhanv1.AnswerOrderRequest{Id: id, Kind: f.Get("kind"), Text: f.Get("text")})
		msg = "answered"
	case "close":
		_, err = sv.CloseOrder(ctx, &yizhanv1.DecideOrderRequest{Id: id, Reason: f.Get("reason")})
		msg = "closed"
	case "return":
		_, err = sv.ReturnOrder(ctx, &yizhanv1.DecideOrderRequest{Id: id, Reason: f.Get("reason")})
		msg = "returned"
	case "reply":
		_, err = sv.ReplyFollowUp(ctx, &yizhanv1.ReplyFollowUpRequest{Id: id, Text: f.Get("text")})
		msg = "replied"
	case "policy":
		days := form.int32("warning_days")
		if !form.errs.Any() {
			_, err = s.cfg.Registry.PutSupervisionPolicy(ctx, &yizhanv1.PutSupervisionPolicyRequest{Policy: &yizhanv1.SupervisionPolicy{WarningDays: days}})
		}
		msg = "policy"
	default:
		return errNotFound
	}
	shown := formValues{url.Values{}}
	for k, v := range f {
		shown.Values[k] = v
	}
	shown.Set("failed", key)
	labels := map[string]string{}
	for field, label := range map[string]string{"text": "答复内容", "kind": "答复类型", "reason": "理由", "instruction": "督办意见",
		"answer_days": "答复时限", "card_rule": "卡别", "case_number": "办件编号", "warning_days": "预警天数"} {
		labels[key+"-"+field] = label
	}
	remap := func(field string) string {
		if field == "id" || field == "case_number" || field == "card_rule" {
			return "" // not typed on the form: said in the summary
		}
		return key + "-" + field
	}
	if form.errs.Any() {
		errs := formErrors{labels: labels}
		for _, p := range form.errs.List() {
			if field := remap(strings.TrimPrefix(p.ID, "f-")); field != "" {
				errs.add(field, p.Msg)
			} else {
				errs.addGeneral(p.Label + "：" + p.Msg)
			}
		}
		return s.showSupervision(rq, http.StatusBadRequest, shown, errs, "")
	}
	if err != nil {
		if errs, ok := fieldErrors(err, "", remap); ok {
			errs.labels = labels
			return s.showSupervision(rq, http.StatusBadRequest, shown, errs, "")
		}
		if errs, code, ok := unsaved(rq, err); ok {
			return s.showSupervision(rq, code, shown, errs, "")
		}
		return err
	}
	// Every form goes back to the month and the page of cards it was
	// posted from (its action's parameters: supervisionData.Shown).
	back := cardsPage(rq.r.URL.Query())
	back.Set("msg", msg)
	return rq.redirect("/supervision?" + back.Encode())
}

// cardsPage is the month and the page of cards of the supervision page
// whose parameters are q, as its parameters (none for the first page of
// the month now).
func cardsPage(q url.Values) url.Values {
	v := url.Values{}
	for _, k := range []string{"month", "cards"} {
		if x := q.Get(k); x != "" {
			v.Set(k, x)
		}
	}
	return v
}

// supervisionForm is the key of a form of the supervision page: its
// action and the record it acts on ("reply-<follow-up>", "answer-<order>",
// "issue-<case>-<rule>", "policy"); its fields are named key-field
// (f-<key>-<field> on the page).
func supervisionForm(action, id string, f url.Values) string {
	switch {
	case action == "issue":
		return "issue-" + f.Get("case_number") + "-" + f.Get("card_rule")
	case id != "":
		return action + "-" + id
	}
	return action
}

// serveScript serves one of the node's scripts, cached for a day.
func serveScript(script func() asset) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a := script()
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "public, max-age=86400")
		etag := `"` + a.hash + `"`
		h.Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		writeBody(w, r, http.StatusOK, a.body, a.gz)
	}
}

// supervisionExport sends the month's figures, ledger and cards as an
// Excel workbook (ExportStatistics), for the month ?month=YYYY-MM (this
// month when absent).
func (s *server) supervisionExport(rq *request) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	from, to, err := monthRange(rq.r.URL.Query().Get("month"), s.now())
	if err != nil {
		return err
	}
	body, err := s.cfg.Supervision.ExportStatistics(rq.ctx(), &yizhanv1.GetStatisticsRequest{From: from.Format("2006-01-02"), To: to.Format("2006-01-02")})
	if err == nil {
		err = s.left(rq)
	}
	if err != nil {
		return err
	}
	h := rq.w.Header()
	h.Set("Content-Type", body.GetContentType())
	h.Set("Cache-Control", "no-store")
	name := fmt.Sprintf("政务服务统计-%s.xlsx", from.Format("2006-01"))
	h.Set("Content-Disposition", "attachment; filename=\"statistics-"+from.Format("2006-01")+".xlsx\"; filename*=UTF-8''"+url.PathEscape(name))
	rq.w.WriteHeader(http.StatusOK)
	_, err = rq.w.Write(body.GetData())
	return err
}

// monthRange is the first and last day of month (YYYY-MM; "" is now's),
// the last no later than today.
func monthRange(month string, now time.Time) (from, to time.Time, err error) {
	now = now.In(china)
	from = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, china)
	if month != "" {
		from, err = time.ParseInLocation("2006-01", month, china)
		if err != nil {
			return from, to, &pageError{status: http.StatusBadRequest, title: "请求有误", msg: "月份应写作 2026-12 这样的形式。"}
		}
	}
	to = from.AddDate(0, 1, -1)
	if today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, china); to.After(today) && !from.After(today) {
		to = today
	}
	return from, to, nil
}
