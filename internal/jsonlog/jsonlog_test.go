package jsonlog

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		name, before, complete string
	}{
		{"new", "", ""},
		{"complete lines", "{\"a\":1}\n{\"a\":2}\n", "{\"a\":1}\n{\"a\":2}\n"},
		{"an unfinished last line", "{\"a\":1}\n{\"a\":", "{\"a\":1}\n"},
		{"only an unfinished line", "{\"a\"", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log.jsonl")
			if tc.before != "" {
				if err := os.WriteFile(path, []byte(tc.before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.complete {
				t.Errorf("complete lines %q, want %q", got, tc.complete)
			}
			if _, err := f.WriteString("{\"b\":3}\n"); err != nil {
				t.Fatal(err)
			}
			f.Close()
			after, _ := os.ReadFile(path)
			if want := tc.complete + "{\"b\":3}\n"; string(after) != want {
				t.Errorf("file %q, want %q: the new line must follow the complete ones", after, want)
			}
		})
	}
}
