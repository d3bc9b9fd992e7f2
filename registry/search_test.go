package registry

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mozillazg/go-pinyin"

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

// The table of initials gives every character what go-pinyin gives it,
// and nothing to a character go-pinyin has no reading for.
func TestHanInitialsAgreeWithGoPinyin(t *testing.T) {
	args := pinyin.NewArgs()
	args.Style = pinyin.FirstLetter
	known := 0
	for r := rune(0x80); r <= 0x40000; r++ {
		want := ""
		if _, ok := pinyin.PinyinDict[int(r)]; ok {
			known++
			want = pinyin.LazyPinyin(string(r), args)[0]
		}
		got := ""
		if c := hanInitial(r); c != 0 {
			got = string(c)
		}
		if got != want {
			t.Fatalf("%U %c: initial %q, go-pinyin %q", r, r, got, want)
		}
	}
	if known != len(pinyin.PinyinDict) {
		t.Fatalf("%d characters checked, go-pinyin knows %d", known, len(pinyin.PinyinDict))
	}
}

// han_initials.go is what the generator writes from the go-pinyin in
// go.mod: a newer go-pinyin means running go generate again.
func TestHanInitialsAreGenerated(t *testing.T) {
	want, err := os.ReadFile("han_initials.go")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "han_initials.go")
	cmd := exec.Command("go", "run", "./internal/initialsgen", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("initialsgen: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("han_initials.go differs from what initialsgen writes: run go generate ./registry/")
	}
}
