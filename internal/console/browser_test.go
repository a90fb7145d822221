package console_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// chromiumPath finds the browser: APMC_CHROMIUM, else chromium on PATH.
// Without one the test skips, or fails when APMC_REQUIRE_SERVERS=1.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("APMC_CHROMIUM"); p != "" {
		return p
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	msg := "no browser: set APMC_CHROMIUM or install chromium (apt-get install -y chromium)"
	if os.Getenv("APMC_REQUIRE_SERVERS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// browser starts a headless Chromium with a fresh profile and returns a tab,
// with the number of JavaScript dialogs it has opened so far.
func browser(t *testing.T) (context.Context, func() int) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	var mu sync.Mutex
	var dialogs []string
	opened := make(chan struct{}, 16)
	err := chromedp.Listen(tab, func(ev any) {
		if ev, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			mu.Lock()
			dialogs = append(dialogs, ev.Message)
			mu.Unlock()
			select {
			case opened <- struct{}{}:
			default:
			}
		}
	})
	if err != nil {
		t.Fatalf("listen to the tab: %v", err)
	}
	go func() { // a dialog blocks the page: close each one so the test can go on and fail
		for {
			select {
			case <-tab.Done():
				return
			case <-opened:
				_, _ = chromedp.Call(tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}
		}
	}()
	return tab, func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(dialogs)
	}
}

