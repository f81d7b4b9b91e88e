package safetensors

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them, with
// context (the tensor's name, offsets, the path of the file) in the message.
var (
	// ErrTruncated reports a file shorter than its own framing: fewer than
	// 8 bytes, or fewer header bytes than the length prefix claims.
	ErrTruncated = errors.New("safetensors: truncated file")

	// ErrHeaderTooLarge reports a header length above MaxHeaderSize.
	ErrHeaderTooLarge = errors.New("safetensors: header too large")

	// ErrBadHeader reports a header that is not what the format requires:
	// not UTF-8, not a JSON object, duplicate or unknown keys, fields of the
	// wrong type, negative dimensions, bad metadata, a data buffer not fully
	// covered by tensors, or (on Write) a reserved or invalid name.
	ErrBadHeader = errors.New("safetensors: bad header")

	// ErrUnknownDType reports a dtype this package does not know.
	ErrUnknownDType = errors.New("safetensors: unknown dtype")

	// ErrOverlap reports two tensors whose byte ranges overlap.
	ErrOverlap = errors.New("safetensors: overlapping tensors")

	// ErrOutOfBounds reports data_offsets that are negative, reversed or
	// past the end of the data buffer.
	ErrOutOfBounds = errors.New("safetensors: data offsets out of bounds")

	// ErrShapeMismatch reports a byte length that is not the product of the
	// shape times the dtype size, including shapes whose byte size
	// overflows an int (no data can match them).
	ErrShapeMismatch = errors.New("safetensors: shape does not match data length")

	// ErrNotFloat reports a float conversion asked of an integer or BOOL
	// tensor, or a float encoding asked for a non-float dtype.
	ErrNotFloat = errors.New("safetensors: not a float dtype")

	// ErrNotFound reports a tensor name absent from a File.
	ErrNotFound = errors.New("safetensors: tensor not found")
)
