package registry

import (
	"errors"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// propose is what a proposer does: Check, and only then Apply.
func propose(r *Registry, cmd *peerv1.RegistryCommand) (proto.Message, error) {
	if err := r.Check(cmd); err != nil {
		return nil, err
	}
	return r.Apply(r.Index()+1, cmd)
}

// wantLimit fails unless err is a *ValidationError whose violation of
// field has the reason.
func wantLimit(t *testing.T, err error, field, reason string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("error %v, want a *ValidationError of %s (%s)", err, field, reason)
	}
	for _, v := range ve.Violations {
		if v.Field == field {
			if v.Reason != reason {
				t.Errorf("%s: reason %q, want %q (%s)", field, v.Reason, reason, v.Description)
			}
			if v.Description == "" || len(v.Description) > 200 {
				t.Errorf("%s: description %q: want a short one", field, v.Description)
			}
			return
		}
	}
	t.Errorf("violations %v, want one of %s (%s)", ve.Violations, field, reason)
}

// runes is n characters of s.
func runes(s string, n int) string { return strings.Repeat(s, n) }

func TestLimitsRefuseBeforeTheLog(t *testing.T) {
	office := func(edit func(*yizhanv1.Office)) *peerv1.RegistryCommand {
		o := &yizhanv1.Office{Code: "450122101205", Name: "南村便民服务站"}
		edit(o)
		return createOffice(o)
	}
	dept := func(edit func(*yizhanv1.Department)) *peerv1.RegistryCommand {
		d := &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}
		edit(d)
		return createDepartment(d)
	}
	item := func(edit func(*yizhanv1.Item)) *peerv1.RegistryCommand {
		it := validItem("NEW-1")
		edit(it)
		return createItem(it)
	}
	update := func(edit func(*yizhanv1.Item)) *peerv1.RegistryCommand {
		it := validItem("YC")
		edit(it)
		return updateItem(it, 1)
	}
	grant := func(edit func(*yizhanv1.Grant)) *peerv1.RegistryCommand {
		g := &yizhanv1.Grant{ItemCode: "YC", OfficeCode: village, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT}}
		edit(g)
		return createGrant(g)
	}
	staff := func(edit func(*yizhanv1.StaffMember, *peerv1.StaffCredential)) *peerv1.RegistryCommand {
		m, c := validStaff("lisi", county), cred("lisi")
		edit(m, c)
		return createStaff(m, c)
	}
	calendar := func(edit func(*yizhanv1.Calendar)) *peerv1.RegistryCommand {
		c := &yizhanv1.Calendar{Year: 2025, Days: []*yizhanv1.CalendarDay{{Date: "2025-01-02", Kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, Name: "元旦"}}}
		edit(c)
		return putCalendar(c)
	}
	node := func(edit func(*yizhanv1.NodeEntry)) *peerv1.RegistryCommand {
		n := &yizhanv1.NodeEntry{Name: "county-9", OfficeCode: county, RaftAddress: "county-9:7000", PeerAddress: "county-9:7070"}
		edit(n)
		return putNode(n)
	}
	materials := func(n int, edit func(*yizhanv1.Material)) []*yizhanv1.Material {
		var ms []*yizhanv1.Material
		for i := range n {
			m := &yizhanv1.Material{Name: "材料" + string(rune('A'+i%26)) + strings.Repeat("x", i/26), Copies: 1, Required: true}
			edit(m)
			ms = append(ms, m)
		}
		return ms
	}
	huge := runes("a", 10<<20)

	tests := []struct {
		name   string
		cmd    *peerv1.RegistryCommand
		field  string
		reason string
	}{
		// offices
		{"office name too long", office(func(o *yizhanv1.Office) { o.Name = runes("村", 101) }), "office.name", ReasonTooLong},
		{"office name of 600 KB", office(func(o *yizhanv1.Office) { o.Name = runes("村", 200_000) }), "office.name", ReasonTooLong},
		{"office name with NUL", office(func(o *yizhanv1.Office) { o.Name = "南村\x00便民服务站" }), "office.name", ReasonControlCharacter},
		{"office name with a line break", office(func(o *yizhanv1.Office) { o.Name = "南村\n便民服务站" }), "office.name", ReasonControlCharacter},
		{"office name not UTF-8", office(func(o *yizhanv1.Office) { o.Name = "南村\xff" }), "office.name", ReasonInvalidUTF8},
		{"office address", office(func(o *yizhanv1.Office) { o.Address = runes("路", 201) }), "office.address", ReasonTooLong},
		{"office phone", office(func(o *yizhanv1.Office) { o.Phone = runes("1", 33) }), "office.phone", ReasonTooLong},
		{"office parent code", office(func(o *yizhanv1.Office) { o.ParentCode = huge }), "office.parent_code", ReasonTooLong},
		// departments
		{"department name", dept(func(d *yizhanv1.Department) { d.Name = runes("局", 101) }), "department.name", ReasonTooLong},
		{"department phone with a tab", dept(func(d *yizhanv1.Department) { d.Phone = "0771\t6201001" }), "department.phone", ReasonControlCharacter},
		// items: the eight publics
		{"item name", item(func(it *yizhanv1.Item) { it.Name = runes("证", 201) }), "item.name", ReasonTooLong},
		{"item name with DEL", item(func(it *yizhanv1.Item) { it.Name = "许可\x7f" }), "item.name", ReasonControlCharacter},
		{"item name with a C1 control", item(func(it *yizhanv1.Item) { it.Name = "许可\u0085" }), "item.name", ReasonControlCharacter},
		{"item name with a line separator", item(func(it *yizhanv1.Item) { it.Name = "许可\u2028" }), "item.name", ReasonControlCharacter},
		{"item department code", item(func(it *yizhanv1.Item) { it.DepartmentCode = huge }), "item.department_code", ReasonTooLong},
		{"item co-departments", item(func(it *yizhanv1.Item) { it.CoDepartmentCodes = make([]string, 21) }), "item.co_department_codes", ReasonTooMany},
		{"item co-department code", item(func(it *yizhanv1.Item) { it.CoDepartmentCodes = []string{runes("a", 33)} }), "item.co_department_codes[0]", ReasonTooLong},
		{"item legal basis", item(func(it *yizhanv1.Item) { it.LegalBasis = runes("法", 20_001) }), "item.legal_basis", ReasonTooLong},
		{"item conditions of 10 MB", item(func(it *yizhanv1.Item) { it.Conditions = huge }), "item.conditions", ReasonTooLong},
		{"item conditions with NUL", item(func(it *yizhanv1.Item) { it.Conditions = "一、\x00" }), "item.conditions", ReasonControlCharacter},
		{"item conditions with a lone CR", item(func(it *yizhanv1.Item) { it.Conditions = "一、\r二、" }), "item.conditions", ReasonControlCharacter},
		{"item materials", item(func(it *yizhanv1.Item) { it.Materials = materials(101, func(*yizhanv1.Material) {}) }), "item.materials", ReasonTooMany},
		{"material name", item(func(it *yizhanv1.Item) { it.Materials[0].Name = runes("表", 201) }), "item.materials[0].name", ReasonTooLong},
		{"material copies 2^31-1", item(func(it *yizhanv1.Item) { it.Materials[0].Copies = math.MaxInt32 }), "item.materials[0].copies", ReasonOutOfRange},
		{"material copies 101", item(func(it *yizhanv1.Item) { it.Materials[0].Copies = 101 }), "item.materials[0].copies", ReasonOutOfRange},
		{"material form unknown", item(func(it *yizhanv1.Item) { it.Materials[0].Form = 9 }), "item.materials[0].form", ReasonOutOfRange},
		{"material condition", item(func(it *yizhanv1.Item) { it.Materials[0].Condition = runes("若", 1001) }), "item.materials[0].condition", ReasonTooLong},
		{"material notes", item(func(it *yizhanv1.Item) { it.Materials[0].Notes = "\x1b[31m" }), "item.materials[0].notes", ReasonControlCharacter},
		{"item steps", item(func(it *yizhanv1.Item) { it.Steps = make([]*yizhanv1.ProcedureStep, 31) }), "item.steps", ReasonTooMany},
		{"step name", item(func(it *yizhanv1.Item) { it.Steps[0].Name = runes("受", 101) }), "item.steps[0].name", ReasonTooLong},
		{"step description", item(func(it *yizhanv1.Item) { it.Steps[1].Description = runes("审", 1001) }), "item.steps[1].description", ReasonTooLong},
		{"step limit", item(func(it *yizhanv1.Item) { it.Steps[1].LimitDays = 366 }), "item.steps[1].limit_days", ReasonOutOfRange},
		{"statutory limit", item(func(it *yizhanv1.Item) { it.StatutoryLimitDays = math.MaxInt32 }), "item.statutory_limit_days", ReasonOutOfRange},
		{"promised limit", item(func(it *yizhanv1.Item) { it.StatutoryLimitDays, it.PromisedLimitDays = 400, 366 }), "item.promised_limit_days", ReasonOutOfRange},
		{"fee basis", item(func(it *yizhanv1.Item) { it.FeeBasis = runes("费", 4001) }), "item.fee_basis", ReasonTooLong},
		{"fee standard", item(func(it *yizhanv1.Item) { it.FeeStandard = runes("元", 4001) }), "item.fee_standard", ReasonTooLong},
		{"fee", item(func(it *yizhanv1.Item) { it.FeeCents = math.MaxInt64 }), "item.fee_cents", ReasonOutOfRange},
		{"special procedures", item(func(it *yizhanv1.Item) { it.SpecialProcedures = make([]*yizhanv1.SpecialProcedure, 21) }), "item.special_procedures", ReasonTooMany},
		{"special procedure name", item(func(it *yizhanv1.Item) { it.SpecialProcedures[0].Name = runes("听", 101) }), "item.special_procedures[0].name", ReasonTooLong},
		{"special procedure limit", item(func(it *yizhanv1.Item) { it.SpecialProcedures[0].LimitDays = 366 }), "item.special_procedures[0].limit_days", ReasonOutOfRange},
		{"visits", item(func(it *yizhanv1.Item) { it.Visits = 11 }), "item.visits", ReasonOutOfRange},
		{"where to apply", item(func(it *yizhanv1.Item) { it.WhereToApply = runes("楼", 1001) }), "item.where_to_apply", ReasonTooLong},
		{"office hours", item(func(it *yizhanv1.Item) { it.OfficeHours = runes("时", 1001) }), "item.office_hours", ReasonTooLong},
		{"consultation phone", item(func(it *yizhanv1.Item) { it.ConsultationPhone = runes("0", 33) }), "item.consultation_phone", ReasonTooLong},
		{"complaint phone", item(func(it *yizhanv1.Item) { it.ComplaintPhone = "12345\n" }), "item.complaint_phone", ReasonControlCharacter},
		{"item too large as a whole", item(func(it *yizhanv1.Item) {
			it.Materials = materials(100, func(m *yizhanv1.Material) { m.Condition, m.Notes = runes("若", 1000), runes("注", 1000) })
		}), "item.materials", ReasonTooLarge},
		{"update: conditions of 10 MB", update(func(it *yizhanv1.Item) { it.Conditions = huge }), "item.conditions", ReasonTooLong},
		{"update: copies 2^31-1", update(func(it *yizhanv1.Item) { it.Materials[0].Copies = math.MaxInt32 }), "item.materials[0].copies", ReasonOutOfRange},
		// grants
		{"grant item code", grant(func(g *yizhanv1.Grant) { g.ItemCode = huge }), "grant.item_code", ReasonTooLong},
		{"grant office code", grant(func(g *yizhanv1.Grant) { g.OfficeCode = runes("4", 13) }), "grant.office_code", ReasonTooLong},
		{"grant rights", grant(func(g *yizhanv1.Grant) { g.Rights = make([]yizhanv1.Right, 1_000_000) }), "grant.rights", ReasonTooMany},
		{"grant note", grant(func(g *yizhanv1.Grant) { g.Note = runes("注", 1001) }), "grant.note", ReasonTooLong},
		{"revoke id", revokeGrant(huge), "id", ReasonTooLong},
		// staff
		{"staff name", staff(func(m *yizhanv1.StaffMember, _ *peerv1.StaffCredential) { m.Name = runes("张", 101) }), "staff.name", ReasonTooLong},
		{"staff name with NUL", staff(func(m *yizhanv1.StaffMember, _ *peerv1.StaffCredential) { m.Name = "张\x00三" }), "staff.name", ReasonControlCharacter},
		{"staff office code", staff(func(m *yizhanv1.StaffMember, _ *peerv1.StaffCredential) { m.OfficeCode = huge }), "staff.office_code", ReasonTooLong},
		{"staff department code", staff(func(m *yizhanv1.StaffMember, _ *peerv1.StaffCredential) { m.DepartmentCode = runes("d", 33) }), "staff.department_code", ReasonTooLong},
		{"staff roles", staff(func(m *yizhanv1.StaffMember, _ *peerv1.StaffCredential) {
			m.Roles = make([]yizhanv1.Role, len(yizhanv1.Role_name))
		}), "staff.roles", ReasonTooMany},
		{"credential username", staff(func(_ *yizhanv1.StaffMember, c *peerv1.StaffCredential) { c.Username = huge }), "credential.username", ReasonTooLong},
		{"credential hash", staff(func(_ *yizhanv1.StaffMember, c *peerv1.StaffCredential) { c.PasswordHash = runes("h", 513) }), "credential.password_hash", ReasonTooLong},
		// calendar
		{"calendar days", calendar(func(c *yizhanv1.Calendar) { c.Days = make([]*yizhanv1.CalendarDay, 367) }), "calendar.days", ReasonTooMany},
		{"calendar date", calendar(func(c *yizhanv1.Calendar) { c.Days[0].Date = huge }), "calendar.days[0].date", ReasonTooLong},
		{"calendar day name", calendar(func(c *yizhanv1.Calendar) { c.Days[0].Name = runes("节", 101) }), "calendar.days[0].name", ReasonTooLong},
		// nodes
		{"node name", node(func(n *yizhanv1.NodeEntry) { n.Name = runes("n", 101) }), "node.name", ReasonTooLong},
		{"node name with NUL", node(func(n *yizhanv1.NodeEntry) { n.Name = "county\x009" }), "node.name", ReasonControlCharacter},
		{"node office code", node(func(n *yizhanv1.NodeEntry) { n.OfficeCode = runes("4", 13) }), "node.office_code", ReasonTooLong},
		{"node raft address", node(func(n *yizhanv1.NodeEntry) { n.RaftAddress = runes("h", 300) + ":7000" }), "node.raft_address", ReasonTooLong},
		{"node peer address", node(func(n *yizhanv1.NodeEntry) { n.PeerAddress = "h\x00:7070" }), "node.peer_address", ReasonControlCharacter},
		{"node http address", node(func(n *yizhanv1.NodeEntry) { n.HttpAddress = huge }), "node.http_address", ReasonTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCounty(t)
			mustApply(t, r, createItem(validItem("YC")))
			before := r.Snapshot()
			_, err := propose(r, tt.cmd)
			wantLimit(t, err, tt.field, tt.reason)
			if !proto.Equal(before, r.Snapshot()) {
				t.Errorf("a refused command changed the registry")
			}
			if it, _ := r.Item("YC", 0); it.GetVersion() != 1 {
				t.Errorf("item YC is at version %d after a refused command", it.GetVersion())
			}
		})
	}
}

