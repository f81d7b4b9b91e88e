package boltfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// ErrChecksum marks a sealed value whose checksum does not match its
// domain, key and payload: edited, damaged, or copied under another key.
var ErrChecksum = errors.New("checksum mismatch")

// sumSize is the length of a seal's checksum.
const sumSize = sha256.Size

// Seal returns the stored form of payload under key: the domain (which
// names the kind of record, e.g. "edgenas/evaluator-result"), a NUL, a
// SHA-256 over the domain, the key and the payload, then the payload. The
// checksum covers the key, so a value copied under another key does not
// verify. domain must not contain NUL.
func Seal(domain string, key, payload []byte) []byte {
	if strings.IndexByte(domain, 0) >= 0 {
		panic("boltfile.Seal: domain contains NUL")
	}
	out := make([]byte, 0, len(domain)+1+sumSize+len(payload))
	out = append(out, domain...)
	out = append(out, 0)
	out = append(out, sum(domain, key, payload)...)
	return append(out, payload...)
}

// Sealed reports whether value was sealed in domain, verified or not: a
// salvager uses it to tell its damaged records from other records.
func Sealed(domain string, value []byte) bool {
	return len(value) > len(domain) && string(value[:len(domain)]) == domain && value[len(domain)] == 0
}

// Unseal returns the payload of value, sealed in domain under key, or an
// error wrapping ErrChecksum when it does not verify. The payload aliases
// value.
func Unseal(domain string, key, value []byte) ([]byte, error) {
	if !Sealed(domain, value) {
		return nil, fmt.Errorf("not a sealed %s record", domain)
	}
	rest := value[len(domain)+1:]
	if len(rest) < sumSize {
		return nil, fmt.Errorf("%s record: %w (checksum cut short)", domain, ErrChecksum)
	}
	payload := rest[sumSize:]
	if !bytes.Equal(rest[:sumSize], sum(domain, key, payload)) {
		return nil, fmt.Errorf("%s record: %w", domain, ErrChecksum)
	}
	return payload, nil
}

func sum(domain string, key, payload []byte) []byte {
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write([]byte{0})
	h.Write(binary.AppendUvarint(nil, uint64(len(key))))
	h.Write(key)
	h.Write(payload)
	return h.Sum(nil)
}
