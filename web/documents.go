package web

import (
	"fmt"
	"net/http"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The official documents of a case (文书), printed from the case page for
// the applicant: each in the name of the body that acts (实施机关: at the
// county the item's department, e.g. 青山县烟草专卖局, not the service
// centre; below it the office's authority, e.g. 城关镇人民政府), each with
// its document number, in the words of the item's type (准予/不予行政许可
// for licences only), the refusals and denials with the applicant's right
// to 行政复议 and 行政诉讼 and their time limits.

// document is one kind of document: where it is printed from
// (/cases/{n}/print/{slug}) and the word of its number (受字〔2026〕…号).
type document struct {
	slug string
	word string
}

var (
	docAccept     = document{"accept", "受字"}     // 受理通知书
	docCorrection = document{"correction", "补字"} // 补正材料通知书
	docRefusal    = document{"refusal", "不受字"}   // 不予受理决定书
	docDecision   = document{"decision", "决字"}   // 准予/不予…决定书
	docDelivery   = document{"delivery", "送字"}   // 送达回证
)

// documentNumber is the document's number (文号): its word, the year of
// the event, and the case number, which makes it unique without a
// register of its own: a case has at most one of each kind in force.
func documentNumber(doc document, e *eventView, caseNumber string) string {
	return fmt.Sprintf("%s〔%d〕%s号", doc.word, e.Date.Year(), caseNumber)
}

// noticeData is what a printed document shows.
type noticeData struct {
	*caseData
	Issuer    string // the body in whose name it is issued
	Number    string // its document number
	Date      string // 2026年11月27日
	Licence   bool   // a 行政许可 item: the notice cites the licensing law
	Event     *eventView
	Applicant string
	Title     string // the document's name
	Decided   string // what a decision document decides: 不予受理, 准予行政许可 …

	// The delivery receipt (送达回证): the document it delivers, and
	// where.
	Delivers       string
	DeliversNumber string
	Certificate    string // 证照编号, when a certificate goes with it
	Place          string
	// Collect is where the applicant collects the result: the office of
	// the route's delivery step.
	Collect string
	// CorrectionDue is the last day to hand in what a correction notice
	// asks for (the county's correction_wait_days), while it waits: past
	// it, staff may withdraw the case as 逾期未补正.
	CorrectionDue string
}

func (s *server) casePrint(rq *request) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	d, err := s.loadCase(rq, rq.ctx(), rq.r.PathValue("number"), "")
	if err != nil {
		return err
	}
	offices, err := s.cfg.Registry.ListOffices(rq.r.Context(), &yizhanv1.ListOfficesRequest{})
	if err != nil {
		return err
	}
	byCode := map[string]*yizhanv1.Office{}
	for _, o := range offices.GetOffices() {
		byCode[o.GetCode()] = o
	}
	n := &noticeData{caseData: d, Applicant: d.C.GetApplicant().GetName(),
		Licence: d.Item.GetType() == yizhanv1.ItemType_ITEM_TYPE_LICENCE}
	// decision is the document that ends the case's handling: the
	// refusal to accept, else the decision, granted or denied.
	decision := func() (*eventView, document, string, string) {
		switch {
		case d.Refusal != nil && d.Refusal.Type == yizhanv1.EventType_EVENT_TYPE_REFUSED:
			return d.Refusal, docRefusal, "不予受理决定书", "不予受理"
		case d.Decision != nil && d.Decision.Ev.GetApproved():
			return d.Decision, docDecision, d.Words.YesDoc, d.Words.Yes
		case d.Decision != nil:
			return d.Decision, docDecision, d.Words.NoDoc, d.Words.No
		}
		return nil, document{}, "", ""
	}
	var (
		page string
		doc  document
	)
	switch rq.r.PathValue("doc") {
	case docAccept.slug:
		n.Event, page, doc, n.Title = d.Accepted, "print_accept", docAccept, "受理通知书"
	case docCorrection.slug:
		n.Event, page, doc, n.Title = d.Correction, "print_correction", docCorrection, "补正材料通知书"
		if due := d.C.GetDeadlines().GetCorrectionDue(); due != nil {
			n.CorrectionDue = chineseDate(due.AsTime())
		}
	case docRefusal.slug, docDecision.slug:
		n.Event, doc, n.Title, n.Decided = decision()
		page = "print_refusal"
		if n.Event != nil && n.Event.Type == yizhanv1.EventType_EVENT_TYPE_DECIDED && n.Event.Ev.GetApproved() {
			page = "print_decision"
		}
		if n.Title == "" {
			n.Title = "决定书"
		}
	case docDelivery.slug:
		var delivered document
		n.Event, delivered, n.Delivers, _ = decision()
		page, doc, n.Title = "print_delivery", docDelivery, "送达回证"
		if n.Event != nil {
			n.DeliversNumber = documentNumber(delivered, n.Event, d.C.GetNumber())
			n.Certificate = d.C.GetCertificateNumber()
			deliverer := n.Event.Ev.GetOfficeCode()
			for _, st := range d.C.GetRoute() {
				if st.GetRight() == yizhanv1.Right_RIGHT_DELIVER {
					deliverer = st.GetOfficeCode()
				}
			}
			if o := byCode[deliverer]; o != nil {
				n.Place = o.GetName()
				if o.GetAddress() != "" {
					n.Place += "（" + o.GetAddress() + "）"
				}
			}
		}
	default:
		return errNotFound
	}
	if n.Event == nil {
		return &pageError{status: http.StatusNotFound, title: "没有可打印的文书", msg: "此办件没有" + n.Title + "：它还没有被受理、没有发出一次性告知，或还没有作出决定。"}
	}
	n.Issuer = issuer(byCode[n.Event.Ev.GetOfficeCode()], d)
	n.Number = documentNumber(doc, n.Event, d.C.GetNumber())
	n.Date = chineseDate(n.Event.Date)
	if doc == docDelivery {
		n.Date = "" // dated by hand when it is signed
	}
	n.Collect = d.Origin
	for _, st := range d.C.GetRoute() {
		if o := byCode[st.GetOfficeCode()]; st.GetRight() == yizhanv1.Right_RIGHT_DELIVER && o != nil {
			n.Collect = o.GetName()
		}
	}
	return s.render(rq, http.StatusOK, page, &view{Title: n.Title + " " + d.C.GetNumber(), Section: "cases", Data: n})
}

