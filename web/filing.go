package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
)

// Filing a case (a citizen online, or staff on a citizen's behalf) and
// tracking one with its number and query code.

type fileData struct {
	Item  *yizhanv1.Item
	Items []*yizhanv1.Item // to choose from, when no item is chosen
	F     formValues
	Staff bool // filed by staff on the citizen's behalf
	Agent bool // by a village agent (代办), not a window's 收件登记
	// At is the office above a citizen's online filing goes to, when this
	// office does not take the item in.
	At *yizhanv1.Office
}

// filesAsStaff reports whether a filing at this node is made by the
// signed-in staff member (an agent or clerk of this office) rather than
// as the citizen's own online application.
func (s *server) filesAsStaff(rq *request) bool {
	st := rq.staff()
	return st != nil && st.GetOfficeCode() == s.cfg.Office &&
		(slices.Contains(st.GetRoles(), yizhanv1.Role_ROLE_AGENT) || slices.Contains(st.GetRoles(), yizhanv1.Role_ROLE_CLERK) ||
			slices.Contains(st.GetRoles(), yizhanv1.Role_ROLE_WINDOW))
}

func (s *server) fileForm(rq *request, code int, f formValues, errs formErrors) error {
	ctx := rq.r.Context()
	d := &fileData{F: f, Staff: s.filesAsStaff(rq)}
	if at := f.Get("office_code"); at != "" && at != s.cfg.Office && !d.Staff {
		d.At = s.officeOrCode(rq, at)
	}
	if st := rq.staff(); d.Staff && slices.Contains(st.GetRoles(), yizhanv1.Role_ROLE_AGENT) &&
		!slices.Contains(st.GetRoles(), yizhanv1.Role_ROLE_CLERK) && !slices.Contains(st.GetRoles(), yizhanv1.Role_ROLE_WINDOW) {
		d.Agent = true
	}
	if item := f.Get("item_code"); item != "" {
		resp, err := s.cfg.Registry.GetItem(ctx, &yizhanv1.GetItemRequest{Code: item})
		if err != nil {
			return err
		}
		d.Item = resp.GetItem()
	} else {
		resp, err := s.listAllItems(ctx, &yizhanv1.ListItemsRequest{OfficeCode: s.cfg.Office})
		if err != nil {
			return err
		}
		d.Items = resp
	}
	errs.labels = map[string]string{"item_code": "事项", "applicant.name": "申请人姓名", "applicant.id_number": "身份证号码", "applicant.credit_code": "统一社会信用代码",
		"applicant.phone": "联系电话", "applicant.address": "联系地址", "materials": "提交的材料"}
	title := "在线申请"
	if d.Staff {
		title = "代办收件"
	}
	s.formCSRF(rq)
	return s.render(rq, code, "case_new", &view{Title: title, Section: "cases", Data: d, Errs: errs})
}

func (s *server) caseNew(rq *request) error {
	f := formValues{rq.r.URL.Query()}
	if item := f.Get("item"); item != "" {
		f.Set("item_code", item)
		if at := f.Get("at"); at != "" {
			f.Set("office_code", at)
		}
		// Nothing ticked: the citizen (or the window) ticks what is handed
		// in, so nothing is claimed that is not there.
		resp, err := s.cfg.Registry.GetItem(rq.r.Context(), &yizhanv1.GetItemRequest{Code: item})
		if err != nil {
			return err
		}
		for _, m := range resp.GetItem().GetMaterials() {
			f.Set("copies."+m.GetName(), strconv.Itoa(int(max(1, m.GetCopies()))))
		}
	}
	return s.fileForm(rq, http.StatusOK, f, formErrors{})
}

