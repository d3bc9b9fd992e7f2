package web

import (
	"bytes"
	"regexp"
)

// The browsers common in Chinese offices include old ones, and the
// compatibility modes of the dual-core browsers (360, QQ, Sogou), that
// know no CSS variables: there a rule that reads var(--c) has no colour
// at all, and white header links or a blue button's text vanish. The
// stylesheet keeps its variables for whoever edits it, and is served
// with each one replaced by its value.

var (
	cssRoot = regexp.MustCompile(`:root\{([^}]*)\}`)
	cssDecl = regexp.MustCompile(`--([a-zA-Z0-9-]+):([^;]+)`)
	cssVar  = regexp.MustCompile(`var\(--([a-zA-Z0-9-]+)\)`)
)

// flattenCSSVars replaces every var(--name) of css by the value its
// :root rule gives name, and drops that rule. A variable with no value
// there is left as it was.
func flattenCSSVars(css []byte) []byte {
	m := cssRoot.FindSubmatchIndex(css)
	if m == nil {
		return css
	}
	values := map[string][]byte{}
	for _, d := range cssDecl.FindAllSubmatch(css[m[2]:m[3]], -1) {
		values[string(d[1])] = bytes.TrimSpace(d[2])
	}
	out := append(bytes.Clone(css[:m[0]]), css[m[1]:]...)
	return cssVar.ReplaceAllFunc(out, func(v []byte) []byte {
		if val, ok := values[string(cssVar.FindSubmatch(v)[1])]; ok {
			return val
		}
		return v
	})
}
