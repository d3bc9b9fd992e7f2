// Package web serves Yizhan's web UI: server-rendered pages for citizens,
// staff and county admins that call the API's services in-process.
package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/metadata"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/style.css
var styleCSS []byte

// Config is what the UI needs: the API's services (called in-process, so
// every call is authorized exactly as a REST call would be) and who this
// node is.
type Config struct {
	Registry yizhanv1.RegistryServiceServer
	Auth     yizhanv1.AuthServiceServer
	Cluster  yizhanv1.ClusterServiceServer
	Cases    yizhanv1.CaseServiceServer // nil until the case service is registered in node
	// Supervision: cards, figures, orders, follow-ups (nil: no
	// supervision page).
	Supervision yizhanv1.SupervisionServiceServer
	// Duty: urgent reports, the roster, the shifts and the log (nil: no
	// duty page).
	Duty       yizhanv1.DutyServiceServer
	DutyRoster yizhanv1.DutyRosterServiceServer
	Office     string // this node's office code
	Node       string
	Logger     *slog.Logger
	Now        func() time.Time
	// HTTPClient fetches other nodes' status for the federation page.
	// Nil: a client with a short timeout.
	HTTPClient *http.Client
	// SecureCookies marks the cookies Secure even when the request came
	// without TLS: the node sits behind a proxy that terminates TLS.
	SecureCookies bool
	// CSRFKey returns the key of the forms' CSRF tokens, the same at every
	// node of the office, so that a form one node served may be posted to
	// another (a load balancer without session affinity). ok is false
	// while the node holds none; its forms are then made with a key of
	// this process alone, as when CSRFKey is nil (one node, tests).
	CSRFKey func() (key []byte, ok bool)
	// Gate, when set, may refuse a request at its start (Enter's error, a
	// gRPC status, is the page) and the page of a GET before it is shown
	// (Left's): the node's data is being replaced whole meanwhile (a
	// follower restoring its office's book), and what was read may be
	// part of it.
	Gate interface {
		Enter() (ticket uint64, err error)
		Left(ticket uint64) error
	}
}

// server is the UI's handler.
type server struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	pages    *pageSet
	procKey  []byte // the CSRF key of this process, when the office's is missing
	css      asset
	client   *http.Client
	handler  http.Handler
	receipts browserStore[*caseData] // filings' receipt pages
	tickets  browserStore[ticket]    // the pages after a rating or complaint
}

// asset is a static file with its gzipped form and a content hash.
type asset struct {
	body, gz []byte
	hash     string
}

// New builds the UI's handler. Mount it for every path the node does not
// otherwise serve.
func New(cfg Config) (http.Handler, error) {
	if cfg.Registry == nil || cfg.Auth == nil || cfg.Cluster == nil {
		return nil, errors.New("web: the registry, auth and cluster services are required")
	}
	if cfg.Office == "" {
		return nil, errors.New("web: the node's office code is required")
	}
	s := &server{cfg: cfg, log: cfg.Logger, now: cfg.Now, client: cfg.HTTPClient}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 2 * time.Second}
	}
	s.procKey = make([]byte, 32)
	if _, err := rand.Read(s.procKey); err != nil {
		return nil, fmt.Errorf("web: csrf key: %w", err)
	}
	s.css = newAsset(flattenCSSVars(styleCSS))
	var err error
	if s.pages, err = sharedPages(s.css.hash); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

