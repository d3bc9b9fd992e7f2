package reason

import (
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
)

// This file is the one list of reasons. docs/ERRORS.md is made from it
// (go test ./reason -run TestErrorsDoc -update), and a test checks that
// each has its Chinese text.

// Reasons of a whole request (ErrorInfo.reason).
const (
	// Safe to send again: nothing was done.
	NotLeader            = "NOT_LEADER"
	NoLeader             = "NO_LEADER"
	CatchingUp           = "CATCHING_UP"
	NotCounty            = "NOT_COUNTY"
	TooManyHops          = "TOO_MANY_HOPS"
	Unreachable          = "UNREACHABLE"
	QueryCodeUncheckable = "QUERY_CODE_UNCHECKABLE"
	BookRestoring        = "BOOK_RESTORING"
	FirstStartPending    = "FIRST_START_PENDING"
	// It may have been done: look before sending it again.
	OutcomeUnknown   = "OUTCOME_UNKNOWN"
	DeadlineExceeded = "DEADLINE_EXCEEDED"
	Canceled         = "CANCELED"
	// Held back: send it again after the wait.
	TooManyAttempts = "TOO_MANY_ATTEMPTS"
	TooManyFilings  = "TOO_MANY_FILINGS"
	Busy            = "BUSY"
	ExportBusy      = "EXPORT_BUSY"
	WritesBusy      = "WRITES_BUSY"
	ListingsBusy    = "LISTINGS_BUSY"
	RegistryBehind  = "REGISTRY_BEHIND"
	StatsRecounting = "STATISTICS_RECOUNTING"
	ClockOff        = "CLOCK_OFF"
	// Refused: the same request is refused again.
	InvalidArgument     = "INVALID_ARGUMENT"
	NotFound            = "NOT_FOUND"
	CaseNotFound        = "CASE_NOT_FOUND"
	AlreadyExists       = "ALREADY_EXISTS"
	Conflict            = "CONFLICT"
	RequestIDReused     = "REQUEST_ID_REUSED"
	FailedPrecondition  = "FAILED_PRECONDITION"
	OfficeRunsElsewhere = "OFFICE_RUNS_ELSEWHERE"
	AlreadyRevoked      = "ALREADY_REVOKED"
	ReportInHand        = "REPORT_IN_HAND"
	CaseState           = "CASE_STATE"
	AlreadyRated        = "ALREADY_RATED"
	QueryCodeSuperseded = "QUERY_CODE_SUPERSEDED"
	CaseHeldElsewhere   = "CASE_HELD_ELSEWHERE"
	NoRoute             = "NO_ROUTE"
	Unauthenticated     = "UNAUTHENTICATED"
	WrongCredentials    = "WRONG_CREDENTIALS"
	PasswordChange      = "PASSWORD_CHANGE_REQUIRED"
	PermissionDenied    = "PERMISSION_DENIED"
	WrongRole           = "WRONG_ROLE"
	NoRightForItem      = "NO_RIGHT_FOR_ITEM"
	NotOnPath           = "NOT_ON_PATH"
	CitizenOnly         = "CITIZEN_ONLY"
	ScanQuota           = "SCAN_QUOTA"
	AttachmentDamaged   = "ATTACHMENT_DAMAGED"
	CaseDamaged         = "CASE_DAMAGED"
	Internal            = "INTERNAL"
)

// Reasons of one field (BadRequest.FieldViolation.reason); the request is
// INVALID_ARGUMENT. The first nine are the input limits (docs/LIMITS.md).
const (
	TooLong                  = "TOO_LONG"
	TooShort                 = "TOO_SHORT"
	TooMany                  = "TOO_MANY"
	OutOfRange               = "OUT_OF_RANGE"
	ControlCharacter         = "CONTROL_CHARACTER"
	InvalidUTF8              = "INVALID_UTF8"
	TooLarge                 = "TOO_LARGE" // also of a whole command (raftgroup.ErrTooLarge)
	Required                 = "REQUIRED"
	InvalidFormat            = "INVALID_FORMAT"
	IDNumberChecksum         = "ID_NUMBER_CHECKSUM"
	CreditCodeChecksum       = "CREDIT_CODE_CHECKSUM"
	AttachmentType           = "ATTACHMENT_TYPE"
	AttachmentMissing        = "ATTACHMENT_MISSING"
	AttachmentHash           = "ATTACHMENT_HASH"
	PromisedExceedsStatutory = "PROMISED_EXCEEDS_STATUTORY"
	StatutoryLimitRequired   = "STATUTORY_LIMIT_REQUIRED"
	NoStatutoryLimit         = "NO_STATUTORY_LIMIT"
	OfficeNotFound           = "OFFICE_NOT_FOUND"
	DepartmentNotFound       = "DEPARTMENT_NOT_FOUND"
	ItemNotFound             = "ITEM_NOT_FOUND"
	ItemRetired              = "ITEM_RETIRED"
	NotAMaterial             = "NOT_A_MATERIAL"
	NotASpecialProcedure     = "NOT_A_SPECIAL_PROCEDURE"
	Duplicate                = "DUPLICATE"
	LeadAsCoDepartment       = "LEAD_AS_CO_DEPARTMENT"
	CoDepartmentRequired     = "CO_DEPARTMENT_REQUIRED"
	OfficeAndTier            = "OFFICE_AND_TIER"
	NotAfterValidFrom        = "NOT_AFTER_VALID_FROM"
	WrongParent              = "WRONG_PARENT"
	CountyExists             = "COUNTY_EXISTS"
	CountyFirst              = "COUNTY_FIRST"
	DateNotInYear            = "DATE_NOT_IN_YEAR"
	WorkdayNotOnWeekend      = "WORKDAY_NOT_ON_WEEKEND"
	HolidayOnWeekend         = "HOLIDAY_ON_WEEKEND"
	FeeMismatch              = "FEE_MISMATCH"
	WrongOffice              = "WRONG_OFFICE"
	UnknownField             = "UNKNOWN_FIELD"
	ImmutableField           = "IMMUTABLE_FIELD"
	Mismatch                 = "MISMATCH"
	InvalidValue             = "INVALID_VALUE"
	RecordNotFound           = "RECORD_NOT_FOUND"
	StaffNotFound            = "STAFF_NOT_FOUND"
	StaffLacksRole           = "STAFF_LACKS_ROLE"
	NotOnShift               = "NOT_ON_SHIFT"
)

// Retry says whether the same request may be sent again.
type Retry int

const (
	// RetryNo: it would be refused again; change it first (or sign in, or
	// ask someone who may).
	RetryNo Retry = iota
	// RetrySafe: nothing was done; send it again, shortly.
	RetrySafe
	// RetryAfter: nothing was done; send it again after the wait the
	// answer names (google.rpc.RetryInfo).
	RetryAfter
	// RetryLook: it may have been done; look (read the record, the case)
	// before sending it again. A request with a request_id may be sent
	// again as it is.
	RetryLook
)

