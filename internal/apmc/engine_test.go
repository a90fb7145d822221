package apmc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"
)

const secretKey = "mc-secret-key-0123456789-us21"

func testInstance() Instance {
	return Instance{
		ID: "inst1", Name: "Test", State: StateEnabled, ConfigVersion: 3, Direction: DirectionBoth,
		MailchimpListID: "list1", StatusIfNew: "subscribed",
		AccessplanitBaseURL: "https://example.test/ap/api/v2/", DefaultCompanyID: "77",
		Mappings: append(DefaultMappings(), FieldMapping{MergeTag: "PHONE", Field: "Phone", Type: TypePhone},
			FieldMapping{MergeTag: "BIRTHDAY", Field: "DOB", Type: TypeBirthday, Direction: DirectionToMailchimp}),
		Secrets: Secrets{MailchimpAPIKey: secretKey, AccessplanitAPIKey: "ap-secret-key-abcdef"},
	}
}

type fixture struct {
	engine *Engine
	mc     *memMailchimp
	ap     *memAccessplanit
	cs     *memContacts
	ex     *memExecutions
	in     memInstances
}

func newFixture(t *testing.T, mutate func(*Instance)) *fixture {
	t.Helper()
	in := testInstance()
	if mutate != nil {
		mutate(&in)
	}
	f := &fixture{
		mc: &memMailchimp{members: map[string]Member{}},
		ap: &memAccessplanit{users: map[string]User{}},
		cs: newMemContacts(),
		ex: &memExecutions{},
		in: memInstances{in.ID: in},
	}
	f.engine = &Engine{Instances: f.in, Contacts: f.cs, Executions: f.ex, Connector: memConnector{f.mc, f.ap}, Now: func() time.Time { return t0 }}
	return f
}

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func apUser(id, first, last, email string, at time.Time) *User {
	return &User{ID: id, UpdatedAt: at, UpdatedByID: "ui-user", Fields: map[string]string{
		"ID": id, "Forenames": first, "Surname": last, "Email": email, "Phone": "01234 567890", "DOB": "1985-03-07T00:00:00",
	}}
}

func apChange(id string, u *User) Change {
	return Change{ID: id, InstanceID: "inst1", Source: SideAccessplanit, Event: EventUpdated, ReceivedAt: t0, User: u, UserID: u.ID, Email: u.Email()}
}

