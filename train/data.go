package train

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/train/demotask"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// Example is one text (or text pair) of a classification task.
type Example struct {
	Text  string // the sentence, without surrounding white space
	Pair  string // second text of a pair task (GLUE sentence2); "" for single texts
	Label int    // in [0, number of labels), or Unlabelled
}

// Unlabelled is the Label of an example that has none (evaluation data
// scored by agreement with the teacher).
const Unlabelled = -1

// ErrData is wrapped by every error about the content of a data file.
var ErrData = errors.New("invalid data")

// ReadTSV reads a GLUE-style TSV file: a header line naming the columns,
// with a text column called "sentence" (as GLUE writes it), "text" or
// "sentence1" (then "sentence2" is the pair's second text, as in MRPC or
// RTE), and a column called "label"; then one example per line with the
// same number of tab-separated columns. Labels are integers in [0,
// numLabels). With numLabels 0 the label column is optional and ignored:
// every example is Unlabelled. Text has surrounding white space removed.
// Errors name the file and the 1-based line and wrap [ErrData].
func ReadTSV(path string, numLabels int) ([]Example, error) {
	return readFile(path, numLabels, ParseTSV)
}

// readFile opens path and parses it with parse.
func readFile(path string, numLabels int, parse func(io.Reader, string, int) ([]Example, error)) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parse(f, path, numLabels)
}

// lineScanner returns the error builder and line scanner every data
// parser uses: errors carry "name:line:" and wrap ErrData.
func lineScanner(r io.Reader, name string, numLabels int) (func(line int, format string, a ...any) error, *bufio.Scanner, error) {
	bad := func(line int, format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s: %w", name, line, fmt.Sprintf(format, a...), ErrData)
	}
	if numLabels < 0 {
		return nil, nil, fmt.Errorf("%s: %d labels: want at least 0: %w", name, numLabels, ErrData)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), limitio.LineLimit)
	return bad, sc, nil
}

