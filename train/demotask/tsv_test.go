package demotask

import (
	"bytes"
	"errors"
	"testing"
)

func TestWriteTSV(t *testing.T) {
	ex := []Example{
		{Text: "the plot is good", Label: 1},
		{Text: "although the plot is good , the cast is bad", Label: 0, Kind: KindConcession},
	}
	var buf bytes.Buffer
	if err := WriteTSV(&buf, ex); err != nil {
		t.Fatal(err)
	}
	want := "sentence\tlabel\nthe plot is good\t1\nalthough the plot is good , the cast is bad\t0\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}

	for _, tc := range []struct {
		name string
		ex   Example
	}{
		{"tab", Example{Text: "a\tb", Label: 1}},
		{"newline", Example{Text: "a\nb", Label: 1}},
		{"carriage return", Example{Text: "a\rb", Label: 1}},
		{"label", Example{Text: "a b", Label: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteTSV(&buf, []Example{ex[0], tc.ex})
			if !errors.Is(err, ErrInvalidExample) {
				t.Fatalf("err = %v, want ErrInvalidExample", err)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %q before failing", buf.String())
			}
		})
	}

	t.Run("write error", func(t *testing.T) {
		boom := errors.New("disk full")
		if err := WriteTSV(failWriter{boom}, ex); !errors.Is(err, boom) {
			t.Errorf("err = %v, want %v", err, boom)
		}
	})
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }
