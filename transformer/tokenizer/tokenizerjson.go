package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/edgenas/edgenas/internal/limitio"
)

// LoadTokenizerJSON reads a Hugging Face tokenizer.json with a WordPiece
// model and builds a Tokenizer that behaves as that file says:
//
//   - model: type "WordPiece"; vocab (token -> id, ids dense 0..n-1 and
//     unique), unk_token, continuing_subword_prefix, max_input_chars_per_word;
//   - normalizer: BertNormalizer (lowercase, strip_accents,
//     handle_chinese_chars, clean_text) or null;
//   - pre_tokenizer: BertPreTokenizer;
//   - post_processor: BERT's template ([CLS] $A [SEP] / [CLS] $A [SEP] $B:1
//     [SEP]:1), BertProcessing or null, naming the [CLS] and [SEP] tokens;
//   - padding.pad_token names the padding token ([PAD] without padding);
//   - added_tokens: matched whole in the text, with their single_word,
//     lstrip, rstrip and normalized flags; ids past the model vocabulary
//     extend it and must continue its dense numbering.
//
// Anything else (another model type, normalizer, pre-tokenizer or template)
// is an error wrapping ErrUnsupported; malformed JSON, duplicate tokens and
// sparse ids are errors naming the file and line. The truncation section is
// ignored: Encode's maxLen decides.
func LoadTokenizerJSON(path string) (*Tokenizer, error) {
	data, err := limitio.ReadFile(path, limitio.VocabLimit, "a tokenizer")
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	t, err := parseTokenizerJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// field is one JSON value and the byte offset of its start in the file.
type field struct {
	raw json.RawMessage
	off int
}

// isNull reports whether the field is absent or JSON null.
func (f field) isNull() bool {
	return len(f.raw) == 0 || string(f.raw) == "null"
}

// decodeAt unmarshals f into v, naming the line of an error.
func (f field) decodeAt(data []byte, name string, v any) error {
	if err := json.Unmarshal(f.raw, v); err != nil {
		return jsonErrorAt(data, f.off, name, err)
	}
	return nil
}

// line returns the 1-based line of f in data.
func (f field) line(data []byte) int {
	line, _ := lineCol(data, f.off)
	return line
}

// jsonErrorAt turns an encoding/json error about the value that starts at
// base in data (name says which) into one naming the line and column, wrapping
// ErrInvalidVocab and the original error.
func jsonErrorAt(data []byte, base int, name string, err error) error {
	var offset int64 = -1
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		offset = syn.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	}
	if offset < 0 {
		offset = 0
	}
	line, col := lineCol(data, min(base+int(offset), len(data)))
	return fmt.Errorf("line %d column %d: %s: %w: %w", line, col, name, ErrInvalidVocab, err)
}

