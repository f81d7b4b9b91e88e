package safetensors

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/edgenas/edgenas/internal/atomicfile"
)

// Write writes tensors and metadata (nil or empty for none) to w in the
// safetensors format, exactly as Hugging Face's library does: header keys in
// sorted order ("__metadata__" first), no white space, the header padded with
// spaces to a multiple of 8 bytes, then each tensor's Data in the order
// given. Every tensor and the metadata are validated before anything is
// written: names must be valid UTF-8, unique and not "__metadata__"; dtypes
// known; len(Data) must match Shape.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	hdr, err := encodeHeader(tensors, metadata)
	if err != nil {
		return err
	}
	return writeBody(w, hdr, tensors)
}

// WriteFile writes tensors and metadata to path as Write does, atomically:
// the data goes to a temporary file in the same directory, which is synced
// and then renamed over path. On any error path is left as it was and the
// temporary file is removed. A new file gets mode 0644; a replaced one keeps
// its mode. Errors name the path.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	if err := writeFile(path, tensors, metadata); err != nil {
		return wrapPath(path, err)
	}
	return nil
}

func writeFile(path string, tensors []Tensor, metadata map[string]string) error {
	hdr, err := encodeHeader(tensors, metadata)
	if err != nil {
		return err // nothing touched yet
	}
	return atomicfile.Write(path, func(w io.Writer) error { return writeBody(w, hdr, tensors) })
}

// writeBody writes the length prefix, the encoded header and the tensors'
// data.
func writeBody(w io.Writer, hdr []byte, tensors []Tensor) error {
	var prefix [prefixLen]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(len(hdr)))
	if _, err := w.Write(prefix[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// encodeHeader validates tensors and metadata and returns the padded JSON
// header that lays the tensors out in the order given.
func encodeHeader(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	offsets := make([][2]int, len(tensors))
	seen := make(map[string]bool, len(tensors))
	pos := 0
	for i, t := range tensors {
		switch {
		case !utf8.ValidString(t.Name):
			return nil, fmt.Errorf("tensor %q: %w: name is not valid UTF-8", t.Name, ErrBadHeader)
		case t.Name == metadataKey:
			return nil, fmt.Errorf("tensor %q: %w: reserved name", t.Name, ErrBadHeader)
		case seen[t.Name]:
			return nil, fmt.Errorf("tensor %q: %w: duplicate name", t.Name, ErrBadHeader)
		}
		seen[t.Name] = true
		if _, err := t.check(); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		end, ok := addInt(pos, len(t.Data))
		if !ok {
			return nil, fmt.Errorf("tensor %q: %w: total data size overflows", t.Name, ErrOutOfBounds)
		}
		offsets[i] = [2]int{pos, end}
		pos = end
	}
	metaKeys := make([]string, 0, len(metadata))
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Errorf("%w: %s: key %q or its value is not valid UTF-8", ErrBadHeader, metadataKey, k)
		}
		metaKeys = append(metaKeys, k)
	}
	slices.Sort(metaKeys)

	order := make([]int, len(tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(tensors[a].Name, tensors[b].Name) })

	b := []byte{'{'}
	if len(metaKeys) > 0 {
		b = appendString(b, metadataKey)
		b = append(b, ':', '{')
		for i, k := range metaKeys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, metadata[k])
		}
		b = append(b, '}')
	}
	for i, ti := range order {
		t := tensors[ti]
		if i > 0 || len(metaKeys) > 0 {
			b = append(b, ',')
		}
		b = appendString(b, t.Name)
		b = append(b, `:{"dtype":`...)
		b = appendString(b, string(t.DType))
		b = append(b, `,"shape":[`...)
		for j, d := range t.Shape {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(d), 10)
		}
		b = append(b, `],"data_offsets":[`...)
		b = strconv.AppendInt(b, int64(offsets[ti][0]), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(offsets[ti][1]), 10)
		b = append(b, "]}"...)
	}
	b = append(b, '}')
	for len(b)%8 != 0 {
		b = append(b, ' ')
	}
	if len(b) > MaxHeaderSize {
		return nil, fmt.Errorf("%w: header of %d bytes exceeds the limit of %d", ErrHeaderTooLarge, len(b), MaxHeaderSize)
	}
	return b, nil
}

// addInt returns a+b for non-negative a and b, and false if it overflows.
func addInt(a, b int) (int, bool) {
	c := a + b
	return c, c >= a
}

// appendString appends s as a JSON string, escaped as serde_json (which
// Hugging Face's library uses) escapes it: quote, backslash and control
// characters only.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
