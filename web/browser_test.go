//go:build browser

package web_test

// Browser tests: a whole demo county in this process, Debian's chromium
// driven headless by chromedp, and assertions on what a person sees.
//
//	go test -tags browser -count=1 ./web/
//
// YIZHAN_CHROMIUM names the browser (default /usr/bin/chromium).
// YIZHAN_SCREENSHOTS=DIR also saves screenshots of the main pages there
// (the repository keeps them in docs/screenshots).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/demo"
)

// chromium is the browser the tests drive: YIZHAN_CHROMIUM, or
// /usr/bin/chromium.
func chromium(t *testing.T) string {
	t.Helper()
	exe := os.Getenv("YIZHAN_CHROMIUM")
	if exe == "" {
		exe = "/usr/bin/chromium"
	}
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("no browser at %s (apt-get install chromium, or set YIZHAN_CHROMIUM): %v", exe, err)
	}
	return exe
}

// startChromium starts exe headless, for as long as ctx and the test
// last, and returns the browser's context (each person a new browser
// context of it).
func startChromium(t *testing.T, ctx context.Context, exe string) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 768),
	)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browserCtx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start the browser: %v", err)
	}
	return browserCtx
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	exe := chromium(t)
	base := freeBase(t)
	// A bound on the whole suite, not a target: it took six to seven
	// minutes on the two-core CI machine on a slow afternoon.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	// The county's clock: the supervision scenario moves it on a month.
	var skew atomic.Int64
	county, err := demo.Start(ctx, demo.Options{DataDir: t.TempDir(), HTTPBasePort: base,
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }, CardSweepInterval: 300 * time.Millisecond,
		DutySweepInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer county.Close()
	url := func(i int) string { return "http://" + county.Nodes[i].HTTPAddr() }
	countyURL, villageURL := url(0), url(4) // county-1 and 东村

	browserCtx := startChromium(t, ctx, exe)
	shots := os.Getenv("YIZHAN_SCREENSHOTS")

	// Each scenario has its own browser context: its own cookies.
	person := func(t *testing.T, base string) *browser {
		tctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		b := &browser{t: t, ctx: tctx, base: base, shots: shots}
		b.do(chromedp.EmulateViewport(1366, 768))
		return b
	}

	t.Run("citizen browses the catalogue at a village", func(t *testing.T) {
		b := person(t, villageURL)
		b.open("/")
		b.see("东村便民服务站")
		b.clickNav("a[href='/items?here=1']")
		b.see("在本办事点可办的事项")
		b.see("烟草专卖零售许可证核发") // 东村 proxy-files every item
		b.see("本点代办")
		b.shot("catalogue.png", false)
		// Everyday words, characters in order, pinyin initials: each finds
		// the licence, first.
		for _, q := range []string{"烟草证", "卖烟", "烟草许可", "ycz"} {
			b.open("/items?q=" + q)
			if got := b.text("ol.items a.name"); got != "烟草专卖零售许可证核发" {
				t.Errorf("searching %q: first %q", q, got)
			}
		}
		b.open("/items?q=个体户")
		if got := b.text("ol.items a.name"); got != "个体工商户设立登记" {
			t.Errorf("searching 个体户: first %q", got)
		}
		// Words that find nothing suggest the nearest items and the
		// departments.
		b.open("/items?q=香烟批发")
		b.see("没有找到符合条件的事项")
		b.see("您是不是要找")
		if got := b.text("#suggest"); !strings.Contains(got, "烟草专卖零售许可证核发") || !strings.Contains(got, "青山县民政局") {
			t.Errorf("the suggestions: %q", got)
		}
		b.open("/items?q=烟草")
		b.clickNav("a.name")
		b.see("烟草专卖零售许可证核发")
		if got := b.fact("法定时限"); got != "20 个工作日" {
			t.Errorf("法定时限 = %q, want 20 个工作日", got)
		}
		if got := b.fact("承诺时限"); got != "10 个工作日" {
			t.Errorf("承诺时限 = %q, want 10 个工作日", got)
		}
		b.see("营业执照") // a material
		b.see("复印件")  // its form
		b.see("本办事点（东村便民服务站）可以代办此事项")
		// This office's own place and phone, not only the county window's.
		if got := b.text("#here-place"); !strings.Contains(got, "城关镇东村村委会") || !strings.Contains(got, "0771-6201203") {
			t.Errorf("the item page's place at 东村: %q", got)
		}
		b.see("青山县政务服务中心") // who handles it
		b.shot("item.png", true)
		b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
		b.open("/items/450122-YC-001")
		b.shot("item-phone.png", false)
	})

	t.Run("catalogue page weight", func(t *testing.T) {
		b := person(t, villageURL)
		total, n := b.weigh("/items")
		t.Logf("catalogue page at the village: %d bytes transferred in %d requests (first visit, gzip)", total, n)
		if total > 100_000 {
			t.Errorf("the catalogue page weighs %d bytes, want under 100 KB", total)
		}
	})

	t.Run("pages fit a phone and an office PC", func(t *testing.T) {
		public := []string{"/", "/items", "/items/450122-YC-001", "/items/450122-YC-001/guide", "/cases/new?item=450122-YC-001", "/track", "/ask", "/login"}
		staff := []string{"/cases", "/cases/new?item=450122-YC-001", "/consultations", "/duty"}
		for _, size := range []struct{ w, h int64 }{{320, 640}, {390, 844}, {1024, 768}} {
			citizen := person(t, villageURL)
			citizen.do(chromedp.EmulateViewport(size.w, size.h))
			agent := person(t, villageURL)
			agent.signIn("dongcun", demo.AdminPassword)
			agent.do(chromedp.EmulateViewport(size.w, size.h))
			for _, c := range []struct {
				b     *browser
				pages []string
			}{{citizen, public}, {agent, staff}} {
				for _, p := range c.pages {
					c.b.open(p)
					if w := c.b.documentWidth(); w > size.w {
						t.Errorf("%s at %d px wide: the page is %d px wide (scrolls sideways)", p, size.w, w)
					}
					if name, ok := phoneShots[p]; ok && size.w == 390 && (c.b == citizen) == !strings.HasPrefix(name, "staff-") {
						c.b.shot("phone-"+name+".png", true)
					}
				}
			}
		}
		// The filing form tells a citizen where and when to bring the
		// papers.
		citizen := person(t, villageURL)
		citizen.open("/cases/new?item=450122-YC-001")
		if got := citizen.text("#bring"); !strings.Contains(got, "东村便民服务站") || !strings.Contains(got, "8:00") {
			t.Errorf("where to bring the papers: %q", got)
		}
	})

	t.Run("a failed sign-in shows an error", func(t *testing.T) {
		b := person(t, countyURL)
		b.open("/login")
		b.set("#f-username", "admin")
		b.set("#f-password", "not-the-password")
		resp := b.clickNav("button.primary")
		if resp.Status != 401 {
			t.Errorf("status %d, want 401", resp.Status)
		}
		b.see("用户名或密码错误")
		b.notSee("退出")
	})

	t.Run("a village agent cannot open the admin pages", func(t *testing.T) {
		b := person(t, villageURL)
		b.signIn("dongcun", demo.AdminPassword)
		b.see("办件队列") // an agent lands on the queue
		b.see("黄秀英")
		b.see("东村便民服务站 · 代办员")
		for _, p := range []string{"/admin/items", "/admin/grants", "/admin/staff", "/admin/federation"} {
			resp := b.open(p)
			if resp.Status != 403 {
				t.Errorf("%s: status %d, want 403", p, resp.Status)
			}
			b.see("无权限")
		}
	})

	t.Run("admin creates, edits and delegates an item", func(t *testing.T) {
		b := person(t, countyURL)
		b.open("/admin/items")
		b.see("工作人员登录") // sent to sign in first
		b.set("#f-username", "admin")
		b.set("#f-password", demo.AdminPassword)
		b.clickNav("button.primary")
		b.see("事项管理")
		b.see("系统管理员")

		// Create, with the promised limit above the statutory one.
		b.clickNav("a[href='/admin/items/new']")
		b.set("#f-code", "450122-SCJG-009")
		b.set("#f-name", "食品经营许可（仅销售预包装食品）备案")
		b.set("#f-department_code", "scjg")
		b.set("#f-statutory_limit_days", "5")
		b.set("#f-promised_limit_days", "8")
		b.set("#f-where_to_apply", "青山县政务服务中心一楼市场监管窗口")
		resp := b.clickNav("p.submit button.primary")
		if resp.Status != 400 {
			t.Errorf("create with promised > statutory: status %d, want 400", resp.Status)
		}
		if got := b.text("#e-promised_limit_days"); !strings.Contains(got, "承诺时限不能超过法定时限") {
			t.Errorf("error next to 承诺时限 = %q", got)
		}
		b.see("未保存")
		if got := b.value("#f-name"); got != "食品经营许可（仅销售预包装食品）备案" {
			t.Errorf("the form lost what was typed: name = %q", got)
		}
		b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#f-statutory_limit_days").scrollIntoView({block: "center"})`))
		b.shot("item-form-error.png", false)
		b.set("#f-promised_limit_days", "3")
		// A licence names the law that sets it (设定依据).
		if resp := b.clickNav("p.submit button.primary"); resp.Status != 400 {
			t.Errorf("a licence without its legal basis: status %d, want 400", resp.Status)
		}
		if got := b.text("#e-legal_basis"); !strings.Contains(got, "必填") {
			t.Errorf("error next to 设定依据 = %q", got)
		}
		b.set("#f-legal_basis", "《食品经营许可和备案管理办法》第三条")
		b.clickNav("p.submit button.primary")
		b.see("事项已创建")
		b.see("第 1 版")

		// Edit: a new version, with what changed.
		b.clickNav("a.btn[href$='/edit']")
		b.set("#f-promised_limit_days", "2")
		b.clickNav("p.submit button.primary")
		b.see("请填写修改说明") // every version says why
		b.set("#f-promised_limit_days", "2")
		b.set("#f-change_note", "按县政府办〔2026〕12 号文压缩承诺时限")
		b.clickNav("p.submit button.primary")
		b.see("已保存为新版本")
		b.see("第 2 版")
		if got := b.text("table.versions tbody tr:first-child"); !strings.Contains(got, "承诺时限") || !strings.Contains(got, "3 个工作日") || !strings.Contains(got, "2 个工作日") ||
			!strings.Contains(got, "12 号文") || !strings.Contains(got, "管理员") {
			t.Errorf("version 2 row = %q, want the change of 承诺时限 3 → 2, its reason and the editor's name", got)
		}

		// Delegate it to the township in the matrix, then revoke.
		b.open("/admin/grants")
		b.see("授权矩阵")
		row := "#item-450122-SCJG-009"
		township := row + " td[data-target='office:" + demo.TownshipCode + "']"
		b.clickNav(township + " a.add")
		b.see("授权给")
		if got := b.value("#f-target"); got != "office:"+demo.TownshipCode {
			t.Errorf("grant form target = %q", got)
		}
		b.set("#f-valid_until", "2030-06-30")
		b.clickNav("p.submit button.primary")
		b.see("授权已生效")
		cell := b.text(township)
		if !strings.Contains(cell, "受理、送达") || !strings.Contains(cell, "至 2030-06-30") {
			t.Errorf("matrix row after the grant = %q, want 受理、送达 至 2030-06-30", cell)
		}
		b.open("/admin/grants")
		b.shot("matrix.png", false)
		// Each revoke link says what it revokes (a screen reader lists
		// links by name: forty 撤销此授权 tell nothing apart).
		if got := b.attr(township+" a.rv", "aria-label"); !strings.Contains(got, "城关镇") || !strings.Contains(got, "受理、送达") {
			t.Errorf("the revoke link is named %q, want the office and the rights it revokes", got)
		}
		b.clickNav(township + " a.rv")
		b.see("撤销授权")
		b.see("城关镇便民服务中心")
		b.clickNav("button.danger")
		b.see("授权已撤销")
		if cell := b.text(township); strings.Contains(cell, "至 2030-06-30") {
			t.Errorf("matrix row after the revocation still shows the grant: %q", cell)
		}

		b.open("/admin/federation")
		b.see("系统运行状态")
		b.see("在线节点 6 / 6")
		b.see("城关镇便民服务中心")
		b.see("主节点")
		b.shot("federation.png", false)
		// A year the holiday data compiled in does not reach says so, and
		// asks the admin to set it; 2026 has its official holidays.
		b.open("/admin/calendar?year=2099")
		if got := b.text("#no-holidays"); !strings.Contains(got, "没有 2099 年的法定节假日数据") {
			t.Errorf("the calendar of a year without data: %q", got)
		}
		b.open("/admin/calendar?year=2027")
		if got := b.text("#next-missing"); !strings.Contains(got, "2028 年的法定节假日尚未设定") {
			t.Errorf("the 2027 calendar does not ask for 2028's: %q", got)
		}
		b.open("/admin/calendar?year=2026")
		b.see("国庆节")
		b.see("国务院办公厅节假日安排")
		b.shot("calendar.png", false)
		// A click on a day toggles it: a Monday becomes a holiday (with
		// the name typed beside), and back.
		b.set("#f-toggle-name", "县庆")
		b.clickNav("button.d[value='2026-12-28']")
		if got := b.attr("td:has(> button.d[value='2026-12-28'])", "class"); got != "hol" {
			t.Errorf("2026-12-28 after a click: class %q, want hol", got)
		}
		b.see("县庆")
		b.clickNav("button.d[value='2026-12-28']")
		if got := b.attr("td:has(> button.d[value='2026-12-28'])", "class"); got != "" {
			t.Errorf("2026-12-28 after a second click: class %q, want an ordinary day", got)
		}
	})

	t.Run("a post without a CSRF token is refused and changes nothing", func(t *testing.T) {
		b := person(t, countyURL)
		b.signIn("admin", demo.AdminPassword)
		b.open("/admin/staff")
		b.set("#f-username", "nocsrf")
		b.set("#f-name", "无令牌")
		b.set("#f-office_code", demo.DongcunCode)
		b.set("#f-password", "long-enough-password")
		b.do(chromedp.Click(chromedp.CSS("#staff-form input[name=roles][value='1']")))
		b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#staff-form input[name=csrf]").remove()`))
		resp := b.clickNav("#staff-form button.primary")
		if resp.Status != 403 {
			t.Errorf("status %d, want 403", resp.Status)
		}
		b.see("请求被拒绝")
		b.see("未做任何修改")
		b.open("/admin/staff")
		b.notSee("nocsrf")

		// The same form with its token goes through.
		b.set("#f-username", "withcsrf")
		b.set("#f-name", "有令牌")
		b.set("#f-office_code", demo.DongcunCode)
		b.set("#f-password", "long-enough-password")
		b.do(chromedp.Click(chromedp.CSS("#staff-form input[name=roles][value='1']")))
		b.clickNav("#staff-form button.primary")
		b.see("工作人员账号已创建")
		b.see("withcsrf")

		// The admin resets its password; the staff member must change it
		// before signing in, and is then signed in with the new one.
		b.open("/admin/staff/withcsrf/edit")
		b.set("#f-new_password", "reset-by-admin-1")
		b.clickNav("#staff-edit button.primary")
		b.see("工作人员账号已保存")
		b.see("待修改密码")
		u := person(t, villageURL)
		deadline := time.Now().Add(30 * time.Second)
		for { // until the reset reaches 东村
			u.open("/login")
			u.set("#f-username", "withcsrf")
			u.set("#f-password", "reset-by-admin-1")
			u.clickNav("form[action='/login'] button.primary")
			if strings.Contains(u.pageText(), "密码已由管理员重置") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the reset password at 东村: %s", u.pageText())
			}
			time.Sleep(300 * time.Millisecond)
		}
		u.set("#f-old_password", "reset-by-admin-1")
		u.set("#f-new_password", "my-own-password")
		u.set("#f-repeat", "my-own-passwrd")
		u.clickNav("#password-form button.primary")
		u.see("两次输入的新密码不一致")
		u.set("#f-old_password", "reset-by-admin-1")
		u.set("#f-new_password", "my-own-password")
		u.set("#f-repeat", "my-own-password")
		u.clickNav("#password-form button.primary")
		if got := u.text(".who .me"); !strings.Contains(got, "有令牌") {
			t.Errorf("signed in after the change as %q", got)
		}
	})

	t.Run("a case from filing at a village to closing", func(t *testing.T) {
		xicunURL := url(5)
		// A citizen at 东村 applies for the tobacco licence, without the
		// business licence; a wrong phone number first.
		citizen := person(t, villageURL)
		citizen.open("/items/450122-YC-001")
		citizen.clickNav("a.apply")
		citizen.see("申请人")
		citizen.set("#f-applicant-name", "黄小明")
		citizen.set("#f-applicant-id_number", "450122199205206028")
		citizen.set("#f-applicant-phone", "123")
		// Nothing is ticked for the citizen: they tick what they have.
		if got := citizen.attr("input[name=materials][value='营业执照']", "checked"); got != "" {
			t.Errorf("a material is ticked before the citizen ticks it: %q", got)
		}
		for _, m := range []string{"烟草专卖零售许可证申请表", "申请人居民身份证", "经营场所产权证明或租赁协议"} {
			citizen.do(chromedp.Click(chromedp.CSS("input[name=materials][value='" + m + "']")))
		}
		if resp := citizen.clickNav("p.submit button.primary"); resp.Status != 400 {
			t.Errorf("filing with a bad phone number: status %d, want 400", resp.Status)
		}
		if got := citizen.text("#e-applicant-phone"); !strings.Contains(got, "手机号") {
			t.Errorf("error next to 联系电话 = %q", got)
		}
		citizen.set("#f-applicant-phone", "13907710002")
		citizen.clickNav("p.submit button.primary")
		citizen.see("申请已提交")
		citizen.see("尚缺材料")
		citizen.see("预审")
		number, code := citizen.text("#case-number"), citizen.text("#query-code")
		t.Logf("case %s, query code %s", number, code)
		citizen.shot("case-filed.png", false)

		// An online filing waits at 东村 for its pre-check: the agent
		// there takes it up, and only then does it travel on.
		agent := person(t, villageURL)
		agent.signIn("dongcun", demo.AdminPassword)
		agent.waitAct("/cases/"+number, "precheck", 30*time.Second)
		agent.act("precheck")
		agent.see("已通过预审")

		// The county clerk finds it in the queue and sends the one-time
		// correction notice, then prints it.
		clerk := person(t, countyURL)
		clerk.signIn("chenjing", demo.AdminPassword)
		clerk.waitSee("/cases", number, 30*time.Second)
		clerk.see("办件队列")
		clerk.shot("queue.png", false)
		clerk.clickNav("a[href='/cases/" + number + "']")
		clerk.act("requestCorrection")
		clerk.see("已发出一次性告知")
		clerk.see("待补正")
		clerk.clickNav("a[href$='/print/correction']")
		clerk.see("补正材料通知书")
		clerk.see("营业执照")
		clerk.see("黄小明")
		// In the department's name, not the centre's, with its number.
		clerk.see("青山县烟草专卖局（印章）")
		clerk.see("补字〔")
		clerk.see(number + "号")
		clerk.shot("notice-correction.png", false)

		// The citizen tracks it at another village: the notice is there.
		tracker := person(t, xicunURL)
		tracker.waitTrack(number, code, "待补正", 30*time.Second)
		tracker.see("补正材料一次性告知")
		tracker.see("营业执照")
		tracker.see("4501**********6028") // the ID number masked
		tracker.shot("track.png", true)
		tracker.track(number, "00000000")
		tracker.see("没有找到该办件")

		// A clerk of another office cannot open it.
		other := person(t, xicunURL)
		other.signIn("xicun", demo.AdminPassword)
		if resp := other.open("/cases/" + number); resp.Status != 403 {
			t.Errorf("西村 agent on a 东村 case: status %d, want 403", resp.Status)
		}
		other.see("无权限")

		// The county: materials handed in, accepted (receipt printed),
		// reviewed; the approver decides; the clerk certifies.
		clerk.open("/cases/" + number)
		clerk.act("resubmit")
		clerk.see("补正材料已登记")
		clerk.act("accept")
		clerk.see("已受理")
		clerk.clickNav("a[href$='/print/accept']")
		clerk.see("受理通知书")
		clerk.see("决定予以受理")
		clerk.see("10 个工作日")
		clerk.see("青山县烟草专卖局（印章）")
		clerk.see("受字〔")
		clerk.shot("notice-accept.png", false)
		clerk.open("/cases/" + number)
		clerk.act("review")
		clerk.see("审核结论") // none chosen: the form asks for it
		clerk.fillAct("review", "conclusion", "agree")
		clerk.see("审核意见已记录")
		clerk.shot("case.png", false)

		approver := person(t, countyURL)
		approver.signIn("wangqiang", demo.AdminPassword)
		// The approver's own view: the cases waiting for their decision,
		// with the reviewer's opinion.
		approver.open("/cases?mine=decide")
		approver.see(number)
		if got := approver.text("td.review"); !strings.Contains(got, "同意") || strings.Contains(got, "不同意") {
			t.Errorf("the reviewer's opinion in 待我审批: %q", got)
		}
		approver.open("/cases/" + number)
		approver.fillAct("decide", "reason", "符合烟草专卖零售许可条件，准予许可")
		approver.see("审批决定已记录")
		approver.see("审批：准予行政许可")
		approver.clickNav("a[href$='/print/decision']")
		approver.see("准予行政许可决定书")
		approver.see("第三十八条第一款")
		approver.see("决字〔")
		approver.see("青山县烟草专卖局（印章）")
		approver.shot("notice-decision.png", false)

		clerk.open("/cases/" + number)
		clerk.fillAct("certify", "certificate_number", "450122202600999")
		clerk.see("已制证")

		// Back at 东村 the agent delivers it; the case closes.
		agent.waitAct("/cases/"+number, "deliver", 30*time.Second)
		// The agent prints the delivery receipt (送达回证) for the
		// citizen to sign: it names the decision and its number, the
		// certificate, and the village where it is handed over.
		agent.clickNav("a[href$='/print/delivery']")
		agent.see("送达回证")
		agent.see("准予行政许可决定书（决字〔")
		agent.see("450122202600999")
		agent.see("东村便民服务站")
		agent.see("受送达人签收")
		agent.shot("notice-delivery.png", false)
		agent.open("/cases/" + number)
		agent.act("deliver")
		agent.see("已送达")

		tracker.waitTrack(number, code, "已办结", 30*time.Second)
		tracker.see("审批：准予行政许可")
		tracker.see("制证")
		tracker.see("证照编号")

		// Still at 西村, the citizen rates it (it is recorded at 东村,
		// which delivered it). 不满意 needs a comment: the error is next
		// to the field.
		tracker.see("好差评")
		// Each choice is a target a finger hits: its label at least 24 px
		// high, the radio itself at least 20 px.
		if got := tracker.eval(`(() => { const ls = [...document.querySelectorAll("#f-rate-rating label")]; if (!ls.length) return "none"; for (const l of ls) { const r = l.getBoundingClientRect(), i = l.querySelector("input").getBoundingClientRect(); if (r.height < 24 || i.width < 20 || i.height < 20) return l.textContent.trim() + ": label " + Math.round(r.height) + " px high, radio " + Math.round(i.width) + "×" + Math.round(i.height); } return "ok"; })()`); got != "ok" {
			t.Errorf("the rating choices are small: %s", got)
		}
		tracker.do(chromedp.Click(chromedp.CSS("#f-rate-rating input[value='4']")))
		if resp := tracker.clickNav("#rate button.primary"); resp.Status != 400 {
			t.Errorf("不满意 without a comment: status %d, want 400", resp.Status)
		}
		if got := tracker.textIf("#e-rate-reason"); !strings.Contains(got, "请写明哪里不满意") {
			t.Errorf("error next to 评价说明 = %q", got)
		}
		tracker.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#rate").scrollIntoView({block: "center"})`))
		tracker.shot("track-rate-error.png", false)
		tracker.do(chromedp.Click(chromedp.CSS("#f-rate-rating input[value='1']")))
		tracker.set("#f-rate-reason", "代办员很耐心，一次就办好了")
		tracker.clickNav("#rate button.primary")
		tracker.see("评价已提交")
		if got := tracker.textIf("#rating"); !strings.Contains(got, "非常满意") || !strings.Contains(got, "代办员很耐心，一次就办好了") {
			t.Errorf("the rating on the page = %q\n%s", got, tracker.pageText())
		}
		tracker.see("好差评：非常满意") // in the timeline
		tracker.notSee("提交评价")  // once only

		// Then a complaint, about the same case.
		tracker.openAct("complain")
		tracker.set("#f-complain-reason", "领证时窗口无人，等了半小时")
		tracker.clickNav("#act-complain button.primary")
		tracker.see("投诉已提交")
		tracker.see("已提交投诉 1 件")
		tracker.see("领证时窗口无人，等了半小时") // in the timeline
		tracker.shot("track-rated.png", true)

		// The county window sees both on its copy of the case.
		clerk.waitSee("/cases/"+number, "领证时窗口无人", 30*time.Second)
		clerk.see("非常满意")
		if got := clerk.textIf("#complaints"); got != "1 件" {
			t.Errorf("complaints on the staff page = %q, want 1 件", got)
		}

		// The complaint is followed up at the county, assigned to 东村,
		// whose agent delivered the case: the agent replies from the 监察
		// page; the citizen, tracking the case, says it is resolved.
		agent.waitSee("/supervision", "领证时窗口无人", 30*time.Second)
		agent.set("article.followup [name=text]", "已调整窗口值班安排，午间有人值守")
		agent.clickNav("article.followup button.primary")
		agent.see("已答复群众")
		tracker.waitTrack(number, code, "已调整窗口值班安排", 30*time.Second)
		tracker.see("请告诉我们问题是否解决")
		tracker.do(chromedp.Click(chromedp.CSS("#followups input[name=resolved][value='1']")))
		tracker.clickNav("#followups button.primary")
		tracker.see("回访意见已提交")
		tracker.see("问题已解决")
		tracker.shot("track-revisit.png", true)
	})

	t.Run("after a delegation to the township the next case stops there", func(t *testing.T) {
		admin := person(t, countyURL)
		admin.signIn("admin", demo.AdminPassword)
		admin.open("/admin/grants/new?item=450122-JT-001&target=office:" + demo.TownshipCode)
		for _, r := range []string{"2", "3", "4"} { // 审核, 审批, 制证 besides 受理, 送达
			admin.do(chromedp.Click(chromedp.CSS("input[name=rights][value='" + r + "']")))
		}
		admin.clickNav("p.submit button.primary")
		admin.see("授权已生效")

		citizen := person(t, villageURL)
		citizen.waitSee("/items/450122-JT-001", "城关镇便民服务中心", 30*time.Second)
		citizen.clickNav("a.apply")
		citizen.set("#f-applicant-name", "韦大勇")
		citizen.set("#f-applicant-id_number", "450122198703154510")
		citizen.set("#f-applicant-phone", "13907710003")
		citizen.clickNav("p.submit button.primary")
		citizen.see("申请已提交")
		route := citizen.text("ol.route")
		if !strings.Contains(route, "受理城关镇便民服务中心") || !strings.Contains(route, "审批城关镇便民服务中心") {
			t.Errorf("route of the next case = %q, want it accepted and decided at the township", route)
		}
		number := citizen.text("#case-number")
		// Taken up at the pre-check at 东村, it goes on to the township.
		agent := person(t, villageURL)
		agent.signIn("dongcun", demo.AdminPassword)
		agent.waitAct("/cases/"+number, "precheck", 30*time.Second)
		agent.act("precheck")
		agent.see("已通过预审")
		township := person(t, url(3))
		township.signIn("lihua", demo.AdminPassword)
		township.waitSee("/cases", number, 30*time.Second)
	})

	t.Run("an agent files with a scan at a village; the county clerk downloads it", func(t *testing.T) {
		dir := t.TempDir()
		pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("营业执照扫描件 "), 20000)...)
		scanPath, textPath := filepath.Join(dir, "营业执照.pdf"), filepath.Join(dir, "说明.pdf")
		if err := os.WriteFile(scanPath, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(textPath, []byte("not a pdf at all"), 0o600); err != nil {
			t.Fatal(err)
		}
		agent := person(t, villageURL)
		agent.signIn("dongcun", demo.AdminPassword)
		fill := func(scan string) {
			agent.open("/cases/new?item=450122-YC-001")
			agent.set("#f-applicant-name", "覃海燕")
			agent.set("#f-applicant-id_number", "450122198811300036")
			agent.set("#f-applicant-phone", "13907710005")
			agent.do(chromedp.SetUploadFiles(chromedp.CSS("input[name='file.营业执照']"), []string{scan}))
		}
		// A file whose content is not a PDF, whatever its name says.
		fill(textPath)
		if resp := agent.clickNav("p.submit button.primary"); resp.Status != 400 {
			t.Errorf("a text file named .pdf: status %d, want 400", resp.Status)
		}
		agent.see("不是 PDF、JPG 或 PNG 文件")
		fill(scanPath)
		agent.clickNav("p.submit button.primary")
		agent.see("申请已提交")
		number := agent.text("#case-number")

		clerk := person(t, countyURL)
		clerk.signIn("chenjing", demo.AdminPassword)
		clerk.waitSee("/cases/"+number, "扫描件：营业执照.pdf", 30*time.Second)
		href := clerk.attr("#materials a.file", "href")
		resp, body := clerk.download(countyURL, href)
		if resp.StatusCode != 200 || !bytes.Equal(body, pdf) || resp.Header.Get("Content-Type") != "application/pdf" ||
			!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("the scan downloaded at the county: %d, %d bytes, %q, %q", resp.StatusCode, len(body), resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
		}
		// Not for the public.
		anon, err := http.Get(countyURL + href)
		if err != nil {
			t.Fatal(err)
		}
		anon.Body.Close()
		if anon.StatusCode == 200 && anon.Header.Get("Content-Type") == "application/pdf" {
			t.Error("the scan is served without a sign-in")
		}
	})

	t.Run("a refusal at the township is printed in the township government's name", func(t *testing.T) {
		clerk := person(t, url(3))
		clerk.signIn("lihua", demo.AdminPassword)
		clerk.open("/cases/new?item=450122-SCJG-001")
		clerk.set("#f-applicant-name", "蓝海军")
		clerk.set("#f-applicant-id_number", "450122198703154510")
		clerk.set("#f-applicant-phone", "13907710006")
		clerk.clickNav("p.submit button.primary")
		clerk.see("申请已提交")
		number := clerk.text("#case-number")
		clerk.open("/cases/" + number)
		clerk.openAct("refuse")
		clerk.set("#act-refuse [name=reason]", "经营场所位于禁止经营区域")
		clerk.set("#act-refuse [name=legal_basis]", "《促进个体工商户发展条例》第十条")
		clerk.clickNav("#act-refuse button.primary")
		clerk.see("已决定不予受理")
		clerk.clickNav("a[href$='/print/refusal']")
		clerk.see("不予受理决定书")
		clerk.see("本机关决定不予受理")
		clerk.see("城关镇人民政府（印章）")
		clerk.see("不受字〔")
		if got := clerk.text("#appeal"); !strings.Contains(got, "行政复议") || !strings.Contains(got, "行政诉讼") {
			t.Errorf("the printed refusal's appeal notice: %q", got)
		}
		clerk.open("/cases/" + number)
		clerk.clickNav("a[href$='/print/delivery']")
		clerk.see("送达回证")
		clerk.see("不予受理决定书（不受字〔")

		// The clerk finds the citizen's cases by ID number, and by name;
		// the ID number stays out of the address (the search is a POST).
		for _, who := range []string{"450122198703154510", "蓝海军"} {
			clerk.open("/cases")
			clerk.set("#f-applicant", who)
			resp := clerk.clickNav("form[role=search] button")
			if resp == nil || resp.Status != 200 || strings.Contains(resp.URL, "450122") {
				t.Errorf("the search for %s: %v", who, resp)
			}
			clerk.see("查找申请人的办件")
			clerk.see(number)
		}
		clerk.open("/cases")
		clerk.set("#f-applicant", "查无此人")
		clerk.clickNav("form[role=search] button")
		clerk.see("没有办件。")
		clerk.notSee(number)
	})

	t.Run("a lost query code is reissued at the village where the case was filed", func(t *testing.T) {
		agent := person(t, villageURL)
		agent.signIn("dongcun", demo.AdminPassword)
		agent.open("/cases/new?item=450122-YB-001")
		agent.set("#f-applicant-name", "黄海生")
		agent.set("#f-applicant-id_number", "450122198703154510")
		agent.set("#f-applicant-phone", "13907710008")
		agent.clickNav("p.submit button.primary")
		agent.see("申请已提交")
		number, old := agent.text("#case-number"), agent.text("#query-code")
		agent.open("/cases/" + number)
		agent.openAct("reissueQueryCode")
		agent.set("#act-reissueQueryCode [name=reason]", "核验申请人身份证原件")
		agent.clickNav("#act-reissueQueryCode button.primary")
		msg := agent.text("p.flash")
		m := regexp.MustCompile(`查询码：([0-9A-Z-]+)`).FindStringSubmatch(msg)
		if m == nil || m[1] == old {
			t.Fatalf("the reissue says %q (the old code %s)", msg, old)
		}
		agent.see("补发查询码")
		citizen := person(t, villageURL)
		citizen.track(number, m[1])
		citizen.see(number)
		citizen.notSee("没有找到该办件")
		citizen.track(number, old)
		citizen.see("没有找到该办件")
	})

	t.Run("a citizen at the township files online for an item the county takes in", func(t *testing.T) {
		citizen := person(t, url(3))
		citizen.open("/items/450122-YC-001")
		citizen.see("不受理此事项")
		citizen.see("可以在网上向 青山县政务服务中心 申请")
		if got := citizen.text("ol.route"); !strings.Contains(got, "受理青山县政务服务中心") {
			t.Errorf("the route shown at the township: %q", got)
		}
		citizen.clickNav("a.apply")
		citizen.see("此事项由 青山县政务服务中心 受理")
		citizen.set("#f-applicant-name", "蓝丽")
		citizen.set("#f-applicant-id_number", "450122199205206028")
		citizen.set("#f-applicant-phone", "13907710009")
		citizen.clickNav("p.submit button.primary")
		citizen.see("申请已提交")
		if number := citizen.text("#case-number"); !strings.HasPrefix(number, demo.CountyCode+"-") {
			t.Errorf("filed as %s, want a number of the county", number)
		}
		citizen.see("请带齐材料原件到 青山县政务服务中心")
	})

	t.Run("sign-out", func(t *testing.T) {
		b := person(t, countyURL)
		b.signIn("admin", demo.AdminPassword)
		cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range cookies.Cookies {
			if c.Name == "yz_session" {
				found = true
				if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Path != "/" {
					t.Errorf("session cookie: httpOnly %v, sameSite %s, path %s", c.HTTPOnly, c.SameSite, c.Path)
				}
			}
		}
		if !found {
			t.Error("no yz_session cookie after signing in")
		}
		b.clickNav("header form button.link")
		b.see("工作人员登录")
		resp := b.open("/admin/items")
		b.see("工作人员登录")
		if !strings.Contains(resp.URL, "/login") {
			t.Errorf("after sign-out /admin/items ended at %s, want the sign-in page", resp.URL)
		}
	})

	t.Run("a question left online at a village is answered by the township", func(t *testing.T) {
		townshipURL := url(3)
		citizen := person(t, villageURL)
		citizen.open("/")
		citizen.clickNav("a[href='/ask']")
		citizen.see("网上咨询")
		citizen.set("#f-item_code", "450122-SCJG-001")
		citizen.set("#f-question", "开个体小卖部，营业执照要带哪些材料？")
		citizen.set("#f-contact", "13907710002")
		citizen.clickNav("form[action='/ask'] button")
		citizen.see("咨询已提交")
		id, code := citizen.text("#ask-id"), citizen.text("#ask-code")

		agent := person(t, villageURL)
		agent.signIn("dongcun", demo.AdminPassword)
		agent.open("/")
		agent.clickNav("a[href='/consultations']")
		agent.set("#f-question", "村里什么时候可以交医保？")
		agent.set("#f-answer", "每年9月至12月在村便民服务站缴纳。")
		agent.clickNav("form[action='/consultations'] button")
		agent.see("咨询已登记")
		agent.see("村里什么时候可以交医保？")

		clerk := person(t, townshipURL)
		clerk.signIn("lihua", demo.AdminPassword)
		clerk.waitSee("/consultations", id, 30*time.Second)
		clerk.see("开个体小卖部")
		clerk.see("联系电话：13907710002") // the office that answers may call back
		clerk.set("article.question textarea[name=answer]", "带身份证和经营场所证明，到城关镇便民服务中心办理。")
		clerk.clickNav("article.question button")
		clerk.see("已答复")

		citizen.open("/ask")
		citizen.set("#f-id", id)
		citizen.set("#f-query_code", code)
		citizen.clickNav("form[action='/ask/answer'] button")
		if got := citizen.text("#ask-answer"); !strings.Contains(got, "到城关镇便民服务中心办理") {
			t.Errorf("the answer the citizen reads at the village: %q", got)
		}
	})

	t.Run("a night shift at a village: take over, log a call, report, see the county acknowledge", func(t *testing.T) {
		cst := time.FixedZone("CST", 8*3600)
		// A second duty officer at 东村, for tomorrow's swap (调班) below.
		admin := person(t, countyURL)
		admin.signIn("admin", demo.AdminPassword)
		admin.open("/admin/staff")
		admin.set("#f-username", "dc-zhiban2")
		admin.set("#f-name", "韦值班")
		admin.set("#f-office_code", demo.DongcunCode)
		admin.set("#f-password", "long-enough-password")
		admin.do(chromedp.Click(chromedp.CSS("#staff-form input[name=roles][value='7']")))
		admin.clickNav("#staff-form button.primary")
		admin.see("工作人员账号已创建")
		leader := person(t, villageURL)
		leader.signIn("dc-daiban", demo.AdminPassword)
		leader.open("/duty")
		leader.do(chromedp.Click(chromedp.CSS("#roster summary"), chromedp.NodeVisible))
		leader.set("#f-start", time.Now().In(cst).Add(-5*time.Minute).Format("2006-01-02T15:04"))
		leader.set("#f-end", time.Now().In(cst).Add(12*time.Hour).Format("2006-01-02T15:04"))
		leader.set("#f-leader", "dc-daiban")
		leader.set("#f-officers", "dc-zhiban")
		leader.set("#f-duty_phone", "0771-6201110")
		leader.clickNav("#roster form button")
		leader.see("值班表已发布")

		// Tomorrow's night shift, published, then swapped (调班): the
		// second officer on it in the first one's place, with the reason.
		tomorrow := time.Now().In(cst).Add(24 * time.Hour)
		leader.do(chromedp.Click(chromedp.CSS("#roster > details > summary"), chromedp.NodeVisible))
		leader.set("#f-start", tomorrow.Format("2006-01-02T15:04"))
		leader.set("#f-end", tomorrow.Add(12*time.Hour).Format("2006-01-02T15:04"))
		leader.set("#f-leader", "dc-daiban")
		leader.set("#f-officers", "dc-zhiban")
		leader.clickNav("#roster > details form button")
		leader.see("值班表已发布")
		swap := "#roster tbody tr:nth-child(2) "
		// A swap the API refuses (someone not on the shift taken off) is
		// named in the error summary, whose link reaches the row's input,
		// marked, with what was typed kept.
		leader.open("/duty")
		leader.do(chromedp.Click(chromedp.CSS(swap+"details summary"), chromedp.NodeVisible))
		leader.set(swap+"[name=from]", "nobody-on-it")
		leader.set(swap+"[name=to]", "dc-zhiban2")
		leader.set(swap+"[name=reason]", "家中有事") // required: the browser sends no swap without it
		leader.clickNav(swap + "form button")
		leader.see("未保存")
		href := leader.attr(".errsum a", "href")
		if !strings.HasPrefix(href, "#f-swap-") {
			t.Fatalf("the refused swap's summary links to %q, not to the row's input", href)
		}
		if got := leader.attr(href, "aria-invalid"); got != "true" {
			t.Errorf("the input the summary links to (%s) is not marked: aria-invalid=%q", href, got)
		}
		if got := leader.value(swap + "[name=from]"); got != "nobody-on-it" {
			t.Errorf("the refused row's form lost what was typed: from=%q", got)
		}
		for try := 0; ; try++ {
			leader.open("/duty")
			leader.do(chromedp.Click(chromedp.CSS(swap+"details summary"), chromedp.NodeVisible))
			leader.set(swap+"[name=from]", "dc-zhiban")
			leader.set(swap+"[name=to]", "dc-zhiban2")
			leader.set(swap+"[name=reason]", "家中有事")
			leader.clickNav(swap + "form button")
			if strings.Contains(leader.pageText(), "已调班") || try == 20 {
				break
			}
			time.Sleep(500 * time.Millisecond) // the new officer not at the village yet
		}
		leader.see("已调班")
		if got := leader.text("#roster tbody tr:nth-child(2)"); !strings.Contains(got, "韦值班") || !strings.Contains(got, "调班 1 次") || strings.Contains(got, "黄值班") {
			t.Errorf("tomorrow's shift after the swap: %q", got)
		}

		officer := person(t, villageURL)
		officer.signIn("dc-zhiban", demo.AdminPassword)
		officer.open("/")
		officer.clickNav("a[href='/duty']")
		if got := officer.text("#shift-state"); got != "待接班" {
			t.Errorf("the shift before it is taken over: %q", got)
		}
		officer.clickNav("#shift form[action$='/takeOver'] button")
		officer.see("已接班")
		officer.set("#f-caller", "镇政府办 李主任")
		officer.set("#f-phone", "0771-6201001")
		officer.set("#f-matter", "通知明早八点到镇里开防汛会")
		officer.set("#f-told", "村主任")
		officer.clickNav("form[action='/duty/log'] button")
		officer.see("已记入值班日志")
		officer.see("通知明早八点到镇里开防汛会")
		officer.see("填写首报")
		happened := time.Now().In(cst).Add(-20 * time.Minute).Format("2006-01-02T15:04")
		officer.set("#f-category", "1")
		officer.set("#f-level", "4")
		officer.set("#f-title", "东村后山滑坡")
		officer.set("#f-place", "东村后山三组")
		officer.set("#f-occurred_at", happened)
		officer.set("#f-details", "暴雨引发山体滑坡，冲毁农房一间，无人员伤亡")
		officer.set("#f-measures", "已疏散三户村民")
		officer.clickNav("form[action='/duty'] button")
		officer.see("待带班领导审核签发")
		// The draft corrected before its signature: the form holds it.
		officer.clickNav("article.report a.edit")
		if got := officer.value("#f-title"); got != "东村后山滑坡" {
			t.Errorf("the draft's title on the form: %q", got)
		}
		officer.set("#f-place", "东村后山三组李家屋后")
		officer.clickNav("#report-form button.primary")
		officer.see("报告已修改")
		officer.see("东村后山三组李家屋后")

		leader.open("/duty")
		leader.clickNav("article.report form[action$='/sign'] button")
		leader.see("报告已签发")
		id := strings.TrimPrefix(leader.attr("article.report", "id"), "own-")

		county := person(t, countyURL)
		county.signIn("zhiban", demo.AdminPassword)
		county.waitSee("/duty", "东村后山滑坡", 30*time.Second)
		county.see("待签收的下级报告")
		// A request the API refuses (too long) comes back on that report's
		// form, its field marked and reached from the error summary.
		county.set("#below-"+id+" [name=request]", strings.Repeat("续", 5000))
		county.clickNav("#below-" + id + " button")
		county.see("未保存")
		if href := county.attr(".errsum a", "href"); href != "#f-ack-"+id+"-request" {
			t.Errorf("the refused acknowledgement's summary links to %q", href)
		} else if got := county.attr(href, "aria-invalid"); got != "true" {
			t.Errorf("the request the summary links to is not marked: %q", got)
		}
		county.set("#below-"+id+" [name=request]", "请续报房屋受损情况")
		county.clickNav("#below-" + id + " button")
		county.see("已签收")

		officer.waitSee("/duty", "请续报房屋受损情况", 30*time.Second)
		officer.see("签收")
		officer.see("今日已报告紧急情况，无需零报告")

		// A first report of an event two hours ago left unsigned: the
		// village's sweep flags it, and the county sees it.
		officer.open("/duty")
		officer.set("#f-category", "2")
		officer.set("#f-level", "4")
		officer.set("#f-title", "东村桥头货车侧翻")
		officer.set("#f-place", "东村桥头")
		officer.set("#f-occurred_at", time.Now().In(cst).Add(-2*time.Hour).Format("2006-01-02T15:04"))
		officer.set("#f-details", "货车侧翻，司机轻伤")
		officer.clickNav("form[action='/duty'] button")
		officer.waitSee("/duty", "已向上级发出逾时未审签提示", 30*time.Second)
		county.waitSee("/duty", "逾时未审签的下级报告", 30*time.Second)
		county.see("东村桥头货车侧翻")

		// The county's board: who is on duty below it, their zero reports, the month's assessment.
		county.open("/duty")
		county.see("下级值班情况")
		county.see("本月值班考核")
		resp, body := county.download(countyURL, county.attr("#assessment a[download]", "href"))
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") || !bytes.HasPrefix(body, []byte("PK")) {
			t.Errorf("the reports' export answered %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Disposition"), len(body))
		} else if x, err := excelize.OpenReader(bytes.NewReader(body)); err != nil {
			t.Errorf("the reports' export does not open: %v", err)
		} else {
			rows, _ := x.GetRows("紧急信息报告")
			if len(rows) < 4 || rows[3][0] != id {
				t.Errorf("the reports' export: %q, want report %s", rows, id)
			}
			if un, _ := x.GetRows("逾时未审签"); len(un) != 2 || un[1][4] != "东村桥头货车侧翻" {
				t.Errorf("the unsigned sheet: %q", un)
			}
			x.Close()
		}

		// The county admin lists the utilities' duty phones; every office sees them.
		admin.open("/duty")
		admin.do(chromedp.Click(chromedp.CSS("#duty-policy summary"), chromedp.NodeVisible))
		admin.set("#f-contacts", "供电，县供电公司，95598")
		admin.set("#f-limits", "自然灾害，地震，30")
		admin.clickNav("#duty-policy button")
		admin.see("没有“地震”这一等级")
		admin.set("#f-limits", "自然灾害，特别重大，30")
		admin.clickNav("#duty-policy button")
		admin.see("值班设置已保存")
		if got := admin.value("#f-limits"); !strings.Contains(got, "自然灾害，特别重大（Ⅰ级），30") {
			t.Errorf("the limits shown after saving: %q", got)
		}
		officer.waitSee("/duty", "县供电公司", 30*time.Second)
	})

	t.Run("the county admin sets the case policy", func(t *testing.T) {
		admin := person(t, countyURL)
		admin.signIn("admin", demo.AdminPassword)
		admin.open("/admin/case-policy")
		ticked, err := chromedp.Run(admin.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q).checked`, "#case-policy input[value='"+demo.TownshipCode+"']")))
		if err != nil || !ticked {
			t.Errorf("城关镇 (single-handed in the demo) is not ticked: %v", err)
		}
		admin.set("#f-correction_wait_days", "400")
		admin.clickNav("#case-policy button")
		admin.see("补正期限（天）") // named in the summary of what is wrong
		admin.set("#f-correction_wait_days", "20")
		admin.clickNav("#case-policy button")
		admin.see("办件规则已保存")
		if got := admin.value("#f-correction_wait_days"); got != "20" {
			t.Errorf("the wait shown after saving: %q", got)
		}
		if got := admin.value("#f-reconsideration_body"); got != "青山县人民政府" {
			t.Errorf("the reconsideration body after saving: %q", got)
		}
	})

	t.Run("county staff land on their work, on a phone and an office PC", func(t *testing.T) {
		number := reviewedAtCounty(t, county.Nodes[0].HTTPAddr(), county.Nodes[1].HTTPAddr(), county.Nodes[2].HTTPAddr())
		for _, who := range []struct {
			user, landing string
			pages         []string
		}{
			{"chenjing", "/cases", []string{"/cases", "/cases?mine=1", "/cases?all=1", "/cases/" + number, "/cases/new?item=450122-YC-001"}},
			{"wangqiang", "/cases", []string{"/cases?mine=decide", "/cases/" + number}},
			{"admin", "/admin/items", []string{"/admin", "/admin/items", "/admin/items/new", "/admin/items/450122-YC-001/edit",
				"/admin/items/450122-YC-001/versions", "/admin/grants", "/admin/staff", "/admin/offices", "/admin/calendar",
				"/admin/case-policy", "/admin/changes", "/admin/federation"}},
			{"jiancha", "/supervision", []string{"/supervision"}},
		} {
			b := person(t, countyURL)
			b.signIn(who.user, demo.AdminPassword)
			if got := b.eval(`location.pathname`); got != who.landing {
				t.Errorf("%s lands on %s after signing in, want %s", who.user, got, who.landing)
			}
			for _, size := range []struct{ w, h int64 }{{320, 640}, {390, 844}, {1024, 768}} {
				b.do(chromedp.EmulateViewport(size.w, size.h))
				for _, p := range who.pages {
					if resp := b.open(p); resp.Status != 200 {
						t.Errorf("%s: %s answered %d", who.user, p, resp.Status)
						continue
					}
					if w := b.documentWidth(); w > size.w {
						t.Errorf("%s at %d px wide (%s): the page is %d px wide (scrolls sideways)", p, size.w, who.user, w)
						t.Log("wider than the screen:", b.eval(`[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > innerWidth + 1).slice(0, 8).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().width)).join(" | ")`))
					}
				}
			}
		}

		// The queue puts what waits for the person signed in above what
		// waits for others: at the approver's, the reviewed case (his
		// 审批) above one filed later that waits for the clerk's 受理; at
		// the clerk's, that 受理 above the reviewed case, which she may
		// only suspend (可中止).
		waiting := filedAtCounty(t, county.Nodes[0].HTTPAddr(), county.Nodes[1].HTTPAddr(), county.Nodes[2].HTTPAddr())
		for _, user := range []string{"chenjing", "wangqiang"} {
			b := person(t, countyURL)
			b.signIn(user, demo.AdminPassword)
			b.open("/cases")
			rows := b.eval(`[...document.querySelectorAll("tbody tr")].map(tr => (tr.querySelector("td.todo").firstChild?.nodeType === 3 && tr.querySelector("td.todo").firstChild.textContent.trim() ? "mine " : "others ") + tr.querySelector("td").textContent.trim()).join("\n")`)
			if !strings.Contains(rows, waiting) || !strings.Contains(rows, number) {
				t.Errorf("%s's queue lacks %s or %s:\n%s", user, waiting, number, rows)
			}
			if strings.Contains(rows, "others ") && regexp.MustCompile(`(?s)others .*\nmine `).MatchString(rows) {
				t.Errorf("%s's queue lists a case waiting for others above one waiting for them:\n%s", user, rows)
			}
			wants := map[string][]string{"chenjing": {"mine " + waiting, "others " + number}, "wangqiang": {"mine " + number, "others " + waiting}}[user]
			for _, want := range wants {
				if !strings.Contains(rows, want) {
					t.Errorf("%s's queue: want the row %q:\n%s", user, want, rows)
				}
			}
		}

		approver := person(t, countyURL)
		approver.signIn("wangqiang", demo.AdminPassword)
		// 待我审批: the case, with the reviewer's opinion beside it.
		approver.open("/cases?mine=decide")
		if got := approver.eval(fmt.Sprintf(`(() => { for (const tr of document.querySelectorAll("tbody tr")) if (tr.textContent.includes(%q)) return tr.querySelector("td.review").textContent; return ""; })()`, number)); !strings.Contains(got, "同意") || !strings.Contains(got, "材料齐全") {
			t.Errorf("待我审批 shows case %s with the opinion %q", number, got)
		}
		approver.do(chromedp.EmulateViewport(390, 844))
		approver.open("/cases?mine=decide")
		approver.shot("phone-staff-decide.png", true)
		// The route says what is done, where the case is, and what is next.
		approver.open("/cases/" + number)
		approver.shot("phone-staff-case.png", true)
		classes := approver.eval(`[...document.querySelectorAll("ol.route li")].map(li => li.className).join(" ")`)
		if !regexp.MustCompile(`^(done )+current( next)*$`).MatchString(classes) {
			t.Errorf("the route's steps are %q: want done…, one current, then next…", classes)
		}
		if got := approver.text("ol.route li.current"); !strings.Contains(got, "审批") {
			t.Errorf("the current step %q, want 审批", got)
		}
		// The skip link leads to the page's main part.
		if got := approver.eval(`(() => { const a = document.querySelector("a.skip"); return a && document.querySelector(a.getAttribute("href")) ? a.textContent : ""; })()`); got != "跳到正文" {
			t.Errorf("the skip link: %q", got)
		}

		// What a user must see is drawn in a colour of its own, on an
		// office PC's browser too (the stylesheet has no CSS variables).
		visible := func(b *browser, sel string) {
			t.Helper()
			got := b.eval(fmt.Sprintf(`(() => {
				const els = [...document.querySelectorAll(%q)];
				if (!els.length) return "none";
				const bg = el => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor; if (c !== "rgba(0, 0, 0, 0)" && c !== "transparent") return c; } return "rgb(255, 255, 255)"; };
				for (const el of els) {
					const r = el.getBoundingClientRect(), st = getComputedStyle(el);
					if (r.width === 0 || r.height === 0 || st.visibility === "hidden") return "hidden: " + el.textContent;
					if (st.color === bg(el)) return "same colour as its background: " + el.textContent;
				}
				return "ok";
			})()`, sel))
			if got != "ok" {
				t.Errorf("%s at %s: %s", sel, b.eval(`location.pathname`), got)
			}
		}
		admin := person(t, countyURL)
		admin.signIn("admin", demo.AdminPassword)
		admin.do(chromedp.EmulateViewport(1024, 768))
		admin.open("/admin")
		visible(admin, "header.top a")
		citizen := person(t, villageURL)
		citizen.do(chromedp.EmulateViewport(1024, 768))
		citizen.open("/cases/new?item=450122-YC-001")
		visible(citizen, "header.top a")
		visible(citizen, "button.primary")

		// Controls are big enough to hit with a finger: the matrix's ＋.
		admin.do(chromedp.EmulateViewport(390, 844))
		admin.open("/admin/grants")
		admin.shot("phone-matrix.png", false)
		if got := admin.eval(`(() => { const a = [...document.querySelectorAll("a.add")]; if (!a.length) return "none"; for (const el of a) { const r = el.getBoundingClientRect(); if (r.width < 24 || r.height < 24) return Math.round(r.width) + "×" + Math.round(r.height); if (!el.getAttribute("aria-label")) return "unnamed"; } return "ok"; })()`); got != "ok" {
			t.Errorf("the matrix's ＋ links: %s (want ≥ 24×24 px, each named)", got)
		}
	})

	t.Run("a denial at the county carries the appeal notice, on the page and printed", func(t *testing.T) {
		number := reviewedAtCounty(t, county.Nodes[0].HTTPAddr(), county.Nodes[1].HTTPAddr(), county.Nodes[2].HTTPAddr())
		approver := person(t, countyURL)
		approver.signIn("wangqiang", demo.AdminPassword)
		approver.open("/cases/" + number)
		approver.openAct("decide")
		approver.set("#act-decide [name=approved]", "0")
		approver.set("#act-decide [name=reason]", "经营场所与学校距离不足 50 米，不符合布局要求")
		approver.clickNav("#act-decide button.primary")
		approver.see("必填") // a denial cites its legal basis
		approver.set("#act-decide [name=approved]", "0")
		approver.set("#act-decide [name=legal_basis]", "《烟草专卖法实施条例》第十条")
		approver.clickNav("#act-decide button.primary")
		approver.see("审批决定已记录")
		if got := approver.text("#appeal-notice"); !strings.Contains(got, "六十日内向青山县人民政府申请行政复议") || !strings.Contains(got, "青山县人民法院") {
			t.Errorf("the appeal notice on the case page: %q", got)
		}
		approver.clickNav("a[href$='/print/decision']")
		approver.see("不予行政许可决定书")
		approver.see("决定不予行政许可")
		approver.see("《烟草专卖法实施条例》第十条")
		approver.see("青山县烟草专卖局（印章）")
		if got := approver.text("#appeal"); !strings.Contains(got, "六个月内向青山县人民法院提起行政诉讼") {
			t.Errorf("the printed decision's appeal notice: %q", got)
		}
	})

	// It moves the county's clock to a case's promised day, and back.
	t.Run("on its promised day a case reads 今日到期, in a yellow that is readable", func(t *testing.T) {
		number := reviewedAtCounty(t, county.Nodes[0].HTTPAddr(), county.Nodes[1].HTTPAddr(), county.Nodes[2].HTTPAddr())
		clerk := person(t, countyURL)
		clerk.signIn("chenjing", demo.AdminPassword)
		clerk.open("/cases/" + number)
		m := regexp.MustCompile(`承诺期限 (\d{4}-\d{2}-\d{2})`).FindStringSubmatch(clerk.pageText())
		if m == nil {
			t.Fatalf("case %s shows no promised day: %s", number, clerk.pageText())
		}
		due, err := time.ParseInLocation("2006-01-02 15:04", m[1]+" 10:00", time.FixedZone("CST", 8*3600))
		if err != nil {
			t.Fatal(err)
		}
		skew.Store(int64(time.Until(due))) // ten in the morning of the promised day
		defer skew.Store(0)

		clerk = person(t, countyURL) // the session of days ago has expired
		clerk.signIn("chenjing", demo.AdminPassword)
		clerk.open("/cases/" + number)
		if got := clerk.text(".clock"); got != "今日到期（黄牌预警）" {
			t.Errorf("on its promised day (%s) case %s reads %q, want 今日到期（黄牌预警）", m[1], number, got)
		}
		clerk.open("/cases")
		row := fmt.Sprintf(`[...document.querySelectorAll("tbody tr")].find(tr => tr.textContent.includes(%q))`, number)
		if got := clerk.eval(row + `?.className + " " + ` + row + `?.querySelector(".clock").textContent`); got != "warn 今日到期（黄牌预警）" {
			t.Errorf("the queue's row of case %s: %q, want a yellow row reading 今日到期（黄牌预警）", number, got)
		}
		// WCAG's contrast ratio of every text in the yellow row, on the
		// colour drawn behind it.
		got := clerk.eval(`(() => {
			const lum = c => { const [r, g, b] = c.match(/\d+/g).slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
			const bg = el => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor; if (c !== "rgba(0, 0, 0, 0)" && c !== "transparent") return c; } return "rgb(255, 255, 255)"; };
			const tr = ` + row + `;
			let worst = 99, what = "";
			for (const el of [tr, ...tr.querySelectorAll("*")]) {
				if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
				const a = lum(getComputedStyle(el).color), b = lum(bg(el));
				const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
				if (ratio < worst) { worst = ratio; what = el.textContent.trim(); }
			}
			return worst.toFixed(2) + " " + what;
		})()`)
		if ratio, _ := strconv.ParseFloat(strings.Fields(got)[0], 64); ratio < 4.5 {
			t.Errorf("the yellow row's text %q has a contrast of %s:1, want ≥ 4.5:1", strings.SplitN(got, " ", 2)[1], strings.Fields(got)[0])
		}
	})

	// Last: it moves the county's clock on.
	t.Run("a supervisor orders the township to answer for a late case", func(t *testing.T) {
		townshipURL := url(3)
		number := fileAtTownship(t, county.Nodes[3].HTTPAddr())
		skew.Store(int64(30 * 24 * time.Hour)) // a month on: the case is past its 3 promised days
		defer skew.Store(0)

		sup := person(t, countyURL)
		sup.signIn("jiancha", demo.AdminPassword)
		sup.waitSee("/supervision", number, 30*time.Second)
		sup.see("电子监察")
		sup.see("红牌")
		sup.see("城关镇便民服务中心") // the responsible office
		sup.shot("supervision.png", true)
		form := fmt.Sprintf(`form.order:has(input[name=case_number][value=%q])`, number)
		sup.set(form+" [name=instruction]", "请说明超期原因并限期整改")
		sup.clickNav(form + " button")
		sup.see("督办已发出")
		sup.see("请说明超期原因并限期整改")

		tw := person(t, townshipURL)
		tw.signIn("lihua", demo.AdminPassword)
		tw.open("/supervision")
		tw.see("请说明超期原因并限期整改")
		tw.see("待答复")
		tw.set("article.order [name=text]", "经办人病假，已安排他人接办，本周内办结")
		tw.clickNav("article.order button.primary")
		tw.see("已答复。")
		tw.see("经办人病假")

		sup.open("/supervision")
		sup.see("已答复，待监察员审核")
		sup.see("经办人病假")

		// The county admin warns 3 working days ahead from now on.
		admin := person(t, countyURL)
		admin.signIn("admin", demo.AdminPassword)
		admin.open("/supervision")
		admin.set("#policy [name=warning_days]", "3")
		admin.clickNav("#policy button")
		admin.see("监察设置已保存")
		if got := admin.text("#warning-days"); got != "3" {
			t.Errorf("warning days shown: %q, want 3", got)
		}
		tw.waitSee("/supervision", "承诺期限前 3 个工作日", 30*time.Second) // fed down to the township

		// The month's workbook downloads from the page's link.
		href := sup.attr("a[download]", "href")
		resp, body := sup.download(countyURL, href)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet") ||
			!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") || !bytes.HasPrefix(body, []byte("PK")) {
			t.Errorf("the export link %s answered %d %q %q, %d bytes", href, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"), len(body))
		}
	})
}

// reviewedAtCounty files a tobacco licence at the county (its clerk,
// through the API of whichever county node leads), accepts it and
// reviews it (同意), and returns the case number.
func reviewedAtCounty(t *testing.T, addrs ...string) string {
	t.Helper()
	return countyCase(t, true, addrs...)
}

// filedAtCounty files a tobacco licence at the county window (the clerk,
// through the API) and returns its number: a case waiting for 受理.
func filedAtCounty(t *testing.T, addrs ...string) string {
	t.Helper()
	return countyCase(t, false, addrs...)
}

func countyCase(t *testing.T, review bool, addrs ...string) string {
	t.Helper()
	for _, addr := range addrs {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		login, err := yizhanv1.NewAuthServiceClient(conn).Login(ctx, &yizhanv1.LoginRequest{Username: "chenjing", Password: demo.AdminPassword})
		if err != nil {
			t.Fatal(err)
		}
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+login.GetToken())
		cases := yizhanv1.NewCaseServiceClient(conn)
		var materials []*yizhanv1.SubmittedMaterial
		for _, m := range []string{"烟草专卖零售许可证申请表", "申请人居民身份证", "营业执照", "经营场所产权证明或租赁协议"} {
			materials = append(materials, &yizhanv1.SubmittedMaterial{Name: m, Copies: 1})
		}
		filed, err := cases.FileCase(ctx, &yizhanv1.FileCaseRequest{ItemCode: "450122-YC-001",
			Applicant: &yizhanv1.Applicant{Name: "韦海燕", IdNumber: "450122199003034520", Phone: "13907712345"}, Materials: materials})
		if status.Code(err) == codes.Unavailable {
			continue // not the leader, and no leader known to it yet
		}
		if err != nil {
			t.Fatal(err)
		}
		number := filed.GetCase().GetNumber()
		if !review {
			return number
		}
		if _, err := cases.Accept(ctx, &yizhanv1.CaseActionRequest{Number: number}); err != nil {
			t.Fatal(err)
		}
		if _, err := cases.Review(ctx, &yizhanv1.CaseActionRequest{Number: number, Reason: "材料齐全", Conclusion: yizhanv1.Conclusion_CONCLUSION_AGREE}); err != nil {
			t.Fatal(err)
		}
		return number
	}
	t.Fatal("no county node filed the case")
	return ""
}

// fileAtTownship files and accepts a 个体工商户设立登记 at the township
// (its clerk, through the API) and returns the case number.
func fileAtTownship(t *testing.T, addr string) string {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	login, err := yizhanv1.NewAuthServiceClient(conn).Login(ctx, &yizhanv1.LoginRequest{Username: "lihua", Password: demo.AdminPassword})
	if err != nil {
		t.Fatal(err)
	}
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+login.GetToken())
	cases := yizhanv1.NewCaseServiceClient(conn)
	filed, err := cases.FileCase(ctx, &yizhanv1.FileCaseRequest{ItemCode: "450122-SCJG-001",
		Applicant: &yizhanv1.Applicant{Name: "蓝小燕", IdNumber: "450122199205206028", Phone: "13907711234"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "个体工商户登记（备案）申请书", Copies: 1}, {Name: "申请人居民身份证", Copies: 1}, {Name: "经营场所使用证明", Copies: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	number := filed.GetCase().GetNumber()
	if _, err := cases.Accept(ctx, &yizhanv1.CaseActionRequest{Number: number}); err != nil {
		t.Fatal(err)
	}
	return number
}

// browser is one person's browser tab.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// open loads a page of the node and returns its response.
// download fetches href (a link of the page) from base with the
// browser's session cookies: the pages' policy allows no fetch.
func (b *browser) download(base, href string) (*http.Response, []byte) {
	b.t.Helper()
	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		b.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, base+href, nil)
	for _, c := range cookies.Cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body
}

func (b *browser) open(path string) *network.Response {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	return resp
}

// clickNav clicks what sel finds and waits for the page it leads to.
func (b *browser) clickNav(sel string) *network.Response {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
	return resp
}

func (b *browser) set(sel, value string) {
	b.t.Helper()
	b.do(chromedp.SetValue(chromedp.CSS(sel), value))
}

// attr is an attribute of the first element sel finds.
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).getAttribute(%q) ?? ""`, sel, name)))
	if err != nil {
		b.t.Fatalf("%s of %s: %v", name, sel, err)
	}
	return v
}