func newAsset(body []byte) asset {
	sum := sha256.Sum256(body)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	return asset{body: body, gz: gz.Bytes(), hash: hex.EncodeToString(sum[:6])}
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h func(*request) error) {
		mux.Handle(pattern, s.wrap(h))
	}
	mux.HandleFunc("GET /static/style.css", s.serveCSS)

	// Citizens: no sign-in.
	handle("GET /{$}", s.home)
	handle("GET /items", s.catalogue)
	handle("GET /items/{code}", s.itemPage)
	handle("GET /items/{code}/guide", s.itemGuide)

	// Sign-in.
	handle("GET /login", s.loginPage)
	handle("POST /login", s.login)
	handle("POST /logout", s.logout)

	// County admins.
	handle("GET /admin", s.adminHome)
	handle("GET /admin/items", s.adminItems)
	handle("GET /admin/items/new", s.itemNew)
	handle("POST /admin/items", s.itemCreate)
	handle("GET /admin/items/{code}/edit", s.itemEdit)
	handle("POST /admin/items/{code}", s.itemUpdate)
	handle("GET /admin/items/{code}/versions", s.itemVersions)
	handle("POST /admin/items/{code}/retire", s.itemRetire)
	handle("GET /admin/grants", s.matrix)
	handle("GET /admin/grants/new", s.grantNew)
	handle("POST /admin/grants", s.grantCreate)
	handle("GET /admin/grants/{id}/revoke", s.grantRevokeConfirm)
	handle("POST /admin/grants/{id}/revoke", s.grantRevoke)
	handle("GET /admin/staff", s.staffPage)
	handle("POST /admin/staff", s.staffCreate)
	handle("GET /admin/staff/{username}/edit", s.staffEdit)
	handle("GET /password", s.passwordPage)
	handle("POST /password", s.changePassword)
	handle("POST /admin/staff/{username}", s.staffUpdate)
	handle("GET /admin/offices", s.officesPage)
	handle("POST /admin/offices/{kind}", s.officeCreate)
	handle("POST /admin/offices/{kind}/{code}", s.officeUpdate)
	handle("GET /admin/case-policy", s.casePolicyPage)
	handle("POST /admin/case-policy", s.casePolicyPut)
	handle("GET /admin/calendar", s.calendarPage)
	handle("POST /admin/calendar", s.calendarPut)
	handle("POST /admin/calendar/toggle", s.calendarToggle)
	handle("GET /admin/changes", s.changesPage)
	handle("GET /admin/federation", s.federation)

	// Cases, once the node has the case service.
	if s.cfg.Cases != nil {
		handle("GET /cases", s.queue)
		handle("GET /cases/new", s.caseNew)
		handle("POST /cases", s.caseFile)
		handle("GET /cases/filed/{id}", s.caseFiled)
		handle("GET /cases/{number}", s.casePage)
		handle("POST /cases/{number}/act", s.caseAct)
		handle("POST /cases/rejectPrechecks", s.rejectPrechecks)
		handle("POST /cases/search", s.caseSearch)
		handle("GET /cases/{number}/print/{doc}", s.casePrint)
		handle("GET /cases/{number}/files/{sha}", s.caseFileDownload)
		handle("GET /track", s.trackPage)
		handle("POST /track", s.track)
		handle("POST /track/revisit", s.trackRevisit)
		handle("POST /track/receipt", s.trackReceipt)
		handle("POST /track/{action}", s.trackAct)
		handle("GET /track/t/{id}", s.trackTicket)
	}
	if s.cfg.Supervision != nil {
		handle("GET /supervision", s.supervision)
		handle("GET /supervision/export.xlsx", s.supervisionExport)
		handle("POST /supervision/{action}", s.supervisionAct)
		handle("POST /supervision/orders/{id}/{action}", s.supervisionAct)
		handle("POST /supervision/followups/{id}/{action}", s.supervisionAct)
		handle("GET /consultations", s.consultations)
		handle("POST /consultations", s.consultationAct)
		handle("POST /consultations/{id}/answer", s.consultationAct)
		handle("GET /ask", s.askPage)
		handle("POST /ask", s.ask)
		handle("POST /ask/answer", s.askAnswer)
		mux.HandleFunc("GET /static/echarts.min.js", serveScript(echartsAsset))
		mux.HandleFunc("GET /static/charts.js", serveScript(chartsAsset))
	}

	if s.cfg.Duty != nil {
		handle("GET /duty", s.dutyPage)
		handle("POST /duty", s.dutyAct)
		handle("POST /duty/{id}/{action}", s.dutyAct)
		handle("POST /duty/zero", s.dutyZero)
		handle("POST /duty/policy", s.dutyPolicy)
		handle("GET /duty/export", s.dutyExport)
		if s.cfg.DutyRoster != nil {
			handle("POST /duty/shifts", s.dutyShiftAct)
			handle("POST /duty/shifts/{id}/{action}", s.dutyShiftAct)
			handle("POST /duty/log", s.dutyShiftAct)
		}
	}

	handle("/", func(rq *request) error { return errNotFound })

	// Cross-origin unsafe requests are refused before anything else (by
	// Sec-Fetch-Site or Origin); the CSRF token below is the second lock.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(s.wrap(func(rq *request) error { return errBadCSRF }))
	return cop.Handler(mux)
}

