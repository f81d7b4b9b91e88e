package fielderr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

var errSentinel = errors.New("sentinel")

type lines map[string]int

func (l lines) Line(field string) int { return l[field] }

func TestFieldError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  *FieldError
		want string
	}{
		{"all known", &FieldError{File: "c.yaml", Line: 3, Field: "a.b", Msg: "want 1"}, "c.yaml:3: a.b: want 1"},
		{"no line", &FieldError{File: "c.yaml", Field: "a", Msg: "bad"}, "c.yaml: a: bad"},
		{"line only", &FieldError{Line: 2, Field: "a", Msg: "bad"}, "line 2: a: bad"},
		{"field only", &FieldError{Field: "a", Msg: "bad"}, "a: bad"},
		{"long message summarized", &FieldError{Field: "a", Msg: strings.Repeat("x", 5000)}, strings.Repeat("x", MaxMsg) + "… (4700 more bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); !strings.HasSuffix(got, tc.want) || len(got) > len(tc.want)+len(tc.err.Field)+2 {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
	if s := Summarize("ééé", 3); s != "é… (4 more bytes)" {
		t.Errorf("Summarize cuts inside a rune: %q", s)
	}
}

func TestPrefixLocateAll(t *testing.T) {
	inner := errors.Join(&FieldError{Field: "runs", Msg: "2, want ≥ 7", Err: errSentinel}, errors.New("plain problem"))
	probs := Prefix("evaluator.workload", inner)
	probs = append(probs, Prefix("search", nil)...)
	err := Locate("x.yaml", lines{"evaluator.workload.runs": 7, "evaluator.workload": 6}, probs...)
	all := All(err)
	if len(all) != 2 {
		t.Fatalf("%d problems: %v", len(all), err)
	}
	if all[0].Field != "evaluator.workload.runs" || all[0].Line != 7 || all[0].File != "x.yaml" {
		t.Errorf("first %+v", all[0])
	}
	if all[1].Field != "evaluator.workload" || all[1].Msg != "plain problem" || all[1].Line != 6 {
		t.Errorf("second %+v", all[1])
	}
	if !errors.Is(err, errSentinel) {
		t.Error("the sentinel is lost")
	}
	var fe *FieldError
	if !errors.As(fmt.Errorf("wrapped: %w", err), &fe) {
		t.Error("errors.As does not find a FieldError through wrapping")
	}
	if Locate("x", nil) != nil || All(nil) != nil || Split(nil) != nil {
		t.Error("nil in, non-nil out")
	}
}
