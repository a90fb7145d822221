package local_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
)

// awsOutage carries the stack's DynamoDB, SQS and KMS requests and refuses
// the ones an outage covers, as a network that cannot reach the service
// would: the request never arrives and the SDK sees a connection error.
type awsOutage struct {
	next http.RoundTripper

	mu      sync.Mutex
	down    func(target, table string) bool
	refused map[string]int // by target, e.g. DynamoDB_20120810.GetItem
}

// errUnreachable is what a refused request fails with.
var errUnreachable = errors.New("injected outage: the AWS endpoint is unreachable")

func newAWSOutage() *awsOutage {
	return &awsOutage{next: http.DefaultTransport, refused: map[string]int{}}
}

// client returns an HTTP client for local.Config.AWSHTTPClient.
func (o *awsOutage) client() *http.Client { return &http.Client{Transport: o} }

// set starts an outage of the requests down reports; nil ends it.
func (o *awsOutage) set(down func(target, table string) bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.down = down
}

// refusedCount is how many requests whose target starts with prefix were refused.
func (o *awsOutage) refusedCount(prefix string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for k, v := range o.refused {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// RoundTrip refuses the request when the outage covers its target (the
// X-Amz-Target header, "DynamoDB_20120810.PutItem", "AmazonSQS.SendMessage")
// and table (read from the JSON body).
func (o *awsOutage) RoundTrip(r *http.Request) (*http.Response, error) {
	o.mu.Lock()
	down := o.down
	o.mu.Unlock()
	if down == nil {
		return o.next.RoundTrip(r)
	}
	target := r.Header.Get("X-Amz-Target")
	table := ""
	if r.Body != nil && strings.HasPrefix(target, "DynamoDB_") {
		b, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		table = tableOf(b)
	}
	if down(target, table) {
		o.mu.Lock()
		o.refused[target]++
		o.mu.Unlock()
		return nil, errUnreachable
	}
	return o.next.RoundTrip(r)
}

// tableOf finds the table a DynamoDB request names, without decoding the
// whole body: "TableName":"x", or the first key of "RequestItems".
func tableOf(body []byte) string {
	s := string(body)
	for _, key := range []string{`"TableName":"`, `"RequestItems":{"`} {
		if i := strings.Index(s, key); i >= 0 {
			rest := s[i+len(key):]
			if j := strings.IndexByte(rest, '"'); j >= 0 {
				return rest[:j]
			}
		}
	}
	return ""
}

// dynamoTables is an outage of the named DynamoDB tables.
func dynamoTables(tables ...string) func(target, table string) bool {
	return func(target, table string) bool {
		if !strings.HasPrefix(target, "DynamoDB_") {
			return false
		}
		for _, t := range tables {
			if t == table {
				return true
			}
		}
		return false
	}
}

// sqsSends is an outage of SQS for senders: receives still work.
func sqsSends(target, _ string) bool {
	return strings.HasPrefix(target, "AmazonSQS.SendMessage")
}
