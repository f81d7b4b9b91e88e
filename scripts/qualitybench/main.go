// Command qualitybench is the helper of `bash scripts/bench.sh quality`:
// it picks the front students worth distilling for the quality targets and
// prints the quality table of finished runs.
//
//	qualitybench select RUN_DIR         keys of the front members to distil
//	qualitybench table NAME=RUN_DIR...  the table; last line quality_sst2_size_x X speed_x Y
//
// Every number comes from the runs' saved fronts (pipeline.LoadFront): the
// teacher's and every student's accuracy on all dev examples, the students'
// latency medians measured in the same run as the teacher's, and the bytes
// of the saved students.
package main

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/reports"
)

// Targets of the issue: a student ≥ 20× smaller and ≥ 5× faster within
// 1 % relative accuracy, and one ≥ 10× faster within 2 %.
const (
	sizeTarget, speedTarget, lossTarget = 20.0, 5.0, 0.01
	fastTarget, fastLoss                = 10.0, 0.02
	// demoTarget is the demo's: ≥ 5× faster and ≥ 5× smaller within 1 %.
	demoTarget = 5.0
	// perGroup is how many of the most accurate candidates of each target
	// group are distilled.
	perGroup = 2
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: qualitybench select RUN_DIR | qualitybench table NAME=RUN_DIR...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "select":
		err = selectKeys(os.Args[2])
	case "table":
		err = table(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "qualitybench:", err)
		os.Exit(1)
	}
}

// selectKeys prints the keys of the evaluated candidates (front or not)
// whose measured speed and size could meet a target (the size target with
// the speed target, the fast target, or the demo's), the perGroup most
// accurate (on the search's subsample) of each group.
func selectKeys(runDir string) error {
	f, err := pipeline.LoadFront(runDir)
	if err != nil {
		return err
	}
	teacherAt := func(seq int) *evaluator.Result {
		for i := range f.Teachers {
			if f.Teachers[i].Arch.SeqLen == seq {
				return &f.Teachers[i]
			}
		}
		return nil
	}
	type cand struct {
		key               string
		acc, speed, small float64
	}
	var all []cand
	for _, c := range f.All {
		t := teacherAt(c.Result.Arch.SeqLen)
		if t == nil || !c.Feasible || c.Result.Latency.Median <= 0 || c.Result.SizeBytes <= 0 {
			continue
		}
		all = append(all, cand{c.Key, c.Result.Accuracy, float64(t.Latency.Median) / float64(c.Result.Latency.Median),
			float64(t.SizeBytes) / float64(c.Result.SizeBytes)})
	}
	slices.SortStableFunc(all, func(a, b cand) int { return cmp.Compare(b.acc, a.acc) })
	var keys []string
	for _, ok := range []func(cand) bool{
		func(c cand) bool { return c.small >= sizeTarget && c.speed >= speedTarget },
		func(c cand) bool { return c.speed >= fastTarget },
		func(c cand) bool { return c.small >= demoTarget && c.speed >= demoTarget },
	} {
		n := 0
		for _, c := range all {
			if n < perGroup && ok(c) {
				n++
				if !slices.Contains(keys, c.key) {
					keys = append(keys, c.key)
				}
			}
		}
	}
	if len(keys) == 0 {
		return fmt.Errorf("%s: no evaluated candidate is %.0f× smaller and %.0f× faster, %.0f× faster, or %.0f× smaller and faster than the teacher: nothing to distil for the targets", runDir, sizeTarget, speedTarget, fastTarget, demoTarget)
	}
	fmt.Println(strings.Join(keys, ","))
	return nil
}

// best is the candidate of rows that meets a speed and size bound within
// a relative accuracy loss, the smallest first (then the fastest); ok is
// false when none does.
func best(rows []reports.Row, minSpeed, minSize, maxLoss float64) (reports.Row, bool) {
	var c []reports.Row
	for _, r := range rows {
		if !r.Teacher && r.SpeedUp >= minSpeed && r.SizeReduction >= minSize && -r.AccuracyChange <= maxLoss {
			c = append(c, r)
		}
	}
	if len(c) == 0 {
		return reports.Row{}, false
	}
	slices.SortStableFunc(c, func(a, b reports.Row) int {
		return cmp.Or(cmp.Compare(b.SizeReduction, a.SizeReduction), cmp.Compare(b.SpeedUp, a.SpeedUp))
	})
	return c[0], true
}

// table prints, for each NAME=RUN_DIR, the teacher and the best student
// for each target before and after distillation, and ends with the
// SST-2 line.
func table(args []string) error {
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "task\tstudents\ttarget\taccuracy\tvs teacher\tspeed-up\tsmaller\tsize MB\tarchitecture")
	last := "quality_sst2_size_x 0 speed_x 0"
	for _, a := range args {
		name, dir, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("%q: want NAME=RUN_DIR", a)
		}
		f, err := pipeline.LoadFront(dir)
		if err != nil {
			return err
		}
		front, distilled := reports.FrontTable(f), reports.DistilledTable(f)
		if len(front.Rows) == 0 || !front.Rows[0].Teacher {
			return fmt.Errorf("%s: the front has no teacher row (was the search finished?)", dir)
		}
		t := front.Rows[0]
		fmt.Fprintf(tw, "%s\tteacher\t\t%.4f\t\t1.0×\t1.0×\t%.3f\t%s\n", name, t.Accuracy, float64(t.SizeBytes)/1e6, t.Architecture)
		for _, s := range []struct {
			what  string
			table reports.Table
		}{{"compressed", front}, {"distilled", distilled}} {
			for _, g := range []struct {
				what              string
				speed, size, loss float64
			}{{fmt.Sprintf("≥%.0f× smaller, ≥%.0f× faster, ≤%.0f%% loss", sizeTarget, speedTarget, 100*lossTarget), speedTarget, sizeTarget, lossTarget},
				{fmt.Sprintf("≥%.0f× faster, ≤%.0f%% loss", fastTarget, 100*fastLoss), fastTarget, 0, fastLoss},
				{fmt.Sprintf("≥%.0f× smaller, ≥%.0f× faster, ≤%.0f%% loss (the demo's target)", demoTarget, demoTarget, 100*lossTarget), demoTarget, demoTarget, lossTarget},
				{fmt.Sprintf("≤%.0f%% loss, smallest", 100*lossTarget), 0, 0, lossTarget}} {
				r, ok := best(s.table.Rows, g.speed, g.size, g.loss)
				if !ok {
					fmt.Fprintf(tw, "%s\t%s\t%s\tnone\t\t\t\t\t\n", name, s.what, g.what)
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%.4f\t%+.2f%%\t%.1f×\t%.1f×\t%.3f\t%s\n", name, s.what, g.what, r.Accuracy,
					100*r.AccuracyChange, r.SpeedUp, r.SizeReduction, float64(r.SizeBytes)/1e6, r.Architecture)
			}
		}
		if name == "sst2" {
			if r, ok := best(distilled.Rows, 0, 0, lossTarget); ok {
				last = fmt.Sprintf("quality_sst2_size_x %.1f speed_x %.1f", r.SizeReduction, r.SpeedUp)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Println(last)
	return nil
}