// skipToValue returns the offset of the next value in data at or after off,
// past whitespace, commas and colons.
func skipToValue(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\n', '\r', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// member is one key of a JSON object, where it is, and its value.
type member struct {
	key    string
	keyOff int
	val    field
}

// walkObject decodes the JSON object f member by member, in file order (a
// repeated key appears once per occurrence), calling value with the decoder
// positioned before each member's value and the offsets of key and value in
// data. value must consume exactly that value.
func walkObject(data []byte, f field, name string, useNumber bool, value func(dec *json.Decoder, key string, keyOff, valOff int) error) error {
	dec := json.NewDecoder(bytes.NewReader(f.raw))
	if useNumber {
		dec.UseNumber()
	}
	tok, err := dec.Token()
	if err != nil {
		return jsonErrorAt(data, f.off, name, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		line, col := lineCol(data, f.off)
		return fmt.Errorf("line %d column %d: %s is not a JSON object: %w", line, col, name, ErrInvalidVocab)
	}
	for dec.More() {
		keyOff := f.off + skipToValue(f.raw, int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return jsonErrorAt(data, keyOff, name, err)
		}
		key, _ := tok.(string)
		valOff := f.off + skipToValue(f.raw, int(dec.InputOffset()))
		if err := value(dec, key, keyOff, valOff); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return jsonErrorAt(data, f.off, name, err)
	}
	return nil
}

// objectMembers decodes the JSON object f into its members, in file order
// (a repeated key appears once per occurrence), with offsets in data.
func objectMembers(data []byte, f field, name string) ([]member, error) {
	var members []member
	err := walkObject(data, f, name, false, func(dec *json.Decoder, key string, keyOff, valOff int) error {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return jsonErrorAt(data, valOff, name+"."+key, err)
		}
		members = append(members, member{key: key, keyOff: keyOff, val: field{raw: raw, off: valOff}})
		return nil
	})
	return members, err
}

// vocabEntry is one "token": id member of model.vocab.
type vocabEntry struct {
	token  string
	keyOff int
	id     any // the decoded value: json.Number for a number
}

// vocabEntries walks the model.vocab object f member by member (faster than
// objectMembers for its tens of thousands of scalar values), in file order,
// keeping repeated keys.
func vocabEntries(data []byte, f field) ([]vocabEntry, error) {
	const name = "model.vocab"
	var entries []vocabEntry
	err := walkObject(data, f, name, true, func(dec *json.Decoder, key string, keyOff, _ int) error {
		val, err := dec.Token()
		if err != nil {
			return jsonErrorAt(data, keyOff, name, err)
		}
		if _, ok := val.(json.Delim); ok {
			line, _ := lineCol(data, keyOff)
			return fmt.Errorf("line %d: %s: token %q: the id is not a number: %w", line, name, key, ErrInvalidVocab)
		}
		entries = append(entries, vocabEntry{token: key, keyOff: keyOff, id: val})
		return nil
	})
	return entries, err
}

// objectFields decodes the JSON object f into a map of its fields; a
// repeated key keeps its last value, as encoding/json does.
func objectFields(data []byte, f field, name string) (map[string]field, error) {
	members, err := objectMembers(data, f, name)
	if err != nil {
		return nil, err
	}
	fields := make(map[string]field, len(members))
	for _, m := range members {
		fields[m.key] = m.val
	}
	return fields, nil
}

// arrayElems decodes the JSON array f into its elements with their offsets.
func arrayElems(data []byte, f field, name string) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(f.raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErrorAt(data, f.off, name, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		line, col := lineCol(data, f.off)
		return nil, fmt.Errorf("line %d column %d: %s is not a JSON array: %w", line, col, name, ErrInvalidVocab)
	}
	var elems []field
	for dec.More() {
		off := f.off + skipToValue(f.raw, int(dec.InputOffset()))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, jsonErrorAt(data, off, name, err)
		}
		elems = append(elems, field{raw: raw, off: off})
	}
	return elems, nil
}

// parseTokenizerJSON builds a Tokenizer from tokenizer.json bytes.
func parseTokenizerJSON(data []byte) (*Tokenizer, error) {
	if !json.Valid(data) {
		var v any
		return nil, jsonErrorAt(data, 0, TokenizerJSONFile, json.Unmarshal(data, &v))
	}
	top, err := objectFields(data, field{raw: data}, TokenizerJSONFile)
	if err != nil {
		return nil, err
	}

	model, ok := top["model"]
	if !ok || model.isNull() {
		return nil, fmt.Errorf("no model: %w", ErrInvalidVocab)
	}
	s, err := parseWordPiece(data, model)
	if err != nil {
		return nil, err
	}
	if s.opts, err = parseNormalizer(data, top["normalizer"]); err != nil {
		return nil, err
	}
	s.opts.MaxInputCharsPerWord = s.maxChars
	if err := checkPreTokenizer(data, top["pre_tokenizer"]); err != nil {
		return nil, err
	}
	pp, err := parsePostProcessor(data, top["post_processor"])
	if err != nil {
		return nil, err
	}
	s.cls, s.sep = pp.cls, pp.sep
	s.pad = PADToken
	if p := top["padding"]; !p.isNull() {
		var padding struct {
			PadToken *string `json:"pad_token"`
		}
		if err := p.decodeAt(data, "padding", &padding); err != nil {
			return nil, err
		}
		if padding.PadToken != nil {
			s.pad = *padding.PadToken
		}
	}
	s.mask = MASKToken
	if err := parseAddedTokens(data, top["added_tokens"], &s.spec); err != nil {
		return nil, err
	}
	t, err := build(s.spec)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{pp.cls, pp.sep} {
		want, ok := pp.ids[name]
		if got := t.ids[name]; ok && int64(got) != want {
			return nil, fmt.Errorf("line %d: post_processor gives %q id %d but the vocabulary gives %d: %w", pp.line, name, want, got, ErrInvalidVocab)
		}
	}
	return t, nil
}

// jsonSpec is a spec under construction plus the model's word length limit.
type jsonSpec struct {
	spec
	maxChars int
}

