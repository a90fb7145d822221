package mailchimp

import (
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// firedAtLayout is the format of fired_at (INFERRED to be UTC).
const firedAtLayout = "2006-01-02 15:04:05"

// eventExtra carries what only some events have: an unsubscribe's action
// (unsub|delete) and reason (manual|abuse), a clean's reason (hard|abuse).
type eventExtra struct {
	action, reason string
}

// event is one webhook delivery waiting to be sent to its targets.
type event struct {
	typ, source string
	body        string     // the form body, identical for every target
	targets     []*webhook // the webhooks registered when the change happened
}

// field is one key of a form body; order matters for fidelity only.
type field struct{ key, value string }

// encodeForm encodes fields as application/x-www-form-urlencoded in the
// given order, escaping the brackets of PHP-style keys as PHP does.
func encodeForm(fields []field) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(f.key))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(f.value))
	}
	return b.String()
}

// queueEvent records a member event for every webhook of l that wants it.
// m is the member after the change; before is its earlier state, needed
// only for upemail. s.mu is held.
func (s *Server) queueEvent(l *list, typ, source string, m, before *Member, extra eventExtra) {
	var targets []*webhook
	for _, h := range l.webhooks {
		if h.wants(typ, source) {
			targets = append(targets, h)
		}
	}
	if len(targets) == 0 || s.closed {
		return
	}
	fields := []field{
		{"type", typ},
		{"fired_at", s.now().UTC().Format(firedAtLayout)},
	}
	switch typ {
	case "upemail":
		fields = append(fields,
			field{"data[list_id]", l.id},
			field{"data[new_id]", m.UniqueEmailID},
			field{"data[new_email]", m.EmailAddress},
			field{"data[old_email]", before.EmailAddress},
		)
	case "cleaned":
		reason := extra.reason
		if reason != "abuse" {
			reason = "hard"
		}
		fields = append(fields,
			field{"data[list_id]", l.id},
			field{"data[campaign_id]", ""},
			field{"data[reason]", reason},
			field{"data[email]", m.EmailAddress},
		)
	default: // subscribe, unsubscribe, profile
		if typ == "unsubscribe" {
			fields = append(fields, field{"data[action]", extra.action}, field{"data[reason]", extra.reason})
		}
		fields = append(fields,
			field{"data[id]", m.UniqueEmailID},
			field{"data[list_id]", l.id},
			field{"data[email]", m.EmailAddress},
			field{"data[email_type]", m.EmailType},
		)
		fields = append(fields, l.mergeFormFields(m)...)
		fields = append(fields, field{"data[ip_opt]", m.IPOpt})
		switch typ {
		case "subscribe":
			fields = append(fields, field{"data[ip_signup]", m.IPSignup})
		case "unsubscribe":
			fields = append(fields, field{"data[campaign_id]", ""})
		}
		fields = append(fields, field{"data[web_id]", strconv.Itoa(m.WebID)})
	}
	l.events.push(event{typ: typ, source: source, body: encodeForm(fields), targets: targets})
}

// mergeFormFields renders m's merge values as data[merges][TAG] keys: EMAIL
// first, then every field of the audience, an address as nested keys.
func (l *list) mergeFormFields(m *Member) []field {
	out := []field{{"data[merges][EMAIL]", m.EmailAddress}}
	for _, f := range l.mergeFields {
		key := "data[merges][" + f.Tag + "]"
		if addr, ok := m.MergeFields[f.Tag].(map[string]string); ok {
			for _, k := range addressKeys {
				out = append(out, field{key + "[" + k + "]", addr[k]})
			}
			continue
		}
		out = append(out, field{key, mergeString(m.MergeFields[f.Tag])})
	}
	return out
}

// formatNumber renders a number merge value without a needless fraction.
func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// eventQueue is an unbounded FIFO of one audience's events, so that writers
// never wait on deliveries and deliveries keep the order of changes.
type eventQueue struct {
	mu     sync.Mutex
	items  []event
	closed bool
	active bool          // an event popped is still being delivered
	ready  chan struct{} // has a token while items is non-empty or closed
}

func newEventQueue() *eventQueue { return &eventQueue{ready: make(chan struct{}, 1)} }

func (q *eventQueue) push(e event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.items = append(q.items, e)
	q.signal()
}

func (q *eventQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.signal()
}

// signal leaves one token in ready; q.mu is held.
func (q *eventQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pop waits for the next event and marks it active until done is called;
// false means the queue is closed.
func (q *eventQueue) pop() (event, bool) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return event{}, false
		}
		if len(q.items) > 0 {
			e := q.items[0]
			q.items = q.items[1:]
			q.active = true
			if len(q.items) > 0 {
				q.signal()
			}
			q.mu.Unlock()
			return e, true
		}
		q.mu.Unlock()
		<-q.ready
	}
}

// done marks the event last popped as delivered.
func (q *eventQueue) done() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.active = false
}

// idle reports whether no event waits or is being delivered.
func (q *eventQueue) idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) == 0 && !q.active
}