func TestApplyToMailchimp(t *testing.T) {
	tests := []struct {
		name       string
		instance   func(*Instance)
		setup      func(f *fixture)
		change     Change
		attempt    int
		wantStatus Status
		wantErr    bool // a retry is asked for
		wantWrites int
		wantReason string
		wantError  string
	}{
		{
			name:       "new user is written",
			change:     apChange("c1", apUser("1", "Ada", "Lovelace", "Ada@Example.com", t0)),
			wantStatus: StatusSucceeded, wantWrites: 1,
		},
		{
			name: "unchanged mapped fields write nothing",
			setup: func(f *fixture) {
				f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
			},
			change:     apChange("c1", apUser("1", "Ada", "Lovelace", "ada@example.com", t0.Add(time.Minute))),
			wantStatus: StatusSucceeded, wantWrites: 1, wantReason: "no mapped field changed",
		},
		{
			name: "changed field is written",
			setup: func(f *fixture) {
				f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
			},
			change:     apChange("c1", apUser("1", "Augusta", "Lovelace", "ada@example.com", t0.Add(time.Minute))),
			wantStatus: StatusSucceeded, wantWrites: 2,
		},
		{
			name: "an older state read back than one already applied is skipped",
			setup: func(f *fixture) {
				f.engine.Now = func() time.Time { return t0.Add(2 * time.Minute) }
				f.apply(t, apChange("c0", apUser("1", "Augusta", "Lovelace", "ada@example.com", t0.Add(time.Minute))))
			},
			change:     apChange("c1", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)),
			wantStatus: StatusSkipped, wantWrites: 1, wantReason: "stale",
		},
		{
			name:       "missing email fails permanently",
			change:     apChange("c1", apUser("1", "Ada", "Lovelace", "", t0)),
			wantStatus: StatusFailed, wantError: "mandatory value missing: EMAIL",
		},
		{
			name:       "missing surname fails permanently",
			change:     apChange("c1", apUser("1", "Ada", "", "ada@example.com", t0)),
			wantStatus: StatusFailed, wantError: "LNAME",
		},
		{
			name: "deletes never cascade",
			change: func() Change {
				c := apChange("c1", apUser("1", "Ada", "L", "ada@example.com", t0))
				c.Event = EventDeleted
				return c
			}(),
			wantStatus: StatusSkipped, wantReason: "deletes never cascade",
		},
		{
			name:       "one-way instance ignores the other direction",
			instance:   func(in *Instance) { in.Direction = DirectionToAccessplanit },
			change:     apChange("c1", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)),
			wantStatus: StatusSkipped, wantReason: "ignored",
		},
		{
			name:       "paused instance holds the change",
			instance:   func(in *Instance) { in.State = StatePaused },
			change:     apChange("c1", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)),
			wantStatus: StatusHeld,
		},
		{
			name:       "paused instance set to discard skips the change",
			instance:   func(in *Instance) { in.State = StatePaused; in.DiscardWhilePaused = true },
			change:     apChange("c1", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)),
			wantStatus: StatusSkipped, wantReason: "discard",
		},
		{
			name:       "transient Mailchimp failure asks for a retry",
			setup:      func(f *fixture) { f.mc.fail = []error{&apiError{status: 503}} },
			change:     apChange("c1", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)),
			wantStatus: StatusFailed, wantErr: true, wantWrites: 1, wantError: "503",
		},
		{
			name:       "permanent Mailchimp failure is not retried",
			setup:      func(f *fixture) { f.mc.fail = []error{&apiError{status: 400}} },
			change:     apChange("c1", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)),
			wantStatus: StatusFailed, wantWrites: 1, wantError: "400",
		},
		{
			name: "user read from accessplanit when the delivery carries only an id",
			setup: func(f *fixture) {
				f.ap.users["9"] = *apUser("9", "Grace", "Hopper", "grace@example.com", t0)
			},
			change:     Change{ID: "c1", InstanceID: "inst1", Source: SideAccessplanit, Event: EventCreated, ReceivedAt: t0, UserID: "9"},
			wantStatus: StatusSucceeded, wantWrites: 1,
		},
		{
			name:       "user gone by the time the change is applied",
			change:     Change{ID: "c1", InstanceID: "inst1", Source: SideAccessplanit, Event: EventUpdated, ReceivedAt: t0, UserID: "404"},
			wantStatus: StatusSkipped, wantReason: "no longer exists",
		},
		{
			name: "unknown instance fails permanently",
			change: func() Change {
				c := apChange("c1", apUser("1", "Ada", "L", "ada@example.com", t0))
				c.InstanceID = "nope"
				return c
			}(),
			wantStatus: StatusFailed, wantError: "does not exist",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.instance)
			if tt.setup != nil {
				tt.setup(f)
			}
			attempt := tt.attempt
			if attempt == 0 {
				attempt = 1
			}
			f.platformHolds(tt.change)
			exec, err := f.engine.Apply(context.Background(), Delivery{Change: tt.change, Attempt: attempt})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Apply() error = %v, want retry %v", err, tt.wantErr)
			}
			if exec.Status != tt.wantStatus {
				t.Errorf("Apply() status = %s (reason %q, error %q), want %s", exec.Status, exec.Reason, exec.Error, tt.wantStatus)
			}
			if f.mc.writes != tt.wantWrites {
				t.Errorf("Mailchimp writes = %d, want %d", f.mc.writes, tt.wantWrites)
			}
			if !strings.Contains(exec.Reason, tt.wantReason) {
				t.Errorf("Apply() reason = %q, want it to contain %q", exec.Reason, tt.wantReason)
			}
			if !strings.Contains(exec.Error, tt.wantError) || (tt.wantError == "") != (exec.Error == "") {
				t.Errorf("Apply() error text = %q, want %q", exec.Error, tt.wantError)
			}
			last := f.ex.list[len(f.ex.list)-1]
			if last.ID != exec.ID || last.Flow != FlowToMailchimp || last.ExpiresAt.IsZero() {
				t.Errorf("recorded execution = %+v, want the returned one with flow and TTL", last)
			}
		})
	}
}

