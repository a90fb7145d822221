package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/backfill"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// importFirstSyncData fills both simulators silently (no webhooks) with
// data that existed before the demo instance was switched on.
func importFirstSyncData(t *testing.T, s *cliStack) {
	t.Helper()
	old := time.Now().Add(-48 * time.Hour).UTC().Format("2006-01-02T15:04:05")
	older := time.Now().Add(-96 * time.Hour).UTC().Format("2006-01-02T15:04:05")
	if _, err := s.Accessplanit.ImportUsers([]map[string]any{
		{"Forenames": "Only", "Surname": "InAP", "Email": "cli.only.ap@example.com", "MarketingOptIn": true, "DateUpdated": old},
		{"Forenames": "Same", "Surname": "Both", "Email": "cli.same@example.com", "DateUpdated": old},
		{"Forenames": "Newer", "Surname": "InAP", "Email": "cli.differs@example.com"},
		{"Forenames": "Gone", "Surname": "Away", "Email": "cli.unsub@example.com"},
		{"Forenames": "Twin", "Surname": "New", "Email": "cli.twin@example.com", "DateUpdated": old},
		{"Forenames": "Twin", "Surname": "Old", "Email": "cli.twin@example.com", "DateUpdated": older},
		{"Forenames": "No", "Surname": "Email"},
	}); err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	if err := s.Mailchimp.Import(s.Info.Sandbox.Mailchimp.ListID, []sbmc.ImportedMember{
		{EmailAddress: "cli.only.mc@example.com", MergeFields: map[string]any{"FNAME": "Only", "LNAME": "InMC"}},
		{EmailAddress: "cli.same@example.com", MergeFields: map[string]any{"FNAME": "Same", "LNAME": "Both"}},
		{EmailAddress: "cli.differs@example.com", MergeFields: map[string]any{"FNAME": "Older", "LNAME": "InMC"}, LastChanged: time.Now().Add(-72 * time.Hour)},
		{EmailAddress: "cli.unsub@example.com", Status: "unsubscribed", MergeFields: map[string]any{"FNAME": "Gone", "LNAME": "Away"}},
	}); err != nil {
		t.Fatalf("Import() error = %v", err)
	}
}

