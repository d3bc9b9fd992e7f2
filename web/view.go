package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/duty"
)

// view is what every page's template gets: the layout's parts and the
// page's own data.
type view struct {
	Title    string
	Section  string // the main navigation entry: "home", "catalogue", "admin"
	AdminTab string // the admin sub-navigation entry
	Flash    string // a confirmation after a form was saved
	Errs     formErrors
	Meta     *yizhanv1.ReadMeta // how fresh the registry read was
	Data     any
	NoStore  bool // the page holds something not to keep (a query code)

	// Filled by render.
	Here        *yizhanv1.Office // this node's office
	Node        string
	User        *yizhanv1.StaffMember
	UserOffice  string // the signed-in staff member's office name
	Admin       bool   // may open the admin pages
	CountyAdmin bool   // may change the registry
	CSRF        string
	CasesOn     bool // the case service is there: show the case pages
	DutyOn      bool // the duty service is there and the staff member works on duty (or oversees it): show the duty page
	// formSeed makes the request IDs of the page's forms (FormID).
	formSeed string
}

// FormID is the request ID (request_id) of the page's form that parts
// name: its action, and for a form of many on the page (one a row) the
// row ("answer", .Id). A form sent twice (a double click, a reload after
// a lost answer) is one write. Each form of a page has its own: the API
// refuses an ID sent again with another body (REQUEST_ID_REUSED), so a
// rating whose answer was lost must not share its ID with the complaint
// sent next from the same page. The IDs come from the page's seed, which
// every ID carries: a page shown again after a post gives each form the
// ID it had (fillView).
func (v *view) FormID(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprint(h, p)
		h.Write([]byte{0})
	}
	return "web-" + v.formSeed + "-" + hex.EncodeToString(h.Sum(nil)[:formKeyBytes])
}

// formKeyBytes is how much of the hash of a form's name its request ID
// carries: web-<seed, 32 hex>-<12 hex> is 49 characters, within the 64
// a request ID may have.
const formKeyBytes = 6

// formIDPattern is a request ID FormID made; its group is the seed.
var formIDPattern = regexp.MustCompile(`^web-([0-9a-f]{32})-[0-9a-f]{12}$`)

func (s *server) fillView(rq *request, v *view) {
	v.Node = s.cfg.Node
	v.CasesOn = s.cfg.Cases != nil
	v.DutyOn = s.cfg.Duty != nil && slices.ContainsFunc(rq.staff().GetRoles(), func(r yizhanv1.Role) bool {
		return r == yizhanv1.Role_ROLE_DUTY_OFFICER || r == yizhanv1.Role_ROLE_DUTY_LEADER || r == yizhanv1.Role_ROLE_ADMIN || r == yizhanv1.Role_ROLE_SUPERVISOR
	})
	v.Here = s.officeOrCode(rq, s.cfg.Office)
	if st := rq.staff(); st != nil {
		v.User = st
		v.UserOffice = s.officeOrCode(rq, st.GetOfficeCode()).GetName()
		v.Admin = isAdmin(st)
		v.CountyAdmin = isCountyAdmin(st)
	}
	if rq.csrf != "" || rq.pre != "" {
		v.CSRF = s.formCSRF(rq)
	}
	// A page shown again after a form's post (an error, an unknown
	// outcome) keeps the seed the posted ID carries: each of its forms
	// has the ID it had, so the form sent again is the same write, and
	// another form of the page does not take the posted one's ID. The page
	// after a form that only reads (rq.reads: a search, tracking a case)
	// starts new writes.
	v.formSeed = ""
	if rq.r.Method == http.MethodPost && rq.r.PostForm != nil && !rq.reads {
		if m := formIDPattern.FindStringSubmatch(rq.r.PostForm.Get("request_id")); m != nil {
			v.formSeed = m[1]
		}
	}
	if v.formSeed == "" {
		v.formSeed = newFormSeed()
	}
}

// officeOrCode is the office from the registry, or one that only has its
// code when the registry does not hold it (yet).
func (s *server) officeOrCode(rq *request, code string) *yizhanv1.Office {
	resp, err := s.cfg.Registry.GetOffice(rq.r.Context(), &yizhanv1.GetOfficeRequest{Code: code})
	if err != nil {
		return &yizhanv1.Office{Code: code, Name: code}
	}
	return resp.GetOffice()
}

func isAdmin(st *yizhanv1.StaffMember) bool {
	return slices.Contains(st.GetRoles(), yizhanv1.Role_ROLE_ADMIN)
}

// isCountyAdmin mirrors the API's rule for registry writes (an admin of
// the county office); the API still decides.
func isCountyAdmin(st *yizhanv1.StaffMember) bool {
	return isAdmin(st) && st.GetOfficeCode() == countyOf(st.GetOfficeCode())
}

