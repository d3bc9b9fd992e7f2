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

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
)

// The staff's case pages: the office's queue, a case with its timeline,
// route and clocks and the forms of the actions it allows, and the
// printable acceptance receipt and correction notice. Every read and
// action is the CaseService's, with the signed-in staff member's token.

var caseStateNames = map[yizhanv1.CaseState]string{
	yizhanv1.CaseState_CASE_STATE_FILED:                "待受理",
	yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED: "待补正",
	yizhanv1.CaseState_CASE_STATE_ACCEPTED:             "已受理",
	yizhanv1.CaseState_CASE_STATE_REVIEWED:             "已审核",
	yizhanv1.CaseState_CASE_STATE_APPROVED:             "审批通过", // stateName: in the item type's words
	yizhanv1.CaseState_CASE_STATE_DENIED:               "审批未通过",
	yizhanv1.CaseState_CASE_STATE_CERTIFIED:            "已制证",
	yizhanv1.CaseState_CASE_STATE_DELIVERED:            "已送达",
	yizhanv1.CaseState_CASE_STATE_CLOSED:               "已办结",
	yizhanv1.CaseState_CASE_STATE_REFUSED:              "不予受理",
	yizhanv1.CaseState_CASE_STATE_WITHDRAWN:            "已撤回",
	yizhanv1.CaseState_CASE_STATE_PRECHECK:             "预审中",
	yizhanv1.CaseState_CASE_STATE_PRECHECK_REJECTED:    "预审未通过",
}

// queueStates are the states the queue filters by, in the order of a
// case's life.
var queueStates = []yizhanv1.CaseState{
	yizhanv1.CaseState_CASE_STATE_PRECHECK,
	yizhanv1.CaseState_CASE_STATE_FILED, yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED,
	yizhanv1.CaseState_CASE_STATE_ACCEPTED, yizhanv1.CaseState_CASE_STATE_REVIEWED,
	yizhanv1.CaseState_CASE_STATE_APPROVED, yizhanv1.CaseState_CASE_STATE_DENIED,
	yizhanv1.CaseState_CASE_STATE_CERTIFIED, yizhanv1.CaseState_CASE_STATE_DELIVERED,
	yizhanv1.CaseState_CASE_STATE_CLOSED, yizhanv1.CaseState_CASE_STATE_REFUSED,
	yizhanv1.CaseState_CASE_STATE_WITHDRAWN, yizhanv1.CaseState_CASE_STATE_PRECHECK_REJECTED,
}

// caseAction is one action staff can take on a case, as the case page
// shows it: its label, the confirmation after it, and the API call. Which
// actions a case allows, and to whom, is the API's to say
// (Case.allowed_actions); the page copies no rule.
type caseAction struct {
	Name  string // in the form, e.g. "accept"; the API's name (allowed_actions)
	Label string
	Done  string // the confirmation after it
	call  func(yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error)
}

// caseActions are the staff's actions. The fields of each action's form
// are in case.html.
var caseActions = map[string]caseAction{
	"precheck": {Name: "precheck", Label: "预审通过", Done: "已通过预审，办件按流程转往受理的办事点。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.Precheck
		}},
	"rejectPrecheck": {Name: "rejectPrecheck", Label: "预审不通过", Done: "此网上申报未通过预审，已告知申请人原因。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.RejectPrecheck
		}},
	"accept": {Name: "accept", Label: "受理", Done: "已受理。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.Accept
		}},
	"requestCorrection": {Name: "requestCorrection", Label: "一次性告知补正", Done: "已发出一次性告知。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.RequestCorrection
		}},
	"reissueQueryCode": {Name: "reissueQueryCode", Label: "补发查询码", Done: "已补发查询码。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.ReissueQueryCode
		}},
	"resubmit": {Name: "resubmit", Label: "接收补正材料", Done: "补正材料已登记。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.Resubmit
		}},
	"refuse": {Name: "refuse", Label: "不予受理", Done: "已决定不予受理。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.Refuse
		}},
	"review": {Name: "review", Label: "审核", Done: "审核意见已记录。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.Review
		}},
	"decide": {Name: "decide", Label: "审批决定", Done: "审批决定已记录。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.Decide
		}},
	"certify": {Name: "certify", Label: "制证", Done: "已制证。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.Certify
		}},
	"assessFee": {Name: "assessFee", Label: "核定收费", Done: "收费已核定。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.AssessFee
		}},
	"correctFee": {Name: "correctFee", Label: "更正收费", Done: "收费已更正。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.CorrectFee
		}},
	"pay": {Name: "pay", Label: "登记缴费", Done: "缴费已登记。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.Pay
		}},
	"deliver": {Name: "deliver", Label: "送达", Done: "已送达。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.Deliver
		}},
	"withdraw": {Name: "withdraw", Label: "撤回申请", Done: "申请已撤回。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.Withdraw
		}},
	"suspend": {Name: "suspend", Label: "中止（特别程序）", Done: "已中止。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.Suspend
		}},
	"resume": {Name: "resume", Label: "恢复办理", Done: "已恢复办理。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.Resume
		}},
	"extend": {Name: "extend", Label: "延期", Done: "已延期。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.Extend
		}},
	"giveOpinion": {Name: "giveOpinion", Label: "协办部门意见", Done: "意见已记录。",
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.GiveOpinion
		}},
}

// allowedActions are the case's actions the page offers: those the API
// allows the signed-in staff member now, in the API's order (the
// citizen's own, rated and complained on the track page, are not
// staff's).
func allowedActions(c *yizhanv1.Case) []caseAction {
	var out []caseAction
	for _, name := range c.GetAllowedActions() {
		if a, ok := caseActions[name]; ok {
			out = append(out, a)
		}
	}
	return out
}