func (b *browser) value(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("value of %s: %v", sel, err)
	}
	return v
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

// textIf is the text of what sel finds, "" (at once) when it finds nothing.
func (b *browser) textIf(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`(() => { const e = document.querySelector(%q); return e ? e.innerText : ""; })()`, sel)))
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

// pageText is the page's text as a person reads it.
func (b *browser) pageText() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func (b *browser) see(want string) {
	b.t.Helper()
	if got := b.pageText(); !strings.Contains(got, want) {
		b.t.Fatalf("the page does not show %q; it shows:\n%s", want, got)
	}
}

func (b *browser) notSee(unwanted string) {
	b.t.Helper()
	if got := b.pageText(); strings.Contains(got, unwanted) {
		b.t.Fatalf("the page shows %q; it should not:\n%s", unwanted, got)
	}
}

// fact is the value next to a label of a facts list (dt → dd).
func (b *browser) fact(label string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`(() => { const dt = [...document.querySelectorAll("dt")].find(e => e.textContent.trim() === %q);
		return dt ? dt.nextElementSibling.textContent.trim() : ""; })()`, label)))
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func (b *browser) signIn(user, password string) {
	b.t.Helper()
	b.open("/login")
	b.set("#f-username", user)
	b.set("#f-password", password)
	b.clickNav("button.primary")
	b.see("退出")
}

