package yamlconf

import (
	"fmt"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/internal/fielderr"
)

type doc struct {
	Model struct {
		Hidden int `yaml:"hidden"`
	} `yaml:"model"`
	Seed int `yaml:"seed"`
}

func TestDecode(t *testing.T) {
	var d doc
	lines, err := Decode([]byte("seed: 3\nmodel:\n  hidden: 64\n"), "c.yaml", &d)
	if err != nil || d.Seed != 3 || d.Model.Hidden != 64 {
		t.Fatalf("%+v, %v", d, err)
	}
	if lines["model.hidden"] != 3 || lines["seed"] != 1 {
		t.Fatalf("lines %v", lines)
	}
	if got := lines.At("c.yaml", "model.hidden", "want %d", 8).Error(); got != "c.yaml:3: model.hidden: want 8" {
		t.Errorf("At: %s", got)
	}
	if got := lines.At("c.yaml", "model.layers[2].x", "bad").Error(); got != "c.yaml:2: model.layers[2].x: bad" {
		t.Errorf("parent line: %s", got)
	}
	for in, want := range map[string]string{
		"seed: 1\nmodle: {}\n":           "c.yaml:2: field modle not found",
		"seed: x\n":                      "c.yaml:1: cannot unmarshal",
		"seed: 1\n---\nseed: 2\n":        "a second YAML document",
		"seed: 1\nmodel:\n\thidden: 2\n": "c.yaml:3: found character that cannot start any token",
		"seed: 1\n\nmodel: *nowhere\n":   "c.yaml:3: unknown anchor 'nowhere' referenced",
	} {
		var d doc
		if _, err := Decode([]byte(in), "c.yaml", &d); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("seed: 3\nmodel:\n  hidden: 64\n"))
	f.Add([]byte("a: [1, {b: 2}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d doc
		lines, err := Decode(data, "f.yaml", &d)
		if err == nil && lines == nil {
			t.Fatal("nil lines without an error")
		}
	})
}

// TestDecodeHostile: what yaml.v3 would silently convert or take long
// over is refused, each problem with its line, briefly.
func TestDecodeHostile(t *testing.T) {
	type ints struct {
		N  int    `yaml:"n"`
		U  uint64 `yaml:"u"`
		L  []int  `yaml:"l"`
		In *struct {
			M int8 `yaml:"m"`
		} `yaml:"in"`
	}
	many := strings.Builder{}
	for i := 0; i < MaxKeys+1; i++ {
		fmt.Fprintf(&many, "k%d: 1\n", i)
	}
	unknown := strings.Builder{}
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&unknown, "k%d: 1\n", i)
	}
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"fraction into an int", "n: 4.5\n", []string{"c.yaml:1: n: 4.5 is not an integer"}},
		{"2^64 into a uint64", "n: 1\nu: 18446744073709551616\n", []string{"c.yaml:2: u: 18446744073709551616 is not an integer"}},
		{"in a list", "l: [1,\n  2.5]\n", []string{"c.yaml:2: l[1]: 2.5"}},
		{"out of int8", "in: {m: 300}\n", []string{"c.yaml:1:", "300"}},
		{"a mapping of too many keys", many.String(), []string{"c.yaml:1: ", "keys; a config has at most"}},
		{"many unknown keys stay short", unknown.String(), []string{"… and 480 more problems"}},
		{"a list of two million values", "l: [" + strings.Repeat("1,", 2_000_000) + "1]\n", []string{"c.yaml: 2000001 lines and list items; a config has at most"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v ints
			_, err := Decode([]byte(tc.in), "c.yaml", &v)
			if err == nil {
				t.Fatalf("accepted: %+v", v)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", fielderr.Summarize(err.Error(), 500), w)
				}
			}
			if len(err.Error()) > 4096 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
		})
	}
	var v ints
	if _, err := Decode([]byte("n: 4\nu: 18446744073709551615\nl: [1, 0x10]\nin: {m: -128}\n"), "c.yaml", &v); err != nil || v.U != 1<<64-1 || v.L[1] != 16 {
		t.Errorf("valid integers: %+v, %v", v, err)
	}
}