// parseWordPiece reads the model section: a WordPiece model and its vocab.
func parseWordPiece(data []byte, model field) (jsonSpec, error) {
	var m struct {
		Type                    *string `json:"type"`
		UnkToken                *string `json:"unk_token"`
		ContinuingSubwordPrefix *string `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    *int    `json:"max_input_chars_per_word"`
	}
	if err := model.decodeAt(data, "model", &m); err != nil {
		return jsonSpec{}, err
	}
	fields, err := objectFields(data, model, "model")
	if err != nil {
		return jsonSpec{}, err
	}
	line := model.line(data)
	switch {
	case m.Type != nil && *m.Type != "WordPiece":
		return jsonSpec{}, fmt.Errorf("line %d: model.type %q: only WordPiece models are supported: %w", fields["type"].line(data), *m.Type, ErrUnsupported)
	case m.Type == nil && m.ContinuingSubwordPrefix == nil && m.MaxInputCharsPerWord == nil:
		return jsonSpec{}, fmt.Errorf("line %d: model has no type and does not look like WordPiece: %w", line, ErrUnsupported)
	}
	s := jsonSpec{spec: spec{prefix: ContinuingSubwordPrefix, unk: UNKToken}, maxChars: DefaultMaxInputCharsPerWord}
	if m.UnkToken != nil {
		s.unk = *m.UnkToken
	}
	if m.ContinuingSubwordPrefix != nil {
		s.prefix = *m.ContinuingSubwordPrefix
	}
	if m.MaxInputCharsPerWord != nil {
		if *m.MaxInputCharsPerWord <= 0 {
			return jsonSpec{}, fmt.Errorf("line %d: model.max_input_chars_per_word %d: must be positive: %w", fields["max_input_chars_per_word"].line(data), *m.MaxInputCharsPerWord, ErrInvalidVocab)
		}
		s.maxChars = *m.MaxInputCharsPerWord
	}

	vf, ok := fields["vocab"]
	if !ok || vf.isNull() {
		return jsonSpec{}, fmt.Errorf("line %d: model has no vocab: %w", line, ErrInvalidVocab)
	}
	if vocab, ok := denseVocab(vf.raw); ok {
		s.vocab, s.modelSize = vocab, len(vocab)
		return s, nil
	}
	// Something is wrong: walk the entries one by one to say what and where.
	entries, err := vocabEntries(data, vf)
	if err != nil {
		return jsonSpec{}, err
	}
	n := len(entries)
	s.vocab = make([]string, n)
	// Offsets, turned into line numbers only for an error: counting lines
	// for every entry would be quadratic.
	tokenOff := make([]int, n) // offset of the token with each id, -1 = unused
	for i := range tokenOff {
		tokenOff[i] = -1
	}
	firstOff := make(map[string]int, n)
	lineAt := func(off int) int {
		line, _ := lineCol(data, off)
		return line
	}
	for _, e := range entries {
		tok := e.token
		if first, dup := firstOff[tok]; dup {
			return jsonSpec{}, fmt.Errorf("line %d: model.vocab: %w %q (first at line %d)", lineAt(e.keyOff), ErrDuplicateToken, tok, lineAt(first))
		}
		firstOff[tok] = e.keyOff
		num, _ := e.id.(json.Number)
		id, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || id < 0 || id >= int64(n) {
			return jsonSpec{}, fmt.Errorf("line %d: model.vocab: token %q has id %s, want an integer in 0..%d (ids must be dense): %w", lineAt(e.keyOff), tok, jsonText(e.id), n-1, ErrInvalidVocab)
		}
		if tokenOff[id] >= 0 {
			return jsonSpec{}, fmt.Errorf("line %d: model.vocab: token %q has id %d, already used by %q at line %d: %w", lineAt(e.keyOff), tok, id, s.vocab[id], lineAt(tokenOff[id]), ErrDuplicateToken)
		}
		s.vocab[id] = tok
		tokenOff[id] = e.keyOff
	}
	s.modelSize = n
	return s, nil
}

// denseVocab is the fast path for a well-formed model.vocab: it decodes the
// object into a map and returns the tokens in id order when the ids are
// exactly 0..n-1. A key repeated with different ids leaves a hole and fails
// here; one repeated with the same id is harmless and accepted.
func denseVocab(raw []byte) ([]string, bool) {
	var m map[string]int64
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, false
	}
	vocab := make([]string, len(m))
	filled := make([]bool, len(m))
	for tok, id := range m {
		if id < 0 || id >= int64(len(m)) || filled[id] {
			return nil, false
		}
		vocab[id], filled[id] = tok, true
	}
	return vocab, true
}

// parseNormalizer maps a BertNormalizer (or null) to Options.
func parseNormalizer(data []byte, f field) (Options, error) {
	if f.isNull() {
		return Options{NoCleanText: true}, nil
	}
	var n struct {
		Type               string `json:"type"`
		CleanText          *bool  `json:"clean_text"`
		HandleChineseChars *bool  `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          *bool  `json:"lowercase"`
	}
	if err := f.decodeAt(data, "normalizer", &n); err != nil {
		return Options{}, err
	}
	if n.Type != "BertNormalizer" {
		return Options{}, fmt.Errorf("line %d: normalizer type %q: only BertNormalizer (or null) is supported: %w", f.line(data), n.Type, ErrUnsupported)
	}
	orTrue := func(b *bool) bool { return b == nil || *b }
	return Options{
		Lowercase:            orTrue(n.Lowercase),
		StripAccents:         n.StripAccents,
		TokenizeChineseChars: orTrue(n.HandleChineseChars),
		NoCleanText:          !orTrue(n.CleanText),
	}, nil
}

