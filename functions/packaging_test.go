//go:build unix

package functions

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/awstest"
	"github.com/apmc-sync/apmc/internal/dynamo"
	sbap "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
	"github.com/apmc-sync/apmc/internal/secrets"
)

// names are the Lambda functions, each a directory beside this file.
var names = []string{"ingest-accessplanit", "ingest-mailchimp", "sync", "executions", "reconcile", "backfill"}

// maxARM64Bytes is the size a deployed (arm64) bootstrap must stay under: 15 MB.
const maxARM64Bytes = 15_000_000

// buildDir holds the binaries built by the package's tests, one directory
// per architecture; TestMain removes it.
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "apmc-functions-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create a build directory:", err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildMu   sync.Mutex
	buildErrs = map[string]error{}
	builtArch = map[string]bool{}
)

// build builds the four bootstraps for arch as the deployment does (static,
// lambda.norpc, trimmed, stripped) and returns the path of each by function.
// Each architecture is built once per test binary.
func build(t *testing.T, arch string) map[string]string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	paths := map[string]string{}
	for _, name := range names {
		paths[name] = filepath.Join(buildDir, arch, name, "bootstrap")
	}
	if builtArch[arch] {
		if err := buildErrs[arch]; err != nil {
			t.Fatal(err)
		}
		return paths
	}
	builtArch[arch] = true
	err := buildArch(arch, paths)
	buildErrs[arch] = err
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

func buildArch(arch string, paths map[string]string) error {
	goTool, err := goCommand()
	if err != nil {
		return err
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	out := filepath.Join(buildDir, arch, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out + string(filepath.Separator)}
	for _, name := range names {
		args = append(args, "./functions/"+name)
	}
	cmd := exec.Command(goTool, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build for linux/%s: %w\n%s", arch, err, output)
	}
	for _, name := range names {
		if err := os.MkdirAll(filepath.Dir(paths[name]), 0o755); err != nil {
			return fmt.Errorf("create the directory of %s: %w", name, err)
		}
		if err := os.Rename(filepath.Join(out, name), paths[name]); err != nil {
			return fmt.Errorf("place the %s bootstrap: %w", name, err)
		}
	}
	return nil
}

// goCommand finds the go tool that builds the functions.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("the go tool is neither on PATH nor in $GOROOT/bin")
}

// moduleRoot walks up from the package directory to the directory of go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the package directory")
		}
		dir = parent
	}
}

// TestBootstrapSizes builds the deployed arm64 bootstraps and the host's own
// and holds the arm64 ones under the size limit.
func TestBootstrapSizes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the four functions twice; skipped with -short")
	}
	arm := build(t, "arm64")
	host := build(t, runtime.GOARCH)
	for _, name := range names {
		armInfo, err := os.Stat(arm[name])
		if err != nil {
			t.Fatalf("stat the arm64 %s bootstrap: %v", name, err)
		}
		hostInfo, err := os.Stat(host[name])
		if err != nil {
			t.Fatalf("stat the %s %s bootstrap: %v", runtime.GOARCH, name, err)
		}
		t.Logf("%s: arm64 %.1f MB, %s %.1f MB", name, mb(armInfo.Size()), runtime.GOARCH, mb(hostInfo.Size()))
		if armInfo.Size() >= maxARM64Bytes {
			t.Errorf("the arm64 %s bootstrap is %.1f MB, want under %.0f MB", name, mb(armInfo.Size()), mb(maxARM64Bytes))
		}
	}
}

func mb(n int64) float64 { return float64(n) / 1e6 }

// world is what the functions run against: kumo (DynamoDB, SQS, KMS), the
// two simulators and a seeded instance.
type world struct {
	env       []string // the functions' environment
	instance  apmc.Instance
	tables    dynamo.Tables
	queueURL  string
	dlqURL    string
	ddb       *dynamodb.Client
	sqs       *sqs.Client
	mailchimp *sbmc.Server
	// accessplanit is the platform simulator the sync function reads Users from.
	accessplanit *sbap.Server
	operator     string // the operator token whose hash OPERATOR_TOKEN_HASH holds
	// plainHTTP is instance with its base URLs in plain http to loopback.
	plainHTTP apmc.Instance
}

