package demotask

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteTSV writes ex in the GLUE (SST-2) layout: a header line
// "sentence\tlabel", then one "text\tlabel" line per example, each ending in
// "\n". It checks every example before writing anything: a text with a tab, a
// carriage return or a line feed, or a label other than 0 and 1, gives an
// error wrapping [ErrInvalidExample] and no output. Write errors are
// returned.
func WriteTSV(w io.Writer, ex []Example) error {
	for i, e := range ex {
		if strings.ContainsAny(e.Text, "\t\r\n") {
			return fmt.Errorf("demotask: write tsv: example %d: text has a tab or a line break: %w", i, ErrInvalidExample)
		}
		if e.Label != 0 && e.Label != 1 {
			return fmt.Errorf("demotask: write tsv: example %d: label %d is not 0 or 1: %w", i, e.Label, ErrInvalidExample)
		}
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("sentence\tlabel\n")
	for _, e := range ex {
		bw.WriteString(e.Text)
		bw.WriteByte('\t')
		bw.WriteString(strconv.Itoa(e.Label))
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("demotask: write tsv: %w", err)
	}
	return nil
}
