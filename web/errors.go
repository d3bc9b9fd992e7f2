package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/yizhan-gov/yizhan/reason"
)

// pageError is an error the UI shows as a page of its own.
type pageError struct {
	status int
	title  string
	msg    string
	detail string // the API's own words, when they help
}

func (e *pageError) Error() string { return fmt.Sprintf("web: %d %s: %s", e.status, e.title, e.msg) }

var (
	errNotFound = &pageError{status: http.StatusNotFound, title: "页面不存在", msg: "您要找的页面不存在，或已被移除。"}
	// errBadCSRF answers an unsafe request without a valid CSRF token:
	// nothing was done.
	errBadCSRF = &pageError{status: http.StatusForbidden, title: "请求被拒绝",
		msg: "此表单缺少有效的安全令牌（页面可能已过期，或请求并非来自本站），未做任何修改。请返回上一页，刷新后重试。"}
	errNotAdmin = &pageError{status: http.StatusForbidden, title: "无权限",
		msg: "无权限：管理页面仅供管理员使用。如需办理业务，请使用您所在办事点的工作台。"}
)

// errorData is what an error page shows.
type errorData struct {
	Title, Msg, Detail string
	Back               string // the page the person came from, on this site
}

// fail shows err to the person: the API's codes become pages (401: the
// sign-in page; 403: 无权限; …), anything else a 500 that is logged.
func (s *server) fail(rq *request, err error) {
	err = s.gated(rq, err)
	var pe *pageError
	if !errors.As(err, &pe) {
		pe = s.apiError(rq, err)
		if pe == nil {
			return // answered (a redirect to the sign-in page)
		}
	}
	d := &errorData{Title: pe.title, Msg: pe.msg, Detail: pe.detail}
	if ref, err := url.Parse(rq.r.Referer()); err == nil && ref.Host == rq.r.Host && ref.Path != rq.r.URL.Path {
		d.Back = safeNext(ref.RequestURI())
	}
	v := &view{Title: pe.title, Data: d}
	if rerr := s.render(rq, pe.status, "error", v); rerr != nil {
		s.log.Error("web: render error page", "err", rerr)
		http.Error(rq.w, pe.title, pe.status)
	}
}

