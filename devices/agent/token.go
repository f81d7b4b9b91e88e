package agent

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/edgenas/edgenas/internal/limitio"
)

// tokenLimit bounds a token file.
const tokenLimit = 4096

// ReadToken reads a bearer token from path: at most 4 KiB, surrounding
// white space trimmed; an empty token, or one holding white space or
// control characters (which a header cannot carry), is refused.
func ReadToken(path string) (string, error) {
	data, err := limitio.ReadFile(path, tokenLimit, "a token file")
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", fmt.Errorf("%s: empty token, want a secret of printable characters", path)
	}
	if strings.IndexFunc(tok, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "", fmt.Errorf("%s: the token holds white space or control characters, want one word of printable characters", path)
	}
	return tok, nil
}

// errNoToken is the error of a Server configured without a token.
var errNoToken = errors.New("agent: no token (every request but health must carry one)")

// tokenDigest is what tokens are compared by: their SHA-256, of the same
// length whatever the token.
func tokenDigest(tok string) [sha256.Size]byte { return sha256.Sum256([]byte(tok)) }
