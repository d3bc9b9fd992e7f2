package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/duty"
)

// The duty page (值班): the shift, its log and handover, the roster, and
// urgent reports. Duty officers (值班员) write a report; the leader on
// duty (带班领导) signs it, and it goes up the tree; reports from the
// offices below wait for this office's acknowledgement (签收); the offices
// above see the reports left unsigned past their deadline (逾时未审签),
// the board of who is on duty below, the zero reports and the month's
// assessment, and export the reports for their upper office.

type dutyData struct {
	Shift    *yizhanv1.DutyShift // this office's shift on now, if any
	OnIt     bool                // the signed-in staff member is on it
	Previous *yizhanv1.DutyShift // the last shift handed over before it
	Log      []*yizhanv1.DutyLogEntry
	Roster   []*yizhanv1.DutyShift                 // this office's shifts of the next days
	Keeper   bool                                  // may publish the roster
	Policy   *yizhanv1.DutyPolicy                  // the county's duty policy
	County   bool                                  // a county admin: may change it
	Contacts []*yizhanv1.DutyContact               // the utilities' duty phones
	Board    []*yizhanv1.OfficeOnDuty              // the offices below: who is on duty
	Zero     map[string]*yizhanv1.ZeroReportStatus // today's zero reports, by office
	ZeroDue  *timestamppb.Timestamp                // today's set hour
	Assess   []*yizhanv1.OfficeAssessment          // this month's assessment of the offices below
	Unsigned []*yizhanv1.UnsignedReportFlag        // first reports below left unsigned past their deadline
	Own      []*yizhanv1.HeldReport                // this office's, newest first: a page
	Below    []*yizhanv1.HeldReport                // from below, not acknowledged here, oldest first: a page
	Received []*yizhanv1.HeldReport                // from below, newest first: a page
	Leader   bool                                  // may sign
	Writer   bool                                  // may write and acknowledge
	Form     formValues
	Office   string
	Now      time.Time
	Names    map[string]string // office code → name
	// OwnPages, BelowPages and ReceivedPages go on to each list's next
	// page and back to its first (dutyLists); Pages is what the forms
	// acting on a report of them carry in their action to come back to
	// the pages shown.
	OwnPages, BelowPages, ReceivedPages listPage
	Pages                               string
	lists                               pagedLists // the pages shown: ReportFormLink
	// firsts is the first reports, by id, of the follow-ups among the
	// page's drafts, when not on the page (older, on a later page of
	// Own): MatterClosed.
	firsts map[string]*yizhanv1.HeldReport
}

// OfficeName is the office's name, or its code when unknown here.
func (d *dutyData) OfficeName(code string) string {
	if n := d.Names[code]; n != "" {
		return n
	}
	return code
}

// ReportFormLink is the link that opens the report form (修改 a draft:
// "edit", id; 续报 or 终报: "first", id, "kind", 2 or 3) on the pages of
// the lists shown, so that the form, posted, comes back to them.
func (d *dutyData) ReportFormLink(kv ...string) string {
	v := d.lists.tokens()
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return d.lists.path + "?" + v.Encode() + "#report-form"
}

// followUp is an open matter's next follow-up as the page says it.
type followUp struct {
	Text string
	Late bool
}

// FollowUp says when an open matter's next follow-up (续报) is due, as
// the office above asked, and whether it is late; nil when none is owed.
func (d dutyData) FollowUp(h *yizhanv1.HeldReport) *followUp {
	due := h.GetNextFollowUpDue()
	if due == nil || h.GetClosed() {
		return nil
	}
	at := due.AsTime().In(china).Format("01-02 15:04")
	if d.Now.After(due.AsTime()) {
		return &followUp{Text: "续报已逾时（应于 " + at + " 前续报）", Late: true}
	}
	return &followUp{Text: "下次续报应于 " + at + " 前"}
}

var shiftStateNames = map[yizhanv1.ShiftState]string{
	yizhanv1.ShiftState_SHIFT_STATE_PLANNED: "待接班", yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY: "在岗", yizhanv1.ShiftState_SHIFT_STATE_HANDED_OVER: "已交班",
}