func (s *server) caseFile(rq *request) error {
	f := rq.r.PostForm
	req := &yizhanv1.FileCaseRequest{
		ItemCode: f.Get("item_code"),
		Applicant: &yizhanv1.Applicant{
			Name: strings.TrimSpace(f.Get("applicant.name")), IdNumber: strings.ToUpper(strings.TrimSpace(f.Get("applicant.id_number"))),
			Phone: strings.TrimSpace(f.Get("applicant.phone")), Address: strings.TrimSpace(f.Get("applicant.address")),
			CreditCode: strings.ToUpper(strings.TrimSpace(f.Get("applicant.credit_code"))),
		},
	}
	if !s.filesAsStaff(rq) {
		req.OfficeCode = f.Get("office_code") // an office above, for an item this one does not take in
	}
	var errs formErrors
	names := slices.Clone(f["materials"])
	if s.filesAsStaff(rq) && rq.r.MultipartForm != nil {
		names = append(names, scannedMaterials(rq.r.MultipartForm, names)...)
	}
	for _, name := range names {
		copies := int32(1)
		if c := strings.TrimSpace(f.Get("copies." + name)); c != "" {
			n, err := strconv.ParseInt(c, 10, 32)
			if err != nil || n < 0 {
				errs.add("materials", "份数须为不小于 0 的整数")
			}
			copies = int32(n)
		}
		req.Materials = append(req.Materials, &yizhanv1.SubmittedMaterial{Name: name, Copies: copies})
	}
	var chosen []scan
	if s.filesAsStaff(rq) && rq.r.MultipartForm != nil && !errs.Any() {
		for _, m := range req.Materials {
			scans, err := s.scans(rq, m.GetName(), &errs)
			if err != nil {
				return err
			}
			for _, sc := range scans {
				m.Files = append(m.Files, sc.a)
			}
			chosen = append(chosen, scans...)
		}
	}
	if errs.Any() {
		return s.fileForm(rq, http.StatusBadRequest, formValues{f}, errs)
	}
	ctx := rq.citizenCtx() // the citizen's own application
	if s.filesAsStaff(rq) {
		ctx = rq.ctx()
	}
	var resp *yizhanv1.CaseResponse
	err := s.withScans(rq, chosen, func() (err error) {
		resp, err = s.cfg.Cases.FileCase(ctx, req)
		return err
	})
	if err != nil {
		if errs, ok := fieldErrors(err, "", filingField); ok {
			return s.fileForm(rq, http.StatusBadRequest, formValues{f}, errs)
		}
		if errs, code, ok := unsaved(rq, err); ok {
			return s.fileForm(rq, code, formValues{f}, errs)
		}
		return err
	}
	d, err := s.receiptOf(rq, resp.GetCase())
	if err != nil {
		return err
	}
	// Post, redirect, get: a reload must not file the case again. The
	// receipt, with the query code, waits here for this browser only.
	return rq.redirect("/cases/filed/" + s.keepReceipt(rq, d))
}

// receiptOf is the receipt page of a case just filed.
func (s *server) receiptOf(rq *request, c *yizhanv1.Case) (*caseData, error) {
	offices, err := s.officeNames(rq)
	if err != nil {
		return nil, err
	}
	d := &caseData{C: c, QueryCode: c.GetQueryCode(), State: caseStateNames[c.GetState()], Filed: datetimeOf(c.GetFiledAt()),
		Origin: offices[c.GetOriginOffice()], Submitted: c.GetMaterials(), OriginOffice: s.officeOrCode(rq, c.GetOriginOffice())}
	if it, err := s.cfg.Registry.GetItem(rq.r.Context(), &yizhanv1.GetItemRequest{Code: c.GetItemCode(), Version: c.GetItemVersion()}); err == nil {
		d.Item = it.GetItem()
		for _, m := range d.Item.GetMaterials() {
			if m.GetRequired() && !slices.ContainsFunc(c.GetMaterials(), func(sm *yizhanv1.SubmittedMaterial) bool { return sm.GetName() == m.GetName() }) {
				d.Missing = append(d.Missing, m.GetName())
			}
		}
	}
	d.Route = routeOf(c, offices)
	return d, nil
}

// receiptTTL is how long a filing's receipt page can be shown again.
const receiptTTL = 30 * time.Minute

// keepReceipt keeps the receipt for this browser and returns its page id:
// in this node's memory, and sealed for the office's other nodes.
func (s *server) keepReceipt(rq *request, d *caseData) string {
	owner, now := s.formCSRF(rq), s.now()
	memID := s.receipts.put(owner, d, now, receiptTTL)
	return s.pageID(memID, pageRef{Number: d.C.GetNumber(), Code: d.QueryCode, Owner: owner, Expires: now.Add(receiptTTL).Unix()})
}

func (s *server) caseFiled(rq *request) error {
	owner, now := s.formCSRF(rq), s.now()
	memID, ref := s.openPageID(rq.r.PathValue("id"), owner, now)
	d, ok := s.receipts.get(memID, owner, now)
	if !ok && ref != nil {
		// Filed through another node of this office: rebuilt from the case.
		if c, err := s.filedCase(rq, ref); err == nil {
			if d, err = s.receiptOf(rq, c); err == nil {
				d.QueryCode, ok = ref.Code, true
			}
		}
	}
	if !ok {
		return &pageError{status: http.StatusNotFound, title: "回执已过期", msg: "此申请回执已不能再显示（只在提交申请的浏览器中保留 30 分钟）。请凭办件编号和查询码查询办理进度。"}
	}
	return s.render(rq, http.StatusOK, "case_filed", &view{Title: "申请已提交", Section: "cases", Data: d, NoStore: true})
}

// filedCase reads a case just filed, as its citizen: this node may not
// have applied it yet, so it asks again, sparingly — each "not found" with
// a query code counts against the citizen's address like a wrong code (5
// free), so it waits before the first try and asks at most three times.
func (s *server) filedCase(rq *request, ref *pageRef) (*yizhanv1.Case, error) {
	wait := 300 * time.Millisecond
	for try := 1; ; try++ {
		select {
		case <-rq.r.Context().Done():
			return nil, rq.r.Context().Err()
		case <-time.After(wait):
		}
		resp, err := s.cfg.Cases.GetCase(rq.citizenCtx(), &yizhanv1.GetCaseRequest{Number: ref.Number, QueryCode: ref.Code})
		if err == nil || status.Code(err) != codes.NotFound || try == 3 {
			return resp.GetCase(), err
		}
		wait = time.Second
	}
}