// request is one request with its session.
type request struct {
	w     http.ResponseWriter
	r     *http.Request
	token string                   // the session's bearer token; "" when signed out
	me    *yizhanv1.WhoAmIResponse // nil when signed out
	pre   string                   // the anonymous CSRF nonce (yz_csrf cookie)
	csrf  string                   // the CSRF token for forms on this page
	// ticket is Config.Gate's for this request.
	ticket uint64
	// lookFirst is set when the page says its write may have been done
	// (OUTCOME_UNKNOWN, a deadline): the page is shown as it is, whatever
	// the gate says (see render).
	lookFirst bool
	// reads is set for a form that only reads (a search, a citizen's
	// tracking): its page is checked by the gate as a GET's is (left).
	reads bool
}

// ctx is the request's context carrying the session's bearer token as
// incoming gRPC metadata, so that the services authorize the call exactly
// as they would a REST call.
func (rq *request) ctx() context.Context { return rq.apiCtx(true) }

// citizenCtx is ctx without the staff token: a citizen's own request.
func (rq *request) citizenCtx() context.Context { return rq.apiCtx(false) }

func (rq *request) apiCtx(asStaff bool) context.Context {
	md := metadata.MD{}
	if asStaff && rq.token != "" {
		md.Set("authorization", "Bearer "+rq.token)
	}
	// A form's request ID makes its write exactly-once (the API reads it
	// as the Idempotency-Key).
	if rq.r.Method == http.MethodPost && rq.r.PostForm != nil {
		if id := rq.r.PostForm.Get("request_id"); id != "" {
			md.Set("idempotency-key", id)
		}
	}
	if len(md) == 0 {
		return rq.r.Context()
	}
	return metadata.NewIncomingContext(rq.r.Context(), md)
}

// newFormSeed is a fresh seed of a page's request IDs (view.FormID).
func newFormSeed() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// staff is the signed-in staff member, or nil.
func (rq *request) staff() *yizhanv1.StaffMember { return rq.me.GetStaff() }

// maxForm is the largest form body accepted; a larger one is answered
// 413 as it is read.
const maxForm = 1 << 20

// takesFiles reports whether the form posted to path may carry files
// (multipart), for staff: the filing form (/cases: scans of the
// materials) and a case's actions (/cases/{number}/act: the scans of the
// materials handed in after a correction notice).
func takesFiles(path string) bool {
	if path == "/cases" {
		return true
	}
	rest, ok := strings.CutPrefix(path, "/cases/")
	number, ok2 := strings.CutSuffix(rest, "/act")
	return ok && ok2 && number != "" && !strings.Contains(number, "/")
}

// maxUpload is the largest form with files (multipart: the scans of a
// filing) accepted: the files a filing may have, and the form.
const maxUpload = casework.MaxCaseAttachmentBytes + maxForm

// errFormTooLarge answers a form post larger than maxForm.
var errFormTooLarge = &pageError{status: http.StatusRequestEntityTooLarge, title: "提交内容过大",
	msg: fmt.Sprintf("提交的内容超过了 %d MiB 的上限，未做任何修改。", maxForm>>20)}