var logKindNames = map[yizhanv1.LogKind]string{
	yizhanv1.LogKind_LOG_KIND_CALL: "来电", yizhanv1.LogKind_LOG_KIND_NOTICE: "通知", yizhanv1.LogKind_LOG_KIND_INSTRUCTION: "领导批示",
	yizhanv1.LogKind_LOG_KIND_DOCUMENT: "文电", yizhanv1.LogKind_LOG_KIND_OTHER: "其他",
}

// ZeroHour is the zero report's set hour, as shown.
func (d dutyData) ZeroHour() string { return d.ZeroDue.AsTime().In(china).Format("15:04") }

// ZeroOf is office's zero report status today.
func (d dutyData) ZeroOf(office string) *yizhanv1.ZeroReportStatus { return d.Zero[office] }

// ShiftStateName and LogKindName are in Chinese.
func (dutyData) ShiftStateName(s yizhanv1.ShiftState) string { return shiftStateNames[s] }
func (dutyData) LogKindName(k yizhanv1.LogKind) string       { return logKindNames[k] }

// Planned and OnDuty tell a shift's state.
func (dutyData) Planned(s *yizhanv1.DutyShift) bool {
	return s.GetState() == yizhanv1.ShiftState_SHIFT_STATE_PLANNED
}
func (dutyData) OnDuty(s *yizhanv1.DutyShift) bool {
	return s.GetState() == yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY
}

// KindName, CategoryName and LevelName are in Chinese.
func (dutyData) KindName(r *yizhanv1.UrgentReport) string        { return duty.KindName(r) }
func (dutyData) CategoryName(c yizhanv1.IncidentCategory) string { return duty.CategoryName(c) }
func (dutyData) LevelName(l yizhanv1.IncidentLevel) string       { return duty.LevelName(l) }

// Signed reports whether r is signed.
func (dutyData) Signed(r *yizhanv1.UrgentReport) bool {
	return r.GetState() == yizhanv1.ReportState_REPORT_STATE_SIGNED
}

// HandOverFrom is when shift s may be handed over (交班): from
// duty.HandOverEarly before its end.
func (dutyData) HandOverFrom(s *yizhanv1.DutyShift) *timestamppb.Timestamp {
	return timestamppb.New(s.GetEnd().AsTime().Add(-duty.HandOverEarly))
}

// MatterClosed reports whether draft r follows a first report whose
// matter a final report has closed: it is not signed any more (the API
// refuses it). The first report is looked for on the page, then among
// those read for the page's drafts (firsts).
func (d *dutyData) MatterClosed(r *yizhanv1.UrgentReport) bool {
	if r.GetKind() == yizhanv1.ReportKind_REPORT_KIND_FIRST {
		return false
	}
	for _, h := range d.Own {
		if h.GetReport().GetId() == r.GetFirstId() {
			return h.GetClosed()
		}
	}
	return d.firsts[r.GetFirstId()].GetClosed()
}

var dutyFlash = map[string]string{
	"written":      "报告已保存，待带班领导审核签发。",
	"updated":      "报告已修改，待带班领导审核签发。",
	"published":    "值班表已发布。",
	"takenOver":    "已接班。",
	"swapped":      "已调班。",
	"handedOver":   "已交班。",
	"logged":       "已记入值班日志。",
	"zero":         "今日零报告已报送。",
	"policy":       "值班设置已保存。",
	"signed":       "报告已签发，正在上报。",
	"acknowledged": "已签收。",
}

// reportsPageSize is the reports on a page of each list of the duty
// page: the office's own (本单位报告), those received from below (下级报告)
// and those waiting for its acknowledgement, each a listing of the API
// of its own (ListReports' scope).
const reportsPageSize = 50

// dutyLists is the duty page's lists that go on a page at a time
// (pagedLists), in q, the page's parameters.
func dutyLists(q url.Values) pagedLists {
	return pagedLists{path: "/duty", names: []string{"below", "own", "received"}, q: q}
}