// phoneShots name the screenshots taken of pages at a phone's width.
var phoneShots = map[string]string{
	"/items": "catalogue", "/items/450122-YC-001/guide": "guide", "/track": "track",
	"/cases/new?item=450122-YC-001": "filing", "/cases": "staff-queue",
}

// eval evaluates a JavaScript expression in the page and returns it as
// text.
func (b *browser) eval(expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// documentWidth is how wide the page lays out, in CSS pixels: wider
// than the viewport means it scrolls sideways.
func (b *browser) documentWidth() int64 {
	b.t.Helper()
	w, err := chromedp.Run(b.ctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
	if err != nil {
		b.t.Fatal(err)
	}
	return w
}

// shot saves a screenshot when YIZHAN_SCREENSHOTS names a directory.
func (b *browser) shot(name string, full bool) {
	b.t.Helper()
	if b.shots == "" {
		return
	}
	var png []byte
	var err error
	if full {
		png, err = chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	} else {
		png, err = chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	}
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// weigh loads a page with an empty cache and adds up the bytes of every
// response (headers and bodies as sent, compressed).
func (b *browser) weigh(path string) (total int64, requests int) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		b.t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	finished := chromedp.Events(wctx, network.LoadingFinished)
	b.open(path)
	for ev, err := range finished {
		if err != nil {
			break
		}
		total += int64(ev.EncodedDataLength)
		requests++
	}
	return total, requests
}

// waitSee loads path again until the page shows want.
func (b *browser) waitSee(path, want string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b.open(path)
		if strings.Contains(b.pageText(), want) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s does not show %q after %s:\n%s", path, want, timeout, b.pageText())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// waitAct opens path until the page offers the case action's form (the
// office holds the case, and the action is allowed now).
func (b *browser) waitAct(path, action string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b.open(path)
		if b.textIf("#act-"+action) != "" {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s offers no %s after %s:\n%s", path, action, timeout, b.pageText())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// act opens the form of a case action and sends it as it is.
func (b *browser) act(action string) {
	b.t.Helper()
	b.openAct(action)
	b.clickNav("#act-" + action + " button.primary")
}

// fillAct opens the form of a case action, fills one field and sends it.
func (b *browser) fillAct(action, field, value string) {
	b.t.Helper()
	b.openAct(action)
	b.set("#act-"+action+" [name="+field+"]", value)
	b.clickNav("#act-" + action + " button.primary")
}

func (b *browser) openAct(action string) {
	b.t.Helper()
	open, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const d = document.getElementById(%q); if (!d) return false; d.open = true; return true; })()`, "act-"+action)))
	if err != nil {
		b.t.Fatal(err)
	}
	if !open {
		b.t.Fatalf("no %s form on the case page:\n%s", action, b.pageText())
	}
}

// track asks for a case with its number and query code.
func (b *browser) track(number, code string) {
	b.t.Helper()
	b.open("/track")
	b.set("#f-number", number)
	b.set("#f-query_code", code)
	b.clickNav("p.submit button.primary")
}

func (b *browser) waitTrack(number, code, want string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b.track(number, code)
		if strings.Contains(b.pageText(), want) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("tracking %s does not show %q after %s:\n%s", number, want, timeout, b.pageText())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// freeBase finds an HTTP base port for the demo whose ports (base+i,
// base+100+i, base+200+i for its six nodes) are all free now.
func freeBase(t *testing.T) int {
	t.Helper()
	start := 20000 + int(time.Now().UnixNano()%200)*150
	for base := start; base < 60000; base += 300 {
		if portsFree(base) {
			return base
		}
	}
	t.Fatal("no free ports for the demo county")
	return 0
}

func portsFree(base int) bool {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for _, off := range []int{0, 100, 200} {
		for i := range len(demo.Nodes) {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+off+i))
			if err != nil {
				return false
			}
			lns = append(lns, ln)
		}
	}
	return true
}