// apiError maps an error of the API to a page, or answers the request
// itself (a 401 redirects to the sign-in page) and returns nil. The page
// says what the API's answer says in Chinese (its LocalizedMessage, made
// from the error's reason), or what the code means when it has none; the
// English message is the page's detail.
func (s *server) apiError(rq *request, err error) *pageError {
	st, ok := status.FromError(err)
	if !ok {
		s.log.Error("web: request failed", "path", rq.r.URL.Path, "err", err)
		return &pageError{status: http.StatusInternalServerError, title: "系统错误", msg: "处理您的请求时出错，请稍后再试。"}
	}
	page := func(code int, title, msg string) *pageError {
		return &pageError{status: code, title: title, msg: orLocalized(st, msg), detail: st.Message()}
	}
	if lookFirst(st) {
		return page(http.StatusServiceUnavailable, "结果待确认", "操作可能已经完成，也可能没有。请先刷新查看结果，再决定是否重新提交。")
	}
	switch st.Code() {
	case codes.Unauthenticated:
		s.clearSession(rq)
		next := "/"
		if safeMethod(rq.r.Method) {
			next = rq.r.URL.RequestURI()
		}
		http.Redirect(rq.w, rq.r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return nil
	case codes.PermissionDenied:
		return page(http.StatusForbidden, "无权限", "无权限：您的账号不能执行此操作。")
	case codes.NotFound:
		return page(http.StatusNotFound, "未找到", "您要找的内容不存在。")
	case codes.InvalidArgument:
		pe := page(http.StatusBadRequest, "请求有误", "请求的参数有误。")
		if errs, ok := fieldErrors(err, "", nil); ok && len(errs.order) > 0 {
			var parts []string
			for _, f := range errs.order {
				parts = append(parts, f+"："+strings.Join(errs.fields[f], "；"))
			}
			pe.detail = strings.Join(parts, "\n")
		}
		return pe
	case codes.FailedPrecondition:
		return page(http.StatusConflict, "暂不能完成", "当前状态下不能完成此操作（本节点的目录可能尚未同步到最新）。")
	case codes.Aborted, codes.AlreadyExists:
		if sentBefore(st) {
			return &pageError{status: http.StatusConflict, title: "未提交", msg: formSentBefore, detail: st.Message()}
		}
		return page(http.StatusConflict, "数据冲突", "数据已被他人修改或已存在，请刷新后重试。")
	case codes.Unavailable:
		return page(http.StatusServiceUnavailable, "服务暂时不可用", "暂时无法完成：县级节点或上级节点无法连接。请稍后再试。")
	case codes.ResourceExhausted:
		return page(http.StatusTooManyRequests, "请求过于频繁", "请求过于频繁，请稍后再试。")
	case codes.DataLoss:
		// This node's copy of a case or a scan is damaged (CASE_DAMAGED,
		// ATTACHMENT_DAMAGED): the node logged it once already, so a page
		// read again and again does not log it again.
		return page(http.StatusInternalServerError, "数据已损坏", "本节点保存的数据已损坏，暂时无法查看或办理。请联系系统运维人员。")
	}
	s.log.Error("web: request failed", "path", rq.r.URL.Path, "code", st.Code(), "err", st.Message())
	return &pageError{status: http.StatusInternalServerError, title: "系统错误", msg: "处理您的请求时出错，请稍后再试。"}
}

// orLocalized is the API's zh-CN text of st (its LocalizedMessage), or
// def when it has none (an answer from an older node, or a fake in tests).
func orLocalized(st *status.Status, def string) string {
	if zh := reason.Localized(st); zh != "" {
		return zh
	}
	return def
}

// gated is err, or Config.Gate's refusal when the node's data was
// replaced while the request ran: what it read, and a refusal of what it
// asked, may come from part of it. An error that says the request may
// have been done stays as it is (look first).
func (s *server) gated(rq *request, err error) error {
	g := s.cfg.Gate
	if g == nil || lookFirst(status.Convert(err)) {
		return err
	}
	if lerr := g.Left(rq.ticket); lerr != nil {
		return lerr
	}
	return err
}

// lookFirst reports whether st says the request may have been done
// (OUTCOME_UNKNOWN, a deadline or a cancellation): the person is to look
// before sending it again, and is not told it was not saved.
func lookFirst(st *status.Status) bool {
	if d, ok := reason.Lookup(reason.Info(st).GetReason()); ok {
		return d.Retry == reason.RetryLook
	}
	return st.Code() == codes.DeadlineExceeded || st.Code() == codes.Canceled
}

// formSentBefore is what a form says when the API refused its request
// ID as one sent before with another body (REQUEST_ID_REUSED): the form
// was sent once already, its answer lost or unknown, and is now sent
// changed. Each form of a page has its own ID (view.FormID), so it is
// this form's earlier sending, perhaps done. The API's words speak of
// request IDs, which a person never sees.
const formSentBefore = "此表单此前已提交过一次（当时未得到结果，可能已经办理），这次提交的内容与那次不同。请刷新页面，查看那次是否已经办理，再决定是否重新填写提交。"

// sentBefore reports whether st refuses a request ID sent before with
// another body.
func sentBefore(st *status.Status) bool {
	return reason.Info(st).GetReason() == reason.RequestIDReused
}

// aborted is what a form says of an ABORTED answer that is not an
// unknown outcome (lookFirst): its request ID sent before with another
// body (formSentBefore), or someone else's change first, in the API's
// words (def when it has none).
func aborted(st *status.Status, def string) string {
	if sentBefore(st) {
		return formSentBefore
	}
	return orLocalized(st, def)
}

// unsaved is what a form says above itself, keeping what was typed, when
// the API refused a write for a reason that is not the input's fault (the
// county out of reach, someone else's change first), in the API's words
// (its LocalizedMessage). ok is false for the errors that get a page of
// their own (401, 403, …). A write that may have been done marks rq
// (lookFirst): its form is shown as it is.
func unsaved(rq *request, err error) (errs formErrors, code int, ok bool) {
	st := status.Convert(err)
	if lookFirst(st) {
		rq.lookFirst = true
		errs.addGeneral(orLocalized(st, "操作可能已经完成，也可能没有。") + "您填写的内容仍在下面：请先查看结果，确认没有完成再提交。")
		return errs, http.StatusServiceUnavailable, true
	}
	switch st.Code() {
	case codes.Unavailable:
		errs.addGeneral("未保存：" + orLocalized(st, "暂时无法连接县级节点（目录的修改由县级节点写入），请稍后再提交。") + "您填写的内容仍在下面。")
		return errs, http.StatusServiceUnavailable, true
	case codes.Aborted:
		errs.addGeneral("未保存：" + aborted(st, "该记录刚被他人修改，请核对后再提交。"))
		return errs, http.StatusConflict, true
	case codes.FailedPrecondition:
		errs.addGeneral("未保存：" + orLocalized(st, "当前状态下不能完成此操作。"))
		return errs, http.StatusConflict, true
	}
	return errs, 0, false
}

// formErrors are the problems of a submitted form: by form field, in the
// order the API named them, and those that belong to no field.
type formErrors struct {
	fields  map[string][]string
	order   []string
	general []string
	labels  map[string]string // field → its label on the form, for the summary
	// idPrefix is what the failed form's input ids start with, on a page
	// of many forms of the same fields (office-<code>-phone): the
	// summary's links reach the inputs.
	idPrefix string
}

// problem is one field's problem, for the summary above a form.
type problem struct {
	ID, Label, Msg string
}

// List is every field's problem in order, each with its label and the id
// of its input (the summary links to it).
func (e formErrors) List() []problem {
	out := make([]problem, 0, len(e.order))
	for _, f := range e.order {
		out = append(out, problem{ID: "f-" + fieldID(e.idPrefix+f), Label: e.label(f), Msg: e.Get(f)})
	}
	return out
}

var rowLabelRE = regexp.MustCompile(`^(\w+)\[(\d+)\]\.(\w+)$`)

func (e formErrors) label(field string) string {
	if l := e.labels[field]; l != "" {
		return l
	}
	if m := rowLabelRE.FindStringSubmatch(field); m != nil {
		n, _ := strconv.Atoi(m[2])
		list, sub := e.labels[m[1]], e.labels[m[1]+"."+m[3]]
		if list == "" {
			list = m[1]
		}
		if sub == "" {
			sub = m[3]
		}
		return fmt.Sprintf("%s第 %d 行%s", list, n+1, sub)
	}
	return field
}

// Get is the message for a form field ("" when it is fine).
func (e formErrors) Get(field string) string { return strings.Join(e.fields[field], "；") }

// Has reports whether the field has a problem.
func (e formErrors) Has(field string) bool { return len(e.fields[field]) > 0 }

// General lists the problems that belong to no field on the form.
func (e formErrors) General() []string { return e.general }

// Any reports whether there is any problem.
func (e formErrors) Any() bool { return len(e.fields) > 0 || len(e.general) > 0 }

// Count is the number of fields with a problem.
func (e formErrors) Count() int { return len(e.fields) }

func (e *formErrors) add(field, msg string) {
	if e.fields == nil {
		e.fields = map[string][]string{}
	}
	if _, ok := e.fields[field]; !ok {
		e.order = append(e.order, field)
	}
	e.fields[field] = append(e.fields[field], msg)
}

func (e *formErrors) addGeneral(msg string) { e.general = append(e.general, msg) }

// renamed is e with field's problems under the name to (the input that
// shows them on a page with two fields of that name).
func (e formErrors) renamed(field, to string) formErrors {
	msgs, ok := e.fields[field]
	if !ok {
		return e
	}
	out := formErrors{labels: e.labels, general: e.general, idPrefix: e.idPrefix, fields: map[string][]string{}}
	for _, f := range e.order {
		name := f
		if f == field {
			name = to
		}
		out.order = append(out.order, name)
		out.fields[name] = e.fields[f]
	}
	out.fields[to] = msgs
	return out
}

// fieldErrors reads the google.rpc.BadRequest field violations of an
// InvalidArgument status, each in the API's Chinese: its zh-CN
// localized_message, made from the violation's reason and meta (the
// English description when it has none). Each field path loses prefix
// ("item.") and is then passed through remap (which may rename it, e.g.
// to the form's row, or return "" for a field that is not on the form:
// its message becomes a general one). ok is false if err is not
// InvalidArgument.
func fieldErrors(err error, prefix string, remap func(string) string) (formErrors, bool) {
	var errs formErrors
	st, isStatus := status.FromError(err)
	if !isStatus || st.Code() != codes.InvalidArgument {
		return errs, false
	}
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, fv := range br.GetFieldViolations() {
			field := strings.TrimPrefix(fv.GetField(), prefix)
			msg := fv.GetDescription() // as the API wrote it, when it has no Chinese
			if lm := fv.GetLocalizedMessage(); lm.GetLocale() == reason.Locale && lm.GetMessage() != "" {
				msg = lm.GetMessage()
			}
			if remap != nil {
				field = remap(field)
			}
			if field == "" {
				errs.addGeneral(fv.GetField() + "：" + msg)
				continue
			}
			errs.add(field, msg)
		}
	}
	if !errs.Any() {
		errs.addGeneral(orLocalized(st, st.Message()))
	}
	return errs, true
}

// humanDuration is a short Chinese duration ("30 秒", "2 分钟").
func humanDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d 秒", max(1, int(d.Seconds()+0.5)))
	}
	if d < time.Hour {
		return fmt.Sprintf("%d 分钟", int(d.Minutes()+0.5))
	}
	return fmt.Sprintf("%d 小时", int(d.Hours()+0.5))
}