func (s *server) dutyPage(rq *request) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	q := rq.r.URL.Query()
	f := url.Values{"first_id": {q.Get("first")}, "kind": {q.Get("kind")}}
	if id := q.Get("edit"); id != "" {
		// A draft to correct before its signature: the form holds it.
		h, err := s.cfg.Duty.GetReport(rq.ctx(), &yizhanv1.GetReportRequest{Id: id})
		if err != nil {
			return err
		}
		f = draftForm(h.GetReport())
	}
	return s.showDuty(rq, http.StatusOK, formValues{f}, formErrors{}, dutyFlash[q.Get("msg")])
}

// draftForm is the report form holding draft r, to be corrected
// (UpdateReport): its id in "edit", its times as a datetime-local input
// gives them.
func draftForm(r *yizhanv1.UrgentReport) url.Values {
	when := func(t *timestamppb.Timestamp) string {
		if t == nil {
			return ""
		}
		return t.AsTime().In(china).Format("2006-01-02T15:04")
	}
	count := func(n int32) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(int(n))
	}
	return url.Values{"edit": {r.GetId()}, "kind": {strconv.Itoa(int(r.GetKind()))}, "first_id": {r.GetFirstId()},
		"category": {strconv.Itoa(int(r.GetCategory()))}, "level": {strconv.Itoa(int(r.GetLevel()))},
		"title": {r.GetTitle()}, "place": {r.GetPlace()}, "occurred_at": {when(r.GetOccurredAt())}, "known_at": {when(r.GetKnownAt())},
		"deaths": {count(r.GetDeaths())}, "injured": {count(r.GetInjured())}, "missing": {count(r.GetMissing())},
		"details": {r.GetDetails()}, "measures": {r.GetMeasures()}, "losses": {r.GetLosses()}, "contact": {r.GetContact()}}
}

func (s *server) showDuty(rq *request, code int, f formValues, errs formErrors, flash string) error {
	ctx, me := rq.ctx(), rq.staff()
	lists := dutyLists(rq.r.URL.Query())
	d := &dutyData{Form: f, Office: me.GetOfficeCode(), lists: lists,
		Leader: slices.Contains(me.GetRoles(), yizhanv1.Role_ROLE_DUTY_LEADER)}
	d.Writer = d.Leader || slices.Contains(me.GetRoles(), yizhanv1.Role_ROLE_DUTY_OFFICER)
	d.Keeper = d.Leader || slices.Contains(me.GetRoles(), yizhanv1.Role_ROLE_ADMIN)
	if err := s.dutyShifts(rq, d); err != nil {
		return err
	}
	d.Names, _ = s.officeNames(rq) // codes shown when the registry cannot be read
	zero, err := s.cfg.Duty.ListZeroReports(ctx, &yizhanv1.ListZeroReportsRequest{})
	if err != nil {
		return err
	}
	d.Zero, d.ZeroDue = map[string]*yizhanv1.ZeroReportStatus{}, zero.GetDue()
	for _, z := range zero.GetOffices() {
		d.Zero[z.GetOfficeCode()] = z
	}
	// A list's page token the API refuses (of an earlier release) shows
	// that list from its first page, the others where they are
	// (pagedLists.page): the lists' links and the forms' pages are made
	// once every list is read, from the address as it is then.
	next := map[string]string{} // each list's next page token
	reports := func(list string, req *yizhanv1.ListReportsRequest) ([]*yizhanv1.HeldReport, error) {
		var resp *yizhanv1.ListReportsResponse
		err := lists.page(list, func(token string) (err error) {
			req.PageSize, req.PageToken = reportsPageSize, token
			resp, err = s.cfg.Duty.ListReports(ctx, req)
			return err
		})
		next[list] = resp.GetNextPageToken()
		return resp.GetReports(), err
	}
	if d.Own, err = reports("own", &yizhanv1.ListReportsRequest{Scope: yizhanv1.ReportScope_REPORT_SCOPE_OWN}); err != nil {
		return err
	}
	s.draftsFirsts(ctx, d)
	if len(zero.GetOffices()) > 1 {
		// Offices below it (the zero reports' list holds them): the
		// reports they sent up. An office with none has none to read for.
		if d.Received, err = reports("received", &yizhanv1.ListReportsRequest{Scope: yizhanv1.ReportScope_REPORT_SCOPE_BELOW}); err != nil {
			return err
		}
	}
	if len(zero.GetOffices()) > 1 {
		a, err := s.cfg.Duty.GetAssessment(ctx, &yizhanv1.GetAssessmentRequest{})
		if err != nil {
			return err
		}
		for _, o := range a.GetOffices() {
			if o.GetOfficeCode() != me.GetOfficeCode() {
				d.Assess = append(d.Assess, o)
			}
		}
	}
	if len(zero.GetOffices()) > 1 {
		un, err := s.cfg.Duty.ListUnsignedReports(ctx, &yizhanv1.ListUnsignedReportsRequest{})
		if err != nil {
			return err
		}
		for _, f := range un.GetFlags() {
			if f.GetOfficeCode() != me.GetOfficeCode() {
				d.Unsigned = append(d.Unsigned, f)
			}
		}
	}
	if me.GetOfficeCode() == s.cfg.Office {
		if d.Below, err = reports("below", &yizhanv1.ListReportsRequest{Unacknowledged: true}); err != nil {
			return err
		}
	}
	d.OwnPages = lists.links("own", next["own"])
	if _, ok := next["received"]; ok {
		d.ReceivedPages = lists.links("received", next["received"])
	}
	if _, ok := next["below"]; ok {
		d.BelowPages = lists.links("below", next["below"])
	}
	d.Pages = lists.query()
	s.formCSRF(rq)
	return s.render(rq, code, "duty", &view{Title: "值班", Section: "duty", Data: d, Errs: errs, Flash: flash})
}

