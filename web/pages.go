package web

import (
	"net/url"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Lists that go on a page at a time, several on one page (咨询登记: the
// questions awaiting an answer and the month's consultations; 值班: the
// office's reports, those from below waiting for its acknowledgement and
// those received). Each list keeps the API's page token of the page it
// shows in its own parameter of the page's address, so each goes on (and
// back to its first page) without moving the others.

// pagedLists is a page's lists that go on a page at a time, as the page
// shown has them.
type pagedLists struct {
	path  string     // the page: "/consultations"
	names []string   // each list's parameter, which is also its anchor on the page
	q     url.Values // the address's parameters of the page shown
}

// token is the page token of the page list name shows ("" its first).
func (p pagedLists) token(name string) string { return p.q.Get(name) }

// tokens is the page tokens of the page shown, of its lists only (no
// confirmation, no form's state).
func (p pagedLists) tokens() url.Values {
	v := url.Values{}
	for _, n := range p.names {
		if t := p.q.Get(n); t != "" {
			v.Set(n, t)
		}
	}
	return v
}

// query is what a form acting on an item of one of the lists carries in
// its action ("?awaiting=…", "" when every list shows its first page):
// the page shown again when the write is refused, and the page the
// redirect after it goes back to, shows the same pages, the item's among
// them.
func (p pagedLists) query() string {
	if v := p.tokens(); len(v) > 0 {
		return "?" + v.Encode()
	}
	return ""
}

// back is the page after a form's write: the confirmation msg, and the
// pages the form's action carried (query).
func (p pagedLists) back(msg string) string {
	v := p.tokens()
	v.Set("msg", msg)
	return p.path + "?" + v.Encode()
}

// page asks for the page of list name that the address names; a token
// the API refuses (one of another query: the month's consultations, a
// page of last month's asked after midnight on the 1st, or of an
// earlier release) is dropped from the page's address, and the list is
// asked for from its first page. The other lists' links are made after,
// from the address as it is then.
func (p pagedLists) page(name string, ask func(token string) error) error {
	token := p.token(name)
	err := ask(token)
	if token != "" && refusedPageToken(err) {
		p.q.Del(name)
		err = ask("")
	}
	return err
}

// links is the links of list name, whose next page has the token next
// ("" when this is its last): the other lists keep their pages.
func (p pagedLists) links(name, next string) listPage {
	link := func(token string) string {
		v := p.tokens()
		v.Del(name)
		if token != "" {
			v.Set(name, token)
		}
		s := p.path
		if len(v) > 0 {
			s += "?" + v.Encode()
		}
		return s + "#" + name
	}
	var l listPage
	if next != "" {
		l.Next = link(next)
	}
	if p.token(name) != "" {
		l.First = link("")
	}
	return l
}

// listPage is the links of a list that goes on a page at a time: to its
// next page and back to its first, "" when none.
type listPage struct {
	Next, First string
}

// Whole reports whether the page shows the whole list: only then is the
// number it lists the list's (a heading's count).
func (l listPage) Whole() bool { return l.Next == "" && l.First == "" }

// refusedPageToken reports whether err is the API's refusal of a request's
// page_token: one of an earlier release (an address bookmarked before an
// upgrade), or of a query other than the request's.
func refusedPageToken(err error) bool {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		return false
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == "page_token" {
					return true
				}
			}
		}
	}
	return false
}
