// Package xlsx writes the Excel workbooks an office exports: sheets of
// text and number cells, a bold and a percent style, column widths. It is
// the small part of Office Open XML (ECMA-376, SpreadsheetML) those books
// need, written with archive/zip; it reads nothing.
//
// The node used excelize for this, which builds its tables of number
// formats, functions and character sets when the program starts: 1.3 MB
// of heap in every node, a village's too, and 4.4 MB of its resident
// memory just after start-up (2 MB of it the binary's pages), for the few
// workbooks a county exports in a month.
package xlsx

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of a worksheet (ECMA-376 and Excel's specifications).
const (
	MaxColumns    = 16384   // XFD
	MaxRows       = 1048576 // rows are numbered from 1
	MaxCellRunes  = 32767   // the characters Excel shows of one cell
	maxSheetRunes = 31
)

// Style is the look of a cell.
type Style uint8

const (
	Plain   Style = iota
	Bold          // the headers
	Percent       // a fraction shown as a percentage with two decimals (0.00%, built-in format 10)
)

// Workbook is a workbook being written. Its methods record the first
// error (a bad sheet name, a cell outside the sheet) and Bytes returns it,
// so a caller writes its cells and checks once.
type Workbook struct {
	sheets []*Sheet
	err    error
}

// New is an empty workbook; it needs at least one sheet before Bytes.
func New() *Workbook { return &Workbook{} }

// Sheet is one worksheet of a workbook.
type Sheet struct {
	wb     *Workbook
	name   string
	rows   []sheetRow  // in the order first written
	index  map[int]int // row number → its place in rows
	widths map[int]float64
}

type sheetRow struct {
	n     int
	cells []cell
}

type cellKind uint8

const (
	kindText cellKind = iota
	kindNumber
	kindBool
)

type cell struct {
	col   uint16
	style Style
	kind  cellKind
	text  string // the text, or the number or boolean as written in the file
}

// AddSheet adds a sheet after the others. A name is 1 to 31 characters,
// none of : \ / ? * [ ], not starting or ending with an apostrophe, and
// not the name of another sheet of the workbook, in any case (Excel's
// rules).
func (w *Workbook) AddSheet(name string) *Sheet {
	s := &Sheet{wb: w, name: name, index: map[int]int{}, widths: map[int]float64{}}
	if err := checkSheetName(name); err != nil {
		w.fail(err)
	}
	for _, o := range w.sheets {
		if strings.EqualFold(o.name, name) {
			w.fail(fmt.Errorf("xlsx: two sheets named %q", name))
		}
	}
	w.sheets = append(w.sheets, s)
	return s
}

func checkSheetName(name string) error {
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0 || n > maxSheetRunes:
		return fmt.Errorf("xlsx: sheet name %q: 1 to %d characters", name, maxSheetRunes)
	case strings.ContainsAny(name, `:\/?*[]`):
		return fmt.Errorf("xlsx: sheet name %q: none of : \\ / ? * [ ]", name)
	case strings.HasPrefix(name, "'") || strings.HasSuffix(name, "'"):
		return fmt.Errorf("xlsx: sheet name %q starts or ends with an apostrophe", name)
	case !utf8.ValidString(name):
		return fmt.Errorf("xlsx: sheet name %q is not UTF-8", name)
	}
	return nil
}

func (w *Workbook) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// Set writes v in the cell at column col and row (both from 1; column 1
// is A), keeping the cell's style. Strings are text (longer than
// MaxCellRunes characters, cut there); integers and floating-point
// numbers are numbers (NaN and infinities, which a sheet cannot hold,
// become text); booleans are TRUE or FALSE; anything else is written as
// fmt.Sprint shows it.
func (s *Sheet) Set(col, row int, v any) {
	c := s.cell(col, row)
	if c == nil {
		return
	}
	c.kind, c.text = kindNumber, ""
	switch v := v.(type) {
	case string:
		c.kind, c.text = kindText, v
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		c.text = fmt.Sprint(v) // an integer's decimal digits, exactly
	case float32:
		c.text = formatFloat(float64(v), 32)
	case float64:
		c.text = formatFloat(v, 64)
	case bool:
		c.kind, c.text = kindBool, "0"
		if v {
			c.text = "1"
		}
	default:
		c.kind, c.text = kindText, fmt.Sprint(v)
	}
	if c.kind == kindNumber && c.text == "" { // a float a sheet cannot hold
		c.kind, c.text = kindText, fmt.Sprint(v)
	}
	if c.kind == kindText && len(c.text) > MaxCellRunes && utf8.RuneCountInString(c.text) > MaxCellRunes {
		c.text = string([]rune(c.text)[:MaxCellRunes])
	}
}

