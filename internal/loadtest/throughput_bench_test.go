package loadtest_test

import "testing"

// BenchmarkThroughputToMailchimp measures sustained accessplanit → Mailchimp
// throughput of changed contacts with the Mailchimp simulator at L = 100 ms
// and its 10-connection cap: 1,000 distinct contacts per iteration. It
// reports changes/s, the ratio to 10 / L, 429s, and requests per change.
func BenchmarkThroughputToMailchimp(b *testing.B) {
	const n = 1000
	e := startStack(b, throughputConfig())
	var m throughput
	first := 0
	for b.Loop() {
		m = measureThroughput(b, e, first, n)
		first += n
	}
	b.ReportMetric(m.rate, "changes/s")
	b.ReportMetric(m.ratio(), "ratio-to-10/L")
	b.ReportMetric(float64(m.tooMany), "429s")
	b.ReportMetric(m.mailchimp, "mailchimp-req/change")
	b.ReportMetric(m.accessplanit, "accessplanit-req/change")
	b.ReportMetric(m.dynamoDB, "dynamodb-req/change")
	b.ReportMetric(m.sqs, "sqs-req/change")
}
