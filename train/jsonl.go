package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/edgenas/edgenas/internal/limitio"
)

// jsonlRow is one line of a JSONL data file.
type jsonlRow struct {
	Text  *string `json:"text"`
	Pair  *string `json:"text_pair,omitempty"`
	Label *int    `json:"label,omitempty"`
}

// ReadJSONL reads a JSON Lines data file: one object per non-blank line
// with "text", an optional "text_pair" and a "label" (an integer in [0,
// numLabels); optional, and ignored, when numLabels is 0: the examples are
// then Unlabelled). Unknown keys are errors. Errors name the file and the
// 1-based line and wrap [ErrData].
func ReadJSONL(path string, numLabels int) ([]Example, error) {
	return readFile(path, numLabels, ParseJSONL)
}

// ParseJSONL reads JSONL data as [ReadJSONL] does from r; name is the file
// name used in errors.
func ParseJSONL(r io.Reader, name string, numLabels int) ([]Example, error) {
	bad, sc, err := lineScanner(r, name, numLabels)
	if err != nil {
		return nil, err
	}
	var out []Example
	line := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var row jsonlRow
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&row); err != nil {
			return nil, bad(line, "%v", err)
		}
		if dec.More() {
			return nil, bad(line, "more than one JSON value on the line")
		}
		if row.Text == nil || strings.TrimSpace(*row.Text) == "" {
			return nil, bad(line, "want a non-empty \"text\"")
		}
		ex := Example{Text: strings.TrimSpace(*row.Text), Label: Unlabelled}
		if row.Pair != nil {
			ex.Pair = strings.TrimSpace(*row.Pair)
		}
		if numLabels > 0 {
			if row.Label == nil || *row.Label < 0 || *row.Label >= numLabels {
				got := "none"
				if row.Label != nil {
					got = fmt.Sprint(*row.Label)
				}
				return nil, bad(line, "label %s: want an integer in [0, %d)", got, numLabels)
			}
			ex.Label = *row.Label
		}
		out = append(out, ex)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, bad(line+1, "line is longer than the %s limit", limitio.Size(limitio.LineLimit))
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// WriteJSONL writes examples to w in the layout [ReadJSONL] reads: one
// object per line with "text", "text_pair" when the example has one, and
// "label" unless it is [Unlabelled].
func WriteJSONL(w io.Writer, examples []Example) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i, e := range examples {
		row := jsonlRow{Text: &e.Text}
		if e.Pair != "" {
			row.Pair = &e.Pair
		}
		if e.Label != Unlabelled {
			row.Label = &e.Label
		}
		if err := enc.Encode(row); err != nil {
			return fmt.Errorf("example %d: %w", i+1, err)
		}
	}
	return nil
}

// ReadExamples reads a data file by its extension: .jsonl (ReadJSONL) or
// .tsv (ReadTSV).
func ReadExamples(path string, numLabels int) ([]Example, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl":
		return ReadJSONL(path, numLabels)
	case ".tsv":
		return ReadTSV(path, numLabels)
	}
	return nil, fmt.Errorf("%s: unknown data format: want a .tsv or .jsonl file: %w", path, ErrData)
}