// clockView is a case's clocks as the pages show them.
type clockView struct {
	Running       bool
	Class         string // "", "warn" (near the promised limit), "late" (past it)
	Left          string // e.g. "剩 3 个工作日", "超期 2 个工作日"
	PromisedDue   string
	StatutoryDue  string
	AcceptedAt    string
	Paused        int32
	Extension     int32
	PromisedLeft  int32
	StatutoryLeft int32
	Mark          string // "黄牌预警" on a yellow clock: its colour in words (a red one says 超期)
}

// defaultWarnDays: a running case with this many working days left or
// fewer before its promised limit gets the yellow mark, when the county's
// supervision policy names no other number (its warning_days, the same
// as the 预警 card's: warnDays).
const defaultWarnDays = 2

// warnDays is the county's warning days (supervision policy), or the
// default.
func (s *server) warnDays(ctx context.Context) int32 {
	if p, err := s.cfg.Registry.GetSupervisionPolicy(ctx, &yizhanv1.GetSupervisionPolicyRequest{}); err == nil && p.GetPolicy().GetWarningDays() > 0 {
		return p.GetPolicy().GetWarningDays()
	}
	return defaultWarnDays
}

func clockOf(c *yizhanv1.Case, now time.Time, warnDays int32) clockView {
	d := c.GetDeadlines()
	v := clockView{
		Running: d.GetRunning(), AcceptedAt: datetimeOf(d.GetAcceptedAt()),
		PromisedDue: dateOf(d.GetPromisedDue()), StatutoryDue: dateOf(d.GetStatutoryDue()),
		Paused: d.GetPausedDays(), Extension: d.GetExtensionDays(),
		PromisedLeft: d.GetPromisedDaysLeft(), StatutoryLeft: d.GetStatutoryDaysLeft(),
	}
	switch {
	case c.GetState() == yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED && d.GetCorrectionDue() != nil:
		v.Left = "待补正，补正期限 " + dateOf(d.GetCorrectionDue())
		if now.After(d.GetCorrectionDue().AsTime()) {
			v.Class, v.Left = "warn", "补正期限已过（"+dateOf(d.GetCorrectionDue())+"），可按逾期未补正撤回"
		}
	case d.GetAcceptedAt() == nil && !finalState(c.GetState()) && d.GetAcceptanceOverdue():
		v.Class, v.Left = "late", "逾期未受理（应于 "+dateOf(d.GetAcceptanceDue())+" 前受理、不予受理或告知补正）"
	case d.GetAcceptedAt() == nil && !finalState(c.GetState()) && d.GetAcceptanceDue() != nil:
		v.Left = "未受理，受理期限 " + dateOf(d.GetAcceptanceDue())
	case d.GetAcceptedAt() == nil:
		v.Left = "未受理，未计时"
	case d.GetDeliveryDue() != nil && d.GetDeliveryOverdue() && !finalState(c.GetState()) && c.GetState() != yizhanv1.CaseState_CASE_STATE_DELIVERED:
		v.Class, v.Left = "late", "逾期未送达（送达期限 "+dateOf(d.GetDeliveryDue())+"）"
	case d.GetDeliveryDue() != nil && !finalState(c.GetState()) && c.GetState() != yizhanv1.CaseState_CASE_STATE_DELIVERED:
		v.Left = "已决定，待送达，送达期限 " + dateOf(d.GetDeliveryDue())
	case c.GetSuspended() && d.GetOverdue():
		v.Class = "late"
		v.Left = fmt.Sprintf("已中止，超期 %d 个工作日", max(1, -d.GetPromisedDaysLeft()))
		if d.GetSuspensionOverLimit() {
			v.Left = fmt.Sprintf("已中止，超过特别程序时限，超期 %d 个工作日，请恢复办理", max(1, -d.GetPromisedDaysLeft()))
		}
	case c.GetSuspended() && d.GetSuspensionOverLimit():
		v.Class = "warn"
		v.Left = "已中止，超过特别程序时限，请恢复办理"
	case c.GetSuspended() && d.GetRunning():
		// A procedure that counts inside the limit (听证): the clock
		// runs.
		v.Left = fmt.Sprintf("已中止（特别程序计入时限），剩 %d 个工作日", d.GetPromisedDaysLeft())
		if d.GetPromisedDaysLeft() <= warnDays {
			v.Class = "warn"
		}
	case c.GetSuspended():
		v.Left = "已中止，暂停计时"
	case d.GetOverdue() || d.GetPromisedDaysLeft() < 0:
		v.Class = "late"
		v.Left = fmt.Sprintf("超期 %d 个工作日", max(1, -d.GetPromisedDaysLeft()))
		if !d.GetRunning() {
			v.Left = "超过承诺时限办结"
			if c.GetState() == yizhanv1.CaseState_CASE_STATE_WITHDRAWN {
				v.Left = "超过承诺时限后撤回"
			}
		}
	case !d.GetRunning():
		v.Left = "已决定，停止计时"
	case d.GetPromisedDaysLeft() == 0:
		v.Class, v.Left = "warn", "今日到期"
	case d.GetPromisedDaysLeft() <= warnDays:
		v.Class = "warn"
		v.Left = fmt.Sprintf("剩 %d 个工作日", d.GetPromisedDaysLeft())
	default:
		v.Left = fmt.Sprintf("剩 %d 个工作日", d.GetPromisedDaysLeft())
	}
	if v.Class == "warn" {
		v.Mark = "黄牌预警"
	}
	return v
}

// finalState reports whether nothing more happens to a case in state s.
func finalState(s yizhanv1.CaseState) bool {
	switch s {
	case yizhanv1.CaseState_CASE_STATE_CLOSED, yizhanv1.CaseState_CASE_STATE_WITHDRAWN, yizhanv1.CaseState_CASE_STATE_PRECHECK_REJECTED:
		return true
	}
	return false
}

type queueRow struct {
	C      *yizhanv1.Case
	State  string
	Owner  string
	Clock  clockView
	Filed  string
	Origin string
	ToDo   []string // the steps it waits for that the signed-in staff member may take now
	May    []string // what else they may do on it (中止, 延期…): it does not wait for that
	rank   int      // queueRank
}