// errUploadTooLarge answers a form with files larger than maxUpload.
var errUploadTooLarge = &pageError{status: http.StatusRequestEntityTooLarge, title: "提交内容过大",
	msg: fmt.Sprintf("提交的文件合计超过了 %d MiB 的上限，未做任何修改。", maxUpload>>20)}

// wrap turns a page function into a handler: it loads the session, checks
// the CSRF token of every unsafe request before the page runs, and renders
// the page's error if it returns one.
func (s *server) wrap(h func(*request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq := &request{w: w, r: r}
		setSecurityHeaders(w)
		if g := s.cfg.Gate; g != nil {
			ticket, err := g.Enter()
			if err != nil {
				s.fail(rq, err)
				return
			}
			rq.ticket = ticket
		}
		s.loadSession(rq)
		if !safeMethod(r.Method) {
			var err error
			if isMultipart(r) {
				// Only the filing form has files, only staff send them,
				// and its token is checked before a byte of them is read.
				if !takesFiles(r.URL.Path) || rq.me == nil || !s.checkCSRF(rq) {
					s.fail(rq, errBadCSRF)
					return
				}
				// Files beyond the first few MB wait on disk, removed
				// after the request.
				r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
				err = r.ParseMultipartForm(8 << 20)
				if r.MultipartForm != nil {
					defer r.MultipartForm.RemoveAll()
				}
			} else {
				r.Body = http.MaxBytesReader(w, r.Body, maxForm)
				err = r.ParseForm()
			}
			if err != nil {
				if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
					if isMultipart(r) {
						s.fail(rq, errUploadTooLarge)
					} else {
						s.fail(rq, errFormTooLarge)
					}
					return
				}
				s.fail(rq, &pageError{status: http.StatusBadRequest, title: "请求有误", msg: "表单无法读取。"})
				return
			}
			if !s.checkCSRF(rq) {
				s.fail(rq, errBadCSRF)
				return
			}
		}
		if err := h(rq); err != nil {
			s.fail(rq, err)
		}
	})
}

// isMultipart reports whether a post carries files.
func isMultipart(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}

func (s *server) serveCSS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	etag := `"` + s.css.hash + `"`
	h.Set("ETag", etag)
	if r.URL.Query().Get("v") == s.css.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeBody(w, r, http.StatusOK, s.css.body, s.css.gz)
}

// mayShow is Config.Gate's verdict on a page before it is shown (nil:
// show it): on what a GET or a form that only reads (rq.reads) read, and
// on a form shown again because its
// write was refused (a status of 400 or more: the refusal may come from
// part of the data, a case's state read half-restored). A write done, or
// perhaps done (rq.lookFirst), is answered as it is.
func (s *server) mayShow(rq *request, status int) error {
	if g := s.cfg.Gate; g != nil && !safeMethod(rq.r.Method) && status >= 400 && !rq.lookFirst {
		return g.Left(rq.ticket)
	}
	return s.left(rq)
}

// left is Config.Gate's verdict on what a GET (or a form that only
// reads) read, before it is shown
// (nil: show it).
func (s *server) left(rq *request) error {
	if g := s.cfg.Gate; g != nil && (safeMethod(rq.r.Method) || rq.reads) {
		return g.Left(rq.ticket)
	}
	return nil
}

// writeBody writes body, gzipped when the client accepts it and it is
// worth it (gz, when given, is body already compressed).
func writeBody(w http.ResponseWriter, r *http.Request, status int, body, gz []byte) {
	h := w.Header()
	h.Add("Vary", "Accept-Encoding")
	if len(body) >= 1024 && acceptsGzip(r) {
		if gz == nil {
			var b bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&b, gzip.DefaultCompression)
			zw.Write(body)
			zw.Close()
			gz = b.Bytes()
		}
		h.Set("Content-Encoding", "gzip")
		body = gz
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && !strings.Contains(strings.ReplaceAll(q, " ", ""), "q=0") {
			return true
		}
	}
	return false
}

