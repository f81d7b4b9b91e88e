package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// rawFile frames header (used as is, unpadded) and data as a safetensors file.
func rawFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// withPrefix returns a file whose length prefix is n, followed by rest.
func withPrefix(n uint64, rest string) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
}

func mustWrite(t testing.TB, tensors []Tensor, meta map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, tensors, meta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// equalTensors reports how a and b differ, or "" if they are identical.
func equalTensors(a, b []Tensor) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d tensors vs %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Name != y.Name || x.DType != y.DType || !slices.Equal(x.Shape, y.Shape) || !bytes.Equal(x.Data, y.Data) {
			return fmt.Sprintf("tensor %d: %q %s %v %d bytes vs %q %s %v %d bytes",
				i, x.Name, x.DType, x.Shape, len(x.Data), y.Name, y.DType, y.Shape, len(y.Data))
		}
	}
	return ""
}

// allDTypeTensors returns one tensor of every dtype with random bytes, plus
// a scalar and zero-sized tensors.
func allDTypeTensors() []Tensor {
	rng := rand.New(rand.NewPCG(7, 8))
	var ts []Tensor
	add := func(name string, d DType, shape ...int) {
		n := (Tensor{Shape: shape}).NumElements() * d.Size()
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		ts = append(ts, Tensor{Name: name, DType: d, Shape: shape, Data: data})
	}
	for i, d := range []DType{F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL} {
		add("t."+string(d), d, 2+i%3, 3)
	}
	add("scalar", F32)
	add("empty", F16, 0, 5)
	add("empty2", I8, 3, 0)
	add("weight", BF16, 7)
	return ts
}

func TestRoundTrip(t *testing.T) {
	meta := map[string]string{"format": "pt", "note": "quote \" backslash \\ newline \n tab \t ctl \x01 <&> é"}
	tests := []struct {
		name    string
		tensors []Tensor
		meta    map[string]string
	}{
		{"all dtypes", allDTypeTensors(), meta},
		{"no metadata", allDTypeTensors()[:3], nil},
		{"empty metadata", allDTypeTensors()[:3], map[string]string{}},
		{"no tensors", nil, nil},
		{"only metadata", nil, meta},
		{"scalar", []Tensor{{Name: "s", DType: F64, Shape: []int{}, Data: make([]byte, 8)}}, nil},
		{"zero sized only", []Tensor{{Name: "z", DType: F32, Shape: []int{0}, Data: []byte{}}}, nil},
		{"odd names", []Tensor{
			{Name: "", DType: U8, Shape: []int{1}, Data: []byte{1}},
			{Name: "a\"b\\c\n\x00 ü 😀", DType: U8, Shape: []int{1}, Data: []byte{2}},
			{Name: "bert.encoder.layer.0.attention.self.query.weight", DType: U8, Shape: []int{1}, Data: []byte{3}},
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := mustWrite(t, tc.tensors, tc.meta)
			n := binary.LittleEndian.Uint64(b)
			if n%8 != 0 {
				t.Errorf("header length %d is not a multiple of 8", n)
			}
			path := filepath.Join(t.TempDir(), "m.safetensors")
			if err := WriteFile(path, tc.tensors, tc.meta); err != nil {
				t.Fatal(err)
			}
			onDisk, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(onDisk, b) {
				t.Fatal("WriteFile and Write wrote different bytes")
			}
			for _, read := range []struct {
				name string
				f    func() (*File, error)
			}{
				{"Parse", func() (*File, error) { return Parse(b) }},
				{"ReadFile", func() (*File, error) { return ReadFile(path) }},
			} {
				f, err := read.f()
				if err != nil {
					t.Fatalf("%s: %v", read.name, err)
				}
				// Parse orders tensors by offset, which is the written order.
				if d := equalTensors(f.Tensors, tc.tensors); d != "" {
					t.Errorf("%s: %s", read.name, d)
				}
				if len(f.Metadata) != len(tc.meta) {
					t.Errorf("%s: metadata %v, want %v", read.name, f.Metadata, tc.meta)
				}
				for k, v := range tc.meta {
					if f.Metadata[k] != v {
						t.Errorf("%s: metadata[%q] = %q, want %q", read.name, k, f.Metadata[k], v)
					}
				}
				for _, want := range tc.tensors {
					got, ok := f.Get(want.Name)
					if !ok || equalTensors([]Tensor{got}, []Tensor{want}) != "" {
						t.Errorf("%s: Get(%q) = %v, %v", read.name, want.Name, got, ok)
					}
				}
				if !slices.Equal(f.Names(), namesOf(tc.tensors)) {
					t.Errorf("%s: Names() = %q", read.name, f.Names())
				}
				if again := mustWrite(t, f.Tensors, f.Metadata); !bytes.Equal(again, b) {
					t.Errorf("%s: writing the parsed file again gave different bytes", read.name)
				}
			}
		})
	}
}

