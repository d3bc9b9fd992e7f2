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
// itself (a 401 redirects to the sign-in page) and returns nil.
func (s *server) apiError(rq *request, err error) *pageError {
	st, ok := status.FromError(err)
	if !ok {
		s.log.Error("web: request failed", "path", rq.r.URL.Path, "err", err)
		return &pageError{status: http.StatusInternalServerError, title: "系统错误", msg: "处理您的请求时出错，请稍后再试。"}
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
		return &pageError{status: http.StatusForbidden, title: "无权限", msg: "无权限：您的账号不能执行此操作。", detail: st.Message()}
	case codes.NotFound:
		return &pageError{status: http.StatusNotFound, title: "未找到", msg: "您要找的内容不存在。", detail: st.Message()}
	case codes.InvalidArgument:
		pe := &pageError{status: http.StatusBadRequest, title: "请求有误", msg: "请求的参数有误。"}
		if errs, ok := fieldErrors(err, "", nil); ok {
			var parts []string
			for _, f := range errs.order {
				parts = append(parts, f+"："+strings.Join(errs.fields[f], "；"))
			}
			pe.detail = strings.Join(parts, "\n")
		} else {
			pe.detail = st.Message()
		}
		return pe
	case codes.FailedPrecondition:
		return &pageError{status: http.StatusConflict, title: "暂不能完成", msg: "当前状态下不能完成此操作（本节点的目录可能尚未同步到最新）。", detail: st.Message()}
	case codes.Aborted, codes.AlreadyExists:
		return &pageError{status: http.StatusConflict, title: "数据冲突", msg: "数据已被他人修改或已存在，请刷新后重试。", detail: st.Message()}
	case codes.Unavailable, codes.DeadlineExceeded:
		return &pageError{status: http.StatusServiceUnavailable, title: "服务暂时不可用", msg: "暂时无法完成：县级节点或上级节点无法连接。请稍后再试。", detail: st.Message()}
	case codes.ResourceExhausted:
		return &pageError{status: http.StatusTooManyRequests, title: "请求过于频繁", msg: "请求过于频繁，请稍后再试。", detail: st.Message()}
	}
	s.log.Error("web: request failed", "path", rq.r.URL.Path, "code", st.Code(), "err", st.Message())
	return &pageError{status: http.StatusInternalServerError, title: "系统错误", msg: "处理您的请求时出错，请稍后再试。"}
}

// unsaved is what a form says above itself, keeping what was typed, when
// the API refused a write for a reason that is not the input's fault (the
// county out of reach, someone else's change first). ok is false for the
// errors that get a page of their own (401, 403, …).
func unsaved(err error) (errs formErrors, code int, ok bool) {
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded:
		errs.addGeneral("未保存：暂时无法连接县级节点（目录的修改由县级节点写入）。您填写的内容仍在下面，请稍后再提交。")
		return errs, http.StatusServiceUnavailable, true
	case codes.Aborted:
		errs.addGeneral("未保存：该记录刚被他人修改，请核对后再提交。")
		return errs, http.StatusConflict, true
	case codes.FailedPrecondition:
		errs.addGeneral("未保存：当前状态下不能完成此操作（" + st.Message() + "）。")
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
		out = append(out, problem{ID: "f-" + fieldID(f), Label: e.label(f), Msg: e.Get(f)})
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

// fieldErrors reads the google.rpc.BadRequest field violations of an
// InvalidArgument status. Each field path loses prefix ("item.") and is
// then passed through remap (which may rename it, e.g. to the form's row,
// or return "" for a field that is not on the form: its message becomes
// a general one). ok is false if err is not InvalidArgument.
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
			msg := translate(fv.GetDescription())
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
		errs.addGeneral(st.Message())
	}
	return errs, true
}

// translation turns one of the API's field messages into Chinese.
type translation struct {
	re *regexp.Regexp
	to func(m []string) string
}

func tr(pattern string, to func(m []string) string) translation {
	return translation{re: regexp.MustCompile("^" + pattern + "$"), to: to}
}

func lit(s string) func([]string) string { return func([]string) string { return s } }

var weekdayZH = map[string]string{
	"Monday": "周一", "Tuesday": "周二", "Wednesday": "周三", "Thursday": "周四",
	"Friday": "周五", "Saturday": "周六", "Sunday": "周日",
}

