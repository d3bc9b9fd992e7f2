package casework

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

func TestIDWithCheckKnownNumber(t *testing.T) {
	// The example of GB 11643-1999 itself: 11010519491231002X.
	if got := idWithCheck("11010519491231002"); got != "11010519491231002X" {
		t.Fatalf("idWithCheck = %s, want 11010519491231002X", got)
	}
}

func TestValidIDNumber(t *testing.T) {
	good := idWithCheck("45012219850612301")
	// A body whose check character is X, and one whose is 0.
	var withX, withZero string
	for i := 100; i < 999 && (withX == "" || withZero == ""); i++ {
		id := idWithCheck("45012219900307" + itoa3(i))
		switch id[17] {
		case 'X':
			withX = id
		case '0':
			withZero = id
		}
	}
	wrongCheck := good[:17] + string("0123456789"[(int(good[17]-'0')+1)%10])
	if good[17] == 'X' {
		wrongCheck = good[:17] + "0"
	}
	tests := []struct {
		name    string
		id      string
		wantErr string
	}{
		{name: "valid", id: good},
		{name: "valid with X", id: withX},
		{name: "valid with 0", id: withZero},
		{name: "leap day", id: idWithCheck("45012220000229123")},
		{name: "empty", id: "", wantErr: "required"},
		{name: "15 digits, the old format", id: "450122850612301", wantErr: "18 characters"},
		{name: "19 digits", id: good + "1", wantErr: "18 characters"},
		{name: "letter inside", id: "4501221985A612301" + "1", wantErr: "digits"},
		{name: "lower-case x", id: strings.Replace(withX, "X", "x", 1), wantErr: "digit or X"},
		{name: "month 13", id: idWithCheck("45012219851312301"), wantErr: "birth date"},
		{name: "30 February", id: idWithCheck("45012219850230301"), wantErr: "birth date"},
		{name: "29 February of a common year", id: idWithCheck("45012219850229301"), wantErr: "birth date"},
		{name: "wrong check digit", id: wrongCheck, wantErr: "check character"},
		{name: "two digits swapped", id: swap(good, 14, 15), wantErr: "check character"},
		{name: "province 0", id: idWithCheck("05012219850612301"), wantErr: "province"},
		{name: "wide characters", id: "４５０１２２１９８５０６１２３０", wantErr: "18 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidIDNumber(tt.id)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("ValidIDNumber(%q) = %v, want nil", tt.id, err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("ValidIDNumber(%q) = nil, want an error about %s", tt.id, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("ValidIDNumber(%q) = %v, want an error about %s", tt.id, err, tt.wantErr)
			}
			// The error goes into logs: never the birth date.
			if err != nil && len(tt.id) == 18 && strings.Contains(err.Error(), tt.id[6:14]) {
				t.Errorf("ValidIDNumber(%q) = %v: says the birth date", tt.id, err)
			}
		})
	}
}

func itoa3(i int) string {
	return string([]byte{byte('0' + i/100), byte('0' + i/10%10), byte('0' + i%10)})
}