// countyOf is the county office code of a 12-digit division code.
func countyOf(code string) string {
	if len(code) != 12 {
		return code
	}
	return code[:6] + "000000"
}

// china is the time zone the UI shows and reads dates in (China has no
// daylight saving time).
var china = time.FixedZone("CST", 8*3600)

func funcs(cssHash string) template.FuncMap {
	return template.FuncMap{
		"cssURL":     func() string { return "/static/style.css?v=" + cssHash },
		"tierName":   tierName,
		"itemType":   func(t yizhanv1.ItemType) string { return itemTypeNames[t] },
		"caseKind":   func(k yizhanv1.CaseKind) string { return caseKindNames[k] },
		"formName":   func(f yizhanv1.MaterialForm) string { return materialFormNames[f] },
		"rightName":  func(r yizhanv1.Right) string { return rightNames[r] },
		"rightNames": rightList,
		"roleNames":  roleList,
		"dayKind":    func(k yizhanv1.DayKind) string { return dayKindNames[k] },
		"days":       limitDays,
		"yuan":       yuan,
		"date":       dateOf,
		"datetime":   datetimeOf,
		"ago":        ago,
		"pct":        percent,
		"dict":       dict,
		"join":       strings.Join,
		"add":        func(a, b int) int { return a + b },
		"fieldName":  func(prefix string, i int, name string) string { return fmt.Sprintf("%s[%d].%s", prefix, i, name) },
		"itoa":       func(i int32) string { return fmt.Sprint(i) },
		"fid":        fieldID,
		"caseState":  func(st yizhanv1.CaseState) string { return caseStateNames[st] },
		"fileSize":   fileSize,
		"enums": func(kind string) []option {
			return enumOptions[kind]
		},
	}
}

// option is one choice of a select.
type option struct {
	Value int32
	Label string
}

// numbered are the options 1 to n, each named by name.
func numbered(n int32, name func(int32) string) []option {
	out := make([]option, 0, n)
	for v := int32(1); v <= n; v++ {
		out = append(out, option{v, name(v)})
	}
	return out
}

var enumOptions = map[string][]option{
	"type":  {{1, "行政许可"}, {4, "行政确认"}, {5, "行政给付"}, {6, "行政裁决"}, {7, "行政奖励"}, {8, "其他行政权力"}, {3, "公共服务"}},
	"kind":  {{1, "即办件"}, {2, "承诺件"}, {3, "联办件"}, {4, "上报件"}},
	"tier":  {{1, "县级"}, {2, "乡镇级"}, {3, "村级"}},
	"form":  {{1, "原件"}, {2, "复印件"}, {3, "原件及复印件"}, {4, "电子材料"}},
	"right": {{1, "受理"}, {2, "审核"}, {3, "审批"}, {4, "制证"}, {5, "送达"}, {6, "代办"}},
	"role":  {{1, "代办员"}, {2, "窗口工作人员"}, {3, "审核人"}, {4, "审批人"}, {5, "管理员"}, {6, "监察员"}, {7, "值班员"}, {8, "带班领导"}, {9, "综合窗口"}, {10, "部门负责人"}},
	// Urgent reports (duty).
	"category": numbered(5, func(v int32) string { return duty.CategoryName(yizhanv1.IncidentCategory(v)) }),
	"level":    numbered(4, func(v int32) string { return duty.LevelName(yizhanv1.IncidentLevel(v)) }),
	"day":      {{1, "节假日（休）"}, {2, "调休上班"}},
}