// filingField is the filing form's field for a field of the API's request.
func filingField(field string) string {
	switch {
	case strings.HasPrefix(field, "materials"):
		return "materials"
	case strings.HasPrefix(field, "applicant."), field == "item_code":
		return field
	}
	return ""
}

func (s *server) trackPage(rq *request) error {
	d := &trackData{Number: rq.r.URL.Query().Get("number")}
	s.formCSRF(rq)
	return s.render(rq, http.StatusOK, "track", &view{Title: "办件查询", Section: "track", Data: d})
}

func (s *server) track(rq *request) error {
	rq.reads = true
	f := rq.r.PostForm
	// Typed as digits alone, or with a Chinese input method's full-width
	// characters: read as the number it is.
	number := casework.NormalizeCaseNumber(strings.TrimSpace(f.Get("number")))
	code := strings.TrimSpace(f.Get("query_code"))
	var errs formErrors
	if number == "" {
		errs.add("number", "请填写办件编号")
	}
	switch {
	case code == "":
		errs.add("query_code", "请填写查询码")
	case !casework.ValidQueryCode(code):
		errs.add("query_code", "查询码为 12 位字母和数字（如 7KQ9-M3XP-2WHD，不区分大小写）；较早的办件为 8 位数字")
	}
	if errs.Any() {
		return s.trackSearch(rq, http.StatusBadRequest, number, errs)
	}
	return s.showTracked(rq, http.StatusOK, number, code, 0, "", formValues{}, formErrors{}, "")
}

// scannedMaterials are the materials of a form with files that have a
// scan chosen ("file.<material>") and are not among ticked: a material
// with a scan chosen is handed in, ticked or not. Sorted.
func scannedMaterials(mf *multipart.Form, ticked []string) []string {
	var out []string
	for k, fhs := range mf.File {
		if name, ok := strings.CutPrefix(k, "file."); ok && !slices.Contains(ticked, name) &&
			slices.ContainsFunc(fhs, func(fh *multipart.FileHeader) bool { return fh.Size > 0 }) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// scan is a file chosen on a form, read and checked, not yet uploaded.
type scan struct {
	a    *yizhanv1.Attachment
	data []byte
}

// scans reads the scans chosen for a material (the form's
// "file.<material>" inputs); a file that is not a PDF, JPEG or PNG by
// its content, or too large, is an error of the materials. Nothing is
// uploaded yet (withScans).
func (s *server) scans(rq *request, material string, errs *formErrors) ([]scan, error) {
	var out []scan
	for _, fh := range rq.r.MultipartForm.File["file."+material] {
		if fh.Size == 0 {
			continue // no file chosen
		}
		if fh.Size > casework.MaxAttachmentBytes {
			errs.add("materials", fmt.Sprintf("%s：文件 %s 超过 %d MiB", material, fh.Filename, casework.MaxAttachmentBytes>>20))
			continue
		}
		file, err := fh.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(file, casework.MaxAttachmentBytes+1))
		file.Close()
		if err != nil {
			return nil, err
		}
		kind := casework.SniffContentType(data)
		if kind == "" {
			errs.add("materials", fmt.Sprintf("%s：文件 %s 不是 PDF、JPG 或 PNG 文件（按文件内容判断）", material, fh.Filename))
			continue
		}
		sum := sha256.Sum256(data)
		out = append(out, scan{&yizhanv1.Attachment{Sha256: hex.EncodeToString(sum[:]), Size: int64(len(data)), ContentType: kind, FileName: fh.Filename}, data})
	}
	return out, nil
}

// withScans makes a write that names scans (write) so that a write
// refused leaves no file behind: it is sent naming them first, and only
// when the office answers that it lacks some of them (ATTACHMENT_MISSING,
// which it checks once all else passes) are they uploaded and the write
// sent again, with the same request ID.
func (s *server) withScans(rq *request, scans []scan, write func() error) error {
	err := write()
	if len(scans) == 0 || !reason.OnlyFieldReason(err, reason.AttachmentMissing) {
		return err
	}
	for _, sc := range scans {
		if err := s.upload(rq, sc); err != nil {
			return err
		}
	}
	return write()
}

// upload uploads a scan to this office, a part at a time.
func (s *server) upload(rq *request, sc scan) error {
	req := &yizhanv1.UploadAttachmentRequest{Sha256: sc.a.GetSha256(), Size: sc.a.GetSize(), ContentType: sc.a.GetContentType()}
	for held := int64(-1); ; {
		got, err := s.cfg.Cases.UploadAttachment(rq.ctx(), req)
		if err != nil {
			return err
		}
		if got.GetComplete() {
			return nil
		}
		if got.GetReceived() <= held {
			return fmt.Errorf("web: the office took nothing more of %s after %d bytes", sc.a.GetFileName(), held)
		}
		held = got.GetReceived()
		req.Offset, req.Data = held, sc.data[held:min(held+casework.AttachmentPartBytes, sc.a.GetSize())]
	}
}
