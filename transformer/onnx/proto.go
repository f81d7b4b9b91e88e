package onnx

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"
)

// Protocol buffer wire types used by the ONNX messages written here.
const (
	wireVarint  = 0
	wireFixed32 = 5
	wireBytes   = 2
)

// message is a protocol buffer message being encoded. Its wire encoding is
// the concatenation of segs followed by lit. Weight data is kept as float32
// slices that alias the model and is converted to little-endian bytes only
// while writing, so encoding a model does not copy its weights.
type message struct {
	segs []segment
	lit  []byte // literal bytes after segs, not yet moved into a segment
	size int    // total encoded length in bytes
}

// segment is a piece of an encoded message: literal bytes, or float32 data
// written little-endian. When rows > 0, f32 is a rows×cols row-major matrix
// written transposed (cols×rows).
type segment struct {
	lit        []byte
	f32        []float32
	rows, cols int
}

func (m *message) flush() {
	if len(m.lit) > 0 {
		m.segs = append(m.segs, segment{lit: m.lit})
		m.lit = nil
	}
}

func (m *message) raw(b []byte) {
	m.lit = append(m.lit, b...)
	m.size += len(b)
}

func (m *message) varintRaw(v uint64) {
	n := len(m.lit)
	m.lit = binary.AppendUvarint(m.lit, v)
	m.size += len(m.lit) - n
}

func (m *message) tag(num, wire int) { m.varintRaw(uint64(num)<<3 | uint64(wire)) }

// int64 writes an int64, int32 or enum field (two's complement varint, as
// protobuf does for negative values).
func (m *message) int64(num int, v int64) {
	m.tag(num, wireVarint)
	m.varintRaw(uint64(v))
}

// float32 writes a float field.
func (m *message) float32(num int, f float32) {
	m.tag(num, wireFixed32)
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], math.Float32bits(f))
	m.raw(b[:])
}

// bytes writes a bytes or string field.
func (m *message) bytes(num int, b []byte) {
	m.tag(num, wireBytes)
	m.varintRaw(uint64(len(b)))
	m.raw(b)
}

// string writes a string field.
func (m *message) string(num int, s string) {
	m.tag(num, wireBytes)
	m.varintRaw(uint64(len(s)))
	m.lit = append(m.lit, s...)
	m.size += len(s)
}

// packedInt64 writes a packed repeated int64 field; nothing when vs is empty.
func (m *message) packedInt64(num int, vs []int64) {
	if len(vs) == 0 {
		return
	}
	var body []byte
	for _, v := range vs {
		body = binary.AppendUvarint(body, uint64(v))
	}
	m.bytes(num, body)
}

// embed writes child as a length-delimited sub-message field. child must not
// be changed afterwards.
func (m *message) embed(num int, child *message) {
	m.tag(num, wireBytes)
	m.varintRaw(uint64(child.size))
	m.flush()
	m.segs = append(m.segs, child.segs...)
	if len(child.lit) > 0 {
		m.segs = append(m.segs, segment{lit: child.lit})
	}
	m.size += child.size
}

// float32s writes f as a bytes field of little-endian float32 values. When
// rows > 0, f is a rows×cols matrix and its transpose is written.
func (m *message) float32s(num int, f []float32, rows, cols int) {
	m.tag(num, wireBytes)
	m.varintRaw(uint64(4 * len(f)))
	m.flush()
	m.segs = append(m.segs, segment{f32: f, rows: rows, cols: cols})
	m.size += 4 * len(f)
}

// scratchBytes is the size of the buffer float data is converted in.
const scratchBytes = 256 << 10

// writeTo writes the encoded message to w.
func (m *message) writeTo(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	scratch := make([]byte, scratchBytes)
	write := func(s segment) error {
		if s.f32 == nil {
			_, err := bw.Write(s.lit)
			return err
		}
		if s.rows > 0 {
			return writeTransposed(bw, scratch, s.f32, s.rows, s.cols)
		}
		for f := s.f32; len(f) > 0; {
			n := min(len(f), len(scratch)/4)
			for i, v := range f[:n] {
				binary.LittleEndian.PutUint32(scratch[4*i:], math.Float32bits(v))
			}
			if _, err := bw.Write(scratch[:4*n]); err != nil {
				return err
			}
			f = f[n:]
		}
		return nil
	}
	for _, s := range m.segs {
		if err := write(s); err != nil {
			return err
		}
	}
	if len(m.lit) > 0 {
		if err := write(segment{lit: m.lit}); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// writeTransposed writes the transpose of the rows×cols matrix f as
// little-endian float32, a block of output rows at a time: each block reads
// contiguous runs of f and writes into scratch, which stays in cache.
func writeTransposed(w io.Writer, scratch []byte, f []float32, rows, cols int) error {
	// Output row c holds f[r*cols+c] for every r.
	block := max(1, len(scratch)/(4*rows))
	if need := 4 * rows * block; need > len(scratch) {
		scratch = make([]byte, need)
	}
	for c0 := 0; c0 < cols; c0 += block {
		c1 := min(cols, c0+block)
		out := scratch[:4*rows*(c1-c0)]
		for r := 0; r < rows; r++ {
			src := f[r*cols+c0 : r*cols+c1]
			for j, v := range src {
				binary.LittleEndian.PutUint32(out[4*(j*rows+r):], math.Float32bits(v))
			}
		}
		if _, err := w.Write(out); err != nil {
			return err
		}
	}
	return nil
}
