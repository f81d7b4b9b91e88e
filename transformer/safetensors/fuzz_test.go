package safetensors

import (
	"bytes"
	"errors"
	"maps"
	"testing"
)

// FuzzSafetensors parses arbitrary bytes. Parse must never panic, every error
// must wrap a sentinel, and a file that parses must survive Write and Parse
// unchanged (and Write of that must give the same bytes again).
func FuzzSafetensors(f *testing.F) {
	for _, s := range []string{hfI32, hfAligned, hfMeta, hfUnpadded, hfMetaPadded} {
		f.Add([]byte(s))
	}
	for _, tc := range badFiles {
		f.Add(tc.file)
	}
	var buf bytes.Buffer
	if err := Write(&buf, allDTypeTensors(), map[string]string{"format": "pt", "k": "v\n"}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"c":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}`, []byte{9}))
	f.Add(rawFile(`{"__metadata__":null,"\u00e9\ud83d\ude00":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}`, []byte{0x80, 0x3f}))

	sentinels := []error{ErrTruncated, ErrHeaderTooLarge, ErrBadHeader, ErrUnknownDType, ErrOverlap, ErrOutOfBounds, ErrShapeMismatch}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		for _, tt := range file.Tensors {
			if _, err := tt.Float32(); tt.DType.IsFloat() && err != nil {
				t.Fatalf("Float32 of a parsed tensor: %v", err)
			}
		}
		var out bytes.Buffer
		if err := Write(&out, file.Tensors, file.Metadata); err != nil {
			t.Fatalf("Write of a parsed file: %v", err)
		}
		again, err := Parse(out.Bytes())
		if err != nil {
			t.Fatalf("Parse of a written file: %v", err)
		}
		if d := equalTensors(file.Tensors, again.Tensors); d != "" {
			t.Fatalf("round trip changed the tensors: %s", d)
		}
		if !maps.Equal(file.Metadata, again.Metadata) {
			t.Fatalf("round trip changed the metadata: %v vs %v", file.Metadata, again.Metadata)
		}
		var out2 bytes.Buffer
		if err := Write(&out2, again.Tensors, again.Metadata); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), out2.Bytes()) {
			t.Fatal("Write is not deterministic across a round trip")
		}
	})
}
