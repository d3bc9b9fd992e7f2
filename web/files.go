package web

import (
	"mime"
	"net/http"
	"strconv"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// caseFileDownload sends one of a case's scans to staff who handle the case, a
// part at a time from the API (GetAttachment decides who may). It is
// sent as a download, never shown in the page: a file from outside is
// not trusted to render here.
func (s *server) caseFileDownload(rq *request) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	number, sha := rq.r.PathValue("number"), rq.r.PathValue("sha")
	req := &yizhanv1.GetAttachmentRequest{Number: number, Sha256: sha}
	first, err := s.cfg.Cases.GetAttachment(rq.ctx(), req)
	if err != nil {
		return err
	}
	name := sha[:min(len(sha), 12)]
	if c, err := s.cfg.Cases.GetCase(rq.ctx(), &yizhanv1.GetCaseRequest{Number: number}); err == nil {
		for _, m := range c.GetCase().GetMaterials() {
			for _, a := range m.GetFiles() {
				if a.GetSha256() == sha && a.GetFileName() != "" {
					name = a.GetFileName()
				}
			}
		}
	}
	// What the headers say is read from the book: checked before they are
	// sent. A part that follows is the file's bytes or an error (a part
	// missing is one: casebook.ReadAttachment), and the book replaced
	// since the headers (Config.Gate) cuts the download short, which the
	// browser sees against the Content-Length.
	if err := s.left(rq); err != nil {
		return err
	}
	h := rq.w.Header()
	h.Set("Content-Type", first.GetContentType())
	h.Set("Content-Length", strconv.FormatInt(first.GetSize(), 10))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Cache-Control", "no-store")
	rq.w.WriteHeader(http.StatusOK)
	part := first
	for {
		if _, err := rq.w.Write(part.GetData()); err != nil {
			return nil // the browser went away
		}
		req.Offset += int64(len(part.GetData()))
		if req.Offset >= first.GetSize() || len(part.GetData()) == 0 {
			return nil
		}
		if part, err = s.cfg.Cases.GetAttachment(rq.ctx(), req); err != nil || s.left(rq) != nil {
			// Headers are sent: the short body tells the browser.
			return nil
		}
	}
}
