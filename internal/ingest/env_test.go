package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/awstest"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/ingest"
	"github.com/apmc-sync/apmc/internal/queue"
)

// The instances every test environment holds.
const (
	plainID  = "plain"  // no signing secret
	signedID = "signed" // with a Mailchimp signing secret
	pausedID = "paused" // paused, no signing secret
)

// env is one kumo server with tables, a KMS key and three instances.
type env struct {
	aws       *awstest.Env
	sqs       *sqs.Client
	instances *dynamo.InstanceStore
	// byID holds each instance as created, secrets included.
	byID map[string]apmc.Instance
}

// newEnv starts kumo and creates the tables, a key and the instances.
func newEnv(t *testing.T) *env {
	t.Helper()
	svc := awstest.Kumo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := &env{aws: svc, sqs: svc.SQS, byID: map[string]apmc.Instance{}}
	e.instances = svc.Instances(t, svc.Tables(t, "ingest"))
	for _, id := range []string{plainID, signedID, pausedID} {
		in := validInstance(id)
		if id == signedID {
			in.Secrets.MailchimpSigningSecret = "signing-secret-" + id + "-5d1f"
		}
		if id == pausedID {
			in.State = apmc.StatePaused
		}
		if err := e.instances.Create(ctx, in); err != nil {
			t.Fatalf("Create(%s) error = %v", id, err)
		}
		e.byID[id] = in
	}
	return e
}

// validInstance is an instance like the local stack's demo one, with
// secret values unique enough to be searched for.
func validInstance(id string) apmc.Instance {
	return apmc.Instance{
		ID: id, Name: "Instance " + id, State: apmc.StateEnabled, Direction: apmc.DirectionBoth, StatusIfNew: "subscribed",
		MailchimpListID: "list-" + id, AccessplanitBaseURL: "http://127.0.0.1:9/api/v2", DefaultCompanyID: "3",
		Mappings: append(apmc.DefaultMappings(), apmc.FieldMapping{MergeTag: "PHONE", Field: "Phone", Type: apmc.TypePhone}),
		Secrets: apmc.Secrets{
			MailchimpAPIKey:    "mc-api-key-" + id + "-0a9e-us21",
			AccessplanitAPIKey: "ap-api-key-" + id + "-77c3",
			AccessplanitToken:  "ap-token-" + id + "-3b8e",
			MailchimpToken:     "mc-token-" + id + "-c41d",
		},
	}
}

// secretValues lists every secret of every instance.
func (e *env) secretValues() []string {
	var out []string
	for _, in := range e.byID {
		out = append(out, in.Secrets.Values()...)
	}
	return out
}

// recordingQueue counts the changes handed to the queue before passing
// them on to the real producer.
type recordingQueue struct {
	next ingest.Enqueuer
	mu   sync.Mutex
	got  []apmc.Change
}

func (q *recordingQueue) Enqueue(ctx context.Context, c apmc.Change) error {
	q.mu.Lock()
	q.got = append(q.got, c)
	q.mu.Unlock()
	return q.next.Enqueue(ctx, c)
}

func (q *recordingQueue) calls() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.got)
}

// lockedBuffer collects log output written from handler goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// endpoint is a running webhook server over its own FIFO queue.
type endpoint struct {
	env      *env
	srv      *httptest.Server
	queueURL string
	queue    *recordingQueue
	logs     *lockedBuffer
}

type endpointOption func(*ingest.Deps, *string)

// withQueueURL points the producer at another queue URL.
func withQueueURL(url string) endpointOption {
	return func(_ *ingest.Deps, u *string) { *u = url }
}

// withMaxBody sets the body limit.
func withMaxBody(n int64) endpointOption {
	return func(d *ingest.Deps, _ *string) { d.MaxBody = n }
}

// withNow fixes the endpoint's clock.
func withNow(now time.Time) endpointOption {
	return func(d *ingest.Deps, _ *string) { d.Now = func() time.Time { return now } }
}