// notWork reports whether an allowed action is one staff may take on any
// case at any time, not the case waiting for them: reissuing a query code.
func notWork(action string) bool { return action == "reissueQueryCode" }

// optional reports whether an allowed action is one staff may take on a
// case that does not wait for it: suspending for a special procedure,
// extending the limit, withdrawing for the citizen, correcting a fee. A
// case they may only take such a step on waits for someone else.
func optional(action string) bool {
	switch action {
	case "suspend", "extend", "withdraw", "correctFee":
		return true
	}
	return notWork(action)
}

// queueRank orders the queue by what needs this person first: a case
// decided and waiting to be handed to the citizen (送达: the citizen is
// waiting), then one whose corrections came back to them, then the rest
// of what waits for a step of theirs, then what they may only optionally
// act on (中止, 延期…), then what others act on; within each, the API's
// order (the soonest due first).
func queueRank(c *yizhanv1.Case) int {
	acts := c.GetAllowedActions()
	steps := slices.DeleteFunc(slices.Clone(acts), optional)
	switch {
	case slices.Contains(steps, "deliver"):
		return 0
	case len(steps) > 0 && c.GetState() == yizhanv1.CaseState_CASE_STATE_FILED && c.GetCorrectionNotices() > 0:
		return 1
	case len(steps) > 0:
		return 2
	case slices.ContainsFunc(acts, func(a string) bool { return !notWork(a) }):
		return 3
	}
	return 4
}

type queueData struct {
	Office    string
	State     string
	Overdue   bool
	FileLabel string // 代办收件 for a village agent, 收件登记 for a window
	// Mine keeps the cases the signed-in person may act on ("1"), or
	// those waiting for their decision ("decide": with the reviewer's
	// opinion).
	Mine string
	// All lists every case the office holds, newest first: its closed
	// cases and its copies of cases other offices handle now, besides its
	// queue (the open cases it owns, the soonest due first).
	All    bool
	States []option
	Rows   []queueRow
	Next   string
	Yellow int
	Red    int
	// Precheck is set when the queue shows the online filings waiting for
	// their pre-check: they can be turned down in bulk (spam).
	Precheck bool
	// Applicant is a search for an applicant's cases (an ID number, a
	// phone, a credit code or a name, exactly): every case the office
	// holds of them, newest first. It is sent by POST, so that an ID
	// number stays out of URLs (proxies' logs, the browser's history on
	// a shared window PC); its next page is a POST too (NextToken).
	Applicant string
	NextToken string
	// WarnDays: the yellow mark's working days left (warnDays).
	WarnDays int32
	// From and To keep the cases filed on those days (YYYY-MM-DD, China
	// Standard Time, both included; either may be empty): every case the
	// office holds, as All.
	From, To string
}

// queuePageSize is the cases on one page of the queue: an office's whole
// queue, usually.
const queuePageSize = 1000

// requireStaff lets signed-in staff through; others go to sign in.
func requireStaff(rq *request) error {
	if rq.me == nil {
		return status.Error(codes.Unauthenticated, "web: sign in first")
	}
	return nil
}

// filedDays reads the filter's filing days (from, to: YYYY-MM-DD in
// China Standard Time, both included) into d and as the API's bounds: a
// day's start, and the start of the day after the last. Days set make
// the list every case held (d.All: the queue's overdue filter is the
// queue's alone). A day the form cannot read is named.
func filedDays(q url.Values, d *queueData) (from, to *timestamppb.Timestamp, err error) {
	read := func(field, label string, next int) (*timestamppb.Timestamp, string, error) {
		v := strings.TrimSpace(q.Get(field))
		if v == "" {
			return nil, "", nil
		}
		t, err := time.ParseInLocation("2006-01-02", v, registry.CST)
		if err != nil {
			return nil, "", &pageError{status: http.StatusBadRequest, title: "未查询", msg: label + "请按“年-月-日”填写，如 2026-12-01。"}
		}
		return timestamppb.New(t.AddDate(0, 0, next)), v, nil
	}
	if from, d.From, err = read("from", "收件日期（起）", 0); err != nil {
		return nil, nil, err
	}
	if to, d.To, err = read("to", "收件日期（止）", 1); err != nil {
		return nil, nil, err
	}
	if from != nil && to != nil && !from.AsTime().Before(to.AsTime()) {
		return nil, nil, &pageError{status: http.StatusBadRequest, title: "未查询", msg: "收件日期（止）不能早于收件日期（起）。"}
	}
	if from != nil || to != nil {
		d.All, d.Overdue = true, false
	}
	return from, to, nil
}

// searchPageSize is the cases on one page of an applicant's search.
const searchPageSize = 100

func (s *server) queue(rq *request) error { return s.queueOf(rq, rq.r.URL.Query(), "") }

// caseSearch lists an applicant's cases (queueData.Applicant): a form
// that only reads, gated as a page read by GET.
func (s *server) caseSearch(rq *request) error {
	rq.reads = true
	f := rq.r.PostForm
	applicant := strings.TrimSpace(f.Get("applicant"))
	if applicant == "" {
		return rq.redirect("/cases")
	}
	return s.queueOf(rq, f, applicant)
}

