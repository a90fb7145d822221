package connector_test

import (
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/connector"
)

// instanceWith returns an instance whose APIs live at the given base URLs.
func instanceWith(accessplanitURL, mailchimpURL string) apmc.Instance {
	return apmc.Instance{
		ID: "inst", ConfigVersion: 1, AccessplanitBaseURL: accessplanitURL, MailchimpBaseURL: mailchimpURL,
		Secrets: apmc.Secrets{MailchimpAPIKey: "key-us21", AccessplanitAPIKey: "ap-key"},
	}
}

// buildErrors returns the errors of building both clients for in.
func buildErrors(in apmc.Instance) (mailchimpErr, accessplanitErr error) {
	var c connector.Connector
	_, mailchimpErr = c.Mailchimp(in)
	_, accessplanitErr = c.Accessplanit(in)
	return mailchimpErr, accessplanitErr
}

// TestBadBaseURLIsPermanent: a stored instance is not trusted to have been
// validated; a base URL the rule refuses fails building its client with a
// permanent error, so the change fails at once instead of being retried.
func TestBadBaseURLIsPermanent(t *testing.T) {
	for _, raw := range []string{"http://api.example.com/3.0", "http://10.0.0.1/3.0", "https://user:pw@api.example.com/3.0", "ftp://api.example.com/3.0"} {
		mcErr, apErr := buildErrors(instanceWith(raw, raw))
		for side, err := range map[string]error{"Mailchimp": mcErr, "Accessplanit": apErr} {
			if err == nil || !apmc.IsPermanent(err) {
				t.Errorf("%s(base URL %s) error = %v, want a permanent error", side, raw, err)
			}
		}
	}
	mcErr, apErr := buildErrors(instanceWith("https://ap.example.com/x/api/v2/", "https://mc.example.com/3.0"))
	if mcErr != nil || apErr != nil {
		t.Errorf("Mailchimp, Accessplanit(https base URLs) errors = %v, %v; want nil", mcErr, apErr)
	}
}