// platformHolds makes an honest delivery true: accessplanit holds the User
// the delivery describes, and Mailchimp the member, as a real platform does
// when it sends a webhook. Forged deliveries are applied without it.
func (f *fixture) platformHolds(c Change) {
	if c.Source == SideAccessplanit && c.User != nil && c.Event != EventDeleted {
		u := *c.User
		u.Fields = maps.Clone(u.Fields)
		f.ap.users[u.ID] = u
	}
	if c.Source == SideMailchimp && (c.Event == EventProfile || c.Event == EventSubscribe) && c.Merges != nil {
		m := f.mc.members[c.Email]
		m.Email = c.Email
		if m.Status == "" {
			m.Status = "subscribed"
		}
		m.MergeFields = c.Merges.WithoutEmail()
		m.LastChanged = c.OccurredAt
		f.mc.members[c.Email] = m
	}
}

func (f *fixture) apply(t *testing.T, c Change) Execution {
	t.Helper()
	f.platformHolds(c)
	exec, err := f.engine.Apply(context.Background(), Delivery{Change: c, Attempt: 1})
	if err != nil {
		t.Fatalf("Apply(%s) error = %v", c.ID, err)
	}
	return exec
}

func TestApplyWritesMappedValues(t *testing.T) {
	f := newFixture(t, nil)
	f.apply(t, apChange("c1", apUser("1", "Ada", "Lovelace", "Ada@Example.com", t0)))
	m, ok := f.mc.members["ada@example.com"]
	if !ok {
		t.Fatalf("member ada@example.com not written; members = %v", f.mc.members)
	}
	want := Values{"FNAME": "Ada", "LNAME": "Lovelace", "PHONE": "01234 567890", "BIRTHDAY": "03/07"}
	if !m.MergeFields.Equal(want) {
		t.Errorf("merge fields = %v, want %v", m.MergeFields, want)
	}
	if m.Status != "subscribed" {
		t.Errorf("status = %q, want subscribed (status_if_new)", m.Status)
	}
}

func TestRetriesLinkToTheOriginal(t *testing.T) {
	f := newFixture(t, nil)
	f.mc.fail = []error{&apiError{status: 429}, &apiError{status: 500}}
	c := apChange("c1", apUser("1", "Ada", "Lovelace", "ada@example.com", t0))
	f.platformHolds(c)
	var execs []Execution
	for attempt := 1; attempt <= 3; attempt++ {
		exec, err := f.engine.Apply(context.Background(), Delivery{Change: c, Attempt: attempt})
		if (err != nil) != (attempt < 3) {
			t.Fatalf("attempt %d: Apply() error = %v", attempt, err)
		}
		execs = append(execs, exec)
	}
	if execs[0].Origin != OriginWebhook || execs[1].Origin != OriginRetry || execs[2].Attempt != 3 {
		t.Errorf("origins/attempts = %s/%d, %s/%d, %s/%d", execs[0].Origin, execs[0].Attempt, execs[1].Origin, execs[1].Attempt, execs[2].Origin, execs[2].Attempt)
	}
	for _, e := range execs[1:] {
		if e.OriginalID != execs[0].ID {
			t.Errorf("retry %s original = %q, want %q", e.ID, e.OriginalID, execs[0].ID)
		}
	}
	if execs[2].Status != StatusSucceeded {
		t.Errorf("third attempt status = %s, want succeeded", execs[2].Status)
	}
}

