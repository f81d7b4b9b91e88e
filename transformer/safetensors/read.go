package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MaxHeaderSize is the largest header length, in bytes, that Parse and
// ReadFile accept. A file claiming more is rejected with ErrHeaderTooLarge
// before anything is allocated for its header.
var MaxHeaderSize = 100 << 20

// metadataKey is the reserved header key holding the file's metadata.
const metadataKey = "__metadata__"

// prefixLen is the size of the header length prefix.
const prefixLen = 8

// File is a parsed safetensors file.
type File struct {
	// Tensors are in the order of their data in the file (by begin
	// offset, then end offset, then name).
	Tensors []Tensor
	// Metadata is the header's "__metadata__", nil when absent or empty.
	Metadata map[string]string

	byName map[string]int // index into Tensors
}

// Get returns the tensor called name and true, or a zero Tensor and false.
// The tensor shares its Shape and Data with f.
func (f *File) Get(name string) (Tensor, bool) {
	if f == nil {
		return Tensor{}, false
	}
	if f.byName == nil { // a File built by hand
		for _, t := range f.Tensors {
			if t.Name == name {
				return t, true
			}
		}
		return Tensor{}, false
	}
	i, ok := f.byName[name]
	if !ok {
		return Tensor{}, false
	}
	return f.Tensors[i], true
}

// Tensor returns the tensor called name, or an error wrapping ErrNotFound.
func (f *File) Tensor(name string) (Tensor, error) {
	t, ok := f.Get(name)
	if !ok {
		return Tensor{}, fmt.Errorf("tensor %q: %w", name, ErrNotFound)
	}
	return t, nil
}

// Names returns the tensor names in the order of f.Tensors.
func (f *File) Names() []string {
	if f == nil {
		return nil
	}
	names := make([]string, len(f.Tensors))
	for i, t := range f.Tensors {
		names[i] = t.Name
	}
	return names
}

