package demotask_test

import (
	"fmt"
	"os"

	"github.com/edgenas/edgenas/train/demotask"
)

func ExampleGenerate() {
	train, dev, err := demotask.Generate(demotask.Config{Seed: 1, Train: 1000, Dev: 200})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(train), len(dev))
	for _, e := range dev[:6] {
		fmt.Printf("%s\t%s\t%s\n", demotask.Labels()[e.Label], e.Kind, e.Text)
	}
	// Output:
	// 1000 200
	// positive	negation	i doubt that the cast is without warmth
	// positive	comparative	the acting of the sequel was less shallow than great
	// positive	comparative	the cast is less forgettable than beautiful
	// positive	negation	the direction was no longer extremely messy
	// positive	contrast	the performance is hardly solid ; however , the ending is engaging
	// negative	comparative	the screenplay was more dull than impressive
}

func ExampleLabel() {
	for _, s := range []string{
		"the plot is clever but the acting is dull",
		"the acting is dull but the plot is clever",
		"although the plot is clever , the acting is dull",
		"the plot is clever , although the acting is dull",
		"the film is not without charm",
	} {
		label, err := demotask.Label(s)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %s\n", demotask.Labels()[label], s)
	}
	// Output:
	// negative: the plot is clever but the acting is dull
	// positive: the acting is dull but the plot is clever
	// negative: although the plot is clever , the acting is dull
	// positive: the plot is clever , although the acting is dull
	// positive: the film is not without charm
}

func ExampleTrainBoW() {
	train, dev, err := demotask.Generate(demotask.Config{Seed: 1, Train: 4000, Dev: 1000})
	if err != nil {
		panic(err)
	}
	bow := demotask.TrainBoW(train, 0, 1)
	fmt.Printf("bag-of-words dev accuracy: %.2f\n", bow.Accuracy(dev))
	// Output:
	// bag-of-words dev accuracy: 0.56
}

func ExampleWriteTSV() {
	ex := []demotask.Example{{Text: "the plot is not clever", Label: 0}}
	if err := demotask.WriteTSV(os.Stdout, ex); err != nil {
		panic(err)
	}
	// Output:
	// sentence	label
	// the plot is not clever	0
}