func TestLastAttemptIsNotRetryable(t *testing.T) {
	f := newFixture(t, nil)
	f.mc.fail = []error{errors.New("connection reset")}
	c := apChange("c1", apUser("1", "A", "B", "a@example.com", t0))
	f.platformHolds(c)
	exec, err := f.engine.Apply(context.Background(), Delivery{Change: c, Attempt: DefaultMaxAttempts})
	if err == nil {
		t.Fatal("Apply() on the last attempt returned nil error; the queue must still see the failure to move it to the DLQ")
	}
	if exec.Retryable || exec.Status != StatusFailed || !strings.Contains(strings.Join(logMessages(exec), "\n"), "dead-letter") {
		t.Errorf("last attempt = retryable %v status %s logs %v", exec.Retryable, exec.Status, logMessages(exec))
	}
}

func TestSecretsNeverRecorded(t *testing.T) {
	f := newFixture(t, nil)
	f.mc.fail = []error{errors.New("dial https://user:" + secretKey + "@us21.api.mailchimp.com: refused")}
	c := apChange("c1", apUser("1", "A", "B", "a@example.com", t0))
	f.platformHolds(c)
	exec, _ := f.engine.Apply(context.Background(), Delivery{Change: c, Attempt: 1})
	text := exec.Error + strings.Join(logMessages(exec), "")
	for _, s := range exec.Steps {
		text += s.Error
	}
	if strings.Contains(text, secretKey) {
		t.Errorf("execution contains the API key: %q", text)
	}
	if !strings.Contains(exec.Error, "[redacted]") {
		t.Errorf("execution error = %q, want the key redacted", exec.Error)
	}
}

func logMessages(e Execution) []string {
	var out []string
	for _, l := range e.Logs {
		out = append(out, l.Level+": "+l.Message)
	}
	return out
}

// A change received again without a recorded first attempt waited behind an
// earlier change of its contact: it is recorded as its first attempt.
func TestHeldBackChangeIsItsFirstAttempt(t *testing.T) {
	f := newFixture(t, nil)
	c := apChange("held", apUser("1", "Ada", "Lovelace", "ada@example.com", t0))
	exec, err := f.engine.Apply(context.Background(), Delivery{Change: c, Attempt: 3})
	if err != nil {
		t.Fatalf("Apply() error = %v", err)
	}
	if exec.ID != FirstExecutionID(c) || exec.Attempt != 1 || exec.Origin != OriginWebhook || exec.OriginalID != "" {
		t.Errorf("execution = id %s attempt %d origin %s original %q; want the first attempt's id, attempt 1, webhook, no original", exec.ID, exec.Attempt, exec.Origin, exec.OriginalID)
	}
	if !strings.Contains(strings.Join(logMessages(exec), "\n"), "waited behind") {
		t.Errorf("logs = %v, want the wait explained", logMessages(exec))
	}
}

// TestSuppressedEchoIsRecordedSmall applies a write and its echo: the echo's
// execution keeps its steps, log and reason but not the delivery's values or
// the steps' outputs.
func TestSuppressedEchoIsRecordedSmall(t *testing.T) {
	f := newFixture(t, nil)
	u := apUser("1", "Ada", "Lovelace", "ada@example.com", t0)
	f.apply(t, apChange("c1", u))
	m := f.mc.members["ada@example.com"]
	echo := Change{ID: "e1", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com",
		Merges: Values{"FNAME": m.MergeFields["FNAME"], "LNAME": m.MergeFields["LNAME"], "PHONE": m.MergeFields["PHONE"], "BIRTHDAY": m.MergeFields["BIRTHDAY"]}}
	exec := f.apply(t, echo)
	if exec.Status != StatusSuppressed {
		t.Fatalf("echo status = %s (%s), want suppressed", exec.Status, exec.Reason)
	}
	stored := f.ex.list[len(f.ex.list)-1]
	if stored.ID != exec.ID || stored.Change == nil || stored.Change.Merges != nil || stored.Change.Email != "ada@example.com" {
		t.Errorf("recorded echo change = %+v, want its ids and email without the delivered values", stored.Change)
	}
	if len(stored.Steps) == 0 || stored.Reason == "" || len(stored.Logs) == 0 {
		t.Errorf("recorded echo = %+v, want its steps, reason and log", stored)
	}
	for _, s := range stored.Steps {
		if s.Output != nil {
			t.Errorf("recorded echo step %s output = %v, want none", s.Name, s.Output)
		}
	}
	first := f.ex.list[0]
	if first.Change == nil || first.Change.UserID != "1" || len(first.Steps[0].Output) == 0 {
		t.Errorf("recorded write = %+v, want its change and steps' outputs", first)
	}
}