func newWorld(t *testing.T, ctx context.Context) *world {
	t.Helper()
	svc := awstest.Kumo(t)
	w := &world{ddb: svc.DynamoDB, sqs: svc.SQS}
	w.tables = svc.Tables(t, "pkg")
	queues := svc.Queues(t, "pkg-changes", 180)
	w.queueURL, w.dlqURL = queues.ChangesURL, queues.DeadLetterURL
	keyID := svc.Key(t)

	// The Lambda build sends API keys over https only, even to loopback
	// (apmc.LoopbackHTTP is false there), so the simulators serve https with
	// httptest's certificate, which the functions trust as Go does any extra
	// root on Linux: through SSL_CERT_FILE.
	w.mailchimp = sbmc.New(sbmc.Options{})
	t.Cleanup(w.mailchimp.Close)
	mcServer := httptest.NewTLSServer(w.mailchimp)
	t.Cleanup(mcServer.Close)
	ap := sbap.New(sbap.Options{})
	w.accessplanit = ap
	t.Cleanup(ap.Close)
	apServer := httptest.NewTLSServer(ap)
	t.Cleanup(apServer.Close)
	certFile := filepath.Join(t.TempDir(), "simulators.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: mcServer.Certificate().Raw}), 0o600); err != nil {
		t.Fatalf("write the simulators' certificate: %v", err)
	}

	mcKey := randomHex(t, 16) + "-us21"
	w.mailchimp.AddAccount(mcKey)
	listID := w.mailchimp.AddList(mcKey, "Training newsletter", sbmc.MergeField{Tag: "COMPANY", Name: "Company", Type: "text"})
	apKey := randomHex(t, 20)
	ap.AddAPIKey(apKey, "9000")
	w.instance = apmc.Instance{
		ID: "acme-training", Name: "Acme Training", State: apmc.StateEnabled, Direction: apmc.DirectionBoth, StatusIfNew: "subscribed",
		MailchimpListID: listID, MailchimpBaseURL: mcServer.URL + "/3.0",
		AccessplanitBaseURL: apServer.URL + ap.Prefix(), DefaultCompanyID: ap.AddCompany("Acme Training Ltd"), AccessplanitUserID: "9000",
		Mappings: append(apmc.DefaultMappings(),
			apmc.FieldMapping{MergeTag: "PHONE", Field: "Phone", Type: apmc.TypePhone},
			apmc.FieldMapping{MergeTag: "COMPANY", Field: "MainCompanyName", Direction: apmc.DirectionToMailchimp}),
		Secrets: apmc.Secrets{MailchimpAPIKey: mcKey, AccessplanitAPIKey: apKey, AccessplanitToken: randomHex(t, 20), MailchimpToken: randomHex(t, 20)},
	}
	store := dynamo.NewInstanceStore(w.ddb, w.tables.Instances, secrets.NewKMS(svc.KMS, keyID))
	if err := store.Create(ctx, w.instance); err != nil {
		t.Fatalf("create the instance: %v", err)
	}
	// The same simulators named with plain http: valid in this (test)
	// build, refused by the Lambda build.
	w.plainHTTP = w.instance
	w.plainHTTP.ID = "plain-http"
	w.plainHTTP.MailchimpBaseURL = strings.Replace(w.instance.MailchimpBaseURL, "https://", "http://", 1)
	w.plainHTTP.AccessplanitBaseURL = strings.Replace(w.instance.AccessplanitBaseURL, "https://", "http://", 1)
	if err := store.Create(ctx, w.plainHTTP); err != nil {
		t.Fatalf("create the plain http instance: %v", err)
	}
	w.operator = randomHex(t, 24)
	w.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(), // no shared AWS configuration files
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL=" + svc.URL,
		"INSTANCES_TABLE=" + w.tables.Instances,
		"EXECUTIONS_TABLE=" + w.tables.Executions,
		"CONTACTS_TABLE=" + w.tables.Contacts,
		"QUEUE_URL=" + w.queueURL,
		"DEAD_LETTER_QUEUE_URL=" + w.dlqURL,
		"KMS_KEY_ID=" + keyID,
		"OPERATOR_TOKEN_HASH=" + api.HashToken(w.operator),
		"SSL_CERT_FILE=" + certFile,
	}
	return w
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random bytes: %v", err)
	}
	return hex.EncodeToString(b)
}

