package casework

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

var updateDiagram = flag.Bool("update", false, "rewrite the diagrams in rules.go and DESIGN.md from the rule table")

// stateName is a state as the diagram writes it: FILED.
func stateName(s yizhanv1.CaseState) string { return strings.TrimPrefix(s.String(), "CASE_STATE_") }

// stateNames writes a set of states: by the table's name for the set, or
// one by one.
func stateNames(set []yizhanv1.CaseState) string {
	switch {
	case slices.Equal(set, anyState):
		return "any state"
	case slices.Equal(set, openStates):
		return "any open state"
	}
	var names []string
	for _, s := range set {
		names = append(names, stateName(s))
	}
	return strings.Join(names, ", ")
}

func actionName(r *rule) string {
	if r.Auto {
		return r.Action.String() + " (by itself)"
	}
	return r.Action.String()
}

// guardLines are the conditions of r in state s ("" for every state), one
// a line: "if not suspended", "and no opinion pending".
func guardLines(r *rule, s yizhanv1.CaseState) []string {
	var out []string
	for _, g := range r.Guards {
		if s == 0 || g.checkedIn(s) {
			in := ""
			if s == 0 && len(g.In) > 0 {
				in = " (in " + stateNames(g.In) + ")"
			}
			out = append(out, g.Holds+in)
		}
	}
	for _, q := range r.Asks {
		out = append(out, q.Holds+" (asked)")
	}
	for i := range out {
		if i == 0 {
			out[i] = "if " + out[i]
		} else {
			out[i] = "and " + out[i]
		}
	}
	for i, g := range r.Waits {
		word := "and"
		if i == 0 {
			word = "by itself only when"
		}
		out = append(out, word+" "+g.Holds)
	}
	return out
}

func pad(s string, n int) string { return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s))) }

// renderDiagram is the state diagram of the rule table: each state with
// the actions that take a case on from it and where to, then the actions
// that leave the state as it is.
func renderDiagram() string {
	var b strings.Builder
	line := func(cols []string, widths []int) {
		var parts []string
		for i, c := range cols {
			if i < len(widths) && i < len(cols)-1 {
				c = pad(c, widths[i])
			}
			parts = append(parts, c)
		}
		b.WriteString(strings.TrimRight(strings.Join(parts, " "), " ") + "\n")
	}
	const wState, wAction, wTo = 20, 19, 19
	var final []string
	for _, st := range stateTable {
		if st.Final {
			final = append(final, stateName(st.State))
			continue
		}
		first := true
		for i := range table {
			r := &table[i]
			if r.Action == ActionUnspecified || !r.movesOn(st.State) {
				continue
			}
			var to []string
			for _, s := range r.To {
				to = append(to, stateName(s))
			}
			label := ""
			if first {
				label = stateName(st.State)
			}
			first = false
			gl := guardLines(r, st.State)
			if len(gl) == 0 {
				gl = []string{""}
			}
			line([]string{label, actionName(r), "→ " + strings.Join(to, " | "), gl[0]}, []int{wState, wAction, wTo})
			for _, g := range gl[1:] {
				line([]string{"", "", "", g}, []int{wState, wAction, wTo})
			}
		}
	}
	b.WriteString(strings.Join(final, ", ") + ": final.\n")
	b.WriteString("The state stays:\n")
	for i := range table {
		r := &table[i]
		if r.Action == ActionUnspecified || len(r.To) > 0 {
			continue
		}
		in := "in " + stateNames(r.From)
		if r.Besides {
			in += ", final or not"
		}
		gl := guardLines(r, 0)
		line([]string{"", actionName(r), in}, []int{1, wAction})
		for _, g := range gl {
			line([]string{"", "", g}, []int{1, wAction})
		}
	}
	return b.String()
}

