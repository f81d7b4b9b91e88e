// Package yamlconf decodes the YAML config files of edgenas strictly and
// remembers where each key is, so validation problems can name their line.
package yamlconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/edgenas/edgenas/internal/fielderr"
)

// Lines maps the dotted path of every mapping key of a document (e.g.
// "model.hidden") to its 1-based line.
type Lines map[string]int

// FieldError is one problem of a config: the file, the line of the field
// when known, the field's YAML path and what was expected. It is the one
// validation error type of edgenas (package fielderr).
type FieldError = fielderr.FieldError

// Line returns the line of field, or of its nearest parent key that has
// one; 0 when none does.
func (l Lines) Line(field string) int {
	for p := field; p != ""; {
		if n, ok := l[p]; ok {
			return n
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

// At returns a FieldError for field, located by lines in file. A field
// without a line of its own takes the line of its nearest parent key.
func (l Lines) At(file, field, format string, args ...any) *FieldError {
	return &FieldError{File: file, Line: l.Line(field), Field: field, Msg: fmt.Sprintf(format, args...)}
}

// MaxKeys bounds the keys of one mapping: far above any config, low
// enough that decoding stays fast (yaml.v3 checks each key of a mapping
// against the others).
const MaxKeys = 10_000

// MaxItems bounds the lines plus flow-list separators of a document (an
// upper bound of its keys and list items), checked before parsing so a
// huge list cannot exhaust memory: far above any config.
const MaxItems = 100_000

// MaxProblems bounds the problems one decoding reports; the rest are
// counted.
const MaxProblems = 20

// Decode decodes one YAML document from data into v strictly: an unknown
// key, a value of the wrong type (a fraction or an out-of-range number for
// an integer included), more than MaxItems lines and list items, a mapping
// of more than MaxKeys keys or a second
// document is an error carrying its line. name is the file name errors
// carry. An empty document leaves v unchanged. It returns the line of
// every key.
func Decode(data []byte, name string, v any) (Lines, error) {
	if n := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte(",")); n > MaxItems {
		return nil, &FieldError{File: name, Msg: fmt.Sprintf("%d lines and list items; a config has at most %d", n, MaxItems)}
	}
	// The document is parsed into nodes first (linear in its size), so its
	// shape is checked before the typed decoding, whose time grows with the
	// square of a mapping's keys.
	pre := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := pre.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, syntaxError(data, name, err)
	}
	var extra yaml.Node
	if err := pre.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s:%d: a second YAML document: want one", name, extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(data, name, err)
	}
	if err := tooManyKeys(&root, name); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return nil, syntaxError(data, name, err)
	}
	var probs []error
	checkIntegers(&root, reflect.TypeOf(v), "", name, &probs)
	if err := capProblems(probs); err != nil {
		return nil, err
	}
	lines := Lines{}
	collect(&root, "", lines)
	return lines, nil
}

// tooManyKeys reports the first mapping under n with more than MaxKeys keys.
func tooManyKeys(n *yaml.Node, name string) error {
	if n.Kind == yaml.MappingNode && len(n.Content)/2 > MaxKeys {
		return &FieldError{File: name, Line: n.Line, Msg: fmt.Sprintf("a mapping of %d keys; a config has at most %d", len(n.Content)/2, MaxKeys)}
	}
	if n.Kind == yaml.AliasNode {
		return nil
	}
	for _, c := range n.Content {
		if err := tooManyKeys(c, name); err != nil {
			return err
		}
	}
	return nil
}

// checkIntegers reports every scalar that yaml.v3 would silently convert
// into an integer field although it is a fraction or out of the field's
// range (yaml.v3 truncates 4.5 to 4 and wraps 2^64 into a uint64). It
// follows the struct fields by their yaml names; aliases are not followed.
func checkIntegers(n *yaml.Node, t reflect.Type, path, name string, probs *[]error) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			checkIntegers(c, t, path, name, probs)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i].Value, n.Content[i+1]
			switch t.Kind() {
			case reflect.Struct:
				if f, ok := yamlField(t, k); ok {
					checkIntegers(val, f.Type, join(k), name, probs)
				}
			case reflect.Map:
				checkIntegers(val, t.Elem(), join(k), name, probs)
			}
		}
	case yaml.SequenceNode:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for i, c := range n.Content {
				checkIntegers(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), name, probs)
			}
		}
	case yaml.ScalarNode:
		var bad bool
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			_, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, t.Bits())
			bad = n.Tag == "!!float" || (n.Tag == "!!int" && err != nil)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			_, err := strconv.ParseUint(strings.ReplaceAll(n.Value, "_", ""), 0, t.Bits())
			bad = n.Tag == "!!float" || (n.Tag == "!!int" && err != nil)
		}
		if bad {
			*probs = append(*probs, &FieldError{File: name, Line: n.Line, Field: path,
				Msg: fmt.Sprintf("%s is not an integer that fits (%s)", n.Value, t.Kind())})
		}
	}
}

// yamlField finds the field of struct t that the mapping key k sets,
// looking into inline structs.
func yamlField(t reflect.Type, k string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if g, ok := yamlField(ft, k); ok {
					return g, true
				}
			}
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		if tag == k {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// capProblems joins at most MaxProblems problems and says how many more
// there were.
func capProblems(probs []error) error {
	if len(probs) > MaxProblems {
		more := len(probs) - MaxProblems
		probs = append(probs[:MaxProblems:MaxProblems], fmt.Errorf("… and %d more problems", more))
	}
	return errors.Join(probs...)
}

// yamlLine matches the line yaml.v3 puts in its messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 error into FieldErrors that carry the file
// and the line: one per problem of a type error, and for a message that
// names no line, the first line at which a prefix of the document fails
// the same way.
func syntaxError(data []byte, name string, err error) error {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	var out []error
	for _, m := range msgs {
		m = strings.TrimPrefix(strings.TrimSpace(m), "yaml: ")
		fe := &FieldError{File: name, Msg: m}
		if g := yamlLine.FindStringSubmatch(m); g != nil {
			fe.Line, _ = strconv.Atoi(g[1])
			fe.Msg = g[2]
		} else {
			fe.Line = firstFailingLine(data, err.Error())
		}
		out = append(out, fe)
	}
	return capProblems(out)
}

// firstFailingLine returns the smallest n such that the document's first
// n lines fail to parse with message msg (found by bisection); 0 when no
// prefix does.
func firstFailingLine(data []byte, msg string) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	fails := func(n int) bool {
		var node yaml.Node
		err := yaml.Unmarshal(bytes.Join(lines[:n], nil), &node)
		return err != nil && err.Error() == msg
	}
	if !fails(len(lines)) {
		return 0
	}
	lo, hi := 0, len(lines) // fails(hi); lo is unknown or passing
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// collect records the line of every mapping key under n by its dotted path.
func collect(n *yaml.Node, prefix string, lines Lines) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			collect(c, prefix, lines)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			path := n.Content[i].Value
			if prefix != "" {
				path = prefix + "." + path
			}
			lines[path] = n.Content[i].Line
			collect(n.Content[i+1], path, lines)
		}
	}
}

// ExpandEnv replaces ${VAR} and $VAR in s by the environment variable's
// value; an unset variable is an error naming it.
func ExpandEnv(s string) (string, error) {
	var missing []string
	out := os.Expand(s, func(name string) string {
		v, ok := os.LookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		slices.Sort(missing)
		return "", fmt.Errorf("environment variable %s is not set (in %q)", strings.Join(slices.Compact(missing), ", "), s)
	}
	return out, nil
}
