//go:build browser

package web_test

// The citizens' and the clerk's main pages on a phone (360×640) and an
// office PC (1366×768), and their accessibility. Each subtest states one
// expectation. They come from an audit, which found: buttons 42 px tall
// on a phone, and two (查看申请回执, 查看) unstyled and under 24 px;
// fields marked * that a screen reader did not hear as required; hints
// not tied to their fields; the case page's hand-written action fields
// neither aria-invalid nor described by their error, and the rating's
// choices not focusable from the error summary; at 360 px the header's
// nav shown on the second line but tabbed before the sign-in links of
// the first; a yellow (due-soon) row and clock told only by their colour.
//
//	go test -tags browser -count=1 -run TestPhoneAndAccessibility ./web/

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/yizhan-gov/yizhan/demo"
)

// a11yPage is a page a person reaches: how to get there, as whom.
type a11yPage struct {
	name string
	who  string // "citizen" (东村, signed out), "clerk" (county, chenjing) or "duty" (county, zhiban)
	open func(b *browser)
}

func TestPhoneAndAccessibility(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	exe := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	var skew atomic.Int64
	county, err := demo.Start(ctx, demo.Options{DataDir: t.TempDir(), HTTPBasePort: freeBase(t),
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	defer county.Close()
	url := func(i int) string { return "http://" + county.Nodes[i].HTTPAddr() }
	countyURL, villageURL := url(0), url(4)

	browserCtx := startChromium(t, ctx, exe)
	person := func(t *testing.T, base string, phone bool) *browser {
		tctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		b := &browser{t: t, ctx: tctx, base: base}
		if phone {
			b.do(chromedp.EmulateViewport(360, 640, chromedp.EmulateMobile, chromedp.EmulateTouch))
		} else {
			b.do(chromedp.EmulateViewport(1366, 768))
		}
		return b
	}

	// The sample cases: one waiting at the county for 受理 (filed at 东村),
	// one closed at 东村 (the citizen may rate it).
	var waiting, closed demo.SampleCase
	for _, c := range county.Cases {
		switch {
		case strings.Contains(c.Story, "待受理") && waiting.Number == "":
			waiting = c
		case strings.Contains(c.Story, "已办结") && closed.Number == "":
			closed = c
		}
	}
	if waiting.Number == "" || closed.Number == "" {
		t.Fatalf("the demo's sample cases: %+v", county.Cases)
	}
	t.Logf("waiting %s, closed %s", waiting.Number, closed.Number)

	pages := []a11yPage{
		{"首页", "citizen", func(b *browser) { b.open("/") }},
		{"办事指南 (item)", "citizen", func(b *browser) { b.open("/items/450122-YC-001") }},
		{"在线申请 (filing)", "citizen", func(b *browser) { b.open("/cases/new?item=450122-YC-001") }},
		{"办件查询 (track form)", "citizen", func(b *browser) { b.open("/track") }},
		{"办件查询结果 + 好差评 + 投诉 (tracked closed case)", "citizen", func(b *browser) {
			b.waitTrack(closed.Number, closed.QueryCode, "好差评", 30*time.Second)
			b.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("act-complain") && (document.getElementById("act-complain").open = true)`))
		}},
		{"网上咨询 (ask)", "citizen", func(b *browser) { b.open("/ask") }},
		{"办件队列 (queue)", "clerk", func(b *browser) { b.waitSee("/cases", waiting.Number, 30*time.Second) }},
		{"办件 (case page with actions)", "clerk", func(b *browser) {
			b.waitAct("/cases/"+waiting.Number, "refuse", 30*time.Second)
			b.do(chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("details.act").forEach(d => d.open = true)`))
		}},
		{"值班 (duty, its lists' buttons)", "duty", func(b *browser) {
			b.open("/duty")
			b.do(chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("details").forEach(d => d.open = true)`))
		}},
	}
	// each visits every page as the right person, at a phone's or a PC's
	// size, and calls check on it.
	each := func(t *testing.T, phone bool, check func(t *testing.T, b *browser, p a11yPage)) {
		citizen := person(t, villageURL, phone)
		clerk := person(t, countyURL, phone)
		clerk.signIn("chenjing", demo.AdminPassword)
		duty := person(t, countyURL, phone)
		duty.signIn("zhiban", demo.AdminPassword)
		for _, p := range pages {
			b := map[string]*browser{"citizen": citizen, "clerk": clerk, "duty": duty}[p.who]
			p.open(b)
			check(t, b, p)
		}
	}
	js := func(b *browser, expr string, out any) {
		b.t.Helper()
		s := b.eval(`JSON.stringify(` + expr + `)`)
		if err := json.Unmarshal([]byte(s), out); err != nil {
			b.t.Fatalf("%s: %v (%s)", expr, err, s)
		}
	}

	t.Run("no sideways scrolling at 360 px and 1366 px", func(t *testing.T) {
		for _, phone := range []bool{true, false} {
			each(t, phone, func(t *testing.T, b *browser, p a11yPage) {
				var r struct {
					SW, CW int
					Wide   []string
				}
				js(b, `(() => { const d = document.documentElement; const wide = [];
				for (const el of document.body.querySelectorAll("*")) { const r = el.getBoundingClientRect();
					if (r.right > d.clientWidth + 1 && r.width > 0 && !el.closest(".scroll")) wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.trim().replace(/\s+/g, ".") : "") + " right=" + Math.round(r.right)); }
				return {SW: d.scrollWidth, CW: d.clientWidth, Wide: wide.slice(0, 6)}; })()`, &r)
				if r.SW > r.CW {
					t.Errorf("%s at %d px: scrollWidth %d > clientWidth %d; too wide: %v", p.name, r.CW, r.SW, r.CW, r.Wide)
				}
			})
		}
	})

	// A phone's buttons are tap targets of at least 44×44 CSS px (WCAG
	// 2.5.5, as the rating choices and the matrix's ＋): .btn,
	// button.primary and the search and filter buttons were 42 px tall,
	// now min-height 44px; the lists' plain buttons (the duty page's
	// 交班, 调班, 报送零报告) were smaller still: every button is 44 px
	// tall on a phone.
	t.Run("buttons are 44 px tap targets on a phone", func(t *testing.T) {
		each(t, true, func(t *testing.T, b *browser, p a11yPage) {
			var small []string
			js(b, `[...document.querySelectorAll("main button:not(.link), main a.btn, main input[type=submit]")]
				.filter(e => e.offsetParent !== null)
				.map(e => { const r = e.getBoundingClientRect(); return [e.textContent.trim(), Math.round(r.width), Math.round(r.height)]; })
				.filter(([, w, h]) => h < 44 || w < 44).map(([t, w, h]) => t + " " + w + "×" + h)`, &small)
			if len(small) > 0 {
				t.Errorf("%s at 360 px: buttons smaller than 44×44 px: %v", p.name, small)
			}
		})
	})

	// WCAG 2.2 AA (2.5.8): every button is at least 24×24 px, whatever
	// its kind. 查看申请回执 (track) and 查看 (ask) had no class and were
	// 21 px tall; they are ghost buttons now.
	t.Run("no button is under 24 px on a phone", func(t *testing.T) {
		each(t, true, func(t *testing.T, b *browser, p a11yPage) {
			var small []string
			js(b, `[...document.querySelectorAll("main button, main a.btn")]
				.filter(e => e.offsetParent !== null)
				.map(e => { const r = e.getBoundingClientRect(); return [e.textContent.trim(), Math.round(r.width), Math.round(r.height)]; })
				.filter(([, w, h]) => h < 24 || w < 24).map(([t, w, h]) => t + " " + w + "×" + h)`, &small)
			if len(small) > 0 {
				t.Errorf("%s at 360 px: buttons under 24 px: %v", p.name, small)
			}
		})
	})

	// The pagers on a small phone (320 px): no sideways scrolling, no
	// link over another, each label whole on one line, each link a tap
	// target of 44 px. The pager was a row that never wrapped: its links
	// 26 px tall, and the duty page's two (← 最早的待签收报告, 较晚的待签收报告 →,
	// about 150 px each in a CJK font) squeezed side by side, each broken
	// inside its words. The demo's lists fit one page, so the duty page
	// is given the pager it shows between two pages of its longest list.
	t.Run("pagers fit a 320 px phone", func(t *testing.T) {
		small := func(b *browser) *browser {
			b.do(chromedp.EmulateViewport(320, 640, chromedp.EmulateMobile, chromedp.EmulateTouch))
			return b
		}
		citizen := small(person(t, villageURL, true))
		admin := small(person(t, countyURL, true))
		admin.signIn("admin", demo.AdminPassword)
		duty := small(person(t, countyURL, true))
		duty.signIn("zhiban", demo.AdminPassword)
		for _, c := range []struct {
			name string
			b    *browser
			open func(b *browser)
		}{
			{"事项目录的第二页 (catalogue, a later page)", citizen, func(b *browser) { b.open("/items?page=1") }},
			{"工作日历 (calendar: the years)", admin, func(b *browser) { b.open("/admin/calendar") }},
			{"值班 (duty: a list between two pages)", duty, func(b *browser) {
				b.open("/duty")
				b.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("own").insertAdjacentHTML("beforeend",
					'<nav class="pager noprint" id="test-pager"><a href="/duty?own=x#own">← 最早的待签收报告</a><a href="/duty?own=y#own">较晚的待签收报告 →</a></nav>')`))
			}},
		} {
			c.open(c.b)
			var r struct {
				SW, CW, Pagers int
				Bad            []string
			}
			js(c.b, `(() => { const d = document.documentElement, bad = [];
				const pagers = [...document.querySelectorAll("main .pager")].filter(p => p.offsetParent !== null);
				for (const p of pagers) {
					const items = [...p.children].filter(e => e.offsetParent !== null);
					const rects = items.map(e => e.getBoundingClientRect());
					items.forEach((e, i) => { const r = rects[i], label = e.textContent.trim();
						if (r.left < -1 || r.right > d.clientWidth + 1) bad.push(label + ": outside the screen (" + Math.round(r.left) + "–" + Math.round(r.right) + ")");
						if (r.height < 44 || r.width < 44) bad.push(label + ": " + Math.round(r.width) + "×" + Math.round(r.height) + ", under 44 px");
						const range = document.createRange(); range.selectNodeContents(e);
						const lines = new Set([...range.getClientRects()].map(q => Math.round(q.top)));
						if (lines.size > 1) bad.push(label + ": broken over " + lines.size + " lines");
						for (let j = 0; j < i; j++) { const o = rects[j];
							if (r.left < o.right - 1 && o.left < r.right - 1 && r.top < o.bottom - 1 && o.top < r.bottom - 1) bad.push(label + ": over " + items[j].textContent.trim()); }
					});
				}
				return {SW: d.scrollWidth, CW: d.clientWidth, Pagers: pagers.length, Bad: bad}; })()`, &r)
			if r.Pagers == 0 {
				t.Errorf("%s: no pager on the page (the test's setup is wrong)", c.name)
			}
			if r.SW > r.CW {
				t.Errorf("%s at %d px: scrollWidth %d > clientWidth %d", c.name, r.CW, r.SW, r.CW)
			}
			if len(r.Bad) > 0 {
				t.Errorf("%s at %d px: the pager's links: %v", c.name, r.CW, r.Bad)
			}
		}
	})

	// A field marked * (必填) says so to a screen reader too (required or
	// aria-required): the red * is a <b title=必填>, which is not read as
	// the field's state. None did: the shared templates (_forms.html) set
	// aria-required with .Req now, the hand-written fields and the
	// required radio groups (role=radiogroup) carry it.
	t.Run("required fields are announced as required", func(t *testing.T) {
		each(t, false, func(t *testing.T, b *browser, p a11yPage) {
			var bare []string
			js(b, `[...document.querySelectorAll(".field")].filter(f => f.querySelector(".req"))
				.flatMap(f => [...f.querySelectorAll("input:not([type=hidden]), select, textarea, [role=radiogroup]")].slice(0, 1))
				.filter(e => !e.required && e.getAttribute("aria-required") !== "true" && !(e.querySelector && e.querySelector("[required]")))
				.map(e => (e.id || e.name) + " (" + (e.closest(".field").querySelector("label, .label")?.textContent.trim() ?? "") + ")")`, &bare)
			if len(bare) > 0 {
				t.Errorf("%s: fields marked * but not required to assistive technology: %v", p.name, bare)
			}
		})
	})

	// The hint under a field (the format of an ID number, of a query
	// code, when the rating's comment is required) is read with the
	// field: aria-describedby names it (h-…, with the error's e-… when
	// there is one). No hint had an id before.
	t.Run("field hints are tied to their fields", func(t *testing.T) {
		each(t, false, func(t *testing.T, b *browser, p a11yPage) {
			var loose []string
			js(b, `[...document.querySelectorAll(".field")].filter(f => f.querySelector(":scope > small.hint"))
				.map(f => [f.querySelector("input:not([type=hidden]), select, textarea"), f.querySelector(":scope > small.hint")])
				.filter(([e, h]) => e && !(h.id && (e.getAttribute("aria-describedby") || "").split(/\s+/).includes(h.id)))
				.map(([e, h]) => e.id + ": " + h.textContent.trim().slice(0, 30))`, &loose)
			if len(loose) > 0 {
				t.Errorf("%s: hints a screen reader does not read with their field: %v", p.name, loose)
			}
		})
	})

	t.Run("every field has a label", func(t *testing.T) {
		each(t, false, func(t *testing.T, b *browser, p a11yPage) {
			var bare []string
			js(b, `[...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
				.filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby") && !e.title)
				.map(e => e.outerHTML.slice(0, 120))`, &bare)
			if len(bare) > 0 {
				t.Errorf("%s: fields without a label: %v", p.name, bare)
			}
		})
	})

	t.Run("pages say lang=zh-CN; images have alt", func(t *testing.T) {
		each(t, false, func(t *testing.T, b *browser, p a11yPage) {
			if got := b.eval(`document.documentElement.lang`); got != "zh-CN" {
				t.Errorf("%s: lang=%q, want zh-CN", p.name, got)
			}
			if n := b.eval(`String(document.querySelectorAll("img:not([alt]), [role=img]:not([aria-label]):not([aria-labelledby])").length)`); n != "0" {
				t.Errorf("%s: %s images without a text alternative", p.name, n)
			}
		})
	})

	// A table on a phone scrolls inside its own box, never the page.
	t.Run("tables scroll inside their box on a phone", func(t *testing.T) {
		each(t, true, func(t *testing.T, b *browser, p a11yPage) {
			var bad []string
			js(b, `[...document.querySelectorAll("main table")].filter(tb => {
				const w = tb.getBoundingClientRect().width; let el = tb.parentElement;
				for (; el && el !== document.body; el = el.parentElement) { const o = getComputedStyle(el).overflowX; if (o === "auto" || o === "scroll") return false; }
				return w > document.documentElement.clientWidth; }).map(tb => tb.className)`, &bad)
			if len(bad) > 0 {
				t.Errorf("%s at 360 px: tables wider than the screen without their own scroll box: %v", p.name, bad)
			}
		})
	})

	// The header's links are read and tabbed in the order they are seen:
	// top to bottom, then left to right (WCAG 2.4.3, 1.3.2). At 360 px
	// the nav used to move to the second line (order:3) while the
	// sign-in links, after it in the page, stayed on the first; now the
	// brand has the first line, the nav and then the sign-in links
	// follow, and the office PC's one line is as before.
	t.Run("focus order follows the visual order of the header", func(t *testing.T) {
		for _, c := range []struct {
			who   string
			phone bool
		}{{"citizen", true}, {"clerk", true}, {"citizen", false}, {"clerk", false}} {
			who, width := c.who, 1366
			if c.phone {
				width = 360
			}
			b := person(t, villageURL, c.phone)
			if who == "clerk" {
				b = person(t, countyURL, c.phone)
				b.signIn("chenjing", demo.AdminPassword)
			}
			b.open("/track")
			var order []struct {
				T    string
				X, Y int
			}
			js(b, `[...document.querySelectorAll("header a, header button")].filter(e => e.offsetParent !== null)
				.map(e => { const r = e.getBoundingClientRect(); return {T: e.textContent.trim().split("\n")[0], X: Math.round(r.left), Y: Math.round(r.top)}; })`, &order)
			for i := 1; i < len(order); i++ {
				a, c := order[i-1], order[i]
				if c.Y+8 < a.Y { // the next in tab order sits on a line above
					t.Errorf("%s at %d px: tab goes from %q (y=%d) to %q (y=%d), a line above it; the header's order: %+v", who, width, a.T, a.Y, c.T, c.Y, order)
					break
				}
				if c.Y < a.Y+8 && c.X < a.X { // on the same line, to the left
					t.Errorf("%s at %d px: tab goes from %q (x=%d) to %q (x=%d), left of it on the same line; the header's order: %+v", who, width, a.T, a.X, c.T, c.X, order)
					break
				}
			}
		}
	})

	// Form errors: the summary's links reach their field (focus moves
	// there), and the field says it is wrong and why (aria-invalid,
	// aria-describedby to the message). The case page's hand-written
	// fields (审核结论, 理由, 法律依据) had neither; the rating's radio
	// group had no tabindex (the link left the focus on the body) and no
	// aria-describedby.
	checkErrors := func(t *testing.T, b *browser, where string) {
		t.Helper()
		if role := b.eval(`document.querySelector(".errsum")?.getAttribute("role") ?? "none"`); role != "alert" {
			t.Errorf("%s: the error summary's role is %q, want alert (announced)", where, role)
		}
		var links []string
		js(b, `[...document.querySelectorAll(".errsum a[href^='#']")].map(a => a.getAttribute("href"))`, &links)
		if len(links) == 0 {
			t.Fatalf("%s: no error summary links:\n%s", where, b.pageText())
		}
		for _, href := range links {
			id := strings.TrimPrefix(href, "#")
			var r struct {
				Exists, Invalid bool
				Described       string
				Focused         string
			}
			b.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(".errsum a[href=%q]", href)), chromedp.NodeVisible))
			time.Sleep(100 * time.Millisecond)
			js(b, fmt.Sprintf(`(() => { const f = document.getElementById(%q); if (!f) return {Exists: false};
				const ae = document.activeElement; const err = document.getElementById("e-" + %q.replace(/^f-/, ""));
				const desc = (f.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
				return {Exists: true, Invalid: f.getAttribute("aria-invalid") === "true" || f.getAttribute("role") === "radiogroup" || f.getAttribute("role") === "group",
					Described: err ? (desc.includes(err.id) ? "yes" : "no: aria-describedby=" + JSON.stringify(f.getAttribute("aria-describedby"))) : "no message",
					Focused: ae === f || f.contains(ae) ? "" : (ae ? ae.tagName.toLowerCase() + (ae.id ? "#" + ae.id : "") : "none")}; })()`, id, id), &r)
			switch {
			case !r.Exists:
				t.Errorf("%s: the summary links to %s, which is not on the page", where, href)
				continue
			case r.Focused != "":
				t.Errorf("%s: the summary's link to %s leaves the focus on %s, not on the field", where, href, r.Focused)
			}
			if !r.Invalid {
				t.Errorf("%s: field %s is not marked aria-invalid", where, href)
			}
			if r.Described != "yes" {
				t.Errorf("%s: field %s is not described by its error message (%s)", where, href, r.Described)
			}
		}
	}

	t.Run("form errors are announced and linked: filing", func(t *testing.T) {
		b := person(t, villageURL, true)
		b.open("/cases/new?item=450122-YC-001")
		b.set("#f-applicant-name", "黄小明")
		b.set("#f-applicant-id_number", "450122199205206028")
		b.set("#f-applicant-phone", "123")
		b.clickNav("p.submit button.primary")
		checkErrors(t, b, "filing, a bad phone number")
	})

	t.Run("form errors are announced and linked: rating", func(t *testing.T) {
		b := person(t, villageURL, true)
		b.waitTrack(closed.Number, closed.QueryCode, "好差评", 30*time.Second)
		b.clickNav("#rate button.primary") // nothing chosen
		checkErrors(t, b, "rating, no choice")
	})

	t.Run("form errors are announced and linked: complaint", func(t *testing.T) {
		b := person(t, villageURL, true)
		b.waitTrack(closed.Number, closed.QueryCode, "投诉", 30*time.Second)
		b.openAct("complain")
		b.clickNav("#act-complain button.primary") // nothing written
		checkErrors(t, b, "complaint, nothing written")
	})

	t.Run("form errors are announced and linked: asking a question", func(t *testing.T) {
		b := person(t, villageURL, true)
		b.open("/ask")
		b.clickNav("form[action='/ask'] button.primary") // nothing chosen or written
		checkErrors(t, b, "asking, nothing chosen or written")
	})

	t.Run("form errors are announced and linked: the clerk refuses without a reason", func(t *testing.T) {
		b := person(t, countyURL, false)
		b.signIn("chenjing", demo.AdminPassword)
		b.waitAct("/cases/"+waiting.Number, "refuse", 30*time.Second)
		b.openAct("refuse")
		b.clickNav("#act-refuse button.primary") // no reason, no legal basis
		checkErrors(t, b, "不予受理 without reason or legal basis")
	})

	// The yellow card of the queue is named in words, not only in yellow
	// (WCAG 1.4.1): a row a day before its promised day. It said only
	// 剩 1 个工作日, in yellow; a yellow clock adds （黄牌预警） now, in
	// the queue and on the case page.
	t.Run("a yellow row says so in words, not only in colour", func(t *testing.T) {
		number := reviewedAtCounty(t, county.Nodes[0].HTTPAddr(), county.Nodes[1].HTTPAddr(), county.Nodes[2].HTTPAddr())
		clerk := person(t, countyURL, false)
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
		day := due.AddDate(0, 0, -1)
		for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			day = day.AddDate(0, 0, -1)
		}
		skew.Store(int64(time.Until(day)))
		defer skew.Store(0)
		clerk = person(t, countyURL, false)
		clerk.signIn("chenjing", demo.AdminPassword)
		clerk.open("/cases")
		row := fmt.Sprintf(`[...document.querySelectorAll("tbody tr")].find(tr => tr.textContent.includes(%q))`, number)
		got := clerk.eval(row + `?.className + " | " + ` + row + `?.innerText`)
		t.Logf("the queue's row on %s: %q", day.Format("2006-01-02"), got)
		if !strings.HasPrefix(got, "warn") {
			t.Skipf("the row is not yellow on %s: %q", day.Format("2006-01-02"), got)
		}
		if !strings.Contains(got, "黄牌") && !strings.Contains(got, "预警") && !strings.Contains(got, "到期") {
			t.Errorf("a yellow row (class %q) says nothing of its yellow card in words: %q", "warn", got)
		}
		clerk.open("/cases/" + number)
		if got := clerk.text(".facts .clock"); !strings.Contains(got, "黄牌") && !strings.Contains(got, "预警") && !strings.Contains(got, "到期") {
			t.Errorf("the case page's yellow clock says only %q (its yellow is the only sign of the card)", got)
		}
	})
}
