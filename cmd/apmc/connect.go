package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/mailchimp"
)

// connectMailchimp returns a client for the key, checked with a ping.
// Errors never hold the key.
func connectMailchimp(ctx context.Context, hc *http.Client, apiKey, baseURL string) (*mailchimp.Client, error) {
	if apiKey == "" {
		return nil, errors.New("no Mailchimp API key: pass -mailchimp-api-key or set APMC_MAILCHIMP_API_KEY")
	}
	opts := []mailchimp.Option{mailchimp.WithHTTPClient(hc)}
	if baseURL != "" {
		opts = append(opts, mailchimp.WithBaseURL(baseURL))
	}
	mc, err := mailchimp.New(apiKey, opts...)
	if err != nil {
		return nil, errors.New(apmc.Redact(fmt.Sprintf("Mailchimp connection: %v", err), []string{apiKey}))
	}
	if err := mc.Ping(ctx); err != nil {
		msg := "Mailchimp did not answer: %v"
		if rejected(err) {
			msg = "Mailchimp rejected the API key: %v"
		}
		return nil, errors.New(apmc.Redact(fmt.Sprintf(msg, err), []string{apiKey}))
	}
	return mc, nil
}

// connectAccessplanit returns a client for the platform, checked by
// listing its Companies (which the instance's default Account is one of).
func connectAccessplanit(ctx context.Context, hc *http.Client, baseURL, apiKey string) (*accessplanit.Client, []accessplanit.Company, error) {
	if baseURL == "" {
		return nil, nil, errors.New("no accessplanit URL: pass -accessplanit-url (such as https://host/instance/api/v2/)")
	}
	if apiKey == "" {
		return nil, nil, errors.New("no accessplanit API key: pass -accessplanit-api-key or set APMC_ACCESSPLANIT_API_KEY")
	}
	ap, err := accessplanit.New(baseURL, apiKey, accessplanit.WithHTTPClient(hc))
	if err != nil {
		return nil, nil, errors.New(apmc.Redact(fmt.Sprintf("accessplanit connection: %v", err), []string{apiKey}))
	}
	companies, err := ap.Companies(ctx)
	if err != nil {
		msg := "accessplanit did not answer: %v"
		if rejected(err) {
			msg = "accessplanit rejected the API key: %v"
		}
		return nil, nil, errors.New(apmc.Redact(fmt.Sprintf(msg, err), []string{apiKey}))
	}
	return ap, companies, nil
}

// rejected reports whether an API answered 401 or 403: the key is wrong,
// disabled or lacks the rights.
func rejected(err error) bool {
	var mcErr *mailchimp.APIError
	if errors.As(err, &mcErr) {
		return mcErr.Status == http.StatusUnauthorized || mcErr.Status == http.StatusForbidden
	}
	var apErr *accessplanit.APIError
	if errors.As(err, &apErr) {
		return apErr.Status == http.StatusUnauthorized || apErr.Status == http.StatusForbidden
	}
	return false
}