// TestForgedDeliveryIsRecordedSmall applies a forged Mailchimp delivery as
// large as the webhook endpoint takes, for an address not in the audience:
// it is skipped, and its execution keeps neither the delivered merges nor
// more of its text than a few hundred bytes a field.
func TestForgedDeliveryIsRecordedSmall(t *testing.T) {
	f := newFixture(t, nil)
	merges := Values{}
	for i := range 400 {
		merges[fmt.Sprintf("JUNK%03d", i)] = strings.Repeat("x", 300)
	}
	forged := Change{ID: "forged", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0,
		Email: "nobody@example.com", Reason: strings.Repeat("r", 4000), Merges: merges}
	exec, err := f.engine.Apply(context.Background(), Delivery{Change: forged, Attempt: 1})
	if err != nil {
		t.Fatalf("Apply(forged) error = %v", err)
	}
	if exec.Status != StatusSkipped {
		t.Errorf("Apply(forged) status = %s (%s), want skipped", exec.Status, exec.Reason)
	}
	stored := f.ex.list[len(f.ex.list)-1]
	if stored.Change == nil || stored.Change.Merges != nil || len(stored.Change.Reason) > maxRecordedText {
		t.Fatalf("recorded change = %+v, want no merges and a reason of at most %d bytes", stored.Change, maxRecordedText)
	}
	raw, err := json.Marshal(stored)
	if err != nil {
		t.Fatalf("encode execution: %v", err)
	}
	if len(raw) > 4096 {
		t.Errorf("recorded execution of a forged delivery = %d bytes, want at most 4096", len(raw))
	}
}

// TestReplayOfRecordedChange replays an execution from what it recorded:
// without the delivered User, the replay reads the User back and writes
// what accessplanit holds now.
func TestReplayOfRecordedChange(t *testing.T) {
	f := newFixture(t, nil)
	f.apply(t, apChange("c1", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
	recorded := f.ex.list[len(f.ex.list)-1].Change
	if recorded == nil || recorded.User != nil || recorded.UserID != "1" {
		t.Fatalf("recorded change = %+v, want the User's ID without the User", recorded)
	}
	u := f.ap.users["1"]
	u.Fields["Forenames"], u.UpdatedAt = "Augusta Ada", t0.Add(time.Minute)
	f.ap.users["1"] = u
	replay := *recorded
	replay.ID, replay.Origin, replay.OriginalExecutionID = "c1#replay", OriginReplay, f.ex.list[len(f.ex.list)-1].ID
	exec, err := f.engine.Apply(context.Background(), Delivery{Change: replay, Attempt: 1})
	if err != nil {
		t.Fatalf("Apply(replay) error = %v", err)
	}
	if exec.Status != StatusSucceeded {
		t.Errorf("replay status = %s (%s), want succeeded", exec.Status, exec.Reason)
	}
	if got := f.mc.members["ada@example.com"].MergeFields["FNAME"]; got != "Augusta Ada" {
		t.Errorf("FNAME after the replay = %q, want %q (read back from accessplanit)", got, "Augusta Ada")
	}
}