func namesOf(ts []Tensor) []string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	return names
}

func TestParseAliasesData(t *testing.T) {
	b := mustWrite(t, []Tensor{
		FromFloat32("a", []int{2}, []float32{1, 2}),
		FromFloat32("b", []int{1}, []float32{3}),
	}, nil)
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := f.Get("a")
	if &a.Data[0] != &b[len(b)-12] {
		t.Error("Tensor.Data does not alias the input")
	}
	if cap(a.Data) != len(a.Data) {
		t.Errorf("cap(Data) = %d, want %d (appends would clobber the next tensor)", cap(a.Data), len(a.Data))
	}
}

func TestFileLookup(t *testing.T) {
	f, err := Parse(mustWrite(t, []Tensor{FromFloat32("b", []int{1}, []float32{1}), FromFloat32("a", nil, []float32{2})}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Names(); !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf("Names() = %q, want file order [b a]", got)
	}
	if _, ok := f.Get("c"); ok {
		t.Error("Get(c) found a tensor")
	}
	_, err = f.Tensor("c")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `tensor "c"`) {
		t.Errorf("Tensor(c) error = %v", err)
	}
	if tt, err := f.Tensor("a"); err != nil || tt.Name != "a" {
		t.Errorf("Tensor(a) = %v, %v", tt, err)
	}
	hand := &File{Tensors: f.Tensors} // no index
	if tt, ok := hand.Get("a"); !ok || tt.Name != "a" {
		t.Error("Get on a hand-built File failed")
	}
	var nilFile *File
	if _, ok := nilFile.Get("a"); ok || nilFile.Names() != nil {
		t.Error("nil File not empty")
	}
}

// Hugging Face vectors: the exact bytes that the Python safetensors library's
// own tests (bindings/python/tests/test_simple.py) expect it to write and
// read.
var (
	hfI32 = "@\x00\x00\x00\x00\x00\x00\x00" + `{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}` + "    " +
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00"
	hfAligned = "\x80\x00\x00\x00\x00\x00\x00\x00" +
		`{"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"test2":{"dtype":"F16","shape":[2,2],"data_offsets":[16,24]}}` +
		"      " + strings.Repeat("\x00", 24)
	hfMeta = "`\x00\x00\x00\x00\x00\x00\x00" +
		`{"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}` + " " +
		strings.Repeat("\x00", 16)
	// Written by versions before header padding.
	hfUnpadded = "<\x00\x00\x00\x00\x00\x00\x00" + `{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}` +
		strings.Repeat("\x00", 16)
	hfMetaPadded = "f\x00\x00\x00\x00\x00\x00\x00" +
		`{"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}` + "       " +
		strings.Repeat("\x00", 16)
)

