package main

import (
	"strings"
	"testing"
)

const goodLine = `{"key":"a1|L0:2:512:0:0:32|E0:32|S32","arch":{"layers":[{"source":0,"heads":2,"ffn":512,"attention_rank":0,"ffn_rank":0,"bits":32}],"embedding_rank":0,"embedding_bits":32,"seq_len":32},"latency":{"runs":7,"median_ns":97762}}`

func TestParseRows(t *testing.T) {
	for _, tc := range []struct {
		name, data, err string
		n               int
	}{
		{"one row", goodLine + "\n", "", 1},
		{"empty", "", "", 0},
		{"not JSON", goodLine + "\n{\n", "rows.jsonl:2:", 0},
		{"key does not match", strings.Replace(goodLine, `"heads":2`, `"heads":1`, 1) + "\n", "rows.jsonl:1: want a key matching its arch", 0},
		{"zero latency", strings.Replace(goodLine, `97762`, `0`, 1) + "\n", "positive latency", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := parseRows([]byte(tc.data), "rows.jsonl")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || len(rows) != tc.n {
				t.Fatalf("%d rows, error %v; want %d", len(rows), err, tc.n)
			}
		})
	}
}

func FuzzParseRows(f *testing.F) {
	f.Add([]byte(goodLine + "\n"))
	f.Add([]byte("{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := parseRows(data, "fuzz.jsonl")
		if err != nil {
			return
		}
		for k, r := range rows {
			if r.Key != k || r.Latency.Median <= 0 {
				t.Fatalf("accepted row %q with key %q, latency %v", k, r.Key, r.Latency.Median)
			}
		}
	})
}
