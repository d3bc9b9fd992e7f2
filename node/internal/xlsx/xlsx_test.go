package xlsx

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// open reads a workbook back with excelize, as a county's staff would
// open it in a spreadsheet program.
func open(t *testing.T, w *Workbook) *excelize.File {
	t.Helper()
	b, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the workbook does not open: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestWorkbookReadsBackInExcelize(t *testing.T) {
	w := New()
	figures := w.AddSheet("统计")
	figures.Set(1, 1, "东村 政务服务统计")
	figures.Style(1, 1, 1, Bold)
	for i, h := range []string{"分组", "收件", "当日办结率", "平均办理时长", "超期", "评价数", "差额"} {
		figures.Set(i+1, 3, h)
	}
	figures.Style(1, 7, 3, Bold)
	vals := []any{"yc", uint64(123456789012), 0.8125, float32(2.5), true, uint8(7), int16(-3), uint32(9), int32(-11)}
	for i, v := range vals {
		figures.Set(i+1, 4, v)
	}
	figures.Style(3, 3, 4, Percent)
	figures.ColumnWidth(2, 2, 24)
	figures.ColumnWidth(5, 7, 12.5)
	ledger := w.AddSheet("办件台账")
	ledger.Set(1, 1, "办件编号")

	f := open(t, w)
	if got := f.GetSheetList(); len(got) != 2 || got[0] != "统计" || got[1] != "办件台账" {
		t.Fatalf("sheets %q", got)
	}
	rows, err := f.GetRows("统计")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"yc", "123456789012", "81.25%", "2.5", "TRUE", "7", "-3", "9", "-11"}
	if len(rows) != 4 || rows[0][0] != "东村 政务服务统计" || rows[2][2] != "当日办结率" || strings.Join(rows[3], "|") != strings.Join(want, "|") {
		t.Fatalf("rows %q, want the fourth %q", rows, want)
	}
	raw, err := f.GetCellValue("统计", "C4", excelize.Options{RawCellValue: true})
	if err != nil || raw != "0.8125" {
		t.Errorf("C4 holds %q (%v), want the number 0.8125", raw, err)
	}
	for cell, want := range map[string]excelize.CellType{"A4": excelize.CellTypeInlineString, "B4": excelize.CellTypeUnset, "E4": excelize.CellTypeBool} {
		if got, err := f.GetCellType("统计", cell); err != nil || got != want {
			t.Errorf("%s is of type %v (%v), want %v", cell, got, err, want)
		}
	}
	for cell, want := range map[string]struct {
		bold   bool
		numFmt int
	}{"A1": {true, 0}, "G3": {true, 0}, "C4": {false, 10}, "A4": {false, 0}} {
		idx, err := f.GetCellStyle("统计", cell)
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.GetStyle(idx)
		if err != nil {
			t.Fatal(err)
		}
		bold := st.Font != nil && st.Font.Bold
		if bold != want.bold || st.NumFmt != want.numFmt {
			t.Errorf("%s: bold %v, number format %d; want %v, %d", cell, bold, st.NumFmt, want.bold, want.numFmt)
		}
	}
	for col, want := range map[string]float64{"B": 24, "E": 12.5, "G": 12.5} {
		if got, err := f.GetColWidth("统计", col); err != nil || got != want {
			t.Errorf("column %s is %g wide (%v), want %g", col, got, err, want)
		}
	}
	if got, _ := f.GetCellValue("办件台账", "A1"); got != "办件编号" {
		t.Errorf("the second sheet's A1: %q", got)
	}
}

// Text comes back as written: markup characters, spaces at either end,
// line breaks and tabs; what XML cannot hold becomes U+FFFD, and text past
// a cell's 32,767 characters is cut there.
func TestTextComesBackAsWritten(t *testing.T) {
	cases := []struct{ in, want string }{
		{`<b>"A&B" 'c'</b>`, `<b>"A&B" 'c'</b>`},
		{"  前后空格  ", "  前后空格  "},
		{"第一行\r\n第二行\n\t缩进", "第一行\r\n第二行\n\t缩进"},
		{"响铃\x07与\x00空", "响铃\uFFFD与\uFFFD空"},
		{"坏\xff字节", "坏\uFFFD字节"},
		{"𠀋 扩展B", "𠀋 扩展B"},
		{strings.Repeat("长", MaxCellRunes+10), strings.Repeat("长", MaxCellRunes)},
		{"", ""},
	}
	w := New()
	s := w.AddSheet("文本")
	for i, c := range cases {
		s.Set(1, i+1, c.in)
	}
	s.Set(2, 1, math.NaN())
	s.Set(2, 2, math.Inf(-1))
	f := open(t, w)
	for i, c := range cases {
		got, err := f.GetCellValue("文本", CellName(1, i+1))
		if err != nil || got != c.want {
			t.Errorf("row %d: %.40q (%v), want %.40q", i+1, got, err, c.want)
		}
	}
	for cell, want := range map[string]string{"B1": "NaN", "B2": "-Inf"} {
		if got, _ := f.GetCellValue("文本", cell); got != want {
			t.Errorf("%s: %q, want the text %q", cell, got, want)
		}
	}
}