func swap(s string, i, j int) string {
	b := []byte(s)
	if b[i] == b[j] {
		b[i] = '0' + (b[i]-'0'+1)%10
	} else {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func TestMaskIDNumber(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "id number", in: "450122198506123011", want: "4501**********3011"},
		{name: "with X", in: "11010519491231002X", want: "1101**********002X"},
		{name: "short", in: "1234", want: "****"},
		{name: "empty", in: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaskIDNumber(tt.in); got != tt.want {
				t.Errorf("MaskIDNumber(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskPhone(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "mobile", in: "13907710001", want: "139****0001"},
		{name: "landline", in: "0771-6201001", want: "077*****1001"},
		{name: "with extension", in: "0771-6201001-802", want: "077*********-802"},
		{name: "short", in: "1234567", want: "*******"},
		{name: "empty", in: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaskPhone(tt.in); got != tt.want {
				t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskAddress(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "full", in: "广西南宁市武鸣区城厢镇东村12号", want: "广西南宁市武***"},
		{name: "six characters", in: "东村十二号院", want: "东村十***"},
		{name: "short", in: "东村", want: "东***"},
		{name: "one character", in: "东", want: "***"},
		{name: "latin", in: "12 Main Street, Wuming", want: "12 Mai***"},
		{name: "empty", in: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaskAddress(tt.in); got != tt.want {
				t.Errorf("MaskAddress(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskApplicant(t *testing.T) {
	a := &yizhanv1.Applicant{Name: "张三", IdNumber: "450122198506123011", Phone: "13907710001", Address: "广西南宁市武鸣区城厢镇东村12号"}
	MaskApplicant(a)
	want := &yizhanv1.Applicant{Name: "张三", IdNumber: "4501**********3011", Phone: "139****0001", Address: "广西南宁市武***"}
	if !proto.Equal(a, want) {
		t.Errorf("MaskApplicant = %v, want %v", a, want)
	}
	MaskApplicant(nil) // no panic
}

func TestValidPhone(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{name: "mobile", in: "13877112345", ok: true},
		{name: "mobile 19x", in: "19977112345", ok: true},
		{name: "landline 4-digit area", in: "0771-6201001", ok: true},
		{name: "landline 3-digit area, 8 digits", in: "010-62010010", ok: true},
		{name: "landline with extension", in: "0771-6201001-802", ok: true},
		{name: "empty", in: ""},
		{name: "mobile 12x", in: "12877112345"},
		{name: "mobile too short", in: "1387711234"},
		{name: "mobile too long", in: "138771123456"},
		{name: "landline without area code", in: "6201001"},
		{name: "landline without dash", in: "07716201001"},
		{name: "area code not 0", in: "7771-6201001"},
		{name: "letters", in: "0771-62O1001"},
		{name: "plus prefix", in: "+8613877112345"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidPhone(tt.in); (err == nil) != tt.ok {
				t.Errorf("ValidPhone(%q) = %v, want ok %v", tt.in, err, tt.ok)
			}
		})
	}
}

func TestCaseNumber(t *testing.T) {
	day := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		day  time.Time
		seq  uint32
		want string
	}{
		{name: "first", day: day, seq: 1, want: "450122101203-20261127-0001"},
		{name: "wider", day: day, seq: 12345, want: "450122101203-20261127-12345"},
		// 17:00 UTC on 26 November is 01:00 on the 27th in China.
		{name: "date in China Standard Time", day: time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC), seq: 7, want: "450122101203-20261127-0007"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CaseNumber(village, tt.day, tt.seq)
			if got != tt.want {
				t.Fatalf("CaseNumber = %s, want %s", got, tt.want)
			}
			office, d, seq, err := ParseCaseNumber(got)
			if err != nil || office != village || d != tt.want[13:21] || seq != tt.seq {
				t.Errorf("ParseCaseNumber(%s) = %s, %s, %d, %v", got, office, d, seq, err)
			}
		})
	}
}

func TestParseCaseNumberRejects(t *testing.T) {
	for _, n := range []string{
		"", "450122101203", "450122101203-20261127", "450122101203-20261127-1",
		"450122101203-20261127-0000", "450122101203-20261127-00012", "45012210120-20261127-0001",
		"450122101203-20261327-0001", "450122101203-2026112-0001", "450122101203-20261127-0001-1",
		"450122101203-20261127-99999999999", "450122101203-20261127-+001",
	} {
		t.Run(n, func(t *testing.T) {
			_, _, _, err := ParseCaseNumber(n)
			wantField(t, err, "number")
		})
	}
}

// A sequence part is read back only as CaseNumber writes it: %04d, no
// wider than its value needs.
func TestParseCaseNumberSequenceAsWritten(t *testing.T) {
	for _, v := range []uint64{1, 9, 10, 999, 1000, 9999, 10000, 12345, 100000} {
		for width := 4; width <= 7; width++ {
			s := fmt.Sprintf("%0*d", width, v)
			_, _, seq, err := ParseCaseNumber("450122101203-20261127-" + s)
			if want := fmt.Sprintf("%04d", v) == s; (err == nil) != want || (want && uint64(seq) != v) {
				t.Errorf("sequence %q: seq %d, err %v; CaseNumber writes %04d", s, seq, err, v)
			}
		}
	}
}

func TestQueryCodeHash(t *testing.T) {
	a, b := QueryCodeHash("123456"), QueryCodeHash("123457")
	if len(a) != 32 || string(a) == string(b) || string(a) != string(QueryCodeHash("123456")) {
		t.Errorf("QueryCodeHash is not a stable SHA-256 of the code")
	}
	if string(a) == string(GenesisHash("123456")) {
		t.Errorf("query code and genesis hashes share a domain")
	}
}

// Unified social credit codes (GB 32100) of real registrations pass;
// one character changed, a letter the standard leaves out, or a wrong
// length fails with its reason.
func TestValidCreditCode(t *testing.T) {
	for _, good := range []string{"91350100M000100Y43", "91110000802100433B", "9144030071526726XG", ""} {
		if err := ValidCreditCode(good); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
	for _, tt := range []struct{ code, reason string }{
		{"91350100M000100Y44", reason.CreditCodeChecksum},
		{"91110000802100433C", reason.CreditCodeChecksum},
		{"91350100M000100I43", reason.InvalidFormat}, // I is not used
		{"91350100m000100Y43", reason.InvalidFormat}, // capitals only
		{"91350100M000100Y4", reason.InvalidFormat},
	} {
		err := ValidCreditCode(tt.code)
		if r := reason.ReasonOf(err); r != tt.reason {
			t.Errorf("%s: %v, want %s", tt.code, err, tt.reason)
		}
	}
}