// TestLimitsAcceptWhatIsWithin: every field at its limit, multi-line text
// with line breaks and tabs, goes through.
func TestLimitsAcceptWhatIsWithin(t *testing.T) {
	r := newCounty(t)
	it := validItem("FULL")
	it.Name = runes("证", MaxTitleLen)
	it.LegalBasis = runes("法", MaxLongTextLen-2) + "\r\n"
	it.Conditions = "一、申请人\t具备条件；\n二、" + runes("条", MaxLongTextLen-20)
	it.FeeBasis, it.FeeStandard = runes("费", MaxTextLen), runes("元", MaxTextLen)
	it.WhereToApply, it.OfficeHours = runes("楼", MaxShortTextLen), runes("时", MaxShortTextLen)
	// A phone's form bounds it before its length does: the longest is a
	// landline with a trunk code of 4, 8 digits and an extension of 6.
	it.ConsultationPhone, it.ComplaintPhone = "0771-62010012-123456", "12345"
	it.Materials[0].Copies = MaxCopies
	it.Materials[0].Name = runes("表", MaxTitleLen)
	it.Materials[0].Notes = "原件\n复印件"
	it.StatutoryLimitDays, it.PromisedLimitDays = MaxLimitDays, MaxLimitDays
	it.FeeCents, it.Visits = MaxFeeCents, MaxVisits
	if _, err := propose(r, createItem(it)); err != nil {
		t.Fatalf("an item at every limit: %v", err)
	}
	if _, err := propose(r, createOffice(&yizhanv1.Office{Code: "450122101205", Name: runes("村", MaxNameLen), Address: runes("路", MaxAddressLen)})); err != nil {
		t.Fatalf("an office at its limits: %v", err)
	}
	days := make([]*yizhanv1.CalendarDay, 0, MaxCalendarDays)
	for d := range 365 {
		date := t0.AddDate(0, 0, d-61) // 2025-01-01 on
		kind := yizhanv1.DayKind_DAY_KIND_HOLIDAY
		if wd := date.Weekday(); wd == 0 || wd == 6 {
			kind = yizhanv1.DayKind_DAY_KIND_WORKDAY
		}
		days = append(days, &yizhanv1.CalendarDay{Date: date.Format("2006-01-02"), Kind: kind})
	}
	if _, err := propose(r, putCalendar(&yizhanv1.Calendar{Year: 2025, Days: days})); err != nil {
		t.Fatalf("a calendar of every day: %v", err)
	}
}

