// Package fielderr holds the one validation error type of edgenas: a
// problem of one field of a config (YAML run config, training config,
// config.json, search space, evaluator settings, device workload), with
// the file and line of the field when known. Every package that validates
// returns its problems as *FieldError values joined with errors.Join and
// re-exports the type under its own name (transformer.FieldError,
// search.FieldError, ...), so callers match any of them with one
// errors.As, and a caller that embeds a config in a larger one re-roots
// the field paths (Prefix) and locates them in its file (Locate) without
// parsing error strings.
package fielderr

import (
	"errors"
	"fmt"
)

// MaxMsg is the longest message an Error prints; a longer one (a list of
// two million values, say) is cut and says how much was left out.
const MaxMsg = 300

// FieldError is one problem of one field: where it is, which field, and
// what was expected.
type FieldError struct {
	File  string // "" when the config was not read from a file
	Line  int    // 1-based line of the field; 0 when unknown
	Field string // dotted path, e.g. "evaluator.workload.runs"
	Msg   string // what is wrong and what was expected
	// Err is a sentinel the problem wraps (e.g. search.ErrInvalidConfig),
	// so errors.Is matches it; nil for none.
	Err error
}

// Unwrap returns Err.
func (e *FieldError) Unwrap() error { return e.Err }

// New returns a FieldError for field with a formatted message.
func New(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Error returns "file:line: field: message", leaving out what is unknown
// and summarizing a message longer than MaxMsg.
func (e *FieldError) Error() string {
	loc := ""
	switch {
	case e.File != "" && e.Line > 0:
		loc = fmt.Sprintf("%s:%d: ", e.File, e.Line)
	case e.File != "":
		loc = e.File + ": "
	case e.Line > 0:
		loc = fmt.Sprintf("line %d: ", e.Line)
	}
	field := ""
	if e.Field != "" {
		field = e.Field + ": "
	}
	return loc + field + Summarize(e.Msg, MaxMsg)
}

// Summarize returns s when it has at most limit bytes, else its first
// limit bytes (cut at a rune boundary) and how many were left out.
func Summarize(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return fmt.Sprintf("%s… (%d more bytes)", s[:cut], len(s)-cut)
}

// All returns every *FieldError in err (a single one, or any number joined
// with errors.Join, at any depth), in order; other errors are left out.
func All(err error) []*FieldError {
	var out []*FieldError
	walk(err, func(fe *FieldError) { out = append(out, fe) })
	return out
}

func walk(err error, f func(*FieldError)) {
	switch e := err.(type) {
	case nil:
	case *FieldError:
		f(e)
	case interface{ Unwrap() []error }:
		for _, x := range e.Unwrap() {
			walk(x, f)
		}
	case interface{ Unwrap() error }:
		walk(e.Unwrap(), f)
	}
}

// Split returns the parts of an errors.Join error (err itself when it is
// not one; nil for nil).
func Split(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, x := range j.Unwrap() {
			out = append(out, Split(x)...)
		}
		return out
	}
	return []error{err}
}

// Prefix re-roots err's problems under prefix: each part of err that is a
// *FieldError gets its Field prefixed ("runs" becomes "evaluator.workload.runs"),
// any other part becomes a FieldError of prefix itself. It returns the
// problems as a slice, for a caller that collects many.
func Prefix(prefix string, err error) []error {
	var out []error
	for _, part := range Split(err) {
		var fe *FieldError
		if errors.As(part, &fe) {
			c := *fe
			c.Field = join(prefix, fe.Field)
			out = append(out, &c)
			continue
		}
		out = append(out, &FieldError{Field: prefix, Msg: part.Error()})
	}
	return out
}

func join(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	}
	return prefix + "." + field
}

// Locator finds the line of a field path; yamlconf.Lines is one.
type Locator interface {
	Line(field string) int
}

// Locate sets File, and Line where loc knows it, on every FieldError of
// errs that has none, and returns them joined.
func Locate(file string, loc Locator, errs ...error) error {
	for _, err := range errs {
		walk(err, func(fe *FieldError) {
			if fe.File == "" {
				fe.File = file
			}
			if fe.Line == 0 && loc != nil {
				fe.Line = loc.Line(fe.Field)
			}
		})
	}
	return errors.Join(errs...)
}