// event reads a sample event and fills in its placeholders.
func event(t *testing.T, function, file string, placeholders map[string]string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(function, "testdata", file))
	if err != nil {
		t.Fatalf("read the sample event: %v", err)
	}
	if !json.Valid(raw) {
		t.Fatalf("%s/testdata/%s is not valid JSON", function, file)
	}
	s := string(raw)
	for k, v := range placeholders {
		s = strings.ReplaceAll(s, k, v)
	}
	return []byte(s)
}

// emulator is one Lambda function running under the runtime interface
// emulator.
type emulator struct {
	cmd        *exec.Cmd
	invokeURL  string
	started    time.Time
	invoked    bool
	logs       *lockedBuffer
	stopOnce   sync.Once
	name       string
	httpClient *http.Client
}

// lockedBuffer collects the emulator's and the function's output.
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

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// startEmulator starts rie serving bootstrap with env, both APIs on
// loopback ports of their own. The emulator and the function run in their
// own process group, which stop ends.
func startEmulator(t *testing.T, rie, name, bootstrap string, env []string) *emulator {
	t.Helper()
	rieAddr, runtimeAddr := freeAddr(t), freeAddr(t)
	e := &emulator{
		name:       name,
		invokeURL:  "http://" + rieAddr + "/2015-03-31/functions/function/invocations",
		logs:       &lockedBuffer{},
		httpClient: &http.Client{Timeout: 40 * time.Second},
	}
	e.cmd = exec.Command(rie, "--runtime-interface-emulator-address", rieAddr, "--runtime-api-address", runtimeAddr, bootstrap)
	e.cmd.Dir = filepath.Dir(bootstrap)
	e.cmd.Env = env
	e.cmd.Stdout, e.cmd.Stderr = e.logs, e.logs
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	e.started = time.Now()
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("start the emulator for %s: %v", name, err)
	}
	t.Cleanup(func() { e.stop(t) })
	return e
}

// stop ends the emulator's process group: politely, then by force.
func (e *emulator) stop(t *testing.T) {
	e.stopOnce.Do(func() {
		pid := e.cmd.Process.Pid
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = e.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("output of %s under the emulator:\n%s", e.name, e.logs.String())
		}
	})
}

// invoke sends one event and returns the function's answer. The first call
// waits for the emulator to listen and logs the cold start.
func (e *emulator) invoke(t *testing.T, ctx context.Context, ev []byte) []byte {
	t.Helper()
	start := time.Now()
	deadline := start.Add(15 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.invokeURL, bytes.NewReader(ev))
		if err != nil {
			t.Fatalf("build the invocation: %v", err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := e.httpClient.Do(req)
		if err != nil {
			var opErr *net.OpError
			if !e.invoked && errors.As(err, &opErr) && time.Now().Before(deadline) {
				// The emulator is not listening yet.
				time.Sleep(20 * time.Millisecond)
				continue
			}
			t.Fatalf("invoke %s: %v\noutput:\n%s", e.name, err, e.logs.String())
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatalf("read the answer of %s: %v", e.name, err)
		}
		now := time.Now()
		if !e.invoked {
			e.invoked = true
			t.Logf("%s: cold start (emulator started → first answer) %v", e.name, now.Sub(e.started).Round(time.Millisecond))
		} else {
			t.Logf("%s: warm invocation %v", e.name, now.Sub(start).Round(time.Millisecond))
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("invoke %s: emulator answered %d: %s", e.name, resp.StatusCode, body)
		}
		var failure struct {
			ErrorType    string `json:"errorType"`
			ErrorMessage string `json:"errorMessage"`
		}
		if json.Unmarshal(body, &failure) == nil && (failure.ErrorType != "" || failure.ErrorMessage != "") {
			t.Fatalf("%s failed: %s: %s", e.name, failure.ErrorType, failure.ErrorMessage)
		}
		return body
	}
}

// invokeHTTP invokes an API Gateway function and returns its HTTP answer
// with the body decoded.
func (e *emulator) invokeHTTP(t *testing.T, ctx context.Context, ev []byte) (int, string) {
	t.Helper()
	var resp events.APIGatewayV2HTTPResponse
	raw := e.invoke(t, ctx, ev)
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatalf("%s answered %s, not an API Gateway response: %v", e.name, raw, err)
	}
	body := resp.Body
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			t.Fatalf("%s answered an undecodable base64 body: %v", e.name, err)
		}
		body = string(b)
	}
	return resp.StatusCode, body
}

