package casework

import (
	"bytes"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// Scanned materials (扫描件): files attached to the materials of a filing
// or a resubmission, named in the event by their SHA-256, so that the
// case's chain covers them. The files themselves are stored beside the
// case book (casebook) and travel up the tree before the case messages
// that name them (federation/mail). docs/LIMITS.md lists the limits.
const (
	// MaxAttachmentBytes is the largest scanned file: a few pages of A4
	// at 200 dpi.
	MaxAttachmentBytes = 10 << 20
	// MaxCaseAttachmentBytes bounds the files of one filing or
	// resubmission together, and those a case holds (after a
	// resubmission, whose materials replace the ones of the same name).
	MaxCaseAttachmentBytes = 40 << 20
	// MaxFilesPerMaterial bounds the files of one material.
	MaxFilesPerMaterial = 20
	// AttachmentPartBytes is the largest part of a file stored or sent in
	// one call, one raft entry: well under the request and entry limits.
	AttachmentPartBytes = 512 << 10
	// MinAttachmentPartBytes is the smallest part of a file sent in one
	// call (an upload, a push from below) but the file's last: the mail's
	// smallest part on a slow line (federation/mail). A file is so at
	// most 321 parts, which the command that ends a re-send moves into
	// place, and the sweep drops, within a command's limits (casebook).
	MinAttachmentPartBytes = 32 << 10
)

// The content types a scan may have.
const (
	TypePDF  = "application/pdf"
	TypeJPEG = "image/jpeg"
	TypePNG  = "image/png"
)

var attachmentTypes = []string{TypePDF, TypeJPEG, TypePNG}

// SniffContentType says what a file is from its first bytes: a PDF, a
// JPEG or a PNG, else "". A name or a declared type proves nothing.
func SniffContentType(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return TypePDF
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return TypeJPEG
	case bytes.HasPrefix(head, []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}):
		return TypePNG
	}
	return ""
}

// validSHA256 reports whether s is a SHA-256 in lower-case hex.
func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// CheckAttachmentPart checks a part of a file before it is stored: its
// hash and size, its type (one of the scans' types, and what the
// content's first bytes are, on the first part), where it starts and its
// length. Field errors name the fields of UploadAttachmentRequest.
func CheckAttachmentPart(sha256 string, size int64, contentType string, offset int64, data []byte) error {
	var vs violations
	if !validSHA256(sha256) {
		vs.addMeta(reason.InvalidFormat, reason.Meta{"format": "SHA256"}, "sha256", "must be 64 lower-case hex characters")
	}
	if size <= 0 || size > MaxAttachmentBytes {
		vs.addReason(registry.ReasonOutOfRange, "size", "must be 1 to %d bytes, got %d", MaxAttachmentBytes, size)
	}
	if !slices.Contains(attachmentTypes, contentType) {
		vs.addMeta(reason.AttachmentType, reason.Meta{"got": contentType}, "content_type", "must be %v", attachmentTypes)
	}
	switch {
	case offset < 0 || (size > 0 && offset >= size && len(data) > 0):
		vs.addReason(registry.ReasonOutOfRange, "offset", "must be 0 to %d, got %d", size-1, offset)
	case len(data) > AttachmentPartBytes:
		vs.addReason(registry.ReasonTooLong, "data", "a part is at most %d bytes, got %d", AttachmentPartBytes, len(data))
	case offset+int64(len(data)) > size:
		vs.addReason(registry.ReasonOutOfRange, "data", "ends at %d, after the file's %d bytes", offset+int64(len(data)), size)
	case offset == 0 && len(data) > 0 && slices.Contains(attachmentTypes, contentType):
		if got := SniffContentType(data); got != contentType {
			vs.addMeta(reason.AttachmentType, reason.Meta{"got": got, "want": contentType}, "data",
				"the content is %q, not the %s it says", got, contentType)
		}
	}
	return vs.err()
}