// Cells may be written in any order and written again: the sheet holds
// each once, in order, with the last value and the style it was given.
func TestCellsInAnyOrder(t *testing.T) {
	w := New()
	s := w.AddSheet("Sheet1")
	s.Set(3, 5, "C5")
	s.Set(1, 5, "A5")
	s.Set(2, 2, "old")
	s.Style(2, 2, 2, Bold)
	s.Set(2, 2, "B2")
	s.Set(28, 1, 1)
	f := open(t, w)
	rows, err := f.GetRows("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[1][1] != "B2" || rows[4][0] != "A5" || rows[4][2] != "C5" || rows[0][27] != "1" {
		t.Fatalf("rows %q", rows)
	}
	idx, _ := f.GetCellStyle("Sheet1", "B2")
	if st, err := f.GetStyle(idx); err != nil || st.Font == nil || !st.Font.Bold {
		t.Errorf("B2 lost its bold style after it was written again: %+v (%v)", st, err)
	}
	assertWellFormed(t, w)
}

func TestCellNamesAgreeWithExcelize(t *testing.T) {
	for col := 1; col <= MaxColumns; col++ {
		want, err := excelize.CoordinatesToCellName(col, 7)
		if err != nil {
			t.Fatal(err)
		}
		if got := CellName(col, 7); got != want {
			t.Fatalf("column %d: %s, want %s", col, got, want)
		}
	}
}

// A workbook Excel would refuse, or a cell outside a sheet, is an error
// from Bytes naming what is wrong, and no file.
func TestWhatASheetCannotHoldIsAnError(t *testing.T) {
	cases := map[string]struct {
		build func(w *Workbook)
		want  string
	}{
		"no sheet":         {func(w *Workbook) {}, "needs a sheet"},
		"empty name":       {func(w *Workbook) { w.AddSheet("") }, `""`},
		"long name":        {func(w *Workbook) { w.AddSheet(strings.Repeat("表", 32)) }, "1 to 31"},
		"bracket":          {func(w *Workbook) { w.AddSheet("统计[2026]") }, "none of"},
		"apostrophe":       {func(w *Workbook) { w.AddSheet("'统计") }, "apostrophe"},
		"same name":        {func(w *Workbook) { w.AddSheet("Sheet"); w.AddSheet("SHEET") }, `two sheets named "SHEET"`},
		"column 0":         {func(w *Workbook) { w.AddSheet("s").Set(0, 1, "x") }, "column 0, row 1"},
		"row past the end": {func(w *Workbook) { w.AddSheet("s").Set(1, MaxRows+1, "x") }, "row 1048577"},
		"column past XFD":  {func(w *Workbook) { w.AddSheet("s").Style(1, MaxColumns+1, 1, Bold) }, "column 16385"},
		"columns reversed": {func(w *Workbook) { w.AddSheet("s").Style(3, 2, 1, Bold) }, "columns 3 to 2"},
		"zero width":       {func(w *Workbook) { w.AddSheet("s").ColumnWidth(1, 1, 0) }, "width 0"},
		"first error kept": {func(w *Workbook) { s := w.AddSheet("s"); s.Set(0, 1, 1); s.Set(1, 0, 1) }, "column 0, row 1"},
	}
	for name, c := range cases {
		w := New()
		c.build(w)
		b, err := w.Bytes()
		if err == nil || !strings.Contains(err.Error(), c.want) || b != nil {
			t.Errorf("%s: %v (%d bytes), want an error saying %q", name, err, len(b), c.want)
		}
	}
}

// assertWellFormed parses every part of the workbook as XML.
func assertWellFormed(t *testing.T, w *Workbook) {
	t.Helper()
	b, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(r)
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
		}
		r.Close()
	}
}