// pageCache holds the pages by CSS hash: the templates are embedded and
// safe for concurrent use, so the nodes of one process (the demo, the
// tests) share them instead of parsing a copy each.
var pageCache struct {
	mu    sync.Mutex // guards pages
	pages map[string]*pageSet
}

// sharedPages returns the process's pages for the stylesheet cssHash.
func sharedPages(cssHash string) (*pageSet, error) {
	pageCache.mu.Lock()
	defer pageCache.mu.Unlock()
	if p, ok := pageCache.pages[cssHash]; ok {
		return p, nil
	}
	p, err := newPageSet(templateFS, cssHash)
	if err != nil {
		return nil, err
	}
	if pageCache.pages == nil {
		pageCache.pages = map[string]*pageSet{}
	}
	pageCache.pages[cssHash] = p
	return p, nil
}

// pageSet is the embedded pages, each parsed together with the layout
// and the shared partials (so that it fills the layout's blocks) when it
// is first shown. html/template gives each page its own copy of the
// layout's and partials' trees, about 100 KB a page once escaped: a
// village point's staff open a handful of the 34 pages, and a node
// serving only the API opens none. The templates are embedded, so a
// page that does not parse cannot reach a node: TestEveryPageParses
// parses them all. A page once parsed is found without a lock.
type pageSet struct {
	base   func() (*template.Template, error)            // the layout and partials, never executed
	pages  map[string]func() (*template.Template, error) // by page name, each parsed once
	parses atomic.Int32                                  // pages parsed so far (tests)
}

// newPageSet lists the pages of fsys without parsing them.
func newPageSet(fsys fs.FS, cssHash string) (*pageSet, error) {
	files, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pageSet{pages: map[string]func() (*template.Template, error){}}
	p.base = sync.OnceValues(func() (*template.Template, error) {
		base, err := template.New("").Funcs(funcs(cssHash)).ParseFS(fsys, "templates/_*.html")
		if err != nil {
			return nil, fmt.Errorf("web: templates: %w", err)
		}
		return base, nil
	})
	for _, file := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(file, "templates/"), ".html")
		if strings.HasPrefix(name, "_") {
			continue
		}
		p.pages[name] = sync.OnceValues(func() (*template.Template, error) {
			p.parses.Add(1)
			base, err := p.base()
			if err != nil {
				return nil, err
			}
			clone, err := base.Clone()
			if err != nil {
				return nil, fmt.Errorf("web: template %s: %w", name, err)
			}
			t, err := clone.ParseFS(fsys, file)
			if err != nil {
				return nil, fmt.Errorf("web: template %s: %w", name, err)
			}
			return t, nil
		})
	}
	return p, nil
}

// page returns page name, parsing it the first time.
func (p *pageSet) page(name string) (*template.Template, error) {
	parse, ok := p.pages[name]
	if !ok {
		return nil, fmt.Errorf("web: no page %q", name)
	}
	return parse()
}

// render executes page with data into the response. The page is rendered
// into a buffer first, so that a template error becomes a clean 500.
func (s *server) render(rq *request, status int, name string, v *view) error {
	t, err := s.pages.page(name)
	if err != nil {
		return err
	}
	if name != "error" {
		if err := s.mayShow(rq, status); err != nil {
			return err // its page instead (fail)
		}
	}
	s.fillView(rq, v)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	h := rq.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages of cases and of the track page name applicants: never kept,
	// whoever asks.
	if rq.token != "" || v.NoStore || v.Section == "cases" || v.Section == "track" {
		h.Set("Cache-Control", "no-store")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	writeBody(rq.w, rq.r, status, buf.Bytes(), nil)
	return nil
}

// redirect answers a form post with 303 See Other (post, redirect, get).
func (rq *request) redirect(to string) error {
	http.Redirect(rq.w, rq.r, to, http.StatusSeeOther)
	return nil
}