// receiveChange takes the one change on the queue, checks that it is in
// message group wantGroup and deletes it.
func (w *world) receiveChange(t *testing.T, ctx context.Context, wantGroup string) apmc.Change {
	t.Helper()
	m := w.receive(t, ctx, 1)
	if m == nil {
		t.Fatal("ReceiveMessage() got no message, want the queued change")
	}
	var c apmc.Change
	if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &c); err != nil {
		t.Fatalf("the queued message is not a change: %v", err)
	}
	if group, ok := m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageGroupId)]; ok {
		if group != wantGroup {
			t.Errorf("message group = %q, want %q", group, wantGroup)
		}
	} else if got := c.GroupID(); got != wantGroup {
		// kumo does not return the MessageGroupId attribute; the producer
		// sends each change in the group its GroupID names.
		t.Errorf("message group of the queued change = %q, want %q", got, wantGroup)
	}
	w.delete(t, ctx, m)
	return c
}

// receive takes at most one message off the queue, waiting up to wait seconds.
func (w *world) receive(t *testing.T, ctx context.Context, wait int32) *sqstypes.Message {
	t.Helper()
	out, err := w.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(w.queueURL),
		MaxNumberOfMessages:         1,
		WaitTimeSeconds:             wait,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("ReceiveMessage() error = %v", err)
	}
	if len(out.Messages) == 0 {
		return nil
	}
	return &out.Messages[0]
}

func (w *world) delete(t *testing.T, ctx context.Context, m *sqstypes.Message) {
	t.Helper()
	if _, err := w.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(w.queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage() error = %v", err)
	}
}

// queuedChange is what a queued change must say.
type queuedChange struct {
	InstanceID, Source, Event, Email, UserID string
	WholeUser                                bool
}

