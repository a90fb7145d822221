package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
)

// settingsFlags are an instance's settings as given on the command line.
// given records which flags were set, so configure changes only those.
type settingsFlags struct {
	name, id           string
	mailchimpAPIKey    string
	mailchimpBaseURL   string
	accessplanitURL    string
	accessplanitAPIKey string
	accessplanitUserID string
	list, direction    string
	defaultCompany     string
	statusIfNew        string
	discardWhilePaused bool
	emailChanges       string
	conflictWinner     string
	apRequestsPerHour  int
	retentionDays      int
	notificationURL    string
	maps, unmaps       multiFlag
	consent            *consentFlags
	given              map[string]bool
}

func addSettingsFlags(fs *flag.FlagSet) *settingsFlags {
	s := &settingsFlags{}
	fs.StringVar(&s.name, "name", "", "the instance's name")
	fs.StringVar(&s.mailchimpAPIKey, "mailchimp-api-key", "", "Mailchimp API key (or APMC_MAILCHIMP_API_KEY)")
	fs.StringVar(&s.mailchimpBaseURL, "mailchimp-base-url", "", "Mailchimp API base URL ending in /3.0 (for simulators; default from the key)")
	fs.StringVar(&s.accessplanitURL, "accessplanit-url", "", "accessplanit API v2 base URL, such as https://host/instance/api/v2/")
	fs.StringVar(&s.accessplanitAPIKey, "accessplanit-api-key", "", "accessplanit API key (or APMC_ACCESSPLANIT_API_KEY)")
	fs.StringVar(&s.accessplanitUserID, "accessplanit-user-id", "", "the accessplanit User owning the API key (sharpens echo detection)")
	fs.StringVar(&s.list, "list", "", "Mailchimp audience id (default: the account's only audience)")
	fs.StringVar(&s.direction, "direction", "", "both, accessplanit_to_mailchimp or mailchimp_to_accessplanit (default both)")
	fs.StringVar(&s.defaultCompany, "default-company", "", "accessplanit Account (Company) id for users created from Mailchimp")
	fs.StringVar(&s.statusIfNew, "status-if-new", "", "status of contacts new to Mailchimp: subscribed, pending, unsubscribed or transactional (default subscribed)")
	fs.BoolVar(&s.discardWhilePaused, "discard-while-paused", false, "drop changes arriving while paused instead of holding them")
	fs.StringVar(&s.conflictWinner, "conflict-winner", "", "which side wins first sync's conflicts (both sides differ, never synced): newest (default), accessplanit or mailchimp")
	fs.IntVar(&s.apRequestsPerHour, "accessplanit-requests-per-hour", 0, "how many accessplanit writes an hour first sync may make (default 1000; 0 restores the default)")
	fs.StringVar(&s.emailChanges, "mailchimp-email-changes", "", "what a confirmed email change in Mailchimp does in accessplanit: new_user (default: the new address is a new User), follow (the linked User's login email changes: anyone holding the contact's Mailchimp profile link could then move it) or ignore")
	fs.IntVar(&s.retentionDays, "retention-days", 0, "days executions are kept (default 30)")
	fs.StringVar(&s.notificationURL, "notification-url", "", "https URL (a Slack-compatible incoming webhook) told when the instance starts failing, recovers, is paused or resumed, or has dead letters; stored sealed; --notification-url '' clears it (or APMC_NOTIFICATION_URL, applied when the flag is not given)")
	fs.Var(&s.maps, "map", "field mapping TAG=Field[:type][:direction] (repeatable), e.g. BIRTHDAY=DOB:birthday:accessplanit_to_mailchimp; group:Category=Field selects interests of a Mailchimp group, permission:ID=Field sets a GDPR marketing permission")
	fs.Var(&s.unmaps, "unmap", "merge tag whose mapping is removed (repeatable; configure)")
	s.consent = addConsentFlags(fs)
	return s
}

// record notes which flags were set on the command line. A notification
// URL may come from APMC_NOTIFICATION_URL instead, so it stays out of the
// shell's history: the flag, when given, wins.
func (s *settingsFlags) record(fs *flag.FlagSet) {
	s.given = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { s.given[f.Name] = true })
	if v := os.Getenv("APMC_NOTIFICATION_URL"); v != "" && !s.given["notification-url"] {
		s.notificationURL, s.given["notification-url"] = v, true
	}
}

