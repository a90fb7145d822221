package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// saveExecutions stores n executions of contact with the given status,
// one second apart, ending now.
func saveExecutions(t *testing.T, c *consoleServer, n int, contact string, status apmc.Status) []apmc.Execution {
	t.Helper()
	now := time.Now().UTC()
	var out []apmc.Execution
	for i := range n {
		at := now.Add(time.Duration(i-n) * time.Second)
		e := apmc.Execution{
			ID: apmc.NewExecutionID(at), InstanceID: "demo", ChangeID: fmt.Sprintf("%s-%d", contact, i), Flow: apmc.FlowToMailchimp,
			Event: apmc.EventUpdated, Origin: apmc.OriginWebhook, Attempt: 1, Status: status, Contact: contact,
			StartedAt: at, FinishedAt: at, ExpiresAt: now.Add(time.Hour),
			Change: &apmc.Change{ID: fmt.Sprintf("%s-%d", contact, i), InstanceID: "demo", Email: contact, ReceivedAt: at},
		}
		if err := c.stack.Executions.SaveExecution(context.Background(), e); err != nil {
			t.Fatalf("SaveExecution() error = %v", err)
		}
		out = append(out, e)
	}
	return out
}

var rowPattern = regexp.MustCompile(`<tr class="exec" data-status="([a-z]+)">`)

func TestPaging(t *testing.T) {
	c := newConsole(t, false)
	ck := c.login(t)
	saveExecutions(t, c, 53, "page@example.com", apmc.StatusSucceeded)
	path := "/console/instances/demo?contact=page%40example.com"
	_, body := c.do(t, http.MethodGet, path, nil, ck)
	if got := len(rowPattern.FindAllString(body, -1)); got != 50 {
		t.Fatalf("first page rows = %d, want 50", got)
	}
	m := regexp.MustCompile(`href="([^"]+)" id="older"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("first page has no older link")
	}
	older := strings.ReplaceAll(m[1], "&amp;", "&")
	if !strings.Contains(older, "contact=page%40example.com") || !strings.Contains(older, "cursor=") {
		t.Errorf("older link = %q, want the filters and a cursor", older)
	}
	res, body := c.do(t, http.MethodGet, older, nil, ck)
	if res.StatusCode != http.StatusOK || len(rowPattern.FindAllString(body, -1)) != 3 {
		t.Errorf("older page = %d with %d rows, want 200 with 3", res.StatusCode, len(rowPattern.FindAllString(body, -1)))
	}
	if strings.Contains(body, `id="older"`) || !strings.Contains(body, `id="newest"`) {
		t.Errorf("last page shows an older link or lacks the newest link")
	}
	if res, _ := c.do(t, http.MethodGet, "/console/instances/demo?cursor=garbage", nil, ck); res.StatusCode != http.StatusBadRequest {
		t.Errorf("GET with a bad cursor = %d, want 400", res.StatusCode)
	}
}

func TestBulkReplayOfFailures(t *testing.T) {
	c := newConsole(t, false)
	ck := c.login(t)
	saveExecutions(t, c, 2, "bulk@example.com", apmc.StatusFailed)
	saveExecutions(t, c, 1, "bulk@example.com", apmc.StatusSucceeded)
	saveExecutions(t, c, 1, "other@example.com", apmc.StatusFailed)
	_, body := c.do(t, http.MethodGet, "/console/instances/demo?contact=bulk%40example.com", nil, ck)
	token := csrf(t, body)
	if !strings.Contains(body, `<input type="hidden" name="contact" value="bulk@example.com">`) {
		t.Errorf("bulk replay form does not carry the contact filter")
	}
	form := url.Values{"csrf": {token}, "contact": {"bulk@example.com"}}
	res, _ := c.do(t, http.MethodPost, "/console/instances/demo/replay-failed", form, ck)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "done=bulk") || !strings.Contains(loc, "n=2") || !strings.Contains(loc, "contact=bulk%40example.com") {
		t.Fatalf("POST replay-failed = %d to %q, want 303 back to the filtered list with 2 replayed", res.StatusCode, loc)
	}
	_, body = c.do(t, http.MethodGet, loc, nil, ck)
	if !strings.Contains(body, "Failed executions queued for replay: 2.") {
		t.Errorf("page after the bulk replay lacks its notice")
	}
	// Only failures are replayed in bulk.
	form.Set("status", "succeeded")
	if res, _ := c.do(t, http.MethodPost, "/console/instances/demo/replay-failed", form, ck); res.StatusCode != http.StatusBadRequest {
		t.Errorf("POST replay-failed with status succeeded = %d, want 400", res.StatusCode)
	}
	_, body = c.do(t, http.MethodGet, "/console/instances/demo?status=succeeded", nil, ck)
	if strings.Contains(body, `id="replay-failed"`) {
		t.Errorf("the bulk replay button shows while filtering succeeded executions")
	}
}

func TestNoticesAreFixedTexts(t *testing.T) {
	c := newConsole(t, false)
	ck := c.login(t)
	_, body := c.do(t, http.MethodGet, "/console/instances/demo?done=resumed&n=3", nil, ck)
	if !strings.Contains(body, "held changes released: 3.") {
		t.Errorf("resume notice missing")
	}
	_, body = c.do(t, http.MethodGet, "/console/instances/demo?done="+url.QueryEscape("You have been hacked"), nil, ck)
	if strings.Contains(body, "hacked") || strings.Contains(body, `id="notice"`) {
		t.Errorf("an unknown notice code was shown")
	}
}

// TestReplayOfAnExecutionWithoutAChange shows the answer the API documents
// (400, naming why) for an execution that kept no change, and that nothing
// is queued.
func TestReplayOfAnExecutionWithoutAChange(t *testing.T) {
	c := newConsole(t, false)
	ck := c.login(t)
	e := saveExecutions(t, c, 1, "nochange@example.com", apmc.StatusFailed)[0]
	e.Change = nil
	if err := c.stack.Executions.SaveExecution(context.Background(), e); err != nil {
		t.Fatalf("SaveExecution() error = %v", err)
	}
	page := "/console/instances/demo/executions/" + e.ID
	_, body := c.do(t, http.MethodGet, page, nil, ck)
	res, body := c.do(t, http.MethodPost, page+"/replay", url.Values{"csrf": {csrf(t, body)}}, ck)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "the execution kept no change to replay") {
		t.Errorf("POST %s/replay = %d %s, want 400 saying the execution kept no change to replay", page, res.StatusCode, body)
	}
	list, _, err := c.stack.Executions.Executions(context.Background(), "demo", apmc.ExecutionQuery{Contact: "nochange@example.com"})
	if err != nil || len(list) != 1 {
		t.Errorf("executions of the contact after the refused replay = %d (%v), want only the original", len(list), err)
	}
}