func (r Retry) String() string {
	return [...]string{"no", "yes", "yes, after the wait", "look first"}[r]
}

// Def is one reason of the catalogue.
type Def struct {
	Reason string
	// Code is the gRPC code of a request refused for this reason. A field
	// reason's request is INVALID_ARGUMENT.
	Code    codes.Code
	Field   bool // a field reason (BadRequest.FieldViolation.reason)
	Retry   Retry
	Meaning string
	// Keys are the metadata it may carry; Example is some, for the docs.
	Keys    []string
	Example Meta
	zh      func(Meta) string
}

// Text is the zh-CN text for m.
func (d Def) Text(m Meta) string { return d.zh(m) }

// Defs is the catalogue, in the order of docs/ERRORS.md.
func Defs() []Def { return slices.Clone(defs) }

// Lookup is reason's entry of the catalogue.
func Lookup(reason string) (Def, bool) {
	i := slices.IndexFunc(defs, func(d Def) bool { return d.Reason == reason })
	if i < 0 {
		return Def{}, false
	}
	return defs[i], true
}

// Text is the zh-CN text of reason with meta: the INTERNAL text for an
// unknown reason.
func Text(reason string, m Meta) string {
	d, ok := Lookup(reason)
	if !ok {
		d, _ = Lookup(Internal)
	}
	return d.zh(m)
}

// FieldText is the zh-CN text of a field's reason with meta: the
// INVALID_VALUE text for a reason that is not in the catalogue.
func FieldText(reason string, m Meta) string {
	if d, ok := Lookup(reason); ok {
		return d.zh(m)
	}
	return Text(InvalidValue, m)
}

// Code is the gRPC code a request refused for reason is answered with
// (Unknown for a reason not in the catalogue).
func Code(reason string) codes.Code {
	if d, ok := Lookup(reason); ok {
		return d.Code
	}
	return codes.Unknown
}

// t fills a template: {key} is m[key]; a part in [ ] is left out when a
// key in it has no value.
func t(tmpl string) func(Meta) string {
	return func(m Meta) string { return fill(tmpl, m) }
}

func fill(tmpl string, m Meta) string {
	var b strings.Builder
	for tmpl != "" {
		i := strings.IndexAny(tmpl, "[{")
		if i < 0 {
			b.WriteString(tmpl)
			break
		}
		b.WriteString(tmpl[:i])
		tmpl = tmpl[i:]
		if tmpl[0] == '[' {
			j := strings.IndexByte(tmpl, ']')
			part := tmpl[1:j]
			tmpl = tmpl[j+1:]
			if s, ok := subst(part, m); ok {
				b.WriteString(s)
			}
			continue
		}
		j := strings.IndexByte(tmpl, '}')
		b.WriteString(label(tmpl[1:j], m))
		tmpl = tmpl[j+1:]
	}
	return b.String()
}

// subst fills the keys of part; ok is false if one has no value.
func subst(part string, m Meta) (string, bool) {
	var b strings.Builder
	for part != "" {
		i := strings.IndexByte(part, '{')
		if i < 0 {
			b.WriteString(part)
			break
		}
		b.WriteString(part[:i])
		j := strings.IndexByte(part, '}')
		v := label(part[i+1:j], m)
		if v == "" {
			return "", false
		}
		b.WriteString(v)
		part = part[j+1:]
	}
	return b.String(), true
}

// label is m[key], in Chinese where it is one of the values named here
// (a state, an action, a right, a weekday, a kind of record, a wait).
func label(key string, m Meta) string {
	v := m[key]
	switch key {
	case "state":
		return zhOr(stateZH, v)
	case "action":
		return zhOr(actionZH, v)
	case "right":
		return zhOr(rightZH, v)
	case "weekday":
		return zhOr(weekdayZH, v)
	case "kind":
		return zhOr(kindZH, v)
	case "retryAfterSeconds":
		return waitZH(v)
	}
	return v
}

func zhOr(names map[string]string, v string) string {
	if zh, ok := names[v]; ok {
		return zh
	}
	return v
}

// StateName is a case state's name in Chinese (its enum name when
// unknown): CASE_STATE_CORRECTION_REQUESTED → 待补正.
func StateName(state string) string { return zhOr(stateZH, state) }

var stateZH = map[string]string{
	"CASE_STATE_FILED": "待受理", "CASE_STATE_CORRECTION_REQUESTED": "待补正", "CASE_STATE_ACCEPTED": "已受理",
	"CASE_STATE_REVIEWED": "已审核", "CASE_STATE_APPROVED": "审批通过", "CASE_STATE_DENIED": "审批未通过",
	"CASE_STATE_CERTIFIED": "已制证", "CASE_STATE_DELIVERED": "已送达", "CASE_STATE_CLOSED": "已办结",
	"CASE_STATE_REFUSED": "不予受理", "CASE_STATE_WITHDRAWN": "已撤回", "CASE_STATE_PRECHECK": "预审中",
	"CASE_STATE_PRECHECK_REJECTED": "预审未通过",
}

// actionZH names casework's actions (their REST names).
var actionZH = map[string]string{
	"accept": "受理", "requestCorrection": "一次性告知补正", "resubmit": "补正材料", "refuse": "不予受理",
	"review": "审核", "decide": "审批", "certify": "制证", "assessFee": "核定收费", "pay": "缴费",
	"deliver": "送达", "withdraw": "撤回", "suspend": "中止", "resume": "恢复", "extend": "延期",
	"giveOpinion": "出具协办部门意见", "forward": "转送", "receive": "接收", "close": "办结",
	"rate": "评价", "complain": "投诉", "precheck": "预审通过", "rejectPrecheck": "预审不通过", "file": "申请",
}

var rightZH = map[string]string{
	"RIGHT_ACCEPT": "受理", "RIGHT_REVIEW": "审核", "RIGHT_APPROVE": "审批", "RIGHT_CERTIFY": "制证",
	"RIGHT_DELIVER": "送达", "RIGHT_PROXY_FILE": "代办",
}

var weekdayZH = map[string]string{
	"Monday": "周一", "Tuesday": "周二", "Wednesday": "周三", "Thursday": "周四",
	"Friday": "周五", "Saturday": "周六", "Sunday": "周日",
}

var kindZH = map[string]string{
	"office": "办事点", "department": "部门", "item": "事项", "grant": "授权", "staff": "工作人员",
	"case": "办件", "queryCodeKey": "查询码密钥", "node": "节点", "calendar": "日历",
}