// issuer is the body in whose name office o issues a document of case
// d: at the county the item's department (the county's centre only hosts
// the departments' windows), below it the office's authority, else its
// name.
func issuer(o *yizhanv1.Office, d *caseData) string {
	if o.GetTier() == yizhanv1.Tier_TIER_COUNTY {
		if dep := d.Depts[d.Item.GetDepartmentCode()]; dep != "" {
			return dep
		}
	}
	if a := o.GetAuthority(); a != "" {
		return a
	}
	return o.GetName()
}

// documents lists the documents the case page offers to print.
func (d *caseData) Documents() []docLink {
	var out []docLink
	add := func(doc document, title string) {
		out = append(out, docLink{Href: "/cases/" + d.C.GetNumber() + "/print/" + doc.slug, Title: title})
	}
	if d.Accepted != nil {
		add(docAccept, "受理通知书")
	}
	if d.Correction != nil {
		add(docCorrection, "补正材料通知书")
	}
	switch {
	case d.Refusal != nil && d.Refusal.Type == yizhanv1.EventType_EVENT_TYPE_REFUSED:
		add(docRefusal, "不予受理决定书")
	case d.Decision != nil && d.Decision.Ev.GetApproved():
		add(docDecision, d.Words.YesDoc)
	case d.Decision != nil:
		add(docDecision, d.Words.NoDoc)
	}
	if d.Refusal != nil || d.Decision != nil {
		add(docDelivery, "送达回证")
	}
	return out
}

// docLink is a document the case page offers.
type docLink struct{ Href, Title string }