// draftsFirsts reads into d.firsts the first report of each follow-up
// among d.Own's drafts that is not on the page itself: a first report
// comes before its follow-ups, so it is often on a later page.
func (s *server) draftsFirsts(ctx context.Context, d *dutyData) {
	on := map[string]bool{}
	for _, h := range d.Own {
		on[h.GetReport().GetId()] = true
	}
	for _, h := range d.Own {
		r := h.GetReport()
		id := r.GetFirstId()
		if r.GetState() != yizhanv1.ReportState_REPORT_STATE_DRAFT || r.GetKind() == yizhanv1.ReportKind_REPORT_KIND_FIRST || id == "" || on[id] {
			continue
		}
		first, err := s.cfg.Duty.GetReport(ctx, &yizhanv1.GetReportRequest{Id: id})
		if err != nil {
			continue // not read: the form is offered, and the API decides the signature
		}
		if d.firsts == nil {
			d.firsts = map[string]*yizhanv1.HeldReport{}
		}
		d.firsts[id], on[id] = first, true
	}
}

// dutyAct writes a report, signs one or acknowledges one, then goes back
// to the page; bad input is shown on the form, as typed.
func (s *server) dutyAct(rq *request) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	f, ctx, du := rq.r.PostForm, rq.ctx(), s.cfg.Duty
	id := rq.r.PathValue("id")
	form := &formReader{f: f}
	var msg string
	var err error
	switch rq.r.PathValue("action") {
	case "":
		report := reportOfForm(form)
		if form.errs.Any() {
			break
		}
		_, err = du.WriteReport(ctx, &yizhanv1.WriteReportRequest{Report: report})
		msg = "written"
	case "update":
		report := reportOfForm(form)
		if form.errs.Any() {
			break
		}
		_, err = du.UpdateReport(ctx, &yizhanv1.UpdateReportRequest{Id: id, Report: report})
		msg = "updated"
	case "sign":
		_, err = du.SignReport(ctx, &yizhanv1.SignReportRequest{Id: id})
		msg = "signed"
	case "acknowledge":
		minutes := form.int32("follow_up_minutes")
		if form.errs.Any() {
			break
		}
		_, err = du.AcknowledgeReport(ctx, &yizhanv1.AcknowledgeReportRequest{Id: id, Request: f.Get("request"), FollowUpMinutes: minutes})
		msg = "acknowledged"
	default:
		return errNotFound
	}
	labels, remap := reportLabels, func(field string) string { return field }
	if rq.r.PathValue("action") == "acknowledge" {
		// The acknowledgement form of the report acknowledged: each
		// report from below has its own (ackField).
		labels = map[string]string{ackField(id, "request"): "要求续报的内容", ackField(id, "follow_up_minutes"): "续报间隔"}
		remap = func(field string) string {
			if field == "request" || field == "follow_up_minutes" {
				return ackField(id, field)
			}
			return ""
		}
		form.errs = form.errs.renamed("follow_up_minutes", ackField(id, "follow_up_minutes"))
	}
	if form.errs.Any() {
		form.errs.labels = labels
		return s.showDuty(rq, http.StatusBadRequest, formValues{f}, form.errs, "")
	}
	if err != nil {
		if errs, ok := fieldErrors(err, "report.", remap); ok {
			errs.labels = labels
			return s.showDuty(rq, http.StatusBadRequest, formValues{f}, errs, "")
		}
		if errs, code, ok := unsaved(rq, err); ok {
			return s.showDuty(rq, code, formValues{f}, errs, "")
		}
		return err
	}
	// Every form goes back to the pages it was posted from (its action's
	// parameters): a signature or an acknowledgement, and a report
	// written or corrected from a link of a list (ReportFormLink).
	return rq.redirect(dutyLists(rq.r.URL.Query()).back(msg))
}