// checkPreTokenizer accepts only the BertPreTokenizer.
func checkPreTokenizer(data []byte, f field) error {
	if f.isNull() {
		return fmt.Errorf("no pre_tokenizer: only BertPreTokenizer is supported: %w", ErrUnsupported)
	}
	var p struct {
		Type string `json:"type"`
	}
	if err := f.decodeAt(data, "pre_tokenizer", &p); err != nil {
		return err
	}
	if p.Type != "BertPreTokenizer" {
		return fmt.Errorf("line %d: pre_tokenizer type %q: only BertPreTokenizer is supported: %w", f.line(data), p.Type, ErrUnsupported)
	}
	return nil
}

// templatePiece is one element of a TemplateProcessing template.
type templatePiece struct {
	SpecialToken *struct {
		ID     string `json:"id"`
		TypeID int    `json:"type_id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID     string `json:"id"`
		TypeID int    `json:"type_id"`
	} `json:"Sequence"`
}

// special returns the token of a SpecialToken piece with the given type id.
func (p templatePiece) special(typeID int) (string, bool) {
	if p.SpecialToken == nil || p.Sequence != nil || p.SpecialToken.TypeID != typeID {
		return "", false
	}
	return p.SpecialToken.ID, true
}

// sequence reports whether p is the Sequence piece id with the given type id.
func (p templatePiece) sequence(id string, typeID int) bool {
	return p.Sequence != nil && p.SpecialToken == nil && p.Sequence.ID == id && p.Sequence.TypeID == typeID
}

// postProcessor is what the post-processor says about the special tokens.
type postProcessor struct {
	cls, sep string
	ids      map[string]int64 // the ids it gives them, when it does
	line     int
}

// parsePostProcessor returns the [CLS] and [SEP] tokens the post-processor
// names, and the ids it gives them; it accepts BERT's template only.
func parsePostProcessor(data []byte, f field) (postProcessor, error) {
	pp := postProcessor{cls: CLSToken, sep: SEPToken, ids: map[string]int64{}}
	if f.isNull() {
		return pp, nil
	}
	pp.line = f.line(data)
	var p struct {
		Type          string          `json:"type"`
		Single        []templatePiece `json:"single"`
		Pair          []templatePiece `json:"pair"`
		Cls           []any           `json:"cls"`
		Sep           []any           `json:"sep"`
		SpecialTokens map[string]struct {
			IDs []int64 `json:"ids"`
		} `json:"special_tokens"`
	}
	if err := f.decodeAt(data, "post_processor", &p); err != nil {
		return pp, err
	}
	switch p.Type {
	case "BertProcessing":
		var cok, sok bool
		pp.cls, cok = tokenAndID(p.Cls, pp.ids)
		pp.sep, sok = tokenAndID(p.Sep, pp.ids)
		if !cok || !sok {
			return pp, fmt.Errorf("line %d: post_processor BertProcessing needs cls and sep as [token, id]: %w", pp.line, ErrInvalidVocab)
		}
		return pp, nil
	case "TemplateProcessing":
		bad := fmt.Errorf(`line %d: post_processor template is not BERT's "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1": %w`, pp.line, ErrUnsupported)
		if len(p.Single) != 3 || !p.Single[1].sequence("A", 0) {
			return pp, bad
		}
		c, cok := p.Single[0].special(0)
		s, sok := p.Single[2].special(0)
		if !cok || !sok {
			return pp, bad
		}
		if p.Pair != nil {
			if len(p.Pair) != 5 || !p.Pair[1].sequence("A", 0) || !p.Pair[3].sequence("B", 1) {
				return pp, bad
			}
			pc, pcok := p.Pair[0].special(0)
			s1, ok1 := p.Pair[2].special(0)
			s2, ok2 := p.Pair[4].special(1)
			if !pcok || pc != c || !ok1 || !ok2 || s1 != s || s2 != s {
				return pp, bad
			}
		}
		pp.cls, pp.sep = c, s
		for _, name := range []string{c, s} {
			st, ok := p.SpecialTokens[name]
			if !ok {
				continue
			}
			if len(st.IDs) != 1 {
				return pp, fmt.Errorf("line %d: post_processor special token %q has %d ids, want 1: %w", pp.line, name, len(st.IDs), ErrUnsupported)
			}
			pp.ids[name] = st.IDs[0]
		}
		return pp, nil
	default:
		return pp, fmt.Errorf("line %d: post_processor type %q: only TemplateProcessing and BertProcessing in BERT's form are supported: %w", pp.line, p.Type, ErrUnsupported)
	}
}

