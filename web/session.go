package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// Sessions and CSRF: see DESIGN.md.
const (
	// sessionCookie holds the staff member's bearer token from Login.
	sessionCookie = "yz_session"
	// preCookie holds a random nonce that the CSRF token of a signed-out
	// visitor's forms (the sign-in form) is derived from.
	preCookie = "yz_csrf"
	// csrfField is the hidden form field carrying the CSRF token.
	csrfField = "csrf"
)

// loadSession reads the session cookie and asks the API who it belongs
// to. A token the API no longer accepts (expired, signed by a node that
// may not vouch for it) is dropped and its cookie cleared.
func (s *server) loadSession(rq *request) {
	if c, err := rq.r.Cookie(preCookie); err == nil {
		rq.pre = c.Value
	}
	c, err := rq.r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return
	}
	rq.csrf = csrfToken(s.formKey(), "session", c.Value)
	ctx := metadata.NewIncomingContext(rq.r.Context(), metadata.Pairs("authorization", "Bearer "+c.Value))
	me, err := s.cfg.Auth.WhoAmI(ctx, &yizhanv1.WhoAmIRequest{})
	switch {
	case err == nil:
		rq.token, rq.me = c.Value, me
	case status.Code(err) == codes.Unauthenticated:
		s.clearSession(rq)
	default:
		s.log.Warn("web: check session", "err", err)
	}
}

// csrfToken is the CSRF token for forms of a session (kind "session",
// value the bearer token) or of a signed-out visitor (kind "pre", value
// the nonce of the yz_csrf cookie): an HMAC with key, so it cannot be made
// without the key and is bound to the cookie.
func csrfToken(key []byte, kind, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// formCSRF is the CSRF token for the forms of the page being rendered. A
// signed-out visitor without a nonce gets one (the yz_csrf cookie).
func (s *server) formCSRF(rq *request) string {
	if rq.csrf != "" {
		return rq.csrf
	}
	if rq.pre == "" {
		b := make([]byte, 18)
		rand.Read(b)
		rq.pre = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(rq.w, &http.Cookie{
			Name: preCookie, Value: rq.pre, Path: "/",
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secure(rq),
		})
	}
	rq.csrf = csrfToken(s.formKey(), "pre", rq.pre)
	return rq.csrf
}

// formKey is the key of the CSRF tokens of the forms served now: the
// office's (Config.CSRFKey), which every node of the office accepts, or
// this process's while the node has none.
func (s *server) formKey() []byte {
	if s.cfg.CSRFKey != nil {
		if k, ok := s.cfg.CSRFKey(); ok {
			return k
		}
	}
	return s.procKey
}

// checkCSRF reports whether an unsafe request carries the CSRF token of
// its cookies: the session's when it sends a session cookie, else the
// signed-out nonce's; made with the office's key (whichever node of the
// office served the form) or with this process's (a form this node served
// before it held the office's key).
func (s *server) checkCSRF(rq *request) bool {
	got := rq.r.PostForm.Get(csrfField)
	if isMultipart(rq.r) {
		// A form with files carries its token in its address, checked
		// before the files are read.
		got = rq.r.URL.Query().Get(csrfField)
	}
	if got == "" {
		return false
	}
	var kind, value string
	if c, err := rq.r.Cookie(sessionCookie); err == nil && c.Value != "" {
		kind, value = "session", c.Value
	} else if rq.pre != "" {
		kind, value = "pre", rq.pre
	} else {
		return false
	}
	if s.cfg.CSRFKey != nil {
		if k, ok := s.cfg.CSRFKey(); ok && hmac.Equal([]byte(got), []byte(csrfToken(k, kind, value))) {
			return true
		}
	}
	return hmac.Equal([]byte(got), []byte(csrfToken(s.procKey, kind, value)))
}

// secure reports whether cookies are to be Secure: the request came over
// TLS, to the node or to the proxy in front of it (Config.SecureCookies).
func (s *server) secure(rq *request) bool { return rq.r.TLS != nil || s.cfg.SecureCookies }

func (s *server) setSession(rq *request, token string, expires time.Time) {
	http.SetCookie(rq.w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/",
		Expires: expires, MaxAge: max(1, int(expires.Sub(s.now()).Seconds())),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secure(rq),
	})
}

func (s *server) clearSession(rq *request) {
	http.SetCookie(rq.w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secure(rq),
	})
	rq.token, rq.me, rq.csrf = "", nil, ""
}

// landing is where a staff member's work starts after signing in: the
// case queue for those who handle cases, else the supervision, duty or
// admin pages their roles open.
func (s *server) landing(st *yizhanv1.StaffMember) string {
	has := func(r yizhanv1.Role) bool { return slices.Contains(st.GetRoles(), r) }
	switch {
	case s.cfg.Cases != nil && (has(yizhanv1.Role_ROLE_AGENT) || has(yizhanv1.Role_ROLE_CLERK) || has(yizhanv1.Role_ROLE_WINDOW) ||
		has(yizhanv1.Role_ROLE_REVIEWER) || has(yizhanv1.Role_ROLE_APPROVER) || has(yizhanv1.Role_ROLE_DEPARTMENT_HEAD)):
		return "/cases"
	case s.cfg.Supervision != nil && has(yizhanv1.Role_ROLE_SUPERVISOR):
		return "/supervision"
	case s.cfg.Duty != nil && (has(yizhanv1.Role_ROLE_DUTY_OFFICER) || has(yizhanv1.Role_ROLE_DUTY_LEADER)):
		return "/duty"
	case has(yizhanv1.Role_ROLE_ADMIN):
		return "/admin"
	}
	return "/"
}

