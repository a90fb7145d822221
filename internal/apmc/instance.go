package apmc

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Direction says which way an instance syncs.
type Direction string

// The directions an instance can be set to.
const (
	DirectionToMailchimp    Direction = "accessplanit_to_mailchimp"
	DirectionToAccessplanit Direction = "mailchimp_to_accessplanit"
	DirectionBoth           Direction = "both"
)

// Allows reports whether the direction lets changes flow along f.
func (d Direction) Allows(f Flow) bool {
	return d == DirectionBoth || string(d) == string(f)
}

// State is whether an instance applies changes.
type State string

// Instance states.
const (
	StateEnabled State = "enabled"
	StatePaused  State = "paused"
)

// EmailChanges is what an email change made in Mailchimp does in accessplanit,
// where the email is the User's login.
type EmailChanges string

// The settings for Mailchimp email changes.
const (
	// EmailChangesFollow changes the linked User's email, once Mailchimp
	// confirms the change. Opt in knowingly: Mailchimp lets whoever holds a
	// contact's profile link (every campaign carries one, and campaigns get
	// forwarded) change the address, and the User's email is its login.
	EmailChangesFollow EmailChanges = "follow"
	// EmailChangesNewUser treats the new address as a new User, as the
	// platform itself does; the old User is left as it is. The default.
	EmailChangesNewUser EmailChanges = "new_user"
	// EmailChangesIgnore leaves accessplanit as it is.
	EmailChangesIgnore EmailChanges = "ignore"
)

// EmailChanges returns the instance's setting for Mailchimp email changes.
func (in Instance) EmailChanges() EmailChanges {
	if in.MailchimpEmailChanges == "" {
		return EmailChangesNewUser
	}
	return in.MailchimpEmailChanges
}

// Instance pairs one accessplanit platform with one Mailchimp audience.
type Instance struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	State         State     `json:"state"`
	ConfigVersion int       `json:"config_version"`
	Direction     Direction `json:"direction"`
	// CreatedAt is when the instance was stored, and the sync began to take
	// its webhooks; zero for instances stored before it was kept.
	// Reconciliation repairs what changed since (its first run's baseline).
	CreatedAt time.Time `json:"created_at,omitzero"`

	// Mailchimp side.
	MailchimpListID string `json:"mailchimp_list_id"`
	// MailchimpBaseURL overrides the data centre URL derived from the API key
	// (used for simulators); empty means https://{dc}.api.mailchimp.com/3.0.
	MailchimpBaseURL string `json:"mailchimp_base_url,omitempty"`
	// MailchimpAccountID is the Mailchimp account the API key belongs to
	// (the API root's account_id), read when the instance is configured.
	// Instances on one account share its budget of requests in flight;
	// empty means unknown, and the key alone names the budget.
	MailchimpAccountID string `json:"mailchimp_account_id,omitempty"`
	// StatusIfNew is the subscription status given to contacts created in
	// Mailchimp: "subscribed", "pending", "unsubscribed" or "transactional".
	StatusIfNew string `json:"status_if_new"`

	// accessplanit side.
	AccessplanitBaseURL string `json:"accessplanit_base_url"`
	// DefaultCompanyID is the Account (Company) users created from Mailchimp join.
	DefaultCompanyID string `json:"default_company_id,omitempty"`
	// AccessplanitUserID is the user that owns the accessplanit API key; the
	// platform records the service's writes against it (UpdatedByID), so a
	// User last changed by it holds nothing new: its change is an echo.
	AccessplanitUserID string `json:"accessplanit_user_id,omitempty"`
	// MailchimpEmailChanges says what a confirmed email change in Mailchimp
	// does to the linked accessplanit User; empty means EmailChangesNewUser.
	MailchimpEmailChanges EmailChanges `json:"mailchimp_email_changes,omitempty"`
	// ConflictWinner decides first sync's conflicts; empty means newest.
	ConflictWinner ConflictWinner `json:"conflict_winner,omitempty"`
	// AccessplanitRequestsPerHour paces first sync's writes to accessplanit;
	// 0 means the default.
	AccessplanitRequestsPerHour int `json:"accessplanit_requests_per_hour,omitempty"`

	Mappings []FieldMapping `json:"mappings"`
	// Consent is how marketing consent is synced; nil: it is not.
	Consent *Consent `json:"consent,omitempty"`
	// MailchimpStatusField is the accessplanit User property (such as
	// CF_MailchimpStatus) the member's Mailchimp status is written to when
	// it blocks or ends marketing; empty: none.
	MailchimpStatusField string `json:"mailchimp_status_field,omitempty"`

	// DiscardWhilePaused drops changes that arrive while paused instead of holding them.
	DiscardWhilePaused bool `json:"discard_while_paused,omitempty"`
	// RetentionDays is how long executions are kept (default 30).
	RetentionDays int `json:"retention_days,omitempty"`
	// RequireSignature refuses Mailchimp deliveries without a valid
	// X-Mailchimp-Signature, even before a signing secret is stored.
	RequireSignature bool `json:"require_signature,omitempty"`

	// NotificationURLSet says whether the instance has a notification URL
	// (the URL itself is a secret, in Secrets).
	NotificationURLSet bool `json:"notification_url_set,omitempty"`
	// Health is what the service last knew of the instance's health; it is
	// shown through the health view, not with the configuration.
	Health Health `json:"-"`
	// Tags and Activity make the member's tags and training activity
	// fields follow accessplanit (tags.go, activity.go).
	Tags     TagSettings      `json:"tags,omitzero"`
	Activity ActivitySettings `json:"training_activity,omitzero"`

	// Secrets are only filled in by reads meant for syncing, never for display.
	Secrets Secrets `json:"-"`
}