// queueOf is the queue page with the filters in q, or the cases of
// applicant when set.
func (s *server) queueOf(rq *request, q url.Values, applicant string) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	d := &queueData{Office: rq.staff().GetOfficeCode(), State: q.Get("state"), Overdue: q.Get("overdue") == "1", All: q.Get("all") == "1", Mine: q.Get("mine"),
		FileLabel: "收件登记", Applicant: applicant, WarnDays: s.warnDays(rq.ctx())}
	if applicant != "" {
		// Every case held of the applicant, newest first.
		d.Overdue, d.All, d.Mine = false, true, ""
	}
	from, to, err := filedDays(q, d)
	if err != nil {
		return err
	}
	if slices.Contains(rq.staff().GetRoles(), yizhanv1.Role_ROLE_AGENT) {
		d.FileLabel = "代办收件"
	}
	for _, st := range queueStates {
		d.States = append(d.States, option{Value: int32(st), Label: caseStateNames[st]})
	}
	d.Precheck = d.State == strconv.Itoa(int(yizhanv1.CaseState_CASE_STATE_PRECHECK))
	state, _ := strconv.Atoi(d.State)
	size := int32(queuePageSize)
	if applicant != "" {
		size = searchPageSize
	}
	// A page token the API refuses (of an earlier release, or of other
	// filters) shows the list from its first page (pagedLists.page).
	var resp *yizhanv1.ListCasesResponse
	if err := (pagedLists{path: "/cases", names: []string{"page"}, q: q}).page("page", func(token string) (err error) {
		resp, err = s.cfg.Cases.ListCases(rq.ctx(), &yizhanv1.ListCasesRequest{
			// Overdue is a filter of the queue alone: with "all" the late
			// cases are those marked red.
			State: yizhanv1.CaseState(state), Overdue: d.Overdue && !d.All, History: d.All && applicant == "", Applicant: applicant,
			FiledFrom: from, FiledTo: to, PageSize: size, PageToken: token,
		})
		return err
	}); err != nil {
		return err
	}
	offices, err := s.officeNames(rq)
	if err != nil {
		return err
	}
	var types map[string]yizhanv1.ItemType // read only for a decided case
	for _, c := range resp.GetCases() {
		if st := c.GetState(); types == nil && (st == yizhanv1.CaseState_CASE_STATE_APPROVED || st == yizhanv1.CaseState_CASE_STATE_DENIED) {
			if types, err = s.itemTypes(rq); err != nil {
				return err
			}
		}
		row := queueRow{C: c, State: stateName(c.GetState(), types[c.GetItemCode()]), Owner: offices[c.GetOwnerOffice()],
			Origin: offices[c.GetOriginOffice()], Clock: clockOf(c, s.now(), d.WarnDays), Filed: datetimeOf(c.GetFiledAt()), rank: queueRank(c)}
		for _, a := range c.GetAllowedActions() {
			switch ca, ok := caseActions[a]; {
			case !ok || notWork(a):
			case optional(a):
				row.May = append(row.May, ca.Label)
			default:
				row.ToDo = append(row.ToDo, ca.Label)
			}
		}
		switch {
		case d.Mine == "1" && len(row.ToDo) == 0, d.Mine == "decide" && !slices.Contains(c.GetAllowedActions(), "decide"):
			continue
		}
		switch row.Clock.Class {
		case "warn":
			d.Yellow++
		case "late":
			d.Red++
		}
		d.Rows = append(d.Rows, row)
	}
	if !d.All {
		slices.SortStableFunc(d.Rows, func(a, b queueRow) int { return a.rank - b.rank })
	}
	if t := resp.GetNextPageToken(); t != "" && applicant != "" {
		d.NextToken = t
	} else if t != "" {
		v := url.Values{"page": {t}}
		if d.State != "" {
			v.Set("state", d.State)
		}
		if d.Overdue {
			v.Set("overdue", "1")
		}
		if d.All {
			v.Set("all", "1")
		}
		if d.Mine != "" {
			v.Set("mine", d.Mine)
		}
		if d.From != "" {
			v.Set("from", d.From)
		}
		if d.To != "" {
			v.Set("to", d.To)
		}
		d.Next = "/cases?" + v.Encode()
	}
	title := "办件队列 · " + offices[d.Office]
	if applicant != "" {
		title = "查找申请人的办件 · " + offices[d.Office]
	}
	msg := flash(rq)
	if n := q.Get("rejected"); n != "" {
		msg = "已驳回 " + n + " 件网上申报（共勾选 " + q.Get("of") + " 件；未驳回的可能已被他人处理）。"
	}
	return s.render(rq, http.StatusOK, "queue", &view{Title: title, Section: "cases", Data: d, Flash: msg})
}

// eventView is one event of a case's timeline.
type eventView struct {
	Seq    uint32
	At     string
	Office string
	Actor  string
	Label  string
	Class  string // "ok", "bad" or ""
	Lines  []string
	Type   yizhanv1.EventType
	Date   time.Time
	Ev     *yizhanv1.CaseEvent
}

