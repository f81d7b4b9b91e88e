package yamlconf

import (
	"strings"
	"testing"
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