// ackField is the name by which the acknowledgement form of report id
// shows its field's problem (f-ack-<id>-<field> in duty.html).
func ackField(id, field string) string { return "ack-" + id + "-" + field }

// reportLabels are the report form's fields as the page names them.
var reportLabels = map[string]string{"kind": "报告类型", "category": "类别", "level": "级别", "title": "标题", "place": "地点",
	"occurred_at": "发生时间", "known_at": "获知时间", "deaths": "死亡", "injured": "受伤", "missing": "失踪",
	"losses": "损失", "measures": "已采取的措施", "details": "基本情况", "contact": "联系电话", "first_id": "首报编号", "request": "要求",
	"follow_up_minutes": "续报时限"}

// reportOfForm reads the report form (form.errs names what is not a
// number or a time). The times are China Standard Time, as a
// datetime-local input gives them.
func reportOfForm(form *formReader) *yizhanv1.UrgentReport {
	f, num, when := form.f, form.int32, form.time
	return &yizhanv1.UrgentReport{Kind: yizhanv1.ReportKind(max(num("kind"), 1)), FirstId: strings.TrimSpace(f.Get("first_id")),
		Category: yizhanv1.IncidentCategory(num("category")), Level: yizhanv1.IncidentLevel(num("level")),
		Title: f.Get("title"), Place: f.Get("place"), OccurredAt: when("occurred_at"), KnownAt: when("known_at"),
		Deaths: num("deaths"), Injured: num("injured"), Missing: num("missing"),
		Losses: f.Get("losses"), Measures: f.Get("measures"), Details: f.Get("details"), Contact: strings.TrimSpace(f.Get("contact"))}
}

// dutyShifts fills the shift part of the page: the shift on now with its
// log, the one before it, the roster of the next days, and the board of
// the offices below.
func (s *server) dutyShifts(rq *request, d *dutyData) error {
	ro, ctx, me := s.cfg.DutyRoster, rq.ctx(), rq.staff()
	if ro == nil {
		return nil
	}
	now := s.now().In(china)
	d.Now = now
	board, err := ro.GetOnDuty(ctx, &yizhanv1.GetOnDutyRequest{})
	if err != nil {
		return err
	}
	d.Contacts = board.GetContacts()
	d.County = isCountyAdmin(me)
	if d.County {
		if p, err := s.cfg.Registry.GetDutyPolicy(ctx, &yizhanv1.GetDutyPolicyRequest{}); err == nil {
			d.Policy = p.GetPolicy()
		}
	}
	for _, o := range board.GetOffices() {
		if o.GetOfficeCode() == me.GetOfficeCode() {
			d.Shift = o.GetShift()
		} else {
			d.Board = append(d.Board, o)
		}
	}
	d.OnIt = d.Shift.GetLeader() == me.GetUsername() || slices.Contains(d.Shift.GetOfficers(), me.GetUsername())
	day := func(t time.Time) string { return t.Format("2006-01-02") }
	shifts, err := ro.ListShifts(ctx, &yizhanv1.ListShiftsRequest{OfficeCode: me.GetOfficeCode(), From: day(now.AddDate(0, 0, -2)), To: day(now.AddDate(0, 0, 7))})
	if err != nil {
		return err
	}
	for _, sh := range shifts.GetShifts() {
		if sh.GetOfficeCode() != me.GetOfficeCode() {
			continue
		}
		if sh.GetState() == yizhanv1.ShiftState_SHIFT_STATE_HANDED_OVER && sh.GetId() != d.Shift.GetId() && !sh.GetEnd().AsTime().After(now.Add(time.Hour)) {
			d.Previous = sh
		}
		if sh.GetEnd().AsTime().After(now) {
			d.Roster = append(d.Roster, sh)
		}
	}
	if d.Shift != nil && me.GetOfficeCode() == s.cfg.Office {
		log, err := ro.ListLog(ctx, &yizhanv1.ListLogRequest{ShiftId: d.Shift.GetId()})
		if err != nil {
			return err
		}
		d.Log = log.GetEntries()
	}
	return nil
}

