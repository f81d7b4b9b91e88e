// Package metricsserver serves a Prometheus registry on /metrics and nowhere
// else, through the Prometheus ecosystem's exporter-toolkit so that TLS and
// basic authentication are configured by the standard web configuration
// file (https://prometheus.io/docs/prometheus/latest/configuration/https/).
//
// The endpoint binds to loopback unless the configuration names a host: a
// bare port or ":port" means 127.0.0.1:port, so metrics are never exposed to
// the network by accident.
//
// Concurrency: Config is a plain value. Start may be called from any
// goroutine; the server it starts runs on its own goroutine until the
// context is cancelled or the returned stop function is called. stop is
// safe to call more than once and from several goroutines.
package metricsserver
