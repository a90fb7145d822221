package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/ops"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// staticHandler serves the embedded style sheet.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return http.NotFoundHandler()
	}
	files := http.StripPrefix("/console/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})
}

// page is what every template receives.
type page struct {
	Title   string
	Session session // zero when signed out: no navigation, no sign-out form
	Notice  *notice
	Data    any
}

// notice is a confirmation shown above a page, with an optional link.
type notice struct {
	Text     string
	Link     string
	LinkText string
}

// pageNames are the templates, each rendered inside layout.html.
var pageNames = []string{"login", "error", "instances", "instance", "execution", "timeline"}

// parseTemplates parses every page with the layout.
func parseTemplates() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/rows.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// templates are parsed once; a parse error (a bug, caught by the tests)
// turns every page into an internal error rather than a panic.
var templates, templatesErr = parseTemplates()

// render writes a page with the given status.
func (c *console) render(w http.ResponseWriter, status int, name string, p page) {
	t, ok := templates[name]
	if templatesErr != nil || !ok {
		c.cfg.Logger.Error("console template missing", "template", name, "error", fmt.Sprint(templatesErr))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		c.cfg.Logger.Error("console render failed", "template", name, "error", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

var (
	errNoPage    = errors.New("no such page")
	errNoSession = errors.New("cannot start a session")
	errNoKey     = errors.New("sign-in is unavailable: the console has no session key configured (in AWS, CONSOLE_SESSION_KEY_ID names the KMS key it derives one from)")
	errThrottled = errors.New("too many failed sign-ins from your address: wait a minute, then try again")
	errCSRF      = errors.New("the form was not sent by this console or has expired: reload the page and try again")
)

// fail renders err as an error page: the one place that maps errors to
// HTTP status for the console.
func (c *console) fail(w http.ResponseWriter, r *http.Request, sess session, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	switch {
	case errors.Is(err, errCSRF):
		status, msg = http.StatusForbidden, err.Error()
	case errors.Is(err, errNoKey):
		status, msg = http.StatusServiceUnavailable, err.Error()
	case errors.Is(err, errThrottled):
		status, msg = http.StatusTooManyRequests, err.Error()
	case errors.Is(err, errNoPage), errors.Is(err, apmc.ErrNotFound):
		status, msg = http.StatusNotFound, "not found"
	case errors.Is(err, ops.ErrNotReplayable):
		status, msg = http.StatusBadRequest, ops.ErrNotReplayable.Error()
	case apmc.IsInvalid(err):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, apmc.ErrConflict):
		status, msg = http.StatusConflict, "the instance changed meanwhile; try again"
	}
	if status >= 500 {
		c.cfg.Logger.Error("console request failed", "method", r.Method, "path", r.URL.Path, "error", err.Error())
	}
	c.render(w, status, "error", page{Title: http.StatusText(status), Session: sess, Data: msg})
}

// funcs are the helpers templates use. None returns template.HTML: every
// value is escaped by html/template.
var funcs = template.FuncMap{
	"when":        when,
	"whenPtr":     func(t *time.Time) string { return whenOrNever(t) },
	"duration":    duration,
	"pretty":      pretty,
	"depth":       depth,
	"short":       short,
	"instanceURL": instanceURL,
	"execURL":     execURL,
	"timelineURL": timelineURL,
	"count": func(sum ops.Summary, s string) string {
		return sum.Count(apmc.Status(s))
	},
	"capped":  ops.CountText,
	"summary": ops.ChangeSummary,
	"rows": func(instanceID, tableID string, list []apmc.Execution) executionRows {
		return executionRows{instanceID, tableID, list}
	},
}

// executionRows is what the shared executions table shows.
type executionRows struct {
	InstanceID string
	TableID    string
	Executions []apmc.Execution
}

// when formats a time for people, in UTC.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func whenOrNever(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return when(*t)
}

// duration is how long an execution ran.
func duration(e apmc.Execution) string {
	if e.StartedAt.IsZero() || e.FinishedAt.IsZero() {
		return "—"
	}
	return e.FinishedAt.Sub(e.StartedAt).Round(time.Millisecond).String()
}

// pretty renders a step's output as indented JSON.
func pretty(v any) string {
	if v == nil {
		return ""
	}
	// html/template escapes the result; JSON's own HTML escaping would
	// only show operators \u003c where the data holds "<".
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// depth shows the dead-letter queue's depth; -1 means unknown.
func depth(n int) string {
	if n < 0 {
		return "unknown"
	}
	return fmt.Sprint(n)
}

// short cuts s to n runes.
func short(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n])) + "…"
}

func instanceURL(id string) string { return "/console/instances/" + url.PathEscape(id) }

func execURL(instanceID, id string) string {
	return instanceURL(instanceID) + "/executions/" + url.PathEscape(id)
}

func timelineURL(instanceID, contact string) string {
	return instanceURL(instanceID) + "/timeline?" + url.Values{"contact": {contact}}.Encode()
}
