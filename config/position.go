package config

// Turning yaml.v3's line-only messages, and validation problems that only
// know a key, into problems that carry both key and line.

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The shapes of yaml.v3's messages that translate rewrites. They only
// carry a line, so the key is found by looking at the document.
var (
	reUnknownField = regexp.MustCompile(`^line (\d+): field (.+) not found in type \S+$`)
	reFieldTwice   = regexp.MustCompile(`^line (\d+): field (.+) already set in type \S+$`)
	reMapKeyTwice  = regexp.MustCompile(`^line (\d+): mapping key "(.*)" already defined at line (\d+)$`)
	reColumn       = regexp.MustCompile(`^line (\d+): column (\d+): (.*)$`)
	reCannot       = regexp.MustCompile("^line (\\d+): cannot unmarshal (!!\\w+)(?: `([^`]*)`)? into (.+)$")
	reLine         = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
)

// translate turns a decoding error into problems that name their key.
func translate(err error, data []byte) []error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		// A syntax error: the document could not be parsed at all.
		if m := reLine.FindStringSubmatch(err.Error()); m != nil {
			return []error{&FieldError{Line: atoi(m[1]), Msg: m[2]}}
		}
		return []error{&FieldError{Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	lay := newLayout(data)
	out := make([]error, 0, len(te.Errors))
	for _, msg := range te.Errors {
		out = append(out, lay.translate(msg))
	}
	return out
}

// translate rewrites one yaml.v3 message.
func (l *layout) translate(msg string) error {
	if m := reUnknownField.FindStringSubmatch(msg); m != nil {
		line, name := atoi(m[1]), m[2]
		e := l.keyAt(line, name)
		if e == nil {
			return &FieldError{Line: line, Msg: fmt.Sprintf("unknown key %q", name)}
		}
		return &FieldError{Key: e.parent, Line: line, Msg: fmt.Sprintf("unknown key %q", name) + hint(name, e.known)}
	}
	if m := reFieldTwice.FindStringSubmatch(msg); m != nil {
		return l.twice(atoi(m[1]), m[2], "")
	}
	if m := reMapKeyTwice.FindStringSubmatch(msg); m != nil {
		return l.twice(atoi(m[1]), m[2], m[3])
	}
	if m := reColumn.FindStringSubmatch(msg); m != nil {
		line, col := atoi(m[1]), atoi(m[2])
		for _, e := range l.entries {
			if e.value.Line == line && e.value.Column == col {
				return &FieldError{Key: e.path, Line: line, Msg: m[3]}
			}
		}
		return &FieldError{Line: line, Msg: m[3]}
	}
	if m := reCannot.FindStringSubmatch(msg); m != nil {
		line := atoi(m[1])
		what := yamlTagWord(m[2])
		if m[3] != "" {
			what = fmt.Sprintf("%q", m[3])
		}
		fe := &FieldError{Line: line, Msg: fmt.Sprintf("cannot use %s here: want %s", what, goTypeWord(m[4]))}
		if e := l.valueAt(line, m[2], m[3]); e != nil {
			fe.Key = e.path
		}
		return fe
	}
	if m := reLine.FindStringSubmatch(msg); m != nil {
		return &FieldError{Line: atoi(m[1]), Msg: m[2]}
	}
	return &FieldError{Msg: msg}
}

// twice reports a key given more than once in one mapping.
func (l *layout) twice(line int, name, first string) error {
	key := name
	if e := l.keyAt(line, name); e != nil {
		key = e.path
	}
	msg := "given more than once"
	if first != "" {
		msg += " (first at line " + first + ")"
	}
	return &FieldError{Key: key, Line: line, Msg: msg}
}

// yamlTagWord says in words what kind of value a YAML tag stands for.
func yamlTagWord(tag string) string {
	switch tag {
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping"
	}
	return "a " + strings.TrimPrefix(tag, "!!")
}

// goTypeWord says in words what kind of value a Go type takes, since
// "config.plain" or "[]string" means little to someone editing YAML.
func goTypeWord(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "config.") || strings.HasPrefix(t, "*config."):
		return "a mapping"
	}
	return t
}

