package mailchimp

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

// seedMembers imports n members signed up a minute apart, member i last
// changed at base + i hours, every third one unsubscribed.
func seedMembers(t *testing.T, e *env, n int, base time.Time) []string {
	t.Helper()
	var in []ImportedMember
	var emails []string
	for i := range n {
		status := "subscribed"
		if i%3 == 2 {
			status = "unsubscribed"
		}
		email := fmt.Sprintf("m%03d@example.com", i)
		emails = append(emails, email)
		in = append(in, ImportedMember{EmailAddress: email, Status: status, MergeFields: map[string]any{"FNAME": fmt.Sprint("F", i)}, LastChanged: base.Add(time.Duration(i) * time.Hour)})
	}
	if err := e.srv.Import(e.listID, in); err != nil {
		t.Fatalf("Import() error = %v", err)
	}
	return emails
}

// listMembers GETs the members endpoint with query and decodes the answer.
func listMembers(t *testing.T, e *env, query url.Values) (int, map[string]any) {
	t.Helper()
	resp, body := e.do("GET", "/3.0/lists/"+e.listID+"/members?"+query.Encode(), nil)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, decodeObject(t, body)
}

func memberEmails(v map[string]any) []string {
	var out []string
	for _, m := range v["members"].([]any) {
		e, _ := m.(map[string]any)["email_address"].(string)
		out = append(out, e)
	}
	return out
}

func TestListMembersPagesAndFilters(t *testing.T) {
	e := newEnv(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	emails := seedMembers(t, e, 25, base)
	var subscribed []string
	for i, m := range emails {
		if i%3 != 2 {
			subscribed = append(subscribed, m)
		}
	}
	tests := []struct {
		name      string
		query     url.Values
		want      []string
		wantTotal int
	}{
		{"default count is 10", url.Values{}, emails[:10], 25},
		{"offset and count", url.Values{"offset": {"20"}, "count": {"10"}}, emails[20:], 25},
		{"offset past the end", url.Values{"offset": {"30"}}, nil, 25},
		{"status", url.Values{"status": {"subscribed"}, "count": {"1000"}}, subscribed, len(subscribed)},
		{"since_last_changed is strictly after", url.Values{"since_last_changed": {base.Add(22 * time.Hour).Format(time.RFC3339)}}, emails[23:], 2},
		{"since_last_changed with an offset zone", url.Values{"since_last_changed": {"2026-01-01T23:00:00+01:00"}}, emails[23:], 2},
		{"filters and paging together", url.Values{"status": {"subscribed"}, "since_last_changed": {base.Add(10 * time.Hour).Format(time.RFC3339)}, "count": {"2"}, "offset": {"1"}}, []string{"m013@example.com", "m015@example.com"}, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, v := listMembers(t, e, tt.query)
			if code != http.StatusOK {
				t.Fatalf("GET members?%s = %d, want 200", tt.query.Encode(), code)
			}
			if got := memberEmails(v); !slices.Equal(got, tt.want) {
				t.Errorf("GET members?%s emails = %v, want %v", tt.query.Encode(), got, tt.want)
			}
			if v["total_items"] != float64(tt.wantTotal) || v["list_id"] != e.listID {
				t.Errorf("GET members?%s total_items, list_id = %v, %v; want %d, %s", tt.query.Encode(), v["total_items"], v["list_id"], tt.wantTotal, e.listID)
			}
		})
	}
}

func TestListMembersWalksEveryMemberOnce(t *testing.T) {
	e := newEnv(t)
	emails := seedMembers(t, e, 23, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var got []string
	for offset := 0; ; offset += 5 {
		_, v := listMembers(t, e, url.Values{"count": {"5"}, "offset": {fmt.Sprint(offset)}})
		page := memberEmails(v)
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
	}
	if !slices.Equal(got, emails) {
		t.Errorf("members walked in pages of 5 = %v, want %v", got, emails)
	}
}

func TestListMembersRefusesBadQueries(t *testing.T) {
	e := newEnv(t)
	for _, q := range []url.Values{
		{"count": {"1001"}},
		{"count": {"-1"}},
		{"offset": {"x"}},
		{"status": {"vip"}},
		{"since_last_changed": {"yesterday"}},
	} {
		resp, body := e.do("GET", "/3.0/lists/"+e.listID+"/members?"+q.Encode(), nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET members?%s = %d, want 400", q.Encode(), resp.StatusCode)
			continue
		}
		if p := decodeProblem(t, resp, body); p.Title != "Invalid Resource" {
			t.Errorf("GET members?%s title = %q, want Invalid Resource", q.Encode(), p.Title)
		}
	}
	resp, _ := e.do("GET", "/3.0/lists/nope/members", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET members of an unknown audience = %d, want 404", resp.StatusCode)
	}
}

func TestListMembersFields(t *testing.T) {
	e := newEnv(t)
	seedMembers(t, e, 2, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tests := []struct {
		name, fields, exclude string
		wantTop               []string // keys of the answer
		wantMember            []string // keys of each member
	}{
		{"fields through the array", "members.email_address,members.status,total_items", "", []string{"members", "total_items"}, []string{"email_address", "status"}},
		{"a nested field", "members.merge_fields.FNAME", "", []string{"members"}, []string{"merge_fields"}},
		{"exclude_fields", "", "members._links,members.stats,_links", []string{"list_id", "members", "total_items"}, nil},
		{"both", "members,total_items", "members.merge_fields", []string{"members", "total_items"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{}
			if tt.fields != "" {
				q.Set("fields", tt.fields)
			}
			if tt.exclude != "" {
				q.Set("exclude_fields", tt.exclude)
			}
			_, v := listMembers(t, e, q)
			if got := sortedKeys(v); !slices.Equal(got, tt.wantTop) {
				t.Errorf("answer keys = %v, want %v", got, tt.wantTop)
			}
			members := v["members"].([]any)
			if len(members) != 2 {
				t.Fatalf("members = %d, want 2", len(members))
			}
			for _, m := range members {
				m := m.(map[string]any)
				if tt.wantMember != nil {
					if got := sortedKeys(m); !slices.Equal(got, tt.wantMember) {
						t.Errorf("member keys = %v, want %v", got, tt.wantMember)
					}
				}
				for _, p := range splitFields(tt.exclude) {
					if len(p) == 2 && p[0] == "members" {
						if _, ok := m[p[1]]; ok {
							t.Errorf("member has %s, which exclude_fields dropped", p[1])
						}
					}
				}
			}
			if tt.name == "a nested field" {
				merges := members[0].(map[string]any)["merge_fields"].(map[string]any)
				if got := sortedKeys(merges); !slices.Equal(got, []string{"FNAME"}) || merges["FNAME"] != "F0" {
					t.Errorf("merge_fields = %v, want only FNAME F0", merges)
				}
			}
		})
	}
}

func sortedKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
