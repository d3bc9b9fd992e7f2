package registry

import (
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Citizens' words find the items: everyday names, characters in order,
// pinyin initials, the department; the closer match ranks higher.
func TestMatchItemByEverydayWords(t *testing.T) {
	tobacco := &yizhanv1.Item{Code: "450122-YC-001", Name: "烟草专卖零售许可证核发", Aliases: []string{"烟草证", "卖烟"}}
	soleTrader := &yizhanv1.Item{Code: "450122-SCJG-001", Name: "个体工商户设立登记", Aliases: []string{"个体户", "营业执照"}}
	marriage := &yizhanv1.Item{Code: "450122-MZ-002", Name: "内地居民结婚登记"}
	depts := map[*yizhanv1.Item]string{tobacco: "青山县烟草专卖局", soleTrader: "青山县市场监督管理局", marriage: "青山县民政局"}
	for _, tt := range []struct {
		q    string
		it   *yizhanv1.Item
		want int
	}{
		{"烟草专卖零售许可证核发", tobacco, scoreExact},
		{"烟草证", tobacco, scoreExact},
		{"烟草", tobacco, scoreNamePrefix},
		{"零售许可", tobacco, scoreName},
		{"卖烟", tobacco, scoreExact},
		{"烟草许可", tobacco, scoreInOrder},
		{"ycz", tobacco, scoreInitials},
		{"yc-001", tobacco, scoreCode},
		{"个体户", soleTrader, scoreExact},
		{"个体", soleTrader, scoreNamePrefix},
		{"执照", soleTrader, scoreAlias},
		{"市场监管", soleTrader, scoreDepartment - 5},
		{"民政", marriage, scoreDepartment},
		{"结婚", marriage, scoreName},
		{"jhdj", marriage, scoreInitials},
		{"卖烟", marriage, scoreNoMatch},
		{"烟", marriage, scoreNoMatch},
	} {
		if got := matchItem(tt.it, depts[tt.it], tt.q); got != tt.want {
			t.Errorf("%q on %s: %d, want %d", tt.q, tt.it.GetName(), got, tt.want)
		}
	}
	if got := initials("烟草专卖零售许可证核发"); got != "yczmlsxkzhf" {
		t.Errorf("initials = %q", got)
	}
}
