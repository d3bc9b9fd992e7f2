package web

import (
	"cmp"
	"net/http"
	"net/url"
	"strings"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The audit trail (操作记录): every registry write the county applied, who
// made it and what it changed, newest first, for the county's admins.

type changesData struct {
	Kind, Target, Actor string // the filters
	Kinds               []kindOption
	Rows                []changeRow
	Next                string // the next page's URL
}

type changeRow struct {
	At, Actor, Kind, Target, Name, Op, Note string
	Changes                                 []changeLine
}

type changeLine struct{ Field, Before, After string }

type kindOption struct{ Code, Label string }

var (
	changeKindNames = map[string]string{
		"office": "办事点", "department": "部门", "item": "事项", "grant": "授权", "staff": "工作人员",
		"calendar": "工作日历", "node": "节点", "supervision_policy": "监察规则", "duty_policy": "值班规则",
		"case_policy": "办件规则", "query_code_key": "查询码密钥",
	}
	changeOpNames = map[string]string{
		"create": "新建", "update": "修改", "retire": "废止", "revoke": "撤销", "disable": "停用", "enable": "启用",
		"reset_password": "重置密码", "change_password": "本人修改密码", "put": "设置",
		"remove": "移出", "put_official": "启用国务院放假安排",
	}
	// changeFieldNames are the fields' names as admins know them; a field
	// not here shows by its API name.
	changeFieldNames = map[string]string{
		"code": "编码", "name": "名称", "username": "用户名", "office_code": "办事点", "department_code": "部门",
		"roles": "角色", "disabled": "停用", "password": "密码", "address": "地址", "phone": "电话", "authority": "实施机关",
		"tier": "层级", "parent_code": "上级", "type": "事项类型", "co_department_codes": "协办部门", "legal_basis": "设定依据",
		"conditions": "受理条件", "materials": "申请材料", "steps": "办理流程", "statutory_limit_days": "法定时限（工作日）",
		"promised_limit_days": "承诺时限（工作日）", "extension_limit_days": "延长时限上限（工作日）", "retired": "废止",
		"aliases": "常用名", "fee_basis": "收费依据", "fee_standard": "收费标准", "fee_cents": "收费（分）", "fee_unit": "计费单位",
		"case_kind": "办件类型", "exercise_tier": "行使层级", "special_procedures": "特别程序", "visits": "到现场次数",
		"where_to_apply": "办理地点", "office_hours": "办理时间", "consultation_phone": "咨询电话", "complaint_phone": "投诉电话",
		"item_code": "事项", "rights": "权限", "valid_from": "生效时间", "valid_until": "失效时间", "revoked": "已撤销",
		"note": "说明", "year": "年份", "days": "例外日", "working_days": "工作日数",
		// the county's policies, as their pages word them
		"correction_wait_days": "补正期限（天）", "reconsideration_body": "行政复议机关", "court": "人民法院",
		"comprehensive_window_accepts": "综合窗口受理", "single_handed_offices": "可由一人办理的办事点",
		"warning_days": "预警天数（工作日）", "first_report_minutes": "首报时限（分钟）", "limits": "分类时限",
		"zero_report_hour": "零报告时间（时）", "contacts": "有关单位值班电话", "category": "类别", "level": "级别",
		"minutes": "时限（分钟）", "unit": "单位",
		// nodes and grants
		"raft_address": "Raft 地址", "peer_address": "节点间地址", "http_address": "网页地址", "removed": "已移出", "id": "编号",
		// staff, items and the calendar, in detail
		"must_change_password": "须修改密码", "version": "版本", "change_note": "修改说明", "form": "材料形式",
		"copies": "份数", "required": "必要", "condition": "适用情形", "notes": "备注", "description": "环节说明",
		"limit_days": "时限（工作日）", "counts_in_limit": "计入办理时限", "date": "日期", "kind": "类型", "source": "来源",
	}
	// changeFieldsUnnamed are the output-only fields the registry stamps
	// (when, by whom, at which index): not shown as changes.
	changeFieldsUnnamed = []string{"registry_index", "created_at", "created_by", "updated_at", "updated_by", "revoked_at", "password_changed_at"}
	// enumWords are the enum values' names in the API (ROLE_CLERK) as the
	// UI words them (窗口工作人员).
	enumWords = func() map[string]string {
		m := map[string]string{}
		for r, w := range roleNames {
			m[r.String()] = w
		}
		for r, w := range rightNames {
			m[r.String()] = w
		}
		for t, w := range tierNames {
			m[t.String()] = w
		}
		for t, w := range itemTypeNames {
			m[t.String()] = w
		}
		for k, w := range caseKindNames {
			m[k.String()] = w
		}
		return m
	}()
)

// changeValue words a field's value from the audit trail: enums in the
// UI's words, true as 是, a time in the UI's form.
func changeValue(v string) string {
	switch v {
	case "":
		return "—"
	case "true":
		return "是"
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.In(china).Format("2006-01-02 15:04")
	}
	parts := strings.Split(v, "、")
	for i, p := range parts {
		if w, ok := enumWords[p]; ok {
			parts[i] = w
		}
	}
	return strings.Join(parts, "、")
}

func (s *server) changesPage(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	q := rq.r.URL.Query()
	d := &changesData{Kind: q.Get("kind"), Target: strings.TrimSpace(q.Get("target")), Actor: strings.TrimSpace(q.Get("actor"))}
	for _, k := range []string{"item", "grant", "staff", "office", "department", "calendar", "case_policy", "supervision_policy", "duty_policy", "node", "query_code_key"} {
		d.Kinds = append(d.Kinds, kindOption{Code: k, Label: changeKindNames[k]})
	}
	req := &yizhanv1.ListRegistryChangesRequest{Kind: d.Kind, Actor: d.Actor}
	var msg string
	if d.Kind != "" {
		req.Target = d.Target
	} else if d.Target != "" {
		// A code or username means one kind's entry: not filtered by it
		// until the kind is chosen, and the page says so.
		msg = "按编码或用户名查询时，请先选择对象类别；以下为全部记录。"
	}
	// A page token the API refuses (of an earlier release, or of other
	// filters) shows the trail from its newest (pagedLists.page).
	var resp *yizhanv1.ListRegistryChangesResponse
	if err := (pagedLists{path: "/admin/changes", names: []string{"page"}, q: q}).page("page", func(token string) (err error) {
		req.PageToken = token
		resp, err = s.cfg.Registry.ListRegistryChanges(rq.ctx(), req)
		return err
	}); err != nil {
		return err
	}
	for _, c := range resp.GetChanges() {
		row := changeRow{At: datetimeOf(c.GetAt()), Actor: c.GetActor(), Kind: cmp.Or(changeKindNames[c.GetKind()], c.GetKind()),
			Target: c.GetTarget(), Name: c.GetTargetName(), Op: cmp.Or(changeOpNames[c.GetOp()], c.GetOp()), Note: c.GetNote()}
		for _, fc := range c.GetChanges() {
			row.Changes = append(row.Changes, changeLine{Field: cmp.Or(changeFieldNames[fc.GetField()], fc.GetField()),
				Before: changeValue(fc.GetBefore()), After: changeValue(fc.GetAfter())})
		}
		d.Rows = append(d.Rows, row)
	}
	if t := resp.GetNextPageToken(); t != "" {
		next := url.Values{"page": {t}}
		for k, v := range map[string]string{"kind": d.Kind, "target": d.Target, "actor": d.Actor} {
			if v != "" {
				next.Set(k, v)
			}
		}
		d.Next = "/admin/changes?" + next.Encode()
	}
	return s.render(rq, http.StatusOK, "changes", &view{Title: "操作记录", Section: "admin", AdminTab: "changes", Data: d, Flash: msg})
}
