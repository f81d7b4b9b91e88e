package space

import (
	"encoding/json"
	"testing"
)

func jsonMarshal(a Arch) ([]byte, error) { return json.Marshal(a) }

func FuzzArchDecode(f *testing.F) {
	f.Add([]byte(`{"layers":[{"source":0,"heads":4,"ffn":1024,"attention_rank":0,"ffn_rank":0,"bits":32}],"embedding_rank":0,"embedding_bits":32,"seq_len":64}`))
	f.Add([]byte(`{"layers":[{"source":1,"heads":2,"ffn":512,"bits":8},{"source":2,"heads":2,"ffn":512,"bits":8,"share_prev":true}],"embedding_bits":8,"seq_len":128}`))
	f.Add([]byte(`{"layers":null}`))
	sp, err := New(richSpec(), mini)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeArch(data)
		if err != nil {
			return
		}
		if sp.Validate(a) != nil {
			return
		}
		// A valid Arch round-trips through its key and its JSON.
		k, err := ParseKey(a.Key())
		if err != nil || !k.Equal(a) {
			t.Fatalf("key round trip of %s: %v", a.Key(), err)
		}
		enc, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := DecodeArch(enc)
		if err != nil || !b.Equal(a) {
			t.Fatalf("JSON round trip: %v", err)
		}
	})
}

func FuzzParseKey(f *testing.F) {
	f.Add("a1|L0:4:1024:0:0:32|L2:2:512:64:0:8|L3:2:512:64:0:8s|E64:8|S128")
	f.Add("a1|E0:32|S1")
	f.Fuzz(func(t *testing.T, key string) {
		a, err := ParseKey(key)
		if err != nil {
			return
		}
		if a.Key() != key {
			t.Fatalf("ParseKey(%q).Key() = %q", key, a.Key())
		}
	})
}

func FuzzParseSpec(f *testing.F) {
	f.Add([]byte("layers: [2, 4]\nheads: [2, 4]\nbits: [8, 32]\n"))
	f.Add([]byte("share_groups: [1, 2]\nteacher: {layers: 4, heads: 4, hidden: 256, ffn: 1024}\n"))
	f.Add([]byte("ffn_rank: [0, 9999]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec(data)
		if err != nil {
			return
		}
		sp, err := New(s, mini)
		if err != nil {
			return
		}
		if sp.Size().Sign() <= 0 {
			t.Fatalf("a space that New accepts is empty: %+v", sp.Spec())
		}
	})
}
