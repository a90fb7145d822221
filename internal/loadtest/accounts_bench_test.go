package loadtest_test

import (
	"fmt"
	"net/http"
	"testing"
)

// BenchmarkManyAccountsToMailchimp measures 20 instances on 5 Mailchimp
// accounts (four audiences each), the simulator at L = 100 ms with its
// 10-connection cap per account: 2,000 changed contacts, the instances'
// webhooks interleaved so that each batch mixes instances. Each account
// allows 10 / L single writes a second, so the deployment's limit is
// accounts × 10 / L. It reports the rate's ratio to that limit and 429s.
func BenchmarkManyAccountsToMailchimp(b *testing.B) {
	const instances, accounts, perInstance = 20, 5, 100
	const n = instances * perInstance
	e := startStack(b, burstConfig())
	var ins []instance
	for i := range instances {
		a := i % accounts
		ins = append(ins, e.addInstance(b, fmt.Sprintf("tenant%02d", i), fmt.Sprintf("%032x-us21", a+1), fmt.Sprintf("account-%d", a)))
	}
	var m throughput
	first := 0
	for b.Loop() {
		m = measure(b, e, n, func(i int) (*http.Request, error) { return e.deliveryTo(ins[i%instances].webhook, first+i) }, nil)
		first += n
	}
	b.ReportMetric(m.rate, "changes/s")
	b.ReportMetric(m.rate/(accounts*physicalLimit), "ratio-to-accounts*10/L")
	b.ReportMetric(float64(m.tooMany), "429s")
	b.ReportMetric(float64(e.stack.Mailchimp.Stats().PeakInFlight), "peak-in-flight-per-account")
	b.ReportMetric(m.mailchimp, "mailchimp-req/change")
	b.ReportMetric(m.dynamoDB, "dynamodb-req/change")
}