// start serves both webhook endpoints, mounted as the local stack mounts
// them, over a fresh FIFO queue.
func (e *env) start(t *testing.T, opts ...endpointOption) *endpoint {
	t.Helper()
	qs := e.aws.Queues(t, "changes", 30)
	ep := &endpoint{env: e, queueURL: qs.ChangesURL, logs: &lockedBuffer{}}
	deps := ingest.Deps{Webhooks: e.instances, Logger: slog.New(slog.NewJSONHandler(ep.logs, nil))}
	sendTo := qs.ChangesURL
	for _, o := range opts {
		o(&deps, &sendTo)
	}
	ep.queue = &recordingQueue{next: queue.NewProducer(e.sqs, sendTo)}
	deps.Queue = ep.queue
	mux := http.NewServeMux()
	mux.Handle("/webhooks/accessplanit/", ingest.NewAccessplanit(deps))
	mux.Handle("/webhooks/mailchimp/", ingest.NewMailchimp(deps))
	ep.srv = httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(ep.srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("endpoint logs:\n%s", ep.logs.String())
		}
		for _, s := range e.secretValues() {
			if strings.Contains(ep.logs.String(), s) {
				t.Errorf("the endpoint logged the secret %q", s)
			}
		}
	})
	return ep
}

// apPath and mcPath are the webhook paths of an instance.
func (ep *endpoint) apPath(id string) string {
	return "/webhooks/accessplanit/" + id + "/" + ep.env.byID[id].Secrets.AccessplanitToken
}

func (ep *endpoint) mcPath(id string) string {
	return "/webhooks/mailchimp/" + id + "/" + ep.env.byID[id].Secrets.MailchimpToken
}

// answer is a response as read by a test.
type answer struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (a answer) text(key string) string {
	s, _ := a.body[key].(string)
	return s
}

// send makes one request and reads the answer; a non-JSON answer fails the test.
func (ep *endpoint) send(t *testing.T, method, path, contentType string, body io.Reader, header http.Header) answer {
	t.Helper()
	req, err := http.NewRequest(method, ep.srv.URL+path, body)
	if err != nil {
		t.Fatalf("NewRequest(%s %s) error = %v", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := ep.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s error = %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	a := answer{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if method == http.MethodHead {
		return a
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type = %q, want application/json (body %q)", method, path, ct, raw)
	}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Errorf("%s %s: body %q is not a JSON object: %v", method, path, raw, err)
	}
	return a
}

// checkAnswer asserts the status and that a refusal says why in "error".
func checkAnswer(t *testing.T, a answer, status int, errorContains string) {
	t.Helper()
	if a.status != status {
		t.Errorf("status = %d, want %d (body %s)", a.status, status, a.raw)
	}
	if status >= 400 {
		msg := a.text("error")
		if msg == "" {
			t.Errorf("body %s has no error message", a.raw)
		}
		if !strings.Contains(strings.ToLower(msg), strings.ToLower(errorContains)) {
			t.Errorf("error = %q, want it to mention %q", msg, errorContains)
		}
		return
	}
	if a.text("error") != "" {
		t.Errorf("a %d answer has error %q", a.status, a.text("error"))
	}
}

// stillServing checks the server still answers a valid request.
func (ep *endpoint) stillServing(t *testing.T) {
	t.Helper()
	a := ep.send(t, http.MethodGet, ep.mcPath(plainID), "", nil, nil)
	if a.status != http.StatusOK {
		t.Errorf("after the request, the URL check = %d, want 200: the server stopped serving", a.status)
	}
}

// queued is one message taken off the queue.
type queued struct {
	change  apmc.Change
	groupID string
	dedupID string
}

// drain receives and deletes everything on the endpoint's queue.
func (ep *endpoint) drain(t *testing.T) []queued {
	t.Helper()
	ctx := context.Background()
	var out []queued
	for {
		res, err := ep.env.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(ep.queueURL),
			MaxNumberOfMessages: 10,
			VisibilityTimeout:   30,
		})
		if err != nil {
			t.Fatalf("ReceiveMessage() error = %v", err)
		}
		if len(res.Messages) == 0 {
			return out
		}
		for _, m := range res.Messages {
			var q queued
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &q.change); err != nil {
				t.Fatalf("queued message %q is not a change: %v", aws.ToString(m.Body), err)
			}
			// kumo does not report the system attributes; the producer sets
			// them from the change, so they are derived the same way here.
			q.groupID, q.dedupID = q.change.GroupID(), q.change.DedupID()
			if g := m.Attributes["MessageGroupId"]; g != "" {
				q.groupID = g
			}
			if d := m.Attributes["MessageDeduplicationId"]; d != "" {
				q.dedupID = d
			}
			out = append(out, q)
			if _, err := ep.env.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(ep.queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage() error = %v", err)
			}
		}
	}
}