// dutyShiftAct publishes a shift, takes one over or hands it over, or
// writes the log.
func (s *server) dutyShiftAct(rq *request) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	f, ctx, ro := rq.r.PostForm, rq.ctx(), s.cfg.DutyRoster
	id := rq.r.PathValue("id")
	form := &formReader{f: f}
	var msg string
	var err error
	switch {
	case rq.r.URL.Path == "/duty/log":
		entry := &yizhanv1.DutyLogEntry{Kind: yizhanv1.LogKind(form.int32("kind")),
			ReceivedAt: form.time("received_at"), Caller: f.Get("caller"), Unit: f.Get("unit"), Phone: strings.TrimSpace(f.Get("phone")),
			PhoneWithheld: f.Get("phone_withheld") != "", Matter: f.Get("matter"), Action: f.Get("action"), Told: f.Get("told")}
		if form.errs.Any() {
			break
		}
		_, err = ro.WriteLogEntry(ctx, &yizhanv1.WriteLogEntryRequest{Entry: entry})
		msg = "logged"
	case id == "":
		var officers []string
		for _, o := range strings.FieldsFunc(f.Get("officers"), func(r rune) bool { return r == ',' || r == '，' || r == ' ' }) {
			officers = append(officers, o)
		}
		req := &yizhanv1.PublishShiftsRequest{Shifts: []*yizhanv1.DutyShift{{Start: form.time("start"), End: form.time("end"),
			Leader: strings.TrimSpace(f.Get("leader")), Officers: officers, DutyPhone: f.Get("duty_phone")}}, Days: form.int32("days")}
		if form.errs.Any() {
			break
		}
		_, err = ro.PublishShifts(ctx, req)
		msg = "published"
	case rq.r.PathValue("action") == "takeOver":
		_, err = ro.TakeOverShift(ctx, &yizhanv1.TakeOverShiftRequest{Id: id})
		msg = "takenOver"
	case rq.r.PathValue("action") == "handOver":
		_, err = ro.HandOverShift(ctx, &yizhanv1.HandOverShiftRequest{Id: id, OpenMatters: f.Get("open_matters")})
		msg = "handedOver"
	case rq.r.PathValue("action") == "swap":
		// 调班: someone else on a planned shift, approved by the roster's
		// keeper (an admin or a leader on duty), with the reason.
		_, err = ro.SwapShift(ctx, &yizhanv1.SwapShiftRequest{Id: id, From: strings.TrimSpace(f.Get("from")), To: strings.TrimSpace(f.Get("to")),
			Reason: f.Get("reason")})
		msg = "swapped"
	default:
		return errNotFound
	}
	shiftLabels := map[string]string{"kind": "类型", "received_at": "来电时间", "caller": "来电人", "unit": "单位", "phone": "电话", "phone_withheld": "未显示号码", "matter": "事由", "action": "处理情况",
		"told": "已告知", "days": "连续天数", "start": "开始", "end": "结束", "leader": "带班领导", "officers": "值班员", "duty_phone": "值班电话", "open_matters": "交接事项",
		"from": "调出人员", "to": "调入人员", "reason": "调班理由"}
	logForm := rq.r.URL.Path == "/duty/log"
	shiftLabels["log-kind"] = "类型"
	if form.errs.Any() {
		if logForm {
			form.errs = form.errs.renamed("kind", "log-kind")
		}
		form.errs.labels = shiftLabels
		return s.showDuty(rq, http.StatusBadRequest, formValues{f}, form.errs, "")
	}
	if err != nil {
		if errs, ok := fieldErrors(err, "", func(f string) string {
			f = strings.TrimPrefix(strings.TrimPrefix(f, "entry."), "shifts[0].")
			if logForm && f == "kind" {
				return "log-kind" // the log's select (f-kind is the report form's)
			}
			if rq.r.PathValue("action") == "swap" && (f == "from" || f == "to" || f == "reason") {
				// The row's own input: each planned shift has its form.
				label := shiftLabels[f]
				f = swapField(f, id)
				shiftLabels[f] = label
			}
			return f
		}); ok {
			errs.labels = shiftLabels
			return s.showDuty(rq, http.StatusBadRequest, formValues{f}, errs, "")
		}
		if errs, code, ok := unsaved(rq, err); ok {
			return s.showDuty(rq, code, formValues{f}, errs, "")
		}
		return err
	}
	return rq.redirect(dutyLists(rq.r.URL.Query()).back(msg))
}

