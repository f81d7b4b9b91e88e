package tokenizer

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer is the BertNormalizer: clean_text, handle_chinese_chars,
// strip_accents and lowercase, applied in that order (the order of Hugging
// Face's Rust implementation, which BertTokenizerFast runs).
type normalizer struct {
	clean        bool
	chinese      bool
	stripAccents bool
	lowercase    bool
}

func newNormalizer(o Options) normalizer {
	return normalizer{
		clean:        !o.NoCleanText,
		chinese:      o.TokenizeChineseChars,
		stripAccents: o.stripAccents(),
		lowercase:    o.Lowercase,
	}
}

// normalize returns the normalized text as valid UTF-8, whatever s holds
// (invalid bytes decode to U+FFFD, which clean_text removes).
func (n normalizer) normalize(s string) string {
	buf := make([]byte, 0, len(s)+8)
	ascii := true
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			// ASCII: no CJK, no accents; lower-case right away.
			i++
			if n.clean {
				if asciiProps[c]&asciiControl != 0 {
					continue
				}
				if asciiProps[c]&asciiSpace != 0 {
					c = ' '
				}
			}
			if n.lowercase && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf = append(buf, c)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if n.clean {
			if r == utf8.RuneError || isControl(r) {
				continue
			}
			if isWhitespace(r) {
				r = ' '
			}
		}
		ascii = ascii && r < utf8.RuneSelf
		if n.chinese && isChineseChar(r) {
			buf = append(buf, ' ')
			buf = utf8.AppendRune(buf, r)
			buf = append(buf, ' ')
			continue
		}
		buf = utf8.AppendRune(buf, r)
	}
	if ascii {
		return string(buf)
	}
	if n.stripAccents {
		buf = stripAccents(buf)
	}
	if n.lowercase {
		buf = lowercase(buf)
	}
	return string(buf)
}

// stripAccents decomposes b (NFD) and drops the nonspacing marks (Mn).
func stripAccents(b []byte) []byte {
	d := norm.NFD.Bytes(b)
	out := d[:0]
	for i := 0; i < len(d); {
		r, size := utf8.DecodeRune(d[i:])
		if !unicode.Is(unicode.Mn, r) {
			out = append(out, d[i:i+size]...)
		}
		i += size
	}
	return out
}

// lowercase applies the full, unconditional Unicode lower-case mapping, like
// Rust's char::to_lowercase: the simple mapping plus U+0130 (capital I with
// dot above), which lower-cases to "i" followed by U+0307.
func lowercase(b []byte) []byte {
	out := make([]byte, 0, len(b)+4)
	for _, r := range string(b) {
		if r == '\u0130' {
			out = append(out, 'i', 0xCC, 0x87) // "i\u0307"
			continue
		}
		out = utf8.AppendRune(out, unicode.ToLower(r))
	}
	return out
}

// Properties of ASCII characters, as isControl, isWhitespace and
// isPunctuation see them (\v and \f are both control and whitespace).
const (
	asciiControl = 1 << iota
	asciiSpace
	asciiPunct
)

// asciiProps holds the properties of each ASCII character.
var asciiProps = func() (t [utf8.RuneSelf]uint8) {
	for c := range rune(utf8.RuneSelf) {
		if isControl(c) {
			t[c] |= asciiControl
		}
		if isWhitespace(c) {
			t[c] |= asciiSpace
		}
		if isPunctuation(c) {
			t[c] |= asciiPunct
		}
	}
	return t
}()

// isWhitespace is BERT's whitespace test: \t, \n, \r and the Unicode
// White_Space characters (space separators among them). Callers that clean
// text test isControl first, so \v, \f and U+0085 are removed, not spaced.
func isWhitespace(r rune) bool {
	return unicode.IsSpace(r)
}

// isControl is BERT's control test: the characters of general category Cc,
// Cf, Co (private use) or Cs, except \t, \n and \r, which count as whitespace.
// Unassigned code points (Cn) are kept, as Hugging Face's Rust tokenizers
// (BertTokenizerFast) keep them; they end up as [UNK].
func isControl(r rune) bool {
	switch r {
	case '\t', '\n', '\r':
		return false
	}
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isPunctuation is BERT's _is_punctuation: all non-alphanumeric ASCII printable
// characters (33-47, 58-64, 91-96, 123-126) and Unicode general category P.
func isPunctuation(r rune) bool {
	if r < utf8.RuneSelf {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.IsPunct(r)
}

// isChineseChar reports whether r is in BERT's CJK Unified Ideographs blocks.
func isChineseChar(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

// preTokenize is the BertPreTokenizer: it splits s on whitespace and makes
// every punctuation character a word of its own, calling word for each word
// in order.
func preTokenize(s string, word func(string)) {
	start := -1 // start of the current word, -1 when none
	for i := 0; i < len(s); {
		size := 1
		var space, punct bool
		if c := s[i]; c < utf8.RuneSelf {
			space, punct = asciiProps[c]&asciiSpace != 0, asciiProps[c]&asciiPunct != 0
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			space, punct = isWhitespace(r), isPunctuation(r)
		}
		switch {
		case space:
			if start >= 0 {
				word(s[start:i])
				start = -1
			}
		case punct:
			if start >= 0 {
				word(s[start:i])
				start = -1
			}
			word(s[i : i+size])
		default:
			if start < 0 {
				start = i
			}
		}
		i += size
	}
	if start >= 0 {
		word(s[start:])
	}
}