var formatZH = map[string]string{
	"DIVISION_CODE":   "须为 12 位数字的区划代码",
	"DEPARTMENT_CODE": "须为 1–32 位小写字母、数字或 _ -",
	"ITEM_CODE":       "须为 1–64 位英文字母、数字或 . _ -",
	"USERNAME":        "须为 3–32 位小写字母、数字或 _ . -，以字母或数字开头",
	"DATE":            "日期格式应为 年-月-日（YYYY-MM-DD）",
	"TIMESTAMP":       "不是有效的时间",
	"HOST_PORT":       "须为 主机:端口",
	"PORT":            "端口须在 1 至 65535 之间",
	"CASE_NUMBER":     "办件编号格式应为 办事点代码-年月日-序号（如 450122101203-20260105-0001）",
	"PAGE_TOKEN":      "翻页标记无效，请从第一页重新查询",
	"PHONE":           "请填写手机号（11 位）或带区号的固定电话（如 0771-6201001）",
	"MOBILE":          "手机号须为 11 位数字",
	"CONTACT_PHONE":   "请填写手机号、固定电话（如 0771-6201001 或本地 6201001）、服务热线（如 12345、95598）或 400/800 号码",
	"REQUEST_ID":      "请求编号须为至多 64 个可打印的 ASCII 字符，不含空格（建议使用 UUID）",
	"QUEUE_ONLY":      "“只看超期”只用于待办队列，不能与历史办件、日期、申请人或已办结状态同时使用",
	"CREDIT_CODE":     "统一社会信用代码须为 18 位数字或大写字母（不含 I、O、Z、S、V）",
	"SHA256":          "文件摘要须为 64 位小写十六进制字符（SHA-256）",
	"REGISTRY_KIND":   "不是登记信息的一类（事项、授权、工作人员、办事点、部门、工作日历、节点、规则）",
}

var idPartZH = map[string]string{
	"LENGTH":     "身份证号须为 18 位[（现为 {got} 位）]",
	"DIGITS":     "身份证号前 17 位须为数字",
	"LAST":       "身份证号最后一位须为数字或 X",
	"PROVINCE":   "身份证号第一位不能为 0",
	"BIRTH_DATE": "身份证号第 7–14 位须为出生日期（年月日）",
}

// wait is " 30 秒后" for m's retryAfterSeconds, or "稍后".
func wait(m Meta) string {
	if w := waitZH(m["retryAfterSeconds"]); w != "" {
		return " " + w + "后"
	}
	return "稍后"
}

// either is the template with, when m has key, else the text without.
func either(key, with, without string) func(Meta) string {
	return func(m Meta) string {
		if m[key] == "" {
			return without
		}
		return fill(with, m)
	}
}

// waitZH is a wait of v seconds in Chinese ("" for none).
func waitZH(v string) string {
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return ""
		}
		n = n*10 + int(c-'0')
	}
	if v == "" || n <= 0 {
		return ""
	}
	return HumanDuration(time.Duration(n) * time.Second)
}

