package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// runInstance dispatches `apmc instance …`.
func runInstance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "instance", map[string]subcommand{
		"create":    instanceCreate,
		"configure": instanceConfigure,
		"show":      instanceShow,
		"list":      instanceList,
	}, args, stdout, stderr)
}

var instanceIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// idFromName derives an instance id from its name: "Acme Training" → "acme-training".
func idFromName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	id := strings.TrimRight(b.String(), "-")
	if len(id) > 63 {
		id = strings.TrimRight(id[:63], "-")
	}
	return id
}

// newToken returns a webhook path token: 160 random bits, hex.
func newToken() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate a webhook token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func instanceCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("instance create", stderr)
	s := addSettingsFlags(c.fs)
	mk := addMarketingFlags(c.fs)
	c.fs.StringVar(&s.id, "id", "", "the instance's id (default: derived from -name)")
	if _, err := c.parse(args); err != nil {
		return err
	}
	s.record(c.fs)
	if s.mailchimpAPIKey == "" {
		s.mailchimpAPIKey = os.Getenv("APMC_MAILCHIMP_API_KEY")
	}
	if s.accessplanitAPIKey == "" {
		s.accessplanitAPIKey = os.Getenv("APMC_ACCESSPLANIT_API_KEY")
	}
	if wizard != nil {
		if err := wizard.fillCreate(s); err != nil {
			return err
		}
	}
	if err := s.missingForCreate(); err != nil {
		return err
	}
	if s.id == "" {
		s.id = idFromName(s.name)
	}
	if !instanceIDPattern.MatchString(s.id) {
		return fmt.Errorf("instance id %q must be 1-63 lower-case letters, digits or -, starting with a letter or digit", s.id)
	}
	in := apmc.Instance{
		ID: s.id, State: apmc.StateEnabled, Direction: apmc.DirectionBoth, StatusIfNew: "subscribed",
		MailchimpBaseURL: s.mailchimpBaseURL, AccessplanitBaseURL: s.accessplanitURL,
		Mappings: apmc.DefaultMappings(),
		Secrets:  apmc.Secrets{MailchimpAPIKey: s.mailchimpAPIKey, AccessplanitAPIKey: s.accessplanitAPIKey},
	}
	if err := s.apply(&in); err != nil {
		return err
	}
	mk.apply(c.fs, &in)
	t, err := c.target.open(ctx)
	if err != nil {
		return err
	}
	if err := connectAndCheck(ctx, t, &in, s.list, s.defaultCompany, stderr); err != nil {
		return err
	}
	if in.Secrets.AccessplanitToken, err = newToken(); err != nil {
		return err
	}
	if in.Secrets.MailchimpToken, err = newToken(); err != nil {
		return err
	}
	if err := t.Instances.Create(ctx, in); err != nil {
		return err
	}
	shown, err := t.Instances.Display(ctx, in.ID)
	if err != nil {
		return fmt.Errorf("read the new instance back: %w", err)
	}
	if *c.jsonOut {
		return printJSON(stdout, shown)
	}
	fmt.Fprintf(stdout, "instance %s created (config version %d)\n", shown.ID, shown.ConfigVersion)
	fmt.Fprintf(stdout, "next: apmc webhooks register %s --show-webhook-urls\n", shown.ID)
	return nil
}

func instanceConfigure(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("instance configure", stderr)
	s := addSettingsFlags(c.fs)
	mk := addMarketingFlags(c.fs)
	requireSignature := c.fs.Bool("require-signature", false, "refuse Mailchimp deliveries without a valid X-Mailchimp-Signature (--require-signature=false allows them again while no signing secret is stored)")
	t, pos, err := c.open(ctx, args, "ID")
	if err != nil {
		return err
	}
	s.record(c.fs)
	in, err := t.Instances.Instance(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("read instance %s: %w", pos[0], err)
	}
	read := in.ConfigVersion
	if s.given["mailchimp-api-key"] {
		in.Secrets.MailchimpAPIKey = s.mailchimpAPIKey
	}
	if s.given["accessplanit-api-key"] {
		in.Secrets.AccessplanitAPIKey = s.accessplanitAPIKey
	}
	if s.given["mailchimp-base-url"] {
		in.MailchimpBaseURL = s.mailchimpBaseURL
	}
	if s.given["accessplanit-url"] {
		in.AccessplanitBaseURL = s.accessplanitURL
	}
	c.fs.Visit(func(f *flag.Flag) {
		if f.Name == "require-signature" {
			in.RequireSignature = *requireSignature
		}
	})
	if err := s.apply(&in); err != nil {
		return err
	}
	mk.apply(c.fs, &in)
	wantList, wantCompany := in.MailchimpListID, in.DefaultCompanyID
	if s.given["list"] {
		wantList = s.list
	}
	if s.given["default-company"] {
		wantCompany = s.defaultCompany
	}
	if err := connectAndCheck(ctx, t, &in, wantList, wantCompany, stderr); err != nil {
		return err
	}
	// The secrets are always written back, changed or not: that also
	// writes the digests of the webhook tokens, which migrates an instance
	// stored before the ingest functions read digests.
	if err := t.Instances.Update(ctx, in); err != nil {
		return err
	}
	shown, err := t.Instances.Display(ctx, in.ID)
	if err != nil {
		return fmt.Errorf("read the instance back: %w", err)
	}
	if *c.jsonOut {
		return printJSON(stdout, shown)
	}
	fmt.Fprintf(stdout, "instance %s configured: config version %d → %d\n", shown.ID, read, shown.ConfigVersion)
	return nil
}

func instanceShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("instance show", stderr)
	t, pos, err := c.open(ctx, args, "ID")
	if err != nil {
		return err
	}
	sum, err := t.Ops.Summary(ctx, pos[0])
	if err != nil {
		return err
	}
	if *c.jsonOut {
		return printJSON(stdout, sum)
	}
	in := sum.Instance
	tb := newTable(stdout)
	tb.row("id", in.ID)
	tb.row("name", in.Name)
	tb.row("state", string(in.State))
	tb.row("config version", fmt.Sprint(in.ConfigVersion))
	tb.row("direction", string(in.Direction))
	tb.row("Mailchimp audience", in.MailchimpListID)
	if in.MailchimpBaseURL != "" {
		tb.row("Mailchimp base URL", in.MailchimpBaseURL)
	}
	tb.row("status if new", in.StatusIfNew)
	tb.row("consent", describeConsent(in.Consent))
	if in.MailchimpStatusField != "" {
		tb.row("Mailchimp status written to", in.MailchimpStatusField)
	}
	tb.row("accessplanit URL", in.AccessplanitBaseURL)
	tb.row("default Account", in.DefaultCompanyID)
	if in.AccessplanitUserID != "" {
		tb.row("accessplanit API user", in.AccessplanitUserID)
	}
	tb.row("while paused", map[bool]string{true: "discard changes", false: "hold changes"}[in.DiscardWhilePaused])
	tb.row("Mailchimp email changes", string(in.EmailChanges()))
	tb.row("first sync conflicts", string(in.ConflictWinner))
	tb.row("first sync pace", fmt.Sprintf("%d accessplanit writes an hour", firstSyncRate(in)))
	tb.row("retention", fmt.Sprintf("%d days", in.Retention()))
	tb.row("notification URL", map[bool]string{true: "set", false: "none"}[in.NotificationURLSet])
	tb.row("tags", tagsSetting(in))
	tb.row("training activity", activitySetting(in))
	if sum.LastExecutionAt != nil {
		tb.row("last execution", when(*sum.LastExecutionAt)+" "+string(sum.LastStatus))
	}
	var counts []string
	for _, st := range apmc.Statuses {
		counts = append(counts, fmt.Sprintf("%s %s", st, sum.Count(st)))
	}
	tb.row("last 24 hours", strings.Join(counts, ", "))
	if sum.DeadLetters >= 0 {
		tb.row("dead letters (all instances)", fmt.Sprint(sum.DeadLetters))
	}
	if r := sum.LastReconcile; r != nil {
		line := fmt.Sprintf("%s: %d checked, %d enqueued", when(r.StartedAt), r.Checked, r.Enqueued)
		if r.Error != "" {
			line += ", failed: " + r.Error
		}
		tb.row("last reconcile", line)
	}
	if err := tb.flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	mt := newTable(stdout, "MERGE TAG", "FIELD", "TYPE", "DIRECTION")
	for _, m := range in.Mappings {
		typ, dir := string(m.Type), string(m.Direction)
		if typ == "" {
			typ = string(apmc.TypeText)
		}
		if dir == "" {
			dir = "as the instance"
		}
		mt.row(m.MergeTag, m.Field, typ, dir)
	}
	return mt.flush()
}

func instanceList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("instance list", stderr)
	t, _, err := c.open(ctx, args)
	if err != nil {
		return err
	}
	list, err := t.Instances.List(ctx)
	if err != nil {
		return err
	}
	if *c.jsonOut {
		if list == nil {
			list = []apmc.Instance{}
		}
		return printJSON(stdout, list)
	}
	tb := newTable(stdout, "ID", "NAME", "STATE", "DIRECTION", "AUDIENCE", "VERSION")
	for _, in := range list {
		tb.row(in.ID, in.Name, string(in.State), string(in.Direction), in.MailchimpListID, fmt.Sprint(in.ConfigVersion))
	}
	return tb.flush()
}

// missingForCreate names every setting `instance create` needs that is
// still empty. Without a terminal nothing is asked, so flags must give them.
func (s *settingsFlags) missingForCreate() error {
	var missing []string
	for _, r := range []struct{ v, flag string }{
		{strings.TrimSpace(s.name), "-name"},
		{s.mailchimpAPIKey, "-mailchimp-api-key (or APMC_MAILCHIMP_API_KEY)"},
		{s.accessplanitURL, "-accessplanit-url"},
		{s.accessplanitAPIKey, "-accessplanit-api-key (or APMC_ACCESSPLANIT_API_KEY)"},
	} {
		if r.v == "" {
			missing = append(missing, r.flag)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	msg := "instance create: missing " + strings.Join(missing, ", ")
	if wizard == nil {
		msg += " (stdin is not a terminal, so nothing is asked)"
	}
	return errors.New(msg)
}