// formatFloat is f as a cell's value, or "" for NaN and infinities.
func formatFloat(f float64, bits int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return ""
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// Style gives the cells of row from column from to column to (inclusive)
// style st; a cell not yet written is written empty.
func (s *Sheet) Style(from, to, row int, st Style) {
	if from > to {
		s.wb.fail(fmt.Errorf("xlsx: sheet %q: columns %d to %d", s.name, from, to))
		return
	}
	for col := from; col <= to; col++ {
		c := s.cell(col, row)
		if c == nil {
			return
		}
		c.style = st
	}
}

// ColumnWidth sets the width of columns from to to (inclusive, from 1), in
// characters of the default font.
func (s *Sheet) ColumnWidth(from, to int, width float64) {
	if from < 1 || to > MaxColumns || from > to || !(width > 0 && width <= 255) {
		s.wb.fail(fmt.Errorf("xlsx: sheet %q: width %g of columns %d to %d", s.name, width, from, to))
		return
	}
	for col := from; col <= to; col++ {
		s.widths[col] = width
	}
}

// cell is the cell at col and row, added empty if it is not there yet, or
// nil (and the workbook's error) if the sheet cannot have it.
func (s *Sheet) cell(col, row int) *cell {
	if col < 1 || col > MaxColumns || row < 1 || row > MaxRows {
		s.wb.fail(fmt.Errorf("xlsx: sheet %q: no cell at column %d, row %d", s.name, col, row))
		return nil
	}
	i, ok := s.index[row]
	if !ok {
		i = len(s.rows)
		s.index[row] = i
		s.rows = append(s.rows, sheetRow{n: row})
	}
	r := &s.rows[i]
	for j := len(r.cells) - 1; j >= 0; j-- {
		if int(r.cells[j].col) == col {
			return &r.cells[j]
		}
	}
	r.cells = append(r.cells, cell{col: uint16(col)})
	return &r.cells[len(r.cells)-1]
}

// CellName is the A1 name of the cell at column col and row (from 1).
func CellName(col, row int) string {
	return columnName(col) + strconv.Itoa(row)
}

// columnName is a column's letters: 1 is A, 26 Z, 27 AA.
func columnName(col int) string {
	var b [3]byte // XFD, the last, has three letters
	i := len(b)
	for col > 0 {
		col--
		i--
		b[i] = byte('A' + col%26)
		col /= 26
	}
	return string(b[i:])
}

// Bytes is the workbook as an .xlsx file, or the first error its sheets
// met.
func (w *Workbook) Bytes() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	if len(w.sheets) == 0 {
		return nil, errors.New("xlsx: a workbook needs a sheet")
	}
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	put := func(name string, write func(b *bytes.Buffer)) error {
		f, err := z.Create(name)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		b.WriteString(xmlHeader)
		write(&b)
		_, err = f.Write(b.Bytes())
		return err
	}
	parts := []struct {
		name  string
		write func(b *bytes.Buffer)
	}{
		{"[Content_Types].xml", w.contentTypes},
		{"_rels/.rels", packageRels},
		{"xl/workbook.xml", w.workbook},
		{"xl/_rels/workbook.xml.rels", w.workbookRels},
		{"xl/styles.xml", styles},
	}
	for _, p := range parts {
		if err := put(p.name, p.write); err != nil {
			return nil, err
		}
	}
	for i, s := range w.sheets {
		if err := put(fmt.Sprintf("xl/worksheets/sheet%d.xml", i+1), s.worksheet); err != nil {
			return nil, err
		}
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

const (
	xmlHeader = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
	nsMain    = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
	nsRels    = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	nsPkg     = "http://schemas.openxmlformats.org/package/2006/relationships"
)

func (w *Workbook) contentTypes(b *bytes.Buffer) {
	b.WriteString(`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
		`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>`)
	for i := range w.sheets {
		fmt.Fprintf(b, `<Override PartName="/xl/worksheets/sheet%d.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`, i+1)
	}
	b.WriteString(`</Types>`)
}

func packageRels(b *bytes.Buffer) {
	b.WriteString(`<Relationships xmlns="` + nsPkg + `">` +
		`<Relationship Id="rId1" Type="` + nsRels + `/officeDocument" Target="xl/workbook.xml"/></Relationships>`)
}

// workbook lists the sheets; sheet i is relationship rId i+1, the styles
// the one after the last sheet.
func (w *Workbook) workbook(b *bytes.Buffer) {
	b.WriteString(`<workbook xmlns="` + nsMain + `" xmlns:r="` + nsRels + `"><sheets>`)
	for i, s := range w.sheets {
		b.WriteString(`<sheet name="`)
		escape(b, s.name)
		fmt.Fprintf(b, `" sheetId="%d" r:id="rId%d"/>`, i+1, i+1)
	}
	b.WriteString(`</sheets></workbook>`)
}

func (w *Workbook) workbookRels(b *bytes.Buffer) {
	b.WriteString(`<Relationships xmlns="` + nsPkg + `">`)
	for i := range w.sheets {
		fmt.Fprintf(b, `<Relationship Id="rId%d" Type="%s/worksheet" Target="worksheets/sheet%d.xml"/>`, i+1, nsRels, i+1)
	}
	fmt.Fprintf(b, `<Relationship Id="rId%d" Type="%s/styles" Target="styles.xml"/></Relationships>`, len(w.sheets)+1, nsRels)
}

// styles are the cell formats, in Style's order: plain, bold (font 1),
// percent (built-in number format 10, 0.00%).
func styles(b *bytes.Buffer) {
	b.WriteString(`<styleSheet xmlns="` + nsMain + `">` +
		`<fonts count="2"><font><sz val="11"/><name val="宋体"/><family val="3"/><charset val="134"/></font>` +
		`<font><b/><sz val="11"/><name val="宋体"/><family val="3"/><charset val="134"/></font></fonts>` +
		`<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>` +
		`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
		`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
		`<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
		`<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>` +
		`<xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>` +
		`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`)
}

// worksheet writes the sheet's columns and its rows, each in order.
func (s *Sheet) worksheet(b *bytes.Buffer) {
	b.WriteString(`<worksheet xmlns="` + nsMain + `">`)
	if len(s.widths) > 0 {
		cols := make([]int, 0, len(s.widths))
		for c := range s.widths {
			cols = append(cols, c)
		}
		slices.Sort(cols)
		b.WriteString(`<cols>`)
		for i := 0; i < len(cols); {
			j := i // a run of adjacent columns of one width is one <col>
			for j+1 < len(cols) && cols[j+1] == cols[j]+1 && s.widths[cols[j+1]] == s.widths[cols[i]] {
				j++
			}
			fmt.Fprintf(b, `<col min="%d" max="%d" width="%s" customWidth="1"/>`, cols[i], cols[j], strconv.FormatFloat(s.widths[cols[i]], 'g', -1, 64))
			i = j + 1
		}
		b.WriteString(`</cols>`)
	}
	b.WriteString(`<sheetData>`)
	rows := s.rows
	if !slices.IsSortedFunc(rows, func(a, b sheetRow) int { return a.n - b.n }) {
		rows = slices.Clone(rows)
		slices.SortFunc(rows, func(a, b sheetRow) int { return a.n - b.n })
	}
	for _, r := range rows {
		slices.SortFunc(r.cells, func(a, b cell) int { return int(a.col) - int(b.col) })
		fmt.Fprintf(b, `<row r="%d">`, r.n)
		for _, c := range r.cells {
			b.WriteString(`<c r="`)
			b.WriteString(CellName(int(c.col), r.n))
			b.WriteByte('"')
			if c.style != Plain {
				fmt.Fprintf(b, ` s="%d"`, c.style)
			}
			switch {
			case c.kind == kindText && c.text == "":
				b.WriteString(`/>`)
			case c.kind == kindText:
				b.WriteString(` t="inlineStr"><is><t xml:space="preserve">`)
				escape(b, c.text)
				b.WriteString(`</t></is></c>`)
			case c.kind == kindBool:
				b.WriteString(` t="b"><v>` + c.text + `</v></c>`)
			default:
				b.WriteString(`><v>` + c.text + `</v></c>`)
			}
		}
		b.WriteString(`</row>`)
	}
	b.WriteString(`</sheetData></worksheet>`)
}

// escape writes s as XML character data or attribute value: the five
// markup characters as entities, a carriage return and tab as character
// references (so a reader keeps them), and what XML 1.0 cannot hold
// (other control characters, invalid UTF-8) as U+FFFD.
func escape(b *bytes.Buffer, s string) {
	for i, w := 0, 0; i < len(s); i += w {
		r, n := utf8.DecodeRuneInString(s[i:])
		w = n
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&apos;")
		case r == '\r':
			b.WriteString("&#xD;")
		case r == '\t':
			b.WriteString("&#x9;")
		case r == '\n':
			b.WriteByte('\n')
		case r == utf8.RuneError && n == 1, r < 0x20, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteString(s[i : i+n])
		}
	}
}
