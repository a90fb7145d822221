package local_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/awstest"
	"github.com/apmc-sync/apmc/internal/local"
)

// TestRestartOnPersistentEndpoint starts the stack twice on one kumo server
// standing in for a persistent AWS endpoint: the second start finds the
// tables, queues, KMS key and demo instance of the first, and its new
// simulators (new URLs, new keys) are the ones the demo instance syncs.
func TestRestartOnPersistentEndpoint(t *testing.T) {
	env := awstest.Kumo(t)
	prefix := awstest.UniqueName("restart")
	state := filepath.Join(t.TempDir(), "local.json")
	start := func() *local.Stack {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := local.Start(ctx, local.Config{AWSEndpoint: env.URL, Prefix: prefix, StateFile: state, RetryBase: 200 * time.Millisecond})
		if err != nil {
			t.Fatalf("local.Start() on %s error = %v", env.URL, err)
		}
		return s
	}

	first := start()
	firstInfo := first.Info
	first.Close()

	second := start()
	t.Cleanup(second.Close)
	if got, want := second.Info.AWS.KMSKeyID, firstInfo.AWS.KMSKeyID; got != want {
		t.Errorf("second start's KMS key = %s, want the first's %s (found by its alias)", got, want)
	}
	// The stack listens on a new port; the instance's path tokens stay.
	if tokens(second.Info.Webhooks) != tokens(firstInfo.Webhooks) {
		t.Errorf("second start's webhook paths = %v, want the demo instance's first ones %v", tokens(second.Info.Webhooks), tokens(firstInfo.Webhooks))
	}
	if second.Info.Sandbox.Mailchimp.APIKey == firstInfo.Sandbox.Mailchimp.APIKey {
		t.Fatal("both starts' Mailchimp simulators have one key; the test needs new simulators")
	}
	in, err := second.Instances.Instance(context.Background(), local.DemoInstanceID)
	if err != nil {
		t.Fatalf("Instance(demo) error = %v", err)
	}
	if in.MailchimpBaseURL != second.Info.Sandbox.Mailchimp.BaseURL || in.AccessplanitBaseURL != second.Info.Sandbox.Accessplanit.BaseURL ||
		in.Secrets.MailchimpAPIKey != second.Info.Sandbox.Mailchimp.APIKey || in.Secrets.AccessplanitAPIKey != second.Info.Sandbox.Accessplanit.APIKey {
		t.Errorf("demo instance after restart = Mailchimp %s, accessplanit %s (keys match: %v, %v); want the new simulators %s, %s",
			in.MailchimpBaseURL, in.AccessplanitBaseURL,
			in.Secrets.MailchimpAPIKey == second.Info.Sandbox.Mailchimp.APIKey, in.Secrets.AccessplanitAPIKey == second.Info.Sandbox.Accessplanit.APIKey,
			second.Info.Sandbox.Mailchimp.BaseURL, second.Info.Sandbox.Accessplanit.BaseURL)
	}

	// accessplanit → Mailchimp through the new simulators.
	const email = "grace.hopper@example.com"
	if _, err := second.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "Grace", "Surname": "Hopper", "Email": email, "MainCompanyID": second.Info.Sandbox.Accessplanit.DefaultCompanyID}); err != nil {
		t.Fatalf("CreateUserInUI() error = %v", err)
	}
	list := second.Info.Sandbox.Mailchimp.ListID
	waitFor(t, "member "+email+" in the new Mailchimp simulator", func() bool {
		_, ok := second.Mailchimp.Member(list, email)
		return ok
	})
	// Mailchimp → accessplanit: the webhook was registered on the new
	// simulator, with a signing secret the instance now holds.
	const other = "katherine.johnson@example.com"
	if err := second.Mailchimp.SubscribeInUI(list, other, map[string]any{"FNAME": "Katherine", "LNAME": "Johnson"}); err != nil {
		t.Fatalf("SubscribeInUI() error = %v", err)
	}
	waitFor(t, "user "+other+" in the new accessplanit simulator", func() bool {
		for _, u := range second.Accessplanit.Users() {
			if strings.EqualFold(u["Email"].(string), other) {
				return true
			}
		}
		return false
	})

	info, err := local.ReadInfo(state)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{info.AWS.QueueURL, info.AWS.DeadLetterURL} {
		if !strings.HasPrefix(u, env.URL+"/") {
			t.Errorf("state file queue URL = %s, want it under the endpoint %s", u, env.URL)
		}
	}
}

// tokens returns the webhook URLs' paths from /webhooks/ on.
func tokens(w local.Webhooks) [2]string {
	cut := func(u string) string { return u[strings.Index(u, "/webhooks/")+1:] }
	return [2]string{cut(w.Accessplanit), cut(w.Mailchimp)}
}
