package web

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/yizhan-gov/yizhan/registry"
)

// TestTranslateLimits feeds the messages of the input limits, as the
// registry makes them, through the translations: each has its Chinese.
func TestTranslateLimits(t *testing.T) {
	big := wrapperspb.String(strings.Repeat("字", 1000))
	for _, tc := range []struct {
		v    *registry.FieldViolation
		want string
	}{
		{registry.CheckLine("applicant.address", strings.Repeat("路", 201), registry.MaxAddressLen), "最多 200 个字（现为 201 个）"},
		{registry.CheckCount("item.materials", 101, registry.MaxMaterials), "最多 100 项（现为 101 项）"},
		{registry.CheckAtMost("item.materials[0].copies", 2147483647, registry.MaxCopies), "不能超过 100（现为 2147483647）"},
		{registry.CheckLine("applicant.name", "张\x00三", registry.MaxNameLen), "不能包含控制字符（第 2 个字）"},
		{registry.CheckText("reason", "材料\n齐全\x07", registry.MaxTextLen), "除换行和制表符外不能包含控制字符（第 6 个字）"},
		{registry.CheckLine("applicant.name", "\xff", registry.MaxNameLen), "含有无效的字符编码（须为 UTF-8 文本）"},
		{registry.CheckSize("", big, 100, "event"), "内容过多（共 3003 字节，最多 100 字节），请删减"},
	} {
		if tc.v == nil {
			t.Fatalf("no violation, want %q", tc.want)
		}
		if got := translate(tc.v.Description); got != tc.want {
			t.Errorf("translate(%q) = %q, want %q", tc.v.Description, got, tc.want)
		}
	}
	if got := translate("case 450122101203-20261127-0004 has 20 complaints, the most one case takes"); got != "该办件已有 20 次投诉，已达上限" {
		t.Errorf("complaints: %q", got)
	}
}