// Parse parses and fully validates a safetensors file held in data. The
// tensors' Data slices alias data (no copy), with their capacity capped so
// that appending to one cannot overwrite another.
func Parse(data []byte) (*File, error) {
	if len(data) < prefixLen {
		return nil, fmt.Errorf("%w: %d bytes, need at least %d", ErrTruncated, len(data), prefixLen)
	}
	n, err := headerLen(binary.LittleEndian.Uint64(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	buf := data[prefixLen+n:]
	entries, meta, err := parseHeader(data[prefixLen:prefixLen+n], len(buf))
	if err != nil {
		return nil, err
	}
	return newFile(entries, meta, buf), nil
}

// ReadFile reads and fully validates the safetensors file at path. It reads
// the length prefix and the header first and validates them against the
// file's size, so a hostile file cannot make it allocate more than the file
// holds. Errors name the path.
func ReadFile(path string) (*File, error) {
	f, err := readFile(path)
	if err != nil {
		return nil, wrapPath(path, err)
	}
	return f, nil
}

func readFile(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size < prefixLen {
		return nil, fmt.Errorf("%w: %d bytes, need at least %d", ErrTruncated, size, prefixLen)
	}
	var prefix [prefixLen]byte
	if _, err := io.ReadFull(fd, prefix[:]); err != nil {
		return nil, readErr(err)
	}
	n, err := headerLen(binary.LittleEndian.Uint64(prefix[:]), size)
	if err != nil {
		return nil, err
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(fd, hdr); err != nil {
		return nil, readErr(err)
	}
	dataLen := size - prefixLen - int64(n)
	if dataLen > math.MaxInt {
		return nil, fmt.Errorf("data buffer of %d bytes does not fit in memory", dataLen)
	}
	entries, meta, err := parseHeader(hdr, int(dataLen))
	if err != nil {
		return nil, err
	}
	// The header now accounts for every byte of the buffer.
	buf := make([]byte, dataLen)
	if _, err := io.ReadFull(fd, buf); err != nil {
		return nil, readErr(err)
	}
	return newFile(entries, meta, buf), nil
}

// readErr maps a short read (the file shrank after Stat) to ErrTruncated.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: file shrank while being read", ErrTruncated)
	}
	return err
}

// wrapPath prefixes err with path unless err is an *fs.PathError that
// already names it.
func wrapPath(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// headerLen validates the length prefix n of a file of size bytes.
func headerLen(n uint64, size int64) (int, error) {
	if limit := max(MaxHeaderSize, 0); n > uint64(limit) {
		return 0, fmt.Errorf("%w: header length %d exceeds the limit of %d", ErrHeaderTooLarge, n, limit)
	}
	if n > uint64(size-prefixLen) {
		return 0, fmt.Errorf("%w: header length %d but only %d bytes follow the prefix", ErrTruncated, n, size-prefixLen)
	}
	return int(n), nil
}

// entry is one validated tensor entry of a header.
type entry struct {
	name       string
	dtype      DType
	shape      []int
	begin, end int
}

// newFile builds a File over buf from validated entries.
func newFile(entries []entry, meta map[string]string, buf []byte) *File {
	f := &File{
		Tensors:  make([]Tensor, len(entries)),
		Metadata: meta,
		byName:   make(map[string]int, len(entries)),
	}
	for i, e := range entries {
		f.Tensors[i] = Tensor{Name: e.name, DType: e.dtype, Shape: e.shape, Data: buf[e.begin:e.end:e.end]}
		f.byName[e.name] = i
	}
	return f
}

// parseHeader parses and validates the JSON header hdr of a file whose data
// buffer holds dataLen bytes. It returns the entries sorted by offset.
func parseHeader(hdr []byte, dataLen int) ([]entry, map[string]string, error) {
	if len(hdr) == 0 {
		return nil, nil, fmt.Errorf("%w: empty header", ErrBadHeader)
	}
	if !utf8.Valid(hdr) {
		return nil, nil, fmt.Errorf("%w: not valid UTF-8", ErrBadHeader)
	}
	p := headerParser{dec: json.NewDecoder(bytes.NewReader(hdr)), dataLen: dataLen}
	p.dec.UseNumber()
	if err := p.delim('{', "header is not a JSON object"); err != nil {
		return nil, nil, err
	}
	var (
		entries []entry
		meta    map[string]string
		seen    = map[string]bool{}
	)
	for p.dec.More() {
		key, err := p.key()
		if err != nil {
			return nil, nil, err
		}
		if seen[key] {
			if key == metadataKey {
				return nil, nil, fmt.Errorf("%w: duplicate %s", ErrBadHeader, metadataKey)
			}
			return nil, nil, fmt.Errorf("tensor %q: %w: duplicate name", key, ErrBadHeader)
		}
		seen[key] = true
		if key == metadataKey {
			if meta, err = p.metadata(); err != nil {
				return nil, nil, err
			}
			continue
		}
		e, err := p.entry(key)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if err := p.delim('}', "header object not closed"); err != nil {
		return nil, nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, nil, fmt.Errorf("%w: data after the header object", ErrBadHeader)
	}
	if err := checkLayout(entries, dataLen); err != nil {
		return nil, nil, err
	}
	return entries, meta, nil
}

// checkLayout sorts entries by offset and checks that they tile the data
// buffer of dataLen bytes exactly: no overlap, no gap.
func checkLayout(entries []entry, dataLen int) error {
	slices.SortFunc(entries, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.end, b.end), cmp.Compare(a.name, b.name))
	})
	pos, last := 0, 0 // end of the data seen so far, and the tensor that ended it
	for i, e := range entries {
		if e.begin < pos {
			p := entries[last]
			return fmt.Errorf("tensor %q: %w: data_offsets [%d,%d] overlap tensor %q [%d,%d]",
				e.name, ErrOverlap, e.begin, e.end, p.name, p.begin, p.end)
		}
		if e.begin > pos {
			return fmt.Errorf("tensor %q: %w: data buffer not fully covered: bytes [%d,%d) before it belong to no tensor",
				e.name, ErrBadHeader, pos, e.begin)
		}
		pos, last = e.end, i
	}
	if pos != dataLen {
		return fmt.Errorf("%w: data buffer not fully covered: bytes [%d,%d) after the last tensor belong to no tensor",
			ErrBadHeader, pos, dataLen)
	}
	return nil
}

// headerParser reads a header through JSON tokens, so that duplicate keys are
// seen (encoding/json's Unmarshal silently keeps the last one).
type headerParser struct {
	dec     *json.Decoder
	dataLen int
}

// token returns the next token, wrapping syntax errors in ErrBadHeader.
func (p *headerParser) token() (json.Token, error) {
	tok, err := p.dec.Token()
	if err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("%w: invalid JSON at byte %d: %v", ErrBadHeader, se.Offset, err)
		case err == io.EOF:
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%w: %v", ErrBadHeader, err)
	}
	return tok, nil
}

// delim reads the delimiter d, failing with ErrBadHeader and msg otherwise.
func (p *headerParser) delim(d json.Delim, msg string) error {
	tok, err := p.token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("%w: %s", ErrBadHeader, msg)
	}
	return nil
}

// key reads an object key (the decoder guarantees a string inside an object).
func (p *headerParser) key() (string, error) {
	tok, err := p.token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("%w: object key %s is not a string", ErrBadHeader, describe(tok))
	}
	return s, nil
}

// metadata reads the value of "__metadata__": null or an object of strings.
func (p *headerParser) metadata() (map[string]string, error) {
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, nil
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: %s is not an object", ErrBadHeader, metadataKey)
	}
	var meta map[string]string
	for p.dec.More() {
		k, err := p.key()
		if err != nil {
			return nil, err
		}
		if _, dup := meta[k]; dup {
			return nil, fmt.Errorf("%w: %s: duplicate key %q", ErrBadHeader, metadataKey, k)
		}
		tok, err := p.token()
		if err != nil {
			return nil, err
		}
		v, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: %s: value of %q is not a string", ErrBadHeader, metadataKey, k)
		}
		if meta == nil {
			meta = map[string]string{}
		}
		meta[k] = v
	}
	return meta, p.delim('}', metadataKey+" object not closed")
}