// safeNext keeps a post-sign-in destination only if it is a path on this
// site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

type loginData struct {
	Username string
	Next     string
}

func (s *server) loginPage(rq *request) error {
	v := &view{Title: "工作人员登录", Data: &loginData{Next: safeNext(rq.r.URL.Query().Get("next"))}}
	if rq.me != nil {
		v.Flash = "您已登录。"
	}
	s.formCSRF(rq)
	return s.render(rq, http.StatusOK, "login", v)
}

func (s *server) login(rq *request) error {
	f := rq.r.PostForm
	d := &loginData{Username: strings.TrimSpace(f.Get("username")), Next: safeNext(f.Get("next"))}
	resp, err := s.cfg.Auth.Login(rq.r.Context(), &yizhanv1.LoginRequest{Username: d.Username, Password: f.Get("password")})
	if err == nil {
		s.setSession(rq, resp.GetToken(), resp.GetExpiresAt().AsTime())
		s.log.Info("web: signed in", "user", resp.GetStaff().GetUsername())
		if d.Next == "/" {
			d.Next = s.landing(resp.GetStaff())
		}
		return rq.redirect(d.Next)
	}
	if reasonOf(err) == reason.PasswordChange {
		// An admin reset the password: change it first, with it.
		return s.showPassword(rq, http.StatusOK, &passwordData{Username: d.Username, Next: d.Next, Reset: true}, formErrors{})
	}
	v := &view{Title: "工作人员登录", Data: d}
	code := http.StatusBadRequest
	if errs, ok := fieldErrors(err, "", nil); ok {
		v.Errs = errs
	} else {
		st := status.Convert(err)
		switch st.Code() {
		case codes.Unauthenticated:
			code = http.StatusUnauthorized
			v.Errs.addGeneral(orLocalized(st, "用户名或密码错误。"))
		case codes.ResourceExhausted:
			code = http.StatusTooManyRequests
			msg := "该账号密码错误次数过多，已暂时锁定，请稍后再试。"
			for _, d := range st.Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
					msg = "该账号密码错误次数过多，请 " + humanDuration(ri.GetRetryDelay().AsDuration()) + "后再试。"
				}
			}
			v.Errs.addGeneral(orLocalized(st, msg))
		case codes.Unavailable:
			code = http.StatusServiceUnavailable
			v.Errs.addGeneral(orLocalized(st, "暂时无法连接到可以核验您账号的上级节点，请稍后再试。"))
		default:
			return err
		}
	}
	v.Errs.labels = map[string]string{"username": "用户名", "password": "密码"}
	s.formCSRF(rq)
	return s.render(rq, code, "login", v)
}

func (s *server) logout(rq *request) error {
	s.clearSession(rq)
	return rq.redirect("/")
}

// reasonOf is the reason code of an API error's ErrorInfo ("" if none).
func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// The password page (修改密码): a staff member changes their own password
// with the one they have; after an admin's reset, before signing in.

type passwordData struct {
	Username string
	Next     string
	Reset    bool // came from a sign-in refused for a reset password
}

func (s *server) passwordPage(rq *request) error {
	d := &passwordData{Next: safeNext(rq.r.URL.Query().Get("next"))}
	if me := rq.staff(); me != nil {
		d.Username = me.GetUsername()
	}
	return s.showPassword(rq, http.StatusOK, d, formErrors{})
}

func (s *server) showPassword(rq *request, code int, d *passwordData, errs formErrors) error {
	errs.labels = map[string]string{"username": "用户名", "old_password": "原密码", "new_password": "新密码", "repeat": "再次输入新密码"}
	s.formCSRF(rq)
	return s.render(rq, code, "password", &view{Title: "修改密码", Data: d, Errs: errs})
}

func (s *server) changePassword(rq *request) error {
	f := rq.r.PostForm
	d := &passwordData{Username: strings.TrimSpace(f.Get("username")), Next: safeNext(f.Get("next")), Reset: f.Get("reset") == "1"}
	if f.Get("new_password") != f.Get("repeat") {
		var errs formErrors
		errs.add("repeat", "两次输入的新密码不一致")
		return s.showPassword(rq, http.StatusBadRequest, d, errs)
	}
	changed, err := s.cfg.Registry.ChangePassword(rq.citizenCtx(), &yizhanv1.ChangePasswordRequest{Username: d.Username,
		OldPassword: f.Get("old_password"), NewPassword: f.Get("new_password")})
	if err != nil {
		if errs, ok := fieldErrors(err, "", nil); ok {
			return s.showPassword(rq, http.StatusBadRequest, d, errs)
		}
		st := status.Convert(err)
		var errs formErrors
		switch st.Code() {
		case codes.Unauthenticated:
			errs.add("old_password", "用户名或原密码错误")
			return s.showPassword(rq, http.StatusUnauthorized, d, errs)
		case codes.ResourceExhausted, codes.Unavailable:
			errs.addGeneral(orLocalized(st, "暂时无法修改密码，请稍后再试。"))
			return s.showPassword(rq, http.StatusServiceUnavailable, d, errs)
		}
		return err
	}
	// Signed in with the new password, once this node's registry holds
	// it (the county's node answered the change); a node still behind
	// sends to the sign-in page.
	s.waitIndex(rq.r.Context(), changed.GetRegistryIndex())
	resp, err := s.cfg.Auth.Login(rq.r.Context(), &yizhanv1.LoginRequest{Username: d.Username, Password: f.Get("new_password")})
	if err != nil {
		return rq.redirect("/login?next=" + url.QueryEscape(d.Next))
	}
	s.setSession(rq, resp.GetToken(), resp.GetExpiresAt().AsTime())
	return rq.redirect(d.Next)
}
