// Package searchbench is the exhaustive search benchmark: a ground-truth
// table holding every architecture of a small space evaluated once
// (accuracy at several numbers of examples, measured latency and size,
// and what each stage cost), an Evaluator that replays it, and the
// comparisons of search strategies and of multi-fidelity evaluation
// against the table's exhaustive Pareto front. scripts/searchbench is its
// command; scripts/bench.sh search runs it.
package searchbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/internal/jsonlog"
	"github.com/edgenas/edgenas/space"
)

// Level is a row's accuracy on the first Examples examples of the
// evaluator's shuffled order, and how long scoring them took.
type Level struct {
	Examples int           `json:"examples"`
	Accuracy float64       `json:"accuracy"`
	Score    time.Duration `json:"score_ns"`
}

// Row is one architecture evaluated once: one line of the table.
type Row struct {
	Key  string     `json:"key"`
	Arch space.Arch `json:"arch"`
	// Teacher marks the teacher's row (the reference point), which lies
	// outside the space.
	Teacher bool `json:"teacher,omitempty"`
	// Levels are the accuracies, by increasing Examples; the last is on
	// every example.
	Levels    []Level             `json:"levels"`
	Latency   devices.Measurement `json:"latency"`
	SizeBytes int64               `json:"size_bytes"`
	Params    int64               `json:"params"`
	FLOPs     int64               `json:"flops"`
	// Build and Measure are the wall times of building the student and
	// measuring its latency.
	Build   time.Duration `json:"build_ns"`
	Measure time.Duration `json:"measure_ns"`
}

// Level returns the row's level of n examples.
func (r *Row) Level(n int) (Level, bool) {
	i := slices.IndexFunc(r.Levels, func(l Level) bool { return l.Examples == n })
	if i < 0 {
		return Level{}, false
	}
	return r.Levels[i], true
}

// Full returns the row's accuracy on every example (its last level).
func (r *Row) Full() float64 { return r.Levels[len(r.Levels)-1].Accuracy }

// check says what is wrong with a row read from a table.
func (r *Row) check() error {
	a, err := space.ParseKey(r.Key)
	switch {
	case err != nil:
		return err
	case !a.Equal(r.Arch):
		return fmt.Errorf("arch does not match key %s", r.Key)
	case len(r.Levels) == 0:
		return errors.New("no accuracy levels")
	case r.Latency.Median <= 0 || r.SizeBytes <= 0:
		return fmt.Errorf("latency %v and size %d B must be positive", r.Latency.Median, r.SizeBytes)
	}
	for i, l := range r.Levels {
		if l.Examples < 1 || i > 0 && l.Examples <= r.Levels[i-1].Examples {
			return fmt.Errorf("levels[%d]: %d examples, want increasing positive counts", i, l.Examples)
		}
		if !(l.Accuracy >= 0 && l.Accuracy <= 1) {
			return fmt.Errorf("levels[%d]: accuracy %v outside [0, 1]", i, l.Accuracy)
		}
	}
	return nil
}

// Table is the ground truth: every row by key, and the teacher's.
type Table struct {
	// Rows are every row in file order, the teacher's included (it is
	// often an architecture of the space too).
	Rows    []*Row
	Teacher *Row
	byKey   map[string]*Row
}

// Get returns the row of key.
func (t *Table) Get(key string) (*Row, bool) {
	r, ok := t.byKey[key]
	return r, ok
}

func (t *Table) add(r *Row) error {
	if _, dup := t.byKey[r.Key]; dup || r.Teacher && t.Teacher != nil {
		return fmt.Errorf("%s listed twice", r.Key)
	}
	if r.Teacher {
		t.Teacher = r
	}
	t.Rows = append(t.Rows, r)
	t.byKey[r.Key] = r
	return nil
}

// ReadTable reads a table (JSON Lines, one Row each). A last line without
// its newline is the trace of an interrupted write and is ignored; any
// other bad line is an error naming the file and the line.
func ReadTable(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseTable(data, path)
}

func parseTable(data []byte, name string) (*Table, error) {
	t := &Table{byKey: map[string]*Row{}}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		data = data[:i+1] // an unfinished last line
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var r Row
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if err := t.add(&r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}

// Measurer evaluates one architecture for the table.
type Measurer func(ctx context.Context, a space.Arch) (*Row, error)

// Fill completes the table at path: it evaluates the teacher (teacher)
// and every architecture of sp with measure, skipping those already in
// the file, appending one line per row as it goes (so an interrupted
// fill resumes where it stopped), and returns the complete table.
// progress, when not nil, hears of each row written.
func Fill(ctx context.Context, path string, sp *space.Space, teacher space.Arch, measure Measurer, progress func(done, total int, r *Row)) (*Table, error) {
	data, f, err := jsonlog.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := parseTable(data, path)
	if err != nil {
		return nil, err
	}
	var todo []space.Arch
	if t.Teacher == nil {
		todo = append(todo, teacher)
	}
	total := 1
	sp.Enumerate(func(a space.Arch) bool {
		if a.Equal(teacher) {
			return true // measured as the teacher's row
		}
		total++
		if _, ok := t.byKey[a.Key()]; !ok {
			todo = append(todo, a)
		}
		return true
	})
	done := total - len(todo)
	for i, a := range todo {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r, err := measure(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.Key(), err)
		}
		r.Teacher = i == 0 && t.Teacher == nil
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("%s: %w", a.Key(), err)
		}
		line, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		if _, err := f.Write(append(line, '\n')); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if err := t.add(r); err != nil {
			return nil, err
		}
		done++
		if progress != nil {
			progress(done, total, r)
		}
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if t.Teacher == nil {
		return nil, fmt.Errorf("%s: no teacher row", path)
	}
	return t, nil
}

// write writes t as a table file (tests).
func (t *Table) write(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, r := range t.Rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