func describeEvent(e *yizhanv1.CaseEvent, offices, deps map[string]string, words decisionWords) eventView {
	v := eventView{Seq: e.GetSeq(), At: datetimeOf(e.GetAt()), Office: offices[e.GetOfficeCode()], Type: e.GetType(), Ev: e}
	if e.GetAt() != nil {
		v.Date = e.GetAt().AsTime().In(china)
	}
	if v.Office == "" {
		v.Office = e.GetOfficeCode()
	}
	switch e.GetActor() {
	case "citizen":
		v.Actor = "申请人"
	case "system", "":
		v.Actor = "系统"
	default:
		v.Actor = e.GetActorName()
		if v.Actor == "" {
			v.Actor = e.GetActor()
		}
	}
	line := func(label, text string) {
		if strings.TrimSpace(text) != "" {
			v.Lines = append(v.Lines, label+text)
		}
	}
	materials := func(ms []*yizhanv1.SubmittedMaterial) string {
		var names []string
		for _, m := range ms {
			n := m.GetName()
			if m.GetCopies() > 1 {
				n += fmt.Sprintf("（%d 份）", m.GetCopies())
			}
			names = append(names, n)
		}
		return strings.Join(names, "、")
	}
	reason := "理由："
	switch e.GetType() {
	case yizhanv1.EventType_EVENT_TYPE_FILED:
		v.Label = "申请"
		if e.GetFiling().GetOnline() {
			v.Label = "网上申请"
		}
		line("提交材料：", materials(e.GetMaterials()))
	case yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED:
		v.Label, v.Class = "一次性告知补正", "bad"
		line("需补正：", strings.Join(e.GetMissingMaterials(), "、"))
	case yizhanv1.EventType_EVENT_TYPE_RESUBMITTED:
		v.Label = "补正材料已提交"
		line("材料：", materials(e.GetMaterials()))
	case yizhanv1.EventType_EVENT_TYPE_ACCEPTED:
		v.Label, v.Class = "受理", "ok"
	case yizhanv1.EventType_EVENT_TYPE_REFUSED:
		v.Label, v.Class = "不予受理", "bad"
	case yizhanv1.EventType_EVENT_TYPE_FORWARDED:
		to := offices[e.GetToOffice()]
		if to == "" {
			to = e.GetToOffice()
		}
		// Up the tree a case is reported (上报), down it is sent back (下发).
		if above(e.GetToOffice(), e.GetOfficeCode()) {
			v.Label = "上报" + to
		} else {
			v.Label = "下发" + to
		}
	case yizhanv1.EventType_EVENT_TYPE_RECEIVED:
		v.Label = "接收"
	case yizhanv1.EventType_EVENT_TYPE_REVIEWED:
		v.Label = "审核"
	case yizhanv1.EventType_EVENT_TYPE_DECIDED:
		if e.GetApproved() {
			v.Label, v.Class = "审批："+words.Yes, "ok"
		} else {
			v.Label, v.Class = "审批："+words.No, "bad"
		}
	case yizhanv1.EventType_EVENT_TYPE_CERTIFIED:
		v.Label = "制证"
		line("证照编号：", e.GetCertificateNumber())
	case yizhanv1.EventType_EVENT_TYPE_FEE_ASSESSED:
		v.Label = "核定收费 " + yuan(e.GetFeeCents())
	case yizhanv1.EventType_EVENT_TYPE_FEE_CORRECTED:
		v.Label = "更正收费 " + yuan(e.GetPreviousFeeCents()) + " → " + yuan(e.GetFeeCents())
		if e.GetFeeCents() == 0 {
			v.Label = "更正收费 " + yuan(e.GetPreviousFeeCents()) + " → 免收"
		}
	case yizhanv1.EventType_EVENT_TYPE_FEE_PAID:
		v.Label = "缴费 " + yuan(e.GetFeeCents())
		line("票据号：", e.GetReceiptNumber())
	case yizhanv1.EventType_EVENT_TYPE_DELIVERED:
		v.Label, v.Class = "送达", "ok"
	case yizhanv1.EventType_EVENT_TYPE_CLOSED:
		v.Label, v.Class = "办结", "ok"
	case yizhanv1.EventType_EVENT_TYPE_WITHDRAWN:
		v.Label = "撤回"
	case yizhanv1.EventType_EVENT_TYPE_WITHDRAWAL_REQUESTED:
		v.Label = "申请撤回"
	case yizhanv1.EventType_EVENT_TYPE_SUSPENDED:
		v.Label = "中止：" + e.GetSpecialProcedure()
	case yizhanv1.EventType_EVENT_TYPE_RESUMED:
		v.Label = "恢复办理"
	case yizhanv1.EventType_EVENT_TYPE_EXTENDED:
		v.Label = fmt.Sprintf("延期 %d 个工作日", e.GetExtensionDays())
	case yizhanv1.EventType_EVENT_TYPE_REROUTED:
		v.Label = "改派"
		reason = "改派原因："
	case yizhanv1.EventType_EVENT_TYPE_QUERY_CODE_REISSUED:
		v.Label = "补发查询码"
		reason = "身份核验："
	case yizhanv1.EventType_EVENT_TYPE_OPINION_GIVEN:
		dep := deps[e.GetDepartmentCode()]
		if dep == "" {
			dep = e.GetDepartmentCode()
		}
		v.Label = "协办部门意见：" + dep
		if e.GetAgrees() {
			v.Label += "（同意）"
		} else {
			v.Label += "（不同意）"
		}
	case yizhanv1.EventType_EVENT_TYPE_RATED:
		v.Label, v.Class = "好差评："+ratingNames[e.GetRating()], "ok"
		if badRating(e.GetRating()) {
			v.Class = "bad"
		}
		reason = "评价说明："
	case yizhanv1.EventType_EVENT_TYPE_COMPLAINED:
		v.Label, v.Class = "投诉", "bad"
		reason = "投诉内容："
	case yizhanv1.EventType_EVENT_TYPE_PRECHECKED:
		v.Label, v.Class = "预审通过", "ok"
	case yizhanv1.EventType_EVENT_TYPE_PRECHECK_REJECTED:
		v.Label, v.Class = "预审未通过", "bad"
	default:
		v.Label = "其他办理环节" // an event of a later release
	}
	line(reason, e.GetReason())
	line("依据：", e.GetLegalBasis())
	return v
}

// routeStep is one step of a case's route: which office does it, and
// whether it is done, the one the case waits for, or still to come.
type routeStep struct {
	Right  string
	Office string
	Status string // "done", "current" or "next"
}

// StatusName says a step's status in words (the colour is not the only
// sign of it).
func (r routeStep) StatusName() string {
	return map[string]string{"done": "已完成", "current": "当前", "next": "待办"}[r.Status]
}

// routeOf is a case's route with each step's status: the steps before
// the one the case waits for are done; after a delivery, all are.
func routeOf(c *yizhanv1.Case, offices map[string]string) []routeStep {
	_, waiting := casework.WaitingStep(c)
	over := c.GetState() == yizhanv1.CaseState_CASE_STATE_DELIVERED || c.GetState() == yizhanv1.CaseState_CASE_STATE_CLOSED
	var out []routeStep
	status := "done"
	for _, st := range c.GetRoute() {
		name := offices[st.GetOfficeCode()]
		if name == "" {
			name = st.GetOfficeCode()
		}
		switch {
		case over:
			status = "done"
		case waiting == yizhanv1.Right_RIGHT_UNSPECIFIED:
			status = "" // withdrawn, rejected: nothing is on
		case st.GetRight() == waiting:
			status = "current"
		case status == "current":
			status = "next"
		}
		out = append(out, routeStep{Right: rightNames[st.GetRight()], Office: name, Status: status})
	}
	return out
}

