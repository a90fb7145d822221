package apmc

import (
	"strings"
	"testing"
	"time"
)

func TestDecidePair(t *testing.T) {
	in := testInstance()
	user := func(id, first string, at time.Time) User {
		return User{ID: id, UpdatedAt: at, Fields: map[string]string{"ID": id, "Forenames": first, "Surname": "Lovelace", "Email": "ada@example.com", "Phone": "01234 567890"}}
	}
	member := func(first, status string, at time.Time) *Member {
		return &Member{Email: "ada@example.com", Status: status, LastChanged: at, MergeFields: Values{"FNAME": first, "LNAME": "Lovelace", "PHONE": "01234 567890", "BIRTHDAY": "03/07"}}
	}
	ada := user("1", "Ada", t0)
	ada.Fields["DOB"] = "1985-03-07T00:00:00"
	augusta := ada
	augusta.Fields = map[string]string{"ID": "1", "Forenames": "Augusta", "Surname": "Lovelace", "Email": "ada@example.com", "Phone": "01234 567890", "DOB": "1985-03-07T00:00:00"}
	augusta.UpdatedAt = t0.Add(time.Hour)
	synced := Contact{InstanceID: "inst1", Email: "ada@example.com", UserID: "1", Version: 2}
	synced.Accessplanit.Values, _, _ = MapToMailchimp(in.Mappings, ada)
	synced.Mailchimp.Values = synced.Accessplanit.Values
	noEmail := user("2", "Ada", t0)
	noEmail.Fields["Email"] = "not-an-email"

	tests := []struct {
		name       string
		mutate     func(*Instance)
		pair       Pair
		wantAction PairAction
		wantWinner Side
		wantReason string
	}{
		{name: "only in accessplanit", pair: Pair{Users: []User{ada}}, wantAction: PairCreateInMailchimp},
		{name: "only in Mailchimp", pair: Pair{Member: member("Ada", "subscribed", t0)}, wantAction: PairCreateInAccessplanit},
		{name: "same values", pair: Pair{Users: []User{ada}, Member: member("Ada", "subscribed", t0)}, wantAction: PairUnchanged},
		{name: "unsubscribed member is blocked", pair: Pair{Users: []User{augusta}, Member: member("Ada", "unsubscribed", t0)}, wantAction: PairBlocked, wantReason: "never re-subscribed"},
		{name: "cleaned member is blocked", pair: Pair{Member: member("Ada", "cleaned", t0)}, wantAction: PairBlocked},
		{name: "invalid email", pair: Pair{Users: []User{noEmail}}, wantAction: PairInvalid, wantReason: "not an email"},
		{name: "missing surname", pair: Pair{Users: []User{{ID: "3", Fields: map[string]string{"Forenames": "A", "Email": "ada@example.com"}}}}, wantAction: PairInvalid, wantReason: "LNAME"},
		{name: "forenames longer than accessplanit holds", pair: Pair{Member: member(strings.Repeat("A", 51), "subscribed", t0)}, wantAction: PairInvalid, wantReason: "Forenames is 51 characters, accessplanit holds at most 50"},
		{name: "accessplanit changed since the last sync", pair: Pair{Users: []User{augusta}, Member: member("Ada", "subscribed", t0), Contact: synced}, wantAction: PairUpdateInMailchimp},
		{name: "Mailchimp changed since the last sync", pair: Pair{Users: []User{ada}, Member: member("Augusta", "subscribed", t0), Contact: synced}, wantAction: PairUpdateInAccessplanit},
		{name: "never synced: newest wins (accessplanit)", pair: Pair{Users: []User{augusta}, Member: member("Ada", "subscribed", t0)}, wantAction: PairConflict, wantWinner: SideAccessplanit},
		{name: "never synced: newest wins (Mailchimp)", pair: Pair{Users: []User{ada}, Member: member("Augusta", "subscribed", t0.Add(time.Hour))}, wantAction: PairConflict, wantWinner: SideMailchimp},
		{name: "a clock ahead does not win", pair: Pair{Users: []User{augusta}, Member: member("Ada", "subscribed", t0.AddDate(10, 0, 0))}, wantAction: PairConflict, wantWinner: SideAccessplanit},
		{name: "setting: Mailchimp wins", mutate: func(in *Instance) { in.ConflictWinner = WinnerMailchimp }, pair: Pair{Users: []User{augusta}, Member: member("Ada", "subscribed", t0)}, wantAction: PairConflict, wantWinner: SideMailchimp},
		{name: "one-way instance: no conflict", mutate: func(in *Instance) { in.Direction = DirectionToMailchimp }, pair: Pair{Users: []User{ada}, Member: member("Augusta", "subscribed", t0.Add(time.Hour))}, wantAction: PairUpdateInMailchimp},
		{name: "one-way instance plans nothing the other way", mutate: func(in *Instance) { in.Direction = DirectionToMailchimp }, pair: Pair{Member: member("Ada", "subscribed", t0)}, wantAction: PairUnchanged, wantReason: "only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInstance()
			if tt.mutate != nil {
				tt.mutate(&in)
			}
			tt.pair.Email = "ada@example.com"
			got := DecidePair(in, tt.pair, t0.Add(2*time.Hour))
			if got.Action != tt.wantAction || got.Winner != tt.wantWinner || !strings.Contains(got.Reason, tt.wantReason) {
				t.Errorf("DecidePair() = %s winner %q %q, want %s winner %q %q", got.Action, got.Winner, got.Reason, tt.wantAction, tt.wantWinner, tt.wantReason)
			}
			side, writes := got.Writes()
			switch {
			case side == SideMailchimp && len(got.ToMailchimp) == 0, side == SideAccessplanit && len(got.ToAccessplanit) == 0:
				t.Errorf("plan writes %s but carries no values: %+v", side, got)
			case !writes && (got.ToMailchimp != nil || got.ToAccessplanit != nil):
				t.Errorf("plan writes nothing but carries values: %+v", got)
			}
		})
	}
}

func TestDecidePairSharedEmails(t *testing.T) {
	older := User{ID: "7", UpdatedAt: t0, Fields: map[string]string{"Forenames": "Old", "Surname": "Er", "Email": "ada@example.com"}}
	newer := User{ID: "9", UpdatedAt: t0.Add(time.Minute), Fields: map[string]string{"Forenames": "New", "Surname": "Er", "Email": "ada@example.com"}}
	got := DecidePair(testInstance(), Pair{Email: "ada@example.com", Users: []User{older, newer}}, t0.Add(time.Hour))
	if got.UserID != "9" || len(got.SharedWith) != 1 || got.SharedWith[0] != "7" || got.ToMailchimp["FNAME"] != "New" {
		t.Errorf("DecidePair(shared email) = user %s shared %v values %v, want user 9 (most recent), shared [7], FNAME New", got.UserID, got.SharedWith, got.ToMailchimp)
	}
	counts := PlanCounts([]PairPlan{got})
	if len(counts) != len(PairActions) || counts[PairCreateInMailchimp] != 1 {
		t.Errorf("PlanCounts() = %v, want every action counted and one create", counts)
	}
}
