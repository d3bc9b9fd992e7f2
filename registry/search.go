package registry

import (
	"slices"
	"strings"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Searching the catalogue by everyday words. Citizens do not type an
// item's official name: they type 烟草证, 卖烟 or 个体户, or the pinyin
// initials on a phone keyboard (ycz). An item matches a query by its
// name, its everyday names (Item.aliases), its code, its department's
// name, or the pinyin initials of its name and everyday names; the
// closer the match, the higher it ranks.

// Scores of the ways a query matches, best first.
const (
	scoreExact        = 100 // the name or an everyday name, exactly
	scoreNamePrefix   = 90
	scoreName         = 80 // within the name
	scoreAlias        = 70 // within an everyday name
	scoreCode         = 60
	scoreInOrder      = 50 // every character of the query, in order, in the name or an everyday name (烟草证 → 烟草专卖零售许可证)
	scoreInitials     = 40 // the pinyin initials (ycxk → 烟草…许可)
	scoreDepartment   = 30
	scoreNoMatch      = 0
	minInOrderQueryLn = 2 // a single character in order is any item with it
)

//go:generate go run ./internal/initialsgen

// initialsBlock is a run of consecutive code points from start, each
// with its pinyin initial (a space: none); han_initials.go holds them.
type initialsBlock struct {
	start   rune
	letters string
}

// hanInitial is the pinyin initial of Han character r (the first
// reading's, as go-pinyin's FirstLetter style gives it), or 0.
func hanInitial(r rune) byte {
	i, found := slices.BinarySearchFunc(hanInitials[:], r, func(b initialsBlock, r rune) int {
		return int(b.start - r)
	})
	if !found {
		i-- // the block starting before r, if any
	}
	if i < 0 {
		return 0
	}
	b := hanInitials[i]
	if off := int(r - b.start); off < len(b.letters) && b.letters[off] != ' ' {
		return b.letters[off]
	}
	return 0
}

// initials is the pinyin initials of s's Han characters, lower case; other
// letters and digits are kept as they are (lower case).
func initials(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
		default:
			if c := hanInitial(r); c != 0 {
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

// inOrder reports whether every rune of q appears in s, in order.
func inOrder(s, q string) bool {
	qs := []rune(q)
	i := 0
	for _, r := range s {
		if i < len(qs) && r == qs[i] {
			i++
		}
	}
	return i == len(qs)
}

// matchItem scores how well query q (lower case, trimmed) matches item
// it of department dept; 0 is no match.
func matchItem(it *yizhanv1.Item, dept, q string) int {
	if q == "" {
		return scoreExact
	}
	name := strings.ToLower(it.GetName())
	aliases := make([]string, 0, len(it.GetAliases()))
	for _, a := range it.GetAliases() {
		aliases = append(aliases, strings.ToLower(a))
	}
	best := scoreNoMatch
	up := func(s int) {
		best = max(best, s)
	}
	switch {
	case name == q:
		up(scoreExact)
	case strings.HasPrefix(name, q):
		up(scoreNamePrefix)
	case strings.Contains(name, q):
		up(scoreName)
	}
	for _, a := range aliases {
		switch {
		case a == q:
			up(scoreExact)
		case strings.Contains(a, q):
			up(scoreAlias)
		}
	}
	if strings.Contains(strings.ToLower(it.GetCode()), q) {
		up(scoreCode)
	}
	if best >= scoreInOrder {
		return best
	}
	if len([]rune(q)) >= minInOrderQueryLn {
		for _, s := range append([]string{name}, aliases...) {
			if inOrder(s, q) {
				up(scoreInOrder)
			}
		}
	}
	if best == scoreNoMatch && isASCIILetters(q) && len(q) >= 2 {
		for _, s := range append([]string{name}, aliases...) {
			if strings.Contains(initials(s), q) {
				up(scoreInitials)
			}
		}
	}
	if best == scoreNoMatch && dept != "" {
		switch d := strings.ToLower(dept); {
		case strings.Contains(d, q):
			up(scoreDepartment)
		case len([]rune(q)) >= minInOrderQueryLn && inOrder(d, q): // 市场监管 → 市场监督管理局
			up(scoreDepartment - 5)
		}
	}
	return best
}

func isASCIILetters(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