func TestHuggingFaceInterop(t *testing.T) {
	i32 := func(name string, last byte) Tensor {
		d := make([]byte, 16)
		d[12] = last
		return Tensor{Name: name, DType: I32, Shape: []int{2, 2}, Data: d}
	}
	f16 := Tensor{Name: "test2", DType: F16, Shape: []int{2, 2}, Data: make([]byte, 8)}
	tests := []struct {
		name     string
		file     string
		tensors  []Tensor
		meta     map[string]string
		hfWrites bool // the bytes are what HF writes, so Write must match
	}{
		{"serialization", hfI32, []Tensor{i32("test", 1)}, nil, true},
		{"forces alignment", hfAligned, []Tensor{i32("test1", 0), f16}, nil, true},
		{"metadata", hfMeta, []Tensor{i32("test1", 0)}, map[string]string{"framework": "pt"}, true},
		{"unpadded", hfUnpadded, []Tensor{i32("test", 0)}, nil, false},
		{"metadata padded", hfMetaPadded, []Tensor{i32("test1", 0)}, map[string]string{"framework": "pt"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if d := equalTensors(f.Tensors, tc.tensors); d != "" {
				t.Error(d)
			}
			if fmt.Sprint(f.Metadata) != fmt.Sprint(tc.meta) {
				t.Errorf("metadata = %v, want %v", f.Metadata, tc.meta)
			}
			if tc.hfWrites {
				if got := mustWrite(t, tc.tensors, tc.meta); string(got) != tc.file {
					t.Errorf("Write =\n%q\nHF writes\n%q", got, tc.file)
				}
			}
		})
	}

	// A tiny F32 file built by hand as the Python library lays it out.
	t.Run("hand built F32", func(t *testing.T) {
		hdr := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
		hdr += strings.Repeat(" ", (8-len(hdr)%8)%8)
		file := rawFile(hdr, []byte{0, 0, 0x80, 0x3F, 0, 0, 0, 0x40})
		f, err := Parse(file)
		if err != nil {
			t.Fatal(err)
		}
		a, err := f.Tensor("a")
		if err != nil {
			t.Fatal(err)
		}
		if v, err := a.Float32(); err != nil || !slices.Equal(v, []float32{1, 2}) {
			t.Errorf("a = %v, %v; want [1 2]", v, err)
		}
		if got := mustWrite(t, f.Tensors, nil); !bytes.Equal(got, file) {
			t.Errorf("Write = %q, want %q", got, file)
		}
	})
}