func TestBackfillPlanShowApplyStatus(t *testing.T) {
	s := startStack(t)
	id := s.Info.InstanceID
	s.must(t, "instance", "configure", id, "--accessplanit-requests-per-hour", "1000000")
	importFirstSyncData(t, s)

	for _, args := range [][]string{
		{"backfill", "apply", id},
		{"backfill", "apply", id, "--plan", "no-such-plan"},
		{"backfill", "status", id},
		{"backfill", "cancel", id},
		{"backfill", "show", id, "no-such-plan"},
		{"backfill", "frobnicate", id},
	} {
		if out, errOut, err := s.apmc(t, args...); err == nil {
			t.Errorf("apmc %s = %q, %q, nil error; want an error", strings.Join(args, " "), out, errOut)
		}
	}
	if _, _, err := s.apmc(t, "backfill", "apply", id); err == nil || !strings.Contains(err.Error(), "-plan") {
		t.Errorf("backfill apply without a plan error = %v, want one asking for -plan", err)
	}

	apWrites, mcWrites := s.Accessplanit.Stats().Writes, s.Mailchimp.Stats().MemberWrites
	out := s.must(t, "backfill", "plan", id, "--json")
	var plan struct {
		PlanID string         `json:"plan_id"`
		Counts map[string]int `json:"counts"`
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("backfill plan --json is not one JSON object: %v\n%s", err, out)
	}
	if keys := slices.Sorted(maps.Keys(raw)); !slices.Equal(keys, []string{"counts", "plan_id"}) {
		t.Errorf("backfill plan --json keys = %v, want counts and plan_id", keys)
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil || plan.PlanID == "" {
		t.Fatalf("backfill plan --json = %s (%v), want a plan id", out, err)
	}
	want := map[string]int{
		"create_in_mailchimp": 2, "update_in_mailchimp": 0, "create_in_accessplanit": 1, "update_in_accessplanit": 0,
		"conflicts": 1, "unchanged": 1, "blocked": 1, "invalid": 1,
	}
	if len(plan.Counts) != len(want) {
		t.Errorf("plan counts = %v, want every action: %v", plan.Counts, want)
	}
	for a, n := range want {
		if got, ok := plan.Counts[a]; !ok || got != n {
			t.Errorf("plan counts[%s] = %d (present %v), want %d", a, got, ok, n)
		}
	}
	if s.Accessplanit.Stats().Writes != apWrites || s.Mailchimp.Stats().MemberWrites != mcWrites {
		t.Fatal("backfill plan wrote to a system")
	}

	// The summary table and the CSV of the same plan, shown again by id.
	csvPath := filepath.Join(t.TempDir(), "plan.csv")
	table := s.must(t, "backfill", "show", id, plan.PlanID, "--out", csvPath)
	last := -1
	for _, a := range apmc.PairActions {
		i := strings.Index(table, string(a)+" ")
		if i < 0 || i < last {
			t.Errorf("summary lists %s at %d after %d; want every action in plan order:\n%s", a, i, last, table)
		}
		last = i
	}
	for _, wantLine := range []string{"shared emails", plan.PlanID, "expires", "apmc backfill apply " + id + " --plan " + plan.PlanID} {
		if !strings.Contains(table, wantLine) {
			t.Errorf("summary lacks %q:\n%s", wantLine, table)
		}
	}
	if !lineHas(table, "shared emails", "1") || !lineHas(table, "create_in_mailchimp", "2") {
		t.Errorf("summary counts wrong, want 2 creates in Mailchimp and 1 shared email:\n%s", table)
	}
	rows := readCSV(t, csvPath)
	if got := rows[0]; !slices.Equal(got, []string{"email", "user_id", "action", "winner", "reason", "shared_with"}) {
		t.Errorf("CSV header = %v", got)
	}
	byEmail := map[string][]string{}
	for _, r := range rows[1:] {
		byEmail[r[0]] = r
	}
	if len(rows)-1 != 7 {
		t.Errorf("CSV has %d contacts, want 7:\n%v", len(rows)-1, rows)
	}
	if r := byEmail["cli.differs@example.com"]; len(r) != 6 || r[2] != "conflicts" || r[3] != string(apmc.SideAccessplanit) || r[4] == "" {
		t.Errorf("CSV row of the conflict = %v, want conflicts won by accessplanit with a reason", r)
	}
	if r := byEmail["cli.twin@example.com"]; len(r) != 6 || r[1] == "" || r[5] == "" || r[5] == r[1] {
		t.Errorf("CSV row of the shared email = %v, want the newer User and the other listed", r)
	}
	if r := byEmail["cli.unsub@example.com"]; len(r) != 6 || r[2] != "blocked" {
		t.Errorf("CSV row of the unsubscribed member = %v, want blocked", r)
	}

	// Apply with JSON lines: progress, then the result.
	out = s.must(t, "backfill", "apply", id, "--plan", plan.PlanID, "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var res struct {
		PlanID  string         `json:"plan_id"`
		Status  string         `json:"status"`
		Counts  map[string]int `json:"counts"`
		Written int            `json:"written"`
		Failed  int            `json:"failed"`
		Blocked *int           `json:"blocked"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("apply --json last line does not decode: %v\n%s", err, out)
	}
	if res.PlanID != plan.PlanID || res.Status != backfill.JobDone || res.Written != 4 || res.Failed != 0 || res.Blocked == nil || *res.Blocked != 0 || res.Counts["create_in_mailchimp"] != 2 {
		t.Errorf("apply result = %+v, want done, 4 written, 0 failed, 2 created in Mailchimp", res)
	}
	sawApply := false
	for _, l := range lines[:len(lines)-1] {
		var p applyProgress
		if err := json.Unmarshal([]byte(l), &p); err != nil || p.Stage == "" {
			t.Errorf("apply --json progress line %q does not decode (%v)", l, err)
		}
		if p.Stage == "apply" && p.Done == 4 && p.Total == 4 {
			sawApply = true
		}
	}
	if !sawApply {
		t.Errorf("apply --json printed no final progress line of 4 of 4:\n%s", out)
	}
	if m, ok := s.Mailchimp.Member(s.Info.Sandbox.Mailchimp.ListID, "cli.only.ap@example.com"); !ok || m.Status != "subscribed" {
		t.Errorf("member cli.only.ap = %+v %v, want created subscribed", m, ok)
	}

	out = s.must(t, "backfill", "status", id, "--json")
	var job backfill.Job
	if err := json.Unmarshal([]byte(out), &job); err != nil {
		t.Fatalf("backfill status --json does not decode: %v\n%s", err, out)
	}
	if job.Status != backfill.JobDone || job.PlanID != plan.PlanID || job.Result == nil || job.Result.Written != 4 {
		t.Errorf("backfill status = %+v, want done with plan %s and 4 written", job, plan.PlanID)
	}
	if table := s.must(t, "backfill", "status", id); !lineHas(table, "status", "done") || !lineHas(table, "written", "4") || !lineHas(table, "blocked on write", "0") {
		t.Errorf("backfill status table lacks done and 4 written:\n%s", table)
	}
	if _, _, err := s.apmc(t, "backfill", "cancel", id); err == nil {
		t.Error("backfill cancel with no first sync running = nil error, want one")
	}

	out = s.must(t, "backfill", "plan", id, "--json")
	var again planJSON
	if err := json.Unmarshal([]byte(out), &again); err != nil {
		t.Fatalf("second plan --json does not decode: %v\n%s", err, out)
	}
	for _, a := range []string{"create_in_mailchimp", "update_in_mailchimp", "create_in_accessplanit", "update_in_accessplanit", "conflicts"} {
		if again.Counts[a] != 0 {
			t.Errorf("second plan counts[%s] = %d, want 0 (%v)", a, again.Counts[a], again.Counts)
		}
	}
}

func TestBackfillCancelStopsARunningApply(t *testing.T) {
	s := startStack(t)
	id := s.Info.InstanceID
	// Nine batches, each slow: more than are sent at once, so the cancel
	// lands before the last is sent.
	const users = 4500
	var members []map[string]any
	for i := range users {
		members = append(members, map[string]any{"Forenames": "Many", "Surname": "Users", "Email": "many" + strconv.Itoa(i) + "@example.com"})
	}
	if _, err := s.Accessplanit.ImportUsers(members); err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	s.Mailchimp.SetBatchLatency(2*time.Second, 0)
	var plan planJSON
	if err := json.Unmarshal([]byte(s.must(t, "backfill", "plan", id, "--json")), &plan); err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		out string
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		out, _, err := s.apmc(t, "backfill", "apply", id, "--plan", plan.PlanID, "--json")
		done <- outcome{out, err}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var j backfill.Job
		if out, _, err := s.apmc(t, "backfill", "status", id, "--json"); err == nil && json.Unmarshal([]byte(out), &j) == nil && j.Status == backfill.JobRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the apply never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out := s.must(t, "backfill", "cancel", id); !strings.Contains(out, "cancel requested") {
		t.Errorf("backfill cancel = %q, want cancel requested", out)
	}
	o := <-done
	if o.err != nil {
		t.Fatalf("apply error = %v", o.err)
	}
	sc := bufio.NewScanner(strings.NewReader(o.out))
	var lastLine string
	for sc.Scan() {
		lastLine = sc.Text()
	}
	var res applyResult
	if err := json.Unmarshal([]byte(lastLine), &res); err != nil {
		t.Fatalf("apply result %q does not decode: %v", lastLine, err)
	}
	if res.Status != backfill.JobCancelled || !res.Cancelled || res.Written >= users {
		t.Errorf("cancelled apply = %+v, want cancelled with fewer than %d written", res, users)
	}
	held := 0
	for i := range users {
		if _, ok := s.Mailchimp.Member(s.Info.Sandbox.Mailchimp.ListID, "many"+strconv.Itoa(i)+"@example.com"); ok {
			held++
		}
	}
	if held != res.Written || held >= users {
		t.Errorf("the audience holds %d of the %d Users after the cancel, want the %d written", held, users, res.Written)
	}
	if status := s.must(t, "backfill", "status", id); !lineHas(status, "status", "cancelled") {
		t.Errorf("backfill status after cancel:\n%s\nwant cancelled", status)
	}
}

// lineHas reports whether a line of out starts with label and holds value
// as a later column.
func lineHas(out, label, value string) bool {
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, label+" "); ok && slices.Contains(strings.Fields(rest), value) {
			return true
		}
	}
	return false
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("read %s: %d rows, %v", path, len(rows), err)
	}
	return rows
}

// backfill start hands the plan to the deployment's job (the local stack
// runs the same backfill function); status follows it to its end.
func TestBackfillStartRunsTheJob(t *testing.T) {
	s := startStack(t)
	id := s.Info.InstanceID
	s.must(t, "instance", "configure", id, "--accessplanit-requests-per-hour", "1000000")
	importFirstSyncData(t, s)
	if _, _, err := s.apmc(t, "backfill", "start", id); err == nil || !strings.Contains(err.Error(), "-plan") {
		t.Errorf("backfill start without a plan error = %v, want one asking for -plan", err)
	}
	var plan struct {
		PlanID string `json:"plan_id"`
	}
	if err := json.Unmarshal([]byte(s.must(t, "backfill", "plan", id, "--json")), &plan); err != nil || plan.PlanID == "" {
		t.Fatalf("backfill plan --json: %v", err)
	}
	out := s.must(t, "backfill", "start", id, "--plan", plan.PlanID)
	if !strings.Contains(out, "started as a job") {
		t.Errorf("backfill start printed %q, want it to say the job started", out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var job backfill.Job
		// Until the job function takes the message there is no job yet.
		if out, _, err := s.apmc(t, "backfill", "status", id, "--json"); err == nil {
			if err := json.Unmarshal([]byte(out), &job); err != nil {
				t.Fatalf("backfill status --json: %v\n%s", err, out)
			}
		}
		if job.Status == backfill.JobDone && job.PlanID == plan.PlanID {
			if job.Result == nil || job.Result.Written == 0 {
				t.Errorf("job result = %+v, want contacts written", job.Result)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job = %+v 30 s after start, want done", job)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, ok := s.Mailchimp.Member(s.Info.Sandbox.Mailchimp.ListID, "cli.only.ap@example.com"); !ok {
		t.Error("the job did not create the member only accessplanit held")
	}
}
