// Package yamlconf decodes the YAML config files of edgenas strictly and
// remembers where each key is, so validation problems can name their line.
package yamlconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s:%d: a second YAML document: want one", name, extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lines := Lines{}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		collect(&root, "", lines)
	}
	return lines, nil
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
