package reports

import (
	"bytes"
	_ "embed"
	"fmt"
	"path"
	"slices"
	"strings"
	"text/template"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/train"
	"github.com/edgenas/edgenas/transformer/onnx"
)

//go:embed templates/modelcard.md.tmpl
var modelCardText string

var modelCardTemplate = template.Must(template.New("modelcard").Funcs(template.FuncMap{
	"pct": func(v float64) string { return fmt.Sprintf("%+.1f%%", 100*v) },
	"mb":  func(n int64) string { return fmt.Sprintf("%.3f", float64(n)/1e6) },
	"mib": func(n int64) string { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) },
}).Parse(modelCardText))

// ModelCard renders the model card (README.md) of an exported student
// whose directory is called name: its architecture in words, how it was
// made and from which teacher, its numbers against the teacher, and how
// to load it with edgenas and with ONNX Runtime, and the edgenas eval
// command that reproduces its accuracy on m.DevFile.
func ModelCard(m Measurements, name string) ([]byte, error) {
	var b bytes.Buffer
	dev, written := m.DevFile, m.DevFile == DevFile
	if written {
		dev = path.Join(name, DevFile)
	}
	err := modelCardTemplate.Execute(&b, struct {
		Name      string
		M         Measurements
		ONNX      ONNXInfo
		Scratch   bool
		HasLogits bool
		DevData   string
		Written   bool
		Agreement bool
	}{name, m, m.ONNX, strings.HasPrefix(m.Teacher.Provenance, train.Provenance), slices.Contains(m.ONNX.Outputs, onnx.Logits),
		dev, written, m.Scoring.Metric == string(evaluator.MetricAgreement)})
	if err != nil {
		return nil, fmt.Errorf("model card: %w", err)
	}
	return b.Bytes(), nil
}