var defs = []Def{
	// Nothing was done: safe to send again.
	{Reason: NotLeader, Code: codes.Unavailable, Retry: RetrySafe, Keys: []string{"leader", "peerAddress", "peerAddresses"},
		Example: Meta{"leader": "county-2", "peerAddress": "10.0.1.12:7070"},
		Meaning: "the node asked is no longer its office's leader; the write was not proposed. A follower asked to add a node to its office (Peer.Join, which it passes on to no one) names the leader and its peer address, where the joining node asks itself; when the node directory does not hold the leader's address yet, the peer addresses the follower joined through (its --join, comma-separated), which the joining node asks next",
		zh:      t("系统正在切换主节点，操作未执行，请稍后重试。")},
	{Reason: NoLeader, Code: codes.Unavailable, Retry: RetrySafe, Keys: []string{"office"}, Example: Meta{"office": "450122000000"},
		Meaning: "the office had no leader for as long as a write waits for one (too few of its nodes are up, or an election takes longer); nothing was done",
		zh:      t("办事点[ {office} ]暂时没有主节点（可能正在选举），操作未执行，请稍后重试。")},
	{Reason: CatchingUp, Code: codes.Unavailable, Retry: RetrySafe,
		Meaning: "the office's new leader is still applying what its predecessor committed; nothing was proposed",
		zh:      t("主节点刚刚接任，正在同步数据，操作未执行，请稍后重试。")},
	{Reason: NotCounty, Code: codes.Unavailable, Retry: RetrySafe,
		Meaning: "a registry write reached an office below the county and could not be sent on; registry writes are authored at the county",
		zh:      t("目录的修改只能由县级节点写入，暂时无法转交县级节点，操作未执行，请稍后重试。")},
	{Reason: TooManyHops, Code: codes.Unavailable, Retry: RetrySafe,
		Meaning: "the request was forwarded too many times (a node directory pointing in a circle); nothing was done",
		zh:      t("请求在节点之间转交次数过多（节点目录可能有误），操作未执行，请稍后重试或联系管理员。")},
	{Reason: Unreachable, Code: codes.Unavailable, Retry: RetrySafe, Keys: []string{"office", "number"}, Example: Meta{"office": "450122000000"},
		Meaning: "no node that could answer was reachable (the county, the office above, the office holding the case, this office's leader)",
		zh:      t("暂时无法连接到能处理此请求的节点（上级办事点、县级节点或本办事点的主节点），请稍后再试。")},
	{Reason: QueryCodeUncheckable, Code: codes.Unavailable, Retry: RetrySafe,
		Meaning: "this office's registry does not hold the key the case's query code was kept under yet (its feed is behind)",
		zh:      t("本办事点暂时无法核验查询码（目录尚未同步），请稍后再查，或到上级办事点查询。")},

	{Reason: BookRestoring, Code: codes.Unavailable, Retry: RetrySafe,
		Meaning: "this node fell far behind its office and is restoring the office's case book from the leader's snapshot (seconds; about 5 s for 100,000 cases): what it holds meanwhile is part of the book, so it answers nothing from it. Ask again shortly, or another node of the office",
		zh:      t("本节点正在从主节点同步全部办件数据，暂时无法办理，请稍后重试或改用本办事点的其他节点。")},
	{Reason: FirstStartPending, Code: codes.Unavailable, Retry: RetrySafe, Keys: []string{"office"}, Example: Meta{"office": "450122101203"},
		Meaning: "the office's node was started with --bootstrap on an empty data directory (without --rebuild), and the office does not know yet whether it ran before: it asks its parent office (or the county) whether they hold cases of it, and reads the node directory. It numbers no case until it knows, so that a number its lost data handed out is never handed out again (docs/OPERATIONS.md). Meanwhile the node, which leads a raft group of itself alone, also takes no case messages or scanned files from its neighbouring offices (Peer.DeliverCases, Peer.PushAttachment), serves no backup of the office (Peer.Backup, `yizhan backup`) and answers for none of its members (Peer.Members, `yizhan members`); it answers Peer.Progress so too, and a node of the office asking whether it runs the office does not take it for the leader. Found to run beside its office (its filings and Peer.Progress then answer OFFICE_RUNS_ELSEWHERE), it goes on refusing the mail, the backup and the members so. Nothing was done; send it again shortly, or to the office's next node (the mail's sender, `yizhan backup` and `yizhan members` do)",
		zh:      t("本办事点[（{office}）]刚在空的数据目录上启动，正在向上级办事点核实此前是否运行过，以免办件编号与已有办件重复；核实之前暂不受理新办件，本节点也暂不接收其他办事点转来的办件和材料、不提供本办事点的备份和成员名单，请稍后重试或改用本办事点的其他节点。")},

	// It may have been done: look first.
	{Reason: OutcomeUnknown, Code: codes.Aborted, Retry: RetryLook,
		Meaning: "the leader lost its leadership while the write was in flight: it may or may not have been applied. No node sends it on; look before sending it again",
		zh:      t("处理过程中主节点发生切换，无法确定操作是否已经生效。请先刷新查看结果，再决定是否重新提交。")},
	{Reason: DeadlineExceeded, Code: codes.DeadlineExceeded, Retry: RetryLook,
		Meaning: "the caller's deadline passed first; a write may still have been applied (a read is safe to ask again)",
		zh:      t("等待超时：操作可能已经生效，也可能没有。请先刷新查看结果，再决定是否重新提交。")},
	{Reason: Canceled, Code: codes.Canceled, Retry: RetryLook,
		Meaning: "the caller cancelled the request; a write may still have been applied",
		zh:      t("请求已取消：操作可能已经生效，也可能没有。请先刷新查看结果。")},

	// Held back: send again after the wait.
	{Reason: TooManyAttempts, Code: codes.ResourceExhausted, Retry: RetryAfter, Keys: []string{"what", "retryAfterSeconds"},
		Example: Meta{"what": "SIGN_IN", "retryAfterSeconds": "30"},
		Meaning: "too many wrong passwords for the account (what SIGN_IN) or wrong query codes for the case (QUERY_CODE) from this address; held back for the wait",
		zh: func(m Meta) string {
			if m["what"] == "QUERY_CODE" {
				return "查询码错误次数过多，请" + wait(m) + "再查。"
			}
			return "该账号密码错误次数过多，已暂时锁定，请" + wait(m) + "再试。"
		}},
	{Reason: TooManyFilings, Code: codes.ResourceExhausted, Retry: RetryAfter, Keys: []string{"retryAfterSeconds"}, Example: Meta{"retryAfterSeconds": "120"},
		Meaning: "too many online filings from this address",
		zh: func(m Meta) string {
			return "本地址网上申报过于频繁，请" + wait(m) + "再试，或到办事点现场申报。"
		}},
	{Reason: Busy, Code: codes.ResourceExhausted, Retry: RetryAfter, Keys: []string{"retryAfterSeconds"},
		Meaning: "too many sign-ins are being checked at once on this node",
		zh:      func(m Meta) string { return "同时登录的人太多，请" + wait(m) + "再试。" }},
	{Reason: ExportBusy, Code: codes.ResourceExhausted, Retry: RetryAfter, Keys: []string{"retryAfterSeconds"}, Example: Meta{"retryAfterSeconds": "30"},
		Meaning: "the node is building as many workbooks (exports) as it builds at once; each holds its sheets in memory",
		zh:      func(m Meta) string { return "正在生成的导出文件较多，请" + wait(m) + "再导出。" }},
	{Reason: WritesBusy, Code: codes.ResourceExhausted, Retry: RetryAfter, Keys: []string{"retryAfterSeconds"}, Example: Meta{"retryAfterSeconds": "1"},
		Meaning: "the node is serving as many writes as it serves at once, and as many more wait their turn; nothing was done",
		zh:      func(m Meta) string { return "正在办理的业务较多，请" + wait(m) + "再提交。" }},
	{Reason: ListingsBusy, Code: codes.ResourceExhausted, Retry: RetryAfter, Keys: []string{"retryAfterSeconds"}, Example: Meta{"retryAfterSeconds": "1"},
		Meaning: "the node is serving as many listings of cases as it holds at once (each counting its page's size), and as many more wait their turn",
		zh:      func(m Meta) string { return "正在查询办件列表的人较多，请" + wait(m) + "再查。" }},
	{Reason: StatsRecounting, Code: codes.Unavailable, Retry: RetryAfter, Keys: []string{"retryAfterSeconds"}, Example: Meta{"retryAfterSeconds": "30"},
		Meaning: "the node is counting its statistics again with this release's definitions (once, at the first write after an upgrade: about two minutes for a million cases); figures read meanwhile would be partial",
		zh: func(m Meta) string {
			return "系统升级后正在按新口径重新统计，统计数据暂不可查，请" + wait(m) + "再查。"
		}},
	{Reason: RegistryBehind, Code: codes.FailedPrecondition, Retry: RetryAfter, Keys: []string{"index", "minIndex"},
		Example: Meta{"index": "80", "minIndex": "81"},
		Meaning: "the node's registry is older than the min_index asked for; it catches up within seconds",
		zh:      t("本节点的目录尚未同步到所需的版本[（本节点 {index}，需要 {minIndex}）]，请稍后再试。")},

	{Reason: ClockOff, Code: codes.FailedPrecondition, Retry: RetryAfter, Keys: []string{"offsetMinutes", "countyTime", "nodeTime"},
		Example: Meta{"offsetMinutes": "525600", "countyTime": "2026-12-01 09:30", "nodeTime": "2025-12-01 09:30"},
		Meaning: "this node's clock is more than 5 minutes from the county's (its registry feed's heartbeats carry the county's time; before the first heartbeat, a clock reading more than 5 minutes before the registry's newest write, which the county stamped, is behind at least that much): every case, deadline, card and figure would be dated wrong for good, so the office writes nothing until an operator sets the node's clock right; reads go on. Nothing was done: send it again once the clock is right",
		zh:      t("本机时钟与县级时间相差[ {offsetMinutes} 分钟]（本机[ {nodeTime}]，县级[ {countyTime}]），为免办件日期、期限和统计出错，暂停办理。请管理员校准本机时间后再提交。")},

	// Refused.
	{Reason: InvalidArgument, Code: codes.InvalidArgument, Retry: RetryNo, Keys: []string{"field", "fieldReason", "violations"},
		Example: Meta{"field": "item.promised_limit_days", "fieldReason": PromisedExceedsStatutory, "violations": "1"},
		Meaning: "the input is not valid: a google.rpc.BadRequest names each field, with its reason and its zh-CN text; the metadata name the first",
		zh:      t("填写的内容有误[（{field}）]，请按提示修改后再提交。")},
	{Reason: NotFound, Code: codes.NotFound, Retry: RetryNo, Keys: []string{"kind", "code", "version"},
		Example: Meta{"kind": "item", "code": "450122-YC-001"},
		Meaning: "the office, department, item (version), grant or staff member named does not exist",
		zh: func(m Meta) string {
			if m["kind"] == "" {
				return "您要找的内容不存在。"
			}
			return fill("{kind}[“{code}”][第 {version} 版]不存在。", m)
		}},
	{Reason: CaseNotFound, Code: codes.NotFound, Retry: RetryNo,
		Meaning: "no case with this number and query code: one answer for an unknown number and a wrong code",
		zh:      t("没有找到该办件：请核对办件编号和查询码。")},
	{Reason: AlreadyExists, Code: codes.AlreadyExists, Retry: RetryNo, Keys: []string{"kind", "code"},
		Example: Meta{"kind": "department", "code": "yc"},
		Meaning: "a create named a key (office code, department code, item code, username) that is taken",
		zh: func(m Meta) string {
			if m["kind"] == "" {
				return "该编号已被占用。"
			}
			return fill("{kind}[“{code}”]已存在。", m)
		}},
	{Reason: Conflict, Code: codes.Aborted, Retry: RetryNo, Keys: []string{"kind", "code", "baseVersion", "currentVersion"},
		Example: Meta{"kind": "item", "code": "450122-YC-001", "baseVersion": "1", "currentVersion": "2"},
		Meaning: "someone else changed the record first (an item update based on an older version, a calendar written from an older read), or a case's events do not follow its log; read it again and decide",
		zh: func(m Meta) string {
			switch m["kind"] {
			case "item":
				return fill("事项[“{code}”]已被他人修改[（当前为第 {currentVersion} 版）]，请刷新后核对再提交。", m)
			case "calendar":
				return fill("[{code} 年的]工作日历已被他人修改，请刷新后核对再提交。", m)
			}
			return "数据已被他人修改，或与已保存的记录不一致，请刷新后核对再提交。"
		}},
	{Reason: RequestIDReused, Code: codes.Aborted, Retry: RetryNo,
		Meaning: "the request_id (Idempotency-Key) was used before for a different request; a new request needs a new id",
		zh:      t("该请求编号已用于另一份不同的请求，未做任何修改。新的请求请使用新的编号。")},
	{Reason: FailedPrecondition, Code: codes.FailedPrecondition, Retry: RetryNo,
		Meaning: "the request is well formed but the state does not allow it",
		zh:      t("当前状态下不能完成此操作。")},
	{Reason: OfficeRunsElsewhere, Code: codes.FailedPrecondition, Retry: RetryNo, Keys: []string{"node", "peerAddress"}, Example: Meta{"node": "dongcun-2", "peerAddress": "10.0.3.12:7070"},
		Meaning: "this node was started with --bootstrap on an empty data directory, which starts a new raft group of its office, while its office runs on other nodes (node, at peerAddress, leads it): two groups of one office would hand out the same case numbers, so this node files nothing. Stop it, empty its data directory and start it with --join naming the office's nodes (docs/OPERATIONS.md)",
		zh:      t("本节点以新建方式（--bootstrap）在空的数据目录上启动，而本办事点仍在其他节点[（{node}）]上运行：同一办事点的两套数据会产生重复的办件编号，本节点因此不受理办件。请管理员停止本节点，清空其数据目录后以 --join 加入本办事点。")},
	{Reason: AlreadyRevoked, Code: codes.FailedPrecondition, Retry: RetryNo, Keys: []string{"code"}, Example: Meta{"code": "g-17"},
		Meaning: "the grant is revoked already",
		zh:      t("该授权[（{code}）]已经撤销。")},
	{Reason: ReportInHand, Code: codes.FailedPrecondition, Retry: RetryNo, Keys: []string{"id"}, Example: Meta{"id": "BG-450122101203-20261201-ABCDEF"},
		Meaning: "a zero report (nothing happened) while the office has a first report written or signed that day",
		zh:      t("本单位今日已有紧急信息首报[（{id}）]，不能报送零报告。")},
	{Reason: CaseState, Code: codes.FailedPrecondition, Retry: RetryNo, Keys: []string{"state", "action", "event", "rule", "suspended"},
		Example: Meta{"state": "CASE_STATE_ACCEPTED", "action": "certify", "event": "EVENT_TYPE_CERTIFIED", "rule": "STATE"},
		Meaning: "the case's state does not allow the action: the state, the action, its event and the rule of casework's rule table that refused it (suspended when the case is suspended)",
		zh: func(m Meta) string {
			if t, ok := caseRuleZH[m["rule"]]; ok {
				return t
			}
			switch {
			case m["suspended"] == "true":
				return "办件已中止，请先恢复办理。"
			case m["state"] == "":
				return "办件当前的状态不能办理此操作。"
			case m["action"] == "":
				return fill("办件当前为“{state}”，不能办理此操作。", m)
			}
			return fill("办件当前为“{state}”，不能{action}。", m)
		}},
	{Reason: AlreadyRated, Code: codes.FailedPrecondition, Retry: RetryNo,
		Meaning: "the case has been rated already: one rating per case",
		zh:      t("此办件已经评价过，每件只能评价一次。")},
	{Reason: QueryCodeSuperseded, Code: codes.FailedPrecondition, Retry: RetryNo, Keys: []string{"number", "seq"},
		Example: Meta{"number": "450122101203-20260105-0001", "seq": "7"},
		Meaning: "a query-code reissue sent again under its request_id after a later reissue of the case (event seq) replaced its code: that code opens nothing, and is not handed out again. The case's code is the later reissue's; for a new one, reissue again under a new request_id",
		zh:      t("该查询码[（办件 {number}）]已被之后再次补发的查询码取代，不能再使用；如需新的查询码，请重新补发。")},
	{Reason: CaseHeldElsewhere, Code: codes.FailedPrecondition, Retry: RetryNo, Keys: []string{"number", "owner", "office"},
		Example: Meta{"number": "450122101203-20260105-0001", "owner": "450122000000", "office": "450122101203"},
		Meaning: "another office holds the case now; only the office holding it acts on it",
		zh:      t("该办件目前[由办事点 {owner} ]办理，本办事点不能办理此操作。")},
	{Reason: NoRoute, Code: codes.FailedPrecondition, Retry: RetryNo, Keys: []string{"origin", "item", "right"},
		Example: Meta{"origin": "450122101203", "item": "450122-YC-001", "right": "RIGHT_APPROVE"},
		Meaning: "no office on the path from the filing office to the county holds a right the item's procedure needs",
		zh:      t("从本办事点到县级，没有办事点拥有该事项[的“{right}”]权限，暂不能申请。")},
	{Reason: Unauthenticated, Code: codes.Unauthenticated, Retry: RetryNo,
		Meaning: "no token, or one that is malformed, expired, forged or for an account that is disabled; sign in again",
		zh:      t("请先登录（登录已过期或无效）。")},
	{Reason: WrongCredentials, Code: codes.Unauthenticated, Retry: RetryNo,
		Meaning: "wrong username or password: one answer for both",
		zh:      t("用户名或密码错误。")},
	{Reason: PasswordChange, Code: codes.Unauthenticated, Retry: RetryNo,
		Meaning: "the password was set by an admin (a reset): change it (ChangePassword, with it) before signing in",
		zh:      t("密码已由管理员重置，请先修改密码再登录。")},
	{Reason: PermissionDenied, Code: codes.PermissionDenied, Retry: RetryNo,
		Meaning: "the staff member may not do this (another office's records, a county admin's task)",
		zh:      t("无权限：您的账号不能执行此操作。")},
	{Reason: WrongRole, Code: codes.PermissionDenied, Retry: RetryNo, Keys: []string{"action", "roles", "rule"},
		Example: Meta{"action": "decide", "roles": "ROLE_APPROVER"},
		Meaning: "the staff member's roles do not include one the action needs",
		zh: func(m Meta) string {
			if t, ok := caseRuleZH[m["rule"]]; ok {
				return t
			}
			if m["action"] == "" {
				return "无权限：您的岗位不能办理此操作。"
			}
			return fill("无权限：您的岗位不能办理“{action}”。", m)
		}},
	{Reason: NoRightForItem, Code: codes.PermissionDenied, Retry: RetryNo, Keys: []string{"office", "item", "right"},
		Example: Meta{"office": "450122101203", "item": "450122-YC-001", "right": "RIGHT_ACCEPT"},
		Meaning: "the office holds no grant of the right for the item at this time",
		zh:      t("无权限：[办事点 {office} ]没有[事项 {item} 的]办理权限[（{right}）]。")},
	{Reason: NotOnPath, Code: codes.PermissionDenied, Retry: RetryNo, Keys: []string{"number", "office"},
		Example: Meta{"number": "450122101203-20260105-0001", "office": "450122102000"},
		Meaning: "the case does not pass through the staff member's office",
		zh:      t("无权限：该办件不在本办事点的办理范围内。")},
	{Reason: CitizenOnly, Code: codes.PermissionDenied, Retry: RetryNo, Keys: []string{"action"}, Example: Meta{"action": "rate"},
		Meaning: "the citizen rates and complains, with the case's query code; staff may not",
		zh:      t("评价和投诉由申请人凭查询码提交，工作人员不能代为提交。")},
	{Reason: ScanQuota, Code: codes.ResourceExhausted, Retry: RetryNo, Keys: []string{"office", "heldMiB", "limitMiB", "heldBytes", "limitBytes", "files"},
		Example: Meta{"office": "450122101203", "heldMiB": "250.3", "limitMiB": "256.0", "heldBytes": "262459392", "limitBytes": "268435456", "files": "31"},
		Meaning: "an upload of a new scan, or of a scan held whole sent again (a claim, a mending), would take the scans no case names yet that the staff of the office hold at this office past its quota (the node's --scan-quota-mib, 256 MiB unless set; docs/LIMITS.md): nothing of it is kept. File the cases that name the scans held; one never named is dropped a day after its first part",
		zh:      t("本办事点已上传但尚未用于办件的扫描件已达上限[（已有 {heldMiB} MB，上限 {limitMiB} MB）]，本文件未保存。请先提交用到这些扫描件的申请；未用于办件的扫描件在上传一天后自动清除。")},
	{Reason: AttachmentDamaged, Code: codes.DataLoss, Retry: RetryNo, Keys: []string{"file"}, Example: Meta{"file": "9f86d081884c"},
		Meaning: "the copy of a scanned file stored on this node is damaged (a disk fault, a mistake on the machine): its bytes no longer hash to its name (file: the SHA-256's first 12 characters), so it is neither shown nor sent up. Staff of the office that uploaded it upload the same file again, which mends the stored copy; the office above holds a sound copy once it was sent (docs/OPERATIONS.md)",
		zh:      t("扫描件[（{file}）]在本节点保存的副本已损坏，无法查看或上报。请重新上传同一文件以修复，或联系管理员。")},
	{Reason: CaseDamaged, Code: codes.DataLoss, Retry: RetryNo, Keys: []string{"number"}, Example: Meta{"number": "450122101203-20260105-0001"},
		Meaning: "this node's copy of the case is damaged (its record without all its events: a disk fault, a mistake on the machine), so the case is neither shown nor acted on here; the office's other nodes, and the offices that hold it, are not affected. The operator rebuilds this node from its office or restores it from a backup (docs/OPERATIONS.md, \"A node that stops: the case book on disk is damaged\")",
		zh:      t("本节点保存的办件[ {number} ]记录已损坏，暂时无法查看或办理。请联系系统运维人员修复本节点。")},
	{Reason: Internal, Code: codes.Internal, Retry: RetryNo,
		Meaning: "a fault of the node (logged there); not the request's",
		zh:      t("处理您的请求时出错，请稍后再试。")},

	// Field reasons: in a BadRequest.FieldViolation of an INVALID_ARGUMENT.
	{Reason: Required, Field: true, Keys: []string{"input", "rating"}, Example: Meta{},
		Meaning: "a required field is empty (input: choice for a selection, list for a list that needs an entry; rating: the bad rating that needs a comment)",
		zh: func(m Meta) string {
			switch {
			case m["rating"] != "":
				return "必填：请写明哪里不满意，以便跟进整改"
			case m["input"] == "choice":
				return "请选择"
			case m["input"] == "list":
				return "请至少选择一项"
			}
			return "必填"
		}},
	{Reason: TooLong, Field: true, Keys: []string{"max", "got"}, Example: Meta{"max": "200", "got": "201"},
		Meaning: "more characters than the field may have",
		zh:      either("max", "最多 {max} 个字[（现为 {got} 个）]", "太长了")},
	{Reason: TooShort, Field: true, Keys: []string{"min"}, Example: Meta{"min": "8"},
		Meaning: "fewer characters than the field needs (a password); or a part of a scanned file (data) smaller than 32 KiB that is not the file's last",
		zh:      either("min", "至少需要 {min} 个字符", "太短了")},
	{Reason: TooMany, Field: true, Keys: []string{"max", "got", "kind"}, Example: Meta{"max": "100", "got": "101"},
		Meaning: "more entries than the list may have (kind complaints: the case has had the most complaints one case takes)",
		zh: func(m Meta) string {
			if m["kind"] == "complaints" {
				return fill("该办件已有[ {got} 次]投诉，已达上限", m)
			}
			return either("max", "最多 {max} 项[（现为 {got} 项）]", "太多了")(m)
		}},
	{Reason: OutOfRange, Field: true, Keys: []string{"min", "max", "got", "unit", "enum"}, Example: Meta{"min": "0", "max": "100", "got": "101"},
		Meaning: "a number outside its range, or an enum value that is not declared (enum)",
		zh: func(m Meta) string {
			switch {
			case m["enum"] != "":
				return "不是有效的选项"
			case m["unit"] == "workingDays":
				return fill("须为[ {min} 至 {max} ]个工作日", m)
			case m["min"] == "0" && m["got"] != "" && strings.HasPrefix(m["got"], "-"):
				return "不能为负数"
			case m["min"] != "" && m["max"] != "" && m["got"] != "":
				return fill("须在 {min} 至 {max} 之间（现为 {got}）", m)
			case m["max"] != "":
				return fill("不能超过 {max}[（现为 {got}）]", m)
			}
			return "超出允许的范围"
		}},
	{Reason: ControlCharacter, Field: true, Keys: []string{"position", "multiline"}, Example: Meta{"position": "2"},
		Meaning: "a control character (multi-line text may hold line breaks and tabs)",
		zh: func(m Meta) string {
			if m["multiline"] == "true" {
				return fill("除换行和制表符外不能包含控制字符[（第 {position} 个字）]", m)
			}
			return fill("不能包含控制字符[（第 {position} 个字）]", m)
		}},
	{Reason: InvalidUTF8, Field: true,
		Meaning: "text that is not valid UTF-8",
		zh:      t("含有无效的字符编码（须为 UTF-8 文本）")},
	{Reason: TooLarge, Code: codes.InvalidArgument, Field: true, Keys: []string{"bytes", "max"}, Example: Meta{"bytes": "300000", "max": "262144"},
		Meaning: "the whole registry command or case event is too large encoded (the field violation names its largest field); also of a whole raft entry",
		zh:      t("内容过多[（共 {bytes} 字节，最多 {max} 字节）]，请删减")},
	{Reason: InvalidFormat, Field: true, Keys: []string{"format", "part", "got"}, Example: Meta{"format": "DATE"},
		Meaning: "not of the field's form (format: DIVISION_CODE, DEPARTMENT_CODE, ITEM_CODE, USERNAME, DATE, TIMESTAMP, HOST_PORT, PORT, CASE_NUMBER, PAGE_TOKEN, PHONE, MOBILE, CONTACT_PHONE (a number others call: a service number or 400/800 number too), REQUEST_ID, QUEUE_ONLY (a filter of the queue alone), CREDIT_CODE (GB 32100: 18 digits or capitals but I, O, Z, S, V), REGISTRY_KIND (a kind of the audit trail's records), ID_NUMBER with part LENGTH, DIGITS, LAST, PROVINCE, BIRTH_DATE)",
		zh: func(m Meta) string {
			if m["format"] == "ID_NUMBER" {
				if s, ok := idPartZH[m["part"]]; ok {
					return fill(s, m)
				}
				return "身份证号格式有误"
			}
			if s, ok := formatZH[m["format"]]; ok {
				return s
			}
			return "格式有误"
		}},
	{Reason: IDNumberChecksum, Field: true,
		Meaning: "an ID number's check character does not match the other 17: it is mistyped",
		zh:      t("身份证号校验位不符，号码可能输错了")},
	{Reason: AttachmentType, Field: true, Keys: []string{"got", "want"}, Example: Meta{"got": "", "want": "application/pdf"},
		Meaning: "a scanned file is not a PDF, JPEG or PNG, or its content is not the type it says (the content decides, not the name)",
		zh:      t("扫描件须为 PDF、JPG 或 PNG 文件，且内容与文件类型一致")},
	{Reason: AttachmentMissing, Field: true, Keys: []string{"sha256"}, Example: Meta{"sha256": "9f86d081…"},
		Meaning: "a filing or resubmission names a scanned file this office does not hold whole, or whose copy here is damaged (the description says so): upload it first (UploadAttachment; an upload of a file whose copy is damaged mends it)",
		zh:      t("扫描件尚未上传完整或已损坏，请重新上传文件")},
	{Reason: AttachmentHash, Field: true,
		Meaning: "an uploaded file's content does not hash to the sha256 it was uploaded under: nothing of it is kept",
		zh:      t("上传的文件内容与其摘要不符，文件未保存，请重新上传")},
	{Reason: CreditCodeChecksum, Field: true,
		Meaning: "a unified social credit code's check character does not match the other 17 (GB 32100): it is mistyped",
		zh:      t("统一社会信用代码校验位不符，代码可能输错了")},
	{Reason: PromisedExceedsStatutory, Field: true, Keys: []string{"promised", "statutory"}, Example: Meta{"promised": "8", "statutory": "5"},
		Meaning: "an item's promised limit (承诺时限) is above its statutory limit (法定时限)",
		zh:      t("承诺时限不能超过法定时限[（承诺 {promised} 个工作日 > 法定 {statutory} 个工作日）]")},
	{Reason: StatutoryLimitRequired, Field: true,
		Meaning: "an item that is not immediate (即办件) needs a statutory limit of at least 1 working day",
		zh:      t("除即办件外，法定时限至少为 1 个工作日")},
	{Reason: NoStatutoryLimit, Field: true, Keys: []string{"item"},
		Meaning: "an extension asked for an immediate item, which has no statutory limit to extend",
		zh:      t("即办件没有可延长的法定时限")},
	{Reason: OfficeNotFound, Field: true, Keys: []string{"code"}, Example: Meta{"code": "450122109000"},
		Meaning: "the office named does not exist",
		zh:      t("办事点[“{code}”]不存在")},
	{Reason: DepartmentNotFound, Field: true, Keys: []string{"code"}, Example: Meta{"code": "xx"},
		Meaning: "the department named does not exist",
		zh:      t("部门[“{code}”]不存在")},
	{Reason: ItemNotFound, Field: true, Keys: []string{"code"}, Example: Meta{"code": "450122-XX-001"},
		Meaning: "the item named is not in the catalogue",
		zh:      t("事项[“{code}”]不存在")},
	{Reason: ItemRetired, Field: true, Keys: []string{"code"}, Example: Meta{"code": "450122-XX-001"},
		Meaning: "the item is retired (废止): it takes no new filings; cases filed before go on",
		zh:      t("事项[“{code}”]已废止，不再受理新的申请")},
	{Reason: NotAMaterial, Field: true, Keys: []string{"material", "item", "version"}, Example: Meta{"material": "户口本", "item": "450122-YC-001", "version": "2"},
		Meaning: "a material the item's version does not list",
		zh:      t("[“{material}”]不是该事项的申请材料")},
	{Reason: NotASpecialProcedure, Field: true, Keys: []string{"procedure", "item", "version"},
		Meaning: "a special procedure the item's version does not list",
		zh:      t("[“{procedure}”]不是该事项的特别程序")},
	{Reason: Duplicate, Field: true, Keys: []string{"index"}, Example: Meta{"index": "0"},
		Meaning: "an entry repeats an earlier one of the list (index)",
		zh:      t("与前面的重复")},
	{Reason: LeadAsCoDepartment, Field: true, Keys: []string{"code"},
		Meaning: "a co-department that is the item's lead department",
		zh:      t("协办部门不能是主办部门")},
	{Reason: CoDepartmentRequired, Field: true,
		Meaning: "a joint item (联办件) without a co-department",
		zh:      t("联办件至少需要一个协办部门")},
	{Reason: OfficeAndTier, Field: true,
		Meaning: "a grant names an office and a tier; it names one or the other",
		zh:      t("授权对象只能是一个办事点或一个层级")},
	{Reason: NotAfterValidFrom, Field: true, Keys: []string{"validFrom"},
		Meaning: "a grant's end is not after its start",
		zh:      t("截止日期须晚于起始日期")},
	{Reason: WrongParent, Field: true, Keys: []string{"want"}, Example: Meta{"want": "450122101000"},
		Meaning: "an office's parent is not the one its code names (a county has none)",
		zh: func(m Meta) string {
			if m["want"] == "" {
				return "县级办事点没有上级，请留空"
			}
			return fill("上级办事点须为 {want}（由代码推出）", m)
		}},
	{Reason: CountyExists, Field: true, Keys: []string{"county"},
		Meaning: "the registry has its county already and holds one only",
		zh:      t("已有县级办事点[ {county}]，只能有一个")},
	{Reason: CountyFirst, Field: true,
		Meaning: "the first office must be the county (a code ending in 000000)",
		zh:      t("第一个办事点须为县级（代码以 000000 结尾）")},
	{Reason: DateNotInYear, Field: true, Keys: []string{"date", "year"}, Example: Meta{"date": "2027-01-01", "year": "2026"},
		Meaning: "a calendar day outside the calendar's year",
		zh:      either("year", "[{date} ]不在 {year} 年内", "不在日历的年份内")},
	{Reason: WorkdayNotOnWeekend, Field: true, Keys: []string{"date", "weekday"}, Example: Meta{"date": "2026-10-08", "weekday": "Thursday"},
		Meaning: "a swapped workday (调休上班) that is not a Saturday or Sunday",
		zh:      t("[{date} 是{weekday}：]调休上班日必须是周六或周日")},
	{Reason: HolidayOnWeekend, Field: true, Keys: []string{"date", "weekday"}, Example: Meta{"date": "2026-10-03", "weekday": "Saturday"},
		Meaning: "a holiday on a Saturday or Sunday, which are off anyway",
		zh:      t("[{date} 是{weekday}，]本来就休息：节假日须在周一至周五")},
	{Reason: FeeMismatch, Field: true, Keys: []string{"fee", "got"}, Example: Meta{"fee": "5000", "got": "500"},
		Meaning: "a payment that is not the assessed fee",
		zh:      t("须与核定的收费金额一致[（{fee} 分）]")},
	{Reason: WrongOffice, Field: true, Keys: []string{"office", "want"}, Example: Meta{"office": "450122101203", "want": "450122101204"},
		Meaning: "the request names another office than the one this node serves, or a case number of another office",
		zh:      either("want", "本节点属于办事点[ {office}]，请到办事点 {want} 办理", "不属于本办事点，请到相应的办事点办理")},
	{Reason: UnknownField, Field: true, Keys: []string{"path"}, Example: Meta{"path": "colour"},
		Meaning: "an update_mask path, or a key of a REST body, that is not a field of the request; or a field of a gRPC request that this node's release does not know (a later release's: path ends in its number)",
		zh:      t("[“{path}”]不是该请求中的字段")},
	{Reason: ImmutableField, Field: true, Keys: []string{"path"}, Example: Meta{"path": "code"},
		Meaning: "an update_mask path of a field that cannot be changed",
		zh:      t("[“{path}”]不能修改")},
	{Reason: Mismatch, Field: true, Keys: []string{"want"},
		Meaning: "the field disagrees with another part of the request (the path, the staff member)",
		zh:      t("与请求中的其他内容不一致")},
	{Reason: InvalidValue, Field: true,
		Meaning: "any other problem with the field (the description says which)",
		zh:      t("填写的内容不符合要求")},
	{Reason: RecordNotFound, Field: true, Keys: []string{"id"}, Example: Meta{"id": "BG-450122101203-20261201-ABCDEF"},
		Meaning: "the urgent report or duty log entry named is not one of this office's",
		zh:      t("本单位没有[编号为“{id}”的]这份报告或记录，请核对编号")},
	{Reason: StaffNotFound, Field: true, Keys: []string{"username"}, Example: Meta{"username": "dc-duty"},
		Meaning: "the staff member named does not exist, or the account is disabled",
		zh:      t("没有[用户名为“{username}”的]工作人员，或其账号已停用")},
	{Reason: StaffLacksRole, Field: true, Keys: []string{"username", "role"}, Example: Meta{"username": "dc-clerk", "role": "带班领导"},
		Meaning: "the staff member named lacks the role the field asks for (a shift's leader must be a 带班领导)",
		zh:      either("role", "[“{username}”]不是{role}", "该工作人员没有所需的角色")},
	{Reason: NotOnShift, Field: true, Keys: []string{"username"}, Example: Meta{"username": "dc-duty"},
		Meaning: "the staff member named is not on the shift",
		zh:      t("[“{username}”]不在该班次上")},
}