// Secrets are an instance's credentials. They are sealed at rest and must
// never reach a log, an execution or an API response.
type Secrets struct {
	MailchimpAPIKey        string
	AccessplanitAPIKey     string
	AccessplanitToken      string // path token of the accessplanit webhook URL
	MailchimpToken         string // path token of the Mailchimp webhook URL
	MailchimpSigningSecret string // optional: verifies X-Mailchimp-Signature
	// NotificationURL is optional: a Slack-compatible incoming webhook
	// called when the instance's health changes. Such a URL lets anyone
	// who holds it post to the channel, so it is a secret too.
	NotificationURL string
}

// Values lists the secret values that are set, for redaction.
func (s Secrets) Values() []string {
	var out []string
	for _, v := range []string{s.MailchimpAPIKey, s.AccessplanitAPIKey, s.AccessplanitToken, s.MailchimpToken, s.MailchimpSigningSecret, s.NotificationURL} {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// DefaultRetentionDays is used when an instance sets none.
const DefaultRetentionDays = 30

// Retention returns the instance's execution retention in days.
func (in Instance) Retention() int {
	if in.RetentionDays > 0 {
		return in.RetentionDays
	}
	return DefaultRetentionDays
}

// Validate checks an instance's settings and mappings. It is called before
// an instance is saved, so a bad configuration never reaches the engine.
func (in Instance) Validate() error {
	var problems []string
	if strings.TrimSpace(in.ID) == "" {
		problems = append(problems, "id is required")
	}
	switch in.Direction {
	case DirectionToMailchimp, DirectionToAccessplanit, DirectionBoth:
	default:
		problems = append(problems, fmt.Sprintf("direction %q must be one of %s, %s, %s", in.Direction, DirectionToMailchimp, DirectionToAccessplanit, DirectionBoth))
	}
	switch in.State {
	case StateEnabled, StatePaused:
	default:
		problems = append(problems, fmt.Sprintf("state %q must be %s or %s", in.State, StateEnabled, StatePaused))
	}
	switch in.StatusIfNew {
	case "subscribed", "pending", "unsubscribed", "transactional":
	default:
		problems = append(problems, fmt.Sprintf("status_if_new %q must be subscribed, pending, unsubscribed or transactional", in.StatusIfNew))
	}
	switch in.MailchimpEmailChanges {
	case "", EmailChangesFollow, EmailChangesNewUser, EmailChangesIgnore:
	default:
		problems = append(problems, fmt.Sprintf("mailchimp_email_changes %q must be %s, %s or %s", in.MailchimpEmailChanges, EmailChangesFollow, EmailChangesNewUser, EmailChangesIgnore))
	}
	if in.AccessplanitRequestsPerHour < 0 || in.AccessplanitRequestsPerHour > 1_000_000 {
		problems = append(problems, fmt.Sprintf("accessplanit_requests_per_hour %d must be between 0 (the default) and 1000000", in.AccessplanitRequestsPerHour))
	}
	switch in.ConflictWinner {
	case "", WinnerNewest, WinnerAccessplanit, WinnerMailchimp:
	default:
		problems = append(problems, fmt.Sprintf("conflict_winner %q must be %s, %s or %s", in.ConflictWinner, WinnerNewest, WinnerAccessplanit, WinnerMailchimp))
	}
	if in.MailchimpListID == "" {
		problems = append(problems, "mailchimp_list_id is required")
	}
	if err := CheckBaseURL(in.AccessplanitBaseURL); err != nil {
		problems = append(problems, "accessplanit_base_url "+err.Error())
	}
	if in.MailchimpBaseURL != "" {
		if err := CheckBaseURL(in.MailchimpBaseURL); err != nil {
			problems = append(problems, "mailchimp_base_url "+err.Error())
		}
	}
	if in.Secrets.NotificationURL != "" {
		if err := CheckNotificationURL(in.Secrets.NotificationURL); err != nil {
			problems = append(problems, "notification URL "+err.Error())
		}
	}
	if in.Direction != DirectionToMailchimp && in.DefaultCompanyID == "" {
		problems = append(problems, "default_company_id is required when contacts flow to accessplanit")
	}
	if in.Consent != nil {
		problems = append(problems, in.Consent.validate()...)
	}
	if in.MailchimpStatusField != "" && !fieldPattern.MatchString(in.MailchimpStatusField) {
		problems = append(problems, fmt.Sprintf("mailchimp_status_field %q is not an accessplanit property name", in.MailchimpStatusField))
	}
	if err := ValidateMappings(in.Mappings, in.Direction); err != nil {
		problems = append(problems, err.Error())
	}
	problems = append(problems, append(in.Tags.validate(), in.Activity.validate()...)...)
	if len(problems) > 0 {
		return Invalidf("invalid instance: %s", strings.Join(problems, "; "))
	}
	return nil
}

// String hides the secrets, so a formatted instance never shows them.
func (Secrets) String() string { return "[secrets redacted]" }

// GoString hides the secrets in %#v too.
func (s Secrets) GoString() string { return s.String() }

// LogValue hides the secrets from log/slog.
func (s Secrets) LogValue() slog.Value { return slog.StringValue(s.String()) }