// caseData is what the case pages (staff and citizen) show.
type caseData struct {
	C      *yizhanv1.Case
	State  string
	Origin string
	// OriginOffice is the office where the case was filed, with its
	// address and phone (the receipt).
	OriginOffice *yizhanv1.Office
	Owner        string
	Item         *yizhanv1.Item // the version it was filed under
	Clock        clockView
	Route        []routeStep
	Events       []eventView
	ChainValid   bool
	ChainProblem string // the first problem VerifyCase finds, for staff
	Submitted    []*yizhanv1.SubmittedMaterial
	// Correction is the open one-time correction notice, if any.
	Correction *eventView
	Accepted   *eventView
	Refusal    *eventView // the refusal (不予受理) or the denial (不予许可…), with the appeal notice
	Decision   *eventView // the decision (审批), granted or denied
	Words      decisionWords
	Lapsed     bool     // the correction notice's wait is over: 逾期未补正 closes it without the written request
	Missing    []string // required materials not handed in
	Filed      string

	// Staff only.
	Actions   []caseAction
	Failed    string // the action whose form failed
	F         formValues
	Pending   []string // co-departments whose opinion is pending, by name
	PendingC  []string // their codes
	Depts     map[string]string
	QueryCode string // only right after filing, or on the receipt shown again
	Reopened  bool   // the receipt shown again, from the tracked case
	// LocalCopy is set when the offices above could not be reached: the
	// case is this office's copy, as of Updated, and may be behind.
	LocalCopy bool
	Updated   string
}

// loadCase reads a case and its events through the API (ctx carries the
// staff token, or nothing for a citizen with queryCode).
func (s *server) loadCase(rq *request, ctx context.Context, number, queryCode string) (*caseData, error) {
	resp, err := s.cfg.Cases.GetCase(ctx, &yizhanv1.GetCaseRequest{Number: number, QueryCode: queryCode})
	if err != nil {
		return nil, err
	}
	evs, err := s.cfg.Cases.ListCaseEvents(ctx, &yizhanv1.ListCaseEventsRequest{Number: number, QueryCode: queryCode})
	if err != nil {
		return nil, err
	}
	offices, err := s.officeNames(rq)
	if err != nil {
		return nil, err
	}
	deps, err := s.cfg.Registry.ListDepartments(rq.r.Context(), &yizhanv1.ListDepartmentsRequest{})
	if err != nil {
		return nil, err
	}
	depNames := departmentNames(deps.GetDepartments())
	c := resp.GetCase()
	d := &caseData{C: c, State: caseStateNames[c.GetState()], Origin: offices[c.GetOriginOffice()], Owner: offices[c.GetOwnerOffice()],
		Clock: clockOf(c, s.now(), s.warnDays(rq.ctx())), ChainValid: evs.GetChainValid(), Submitted: c.GetMaterials(), Filed: datetimeOf(c.GetFiledAt()), Depts: depNames,
		LocalCopy: resp.GetLocalCopy() || evs.GetLocalCopy(), Updated: datetimeOf(c.GetUpdatedAt())}
	if due := c.GetDeadlines().GetCorrectionDue(); due != nil && c.GetState() == yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED {
		d.Lapsed = s.now().After(due.AsTime())
	}
	if !d.ChainValid && rq.staff() != nil {
		// Which event fails, for the admin the warning sends staff to.
		if v, err := s.cfg.Cases.VerifyCase(ctx, &yizhanv1.VerifyCaseRequest{Number: number}); err == nil && !v.GetValid() {
			d.ChainProblem = v.GetProblem()
		}
	}
	if it, err := s.cfg.Registry.GetItem(rq.r.Context(), &yizhanv1.GetItemRequest{Code: c.GetItemCode(), Version: c.GetItemVersion()}); err == nil {
		d.Item = it.GetItem()
	}
	d.Words = wordsFor(d.Item.GetType())
	d.State = stateName(c.GetState(), d.Item.GetType())
	if c.GetSuspended() {
		d.State += "（已中止）"
	}
	d.Route = routeOf(c, offices)
	for _, e := range evs.GetEvents() {
		d.Events = append(d.Events, describeEvent(e, offices, depNames, d.Words))
	}
	for i := range d.Events { // the latest of each
		switch d.Events[i].Type {
		case yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED:
			d.Correction = &d.Events[i]
		case yizhanv1.EventType_EVENT_TYPE_ACCEPTED:
			d.Accepted = &d.Events[i]
		case yizhanv1.EventType_EVENT_TYPE_REFUSED:
			d.Refusal = &d.Events[i]
		case yizhanv1.EventType_EVENT_TYPE_DECIDED:
			d.Decision = &d.Events[i]
			if !d.Events[i].Ev.GetApproved() {
				d.Refusal = &d.Events[i]
			}
		}
	}
	if c.GetState() != yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED && !printable(rq) {
		// The notice is shown while it is open; printing may look back.
		d.Correction = nil
	}
	if d.Item != nil {
		for _, m := range d.Item.GetMaterials() {
			if m.GetRequired() && !slices.ContainsFunc(c.GetMaterials(), func(sm *yizhanv1.SubmittedMaterial) bool { return sm.GetName() == m.GetName() }) {
				d.Missing = append(d.Missing, m.GetName())
			}
		}
	}
	for _, code := range c.GetOpinionsPending() {
		d.PendingC = append(d.PendingC, code)
		d.Pending = append(d.Pending, depNames[code])
	}
	for _, o := range c.GetOpinions() { // a 不同意 may be given again
		if !o.GetAgrees() && !slices.Contains(d.PendingC, o.GetDepartmentCode()) {
			d.PendingC = append(d.PendingC, o.GetDepartmentCode())
		}
	}
	return d, nil
}

