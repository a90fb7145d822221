// Package loadtest measures the service under load: a paced, bounded load
// generator for webhook deliveries, whole-User accessplanit deliveries for
// distinct contacts, and a counter of AWS requests by service. Its tests and
// benchmarks run the local stack (internal/local) with the simulators and
// report throughput against Mailchimp's connection limit, webhook-to-write
// latency, and requests per change; BENCHMARKS.md records the figures.
package loadtest
