// Package reports turns a run's results into what people take home: the
// front as a table (FrontTable: the teacher as the reference row, each
// candidate's architecture in words, speed-up, size reduction, relative
// accuracy change, latency ties) written for a terminal, as JSON and as
// CSV; the HTML report with its plots; and exported models.
//
// It reads what package pipeline saves (pipeline.Front) and never the
// search's internals. Tables are values: safe to share once built.
package reports
