package apmc

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMapToMailchimp(t *testing.T) {
	ms := append(DefaultMappings(),
		FieldMapping{MergeTag: "PHONE", Field: "Phone", Type: TypePhone},
		FieldMapping{MergeTag: "BIRTHDAY", Field: "DOB", Type: TypeBirthday, Direction: DirectionToMailchimp},
		FieldMapping{MergeTag: "BDAYTEXT", Field: "CF_Birthday", Type: TypeBirthday},
		FieldMapping{MergeTag: "JOINED", Field: "CF_Joined", Type: TypeDate},
		FieldMapping{MergeTag: "SCORE", Field: "CF_Score", Type: TypeNumber},
		FieldMapping{MergeTag: "COMPANY", Field: "MainCompanyName", Direction: DirectionToMailchimp},
		FieldMapping{MergeTag: "BACK", Field: "CF_Back", Direction: DirectionToAccessplanit},
	)
	base := map[string]string{"Forenames": "Ada", "Surname": "Lovelace", "Email": " Ada@Example.COM "}
	with := func(kv ...string) User {
		f := map[string]string{}
		for k, v := range base {
			f[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			f[kv[i]] = kv[i+1]
		}
		return User{ID: "7", Fields: f}
	}
	long := strings.Repeat("é", 200) // 400 bytes
	tests := []struct {
		name     string
		user     User
		want     Values
		warnings int
		wantErr  string
	}{
		{name: "mandatory only", user: with(), want: Values{"EMAIL": "ada@example.com", "FNAME": "Ada", "LNAME": "Lovelace"}},
		{name: "birthday from a DOB date-time", user: with("DOB", "1985-03-07T00:00:00"), want: Values{"EMAIL": "ada@example.com", "FNAME": "Ada", "LNAME": "Lovelace", "BIRTHDAY": "03/07"}},
		{name: "birthday from MM/DD text", user: with("CF_Birthday", "12/31"), want: Values{"EMAIL": "ada@example.com", "FNAME": "Ada", "LNAME": "Lovelace", "BDAYTEXT": "12/31"}},
		{name: "bad birthday left out with a warning", user: with("CF_Birthday", "31/12"), want: Values{"EMAIL": "ada@example.com", "FNAME": "Ada", "LNAME": "Lovelace"}, warnings: 1},
		{name: "date and number", user: with("CF_Joined", "2024-02-29T10:00:00", "CF_Score", "42.5"), want: Values{"EMAIL": "ada@example.com", "FNAME": "Ada", "LNAME": "Lovelace", "JOINED": "2024-02-29", "SCORE": "42.5"}},
		{name: "non-numeric number left out", user: with("CF_Score", "lots"), want: Values{"EMAIL": "ada@example.com", "FNAME": "Ada", "LNAME": "Lovelace"}, warnings: 1},
		{name: "read-only field flows to Mailchimp; reverse-only does not", user: with("MainCompanyName", "Acme", "CF_Back", "x"), want: Values{"EMAIL": "ada@example.com", "FNAME": "Ada", "LNAME": "Lovelace", "COMPANY": "Acme"}},
		{name: "long text cut at a character boundary", user: with("Phone", long), want: Values{"EMAIL": "ada@example.com", "FNAME": "Ada", "LNAME": "Lovelace", "PHONE": strings.Repeat("é", 127)}, warnings: 1},
		{name: "no email", user: with("Email", ""), wantErr: "mandatory value missing: EMAIL (from Email)"},
		{name: "no names", user: with("Forenames", " ", "Surname", ""), wantErr: "FNAME (from Forenames), LNAME (from Surname)"},
		{name: "not an email", user: with("Email", "ada at example"), wantErr: "is not an email address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings, err := MapToMailchimp(ms, tt.user)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !IsPermanent(err) {
					t.Fatalf("MapToMailchimp() error = %v, want a permanent error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("MapToMailchimp() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("MapToMailchimp() values (-want +got):\n%s", diff)
			}
			if len(warnings) != tt.warnings {
				t.Errorf("MapToMailchimp() warnings = %q, want %d", warnings, tt.warnings)
			}
		})
	}
}

