package casework

import (
	"strings"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// A scan's type is what its content is; its name and declared type prove
// nothing.
func TestSniffContentType(t *testing.T) {
	for head, want := range map[string]string{
		"%PDF-1.7\n%âãÏÓ":              TypePDF,
		"\xFF\xD8\xFF\xE0\x00\x10JFIF": TypeJPEG,
		"\x89PNG\r\n\x1a\n\x00\x00":    TypePNG,
		"GIF89a":                       "",
		"PK\x03\x04 a .docx":           "",
		"":                             "",
	} {
		if got := SniffContentType([]byte(head)); got != want {
			t.Errorf("SniffContentType(%q) = %q, want %q", head, got, want)
		}
	}
}

// A part of a scan is refused naming the field at fault.
func TestCheckAttachmentPart(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	pdf := []byte("%PDF-1.7\n")
	for _, tt := range []struct {
		name        string
		sha         string
		size        int64
		contentType string
		offset      int64
		data        []byte
		field       string
	}{
		{"ok", sha, 100, TypePDF, 0, pdf, ""},
		{"ok, asking what is held", sha, 100, TypePDF, 0, nil, ""},
		{"upper-case hash", strings.ToUpper(sha), 100, TypePDF, 0, pdf, "sha256"},
		{"short hash", sha[:10], 100, TypePDF, 0, pdf, "sha256"},
		{"too large", sha, MaxAttachmentBytes + 1, TypePDF, 0, pdf, "size"},
		{"a Word file", sha, 100, "application/msword", 0, pdf, "content_type"},
		{"a JPEG said to be a PDF", sha, 100, TypePDF, 0, []byte("\xFF\xD8\xFF\xE0"), "data"},
		{"past the end", sha, 5, TypePDF, 0, pdf, "data"},
		{"a part too large", sha, MaxAttachmentBytes, TypePDF, 0, make([]byte, AttachmentPartBytes+1), "data"},
	} {
		err := CheckAttachmentPart(tt.sha, tt.size, tt.contentType, tt.offset, tt.data)
		got := ""
		if ve, ok := err.(*registry.ValidationError); ok {
			got = ve.Violations[0].Field
		} else if err != nil {
			got = err.Error()
		}
		if got != tt.field {
			t.Errorf("%s: %v, want field %q", tt.name, err, tt.field)
		}
	}
}

// A part sent (uploaded, or pushed from below) is at least the smallest
// part but for the file's last: a file is so a bounded number of parts.
// The book takes the parts its log holds from before whatever their size.
func TestAPartSentIsAtLeastTheSmallestButTheLast(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	pdf := append([]byte("%PDF-1.7\n"), make([]byte, MinAttachmentPartBytes)...)
	for _, tt := range []struct {
		name   string
		size   int64
		offset int64
		data   []byte
		field  string
	}{
		{"the smallest", 10 * MinAttachmentPartBytes, 0, pdf[:MinAttachmentPartBytes], ""},
		{"one byte less", 10 * MinAttachmentPartBytes, 0, pdf[:MinAttachmentPartBytes-1], "data"},
		{"a part of 1,000 bytes", 10 * MinAttachmentPartBytes, MinAttachmentPartBytes, pdf[9:1009], "data"},
		{"the last, short", MinAttachmentPartBytes + 1000, MinAttachmentPartBytes, pdf[9:1009], ""},
		{"a small file in one part", 100, 0, pdf[:100], ""},
		{"asking what is held", 10 * MinAttachmentPartBytes, MinAttachmentPartBytes, nil, ""},
	} {
		err := CheckAttachmentPartSent(sha, tt.size, TypePDF, tt.offset, tt.data)
		got := ""
		if ve, ok := err.(*registry.ValidationError); ok {
			got = ve.Violations[0].Field
			if ve.Violations[0].Reason != registry.ReasonTooShort {
				t.Errorf("%s: reason %s, want %s", tt.name, ve.Violations[0].Reason, registry.ReasonTooShort)
			}
		} else if err != nil {
			got = err.Error()
		}
		if got != tt.field {
			t.Errorf("%s: %v, want field %q", tt.name, err, tt.field)
		}
		if err := CheckAttachmentPart(sha, tt.size, TypePDF, tt.offset, tt.data); err != nil {
			t.Errorf("%s: the book refuses it: %v", tt.name, err)
		}
	}
}

// A filing's files are checked with its materials: well-formed, within
// the limits.
func TestFilingChecksItsFiles(t *testing.T) {
	var vs violations
	checkFiles(&vs, "materials", []*yizhanv1.SubmittedMaterial{{Name: "申请表", Files: []*yizhanv1.Attachment{
		{Sha256: strings.Repeat("0", 64), Size: 100, ContentType: TypePNG},
		{Sha256: "x", Size: 100, ContentType: TypePNG},
		{Sha256: strings.Repeat("1", 64), Size: MaxAttachmentBytes, ContentType: TypePDF},
		{Sha256: strings.Repeat("2", 64), Size: MaxAttachmentBytes, ContentType: TypePDF},
		{Sha256: strings.Repeat("3", 64), Size: MaxAttachmentBytes, ContentType: TypePDF},
		{Sha256: strings.Repeat("4", 64), Size: MaxAttachmentBytes, ContentType: TypePDF},
	}}})
	var fields []string
	for _, v := range vs {
		fields = append(fields, v.Field)
	}
	if strings.Join(fields, ",") != "materials[0].files[1].sha256,materials" {
		t.Errorf("violations on %v", fields)
	}
}

// A case holds at most MaxCaseAttachmentBytes of files: a resubmission
// that would take it past that is refused on materials; one that
// replaces a material's files counts the new ones instead of the old.
func TestACaseHoldsItsFilesWithinTheLimit(t *testing.T) {
	w := newWorld(t)
	it := w.reg.item(tobacco)
	scans := func(seed byte, n int) []*yizhanv1.Attachment {
		var out []*yizhanv1.Attachment
		for i := range n {
			out = append(out, &yizhanv1.Attachment{Sha256: strings.Repeat(string(rune('a'+int(seed))), 63) + string(rune('0'+i)), Size: MaxAttachmentBytes, ContentType: TypePDF})
		}
		return out
	}
	n := w.file(county, tobacco, countyClerk, tobaccoMaterials[:1]...)
	w.mustDo(county, n, ActionRequestCorrection, &req{Reason: "请补齐"}, countyClerk)
	// Three materials with 10 MiB each is 30 MiB; a fourth of 20 MiB more
	// would make 50.
	first := []*yizhanv1.SubmittedMaterial{
		{Name: it.GetMaterials()[1].GetName(), Copies: 1, Files: scans(1, 1)},
		{Name: it.GetMaterials()[2].GetName(), Copies: 1, Files: scans(2, 1)},
		{Name: it.GetMaterials()[3].GetName(), Copies: 1, Files: scans(3, 1)},
	}
	c, _ := w.books[county].Case(n)
	if _, err := NewEvent(c, nil, ActionResubmit, &req{Materials: first}, countyClerk, county, w.now, w.reg); err != nil {
		t.Fatalf("30 MiB: %v", err)
	}
	c.Materials = mergeMaterials(c.GetMaterials(), first)
	more := []*yizhanv1.SubmittedMaterial{{Name: it.GetMaterials()[4].GetName(), Copies: 1, Files: scans(4, 2)}}
	_, err := NewEvent(c, nil, ActionResubmit, &req{Materials: more}, countyClerk, county, w.now, w.reg)
	wantField(t, err, "materials")
	// Handing in the first material again with one file replaces its
	// files: still 30 MiB.
	again := []*yizhanv1.SubmittedMaterial{{Name: it.GetMaterials()[1].GetName(), Copies: 1, Files: scans(5, 1)}}
	if _, err := NewEvent(c, nil, ActionResubmit, &req{Materials: again}, countyClerk, county, w.now, w.reg); err != nil {
		t.Errorf("replacing a material's files: %v", err)
	}
}