// numbers reads an array of JSON numbers and returns their literals.
func (p *headerParser) numbers(name, field string) ([]string, error) {
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, fmt.Errorf("tensor %q: %w: %s is not an array", name, ErrBadHeader, field)
	}
	nums := []string{}
	for p.dec.More() {
		tok, err := p.token()
		if err != nil {
			return nil, err
		}
		n, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("tensor %q: %w: %s holds %s, not a number", name, ErrBadHeader, field, describe(tok))
		}
		nums = append(nums, string(n))
	}
	return nums, p.delim(']', field+" array not closed")
}

// entry reads and validates the entry of the tensor called name.
func (p *headerParser) entry(name string) (entry, error) {
	e := entry{name: name}
	bad := func(format string, args ...any) (entry, error) {
		return entry{}, fmt.Errorf("tensor %q: %w: %s", name, ErrBadHeader, fmt.Sprintf(format, args...))
	}
	tok, err := p.token()
	if err != nil {
		return entry{}, err
	}
	if tok != json.Delim('{') {
		return bad("entry is not an object")
	}
	var dtype, shape, offsets []string // nil until seen
	for p.dec.More() {
		k, err := p.key()
		if err != nil {
			return entry{}, err
		}
		var dst *[]string
		switch k {
		case "dtype":
			dst = &dtype
		case "shape":
			dst = &shape
		case "data_offsets":
			dst = &offsets
		default:
			return bad("unknown field %q", k)
		}
		if *dst != nil {
			return bad("duplicate field %q", k)
		}
		if k == "dtype" {
			tok, err := p.token()
			if err != nil {
				return entry{}, err
			}
			s, ok := tok.(string)
			if !ok {
				return bad("dtype is %s, not a string", describe(tok))
			}
			dtype = []string{s}
			continue
		}
		if *dst, err = p.numbers(name, k); err != nil {
			return entry{}, err
		}
	}
	if err := p.delim('}', "entry not closed"); err != nil {
		return entry{}, err
	}
	switch {
	case dtype == nil:
		return bad("missing dtype")
	case shape == nil:
		return bad("missing shape")
	case offsets == nil:
		return bad("missing data_offsets")
	}

	e.dtype = DType(dtype[0])
	if e.dtype.Size() == 0 {
		return entry{}, fmt.Errorf("tensor %q: %w %q", name, ErrUnknownDType, dtype[0])
	}
	e.shape = make([]int, len(shape))
	for i, s := range shape {
		d, err := strconv.ParseInt(s, 10, 64)
		overflow := errors.Is(err, strconv.ErrRange) // d saturated at ±MaxInt64
		switch {
		case err != nil && !overflow:
			return bad("dimension %s is not an integer", s)
		case d < 0:
			return bad("negative dimension %s", s)
		case overflow || d > math.MaxInt:
			return entry{}, fmt.Errorf("tensor %q: %w: dimension %s overflows", name, ErrShapeMismatch, s)
		}
		e.shape[i] = int(d)
	}
	nbytes, err := byteSize(e.dtype, e.shape)
	if err != nil {
		return entry{}, fmt.Errorf("tensor %q: %w", name, err)
	}

	if len(offsets) != 2 {
		return bad("data_offsets has %d elements, want 2", len(offsets))
	}
	var off [2]int
	for i, s := range offsets {
		v, err := strconv.ParseInt(s, 10, 64)
		switch {
		case errors.Is(err, strconv.ErrRange), err == nil && (v < 0 || v > int64(p.dataLen)):
			return entry{}, fmt.Errorf("tensor %q: %w: data_offsets [%s,%s] outside the data buffer of %d bytes",
				name, ErrOutOfBounds, offsets[0], offsets[1], p.dataLen)
		case err != nil:
			return bad("data offset %s is not an integer", s)
		}
		off[i] = int(v)
	}
	e.begin, e.end = off[0], off[1]
	if e.begin > e.end {
		return entry{}, fmt.Errorf("tensor %q: %w: data_offsets [%d,%d] end before they begin", name, ErrOutOfBounds, e.begin, e.end)
	}
	if e.end-e.begin != nbytes {
		return entry{}, fmt.Errorf("tensor %q: %w: shape %v of %s needs %d bytes, data_offsets [%d,%d] hold %d",
			name, ErrShapeMismatch, e.shape, e.dtype, nbytes, e.begin, e.end, e.end-e.begin)
	}
	return e, nil
}

// describe renders a JSON token for an error message.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case string:
		return strconv.Quote(v)
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}
