package apmc

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func groupMapping(typ string) FieldMapping {
	return FieldMapping{MergeTag: GroupPrefix + "Departments", Field: "CF_Department", Group: &InterestGroup{
		CategoryID: "cat1", Type: typ, Interests: map[string]string{"Sales": "i-sales", "Marketing": "i-marketing", "Support": "i-support"},
	}}
}

// safetyGroup is a category whose interest names hold commas, as training
// providers name them.
func safetyGroup(typ string) FieldMapping {
	return FieldMapping{MergeTag: GroupPrefix + "Topics", Field: "CF_Topic", Group: &InterestGroup{
		CategoryID: "cat2", Type: typ, Interests: map[string]string{"Health, Safety": "i-hs", "Fire": "i-fire", "First Aid": "i-aid"},
	}}
}

func TestGroupValues(t *testing.T) {
	tests := []struct {
		name  string
		m     FieldMapping
		raw   string
		want  string
		sends []string // the interests the write selects; nil: the category is left untouched
		warn  string
	}{
		{"one interest", groupMapping("checkboxes"), "Sales", "Sales", []string{"i-sales"}, ""},
		{"several, any order, any case, repeated", groupMapping("checkboxes"), " support,sales , Sales", "Sales, Support", []string{"i-sales", "i-support"}, ""},
		{"none", groupMapping("checkboxes"), "", "", nil, ""},
		{"radio takes one", groupMapping("radio"), "Marketing", "Marketing", []string{"i-marketing"}, ""},
		{"radio takes a name with a comma", safetyGroup("radio"), "Health, Safety", "Health, Safety", []string{"i-hs"}, ""},
		{"dropdown takes a name with a comma, any case", safetyGroup("dropdown"), " health, safety ", "Health, Safety", []string{"i-hs"}, ""},
		{"checkboxes keep a name with a comma whole", safetyGroup("checkboxes"), "Fire, Health, Safety,first aid", "Fire, First Aid, Health, Safety", []string{"i-aid", "i-fire", "i-hs"}, ""},
		{"unknown interest", groupMapping("checkboxes"), "Sales, Legal", "", nil, `"Legal" names no interest of the Mailchimp group Departments`},
		{"radio does not split a list", groupMapping("radio"), "Marketing, Sales", "", nil, `"Marketing, Sales" names no interest of the Mailchimp group Departments`},
		{"dropdown does not split a list", groupMapping("dropdown"), "Marketing,Support", "", nil, `"Marketing,Support" names no interest`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := append(DefaultMappings(), tt.m)
			u := User{ID: "7", Fields: map[string]string{"Email": "a@example.com", "Forenames": "A", "Surname": "B", tt.m.Field: tt.raw}}
			values, warnings, err := MapToMailchimp(ms, u)
			if err != nil {
				t.Fatalf("MapToMailchimp(%q) error = %v, want none: the rest of the contact still syncs", tt.raw, err)
			}
			if values[TagFirstName] != "A" {
				t.Errorf("MapToMailchimp(%q) = %v, want FNAME mapped", tt.raw, values)
			}
			warned := strings.Join(warnings, "\n")
			if tt.warn == "" && warned != "" || tt.warn != "" && !strings.Contains(warned, tt.warn) {
				t.Errorf("MapToMailchimp(%q) warnings = %q, want %q", tt.raw, warned, tt.warn)
			}
			if tt.warn == "" && values[tt.m.MergeTag] != tt.want {
				t.Errorf("MapToMailchimp(%q) group = %q, want %q", tt.raw, values[tt.m.MergeTag], tt.want)
			}
			sent := MemberToWrite(ms, "a@example.com", values).Interests
			var selected []string
			for id, on := range sent {
				if on {
					selected = append(selected, id)
				}
			}
			slices.Sort(selected)
			if tt.sends == nil && len(sent) != 0 || !slices.Equal(selected, tt.sends) {
				t.Errorf("MapToMailchimp(%q) then MemberToWrite sends interests %v, want %v selected", tt.raw, sent, tt.sends)
			}
		})
	}
}

func TestUnknownInterestLeavesTheGroupAndSyncsTheRest(t *testing.T) {
	f := newFixture(t, func(in *Instance) { in.Mappings = append(in.Mappings, groupMapping("radio")) })
	u := apUser("1", "Ada", "Lovelace", "ada@example.com", t0)
	u.Fields["CF_Department"] = "Sales"
	f.apply(t, apChange("c1", u))
	typo := apUser("1", "Augusta", "Lovelace", "ada@example.com", t0.Add(time.Minute))
	typo.Fields["CF_Department"] = "Sails"
	exec := f.apply(t, apChange("c2", typo))
	if exec.Status != StatusSucceeded {
		t.Fatalf("unknown interest: %s (%s), want succeeded", exec.Status, exec.Error)
	}
	got := f.mc.members["ada@example.com"]
	if got.MergeFields[TagFirstName] != "Augusta" {
		t.Errorf("member FNAME = %q, want Augusta: the rest of the contact syncs", got.MergeFields[TagFirstName])
	}
	if !maps.Equal(got.Interests, map[string]bool{"i-sales": true, "i-marketing": false, "i-support": false}) {
		t.Errorf("member interests = %v, want Sales kept: the group is left as it was", got.Interests)
	}
	if !slices.ContainsFunc(exec.Logs, func(l LogLine) bool {
		return l.Level == "warn" && strings.Contains(l.Message, `"Sails" names no interest of the Mailchimp group Departments`)
	}) {
		t.Errorf("execution logs = %+v, want a warning naming the value that matched nothing", exec.Logs)
	}
}