// hint suggests the key that was probably meant: a near spelling, or the
// *_env form for someone who tried to put a secret into the file.
func hint(name string, known []string) string {
	for _, k := range known {
		if k == name+"_env" {
			return fmt.Sprintf(" (secrets are read from the environment: use %q)", k)
		}
	}
	best, bestDist := "", 3 // at most two edits away
	for _, k := range known {
		if d := editDistance(name, k); d < bestDist && d < len(name) {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// layout indexes a YAML document by key path, so that messages which only
// know a line, and validation problems which only know a key, can be
// given both.
type layout struct {
	entries []*entry
	byPath  map[string]*entry
}

// entry is one key (or list item) of the document.
type entry struct {
	path   string     // "services.checkout.rollback", "tokens[0]"
	parent string     // path of the mapping or list holding it
	key    *yaml.Node // nil for a list item
	value  *yaml.Node
	known  []string // keys the holding mapping accepts; nil if free-form
}

// newLayout indexes data; a document that does not parse yields an empty
// layout, since its errors carry their own line.
func newLayout(data []byte) *layout {
	l := &layout{byPath: map[string]*entry{}}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return l
	}
	l.walk(&root, "", reflect.TypeFor[Config]())
	return l
}

// walk records the keys under n, following the Go type alongside so each
// mapping knows which keys it accepts. Aliases are not followed: their
// keys live at the anchor.
func (l *layout) walk(n *yaml.Node, path string, t reflect.Type) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			l.walk(c, path, t)
		}
	case yaml.MappingNode:
		fields, known := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			var child reflect.Type
			switch {
			case fields != nil:
				child = fields[k.Value]
			case t != nil && t.Kind() == reflect.Map:
				child = t.Elem()
			}
			l.add(&entry{path: join(path, k.Value), parent: path, key: k, value: v, known: known})
			l.walk(v, join(path, k.Value), child)
		}
	case yaml.SequenceNode:
		var child reflect.Type
		if t != nil && t.Kind() == reflect.Slice {
			child = t.Elem()
		}
		for i, v := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			l.add(&entry{path: p, parent: path, value: v})
			l.walk(v, p, child)
		}
	}
}

func (l *layout) add(e *entry) {
	l.entries = append(l.entries, e)
	if _, dup := l.byPath[e.path]; !dup {
		l.byPath[e.path] = e
	}
}

// keyAt finds the key named name on the given line.
func (l *layout) keyAt(line int, name string) *entry {
	for _, e := range l.entries {
		if e.key != nil && e.key.Line == line && e.key.Value == name {
			return e
		}
	}
	return nil
}

// valueAt finds the value a "cannot unmarshal" message is about: the one
// on that line, narrowed by its kind and text when several share it.
func (l *layout) valueAt(line int, tag, text string) *entry {
	var found []*entry
	for _, e := range l.entries {
		if e.value.Line != line {
			continue
		}
		switch {
		case tag == "!!map" && e.value.Kind != yaml.MappingNode,
			tag == "!!seq" && e.value.Kind != yaml.SequenceNode,
			tag != "!!map" && tag != "!!seq" && e.value.Kind != yaml.ScalarNode:
			continue
		}
		if text != "" && !strings.HasPrefix(e.value.Value, strings.TrimSuffix(text, "...")) {
			continue
		}
		found = append(found, e)
	}
	// A list or mapping opening on the same line encloses the value that
	// failed; keep the innermost.
	var inner []*entry
	for _, e := range found {
		enclosing := false
		for _, o := range found {
			if o != e && (strings.HasPrefix(o.path, e.path+".") || strings.HasPrefix(o.path, e.path+"[")) {
				enclosing = true
				break
			}
		}
		if !enclosing {
			inner = append(inner, e)
		}
	}
	if len(inner) == 1 {
		return inner[0]
	}
	return nil
}

// lineOf returns the line of key, or of the nearest enclosing key present
// in the file (a missing key is best fixed where its parent is).
func (l *layout) lineOf(key string) int {
	if l == nil {
		return 0
	}
	for key != "" {
		if e, ok := l.byPath[key]; ok {
			if e.key != nil {
				return e.key.Line
			}
			return e.value.Line
		}
		cut := strings.LastIndexAny(key, ".[")
		if cut < 0 {
			return 0
		}
		key = key[:cut]
	}
	return 0
}

// place gives validation problems their line in the file, or names the
// environment variable that set the key instead.
func place(err error, lay *layout, overrides map[string]string) []error {
	var problems []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		problems = j.Unwrap()
	} else {
		problems = []error{err}
	}
	out := make([]error, 0, len(problems))
	for _, p := range problems {
		var fe *FieldError
		if !errors.As(p, &fe) {
			out = append(out, p)
			continue
		}
		placed := *fe
		if env, ok := overrides[fe.Key]; ok {
			placed.Key = fmt.Sprintf("%s (from %s)", fe.Key, env)
		} else if placed.Line == 0 {
			placed.Line = lay.lineOf(fe.Key)
		}
		out = append(out, &placed)
	}
	return out
}

// yamlFields maps the YAML keys of struct type t to their field types
// and lists them sorted; nil when t is not a struct.
func yamlFields(t reflect.Type) (map[string]reflect.Type, []string) {
	if t == nil || t.Kind() != reflect.Struct {
		return nil, nil
	}
	fields := map[string]reflect.Type{}
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	sort.Strings(names)
	return fields, names
}

// join appends a key to a dotted path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
