package compress

import (
	"encoding/json"
	"fmt"

	"github.com/edgenas/edgenas/internal/atomicfile"
	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/transformer"
)

// Importance holds how much each head, FFN neuron and layer of a teacher
// matters on calibration data (Michel et al., 2019: accumulated |∂L/∂g| of
// a gate g multiplying the unit's output). It is computed once per (teacher,
// data) and reused by every student.
type Importance struct {
	// Heads[l][h] is head h of teacher layer l's score.
	Heads [][]float64 `json:"heads"`
	// Neurons[l][n] is FFN neuron n of teacher layer l's score.
	Neurons [][]float64 `json:"neurons"`
	// Layers[l] is teacher layer l's score.
	Layers []float64 `json:"layers"`
	// Examples is how many calibration examples were used.
	Examples int `json:"examples"`
	// Teacher and Data are digests of what the scores were computed from.
	Teacher string `json:"teacher"`
	Data    string `json:"data"`
}

// check reports whether imp has the shape of teacher t.
func (imp *Importance) check(t *transformer.Model) error {
	if len(imp.Heads) != len(t.Layers) || len(imp.Neurons) != len(t.Layers) || len(imp.Layers) != len(t.Layers) {
		return fmt.Errorf("importance: scores for %d/%d/%d layers, the teacher has %d", len(imp.Heads), len(imp.Neurons), len(imp.Layers), len(t.Layers))
	}
	for l := range t.Layers {
		if len(imp.Heads[l]) != t.Layers[l].Heads || len(imp.Neurons[l]) != t.Layers[l].FFN {
			return fmt.Errorf("importance: layer %d has %d head and %d neuron scores, the teacher %d heads and %d neurons",
				l, len(imp.Heads[l]), len(imp.Neurons[l]), t.Layers[l].Heads, t.Layers[l].FFN)
		}
	}
	return nil
}

// Save writes imp as JSON to path atomically.
func (imp *Importance) Save(path string) error {
	data, err := json.MarshalIndent(imp, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, data)
}

// LoadImportance reads scores written by Save and checks them against t.
func LoadImportance(path string, t *transformer.Model) (*Importance, error) {
	data, err := limitio.ReadFile(path, limitio.VocabLimit, "an importance score file")
	if err != nil {
		return nil, err
	}
	var imp Importance
	if err := json.Unmarshal(data, &imp); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := imp.check(t); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &imp, nil
}