// V is a field of the action form that failed, as typed ("" for the
// other forms).
func (d *caseData) V(action, field string) string {
	if d.Failed != action {
		return ""
	}
	return d.F.Get(field)
}

// MissingHas reports whether a required material was not handed in.
func (d *caseData) MissingHas(name string) bool { return slices.Contains(d.Missing, name) }

// NoticeHas reports whether the open correction notice asks for a material.
func (d *caseData) NoticeHas(name string) bool {
	return d.Correction != nil && slices.Contains(d.Correction.Ev.GetMissingMaterials(), name)
}

// FeeUnit is the unit of the item's fee standard (计费单位), if any.
func (d *caseData) FeeUnit() string { return d.Item.GetFeeUnit() }

// FeeYuan is the assessed fee in yuan, as the pay form wants it.
func (d *caseData) FeeYuan() string {
	if d.Failed == "pay" {
		return d.F.Get("fee")
	}
	fen := d.C.GetFeeCents()
	return fmt.Sprintf("%d.%02d", fen/100, fen%100)
}

// printable reports whether the request is for a printed notice.
func printable(rq *request) bool { return strings.Contains(rq.r.URL.Path, "/print/") }

func (s *server) casePage(rq *request) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	return s.showCase(rq, http.StatusOK, "", url.Values{}, formErrors{}, flash(rq))
}

// showCase renders the staff's case page; failed names the action whose
// form is shown again with f and errs.
func (s *server) showCase(rq *request, code int, failed string, f url.Values, errs formErrors, msg string) error {
	number := rq.r.PathValue("number")
	d, err := s.loadCase(rq, rq.ctx(), number, "")
	if err != nil {
		return err
	}
	d.Failed, d.F = failed, formValues{f}
	d.Actions = allowedActions(d.C)
	if msg == "" {
		msg = caseFlash(rq)
	}
	errs.labels = map[string]string{}
	for _, a := range caseActions {
		for k, v := range actionFieldLabels {
			errs.labels[a.Name+"."+k] = a.Label + "：" + v
		}
	}
	return s.render(rq, code, "case", &view{Title: "办件 " + number, Section: "cases", Data: d, Errs: errs, Flash: msg})
}

var actionFieldLabels = map[string]string{
	"reason": "理由", "legal_basis": "法律依据", "missing_materials": "需补正的材料", "materials": "材料",
	"certificate_number": "证照编号", "receipt_number": "票据号", "fee": "金额", "fee_units": "数量", "extension_days": "延期天数",
	"special_procedure": "特别程序", "department_code": "协办部门",
}

// caseFlash is the confirmation of the action named by the query.
func caseFlash(rq *request) string {
	a, ok := caseActions[rq.r.URL.Query().Get("done")]
	if !ok {
		return ""
	}
	msg := a.Done
	if rq.r.URL.Query().Get("moved") == "1" {
		msg += "办件已按流转路线转往下一办事点。"
	}
	return msg
}

// actionRequest reads an action's form.
func actionRequest(number string, f url.Values) (*yizhanv1.CaseActionRequest, formErrors) {
	var errs formErrors
	req := &yizhanv1.CaseActionRequest{
		Number: number, Reason: strings.TrimSpace(f.Get("reason")), LegalBasis: strings.TrimSpace(f.Get("legal_basis")),
		MissingMaterials: f["missing_materials"], Approved: f.Get("approved") == "1",
		CertificateNumber: f.Get("certificate_number"), ReceiptNumber: f.Get("receipt_number"),
		SpecialProcedure: f.Get("special_procedure"), DepartmentCode: f.Get("department_code"),
	}
	switch f.Get("conclusion") {
	case "agree":
		req.Conclusion = yizhanv1.Conclusion_CONCLUSION_AGREE
	case "disagree":
		req.Conclusion = yizhanv1.Conclusion_CONCLUSION_DISAGREE
	}
	if _, ok := f["conclusion"]; !ok {
		// A page of the release before, open in a browser across the
		// upgrade: its review and opinion said agrees (1 同意, 0 不同意).
		// Its 不同意 was refused as no conclusion at all, the field to
		// choose it in named though the clerk had chosen it.
		switch f.Get("agrees") {
		case "1":
			req.Conclusion = yizhanv1.Conclusion_CONCLUSION_AGREE
		case "0":
			req.Conclusion = yizhanv1.Conclusion_CONCLUSION_DISAGREE
		}
	}
	for _, name := range f["materials"] {
		copies := int32(1)
		if c := strings.TrimSpace(f.Get("copies." + name)); c != "" {
			n, err := strconv.ParseInt(c, 10, 32)
			if err != nil || n < 0 {
				errs.add("materials", "份数须为不小于 0 的整数")
			}
			copies = int32(n)
		}
		req.Materials = append(req.Materials, &yizhanv1.SubmittedMaterial{Name: name, Copies: copies})
	}
	if fee := strings.TrimSpace(f.Get("fee")); fee != "" {
		m := feeRE.FindStringSubmatch(fee)
		if m == nil {
			errs.add("fee", "请填写金额（元），最多两位小数")
		} else {
			yuan, _ := strconv.ParseInt(m[1], 10, 64)
			fen := int64(0)
			if m[2] != "" {
				fen, _ = strconv.ParseInt((m[2] + "0")[:2], 10, 64)
			}
			req.FeeCents = yuan*100 + fen
		}
	}
	if u := strings.TrimSpace(f.Get("fee_units")); u != "" {
		n, err := strconv.ParseUint(u, 10, 32)
		if err != nil {
			errs.add("fee_units", "请填写整数")
		}
		req.FeeUnits = uint32(n)
	}
	if d := strings.TrimSpace(f.Get("extension_days")); d != "" {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil {
			errs.add("extension_days", "请填写整数")
		}
		req.ExtensionDays = int32(n)
	}
	return req, errs
}