// badFiles are invalid files, each with the sentinel it must produce and
// the tensor its error must name ("" for none).
var badFiles = []struct {
	name   string
	file   []byte
	want   error
	tensor string
}{
	{"empty file", nil, ErrTruncated, ""},
	{"five bytes", []byte{1, 2, 3, 4, 5}, ErrTruncated, ""},
	{"header longer than file", withPrefix(100, `{"a":`), ErrTruncated, ""},
	{"header length 2^62", withPrefix(1<<62, "{}      "), ErrHeaderTooLarge, ""},
	{"header length 2^64-1", withPrefix(1<<64-1, "{}      "), ErrHeaderTooLarge, ""},
	{"empty header", withPrefix(0, ""), ErrBadHeader, ""},
	{"not JSON", rawFile(`hello`, nil), ErrBadHeader, ""},
	{"not an object", rawFile(`[1,2]`, nil), ErrBadHeader, ""},
	{"string header", rawFile(`"a"`, nil), ErrBadHeader, ""},
	{"unclosed object", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}`, []byte{1}), ErrBadHeader, ""},
	{"trailing comma", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},}`, []byte{1}), ErrBadHeader, ""},
	{"trailing garbage", rawFile(`{} x`, nil), ErrBadHeader, ""},
	{"second object", rawFile(`{}{}`, nil), ErrBadHeader, ""},
	{"invalid UTF-8", rawFile("{\"a\xff\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", []byte{1}), ErrBadHeader, ""},
	{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), ErrOverlap, "b"},
	{"same range", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), ErrOverlap, "b"},
	{"empty tensor inside another", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}`, make([]byte, 8)), ErrOverlap, "z"},
	{"end past buffer", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 4)), ErrOutOfBounds, "a"},
	{"begin past buffer", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[9,9]}}`, make([]byte, 4)), ErrOutOfBounds, "a"},
	{"end before begin", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, make([]byte, 4)), ErrOutOfBounds, "a"},
	{"negative offset", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, make([]byte, 4)), ErrOutOfBounds, "a"},
	{"huge offset", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999999]}}`, make([]byte, 4)), ErrOutOfBounds, "a"},
	{"unknown dtype", rawFile(`{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, make([]byte, 1)), ErrUnknownDType, "a"},
	{"lowercase dtype", rawFile(`{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), ErrUnknownDType, "a"},
	{"shape product mismatch", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8)), ErrShapeMismatch, "a"},
	{"dtype size mismatch", rawFile(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)), ErrShapeMismatch, "a"},
	{"overflow dims", rawFile(`{"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}}`, make([]byte, 4)), ErrShapeMismatch, "a"},
	{"overflow dims times size", rawFile(`{"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}}`, make([]byte, 8)), ErrShapeMismatch, "a"},
	{"overflow then zero", rawFile(`{"a":{"dtype":"F32","shape":[1099511627776,1099511627776,0],"data_offsets":[0,0]}}`, nil), ErrShapeMismatch, "a"},
	{"dim past int64", rawFile(`{"a":{"dtype":"F32","shape":[99999999999999999999999],"data_offsets":[0,4]}}`, make([]byte, 4)), ErrShapeMismatch, "a"},
	{"negative dim", rawFile(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"fractional dim", rawFile(`{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"exponent dim", rawFile(`{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"string dim", rawFile(`{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"nested shape", rawFile(`{"a":{"dtype":"F32","shape":[[1]],"data_offsets":[0,4]}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"shape not array", rawFile(`{"a":{"dtype":"F32","shape":1,"data_offsets":[0,4]}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"duplicate names", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), ErrBadHeader, "a"},
	{"duplicate names by escape", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\u0061":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), ErrBadHeader, "a"},
	{"duplicate field", rawFile(`{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"offsets string", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":"0,4"}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"offsets object", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":{"0":4}}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"one offset", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"three offsets", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"fractional offset", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"null offsets", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":null}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"dtype not string", rawFile(`{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"missing dtype", rawFile(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"missing shape", rawFile(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"missing offsets", rawFile(`{"a":{"dtype":"F32","shape":[1]}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"unknown field", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"offsets":[0,4]}}`, make([]byte, 4)), ErrBadHeader, "a"},
	{"entry not object", rawFile(`{"a":[1,2]}`, nil), ErrBadHeader, "a"},
	{"gap between tensors", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, make([]byte, 12)), ErrBadHeader, "b"},
	{"gap at start", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), ErrBadHeader, "a"},
	{"trailing bytes", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 5)), ErrBadHeader, ""},
	{"data but no tensors", rawFile(`{}`, make([]byte, 4)), ErrBadHeader, ""},
	{"metadata not object", rawFile(`{"__metadata__":"pt"}`, nil), ErrBadHeader, ""},
	{"metadata int value", rawFile(`{"__metadata__":{"format":1}}`, nil), ErrBadHeader, ""},
	{"metadata nested", rawFile(`{"__metadata__":{"format":{"a":"b"}}}`, nil), ErrBadHeader, ""},
	{"metadata duplicate key", rawFile(`{"__metadata__":{"k":"a","k":"b"}}`, nil), ErrBadHeader, ""},
	{"metadata twice", rawFile(`{"__metadata__":{},"__metadata__":{}}`, nil), ErrBadHeader, ""},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range badFiles {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.file)
			checkErr(t, err, tc.want, tc.tensor, "")
		})
	}
}

func checkErr(t *testing.T, err, want error, tensor, path string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
	msg := err.Error()
	if tensor != "" && !strings.Contains(msg, fmt.Sprintf("tensor %q", tensor)) {
		t.Errorf("error %q does not name tensor %q", msg, tensor)
	}
	if path != "" && !strings.HasPrefix(msg, path+": ") {
		t.Errorf("error %q does not start with the path", msg)
	}
}

func TestParseHeaderLimit(t *testing.T) {
	defer func(old int) { MaxHeaderSize = old }(MaxHeaderSize)
	file := rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{7})
	MaxHeaderSize = len(file) - 9
	if _, err := Parse(file); err != nil {
		t.Fatalf("header of exactly MaxHeaderSize: %v", err)
	}
	MaxHeaderSize--
	if _, err := Parse(file); !errors.Is(err, ErrHeaderTooLarge) {
		t.Fatalf("header over MaxHeaderSize: %v", err)
	}
	if err := Write(new(bytes.Buffer), []Tensor{{Name: "a", DType: U8, Shape: []int{1}, Data: []byte{7}}}, nil); !errors.Is(err, ErrHeaderTooLarge) {
		t.Fatalf("Write of a header over MaxHeaderSize: %v", err)
	}
}

// TestHostileLengthDoesNotAllocate checks that a tiny file claiming a huge
// header is rejected without allocating anything of that size.
func TestHostileLengthDoesNotAllocate(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		file []byte
		want error
	}{
		{"2^62", withPrefix(1<<62, "{}      "), ErrHeaderTooLarge},
		{"just under the limit", withPrefix(uint64(MaxHeaderSize), "{}      "), ErrTruncated},
		{"huge tensor", rawFile(`{"a":{"dtype":"F32","shape":[100000000],"data_offsets":[0,400000000]}}`, nil), ErrOutOfBounds},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, perr := Parse(tc.file)
			_, rerr := ReadFile(path)
			runtime.ReadMemStats(&after)
			checkErr(t, perr, tc.want, "", "")
			checkErr(t, rerr, tc.want, "", path)
			if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
				t.Errorf("allocated %d bytes", got)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	ok := Tensor{Name: "ok", DType: F32, Shape: []int{1}, Data: make([]byte, 4)}
	tests := []struct {
		name    string
		tensors []Tensor
		meta    map[string]string
		want    error
		tensor  string
	}{
		{"unknown dtype", []Tensor{ok, {Name: "x", DType: "Q4", Shape: []int{1}, Data: []byte{1}}}, nil, ErrUnknownDType, "x"},
		{"empty dtype", []Tensor{{Name: "x", Shape: []int{1}, Data: []byte{1}}}, nil, ErrUnknownDType, "x"},
		{"short data", []Tensor{{Name: "x", DType: F32, Shape: []int{2}, Data: make([]byte, 4)}}, nil, ErrShapeMismatch, "x"},
		{"long data", []Tensor{{Name: "x", DType: F16, Shape: []int{}, Data: make([]byte, 4)}}, nil, ErrShapeMismatch, "x"},
		{"negative dim", []Tensor{{Name: "x", DType: F16, Shape: []int{-2}}}, nil, ErrShapeMismatch, "x"},
		{"overflow dims", []Tensor{{Name: "x", DType: F16, Shape: []int{bigDim, bigDim}}}, nil, ErrShapeMismatch, "x"},
		{"FromFloat32 wrong shape", []Tensor{FromFloat32("x", []int{3}, []float32{1, 2})}, nil, ErrShapeMismatch, "x"},
		{"duplicate names", []Tensor{ok, ok}, nil, ErrBadHeader, "ok"},
		{"reserved name", []Tensor{{Name: "__metadata__", DType: U8, Shape: []int{1}, Data: []byte{1}}}, nil, ErrBadHeader, "__metadata__"},
		{"name not UTF-8", []Tensor{{Name: "a\xff", DType: U8, Shape: []int{1}, Data: []byte{1}}}, nil, ErrBadHeader, "a\xff"},
		{"metadata not UTF-8", []Tensor{ok}, map[string]string{"k": "\xff"}, ErrBadHeader, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tc.tensors, tc.meta)
			checkErr(t, err, tc.want, tc.tensor, "")
			if buf.Len() != 0 {
				t.Errorf("Write wrote %d bytes before failing", buf.Len())
			}
		})
	}
	t.Run("writer fails", func(t *testing.T) {
		for n := range 3 {
			w := &failWriter{left: n}
			if err := Write(w, []Tensor{ok}, nil); !errors.Is(err, errWriter) {
				t.Errorf("after %d writes: error = %v", n, err)
			}
		}
	})
}

var errWriter = errors.New("disk full")

type failWriter struct{ left int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.left == 0 {
		return 0, errWriter
	}
	w.left--
	return len(p), nil
}
