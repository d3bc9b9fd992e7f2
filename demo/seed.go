package demo

import (
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The demo county: 青山县 with the township 城关镇 and its villages 东村
// and 西村. The codes follow GB/T 2260 extended to 12 digits.
const (
	CountyCode   = "450122000000"
	TownshipCode = "450122101000"
	DongcunCode  = "450122101203"
	XicunCode    = "450122101204"

	// AdminPassword is the demo's password for every account. Demo only:
	// a real node never has a default password.
	AdminPassword = "yizhan-demo"
)

var offices = []*yizhanv1.Office{
	{Code: TownshipCode, Name: "城关镇便民服务中心", Address: "城关镇人民路1号", Phone: "0771-6201001", Authority: "城关镇人民政府"},
	{Code: DongcunCode, Name: "东村便民服务站", Address: "城关镇东村村委会", Phone: "0771-6201203", Authority: "城关镇东村村民委员会"},
	{Code: XicunCode, Name: "西村便民服务站", Address: "城关镇西村村委会", Phone: "0771-6201204", Authority: "城关镇西村村民委员会"},
}

var departments = []*yizhanv1.Department{
	{Code: "yc", Name: "青山县烟草专卖局", Phone: "0771-6220012"},
	{Code: "scjg", Name: "青山县市场监督管理局", Phone: "0771-6220315"},
	{Code: "mz", Name: "青山县民政局", Phone: "0771-6220021"},
	{Code: "rs", Name: "青山县人力资源和社会保障局", Phone: "0771-6220333"},
	{Code: "ws", Name: "青山县卫生健康局", Phone: "0771-6220120"},
	{Code: "ga", Name: "青山县公安局", Phone: "0771-6220110"},
	{Code: "zrzy", Name: "青山县自然资源局", Phone: "0771-6220045"},
	{Code: "nync", Name: "青山县农业农村局", Phone: "0771-6220056"},
	{Code: "jt", Name: "青山县交通运输局", Phone: "0771-6220067"},
	{Code: "cl", Name: "青山县残疾人联合会", Phone: "0771-6220088"},
	{Code: "yb", Name: "青山县医疗保障局", Phone: "0771-6220099"},
}

func idCard() *yizhanv1.Material {
	return &yizhanv1.Material{Name: "申请人居民身份证", Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL_AND_COPY, Copies: 1, Required: true}
}

func form(name string) *yizhanv1.Material {
	return &yizhanv1.Material{Name: name, Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL, Copies: 1, Required: true}
}

func steps(names ...string) []*yizhanv1.ProcedureStep {
	var out []*yizhanv1.ProcedureStep
	for _, n := range names {
		out = append(out, &yizhanv1.ProcedureStep{Name: n})
	}
	return out
}

const hall = "青山县政务服务中心一楼综合窗口"

var items = []*yizhanv1.Item{
	{
		Code: "450122-YC-001", Name: "烟草专卖零售许可证核发", Aliases: []string{"烟草证", "卖烟", "烟草许可", "香烟零售"}, Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE,
		DepartmentCode: "yc", LegalBasis: "《中华人民共和国烟草专卖法》第十六条；《中华人民共和国烟草专卖法实施条例》第十四条",
		Conditions: "有与经营烟草制品零售业务相适应的资金；有固定的经营场所；符合烟草专卖零售网点合理布局的要求",
		Materials: []*yizhanv1.Material{form("烟草专卖零售许可证申请表"), idCard(),
			{Name: "营业执照", Form: yizhanv1.MaterialForm_MATERIAL_FORM_COPY, Copies: 1, Required: true},
			{Name: "经营场所产权证明或租赁协议", Form: yizhanv1.MaterialForm_MATERIAL_FORM_COPY, Copies: 1, Required: true}},
		Steps: steps("受理", "实地核查", "审批", "制证", "送达"),
		// First promised in 20 working days; the county then cuts it to
		// 10 (the item's second version, as the seed tells it: see
		// promiseCuts).
		StatutoryLimitDays: 20, PromisedLimitDays: 20, FeeBasis: "不收费", FeeStandard: "不收费",
		CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
		SpecialProcedures: []*yizhanv1.SpecialProcedure{{Name: "现场勘查", LimitDays: 5, CountsInLimit: true}},
		Visits:            1, WhereToApply: hall + "烟草窗口", OfficeHours: "工作日上午 8:00—12:00，下午 15:00—18:00",
		ConsultationPhone: "0771-6220012", ComplaintPhone: "0771-6212345",
	},
	{
		Code: "450122-SCJG-001", Name: "个体工商户设立登记", Aliases: []string{"个体户", "营业执照", "开店", "小卖部"}, Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE,
		DepartmentCode: "scjg", LegalBasis: "《促进个体工商户发展条例》；《中华人民共和国市场主体登记管理条例》第三条",
		Conditions: "有经营能力的公民；经营场所符合要求",
		Materials:  []*yizhanv1.Material{form("个体工商户登记（备案）申请书"), idCard(), {Name: "经营场所使用证明", Form: yizhanv1.MaterialForm_MATERIAL_FORM_COPY, Copies: 1, Required: true}},
		Steps:      steps("受理", "审核", "核准", "发照"), StatutoryLimitDays: 3, PromisedLimitDays: 3,
		FeeBasis: "不收费", FeeStandard: "不收费", CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_TOWNSHIP,
		Visits: 1, WhereToApply: hall + "市场监管窗口；各乡镇便民服务中心", ConsultationPhone: "0771-6220315", ComplaintPhone: "12315",
	},
	{
		Code: "450122-WS-001", Name: "公共场所卫生许可", Aliases: []string{"卫生许可证", "卫生证"}, Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE,
		DepartmentCode: "ws", LegalBasis: "《公共场所卫生管理条例》第八条",
		Conditions: "公共场所的卫生设施和卫生管理符合国家卫生标准和要求",
		Materials: []*yizhanv1.Material{form("公共场所卫生许可申请表"), idCard(),
			{Name: "从业人员健康合格证明", Form: yizhanv1.MaterialForm_MATERIAL_FORM_COPY, Copies: 1, Required: true},
			{Name: "卫生检测报告", Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL, Copies: 1, Required: false, Condition: "新建、改建、扩建的场所"}},
		Steps: steps("受理", "现场审查", "审批", "制证"), StatutoryLimitDays: 20, PromisedLimitDays: 7,
		FeeBasis: "不收费", FeeStandard: "不收费", CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
		SpecialProcedures: []*yizhanv1.SpecialProcedure{{Name: "卫生检测", LimitDays: 10, CountsInLimit: false}},
		Visits:            1, WhereToApply: hall + "卫健窗口", ConsultationPhone: "0771-6220120", ComplaintPhone: "0771-6212345",
	},
	{
		Code: "450122-MZ-001", Name: "最低生活保障审核确认", Aliases: []string{"低保", "最低生活保障"}, Type: yizhanv1.ItemType_ITEM_TYPE_BENEFIT,
		DepartmentCode: "mz", LegalBasis: "《社会救助暂行办法》第十一条",
		Conditions: "共同生活的家庭成员人均收入低于当地最低生活保障标准，且符合财产状况规定",
		Materials: []*yizhanv1.Material{form("最低生活保障申请书"), idCard(),
			{Name: "户口簿", Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL_AND_COPY, Copies: 1, Required: true},
			{Name: "家庭收入和财产状况授权核对书", Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL, Copies: 1, Required: true}},
		Steps: steps("申请", "乡镇审核", "入户调查", "县级审批", "公示"), StatutoryLimitDays: 30, PromisedLimitDays: 20,
		FeeBasis: "不收费", FeeStandard: "不收费", CaseKind: yizhanv1.CaseKind_CASE_KIND_REPORTED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
		Visits: 1, WhereToApply: "户籍所在地村（社区）便民服务站或乡镇便民服务中心", ConsultationPhone: "0771-6220021", ComplaintPhone: "0771-6212345",
	},
	{
		Code: "450122-MZ-002", Name: "内地居民结婚登记", Aliases: []string{"领结婚证", "结婚证"}, Type: yizhanv1.ItemType_ITEM_TYPE_CONFIRMATION,
		DepartmentCode: "mz", LegalBasis: "《婚姻登记条例》第四条",
		Conditions: "男女双方完全自愿，达到法定婚龄，无禁止结婚情形",
		Materials:  []*yizhanv1.Material{idCard(), {Name: "户口簿", Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL, Copies: 1, Required: true}, {Name: "近期二寸半身免冠合影照片", Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL, Copies: 3, Required: true}},
		Steps:      steps("受理", "审查", "登记发证"), StatutoryLimitDays: 0, PromisedLimitDays: 0,
		FeeBasis: "不收费", FeeStandard: "不收费", CaseKind: yizhanv1.CaseKind_CASE_KIND_IMMEDIATE, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
		Visits: 1, WhereToApply: "县婚姻登记处", ConsultationPhone: "0771-6220021", ComplaintPhone: "0771-6212345",
	},
	{
		Code: "450122-RS-001", Name: "城乡居民基本养老保险参保登记", Aliases: []string{"养老保险", "社保", "新农保"}, Type: yizhanv1.ItemType_ITEM_TYPE_PUBLIC_SERVICE,
		DepartmentCode: "rs", LegalBasis: "《中华人民共和国社会保险法》第二十条",
		Conditions: "年满16周岁（不含在校学生），非国家机关和事业单位工作人员及不属于职工基本养老保险覆盖范围的城乡居民",
		Materials:  []*yizhanv1.Material{form("城乡居民基本养老保险参保登记表"), idCard()},
		Steps:      steps("受理", "登记"), StatutoryLimitDays: 0, PromisedLimitDays: 0,
		FeeBasis: "《国务院关于建立统一的城乡居民基本养老保险制度的意见》", FeeStandard: "个人缴费按年选择档次", CaseKind: yizhanv1.CaseKind_CASE_KIND_IMMEDIATE, ExerciseTier: yizhanv1.Tier_TIER_VILLAGE,
		Visits: 0, WhereToApply: "村（社区）便民服务站", ConsultationPhone: "0771-6220333", ComplaintPhone: "12333",
	},
	{
		Code: "450122-WS-002", Name: "生育登记", Aliases: []string{"准生证", "生育服务证"}, Type: yizhanv1.ItemType_ITEM_TYPE_PUBLIC_SERVICE,
		DepartmentCode: "ws", LegalBasis: "《中华人民共和国人口与计划生育法》；《广西壮族自治区人口和计划生育条例》",
		Conditions: "夫妻双方或一方户籍在本乡镇",
		Materials:  []*yizhanv1.Material{form("生育登记表"), idCard(), {Name: "结婚证", Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL_AND_COPY, Copies: 1, Required: true}},
		Steps:      steps("受理", "登记"), StatutoryLimitDays: 0, PromisedLimitDays: 0,
		FeeBasis: "不收费", FeeStandard: "不收费", CaseKind: yizhanv1.CaseKind_CASE_KIND_IMMEDIATE, ExerciseTier: yizhanv1.Tier_TIER_TOWNSHIP,
		Visits: 0, WhereToApply: "乡镇便民服务中心", ConsultationPhone: "0771-6220120", ComplaintPhone: "12320",
	},
	{
		Code: "450122-GA-001", Name: "居民身份证换领", Aliases: []string{"换身份证", "身份证到期"}, Type: yizhanv1.ItemType_ITEM_TYPE_PUBLIC_SERVICE,
		DepartmentCode: "ga", LegalBasis: "《中华人民共和国居民身份证法》第八条",
		Conditions: "居民身份证有效期满或登记项目变更",
		Materials:  []*yizhanv1.Material{{Name: "原居民身份证", Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL, Copies: 1, Required: true}, {Name: "户口簿", Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL, Copies: 1, Required: true}},
		Steps:      steps("受理", "采集", "审核", "制证", "发证"), StatutoryLimitDays: 60, PromisedLimitDays: 30,
		FeeBasis: "《财政部 国家发展改革委关于居民身份证收费标准及有关问题的通知》", FeeStandard: "换领每证20元", FeeCents: 2000,
		CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
		Visits: 2, WhereToApply: hall + "公安窗口", ConsultationPhone: "0771-6220110", ComplaintPhone: "0771-6212345",
	},
	{
		// Approved by the township government, led by agriculture and
		// rural affairs with natural resources (宅基地管理, 2019 on).
		Code: "450122-NYNC-001", Name: "农村村民宅基地审批", Aliases: []string{"建房", "宅基地", "批地建房"}, Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE,
		DepartmentCode: "nync", CoDepartmentCodes: []string{"zrzy"},
		LegalBasis: "《中华人民共和国土地管理法》第六十二条",
		Conditions: "本集体经济组织成员，一户一宅，符合国土空间规划",
		Materials: []*yizhanv1.Material{form("农村宅基地和建房（规划许可）申请表"), idCard(),
			{Name: "户口簿", Form: yizhanv1.MaterialForm_MATERIAL_FORM_COPY, Copies: 1, Required: true},
			{Name: "村民小组会议讨论通过证明", Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL, Copies: 1, Required: true}},
		Steps: steps("村级受理", "乡镇联审", "审批", "发证"), StatutoryLimitDays: 20, PromisedLimitDays: 15,
		FeeBasis: "不收费", FeeStandard: "不收费", CaseKind: yizhanv1.CaseKind_CASE_KIND_JOINT, ExerciseTier: yizhanv1.Tier_TIER_TOWNSHIP,
		SpecialProcedures: []*yizhanv1.SpecialProcedure{{Name: "公示", LimitDays: 7, CountsInLimit: false}},
		Visits:            2, WhereToApply: "村（社区）便民服务站代办；乡镇便民服务中心", ConsultationPhone: "0771-6220056", ComplaintPhone: "0771-6212345",
	},
	{
		Code: "450122-CL-001", Name: "残疾人证新办", Aliases: []string{"残疾证"}, Type: yizhanv1.ItemType_ITEM_TYPE_PUBLIC_SERVICE,
		DepartmentCode: "cl", LegalBasis: "《中华人民共和国残疾人保障法》",
		Conditions: "符合残疾标准的本县户籍居民",
		Materials:  []*yizhanv1.Material{form("残疾人证申请表"), idCard(), {Name: "残疾评定表", Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL, Copies: 1, Required: true}},
		Steps:      steps("受理", "评定", "审核", "制证"), StatutoryLimitDays: 20, PromisedLimitDays: 10,
		FeeBasis: "不收费", FeeStandard: "不收费", CaseKind: yizhanv1.CaseKind_CASE_KIND_REPORTED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
		Visits: 1, WhereToApply: "村（社区）便民服务站代办；" + hall + "残联窗口", ConsultationPhone: "0771-6220088", ComplaintPhone: "0771-6212345",
	},
	{
		Code: "450122-YB-001", Name: "城乡居民基本医疗保险参保登记", Aliases: []string{"医保", "新农合", "医疗保险"}, Type: yizhanv1.ItemType_ITEM_TYPE_PUBLIC_SERVICE,
		DepartmentCode: "yb", LegalBasis: "《中华人民共和国社会保险法》第二十五条",
		Conditions: "未参加职工基本医疗保险的城乡居民",
		Materials:  []*yizhanv1.Material{idCard()},
		Steps:      steps("受理", "登记"), StatutoryLimitDays: 0, PromisedLimitDays: 0,
		FeeBasis: "自治区医疗保障局年度缴费通知", FeeStandard: "按年度个人缴费标准", CaseKind: yizhanv1.CaseKind_CASE_KIND_IMMEDIATE, ExerciseTier: yizhanv1.Tier_TIER_VILLAGE,
		Visits: 0, WhereToApply: "村（社区）便民服务站", ConsultationPhone: "0771-6220099", ComplaintPhone: "12393",
	},
	{
		Code: "450122-JT-001", Name: "道路货物运输经营许可", Aliases: []string{"货运许可", "道路运输证", "跑运输"}, Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE,
		DepartmentCode: "jt", LegalBasis: "《中华人民共和国道路运输条例》第二十四条",
		Conditions: "有与其经营业务相适应并经检测合格的车辆；有符合规定条件的驾驶人员；有健全的安全生产管理制度",
		Materials: []*yizhanv1.Material{form("道路货物运输经营申请表"), idCard(),
			{Name: "车辆行驶证", Form: yizhanv1.MaterialForm_MATERIAL_FORM_COPY, Copies: 1, Required: true},
			{Name: "驾驶人员从业资格证", Form: yizhanv1.MaterialForm_MATERIAL_FORM_COPY, Copies: 1, Required: true}},
		Steps: steps("受理", "审查", "决定", "发证"), StatutoryLimitDays: 20, PromisedLimitDays: 10,
		FeeBasis: "不收费", FeeStandard: "不收费", CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
		Visits: 1, WhereToApply: hall + "交通运输窗口", ConsultationPhone: "0771-6220067", ComplaintPhone: "12328",
	},
}

var (
	rAccept   = yizhanv1.Right_RIGHT_ACCEPT
	rReview   = yizhanv1.Right_RIGHT_REVIEW
	rApprove  = yizhanv1.Right_RIGHT_APPROVE
	rCertify  = yizhanv1.Right_RIGHT_CERTIFY
	rDeliver  = yizhanv1.Right_RIGHT_DELIVER
	rProxy    = yizhanv1.Right_RIGHT_PROXY_FILE
	allRights = []yizhanv1.Right{rAccept, rReview, rApprove, rCertify, rDeliver}
)

// inPerson are the items the applicant must come to the county for in
// person, which no village agent files for them: a marriage is
// registered with both present; an ID card's photo and fingerprints are
// taken at the police window.
var inPerson = map[string]bool{"450122-MZ-002": true, "450122-GA-001": true}

// promiseCuts are the items whose promised limit the county cut after
// publishing them (a second version): the tobacco licence from 20 to 10
// working days.
var promiseCuts = map[string]int32{"450122-YC-001": 10}

// grants: the county holds every right on every item; some items are
// delegated to the townships and the villages, and the villages file for
// the citizens all but the items done in person.
func grants() []*yizhanv1.Grant {
	var gs []*yizhanv1.Grant
	for _, it := range items {
		rights := allRights
		if it.Type == yizhanv1.ItemType_ITEM_TYPE_PUBLIC_SERVICE {
			rights = []yizhanv1.Right{rAccept, rReview, rApprove, rDeliver} // no certificate to make
		}
		gs = append(gs, &yizhanv1.Grant{ItemCode: it.Code, OfficeCode: CountyCode, Rights: rights, Note: "县级窗口一级审批"})
		if !inPerson[it.Code] {
			gs = append(gs, &yizhanv1.Grant{ItemCode: it.Code, Tier: yizhanv1.Tier_TIER_VILLAGE, Rights: []yizhanv1.Right{rProxy, rDeliver}, Note: "村级代办、送达"})
		}
	}
	township := func(code string, rights ...yizhanv1.Right) {
		gs = append(gs, &yizhanv1.Grant{ItemCode: code, Tier: yizhanv1.Tier_TIER_TOWNSHIP, Rights: rights, Note: "下放乡镇"})
	}
	township("450122-SCJG-001", rAccept, rReview, rApprove, rCertify, rDeliver)
	township("450122-WS-002", rAccept, rReview, rApprove, rDeliver)
	township("450122-NYNC-001", rAccept, rReview, rApprove, rCertify, rDeliver)
	township("450122-MZ-001", rAccept, rReview, rDeliver)
	township("450122-CL-001", rAccept, rDeliver)
	village := func(code string, rights ...yizhanv1.Right) {
		gs = append(gs, &yizhanv1.Grant{ItemCode: code, Tier: yizhanv1.Tier_TIER_VILLAGE, Rights: rights, Note: "村级直办"})
	}
	village("450122-RS-001", rAccept, rApprove)
	village("450122-YB-001", rAccept, rApprove)
	return gs
}

var staff = []*yizhanv1.StaffMember{
	{Username: "chenjing", Name: "陈静", OfficeCode: CountyCode, DepartmentCode: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_REVIEWER}},
	{Username: "wangqiang", Name: "王强", OfficeCode: CountyCode, DepartmentCode: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_APPROVER}},
	{Username: "liuju", Name: "刘建平", OfficeCode: CountyCode, DepartmentCode: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DEPARTMENT_HEAD}},
	{Username: "zonghe", Name: "覃晓燕", OfficeCode: CountyCode, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_WINDOW}},
	{Username: "jiancha", Name: "李监察", OfficeCode: CountyCode, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_SUPERVISOR}},
	{Username: "zhaomin", Name: "赵敏", OfficeCode: TownshipCode, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_ADMIN}},
	{Username: "lihua", Name: "李华", OfficeCode: TownshipCode, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_REVIEWER, yizhanv1.Role_ROLE_APPROVER}},
	// The 东村 agent also decides the items the village does on the spot (直办).
	{Username: "dongcun", Name: "黄秀英", OfficeCode: DongcunCode, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT, yizhanv1.Role_ROLE_APPROVER}},
	{Username: "dongcun-admin", Name: "黄建国", OfficeCode: DongcunCode, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_ADMIN}},
	{Username: "xicun", Name: "韦丽", OfficeCode: XicunCode, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}},
	{Username: "xicun-admin", Name: "蒙志刚", OfficeCode: XicunCode, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_ADMIN}},
	// Duty (值班): 东村's duty officer and leader on duty, the county's duty officer.
	{Username: "dc-zhiban", Name: "黄值班", OfficeCode: DongcunCode, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_OFFICER}},
	{Username: "dc-daiban", Name: "黄带班", OfficeCode: DongcunCode, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_LEADER}},
	{Username: "zhiban", Name: "陈值班", OfficeCode: CountyCode, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_OFFICER, yizhanv1.Role_ROLE_DUTY_LEADER}},
}