// actionField is the form field for a field of the API's action request.
func actionField(field string) string {
	switch {
	case strings.HasPrefix(field, "missing_materials"):
		return "missing_materials"
	case strings.HasPrefix(field, "materials"):
		return "materials"
	case field == "fee_cents":
		return "fee"
	case field == "reason", field == "legal_basis", field == "certificate_number", field == "receipt_number",
		field == "extension_days", field == "special_procedure", field == "department_code", field == "conclusion", field == "fee_units":
		return field
	}
	return ""
}

// rejectPrechecks turns down the online filings ticked on the queue's
// pre-check view, with one reason.
func (s *server) rejectPrechecks(rq *request) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	f := rq.r.PostForm
	numbers := f["number"]
	reason := strings.TrimSpace(f.Get("reason"))
	back := "/cases?state=" + strconv.Itoa(int(yizhanv1.CaseState_CASE_STATE_PRECHECK))
	if len(numbers) == 0 || reason == "" {
		return &pageError{status: http.StatusBadRequest, title: "未办理", msg: "请勾选要驳回的网上申报，并填写驳回理由。"}
	}
	resp, err := s.cfg.Cases.RejectPrechecks(rq.ctx(), &yizhanv1.RejectPrechecksRequest{Numbers: numbers, Reason: reason})
	if err != nil {
		return err
	}
	done := 0
	for _, r := range resp.GetResults() {
		if r.GetRejected() {
			done++
		}
	}
	return rq.redirect(back + "&rejected=" + strconv.Itoa(done) + "&of=" + strconv.Itoa(len(resp.GetResults())))
}

func (s *server) caseAct(rq *request) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	number := rq.r.PathValue("number")
	f := rq.r.PostForm
	a, ok := caseActions[f.Get("action")]
	if !ok {
		return &pageError{status: http.StatusBadRequest, title: "请求有误", msg: "未知的办理操作。"}
	}
	req, errs := actionRequest(number, f)
	var chosen []scan
	if a.Name == "resubmit" && rq.r.MultipartForm != nil && !errs.Any() {
		// The scans of the materials handed in (a village agent's, or
		// any window's), as on the filing form: a material with a scan
		// chosen is handed in, ticked or not.
		for _, name := range scannedMaterials(rq.r.MultipartForm, f["materials"]) {
			req.Materials = append(req.Materials, &yizhanv1.SubmittedMaterial{Name: name, Copies: 1})
		}
		for _, m := range req.Materials {
			scans, err := s.scans(rq, m.GetName(), &errs)
			if err != nil {
				return err
			}
			for _, sc := range scans {
				m.Files = append(m.Files, sc.a)
			}
			chosen = append(chosen, scans...)
		}
	}
	prefix := func(errs formErrors) formErrors {
		var out formErrors
		for _, field := range errs.order {
			for _, m := range errs.fields[field] {
				out.add(a.Name+"."+field, m)
			}
		}
		out.general = errs.general
		return out
	}
	if errs.Any() {
		return s.showCase(rq, http.StatusBadRequest, a.Name, f, prefix(errs), "")
	}
	var resp *yizhanv1.CaseResponse
	err := s.withScans(rq, chosen, func() (err error) {
		resp, err = a.call(s.cfg.Cases)(rq.ctx(), req)
		return err
	})
	if err != nil {
		if errs, ok := fieldErrors(err, "", actionField); ok {
			return s.showCase(rq, http.StatusBadRequest, a.Name, f, prefix(errs), "")
		}
		if status.Code(err) == codes.FailedPrecondition {
			var errs formErrors
			errs.addGeneral("未办理：" + orLocalized(status.Convert(err), a.Label+"在当前状态下不可用。"))
			return s.showCase(rq, http.StatusConflict, a.Name, f, errs, "")
		}
		if errs, code, ok := unsaved(rq, err); ok {
			return s.showCase(rq, code, a.Name, f, prefix(errs), "")
		}
		return err
	}
	if code := resp.GetCase().GetQueryCode(); code != "" && a.Name == "reissueQueryCode" {
		// The new code, shown this once (not through a redirect, which
		// would keep it in a cookie).
		rq.w.Header().Set("Cache-Control", "no-store")
		rq.r.PostForm.Del("request_id") // the page's forms are new writes
		return s.showCase(rq, http.StatusOK, "", url.Values{}, formErrors{},
			"已补发新的查询码："+code+"。请交给申请人（只显示这一次），原查询码已失效。")
	}
	moved := s.waitCase(rq, number, resp.GetCase().GetLastSeq())
	to := "/cases/" + url.PathEscape(number) + "?done=" + a.Name
	if moved {
		to += "&moved=1"
	}
	return rq.redirect(to)
}

// waitCase waits (briefly) until this node's copy of the case has the
// event just appended, so that the page after an action shows it. It
// reports whether the case has moved on to another office meanwhile.
func (s *server) waitCase(rq *request, number string, seq uint32) (moved bool) {
	ctx, cancel := context.WithTimeout(rq.ctx(), 3*time.Second)
	defer cancel()
	for {
		resp, err := s.cfg.Cases.GetCase(ctx, &yizhanv1.GetCaseRequest{Number: number})
		if err == nil && resp.GetCase().GetLastSeq() >= seq {
			return resp.GetCase().GetOwnerOffice() != s.cfg.Office
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func chineseDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}

// above reports whether office a is above office b in the division tree
// (a county's code ends in 000000, a township's in 000).
func above(a, b string) bool {
	prefix := a
	switch {
	case strings.HasSuffix(a, "000000"):
		prefix = a[:len(a)-6]
	case strings.HasSuffix(a, "000"):
		prefix = a[:len(a)-3]
	}
	return a != b && strings.HasPrefix(b, prefix)
}