// swapField is the name by which the 调班 form of shift id shows its
// field's problem (the input f-swap-<field>-<id> in duty.html).
func swapField(field, id string) string { return "swap-" + field + "-" + id }

// dutyZero sends today's zero report (零报告).
func (s *server) dutyZero(rq *request) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	if _, err := s.cfg.Duty.SendZeroReport(rq.ctx(), &yizhanv1.SendZeroReportRequest{Note: rq.r.PostForm.Get("note")}); err != nil {
		if errs, ok := fieldErrors(err, "", nil); ok {
			errs.labels = map[string]string{"note": "零报告说明"}
			return s.showDuty(rq, http.StatusBadRequest, formValues{rq.r.PostForm}, errs, "")
		}
		if errs, code, ok := unsaved(rq, err); ok {
			return s.showDuty(rq, code, formValues{rq.r.PostForm}, errs, "")
		}
		return err
	}
	return rq.redirect(dutyLists(rq.r.URL.Query()).back("zero"))
}

// policyLabels are the duty policy form's fields as the page names them.
var policyLabels = map[string]string{"first_report_minutes": "首报时限（分钟）", "zero_report_hour": "零报告时间", "contacts": "有关单位值班电话",
	"limits": "分类首报时限"}

// dutyPolicy saves the county's duty policy from the page's form: the
// limit of every first report, the zero report's hour, the contacts (one
// a line: name, unit, phone). Limits per category and level are kept as
// they are (the API sets them).
func (s *server) dutyPolicy(rq *request) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	f, ctx := rq.r.PostForm, rq.ctx()
	cur, err := s.cfg.Registry.GetDutyPolicy(ctx, &yizhanv1.GetDutyPolicyRequest{})
	if err != nil {
		return err
	}
	p := cur.GetPolicy()
	form := &formReader{f: f}
	p.FirstReportMinutes, p.ZeroReportHour, p.Contacts = form.int32("first_report_minutes"), form.int32("zero_report_hour"), nil
	limits, bad := limitsOfForm(f.Get("limits"))
	if bad != "" {
		form.errs.add("limits", bad)
	}
	if form.errs.Any() {
		form.errs.labels = policyLabels
		return s.showDuty(rq, http.StatusBadRequest, formValues{f}, form.errs, "")
	}
	p.Limits = limits
	for _, line := range strings.Split(f.Get("contacts"), "\n") {
		parts := formLine(line)
		switch len(parts) {
		case 0:
		case 1:
			p.Contacts = append(p.Contacts, &yizhanv1.DutyContact{Name: parts[0]})
		case 2:
			p.Contacts = append(p.Contacts, &yizhanv1.DutyContact{Name: parts[0], Phone: parts[1]})
		default:
			p.Contacts = append(p.Contacts, &yizhanv1.DutyContact{Name: parts[0], Unit: parts[1], Phone: parts[2]})
		}
	}
	if _, err := s.cfg.Registry.PutDutyPolicy(ctx, &yizhanv1.PutDutyPolicyRequest{Policy: p}); err != nil {
		if errs, ok := fieldErrors(err, "policy.", func(f string) string {
			for _, list := range []string{"contacts", "limits"} {
				if strings.HasPrefix(f, list) {
					return list
				}
			}
			return f
		}); ok {
			errs.labels = policyLabels
			return s.showDuty(rq, http.StatusBadRequest, formValues{f}, errs, "")
		}
		if errs, code, ok := unsaved(rq, err); ok {
			return s.showDuty(rq, code, formValues{f}, errs, "")
		}
		return err
	}
	return rq.redirect(dutyLists(rq.r.URL.Query()).back("policy"))
}