var (
	tierNames = map[yizhanv1.Tier]string{
		yizhanv1.Tier_TIER_COUNTY: "县级", yizhanv1.Tier_TIER_TOWNSHIP: "乡镇级", yizhanv1.Tier_TIER_VILLAGE: "村级",
	}
	itemTypeNames = map[yizhanv1.ItemType]string{
		yizhanv1.ItemType_ITEM_TYPE_LICENCE: "行政许可", yizhanv1.ItemType_ITEM_TYPE_NON_LICENCE: "非行政许可审批",
		yizhanv1.ItemType_ITEM_TYPE_PUBLIC_SERVICE: "公共服务", yizhanv1.ItemType_ITEM_TYPE_CONFIRMATION: "行政确认",
		yizhanv1.ItemType_ITEM_TYPE_BENEFIT: "行政给付", yizhanv1.ItemType_ITEM_TYPE_ADJUDICATION: "行政裁决",
		yizhanv1.ItemType_ITEM_TYPE_AWARD: "行政奖励", yizhanv1.ItemType_ITEM_TYPE_OTHER_POWER: "其他行政权力",
	}
	caseKindNames = map[yizhanv1.CaseKind]string{
		yizhanv1.CaseKind_CASE_KIND_IMMEDIATE: "即办件", yizhanv1.CaseKind_CASE_KIND_PROMISED: "承诺件",
		yizhanv1.CaseKind_CASE_KIND_JOINT: "联办件", yizhanv1.CaseKind_CASE_KIND_REPORTED: "上报件",
	}
	materialFormNames = map[yizhanv1.MaterialForm]string{
		yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL: "原件", yizhanv1.MaterialForm_MATERIAL_FORM_COPY: "复印件",
		yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL_AND_COPY: "原件及复印件", yizhanv1.MaterialForm_MATERIAL_FORM_ELECTRONIC: "电子材料",
	}
	rightNames = map[yizhanv1.Right]string{
		yizhanv1.Right_RIGHT_ACCEPT: "受理", yizhanv1.Right_RIGHT_REVIEW: "审核", yizhanv1.Right_RIGHT_APPROVE: "审批",
		yizhanv1.Right_RIGHT_CERTIFY: "制证", yizhanv1.Right_RIGHT_DELIVER: "送达", yizhanv1.Right_RIGHT_PROXY_FILE: "代办",
	}
	roleNames = map[yizhanv1.Role]string{
		yizhanv1.Role_ROLE_AGENT: "代办员", yizhanv1.Role_ROLE_CLERK: "窗口工作人员", yizhanv1.Role_ROLE_REVIEWER: "审核人",
		yizhanv1.Role_ROLE_APPROVER: "审批人", yizhanv1.Role_ROLE_ADMIN: "管理员", yizhanv1.Role_ROLE_SUPERVISOR: "监察员",
		yizhanv1.Role_ROLE_DUTY_OFFICER: "值班员", yizhanv1.Role_ROLE_DUTY_LEADER: "带班领导",
		yizhanv1.Role_ROLE_WINDOW: "综合窗口", yizhanv1.Role_ROLE_DEPARTMENT_HEAD: "部门负责人",
	}
	dayKindNames = map[yizhanv1.DayKind]string{
		yizhanv1.DayKind_DAY_KIND_HOLIDAY: "休", yizhanv1.DayKind_DAY_KIND_WORKDAY: "班",
	}
)

// decisionWords are the words of a decision for a type of item
// (casework.WordsOf): 准予/不予行政许可 for licences alone.
type decisionWords = casework.DecisionWords

// wordsFor returns the decision words of an item type.
func wordsFor(t yizhanv1.ItemType) decisionWords { return casework.WordsOf(t) }

// stateName names a case's state in the words of its item's type: the
// decided states say what was decided (准予行政许可, 不予确认 …).
func stateName(st yizhanv1.CaseState, t yizhanv1.ItemType) string {
	switch st {
	case yizhanv1.CaseState_CASE_STATE_APPROVED:
		return wordsFor(t).Yes
	case yizhanv1.CaseState_CASE_STATE_DENIED:
		return wordsFor(t).No
	}
	return caseStateNames[st]
}

func tierName(t yizhanv1.Tier) string { return tierNames[t] }

// fileSize says a file's size as staff read it: 1.5 MB, 320 KB.
func fileSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d 字节", n)
}

func rightList(rs []yizhanv1.Right) string {
	names := make([]string, 0, len(rs))
	for _, r := range rs {
		names = append(names, rightNames[r])
	}
	return strings.Join(names, "、")
}

func roleList(rs []yizhanv1.Role) string {
	names := make([]string, 0, len(rs))
	for _, r := range rs {
		names = append(names, roleNames[r])
	}
	return strings.Join(names, "、")
}

// limitDays is a time limit in working days; 0 means decided on the spot.
func limitDays(n int32) string {
	if n == 0 {
		return "即办（当场办结）"
	}
	return fmt.Sprintf("%d 个工作日", n)
}

func yuan(fen int64) string {
	if fen == 0 {
		return "不收费"
	}
	return fmt.Sprintf("%d.%02d 元", fen/100, fen%100)
}

func dateOf(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().In(china).Format("2006-01-02")
}

func datetimeOf(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().In(china).Format("2006-01-02 15:04")
}

// ago is a number of seconds as a short Chinese duration.
func ago(sec float64) string {
	return humanDuration(time.Duration(sec * float64(time.Second)))
}

// dict builds a map for a sub-template from key, value pairs.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// fieldID makes a form field's name usable in an id ("materials[0].name"
// → "materials-0--name"; other than ASCII letters and digits, a character
// becomes its code point, so that names in Chinese stay apart).
func fieldID(name string) string {
	var b strings.Builder
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
			b.WriteRune(c)
		case c < 128:
			b.WriteByte('-')
		default:
			fmt.Fprintf(&b, "u%x", c)
		}
	}
	return b.String()
}
