package search

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/edgenas/edgenas/evaluator"
)

// ErrBadResult marks a Result the reward cannot judge (a non-positive
// latency or size where the reward needs it, a non-finite accuracy).
var ErrBadResult = errors.New("unusable evaluation result")

// Score is the reward's judgement of one Result.
type Score struct {
	// Reward is the scalar the single-objective strategies maximize:
	// accuracy × latency term × size term when feasible, minus the summed
	// relative violations when not.
	Reward float64 `json:"reward"`
	// Feasible is false when a hard constraint is broken.
	Feasible bool `json:"feasible"`
	// Violations names each broken hard constraint.
	Violations []string `json:"violations,omitempty"`
}

// Score judges r. The targets of every objective not off must be set
// (Run sets them from the reference or the teacher); c is used after
// defaults.
func (c RewardConfig) Score(r evaluator.Result) (Score, error) {
	c.Latency = c.Latency.withDefaults()
	c.Size = c.Size.withDefaults()
	lat, size := r.Latency.Median, r.SizeBytes
	if math.IsNaN(r.Accuracy) || math.IsInf(r.Accuracy, 0) {
		return Score{}, fmt.Errorf("%w: %s: accuracy %v", ErrBadResult, r.Key, r.Accuracy)
	}
	reward := r.Accuracy
	term := func(name string, o Objective, v, target float64) error {
		if o.Mode == ModeOff {
			return nil
		}
		if target <= 0 {
			return fmt.Errorf("reward: %s target not set (configure reward.target_%s or a reference)", name, name)
		}
		if v <= 0 {
			return fmt.Errorf("%w: %s: %s %v, want > 0", ErrBadResult, r.Key, name, v)
		}
		below, above := o.exponents()
		w := below
		if v > target {
			w = above
		}
		reward *= math.Pow(v/target, w)
		return nil
	}
	if err := term("latency", c.Latency, float64(lat), float64(c.TargetLatency)); err != nil {
		return Score{}, err
	}
	if err := term("size", c.Size, float64(size), float64(c.TargetSizeBytes)); err != nil {
		return Score{}, err
	}
	var s Score
	var violation float64
	if c.MaxLatency > 0 && lat > c.MaxLatency {
		violation += float64(lat-c.MaxLatency) / float64(c.MaxLatency)
		s.Violations = append(s.Violations, fmt.Sprintf("latency %v > max %v", lat.Round(time.Microsecond), c.MaxLatency))
	}
	if c.MaxSizeBytes > 0 && size > c.MaxSizeBytes {
		violation += float64(size-c.MaxSizeBytes) / float64(c.MaxSizeBytes)
		s.Violations = append(s.Violations, fmt.Sprintf("size %d B > max %d B", size, c.MaxSizeBytes))
	}
	if c.MinAccuracy > 0 && r.Accuracy < c.MinAccuracy {
		violation += (c.MinAccuracy - r.Accuracy) / c.MinAccuracy
		s.Violations = append(s.Violations, fmt.Sprintf("accuracy %.4g < min %.4g", r.Accuracy, c.MinAccuracy))
	}
	if len(s.Violations) > 0 {
		// Every violation above is strictly positive, so an infeasible
		// reward is strictly below every feasible one (which is ≥ 0 for a
		// non-negative accuracy).
		s.Reward = -violation
		return s, nil
	}
	s.Feasible = true
	s.Reward = reward
	return s, nil
}
