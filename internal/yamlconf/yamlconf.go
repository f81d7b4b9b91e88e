// Package yamlconf decodes the YAML config files of edgenas strictly and
// remembers where each key is, so validation problems can name their line.
package yamlconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
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

// Decode decodes one YAML document from data into v strictly: an unknown
// key, a value of the wrong type or a second document is an error carrying
// its line. name is the file name errors carry. An empty document leaves v
// unchanged. It returns the line of every key.
func Decode(data []byte, name string, v any) (Lines, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return nil, syntaxError(data, name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s:%d: a second YAML document: want one", name, extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(data, name, err)
	}
	lines := Lines{}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		collect(&root, "", lines)
	}
	return lines, nil
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
	return errors.Join(out...)
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
