package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/reports"
	"github.com/edgenas/edgenas/train"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// evalResult is what edgenas eval prints with --json.
type evalResult struct {
	Model    string  `json:"model"`
	Data     string  `json:"data"`
	Metric   string  `json:"metric"`
	Accuracy float64 `json:"accuracy"`
	Examples int     `json:"examples"`
	MaxLen   int     `json:"max_len"`
	Threads  int     `json:"threads"`
}

// runEval scores a model directory on a labelled data file exactly as the
// evaluator scores students (evaluator.ScoreModel), with the scoring
// settings of the directory's measurements.json unless flags say others.
func runEval(args []string, stdout, stderr io.Writer) error {
	fls := newFlags("eval", stderr)
	dir := fls.String("model", "", "model directory (required), e.g. one edgenas export wrote")
	data := fls.String("data", "", "labelled data, .tsv or .jsonl (required)")
	maxLen := fls.Int("max-len", 128, "truncate examples to this many tokens (default: measurements.json's, else 128)")
	metric := fls.String("metric", "accuracy", "accuracy, f1 or mcc (default: measurements.json's, else accuracy)")
	threads := fls.Int("threads", 1, "threads of the forward passes (default: measurements.json's, else 1)")
	asJSON := fls.Bool("json", false, "print the result as JSON")
	if err := parse(fls, args); err != nil {
		return err
	}
	if *dir == "" || *data == "" || fls.NArg() > 0 {
		return fmt.Errorf("%w: edgenas eval --model DIR --data FILE [--max-len N] [--metric accuracy|f1|mcc] [--json]", errUsage)
	}
	path := filepath.Join(*dir, reports.MeasurementsFile)
	raw, err := limitio.ReadFile(path, limitio.ConfigLimit, "measurements file")
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		var m reports.Measurements
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if !flagSet(fls, "max-len") && m.Scoring.MaxLen > 0 {
			*maxLen = m.Scoring.MaxLen
		}
		if !flagSet(fls, "threads") && m.Scoring.Threads > 0 {
			*threads = m.Scoring.Threads
		}
		if !flagSet(fls, "metric") && m.Scoring.Metric != "" && m.Scoring.Metric != string(evaluator.MetricAgreement) {
			*metric = m.Scoring.Metric
		}
	}
	cfg := evaluator.Config{Metric: evaluator.Metric(*metric), MaxLen: *maxLen, Threads: *threads}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	m, err := transformer.Load(*dir)
	if err != nil {
		return err
	}
	tok, err := tokenizer.Load(*dir)
	if err != nil {
		return err
	}
	if err := m.Config.CheckTokenizer(tok.VocabSize()); err != nil {
		return fmt.Errorf("%s: %w", *dir, err)
	}
	if m.Classifier == nil {
		return fmt.Errorf("%s: the model has no classification head: nothing to score", *dir)
	}
	if err := flagRange("max-len", *maxLen, 2, m.Config.MaxPositionEmbeddings); err != nil {
		return fmt.Errorf("%w (the model's max_position_embeddings)", err)
	}
	ex, err := train.ReadExamples(*data, m.Classifier.Out)
	if err != nil {
		return err
	}
	r, err := evaluator.ScoreModel(m, tok, ex, cfg)
	if err != nil {
		return fmt.Errorf("%s on %s: %w", *dir, *data, err)
	}
	res := evalResult{Model: *dir, Data: *data, Metric: r.Metric, Accuracy: r.Accuracy, Examples: r.Examples, MaxLen: *maxLen, Threads: *threads}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(stdout, "%s: %s %.4f on %d examples of %s (max %d tokens)\n", *dir, res.Metric, res.Accuracy, res.Examples, *data, *maxLen)
	return nil
}
