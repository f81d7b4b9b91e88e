package searchbench

import (
	"bytes"
	"testing"
)

// FuzzParseTable: any input either fails with an error or yields a table
// whose rows pass the checks and survive writing and reading back.
func FuzzParseTable(f *testing.F) {
	sp := tinySpace(f)
	tab, _ := synthTable(f, sp)
	var buf bytes.Buffer
	tab.Rows = tab.Rows[:3]
	if err := tab.write(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"key":"a1|E0:32|S16","arch":{"layers":null,"embedding_rank":0,"embedding_bits":32,"seq_len":16},"levels":[{"examples":1,"accuracy":0.5}],"latency":{"median_ns":1},"size_bytes":1}` + "\n"))
	f.Add([]byte("{\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseTable(data, "fuzz.jsonl")
		if err != nil {
			return
		}
		for _, r := range got.Rows {
			if err := r.check(); err != nil {
				t.Fatalf("accepted a bad row %s: %v", r.Key, err)
			}
		}
		var out bytes.Buffer
		if err := got.write(&out); err != nil {
			t.Fatal(err)
		}
		again, err := parseTable(out.Bytes(), "again.jsonl")
		if err != nil || len(again.Rows) != len(got.Rows) {
			t.Fatalf("a written table does not read back: %v", err)
		}
	})
}