// translations are the API's field messages the UI knows; any other is
// shown as the API wrote it.
var translations = []translation{
	tr(`is required`, lit("必填")),
	tr(`must not be empty`, lit("不能为空")),
	tr(`must not be negative(, got (-?\d+))?`, lit("不能为负数")),
	tr(`must not exceed the statutory limit: promised (\d+) > statutory (\d+) working days`, func(m []string) string {
		return "承诺时限不能超过法定时限（承诺 " + m[1] + " 个工作日 > 法定 " + m[2] + " 个工作日）"
	}),
	tr(`must be at least 1 working day unless the case kind is CASE_KIND_IMMEDIATE`, lit("除即办件外，法定时限至少为 1 个工作日")),
	tr(`department "(.*)" does not exist`, func(m []string) string { return "部门“" + m[1] + "”不存在" }),
	tr(`office "(.*)" does not exist`, func(m []string) string { return "办事点“" + m[1] + "”不存在" }),
	tr(`item "(.*)" does not exist`, func(m []string) string { return "事项“" + m[1] + "”不存在" }),
	tr(`must be specified`, lit("请选择")),
	tr(`-?\d+ is not a known \w+ value`, lit("不是有效的选项")),
	tr(`repeats .*`, lit("与前面的重复")),
	tr(`".*" is the lead department; a co-department must be another one`, lit("协办部门不能是牵头部门")),
	tr(`a joint item \(CASE_KIND_JOINT\) needs at least one co-department`, lit("联办件至少需要一个协办部门")),
	tr(`must be 1 to 64 characters of A-Z.*`, lit("须为 1–64 位英文字母、数字或 . _ -")),
	tr(`must be 1 to 32 characters of a-z, 0-9, _ and -`, lit("须为 1–32 位小写字母、数字或 _ -")),
	tr(`must be 3 to 32 characters of a-z.*`, lit("须为 3–32 位小写字母、数字或 _ . -，以字母或数字开头")),
	tr(`must name at least one right`, lit("请至少选择一项权限")),
	tr(`must name at least one role`, lit("请至少选择一个角色")),
	tr(`is not a valid timestamp`, lit("不是有效的时间")),
	tr(`must be after valid_from.*`, lit("截止日期须晚于起始日期")),
	tr(`must be unset when office_code is set.*`, lit("授权对象只能是一个办事点或一个层级")),
	tr(`is required unless tier is set.*`, lit("请选择授权对象（办事点或层级）")),
	tr(`must have at least (\d+) characters`, func(m []string) string { return "至少需要 " + m[1] + " 个字符" }),
	tr(`must be a date YYYY-MM-DD, got .*`, lit("日期格式应为 年-月-日（YYYY-MM-DD）")),
	tr(`(\S+) is not in the calendar's year (\d+)`, func(m []string) string { return m[1] + " 不在 " + m[2] + " 年内" }),
	tr(`(\S+) is a (\w+): a DAY_KIND_WORKDAY .*`, func(m []string) string {
		return m[1] + " 是" + weekdayZH[m[2]] + "：调休上班日必须是周六或周日"
	}),
	tr(`(\S+) is a (\w+): a DAY_KIND_HOLIDAY .*`, func(m []string) string {
		return m[1] + " 是" + weekdayZH[m[2]] + "，本来就休息：节假日须在周一至周五"
	}),
	tr(`must be between 2000 and 2100, got (-?\d+)`, lit("年份须在 2000 至 2100 之间")),
	tr(`is required for a rating of \w+: .*`, lit("必填：请写明哪里不满意，以便跟进整改")),
	tr(`-?\d+ is not a rating: .*`, lit("请选择一项评价")),
	tr(`is required: one of \[RATING_.*`, lit("请选择一项评价")),
	tr(`is required: .*`, lit("必填")),
	tr(`must be 18 characters, got (\d+)`, func(m []string) string { return "须为 18 位（现为 " + m[1] + " 位）" }),
	tr(`the first 17 characters must be digits.*`, lit("前 17 位须为数字")),
	tr(`the last character must be a digit or X.*`, lit("最后一位须为数字或 X")),
	tr(`the first digit \(the province\) must not be 0`, lit("第一位不能为 0")),
	tr(`characters 7-14 must be a birth date.*`, lit("第 7–14 位须为出生日期（年月日）")),
	tr(`check character is .*`, lit("校验位不符，号码可能输错了")),
	tr(`a mobile number must be 11 digits.*`, lit("手机号须为 11 位数字")),
	tr(`must be a mobile number .*`, lit("请填写手机号（11 位）或带区号的固定电话（如 0771-6201001）")),
	tr(`".*" is not a material of item .*`, lit("不是该事项的申请材料")),
	tr(`must be 1 to (\d+) working days .*`, func(m []string) string { return "须为 1 至 " + m[1] + " 个工作日" }),
	tr(`must be the assessed fee of (\d+) fen, got \d+`, lit("须与核定的收费金额一致")),
	tr(`item \S+ has no statutory limit to extend.*`, lit("即办件没有可延长的法定时限")),
	// The limits on every input (registry/limits.go, docs/LIMITS.md).
	tr(`must be at most (\d+) characters, got (\d+)`, func(m []string) string { return "最多 " + m[1] + " 个字（现为 " + m[2] + " 个）" }),
	tr(`must have at most (\d+) entries, got (\d+)`, func(m []string) string { return "最多 " + m[1] + " 项（现为 " + m[2] + " 项）" }),
	tr(`must be at most (-?\d+), got (-?\d+)`, func(m []string) string { return "不能超过 " + m[1] + "（现为 " + m[2] + "）" }),
	tr(`must not contain control characters other than line breaks and tabs, found U\+[0-9A-F]+ at character (\d+)`, func(m []string) string {
		return "除换行和制表符外不能包含控制字符（第 " + m[1] + " 个字）"
	}),
	tr(`must not contain control characters, found U\+[0-9A-F]+ at character (\d+)`, func(m []string) string { return "不能包含控制字符（第 " + m[1] + " 个字）" }),
	tr(`must be valid UTF-8 text`, lit("含有无效的字符编码（须为 UTF-8 文本）")),
	tr(`makes the \w+ too large: (\d+) bytes encoded, at most (\d+)`, func(m []string) string {
		return "内容过多（共 " + m[1] + " 字节，最多 " + m[2] + " 字节），请删减"
	}),
	tr(`case \S+ has (\d+) complaints, the most one case takes`, func(m []string) string { return "该办件已有 " + m[1] + " 次投诉，已达上限" }),
}

// translate is the Chinese for one of the API's field messages, or the
// message itself when the UI does not know it.
func translate(desc string) string {
	for _, t := range translations {
		if m := t.re.FindStringSubmatch(desc); m != nil {
			return t.to(m)
		}
	}
	return desc
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