// renderWho is who asks for each action and what the office needs for
// the item.
func renderWho() string {
	var b strings.Builder
	const wAction, wWho = 17, 36
	b.WriteString(pad("action", wAction) + " " + pad("who asks", wWho) + " the office needs for the item\n")
	for i := range table {
		r := &table[i]
		if r.Action == ActionUnspecified {
			continue
		}
		var who []string
		for _, role := range r.Roles {
			who = append(who, strings.TrimPrefix(role.String(), "ROLE_"))
		}
		if r.Citizen {
			who = append(who, "the citizen")
		}
		if r.Auto {
			who = append(who, "the office itself")
		}
		w := strings.Join(who, ", ")
		for _, g := range r.Asker {
			w += " " + g.Holds
		}
		needs := map[need]string{needRight: strings.TrimPrefix(r.Right.String(), "RIGHT_"), needAnyRight: "any right *", needPath: "to be on the path"}[r.Need]
		b.WriteString(strings.TrimRight(pad(r.Action.String(), wAction)+" "+pad(w, wWho)+" "+needs, " ") + "\n")
	}
	b.WriteString("* to ask for it; an event appended elsewhere needs only to be on the path\n")
	return b.String()
}

// The marks the rendered texts follow.
const (
	rulesMark   = "// The state diagram, rendered from the rule table (table.go) by TestDiagram:"
	diagramMark = "<!-- The state diagram, rendered from the rule table (table.go) by TestDiagram. -->"
	whoMark     = "<!-- Who asks, rendered from the rule table (table.go) by TestDiagram. -->"
)

// replaceAfter replaces the block of lines after the line mark: in a Go
// file the "//\t" lines after mark and a "//" line; in Markdown the
// fenced block after mark. It reports the block it found.
func replaceAfter(t *testing.T, text, mark, block string, goComment bool) (out, found string) {
	t.Helper()
	lines := strings.SplitAfter(text, "\n")
	at := slices.IndexFunc(lines, func(l string) bool { return strings.TrimRight(l, "\n") == mark })
	if at < 0 {
		t.Fatalf("no line %q", mark)
	}
	start := at + 2 // after the mark and "//" or the opening fence
	if start > len(lines) {
		t.Fatalf("nothing after %q", mark)
	}
	end := start
	var old, want strings.Builder
	for _, l := range strings.SplitAfter(strings.TrimSuffix(block, "\n"), "\n") {
		l = strings.TrimSuffix(l, "\n")
		if goComment {
			want.WriteString(strings.TrimRight("//\t"+l, " \t") + "\n")
		} else {
			want.WriteString(l + "\n")
		}
	}
	if goComment {
		for end < len(lines) && strings.HasPrefix(lines[end], "//\t") {
			end++
		}
	} else {
		if !strings.HasPrefix(lines[at+1], "```") {
			t.Fatalf("no fenced block after %q", mark)
		}
		for end < len(lines) && !strings.HasPrefix(lines[end], "```") {
			end++
		}
	}
	for _, l := range lines[start:end] {
		old.WriteString(l)
	}
	return strings.Join(lines[:start], "") + want.String() + strings.Join(lines[end:], ""), old.String()
}

// TestDiagram checks that the state diagram at the top of rules.go and in
// DESIGN.md, and the table of who asks in DESIGN.md, are the rule
// table's. go test ./casework/ -run TestDiagram -update rewrites them.
func TestDiagram(t *testing.T) {
	diagram, who := renderDiagram(), renderWho()
	for _, f := range []struct {
		file  string
		mark  string
		block string
		goc   bool
	}{
		{"rules.go", rulesMark, diagram, true},
		{"DESIGN.md", diagramMark, diagram, false},
		{"DESIGN.md", whoMark, who, false},
	} {
		b, err := os.ReadFile(f.file)
		if err != nil {
			t.Fatal(err)
		}
		out, old := replaceAfter(t, string(b), f.mark, f.block, f.goc)
		if out == string(b) {
			continue
		}
		if *updateDiagram {
			if err := os.WriteFile(f.file, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: rewrote the block after %q", f.file, f.mark)
			continue
		}
		_, want := replaceAfter(t, out, f.mark, f.block, f.goc)
		t.Errorf("%s: the block after %q is not the rule table's (go test ./casework/ -run TestDiagram -update rewrites it).\nIt is:\n%s\nIt should be:\n%s", f.file, f.mark, old, want)
	}
}