// tokenAndID reads a BertProcessing ["[CLS]", 101] pair, recording the id.
func tokenAndID(v []any, ids map[string]int64) (string, bool) {
	if len(v) != 2 {
		return "", false
	}
	name, ok := v[0].(string)
	id, idOK := v[1].(float64)
	if !ok || !idOK || id != float64(int64(id)) {
		return "", false
	}
	ids[name] = int64(id)
	return name, true
}

// parseAddedTokens reads added_tokens into s.added, extending s.vocab with
// the ones past the model vocabulary.
func parseAddedTokens(data []byte, f field, s *spec) error {
	if f.isNull() {
		return nil
	}
	elems, err := arrayElems(data, f, "added_tokens")
	if err != nil {
		return err
	}
	type extra struct {
		id, line int
		content  string
	}
	var extras []extra
	modelID := make(map[string]int, len(s.vocab))
	for i, tok := range s.vocab {
		modelID[tok] = i
	}
	seen := make(map[string]int) // content -> line
	for _, e := range elems {
		var a struct {
			ID         *int64  `json:"id"`
			Content    *string `json:"content"`
			SingleWord bool    `json:"single_word"`
			LStrip     bool    `json:"lstrip"`
			RStrip     bool    `json:"rstrip"`
			Normalized bool    `json:"normalized"`
			Special    bool    `json:"special"`
		}
		if err := e.decodeAt(data, "added_tokens", &a); err != nil {
			return err
		}
		line := e.line(data)
		if a.ID == nil || a.Content == nil || *a.Content == "" {
			return fmt.Errorf("line %d: added token needs an id and a non-empty content: %w", line, ErrInvalidVocab)
		}
		content, id := *a.Content, *a.ID
		if first, dup := seen[content]; dup {
			return fmt.Errorf("line %d: added_tokens: %w %q (first at line %d)", line, ErrDuplicateToken, content, first)
		}
		seen[content] = line
		if mid, ok := modelID[content]; ok {
			if int64(mid) != id {
				return fmt.Errorf("line %d: added token %q has id %d but model.vocab gives it %d: %w", line, content, id, mid, ErrInvalidVocab)
			}
		} else {
			if id < int64(len(s.vocab)) || id > int64(len(s.vocab)+len(elems)) {
				return fmt.Errorf("line %d: added token %q has id %d: a token not in model.vocab needs an id from %d on: %w", line, content, id, len(s.vocab), ErrInvalidVocab)
			}
			extras = append(extras, extra{id: int(id), line: line, content: content})
		}
		s.added = append(s.added, addedToken{
			content:    content,
			id:         int32(id),
			special:    a.Special,
			normalized: a.Normalized,
			lstrip:     a.LStrip,
			rstrip:     a.RStrip,
			singleWord: a.SingleWord,
		})
	}
	slices.SortFunc(extras, func(a, b extra) int { return a.id - b.id })
	for _, e := range extras {
		if e.id != len(s.vocab) {
			return fmt.Errorf("line %d: added token %q has id %d, want %d (ids must be dense): %w", e.line, e.content, e.id, len(s.vocab), ErrInvalidVocab)
		}
		s.vocab = append(s.vocab, e.content)
	}
	return nil
}

// jsonText writes a decoded JSON scalar back as JSON, for error messages.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