// ParseTSV reads TSV data as [ReadTSV] does from r; name is the file name
// used in errors.
func ParseTSV(r io.Reader, name string, numLabels int) ([]Example, error) {
	bad, sc, err := lineScanner(r, name, numLabels)
	if err != nil {
		return nil, err
	}
	line := 0
	textCol, pairCol, labelCol, cols := -1, -1, -1, 0
	var out []Example
	for sc.Scan() {
		line++
		row := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		fields := strings.Split(string(row), "\t")
		if line == 1 {
			cols = len(fields)
			for i, f := range fields {
				switch strings.TrimSpace(f) {
				case "sentence", "text", "sentence1":
					if textCol < 0 {
						textCol = i
					}
				case "sentence2":
					if pairCol < 0 {
						pairCol = i
					}
				case "label":
					if labelCol < 0 {
						labelCol = i
					}
				}
			}
			if textCol < 0 || (labelCol < 0 && numLabels > 0) {
				return nil, bad(line, "header %q: want a \"sentence\" (or \"text\", \"sentence1\") column and a \"label\" column", abbreviateText(string(row)))
			}
			continue
		}
		if len(fields) != cols {
			return nil, bad(line, "%d tab-separated columns, want %d as in the header", len(fields), cols)
		}
		text := strings.TrimSpace(fields[textCol])
		if text == "" {
			return nil, bad(line, "empty text in column %d", textCol+1)
		}
		ex := Example{Text: text, Label: Unlabelled}
		if pairCol >= 0 {
			ex.Pair = strings.TrimSpace(fields[pairCol])
		}
		if numLabels > 0 {
			ls := strings.TrimSpace(fields[labelCol])
			label, err := strconv.Atoi(ls)
			if err != nil || label < 0 || label >= numLabels {
				return nil, bad(line, "label %q: want an integer in [0, %d)", abbreviateText(ls), numLabels)
			}
			ex.Label = label
		}
		out = append(out, ex)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, bad(line+1, "line is longer than the %s limit", limitio.Size(limitio.LineLimit))
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if line == 0 {
		return nil, bad(1, "empty file: want a header line")
	}
	return out, nil
}

// abbreviateText shortens s for an error message.
func abbreviateText(s string) string {
	const n = 60
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// DemoExamples generates the demo task's splits (see package demotask) as
// training examples.
func DemoExamples(cfg demotask.Config) (train, dev []Example, err error) {
	tr, dv, err := demotask.Generate(cfg)
	if err != nil {
		return nil, nil, err
	}
	conv := func(ex []demotask.Example) []Example {
		out := make([]Example, len(ex))
		for i, e := range ex {
			out[i] = Example{Text: e.Text, Label: e.Label}
		}
		return out
	}
	return conv(tr), conv(dv), nil
}

// DemoVocab returns the vocabulary of the demo task: the special tokens
// [PAD], [UNK], [CLS], [SEP] and [MASK] (ids 0 to 4), then every word of
// demotask.Lexicon, so each demo word is one token.
func DemoVocab() []string {
	return append([]string{tokenizer.PADToken, tokenizer.UNKToken, tokenizer.CLSToken,
		tokenizer.SEPToken, tokenizer.MASKToken}, demotask.Lexicon()...)
}

// Batch is one training or evaluation batch: the padded token ids and the
// labels of its rows.
type Batch struct {
	Tokens tokenizer.Batch // padded ids, type ids and mask
	Labels []int           // one per row
}

// Dataset is a tokenized set of examples, ready to be cut into batches.
type Dataset struct {
	encs   []tokenizer.Encoding
	labels []int
	pad    int32
}

// NewDataset tokenizes ex with tok, truncating each to maxLen tokens
// ([CLS] and [SEP] included).
func NewDataset(tok *tokenizer.Tokenizer, ex []Example, maxLen int) *Dataset {
	d := &Dataset{encs: make([]tokenizer.Encoding, len(ex)), labels: make([]int, len(ex)), pad: tok.PadID()}
	for i, e := range ex {
		d.encs[i] = tok.Encode(e.Text, e.Pair, maxLen)
		d.labels[i] = e.Label
	}
	return d
}

// Len returns the number of examples.
func (d *Dataset) Len() int { return len(d.encs) }

// Tokens returns the number of tokens of example i, special tokens included.
func (d *Dataset) Tokens(i int) int { return len(d.encs[i].IDs) }

// Batch builds the batch of the examples idx, padded to the longest.
func (d *Dataset) Batch(idx []int) *Batch {
	encs := make([]tokenizer.Encoding, len(idx))
	labels := make([]int, len(idx))
	for k, i := range idx {
		encs[k] = d.encs[i]
		labels[k] = d.labels[i]
	}
	return &Batch{Tokens: tokenizer.NewBatch(encs, d.pad), Labels: labels}
}

// bucketChunk is how many batches' worth of examples Plan sorts by length
// together.
const bucketChunk = 50

// Plan returns one epoch's batches as lists of example indices: the examples
// are shuffled, cut into chunks of 50 batches, sorted by token length within
// each chunk (so a batch pads little), cut into batches of batchSize (the
// last may be smaller), and the batches are shuffled. Everything is drawn
// from rng, so the same rng state gives the same plan.
func (d *Dataset) Plan(rng *rand.Rand, batchSize int) [][]int {
	batchSize = max(1, batchSize)
	order := rng.Perm(len(d.encs))
	chunk := batchSize * bucketChunk
	for lo := 0; lo < len(order); lo += chunk {
		part := order[lo:min(lo+chunk, len(order))]
		slices.SortStableFunc(part, func(a, b int) int { return len(d.encs[a].IDs) - len(d.encs[b].IDs) })
	}
	var batches [][]int
	for lo := 0; lo < len(order); lo += batchSize {
		batches = append(batches, order[lo:min(lo+batchSize, len(order))])
	}
	rng.Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })
	return batches
}

// evalBatches cuts the dataset into batches of up to size examples in
// order of token length, for evaluation (order does not matter there, and
// similar lengths pad little).
func (d *Dataset) evalBatches(size int) [][]int {
	order := make([]int, len(d.encs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(d.encs[a].IDs) - len(d.encs[b].IDs) })
	var batches [][]int
	for lo := 0; lo < len(order); lo += size {
		batches = append(batches, order[lo:min(lo+size, len(order))])
	}
	return batches
}