// TestLimitsAreNotCheckedOnReplay: a command over the limits that is in a
// log already (written by a binary before the limits, or by a later one
// with a material form this one does not know) applies and replays
// alike, so that no office stops on it.
func TestLimitsAreNotCheckedOnReplay(t *testing.T) {
	r := newCounty(t)
	it := validItem("OLD")
	it.Conditions = runes("条", MaxLongTextLen+1)
	it.Materials[0].Form = 99
	cmd := createItem(it)
	wantLimit(t, r.Check(cmd), "item.conditions", ReasonTooLong)
	wantLimit(t, r.Check(cmd), "item.materials[0].form", ReasonOutOfRange)
	before := r.Snapshot()
	if _, err := r.Apply(r.Index()+1, cmd); err != nil {
		t.Fatalf("Apply of a logged command over the limits: %v", err)
	}
	replica := New(Options{})
	if err := replica.Restore(before); err != nil {
		t.Fatal(err)
	}
	entries, _ := r.ChangelogSince(before.GetIndex(), 0)
	if err := replica.Replay(entries[0]); err != nil {
		t.Fatalf("Replay of a logged command over the limits: %v", err)
	}
	if !proto.Equal(r.Snapshot(), replica.Snapshot()) {
		t.Errorf("replay differs from apply")
	}
}

func TestLargestField(t *testing.T) {
	cmd := updateItem(validItem("YC"), 1)
	cmd.GetUpdateItem().GetItem().Conditions = runes("条", 1000)
	if got := LargestField(cmd); got != "update_item.item.conditions" {
		t.Errorf("LargestField = %q", got)
	}
	if got := LargestField(&yizhanv1.Item{}); got != "" {
		t.Errorf("LargestField of an empty item = %q", got)
	}
	if v := CheckSize("item", cmd.GetUpdateItem().GetItem(), 100, "command"); v == nil || v.Field != "item.conditions" || v.Reason != ReasonTooLarge {
		t.Errorf("CheckSize = %+v", v)
	}
}
