package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/mailchimp"
)

// consentFlags are an instance's consent settings as given on the command
// line; any of them switches consent syncing on, unless --consent=false.
type consentFlags struct {
	on                    bool
	doubleOptIn           bool
	notOptedIn            string
	optoutsToMailchimp    bool
	optoutsToAccessplanit bool
	statusField           string
}

// consentFlagNames are the flags that set consent settings.
var consentFlagNames = []string{"consent", "double-opt-in", "not-opted-in", "optouts-to-mailchimp", "optouts-to-accessplanit"}

func addConsentFlags(fs *flag.FlagSet) *consentFlags {
	c := &consentFlags{}
	fs.BoolVar(&c.on, "consent", false, "sync marketing consent (accessplanit's MarketingOptIn): opted-in Users become subscribed members, the others transactional (--consent=false stops)")
	fs.BoolVar(&c.doubleOptIn, "double-opt-in", false, "opted-in Users become pending members, so Mailchimp asks them to confirm (implies --consent)")
	fs.StringVar(&c.notOptedIn, "not-opted-in", "", "what Users who have not opted in become: transactional (default) or skip (not added to Mailchimp; implies --consent)")
	fs.BoolVar(&c.optoutsToMailchimp, "optouts-to-mailchimp", false, "an opt-out in accessplanit (MarketingOptIn true → false) unsubscribes the member; nothing ever subscribes anyone again (implies --consent)")
	fs.BoolVar(&c.optoutsToAccessplanit, "optouts-to-accessplanit", false, "an unsubscribe in Mailchimp clears the User's MarketingOptIn (implies --consent)")
	fs.StringVar(&c.statusField, "mailchimp-status-field", "", "accessplanit User property (such as CF_MailchimpStatus) that gets the member's Mailchimp status when it is blocked, unsubscribed or cleaned (empty: none, the default)")
	return c
}

// apply writes the given consent settings into in.
func (c *consentFlags) apply(in *apmc.Instance, given map[string]bool) {
	if given["mailchimp-status-field"] {
		in.MailchimpStatusField = strings.TrimSpace(c.statusField)
	}
	if given["consent"] && !c.on {
		in.Consent = nil
		return
	}
	if !slices.ContainsFunc(consentFlagNames, func(n string) bool { return given[n] }) {
		return
	}
	if in.Consent == nil {
		in.Consent = &apmc.Consent{}
	}
	if given["double-opt-in"] {
		in.Consent.DoubleOptIn = c.doubleOptIn
	}
	if given["not-opted-in"] {
		in.Consent.NotOptedIn = apmc.NotOptedIn(c.notOptedIn)
	}
	if given["optouts-to-mailchimp"] {
		in.Consent.OptoutsToMailchimp = c.optoutsToMailchimp
	}
	if given["optouts-to-accessplanit"] {
		in.Consent.OptoutsToAccessplanit = c.optoutsToAccessplanit
	}
}

// checkTargets resolves the group mappings against the audience's interest
// categories and checks the marketing permission mappings against the
// audience's permissions, read from one member (Mailchimp lists them
// nowhere else). It describes both to w, so the operator sees what can be
// mapped, and refuses a mapping to a category or permission the audience
// does not have.
func checkTargets(ctx context.Context, mc *mailchimp.Client, listID string, ms []apmc.FieldMapping, w io.Writer) ([]apmc.FieldMapping, error) {
	cats, err := mc.InterestCategories(ctx, listID)
	if err != nil {
		return nil, fmt.Errorf("read the audience's groups: %w", err)
	}
	if len(cats) == 0 {
		fmt.Fprintln(w, "Mailchimp: the audience has no groups")
	}
	for _, c := range cats {
		names := make([]string, 0, len(c.Interests))
		for n := range c.Interests {
			names = append(names, n)
		}
		slices.Sort(names)
		fmt.Fprintf(w, "Mailchimp: group %q (%s): %s\n", c.Title, c.Type, strings.Join(names, ", "))
	}
	perms, found, err := mc.MarketingPermissions(ctx, listID)
	if err != nil {
		return nil, err
	}
	switch {
	case !found:
		fmt.Fprintln(w, "Mailchimp: the audience has no member to read its marketing permissions from (Mailchimp lists them only on members)")
	case len(perms) == 0:
		fmt.Fprintln(w, "Mailchimp: the audience has no marketing permissions")
	}
	for _, p := range perms {
		fmt.Fprintf(w, "Mailchimp: marketing permission %s: %s\n", p.ID, p.Text)
	}
	out := slices.Clone(ms)
	var problems []string
	for i, m := range out {
		switch {
		case m.IsGroup():
			resolved, err := apmc.ResolveGroup(m, cats)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			out[i] = resolved
		case m.IsPermission() && !found:
			problems = append(problems, fmt.Sprintf("%s: the audience has no member to read its marketing permissions from; add one, then map it", m.MergeTag))
		case m.IsPermission() && !slices.ContainsFunc(perms, func(p mailchimp.MarketingPermission) bool { return p.ID == m.PermissionID() }):
			problems = append(problems, fmt.Sprintf("%s: the audience has no such marketing permission", m.MergeTag))
		}
	}
	if len(problems) > 0 {
		return nil, apmc.Invalidf("invalid field mappings: %s", strings.Join(problems, "; "))
	}
	return out, nil
}

// describeConsent says in one line how an instance syncs consent.
func describeConsent(c *apmc.Consent) string {
	if c == nil {
		return "not synced (new members get the status if new)"
	}
	in := "opted in → subscribed"
	if c.DoubleOptIn {
		in = "opted in → pending (double opt-in)"
	}
	out := "not opted in → transactional"
	if c.NotOptedIn == apmc.NotOptedInSkip {
		out = "not opted in → not added"
	}
	onOff := map[bool]string{true: "on", false: "off"}
	return fmt.Sprintf("%s, %s; opt-outs to Mailchimp %s, to accessplanit %s", in, out, onOff[c.OptoutsToMailchimp], onOff[c.OptoutsToAccessplanit])
}

// checkStatusField refuses a mailchimp_status_field the platform's Users do
// not have or that the platform sets itself, and spells a custom field as
// the platform does. customFields is called only for a custom field.
func checkStatusField(in *apmc.Instance, customFields func() ([]accessplanit.CustomField, error)) error {
	f := in.MailchimpStatusField
	if f == "" {
		return nil
	}
	if std, ok := apmc.StandardUserField(f); ok {
		if std.ReadOnly || std.Kind != apmc.KindText {
			return apmc.Invalidf("mailchimp_status_field %s: the platform sets it, or it holds no text; choose a text field such as a CF_ custom field", f)
		}
		return nil
	}
	if !apmc.IsCustomField(f) {
		return apmc.Invalidf("mailchimp_status_field %s: accessplanit Users have no such field (custom fields are named CF_<Name>)", f)
	}
	list, err := customFields()
	if err != nil {
		return fmt.Errorf("read accessplanit's custom fields: %w", err)
	}
	for _, c := range list {
		if strings.EqualFold(c.Name, f) {
			in.MailchimpStatusField = c.Name
			return nil
		}
	}
	return apmc.Invalidf("mailchimp_status_field %s: accessplanit has no User custom field of that name", f)
}