func TestGroupWriteTouchesOnlyItsCategory(t *testing.T) {
	ms := append(DefaultMappings(), groupMapping("checkboxes"))
	m := MemberToWrite(ms, "a@example.com", Values{TagEmail: "a@example.com", TagFirstName: "A", GroupPrefix + "Departments": "Sales, Support"})
	want := map[string]bool{"i-sales": true, "i-support": true, "i-marketing": false}
	if !maps.Equal(m.Interests, want) {
		t.Errorf("MemberToWrite interests = %v, want %v (this category's interests only)", m.Interests, want)
	}
	if _, ok := m.MergeFields[GroupPrefix+"Departments"]; ok || m.MergeFields[TagFirstName] != "A" {
		t.Errorf("MemberToWrite merge fields = %v, want FNAME only", m.MergeFields)
	}
	cleared := MemberToWrite(ms, "a@example.com", Values{GroupPrefix + "Departments": ""})
	if !maps.Equal(cleared.Interests, map[string]bool{"i-sales": false, "i-support": false, "i-marketing": false}) {
		t.Errorf("a cleared group sends %v, want every interest of the category false", cleared.Interests)
	}
	none := MemberToWrite(ms, "a@example.com", Values{TagFirstName: "A"})
	if none.Interests != nil {
		t.Errorf("a write without the group sends interests %v, want none", none.Interests)
	}
	// Read back, the member's interests of other categories do not count.
	back := TargetValues(ms, Member{Interests: map[string]bool{"i-sales": true, "i-support": true, "i-other-category": true}})
	if back[GroupPrefix+"Departments"] != "Sales, Support" {
		t.Errorf("TargetValues = %v, want Departments = Sales, Support", back)
	}
}

func TestResolveGroup(t *testing.T) {
	cats := []InterestCategory{{ID: "cat1", Title: "Departments", Type: "checkboxes", Interests: map[string]string{"Sales": "i1"}}}
	m, err := ResolveGroup(FieldMapping{MergeTag: GroupPrefix + "departments", Field: "CF_Department"}, cats)
	if err != nil || m.MergeTag != GroupPrefix+"Departments" || m.Group == nil || m.Group.CategoryID != "cat1" || m.Group.Interests["Sales"] != "i1" {
		t.Errorf("ResolveGroup(departments) = %+v, %v; want the Departments category", m, err)
	}
	if _, err := ResolveGroup(FieldMapping{MergeTag: GroupPrefix + "Regions", Field: "CF_Region"}, cats); err == nil || !strings.Contains(err.Error(), `no interest category "Regions" (it has Departments)`) {
		t.Errorf("ResolveGroup(Regions) error = %v, want the missing category named", err)
	}
}

func TestValidateTargetMappings(t *testing.T) {
	tests := []struct {
		name    string
		m       FieldMapping
		wantErr string
	}{
		{"group", FieldMapping{MergeTag: GroupPrefix + "Departments", Field: "CF_Department"}, ""},
		{"permission", FieldMapping{MergeTag: PermissionPrefix + "abc123", Field: "CF_EmailConsent", Direction: DirectionToMailchimp}, ""},
		{"group without a title", FieldMapping{MergeTag: GroupPrefix, Field: "CF_Department"}, "name the interest category"},
		{"group towards accessplanit", FieldMapping{MergeTag: GroupPrefix + "D", Field: "CF_Department", Direction: DirectionToAccessplanit}, "flow to Mailchimp only"},
		{"permission with a type", FieldMapping{MergeTag: PermissionPrefix + "p", Field: "CF_X", Type: TypeDate}, "takes no type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateMappings(append(DefaultMappings(), tt.m), DirectionBoth)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("ValidateMappings(%+v) = %v, want %q", tt.m, err, tt.wantErr)
			}
		})
	}
}

func TestGroupChangesAloneAreWritten(t *testing.T) {
	f := newFixture(t, func(in *Instance) { in.Mappings = append(in.Mappings, groupMapping("checkboxes")) })
	u := apUser("1", "Ada", "Lovelace", "ada@example.com", t0)
	u.Fields["CF_Department"] = "Sales"
	f.apply(t, apChange("c1", u))
	writes := f.mc.writes
	again := apUser("1", "Ada", "Lovelace", "ada@example.com", t0)
	again.Fields["CF_Department"] = "Sales"
	if exec := f.apply(t, apChange("c2", again)); exec.Status != StatusSucceeded || f.mc.writes != writes {
		t.Errorf("unchanged group: %s, %d writes; want succeeded and none", exec.Status, f.mc.writes-writes)
	}
	moved := apUser("1", "Ada", "Lovelace", "ada@example.com", t0)
	moved.Fields["CF_Department"] = "Marketing"
	if exec := f.apply(t, apChange("c3", moved)); exec.Status != StatusSucceeded || f.mc.writes != writes+1 {
		t.Errorf("changed group: %s (%s), %d writes; want succeeded and one", exec.Status, exec.Error, f.mc.writes-writes)
	}
	if got := f.mc.members["ada@example.com"].Interests; !maps.Equal(got, map[string]bool{"i-sales": false, "i-marketing": true, "i-support": false}) {
		t.Errorf("member interests = %v, want Marketing only", got)
	}
}
