package apmc

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"
)

// echoResult is what applying an echo inside the write it echoes gave.
type echoResult struct {
	exec Execution
	err  error
}

// The echo of a write can be applied before the change that made it saves
// its state when the two are not queued in order (the bulk lane). Taken
// for a real change, it would write back what the service wrote, undoing an
// edit made in between. An announced write makes the echo wait instead;
// when the state is not saved within the bound, the echo is tried again
// later and then recognised: the edit made in between survives.
func TestEchoBeforeItsStateIsSavedWritesNothing(t *testing.T) {
	tests := []struct {
		name string
		// run sets up the write whose echo comes early and applies the
		// change that makes it; early is the echo's result.
		run func(t *testing.T, f *fixture) (echo Change, early echoResult)
		// edited checks that the edit made in between survived
		// everywhere once every delivery was applied.
		edited func(f *fixture) bool
	}{
		{
			name: "Mailchimp echo of a bulk-lane change",
			run: func(t *testing.T, f *fixture) (Change, echoResult) {
				f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
				var echo Change
				var early echoResult
				f.mc.onWrite = func(m Member) {
					f.mc.onWrite = nil
					// Staff change the first name again while the write is
					// made; that edit's webhook is on its way.
					u := f.ap.users["1"]
					u.Fields = maps.Clone(u.Fields)
					u.Fields["Forenames"] = "Augustine"
					u.UpdatedAt = t0.Add(2 * time.Second)
					f.ap.users["1"] = u
					echo = Change{ID: "echo", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com", Merges: maps.Clone(m.MergeFields)}
					early.exec, early.err = f.engine.Apply(context.Background(), Delivery{Change: echo, Attempt: 1})
				}
				u := apUser("1", "Augusta", "Lovelace", "ada@example.com", t0.Add(time.Second))
				f.platformHolds(apChange("c1", u))
				// Applied as a queue batch is: with the batch's reads.
				reads := f.engine.ReadBatch(context.Background(), []Change{apChange("c1", u)})
				if exec, err := f.engine.Apply(context.Background(), Delivery{Change: apChange("c1", u), Attempt: 1, Reads: reads, Batch: &Batch{}, Unordered: true}); err != nil || exec.Status != StatusSucceeded {
					t.Fatalf("Apply(change from the bulk lane) = %s %v %q", exec.Status, err, exec.Error)
				}
				return echo, early
			},
			edited: func(f *fixture) bool {
				return f.ap.users["1"].Fields["Forenames"] == "Augustine" && f.mc.members["ada@example.com"].MergeFields["FNAME"] == "Augustine"
			},
		},
		{
			name: "accessplanit echo of a write from Mailchimp",
			run: func(t *testing.T, f *fixture) (Change, echoResult) {
				f.engine.BulkLane = true
				f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
				var echo Change
				var early echoResult
				f.ap.onWrite = func(u User) {
					f.ap.onWrite = nil
					// A marketer changes the first name again in Mailchimp
					// while the write is made.
					m := f.mc.members["ada@example.com"]
					m.MergeFields = maps.Clone(m.MergeFields)
					m.MergeFields["FNAME"] = "Augustine"
					m.LastChanged = t0.Add(2 * time.Second)
					f.mc.members["ada@example.com"] = m
					u.Fields = maps.Clone(u.Fields)
					echo = Change{ID: "echo", InstanceID: "inst1", Source: SideAccessplanit, Event: EventUpdated, ReceivedAt: t0, User: &u, UserID: u.ID, Email: u.Email()}
					early.exec, early.err = f.engine.Apply(context.Background(), Delivery{Change: echo, Attempt: 1})
				}
				m := f.mc.members["ada@example.com"]
				m.MergeFields = maps.Clone(m.MergeFields)
				m.MergeFields["FNAME"] = "Augusta"
				m.LastChanged = t0.Add(time.Second)
				f.mc.members["ada@example.com"] = m
				mc := Change{ID: "m1", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com"}
				if exec, err := f.engine.Apply(context.Background(), Delivery{Change: mc, Attempt: 1}); err != nil || exec.Status != StatusSucceeded {
					t.Fatalf("Apply(Mailchimp edit) = %s %v %q", exec.Status, err, exec.Error)
				}
				return echo, early
			},
			edited: func(f *fixture) bool {
				return f.ap.users["1"].Fields["Forenames"] == "Augustine" && f.mc.members["ada@example.com"].MergeFields["FNAME"] == "Augustine"
			},
		},
		{
			name: "accessplanit echo of a write from Mailchimp, tags synced",
			run: func(t *testing.T, f *fixture) (Change, echoResult) {
				f.engine.BulkLane = true
				f.in["inst1"] = func() Instance { in := f.in["inst1"]; in.Tags = TagSettings{Sync: true}; return in }()
				u0 := apUser("1", "Ada", "Lovelace", "ada@example.com", t0)
				u0.Tags = []string{"Gold"}
				f.apply(t, apChange("c0", u0))
				var echo Change
				var early echoResult
				f.ap.onWrite = func(u User) {
					f.ap.onWrite = nil
					// A marketer changes the first name again in Mailchimp
					// while the write is made.
					m := f.mc.members["ada@example.com"]
					m.MergeFields = maps.Clone(m.MergeFields)
					m.MergeFields["FNAME"] = "Augustine"
					m.LastChanged = t0.Add(2 * time.Second)
					f.mc.members["ada@example.com"] = m
					u.Fields = maps.Clone(u.Fields)
					echo = Change{ID: "echo", InstanceID: "inst1", Source: SideAccessplanit, Event: EventUpdated, ReceivedAt: t0, User: &u, UserID: u.ID, Email: u.Email()}
					early.exec, early.err = f.engine.Apply(context.Background(), Delivery{Change: echo, Attempt: 1})
				}
				m := f.mc.members["ada@example.com"]
				m.MergeFields = maps.Clone(m.MergeFields)
				m.MergeFields["FNAME"] = "Augusta"
				m.LastChanged = t0.Add(time.Second)
				f.mc.members["ada@example.com"] = m
				mc := Change{ID: "m1", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com"}
				if exec, err := f.engine.Apply(context.Background(), Delivery{Change: mc, Attempt: 1}); err != nil || exec.Status != StatusSucceeded {
					t.Fatalf("Apply(Mailchimp edit) = %s %v %q", exec.Status, err, exec.Error)
				}
				return echo, early
			},
			edited: func(f *fixture) bool {
				return f.ap.users["1"].Fields["Forenames"] == "Augustine" && f.mc.members["ada@example.com"].MergeFields["FNAME"] == "Augustine"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.engine.InFlightWait = 100 * time.Millisecond
			echo, early := tt.run(t, f)
			if echo.ID == "" {
				t.Fatal("the write was not made")
			}
			if f.cs.announced == 0 {
				t.Fatal("the write was not announced")
			}
			// The echo came while the write's state was not saved: it
			// waited, wrote nothing, and is to be tried again.
			if early.err == nil || early.exec.Status != StatusFailed || !early.exec.Retryable || early.exec.Changed {
				t.Fatalf("early echo = %s retryable=%v changed=%v err=%v, want a failure tried again, nothing written", early.exec.Status, early.exec.Retryable, early.exec.Changed, early.err)
			}
			if !strings.Contains(early.exec.Error, "in flight") {
				t.Errorf("early echo error = %q, want it to say the write is in flight", early.exec.Error)
			}
			// Tried again once the state is saved: an echo.
			exec, err := f.engine.Apply(context.Background(), Delivery{Change: echo, Attempt: 2})
			if err != nil || exec.Status != StatusSuppressed {
				t.Fatalf("echo tried again = %s %v %q, want suppressed", exec.Status, err, exec.Reason)
			}
			// The edit made in between arrives through its own webhook.
			if echo.Source == SideMailchimp {
				u := f.ap.users["1"]
				f.apply(t, apChange("c2", &u))
			} else {
				f.apply(t, Change{ID: "m2", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com"})
			}
			if !tt.edited(f) {
				t.Errorf("accessplanit Forenames %q, Mailchimp FNAME %q: want the edit made during the write (Augustine) on both sides",
					f.ap.users["1"].Fields["Forenames"], f.mc.members["ada@example.com"].MergeFields["FNAME"])
			}
		})
	}
}

// A change waiting for an announced write goes on as soon as the state is
// saved, within the bound.
func TestWaitForAnnouncedWriteEndsWhenSaved(t *testing.T) {
	f := newFixture(t, nil)
	f.engine.InFlightWait = 5 * time.Second
	f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
	c, err := f.cs.Contact(context.Background(), "inst1", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	written := Values{"EMAIL": "ada@example.com", "FNAME": "Augusta", "LNAME": "Lovelace", "PHONE": "01234 567890", "BIRTHDAY": "03/07"}
	if err := f.cs.AnnounceWrites(context.Background(), []Announcement{{Key: ContactKey{InstanceID: "inst1", Email: "ada@example.com"}, Side: SideMailchimp, Fingerprint: written.Fingerprint(), At: t0}}); err != nil {
		t.Fatal(err)
	}
	saved := make(chan error, 1)
	go func() {
		time.Sleep(150 * time.Millisecond)
		c.Mailchimp.Values = written
		c.Mailchimp.RecordWrite(written.Fingerprint(), t0)
		saved <- f.cs.SaveContact(context.Background(), c)
	}()
	echo := Change{ID: "echo", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com", Merges: written.WithoutEmail()}
	start := time.Now()
	exec, err := f.engine.Apply(context.Background(), Delivery{Change: echo, Attempt: 1})
	if serr := <-saved; serr != nil {
		t.Fatal(serr)
	}
	if err != nil || exec.Status != StatusSuppressed {
		t.Fatalf("echo = %s %v %q %q, want suppressed after waiting", exec.Status, err, exec.Reason, exec.Error)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
		t.Errorf("the echo waited %s, want from the save (150 ms) to well under the bound", d)
	}
}

// A Mailchimp change from the bulk queue never creates a User: a Mailchimp
// email change of its address may still be queued on the changes queue,
// and applied after it, the profile change would make a second User. It is
// handed back for the changes queue, unrecorded; from there it creates the
// User. A change from the bulk queue that only updates a User is applied.
func TestBulkQueueChangeCreatesNoUser(t *testing.T) {
	f := newFixture(t, nil)
	f.engine.BulkLane = true
	f.mc.members["grace@example.com"] = Member{Email: "grace@example.com", Status: "subscribed", MergeFields: Values{"FNAME": "Grace", "LNAME": "Hopper"}}
	sub := Change{ID: "s1", InstanceID: "inst1", Source: SideMailchimp, Event: EventSubscribe, ReceivedAt: t0, Email: "grace@example.com"}
	_, err := f.engine.Apply(context.Background(), Delivery{Change: sub, Attempt: 1, Unordered: true})
	if !errors.Is(err, ErrOrderedQueue) {
		t.Fatalf("Apply(subscribe from the bulk queue) error = %v, want ErrOrderedQueue", err)
	}
	if len(f.ap.users) != 0 || f.ap.writes != 0 || len(f.ex.list) != 0 {
		t.Fatalf("after a change handed back: %d Users, %d writes, %d executions; want none", len(f.ap.users), f.ap.writes, len(f.ex.list))
	}
	exec, err := f.engine.Apply(context.Background(), Delivery{Change: sub, Attempt: 1})
	if err != nil || exec.Status != StatusSucceeded || len(f.ap.users) != 1 {
		t.Fatalf("Apply(subscribe from the changes queue) = %s %v %q, %d Users; want the User created", exec.Status, err, exec.Error, len(f.ap.users))
	}
	// An update of that User from the bulk queue is moved too, and applied
	// from the changes queue.
	m := f.mc.members["grace@example.com"]
	m.MergeFields = Values{"FNAME": "Grace", "LNAME": "Murray Hopper"}
	m.LastChanged = t0.Add(time.Minute)
	f.mc.members["grace@example.com"] = m
	f.engine.Now = func() time.Time { return t0.Add(2 * time.Minute) }
	edit := Change{ID: "p1", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "grace@example.com"}
	writes, records := f.ap.writes, len(f.ex.list)
	if _, err := f.engine.Apply(context.Background(), Delivery{Change: edit, Attempt: 1, Unordered: true}); !errors.Is(err, ErrOrderedQueue) {
		t.Fatalf("Apply(profile from the bulk queue) error = %v, want ErrOrderedQueue", err)
	}
	if f.ap.writes != writes || len(f.ex.list) != records {
		t.Fatalf("a moved change wrote %d times and recorded %d executions, want none", f.ap.writes-writes, len(f.ex.list)-records)
	}
	exec, err = f.engine.Apply(context.Background(), Delivery{Change: edit, Attempt: 1})
	if err != nil || exec.Status != StatusSucceeded || !exec.Changed {
		t.Fatalf("Apply(profile from the changes queue) = %s changed=%v %v %q, want the User updated", exec.Status, exec.Changed, err, exec.Error)
	}
	for _, u := range f.ap.users {
		if u.Fields["Surname"] != "Murray Hopper" {
			t.Errorf("Surname = %q, want Murray Hopper", u.Fields["Surname"])
		}
	}
	// A bulk-queue change that writes nothing to accessplanit is applied
	// where it is: the same profile again holds what the User holds.
	again := edit
	again.ID = "p2"
	if exec, err := f.engine.Apply(context.Background(), Delivery{Change: again, Attempt: 1, Unordered: true}); err != nil || exec.Changed {
		t.Errorf("Apply(bulk-queue profile that changes nothing) = %s changed=%v %v, want applied, nothing written", exec.Status, exec.Changed, err)
	}
}

// The echo of a write made by a changes-queue change may reach the bulk
// queue (the Mailchimp endpoint in a burst sends its deliveries there) and
// be applied before the change saved its state. It is not taken for a real
// change: would it write to accessplanit, it is moved to the changes queue,
// behind the change, and there recognised as the echo; an edit made in
// between survives.
func TestEchoViaTheBulkQueueMovesBehindItsChange(t *testing.T) {
	f := newFixture(t, nil)
	f.engine.BulkLane = true
	f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
	var echo Change
	var earlyErr error
	f.mc.onWrite = func(m Member) {
		f.mc.onWrite = nil
		u := f.ap.users["1"]
		u.Fields = maps.Clone(u.Fields)
		u.Fields["Forenames"] = "Augustine"
		u.UpdatedAt = t0.Add(2 * time.Second)
		f.ap.users["1"] = u
		echo = Change{ID: "echo", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com", Merges: maps.Clone(m.MergeFields)}
		_, earlyErr = f.engine.Apply(context.Background(), Delivery{Change: echo, Attempt: 1, Unordered: true})
	}
	u := apUser("1", "Augusta", "Lovelace", "ada@example.com", t0.Add(time.Second))
	f.platformHolds(apChange("c1", u))
	if exec, err := f.engine.Apply(context.Background(), Delivery{Change: apChange("c1", u), Attempt: 1}); err != nil || exec.Status != StatusSucceeded {
		t.Fatalf("Apply(change from the changes queue) = %s %v %q", exec.Status, err, exec.Error)
	}
	if !errors.Is(earlyErr, ErrOrderedQueue) {
		t.Fatalf("early echo from the bulk queue: error %v, want ErrOrderedQueue (moved behind its change)", earlyErr)
	}
	if got := f.ap.users["1"].Fields["Forenames"]; got != "Augustine" {
		t.Fatalf("Forenames after the early echo = %q, want the edit made meanwhile (Augustine) kept", got)
	}
	if exec, err := f.engine.Apply(context.Background(), Delivery{Change: echo, Attempt: 1}); err != nil || exec.Status != StatusSuppressed {
		t.Fatalf("echo applied from the changes queue = %s %v %q, want suppressed", exec.Status, err, exec.Reason)
	}
	edited := f.ap.users["1"]
	f.apply(t, apChange("c2", &edited))
	if got := f.mc.members["ada@example.com"].MergeFields["FNAME"]; got != "Augustine" {
		t.Errorf("Mailchimp FNAME = %q, want Augustine", got)
	}
}

// A Mailchimp trigger that writes nothing to accessplanit announces
// nothing: a leftover announcement would hold the User's next changes for
// minutes (and a forged trigger could renew it).
func TestTriggerThatWritesNothingAnnouncesNothing(t *testing.T) {
	f := newFixture(t, func(in *Instance) {
		// A mapping that only flows to accessplanit always asks for a write,
		// which the User's current values then make unnecessary.
		in.Mappings = append(in.Mappings, FieldMapping{MergeTag: "SOURCE", Field: "JobTitle", Direction: DirectionToAccessplanit})
	})
	f.engine.BulkLane = true
	u := apUser("1", "Ada", "Lovelace", "ada@example.com", t0)
	u.Fields["JobTitle"] = "Analyst"
	f.apply(t, apChange("c0", u))
	m := f.mc.members["ada@example.com"]
	m.MergeFields = maps.Clone(m.MergeFields)
	m.MergeFields["SOURCE"] = "Analyst"
	f.mc.members["ada@example.com"] = m
	// The echo of the service's write comes first and is suppressed.
	if exec := f.apply(t, Change{ID: "m0", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com"}); exec.Status != StatusSuppressed {
		t.Fatalf("echo = %s %q, want suppressed", exec.Status, exec.Reason)
	}
	announced := f.cs.announced
	exec := f.apply(t, Change{ID: "m1", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com"})
	if exec.Status != StatusSucceeded || exec.Changed {
		t.Fatalf("trigger = %s changed=%v %q %q, want succeeded with nothing written", exec.Status, exec.Changed, exec.Reason, exec.Error)
	}
	if f.cs.announced != announced {
		t.Errorf("announcements = %d, want none for a trigger that writes nothing", f.cs.announced-announced)
	}
	if c, _ := f.cs.Contact(context.Background(), "inst1", "ada@example.com"); c.Accessplanit.InFlight != nil {
		t.Errorf("contact holds an announcement %+v after a trigger that wrote nothing", c.Accessplanit.InFlight)
	}
}

// A change moved from the bulk queue numbers its attempts on from those it
// had there: an execution recorded there is never overwritten, and one that
// was never recorded (moved before it was applied) is its first.
func TestMovedChangeNumbersItsAttemptsOn(t *testing.T) {
	f := newFixture(t, nil)
	u := apUser("1", "Ada", "Lovelace", "ada@example.com", t0)
	f.platformHolds(apChange("c1", u))
	moved := apChange("c1", u)
	moved.PriorAttempts = 1
	exec, err := f.engine.Apply(context.Background(), Delivery{Change: moved, Attempt: 1})
	if err != nil || exec.Attempt != 1 || exec.ID != FirstExecutionID(moved) {
		t.Fatalf("moved before it was applied: attempt %d id %s err %v, want its first execution", exec.Attempt, exec.ID, err)
	}
	f.mc.fail = []error{&apiError{status: 503}}
	u2 := apUser("1", "Augusta", "Lovelace", "ada@example.com", t0.Add(time.Second))
	f.platformHolds(apChange("c2", u2))
	c2 := apChange("c2", u2)
	first, err := f.engine.Apply(context.Background(), Delivery{Change: c2, Attempt: 1})
	if err == nil || first.Attempt != 1 {
		t.Fatalf("first attempt = %d %v, want a transient failure", first.Attempt, err)
	}
	c2.PriorAttempts = 2
	exec, err = f.engine.Apply(context.Background(), Delivery{Change: c2, Attempt: 1})
	if err != nil || exec.Attempt != 3 || exec.ID == first.ID || exec.Origin != OriginRetry {
		t.Fatalf("moved after two receives = attempt %d id %s origin %s err %v, want attempt 3, a new execution", exec.Attempt, exec.ID, exec.Origin, err)
	}
	n := 0
	for _, e := range f.ex.list {
		if e.ID == first.ID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the first execution was recorded %d times, want once (not overwritten)", n)
	}
}

// A change that names its User by ID only (as a booking does) is queued in
// another message group than the member's address, so its Mailchimp echo
// is not queued behind it: its write is announced, whichever queue it came
// from. One that names the address is not (its echo queues behind it).
func TestWriteOfAnIDOnlyChangeIsAnnounced(t *testing.T) {
	f := newFixture(t, nil)
	f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
	if f.cs.announced != 0 {
		t.Fatalf("a change naming the address announced %d writes, want 0", f.cs.announced)
	}
	u := apUser("1", "Augusta", "Lovelace", "ada@example.com", t0.Add(time.Second))
	f.platformHolds(apChange("c1", u))
	byID := Change{ID: "c1", InstanceID: "inst1", Source: SideAccessplanit, Event: EventUpdated, ReceivedAt: t0, UserID: "1"}
	if exec, err := f.engine.Apply(context.Background(), Delivery{Change: byID, Attempt: 1}); err != nil || exec.Status != StatusSucceeded || !exec.Changed {
		t.Fatalf("Apply(change by User ID) = %s changed=%v %v %q", exec.Status, exec.Changed, err, exec.Error)
	}
	if f.cs.announced != 1 {
		t.Errorf("a change naming the User by ID only announced %d writes, want 1", f.cs.announced)
	}
}

// Whatever a Mailchimp change from the bulk queue would write to
// accessplanit moves it to the changes queue: the status field set back
// to subscribed, and an email change (which never takes the bulk lane but
// might come through it on a redrive).
func TestBulkQueueMailchimpChangeWritesNoStatusNorEmail(t *testing.T) {
	f := newFixture(t, func(in *Instance) { in.MailchimpStatusField = "CF_MailchimpStatus" })
	u := apUser("1", "Ada", "Lovelace", "ada@example.com", t0)
	u.Fields["CF_MailchimpStatus"] = "unsubscribed"
	f.apply(t, apChange("c0", u))
	// The echo of the service's write first.
	f.apply(t, Change{ID: "e0", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com", Merges: f.mc.members["ada@example.com"].MergeFields})
	sub := Change{ID: "s1", InstanceID: "inst1", Source: SideMailchimp, Event: EventSubscribe, ReceivedAt: t0, Email: "ada@example.com"}
	m := f.mc.members["ada@example.com"]
	m.Status = "subscribed"
	f.mc.members["ada@example.com"] = m
	writes := f.ap.writes
	if _, err := f.engine.Apply(context.Background(), Delivery{Change: sub, Attempt: 1, Unordered: true}); !errors.Is(err, ErrOrderedQueue) {
		t.Errorf("subscribe from the bulk queue that would set the status field: error %v, want ErrOrderedQueue", err)
	}
	if f.ap.writes != writes {
		t.Errorf("accessplanit writes = %d, want none from the bulk queue", f.ap.writes-writes)
	}
	up := Change{ID: "u1", InstanceID: "inst1", Source: SideMailchimp, Event: EventUpEmail, ReceivedAt: t0, Email: "ada@example.com", NewEmail: "ada.l@example.com"}
	if _, err := f.engine.Apply(context.Background(), Delivery{Change: up, Attempt: 1, Unordered: true}); !errors.Is(err, ErrOrderedQueue) {
		t.Errorf("email change from the bulk queue: error %v, want ErrOrderedQueue", err)
	}
}