// TestFunctionsUnderEmulator runs each function under the runtime interface
// emulator, one invocation at a time. The sub-tests run in order and share
// one world: executions lists the execution that sync recorded.
func TestFunctionsUnderEmulator(t *testing.T) {
	rie := os.Getenv("APMC_RIE")
	if rie == "" {
		msg := "APMC_RIE is not set; install the Lambda runtime interface emulator with: GOBIN=$PWD/.tools/bin go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d and set APMC_RIE=$PWD/.tools/bin/aws-lambda-rie"
		if os.Getenv("APMC_REQUIRE_SERVERS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := os.Stat(rie); err != nil {
		t.Fatalf("APMC_RIE: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The emulator runs binaries of the host's architecture; deployed
	// builds are arm64 (see TestBootstrapSizes).
	bootstraps := build(t, runtime.GOARCH)
	w := newWorld(t, ctx)
	id := w.instance.ID
	const wrongToken = "0000000000000000000000000000000000000000"

	t.Run("ingest-accessplanit", func(t *testing.T) {
		fn := startEmulator(t, rie, "ingest-accessplanit", bootstraps["ingest-accessplanit"], w.env)
		defer fn.stop(t)

		status, body := fn.invokeHTTP(t, ctx, event(t, "ingest-accessplanit", "post-user.json", map[string]string{"{{instance_id}}": id, "{{token}}": w.instance.Secrets.AccessplanitToken}))
		if status != http.StatusAccepted {
			t.Fatalf("POST user: status = %d (%s), want %d", status, body, http.StatusAccepted)
		}
		want := queuedChange{id, "accessplanit", "created", "ada.lovelace@example.com", "1042", true}
		c := w.receiveChange(t, ctx, apmc.Change{InstanceID: id, Email: want.Email}.GroupID())
		got := queuedChange{c.InstanceID, string(c.Source), string(c.Event), c.Email, c.UserID, c.User != nil}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("queued change (-want +got):\n%s", diff)
		}

		status, body = fn.invokeHTTP(t, ctx, event(t, "ingest-accessplanit", "post-user.json", map[string]string{"{{instance_id}}": id, "{{token}}": wrongToken}))
		if status != http.StatusNotFound {
			t.Errorf("POST user with a wrong token: status = %d (%s), want %d", status, body, http.StatusNotFound)
		}
	})

	t.Run("ingest-mailchimp", func(t *testing.T) {
		fn := startEmulator(t, rie, "ingest-mailchimp", bootstraps["ingest-mailchimp"], w.env)
		defer fn.stop(t)
		right := map[string]string{"{{instance_id}}": id, "{{token}}": w.instance.Secrets.MailchimpToken}
		wrong := map[string]string{"{{instance_id}}": id, "{{token}}": wrongToken}

		for _, tc := range []struct {
			name, file   string
			placeholders map[string]string
			want         int
		}{
			{"URL check", "validate.json", right, http.StatusOK},
			{"URL check with a wrong token", "validate.json", wrong, http.StatusNotFound},
			{"profile with a wrong token", "profile.json", wrong, http.StatusNotFound},
			{"profile", "profile.json", right, http.StatusOK},
		} {
			if status, body := fn.invokeHTTP(t, ctx, event(t, "ingest-mailchimp", tc.file, tc.placeholders)); status != tc.want {
				t.Errorf("%s: status = %d (%s), want %d", tc.name, status, body, tc.want)
			}
		}
		want := queuedChange{InstanceID: id, Source: "mailchimp", Event: "profile", Email: "grace.hopper@example.org"}
		c := w.receiveChange(t, ctx, apmc.Change{InstanceID: id, Email: want.Email}.GroupID())
		got := queuedChange{c.InstanceID, string(c.Source), string(c.Event), c.Email, c.UserID, c.User != nil}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("queued change (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(apmc.Values{"EMAIL": "grace.hopper@example.org", "FNAME": "Grace", "LNAME": "Hopper", "PHONE": "+1 202 555 0147"}, c.Merges); diff != "" {
			t.Errorf("queued merges (-want +got):\n%s", diff)
		}
	})

	t.Run("sync", func(t *testing.T) {
		fn := startEmulator(t, rie, "sync", bootstraps["sync"], w.env)
		defer fn.stop(t)

		// A delivery is a trigger: the platform must hold the User it names,
		// and the sync function reads it back from there.
		userID, err := w.accessplanit.AddUser(map[string]any{"Title": "Dr", "Forenames": "Ada", "Surname": "Lovelace", "Email": "Ada.Lovelace@Example.com",
			"Phone": "+44 20 7946 0958", "MainCompanyID": w.instance.DefaultCompanyID})
		if err != nil {
			t.Fatalf("AddUser() error = %v", err)
		}
		raw := event(t, "sync", "sqs-change.json", map[string]string{"{{instance_id}}": id, "1042": userID})
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Records) != 1 {
			t.Fatalf("sqs-change.json: %d records, error %v; want one record", len(ev.Records), err)
		}
		var change apmc.Change
		if err := json.Unmarshal([]byte(ev.Records[0].Body), &change); err != nil {
			t.Fatalf("the record's body is not a change: %v", err)
		}
		raw = []byte(strings.NewReplacer("{{group_id}}", change.GroupID(), "{{dedup_id}}", change.DedupID()).Replace(string(raw)))

		var resp events.SQSEventResponse
		answer := fn.invoke(t, ctx, raw)
		if err := json.Unmarshal(answer, &resp); err != nil {
			t.Fatalf("sync answered %s, not an SQS batch response: %v", answer, err)
		}
		if len(resp.BatchItemFailures) != 0 {
			t.Fatalf("batch item failures = %v, want none", resp.BatchItemFailures)
		}

		m, ok := w.mailchimp.Member(w.instance.MailchimpListID, "ada.lovelace@example.com")
		if !ok {
			t.Fatal("the member is not in the Mailchimp audience")
		}
		gotMerges := map[string]any{}
		for _, tag := range []string{"FNAME", "LNAME", "PHONE", "COMPANY"} {
			gotMerges[tag] = m.MergeFields[tag]
		}
		wantMerges := map[string]any{"FNAME": "Ada", "LNAME": "Lovelace", "PHONE": "+44 20 7946 0958", "COMPANY": "Acme Training Ltd"}
		if diff := cmp.Diff(wantMerges, gotMerges); diff != "" {
			t.Errorf("member merge fields (-want +got):\n%s", diff)
		}
		if m.Status != "subscribed" {
			t.Errorf("member status = %q, want subscribed", m.Status)
		}

		execs, _, err := dynamo.NewExecutionStore(w.ddb, w.tables.Executions).Executions(ctx, id, apmc.ExecutionQuery{})
		if err != nil {
			t.Fatalf("Executions() error = %v", err)
		}
		if len(execs) != 1 {
			t.Fatalf("Executions() = %d executions, want 1", len(execs))
		}
		e := execs[0]
		got := []string{string(e.Status), string(e.Flow), e.ChangeID, e.Contact}
		want := []string{string(apmc.StatusSucceeded), string(apmc.FlowToMailchimp), change.ID, "ada.lovelace@example.com"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("execution status, flow, change, contact (-want +got):\n%s", diff)
		}

		// The deployed binary never sends an API key over plain http, not
		// even to loopback: the change fails at once, without a retry.
		plain := event(t, "sync", "sqs-change.json", map[string]string{"{{instance_id}}": w.plainHTTP.ID, "1042": userID})
		if err := json.Unmarshal(plain, &ev); err != nil || len(ev.Records) != 1 {
			t.Fatalf("sqs-change.json: %d records, error %v; want one record", len(ev.Records), err)
		}
		if err := json.Unmarshal([]byte(ev.Records[0].Body), &change); err != nil {
			t.Fatalf("the record's body is not a change: %v", err)
		}
		plain = []byte(strings.NewReplacer("{{group_id}}", change.GroupID(), "{{dedup_id}}", change.DedupID()).Replace(string(plain)))
		resp = events.SQSEventResponse{}
		if answer := fn.invoke(t, ctx, plain); json.Unmarshal(answer, &resp) != nil || len(resp.BatchItemFailures) != 0 {
			t.Errorf("sync of a plain http instance answered %s, want no batch item failure (a permanent failure)", answer)
		}
		execs, _, err = dynamo.NewExecutionStore(w.ddb, w.tables.Executions).Executions(ctx, w.plainHTTP.ID, apmc.ExecutionQuery{})
		if err != nil || len(execs) != 1 {
			t.Fatalf("Executions(%s) = %d executions, %v; want 1", w.plainHTTP.ID, len(execs), err)
		}
		if e := execs[0]; e.Status != apmc.StatusFailed || !strings.Contains(e.Error, "must use https") {
			t.Errorf("plain http execution = status %s error %q, want failed with %q", e.Status, e.Error, "must use https")
		}
	})

	t.Run("executions", func(t *testing.T) {
		fn := startEmulator(t, rie, "executions", bootstraps["executions"], w.env)
		defer fn.stop(t)

		iam := event(t, "executions", "list-executions.json", map[string]string{"{{instance_id}}": id})
		// The same request as API Gateway hands it over on a route without
		// IAM authorization: no authorizer block, and the SigV4 header is no
		// operator token.
		anonymous := withoutAuthorizer(t, iam, "")
		bearer := withoutAuthorizer(t, iam, "Bearer "+w.operator)
		for _, tc := range []struct {
			name string
			ev   []byte
			want int
		}{
			{"IAM-authenticated", iam, http.StatusOK},
			{"without the authorizer", anonymous, http.StatusUnauthorized},
			{"with the operator token", bearer, http.StatusOK},
		} {
			status, body := fn.invokeHTTP(t, ctx, tc.ev)
			if status != tc.want {
				t.Errorf("GET executions %s: status = %d (%s), want %d", tc.name, status, body, tc.want)
				continue
			}
			if status != http.StatusOK {
				continue
			}
			var list struct {
				Executions []apmc.Execution `json:"executions"`
			}
			if err := json.Unmarshal([]byte(body), &list); err != nil {
				t.Fatalf("GET executions %s answered %s: %v", tc.name, body, err)
			}
			if len(list.Executions) != 1 || list.Executions[0].Contact != "ada.lovelace@example.com" {
				t.Errorf("GET executions %s = %s, want the one execution for ada.lovelace@example.com", tc.name, body)
			}
		}
	})
}

// withoutAuthorizer returns the API Gateway event ev without its
// requestContext.authorizer block and, when authorization is set, with that
// Authorization header.
func withoutAuthorizer(t *testing.T, ev []byte, authorization string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev, &m); err != nil {
		t.Fatalf("decode the event: %v", err)
	}
	rc, ok := m["requestContext"].(map[string]any)
	if !ok || rc["authorizer"] == nil {
		t.Fatal("the event has no requestContext.authorizer")
	}
	delete(rc, "authorizer")
	if authorization != "" {
		headers, ok := m["headers"].(map[string]any)
		if !ok {
			t.Fatal("the event has no headers")
		}
		headers["authorization"] = authorization
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("encode the event: %v", err)
	}
	return out
}