func init() {
	for i := range defs {
		if defs[i].Field && defs[i].Code == codes.OK {
			defs[i].Code = codes.InvalidArgument
		}
	}
}

// caseRuleZH are the messages of the case rules that say more than the
// state (casework's rule table: the law's rules).
var caseRuleZH = map[string]string{
	"MATERIALS_MISSING":     "申请材料不齐全，不能受理：请一次性告知申请人需要补正的全部材料（《行政许可法》第三十二条）。",
	"NOTICE_GIVEN":          "补正告知只能一次性发出，此办件已经告知过：请受理或不予受理。",
	"NO_FEE_STANDARD":       "该事项没有法定收费标准，不得收费（《行政许可法》第五十八条）。",
	"FEE_ASSESSED":          "此办件已核定收费，每件只核定一次。",
	"NO_FEE":                "此办件没有应缴的费用（不予受理、不予许可的不收费）。",
	"SAME_PERSON":           "受理或审核此办件的人员不能再作出审批决定（审批与受理、审核分离）。",
	"DISSENT":               "协办部门有“不同意”的意见，不能准予：请协调后由该部门重新出具意见，或作出不予决定。",
	"NOT_ITS_DEPARTMENT":    "此事项由其他部门办理：县政务服务中心各部门窗口只能办理本部门的事项。",
	"NOT_THE_FILING_OFFICE": "查询码只能由收件的办事点核验申请人身份后补发。",
	"EXTENDED_ALREADY":      "此办件已经延期一次，每件只能延期一次（《行政许可法》第四十二条）。",
	"EXTENSION_TOO_LATE":    "法定办理期限已届满，不能再延期：延期须在法定期限内决定（《行政许可法》第四十二条）。",
}
