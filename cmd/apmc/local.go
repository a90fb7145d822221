package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/apmc-sync/apmc/internal/local"
)

// runLocal runs the local stack until ctx is cancelled (Ctrl-C).
func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg local.Config
	fs.StringVar(&cfg.Addr, "addr", envOr("APMC_ADDR", "127.0.0.1:8080"), "where the webhooks and the API listen")
	fs.StringVar(&cfg.MailchimpSandboxAddr, "mailchimp-sandbox-addr", envOr("APMC_MAILCHIMP_SANDBOX_ADDR", "127.0.0.1:8081"), "where the Mailchimp simulator listens")
	fs.StringVar(&cfg.AccessplanitSandboxAddr, "accessplanit-sandbox-addr", envOr("APMC_ACCESSPLANIT_SANDBOX_ADDR", "127.0.0.1:8082"), "where the accessplanit simulator listens")
	fs.StringVar(&cfg.PublicURL, "public-url", envOr("APMC_PUBLIC_URL", ""), "base URL the systems reach the stack at (default http://<addr>)")
	fs.StringVar(&cfg.StateFile, "state-file", envOr("APMC_STATE_FILE", ".apmc/local.json"), "where the stack's URLs and keys are written")
	fs.StringVar(&cfg.AWSEndpoint, "aws-endpoint", envOr("APMC_AWS_ENDPOINT", ""), "DynamoDB/SQS/KMS endpoint (default: embedded kumo); one not on loopback is reached with the default AWS credential chain and region, and what the stack created there is reused on the next start")
	fs.StringVar(&cfg.MailchimpAPIKey, "mailchimp-api-key", envOr("APMC_MAILCHIMP_API_KEY", ""), "a real Mailchimp API key (default: the simulator)")
	fs.StringVar(&cfg.MailchimpListID, "mailchimp-list-id", envOr("APMC_MAILCHIMP_LIST_ID", ""), "the real Mailchimp audience id")
	fs.StringVar(&cfg.AccessplanitBaseURL, "accessplanit-url", envOr("APMC_ACCESSPLANIT_URL", ""), "a real accessplanit API v2 base URL (default: the simulator)")
	fs.StringVar(&cfg.AccessplanitAPIKey, "accessplanit-api-key", envOr("APMC_ACCESSPLANIT_API_KEY", ""), "the real accessplanit API key")
	fs.StringVar(&cfg.AccessplanitCompanyID, "accessplanit-company-id", envOr("APMC_ACCESSPLANIT_COMPANY_ID", ""), "the accessplanit Account (Company) for users created from Mailchimp")
	fs.StringVar(&cfg.APIToken, "api-token", envOr("APMC_API_TOKEN", ""), "operator token for the API (default: generated)")
	fs.DurationVar(&cfg.ReconcileInterval, "reconcile-interval", time.Hour, "reconcile every instance at this interval, as the deployed schedule does (0: never; apmc reconcile runs one now)")
	logLevel := fs.String("log-level", envOr("LOG_LEVEL", "info"), "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (cfg.MailchimpAPIKey == "") != (cfg.MailchimpListID == "") {
		return fmt.Errorf("a real Mailchimp needs both -mailchimp-api-key and -mailchimp-list-id")
	}
	if cfg.AccessplanitBaseURL != "" && (cfg.AccessplanitAPIKey == "" || cfg.AccessplanitCompanyID == "") {
		return fmt.Errorf("a real accessplanit needs -accessplanit-url, -accessplanit-api-key and -accessplanit-company-id")
	}
	cfg.Logger = newLogger(stderr, *logLevel)

	stack, err := local.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer stack.Close()
	printInfo(stdout, stack.Info, cfg.StateFile)
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping")
	return nil
}

func printInfo(w io.Writer, i local.Info, stateFile string) {
	fmt.Fprintf(w, `apmc local stack is running (Ctrl-C stops it)

  API                    %s   (Authorization: Bearer <api_token from %s>)
  console                %s   (sign in with the api_token)
  instance               %s
  accessplanit webhook   %s
  Mailchimp webhook      %s
`, i.APIURL, stateFile, i.ConsoleURL, i.InstanceID, redactPath(i.Webhooks.Accessplanit), redactPath(i.Webhooks.Mailchimp))
	if i.Sandbox.Mailchimp.BaseURL != "" {
		fmt.Fprintf(w, "  Mailchimp simulator    %s  (audience %s; control API %s)\n", i.Sandbox.Mailchimp.BaseURL, i.Sandbox.Mailchimp.ListID, i.Sandbox.Mailchimp.ControlURL)
	}
	if i.Sandbox.Accessplanit.BaseURL != "" {
		fmt.Fprintf(w, "  accessplanit simulator %s  (account %s; control API %s)\n", i.Sandbox.Accessplanit.BaseURL, i.Sandbox.Accessplanit.DefaultCompanyID, i.Sandbox.Accessplanit.ControlURL)
	}
	fmt.Fprintf(w, "\nkeys, tokens and full webhook URLs: %s\n", stateFile)
}

// redactPath hides a webhook URL's path token: it is a secret.
func redactPath(u string) string {
	for i := len(u) - 1; i >= 0; i-- {
		if u[i] == '/' {
			return u[:i+1] + "<token>"
		}
	}
	return u
}