func TestMapToAccessplanit(t *testing.T) {
	ms := append(DefaultMappings(),
		FieldMapping{MergeTag: "BIRTHDAY", Field: "CF_Birthday", Type: TypeBirthday},
		FieldMapping{MergeTag: "JOINED", Field: "CF_Joined", Type: TypeDate},
		FieldMapping{MergeTag: "COMPANY", Field: "MainCompanyName", Direction: DirectionToMailchimp},
	)
	tests := []struct {
		name    string
		merges  Values
		want    map[string]string
		wantErr string
	}{
		{name: "names and email", merges: Values{"EMAIL": "Grace@Example.com", "FNAME": "Grace", "LNAME": "Hopper", "COMPANY": "ignored"},
			want: map[string]string{"Email": "grace@example.com", "Forenames": "Grace", "Surname": "Hopper"}},
		{name: "birthday to text and date to date-time", merges: Values{"EMAIL": "g@example.com", "FNAME": "G", "LNAME": "H", "BIRTHDAY": "04/01", "JOINED": "2020-01-02"},
			want: map[string]string{"Email": "g@example.com", "Forenames": "G", "Surname": "H", "CF_Birthday": "04/01", "CF_Joined": "2020-01-02T00:00:00"}},
		{name: "first name missing", merges: Values{"EMAIL": "g@example.com", "LNAME": "H"}, wantErr: "mandatory value missing: FNAME"},
		{name: "names at accessplanit's limits", merges: Values{"EMAIL": strings.Repeat("g", 68) + "@example.com", "FNAME": strings.Repeat("é", 50), "LNAME": strings.Repeat("H", 40)},
			want: map[string]string{"Email": strings.Repeat("g", 68) + "@example.com", "Forenames": strings.Repeat("é", 50), "Surname": strings.Repeat("H", 40)}},
		{name: "first name too long", merges: Values{"EMAIL": "g@example.com", "FNAME": strings.Repeat("G", 51), "LNAME": "H"},
			wantErr: "Forenames is 51 characters, accessplanit holds at most 50"},
		{name: "last name too long", merges: Values{"EMAIL": "g@example.com", "FNAME": "G", "LNAME": strings.Repeat("H", 41)},
			wantErr: "Surname is 41 characters, accessplanit holds at most 40"},
		{name: "email too long", merges: Values{"EMAIL": strings.Repeat("g", 69) + "@example.com", "FNAME": "G", "LNAME": "H"},
			wantErr: "Email is 81 characters, accessplanit holds at most 80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := MapToAccessplanit(ms, tt.merges)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("MapToAccessplanit() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("MapToAccessplanit() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("MapToAccessplanit() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateMappings(t *testing.T) {
	tests := []struct {
		name    string
		extra   []FieldMapping
		drop    string
		dir     Direction
		wantErr string
	}{
		{name: "defaults are valid", dir: DirectionBoth},
		{name: "custom field", extra: []FieldMapping{{MergeTag: "REGION", Field: "CF_Region"}}, dir: DirectionBoth},
		{name: "birthday into DOB two-way refused", extra: []FieldMapping{{MergeTag: "BIRTHDAY", Field: "DOB", Type: TypeBirthday}}, dir: DirectionBoth, wantErr: "cannot fill the date field DOB"},
		{name: "birthday from DOB one-way allowed", extra: []FieldMapping{{MergeTag: "BIRTHDAY", Field: "DOB", Type: TypeBirthday, Direction: DirectionToMailchimp}}, dir: DirectionBoth},
		{name: "birthday into DOB fine when the instance only sends to Mailchimp", extra: []FieldMapping{{MergeTag: "BIRTHDAY", Field: "DOB", Type: TypeBirthday}}, dir: DirectionToMailchimp},
		{name: "birthday from an ID refused", extra: []FieldMapping{{MergeTag: "BIRTHDAY", Field: "MainCompanyID", Type: TypeBirthday, Direction: DirectionToMailchimp}}, dir: DirectionBoth, wantErr: "a birthday cannot come from MainCompanyID"},
		{name: "birthday from a flag refused", extra: []FieldMapping{{MergeTag: "BIRTHDAY", Field: "MarketingOptIn", Type: TypeBirthday, Direction: DirectionToMailchimp}}, dir: DirectionBoth, wantErr: "a birthday cannot come from MarketingOptIn"},
		{name: "birthday from a text field both ways allowed", extra: []FieldMapping{{MergeTag: "BIRTHDAY", Field: "JobTitle", Type: TypeBirthday}}, dir: DirectionBoth},
		{name: "read-only field two-way refused", extra: []FieldMapping{{MergeTag: "COMPANY", Field: "MainCompanyName"}}, dir: DirectionBoth, wantErr: "read-only"},
		{name: "missing LNAME", drop: TagLastName, dir: DirectionBoth, wantErr: "LNAME is mandatory"},
		{name: "duplicate tag", extra: []FieldMapping{{MergeTag: "FNAME", Field: "Title"}}, dir: DirectionBoth, wantErr: "mapped twice"},
		{name: "bad tag", extra: []FieldMapping{{MergeTag: "lower", Field: "Title"}}, dir: DirectionBoth, wantErr: "merge tag"},
		{name: "bad field", extra: []FieldMapping{{MergeTag: "X", Field: "no spaces"}}, dir: DirectionBoth, wantErr: "not an accessplanit property"},
		{name: "unknown type", extra: []FieldMapping{{MergeTag: "X", Field: "Title", Type: "imageurl"}}, dir: DirectionBoth, wantErr: "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ms []FieldMapping
			for _, m := range DefaultMappings() {
				if m.MergeTag != tt.drop {
					ms = append(ms, m)
				}
			}
			ms = append(ms, tt.extra...)
			err := ValidateMappings(ms, tt.dir)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateMappings() error = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !IsInvalid(err) {
				t.Fatalf("ValidateMappings() error = %v, want an invalid-input error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestValuesFingerprintIsStable(t *testing.T) {
	a := Values{"FNAME": "Ada", "LNAME": "L", "EMAIL": "a@example.com"}
	b := Values{"EMAIL": "a@example.com", "LNAME": "L", "FNAME": "Ada"}
	if a.Fingerprint() != b.Fingerprint() {
		t.Errorf("Fingerprint() differs for equal values")
	}
	b["FNAME"] = "Augusta"
	if a.Fingerprint() == b.Fingerprint() {
		t.Errorf("Fingerprint() equal for different values")
	}
	if got, want := b.Diff(a), []string{"FNAME"}; !cmp.Equal(got, want) {
		t.Errorf("Diff() = %v, want %v", got, want)
	}
}

// FuzzMapToMailchimp checks that mapping never panics, always returns either
// values with a valid email and the mandatory tags or a permanent error, and
// never produces a text value over Mailchimp's limit.
func FuzzMapToMailchimp(f *testing.F) {
	f.Add("Ada", "Lovelace", "ada@example.com", "1985-03-07T00:00:00", "12/31", "42")
	f.Add("", "", "", "", "", "")
	f.Add(strings.Repeat("é", 300), "x", "a@b.co", "not a date", "13/45", "1e999")
	f.Fuzz(func(t *testing.T, first, last, email, dob, bday, score string) {
		ms := append(DefaultMappings(),
			FieldMapping{MergeTag: "BIRTHDAY", Field: "DOB", Type: TypeBirthday, Direction: DirectionToMailchimp},
			FieldMapping{MergeTag: "BDAY2", Field: "CF_B", Type: TypeBirthday},
			FieldMapping{MergeTag: "SCORE", Field: "CF_S", Type: TypeNumber})
		u := User{ID: "1", Fields: map[string]string{"Forenames": first, "Surname": last, "Email": email, "DOB": dob, "CF_B": bday, "CF_S": score}}
		v, _, err := MapToMailchimp(ms, u)
		if err != nil {
			if !IsPermanent(err) {
				t.Fatalf("MapToMailchimp() error %v is not permanent", err)
			}
			return
		}
		if !LooksLikeEmail(v[TagEmail]) || v[TagFirstName] == "" || v[TagLastName] == "" {
			t.Fatalf("MapToMailchimp() = %v without the mandatory values", v)
		}
		for tag, x := range v {
			if len(x) > maxTextBytes {
				t.Fatalf("value of %s is %d bytes", tag, len(x))
			}
			if tag == "BIRTHDAY" || tag == "BDAY2" {
				if !birthdayPattern.MatchString(x) {
					t.Fatalf("birthday %q is not MM/DD", x)
				}
			}
		}
	})
}

// FuzzMapToAccessplanit checks that the reverse mapping never panics, and
// returns either the mandatory names or a permanent error, never a birthday
// that is not MM/DD nor a date that is not a date-time.
func FuzzMapToAccessplanit(f *testing.F) {
	f.Add("Grace", "Hopper", "grace@example.com", "12/09", "1906-12-09")
	f.Add("", "", "", "", "")
	f.Add("<b>", "\x00", "a@b", "99/99", "not a date")
	f.Fuzz(func(t *testing.T, first, last, email, bday, joined string) {
		ms := append(DefaultMappings(),
			FieldMapping{MergeTag: "BDAY", Field: "CF_Birthday", Type: TypeBirthday},
			FieldMapping{MergeTag: "JOINED", Field: "CF_Joined", Type: TypeDate})
		fields, _, err := MapToAccessplanit(ms, Values{"FNAME": first, "LNAME": last, "EMAIL": email, "BDAY": bday, "JOINED": joined})
		if err != nil {
			if !IsPermanent(err) {
				t.Fatalf("MapToAccessplanit() error %v is not permanent", err)
			}
			return
		}
		if fields[FieldForenames] == "" || fields[FieldSurname] == "" {
			t.Fatalf("MapToAccessplanit() = %v without the names", fields)
		}
		if b, ok := fields["CF_Birthday"]; ok && !birthdayPattern.MatchString(b) {
			t.Fatalf("birthday %q is not MM/DD", b)
		}
		if d, ok := fields["CF_Joined"]; ok {
			if _, err := time.Parse("2006-01-02T15:04:05", d); err != nil {
				t.Fatalf("date %q is not a date-time", d)
			}
		}
	})
}

func TestResolveFields(t *testing.T) {
	custom := []UserField{{Name: "CF_Region", Kind: KindText}, {Name: "CF_Joined", Kind: KindDate}}
	tests := []struct {
		name      string
		m         FieldMapping
		dir       Direction
		wantField string // the field as resolved; "" when refused
		wantErr   string
	}{
		{name: "standard field", m: FieldMapping{MergeTag: "PHONE", Field: "Phone"}, dir: DirectionBoth, wantField: "Phone"},
		{name: "custom field, platform spelling", m: FieldMapping{MergeTag: "REGION", Field: "cf_region"}, dir: DirectionBoth, wantField: "CF_Region"},
		{name: "unknown custom field", m: FieldMapping{MergeTag: "REGION", Field: "CF_Area"}, dir: DirectionBoth, wantErr: "no User custom field CF_Area"},
		{name: "unknown standard field", m: FieldMapping{MergeTag: "COMPANY", Field: "Bogus"}, dir: DirectionBoth, wantErr: "accessplanit Users have no field Bogus"},
		{name: "birthday into a custom date both ways", m: FieldMapping{MergeTag: "BIRTHDAY", Field: "CF_Joined", Type: TypeBirthday}, dir: DirectionBoth, wantErr: "cannot fill the date field CF_Joined"},
		{name: "birthday from a custom date one way", m: FieldMapping{MergeTag: "BIRTHDAY", Field: "CF_Joined", Type: TypeBirthday, Direction: DirectionToMailchimp}, dir: DirectionBoth, wantField: "CF_Joined"},
		{name: "birthday into a custom date, instance one way", m: FieldMapping{MergeTag: "BIRTHDAY", Field: "CF_Joined", Type: TypeBirthday}, dir: DirectionToMailchimp, wantField: "CF_Joined"},
		{name: "birthday into a custom text", m: FieldMapping{MergeTag: "BIRTHDAY", Field: "CF_Region", Type: TypeBirthday}, dir: DirectionBoth, wantField: "CF_Region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := ResolveFields([]FieldMapping{tt.m}, tt.dir, custom)
			if tt.wantErr != "" {
				if len(problems) != 1 || !strings.Contains(problems[0], tt.wantErr) {
					t.Errorf("ResolveFields(%+v) problems = %q, want one saying %q", tt.m, problems, tt.wantErr)
				}
				return
			}
			if len(problems) != 0 || len(got) != 1 || got[0].Field != tt.wantField {
				t.Errorf("ResolveFields(%+v) = %+v, %q; want field %s and no problem", tt.m, got, problems, tt.wantField)
			}
		})
	}
}

func TestCheckMergeField(t *testing.T) {
	tests := []struct {
		typ       MergeType
		mergeType string
		wantErr   string
	}{
		{"", "text", ""},
		{TypePhone, "text", ""},
		{"", "phone", ""},
		{TypeBirthday, "birthday", ""},
		{"", "birthday", "must be birthday, not text"},
		{TypeText, "date", "must be date, not text"},
		{TypeNumber, "number", ""},
		{TypeDate, "number", "must be number, not date"},
		{TypeText, "imageurl", ""},
		{TypeText, "address", "address merge fields are not supported"},
		{TypeBirthday, "dropdown", "must be text, not birthday"},
	}
	for _, tt := range tests {
		m := FieldMapping{MergeTag: "X", Field: "Title", Type: tt.typ}
		got := CheckMergeField(m, tt.mergeType)
		if (tt.wantErr == "") != (got == "") || !strings.Contains(got, tt.wantErr) {
			t.Errorf("CheckMergeField(type %q, %s) = %q, want %q", tt.typ, tt.mergeType, got, tt.wantErr)
		}
	}
}