// apply writes the given settings into in (connections aside).
func (s *settingsFlags) apply(in *apmc.Instance) error {
	if s.given["name"] {
		in.Name = s.name
	}
	if s.given["notification-url"] {
		in.Secrets.NotificationURL = s.notificationURL
	}
	if s.given["direction"] {
		in.Direction = apmc.Direction(s.direction)
	}
	if s.given["status-if-new"] {
		in.StatusIfNew = s.statusIfNew
	}
	if s.given["accessplanit-user-id"] {
		in.AccessplanitUserID = s.accessplanitUserID
	}
	if s.given["conflict-winner"] {
		in.ConflictWinner = apmc.ConflictWinner(s.conflictWinner)
	}
	if s.given["accessplanit-requests-per-hour"] {
		in.AccessplanitRequestsPerHour = s.apRequestsPerHour
	}
	if s.given["mailchimp-email-changes"] {
		in.MailchimpEmailChanges = apmc.EmailChanges(s.emailChanges)
	}
	if s.given["discard-while-paused"] {
		in.DiscardWhilePaused = s.discardWhilePaused
	}
	if s.given["retention-days"] {
		if s.retentionDays < 1 {
			return fmt.Errorf("-retention-days must be at least 1, not %d", s.retentionDays)
		}
		in.RetentionDays = s.retentionDays
	}
	s.consent.apply(in, s.given)
	var add []apmc.FieldMapping
	for _, raw := range s.maps {
		m, err := parseMapping(raw)
		if err != nil {
			return err
		}
		add = append(add, m)
	}
	ms, err := applyMappings(in.Mappings, add, s.unmaps)
	if err != nil {
		return err
	}
	in.Mappings = ms
	return nil
}

// connectAndCheck checks the instance against both live systems: the keys
// work, the audience and default Account exist, and every mapping fits the
// audience's merge fields and accessplanit's User fields. It fills in the
// audience and Account when each system has only one, and normalises the
// accessplanit URL.
func connectAndCheck(ctx context.Context, t *target, in *apmc.Instance, wantList, wantCompany string, w io.Writer) error {
	mc, err := connectMailchimp(ctx, t.HTTP, in.Secrets.MailchimpAPIKey, in.MailchimpBaseURL)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "Mailchimp: API key accepted")
	// The account names the Mailchimp request budget the instance shares.
	if in.MailchimpAccountID, err = mc.AccountID(ctx); err != nil {
		return fmt.Errorf("read the Mailchimp account: %w", err)
	}
	lists, err := mc.Lists(ctx)
	if err != nil {
		return fmt.Errorf("read Mailchimp audiences: %w", err)
	}
	if wantList == "" && len(lists) > 1 && wizard != nil {
		if wantList, err = wizard.pickList(lists); err != nil {
			return err
		}
	}
	if in.MailchimpListID, err = chooseList(lists, wantList); err != nil {
		return err
	}
	mergeFields, err := mc.MergeFields(ctx, in.MailchimpListID)
	if err != nil {
		return fmt.Errorf("read the audience's merge fields: %w", err)
	}
	ap, companies, err := connectAccessplanit(ctx, t.HTTP, in.AccessplanitBaseURL, in.Secrets.AccessplanitAPIKey)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "accessplanit: API key accepted ("+strconv.Itoa(len(companies))+" accounts)")
	in.AccessplanitBaseURL = ap.BaseURL()
	needed := in.Direction != apmc.DirectionToMailchimp
	if wantCompany == "" && needed && len(companies) > 1 && wizard != nil {
		if wantCompany, err = wizard.pickCompany(companies); err != nil {
			return err
		}
	}
	if in.DefaultCompanyID, err = chooseCompany(companies, wantCompany, needed); err != nil {
		return err
	}
	ms, err := checkMappings(in.Mappings, in.Direction, mergeFields, func() ([]accessplanit.CustomField, error) { return ap.CustomFields(ctx) })
	if err != nil {
		return err
	}
	if in.Mappings, err = checkTargets(ctx, mc, in.MailchimpListID, ms, w); err != nil {
		return err
	}
	if err := checkStatusField(in, func() ([]accessplanit.CustomField, error) { return ap.CustomFields(ctx) }); err != nil {
		return err
	}
	if err := checkActivityFields(*in, mergeFields); err != nil {
		return err
	}
	return in.Validate()
}