// CheckAttachmentPartSent is CheckAttachmentPart for a part as a client
// or the office below sends it (UploadAttachment, a push): a part that
// carries bytes and does not end the file is also at least
// MinAttachmentPartBytes (TOO_SHORT on data). The book applies parts
// with CheckAttachmentPart alone, so that the parts an office's log holds
// from before the smallest size apply as they did.
func CheckAttachmentPartSent(sha256 string, size int64, contentType string, offset int64, data []byte) error {
	if err := CheckAttachmentPart(sha256, size, contentType, offset, data); err != nil {
		return err
	}
	if n := len(data); n > 0 && n < MinAttachmentPartBytes && offset+int64(n) != size {
		var vs violations
		vs.addReason(registry.ReasonTooShort, "data", "a part is at least %d bytes, but for the file's last (it ends at %d of %d), got %d",
			MinAttachmentPartBytes, offset+int64(n), size, n)
		return vs.err()
	}
	return nil
}

// checkFiles checks the files named by materials (a filing's or a
// resubmission's): each a well-formed reference to a scan within the
// limits, no more than MaxFilesPerMaterial a material, and all of them
// within MaxCaseAttachmentBytes. Whether the office holds them is the
// office's to check (casebook).
func checkFiles(vs *violations, field string, ms []*yizhanv1.SubmittedMaterial) {
	var total int64
	for i, m := range ms {
		f := elem(field, i) + ".files"
		if len(m.GetFiles()) > MaxFilesPerMaterial {
			vs.addReason(registry.ReasonTooLong, f, "at most %d files a material, got %d", MaxFilesPerMaterial, len(m.GetFiles()))
			continue
		}
		for j, a := range m.GetFiles() {
			fj := elem(f, j)
			if !validSHA256(a.GetSha256()) {
				vs.addMeta(reason.InvalidFormat, reason.Meta{"format": "SHA256"}, fj+".sha256", "must be 64 lower-case hex characters")
			}
			if a.GetSize() <= 0 || a.GetSize() > MaxAttachmentBytes {
				vs.addReason(registry.ReasonOutOfRange, fj+".size", "must be 1 to %d bytes, got %d", MaxAttachmentBytes, a.GetSize())
			}
			if !slices.Contains(attachmentTypes, a.GetContentType()) {
				vs.addMeta(reason.AttachmentType, reason.Meta{"got": a.GetContentType()}, fj+".content_type", "must be %v", attachmentTypes)
			}
			vs.line(fj+".file_name", a.GetFileName(), registry.MaxNameLen)
			total += a.GetSize()
		}
	}
	if total > MaxCaseAttachmentBytes {
		vs.addReason(registry.ReasonOutOfRange, field, "the files come to %d bytes, more than the %d a filing may have", total, MaxCaseAttachmentBytes)
	}
}

// filesSize is the bytes of the files the materials name.
func filesSize(ms []*yizhanv1.SubmittedMaterial) int64 {
	var total int64
	for _, m := range ms {
		for _, a := range m.GetFiles() {
			total += a.GetSize()
		}
	}
	return total
}

// Attachments lists the files the events name, each once, in order.
func Attachments(events []*yizhanv1.CaseEvent) []*yizhanv1.Attachment {
	var out []*yizhanv1.Attachment
	seen := map[string]bool{}
	for _, e := range events {
		for _, m := range e.GetMaterials() {
			for _, a := range m.GetFiles() {
				if !seen[a.GetSha256()] {
					seen[a.GetSha256()] = true
					out = append(out, a)
				}
			}
		}
	}
	return out
}

// HideFiles clears the hash and the name of every file m names, at any
// depth (Attachment.sha256, file_name), keeping its size and type: for a
// reader who may not download the files (GetAttachment's check), to whom
// the hash would be the key to them, since a filing names a file its
// office holds by its hash alone; and the name is often the person's
// (张三身份证450122….pdf, as a window PC names its scans), which would
// show the ID number masked beside it.
func HideFiles(m proto.Message) {
	if m != nil {
		hideFiles(m.ProtoReflect())
	}
}

func hideFiles(m protoreflect.Message) {
	if m.Descriptor().FullName() == attachmentName {
		m.Clear(m.Descriptor().Fields().ByName("sha256"))
		m.Clear(m.Descriptor().Fields().ByName("file_name"))
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					hideFiles(mv.Message())
					return true
				})
			}
		case fd.Message() == nil:
		case fd.IsList():
			for i := range v.List().Len() {
				hideFiles(v.List().Get(i).Message())
			}
		default:
			hideFiles(v.Message())
		}
		return true
	})
}

var attachmentName = (&yizhanv1.Attachment{}).ProtoReflect().Descriptor().FullName()