// do runs browser actions, failing the test with what was being done.
func do(t *testing.T, tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// run runs one browser action that returns a value.
func run[T any](t *testing.T, tab context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(tab, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitLocation waits until the tab's URL contains want.
func waitLocation(t *testing.T, tab context.Context, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		loc := run(t, tab, "read the location", chromedp.Location())
		if strings.Contains(loc, want) {
			return loc
		}
		if time.Now().After(deadline) {
			t.Fatalf("location = %s after 10 s, want it to contain %q", loc, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitExecution waits until the contact has an execution of the flow in the
// given status.
func waitExecution(t *testing.T, s *local.Stack, contact string, status apmc.Status) apmc.Execution {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, _, err := s.Executions.Executions(context.Background(), s.Info.InstanceID, apmc.ExecutionQuery{Contact: contact, Flow: apmc.FlowToMailchimp, Status: status})
		if err != nil {
			t.Fatalf("Executions() error = %v", err)
		}
		if len(list) > 0 {
			return list[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s execution for %s after 20 s", status, contact)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestConsoleInTheBrowser(t *testing.T) {
	tab, dialogs := browser(t)
	s := startStack(t)
	company := s.Info.Sandbox.Accessplanit.DefaultCompanyID
	create := func(first, email string) {
		t.Helper()
		if _, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": first, "Surname": "Tester", "Email": email, "MarketingOptIn": true, "MainCompanyID": company}); err != nil {
			t.Fatalf("CreateUserInUI(%s) error = %v", email, err)
		}
	}
	const script = "<script>alert(1)</script>"
	create(script, "script@example.com")
	create("Grace", "grace@example.com")
	scripted := waitExecution(t, s, "script@example.com", apmc.StatusSucceeded)
	waitExecution(t, s, "grace@example.com", apmc.StatusSucceeded)
	s.Mailchimp.InjectFaults(sbmc.FaultRule{Kind: sbmc.FaultStatus, Method: http.MethodPut, Status: 400, Title: "Invalid Resource", Detail: "rejected for the test"})
	create("Failing", "fail@example.com")
	failed := waitExecution(t, s, "fail@example.com", apmc.StatusFailed)

	// The dialog watch works: a page that does run a script is noticed.
	do(t, tab, "open a page with a script", chromedp.Navigate("data:text/html,<p>x</p><script>alert('probe')</script>"))
	for deadline := time.Now().Add(5 * time.Second); dialogs() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("an alert on a page without CSP was not noticed: the dialog watch is broken")
		}
	}
	probes := dialogs()

	base := strings.TrimSuffix(s.Info.ConsoleURL, "/")
	instance := base + "/instances/" + s.Info.InstanceID

	// Signing in: the console sends strangers to the sign-in form.
	do(t, tab, "open the console", chromedp.Navigate(s.Info.ConsoleURL), chromedp.WaitVisible(chromedp.ID("token")))
	waitLocation(t, tab, "/console/login")
	do(t, tab, "sign in with a wrong token",
		chromedp.SendKeys(chromedp.ID("token"), "wrong"), chromedp.Click(chromedp.ID("sign-in")), chromedp.WaitVisible(chromedp.ID("problem")))
	do(t, tab, "sign in",
		chromedp.SendKeys(chromedp.ID("token"), s.Info.APIToken), chromedp.Click(chromedp.ID("sign-in")), chromedp.WaitVisible(chromedp.ID("instances")))

	// The instances list links to the instance page and its executions.
	do(t, tab, "open the instance", chromedp.Click(chromedp.CSS(`#instances a[href="/console/instances/demo"]`)), chromedp.WaitVisible(chromedp.ID("executions")))
	rows := run(t, tab, "read the executions", chromedp.AttributesAll(chromedp.CSSAll("tr.exec")))
	if len(rows) < 4 {
		t.Errorf("executions listed = %d, want at least 4 (3 users and their echoes)", len(rows))
	}

	// Filtering by failed shows only failed executions.
	do(t, tab, "filter by failed", chromedp.SetValue(chromedp.ID("filter-status"), "failed"), chromedp.Click(chromedp.ID("apply-filters")))
	waitLocation(t, tab, "status=failed")
	do(t, tab, "wait for the filtered list", chromedp.WaitVisible(chromedp.ID("executions")))
	rows = run(t, tab, "read the failed executions", chromedp.AttributesAll(chromedp.CSSAll("tr.exec")))
	if len(rows) != 1 {
		t.Errorf("failed executions listed = %d, want 1", len(rows))
	}
	for _, r := range rows {
		if r["data-status"] != "failed" {
			t.Errorf("filtered by failed, a row has status %q", r["data-status"])
		}
	}

	// The detail page shows steps, logs and the error; errors only hides the rest.
	do(t, tab, "open the failed execution",
		chromedp.Click(chromedp.CSS(`tr.exec a[href$="`+failed.ID+`"]`)), chromedp.WaitVisible(chromedp.ID("steps")), chromedp.WaitVisible(chromedp.ID("logs")))
	steps := run(t, tab, "read the steps", chromedp.AttributesAll(chromedp.CSSAll("#steps tr.step")))
	logs := run(t, tab, "read the logs", chromedp.AttributesAll(chromedp.CSSAll("#logs tr")))
	if len(steps) == 0 || len(logs) == 0 || len(steps) != len(failed.Steps) || len(logs) != len(failed.Logs) {
		t.Errorf("detail shows %d steps and %d log lines, want %d and %d", len(steps), len(logs), len(failed.Steps), len(failed.Logs))
	}
	if msg := run(t, tab, "read the error", chromedp.Text(chromedp.ID("exec-error"))); !strings.Contains(msg, "Invalid Resource") && !strings.Contains(msg, "400") {
		t.Errorf("error shown = %q, want Mailchimp's rejection", msg)
	}
	do(t, tab, "show errors only", chromedp.Click(chromedp.ID("errors-only")), chromedp.WaitVisible(chromedp.ID("all-logs")))
	for _, l := range run(t, tab, "read the error lines", chromedp.AttributesAll(chromedp.CSSAll("#logs tr"))) {
		if l["class"] != "log-error" {
			t.Errorf("errors only shows a %q line", l["class"])
		}
	}

	// Replay, once Mailchimp accepts again: a new execution linked to the original.
	s.Mailchimp.ClearFaults()
	do(t, tab, "replay", chromedp.Click(chromedp.ID("replay")), chromedp.WaitVisible(chromedp.ID("notice")))
	waitLocation(t, tab, "replayed=")
	replay := waitExecution(t, s, "fail@example.com", apmc.StatusSucceeded)
	if replay.OriginalID != failed.ID || replay.Origin != apmc.OriginReplay {
		t.Fatalf("replay = origin %s original %s, want a replay of %s", replay.Origin, replay.OriginalID, failed.ID)
	}
	do(t, tab, "reload the original", chromedp.Navigate(instance+"/executions/"+failed.ID), chromedp.WaitVisible(chromedp.ID("related")))
	related := run(t, tab, "read the related executions", chromedp.AttributesAll(chromedp.CSSAll("#related a")))
	if len(related) != 1 || !strings.HasSuffix(related[0]["href"], "/"+replay.ID) {
		t.Errorf("related links = %v, want the replay %s", related, replay.ID)
	}
	do(t, tab, "open the replay", chromedp.Click(chromedp.CSS("#related a")), chromedp.WaitVisible(chromedp.ID("original")))
	if st := run(t, tab, "read the replay's status", chromedp.Text(chromedp.ID("exec-status"))); st != "succeeded" {
		t.Errorf("replay status shown = %q, want succeeded", st)
	}
	if href := run(t, tab, "read the link to the original", chromedp.Attributes(chromedp.ID("original")))["href"]; !strings.HasSuffix(href, "/"+failed.ID) {
		t.Errorf("replay links to %q, want the original %s", href, failed.ID)
	}

	// A contact named like a script is shown as text and runs nothing.
	do(t, tab, "open the script-named contact's execution", chromedp.Navigate(instance+"/executions/"+scripted.ID), chromedp.WaitVisible(chromedp.ID("steps")))
	if text := run(t, tab, "read the page", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(text, script) {
		t.Errorf("page text lacks %q: the name was not shown as text", script)
	}
	if n := dialogs() - probes; n != 0 {
		t.Errorf("JavaScript dialogs opened by the console = %d, want 0", n)
	}

	// Pause and resume with the buttons.
	do(t, tab, "pause", chromedp.Navigate(instance), chromedp.Click(chromedp.ID("pause")), chromedp.WaitVisible(chromedp.ID("resume")))
	if st := run(t, tab, "read the state", chromedp.Text(chromedp.ID("state"))); st != "paused" {
		t.Errorf("state after pause = %q, want paused", st)
	}
	if in, err := s.Instances.Display(context.Background(), s.Info.InstanceID); err != nil || in.State != apmc.StatePaused {
		t.Errorf("stored state after pause = %s, %v; want paused", in.State, err)
	}
	do(t, tab, "resume", chromedp.Click(chromedp.ID("resume")), chromedp.WaitVisible(chromedp.ID("pause")))
	if in, err := s.Instances.Display(context.Background(), s.Info.InstanceID); err != nil || in.State != apmc.StateEnabled {
		t.Errorf("stored state after resume = %s, %v; want enabled", in.State, err)
	}

	if os.Getenv("APMC_SCREENSHOT") == "1" {
		do(t, tab, "open the executions", chromedp.Navigate(instance), chromedp.WaitVisible(chromedp.ID("executions")))
		png := run(t, tab, "take a screenshot", chromedp.FullScreenshot(100))
		path := filepath.Join(repoRoot(t), "docs", "console.png")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		t.Logf("wrote %s", path)
	}
	if n := dialogs() - probes; n != 0 {
		t.Errorf("JavaScript dialogs opened by the console = %d, want 0", n)
	}
}

// repoRoot is the directory holding go.mod, above the package.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package")
		}
		dir = parent
	}
}
