package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadBaselines(t *testing.T) {
	for _, tc := range []struct {
		name, body string // body "" writes no file
		rows       int
		err        string
	}{
		{name: "absent"},
		{name: "valid", body: `[{"technique":"heads","strength":"1 of 2 heads per layer","accuracy":0.8,"latency":[{"seq_len":32,"ms":1.5}],"size_bytes":100}]`, rows: 1},
		{name: "empty list", body: `[]`},
		{name: "not JSON", body: `{"technique":`, err: "baselines.json: unexpected end of JSON input"},
		{name: "an object", body: `{"technique":"heads"}`, err: "baselines.json: json: cannot unmarshal object"},
		{name: "no latency", body: `[{"technique":"heads","latency":[]}]`, err: `baselines.json: row 0: want a technique and at least one latency, got "heads" with 0`},
		{name: "no technique", body: `[{"latency":[{"seq_len":32,"ms":1}]}]`, err: "row 0: want a technique"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.body != "" {
				if err := os.WriteFile(filepath.Join(dir, BaselinesFile), []byte(tc.body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			rows, err := LoadBaselines(dir)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), dir) {
					t.Fatalf("err %v, want one naming %s and %q", err, dir, tc.err)
				}
				return
			}
			if err != nil || len(rows) != tc.rows {
				t.Fatalf("rows %+v, err %v; want %d rows", rows, err, tc.rows)
			}
			if tc.rows > 0 && (rows[0].Technique != "heads" || rows[0].Latency[0].MS != 1.5 || rows[0].SizeBytes != 100) {
				t.Errorf("row %+v", rows[0])
			}
		})
	}
}

// FuzzLoadBaselines: any file content loads as rows or fails with an
// error naming the file; never a panic, never a row without latency.
func FuzzLoadBaselines(f *testing.F) {
	f.Add([]byte(`[{"technique":"heads","latency":[{"seq_len":32,"ms":1.5}]}]`))
	f.Add([]byte(`[{"technique":"x","latency":null}]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, BaselinesFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		rows, err := LoadBaselines(dir)
		if err != nil {
			if !strings.Contains(err.Error(), BaselinesFile) {
				t.Fatalf("error %v does not name the file", err)
			}
			return
		}
		for _, r := range rows {
			if r.Technique == "" || len(r.Latency) == 0 {
				t.Fatalf("accepted row %+v", r)
			}
		}
	})
}