// dutyExport downloads the month's reports (ExportReports) as a workbook,
// or as the signed JSON with ?format=json.
func (s *server) dutyExport(rq *request) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	q := rq.r.URL.Query()
	from, to, err := monthRange(q.Get("month"), s.now())
	if err != nil {
		return err
	}
	format, ext := "xlsx", "xlsx"
	if q.Get("format") == "json" {
		format, ext = "json", "json"
	}
	body, err := s.cfg.Duty.ExportReports(rq.ctx(), &yizhanv1.ExportReportsRequest{From: from.Format("2006-01-02"), To: to.Format("2006-01-02"), Format: format})
	if err == nil {
		err = s.left(rq)
	}
	if err != nil {
		return err
	}
	h := rq.w.Header()
	h.Set("Content-Type", body.GetContentType())
	h.Set("Cache-Control", "no-store")
	month := from.Format("2006-01")
	name := "紧急信息报告-" + month + "." + ext
	h.Set("Content-Disposition", "attachment; filename=\"urgent-reports-"+month+"."+ext+"\"; filename*=UTF-8''"+url.PathEscape(name))
	rq.w.WriteHeader(http.StatusOK)
	_, err = rq.w.Write(body.GetData())
	return err
}

// formLine splits a line of a list typed in a textarea at its commas
// (half or full width) and tabs, each part trimmed, empty parts dropped.
func formLine(line string) []string {
	var parts []string
	for _, part := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == '，' || r == '\t' }) {
		if part = strings.TrimSpace(part); part != "" {
			parts = append(parts, part)
		}
	}
	return parts
}

// limitsOfForm reads the first-report limits by category typed one a
// line: 类别，等级，分钟 (or 类别，分钟 for every level of the category).
// bad says which line is wrong and why.
func limitsOfForm(text string) (out []*yizhanv1.ReportLimit, bad string) {
	for i, line := range strings.Split(text, "\n") {
		parts := formLine(line)
		if len(parts) == 0 {
			continue
		}
		if len(parts) < 2 || len(parts) > 3 {
			return nil, fmt.Sprintf("第 %d 行应写作“类别，等级，分钟”或“类别，分钟”。", i+1)
		}
		c, ok := duty.CategoryNamed(parts[0])
		if !ok {
			return nil, fmt.Sprintf("第 %d 行：没有“%s”这一类别（自然灾害、事故灾难、公共卫生事件、社会安全事件、其他）。", i+1, parts[0])
		}
		l := &yizhanv1.ReportLimit{Category: c}
		if len(parts) == 3 {
			if l.Level, ok = duty.LevelNamed(parts[1]); !ok {
				return nil, fmt.Sprintf("第 %d 行：没有“%s”这一等级（特别重大、重大、较大、一般）。", i+1, parts[1])
			}
		}
		m, err := strconv.ParseInt(strings.TrimSuffix(parts[len(parts)-1], "分钟"), 10, 32)
		if err != nil {
			return nil, fmt.Sprintf("第 %d 行：时限“%s”应为分钟数。", i+1, parts[len(parts)-1])
		}
		l.Minutes = int32(m)
		out = append(out, l)
	}
	return out, ""
}
