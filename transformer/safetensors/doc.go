// Package safetensors reads and writes the Hugging Face safetensors format:
// an 8-byte little-endian length N, N bytes of JSON header, then one data
// buffer holding every tensor's raw little-endian bytes.
//
// The header maps each tensor name to {"dtype", "shape", "data_offsets"},
// with offsets relative to the start of the data buffer, and may hold a
// "__metadata__" object of string to string.
//
// # What it owns
//
// Parsing and full validation of untrusted files (Parse, ReadFile); writing
// files (Write, WriteFile) that Hugging Face's library reads, byte-identical
// to what it writes when given the tensors in the order it picks (by dtype,
// widest first, then by name); and conversion of F32, F16, BF16 and F64 data to
// float32 (Tensor.Float32) and of float32 data to F32, F16, BF16 and F64
// (FromFloat32, FromFloat32As). Integer and BOOL tensors (I8, U8, I16, U16,
// I32, U32, I64, U64, BOOL) are carried as raw bytes.
//
// # Validation
//
// A file is rejected unless all of these hold, and every check runs before
// any allocation proportional to a size claimed by the file:
//
//   - the header length is at most MaxHeaderSize and at most the bytes that
//     follow it;
//   - the header is valid UTF-8 and one JSON object, with no duplicate key at
//     any level and nothing but white space after it;
//   - "__metadata__", if present, is an object of strings (or null);
//   - every tensor entry has exactly the fields dtype (a known DType), shape
//     (non-negative integers whose product, times the element size, fits in
//     an int) and data_offsets ([begin, end] with 0 <= begin <= end <= the
//     data buffer's length and end-begin equal to the shape's byte size);
//   - the tensors neither overlap nor leave a gap: sorted by offset, they
//     cover the data buffer exactly, as Hugging Face's Rust library requires.
//
// # Errors
//
// Errors about content wrap one of the sentinel errors (test with
// errors.Is); I/O errors are those of package os. An error about one tensor
// starts with `tensor "NAME":`. Errors of ReadFile and WriteFile start with
// the file's path (an *fs.PathError that already names it is returned as is).
//
// # Limits
//
// Little-endian data only (the format defines no other). ReadFile reads the
// whole file into memory (no mmap). Write lays tensors out in the order given
// and does not align them; Hugging Face's order (widest dtype first) keeps
// every tensor aligned to its element size. The F8 and F4 dtypes of newer
// Hugging Face versions are not supported and are reported as
// ErrUnknownDType. Unknown fields in a tensor entry are rejected.
//
// # Concurrency
//
// A File is not modified by any function of this package after Parse or
// ReadFile return it, so any number of goroutines may read it at once. The
// Data of its tensors aliases one buffer (the argument of Parse): callers
// must not write to it while others read. Functions keep no state between
// calls, except that they read MaxHeaderSize, which must not be changed
// while other goroutines parse.
package safetensors
