package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/apmc"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// TestNoPageShowsASecret produces executions (one failed with an error
// written by Mailchimp that quotes the instance's secrets back) and fetches
// every kind of console page, signed in and not, checking that no secret of
// the instance, no operator token and no token hash appears in any of them.
func TestNoPageShowsASecret(t *testing.T) {
	c := newConsole(t, false)
	s := c.stack
	ctx := context.Background()
	in, err := s.Cache.Instance(ctx, s.Info.InstanceID)
	if err != nil {
		t.Fatalf("Instance(%s) error = %v", s.Info.InstanceID, err)
	}
	secrets := map[string]string{
		"operator token":          s.Info.APIToken,
		"operator token hash":     api.HashToken(s.Info.APIToken),
		"Mailchimp API key":       in.Secrets.MailchimpAPIKey,
		"accessplanit API key":    in.Secrets.AccessplanitAPIKey,
		"accessplanit path token": in.Secrets.AccessplanitToken,
		"Mailchimp path token":    in.Secrets.MailchimpToken,
		"Mailchimp signing key":   in.Secrets.MailchimpSigningSecret,
	}
	for name, v := range secrets {
		if len(v) < 8 {
			t.Fatalf("the %s is %q: too short to be searched for", name, v)
		}
	}
	if !strings.HasSuffix(s.Info.Webhooks.Mailchimp, "/"+in.Secrets.MailchimpToken) {
		t.Fatalf("the instance read is not the one the stack serves: its Mailchimp token is not in %s", "the webhook URL")
	}

	company := s.Info.Sandbox.Accessplanit.DefaultCompanyID
	create := func(email string) {
		t.Helper()
		if _, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "Sweep", "Surname": "Tester", "Email": email, "MainCompanyID": company}); err != nil {
			t.Fatalf("CreateUserInUI(%s) error = %v", email, err)
		}
	}
	create("fine@example.com")
	ok := waitExecution(t, s, "fine@example.com", apmc.StatusSucceeded)
	// A Mailchimp that quotes the request's credentials back in its error.
	s.Mailchimp.InjectFaults(sbmc.FaultRule{
		Kind: sbmc.FaultStatus, Method: http.MethodPut, Status: 400, Title: "Invalid Resource",
		Detail: "rejected for the sweep; key " + in.Secrets.MailchimpAPIKey + " secret " + in.Secrets.MailchimpSigningSecret +
			" token " + in.Secrets.MailchimpToken + " ap " + in.Secrets.AccessplanitAPIKey,
	})
	create("fail@example.com")
	failed := waitExecution(t, s, "fail@example.com", apmc.StatusFailed)
	if !strings.Contains(failed.Error, "rejected for the sweep") {
		t.Fatalf("failed execution error = %q, want the simulator's rejection", failed.Error)
	}

	ck := c.login(t)
	id := s.Info.InstanceID
	base := "/console/instances/" + id
	pages := []struct {
		path     string
		signedIn bool
	}{
		{"/console/login", false},
		{"/console/", false},
		{base, false},
		{"/console/", true},
		{base, true},
		{base + "?status=failed", true},
		{base + "?status=succeeded&flow=accessplanit_to_mailchimp", true},
		{base + "?flow=mailchimp_to_accessplanit&original_only=on&changed_only=on", true},
		{base + "?contact=" + url.QueryEscape("fail@example.com") + "&from=2020-01-01T00:00&to=2100-01-01T00:00", true},
		{base + "?status=bogus", true},
		{base + "?from=yesterday", true},
		{base + "?cursor=" + url.QueryEscape("not-a-cursor"), true},
		{base + "/executions/" + failed.ID, true},
		{base + "/executions/" + failed.ID + "?errors_only=1", true},
		{base + "/executions/" + ok.ID, true},
		{base + "/executions/" + apmc.NewExecutionID(failed.StartedAt), true},
		{base + "/executions/not-an-id", true},
		{base + "/timeline?contact=" + url.QueryEscape("fail@example.com"), true},
		{base + "/timeline?contact=" + url.QueryEscape("fine@example.com"), true},
		{base + "/timeline", true},
		{"/console/instances/nobody", true},
		{"/console/instances/nobody/executions/" + failed.ID, true},
		{"/console/nowhere", true},
		{"/console/nowhere", false},
	}
	sawError := false
	for _, p := range pages {
		var cookie = ck
		if !p.signedIn {
			cookie = nil
		}
		res, body := c.do(t, http.MethodGet, p.path, nil, cookie)
		if p.path == base+"/executions/"+failed.ID && !strings.Contains(body, "rejected for the sweep") {
			t.Errorf("GET %s does not show the failure's error: the sweep misses the error text", p.path)
		}
		if strings.Contains(body, "rejected for the sweep") {
			sawError = true
		}
		checkNoSecret(t, "GET "+p.path, res, body, secrets)
	}
	if !sawError {
		t.Errorf("no page showed the failed execution's error")
	}

	// The sign-in form's answers: a wrong token, and the token itself.
	for _, tok := range []string{"wrong-" + s.Info.APIToken[:4], s.Info.APIToken, in.Secrets.MailchimpAPIKey} {
		res, body := c.do(t, http.MethodPost, "/console/login", url.Values{"token": {tok}}, nil)
		checkNoSecret(t, "POST /console/login", res, body, secrets)
	}
	// Actions and their refusals.
	_, page := c.do(t, http.MethodGet, base, nil, ck)
	token := csrf(t, page)
	for _, a := range []struct {
		path string
		form url.Values
	}{
		{base + "/executions/" + failed.ID + "/replay", url.Values{"csrf": {"forged"}}},
		{base + "/executions/" + failed.ID + "/replay", url.Values{"csrf": {token}}},
		{base + "/replay-failed", url.Values{"csrf": {token}}},
		{"/console/instances/nobody/pause", url.Values{"csrf": {token}}},
	} {
		res, body := c.do(t, http.MethodPost, a.path, a.form, ck)
		checkNoSecret(t, "POST "+a.path, res, body, secrets)
		if loc := res.Header.Get("Location"); loc != "" {
			res, body := c.do(t, http.MethodGet, loc, nil, ck)
			checkNoSecret(t, "GET "+loc+" (after POST "+a.path+")", res, body, secrets)
		}
	}
}

// checkNoSecret fails the test when a secret is in the answer's body or
// headers.
func checkNoSecret(t *testing.T, what string, res *http.Response, body string, secrets map[string]string) {
	t.Helper()
	var headers strings.Builder
	_ = res.Header.Write(&headers)
	for name, v := range secrets {
		if strings.Contains(body, v) {
			t.Errorf("%s (%d) shows the %s in its body", what, res.StatusCode, name)
		}
		if strings.Contains(headers.String(), v) {
			t.Errorf("%s (%d) shows the %s in its headers", what, res.StatusCode, name)
		}
	}
}
