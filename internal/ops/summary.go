package ops

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// ChangeSummary says what a succeeded execution changed, from its steps'
// outputs: the booking that triggered it, the tags set active (+) and
// inactive (−), the merge fields written (a group with the interests it
// selects) and an opt-out's unsubscribe. Empty when it says nothing. The
// console's rows and the CLI's tables both show it, so a write's tag, group
// and booking changes read the same in both.
func ChangeSummary(e apmc.Execution) string {
	var booking, tags, fields, status []string
	for _, s := range e.Steps {
		switch s.Name {
		case "read_training_activity":
			if d, ok := s.Output["trigger_delegate"].(string); ok {
				booking = append(booking, "booking "+d)
			}
		case "update_tags":
			var t []string
			for _, n := range outputList(s.Output["tags_added"]) {
				t = append(t, "+"+n)
			}
			for _, n := range outputList(s.Output["tags_removed"]) {
				t = append(t, "−"+n)
			}
			tags = append(tags, "tags "+strings.Join(t, " "))
		case "upsert_member":
			if f := outputList(s.Output["changed_fields"]); len(f) > 0 {
				f = slices.Clone(f)
				groups := outputMap(s.Output["groups"])
				for i, tag := range f {
					if v, ok := groups[tag]; ok {
						f[i] = fmt.Sprintf("%s=%s", tag, cmp.Or(v, "(none)"))
					}
				}
				fields = append(fields, "fields "+strings.Join(f, ", "))
			}
			if m, ok := s.Output["training_activity_fields"].(map[string]any); ok && len(m) > 0 {
				var f []string
				for tag, v := range m {
					f = append(f, fmt.Sprintf("%s=%v", tag, v))
				}
				slices.Sort(f)
				fields = append(fields, strings.Join(f, ", "))
			}
		case "unsubscribe_member":
			if found, ok := s.Output["found"].(bool); ok && !found {
				status = append(status, "opted out: not in Mailchimp, nothing to unsubscribe")
			} else {
				status = append(status, "opted out in accessplanit: member unsubscribed")
			}
		}
	}
	return strings.Join(slices.Concat(booking, tags, fields, status), "; ")
}

// outputList reads a list of names from a step output, as recorded
// ([]string) or read back from the store ([]any).
func outputList(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, s := range x {
			out = append(out, fmt.Sprint(s))
		}
		return out
	}
	return nil
}

// outputMap reads a map of names to values from a step output, as recorded
// (map[string]string) or read back from the store (map[string]any).
func outputMap(v any) map[string]string {
	switch x := v.(type) {
	case map[string]string:
		return x
	case map[string]any:
		out := make(map[string]string, len(x))
		for k, s := range x {
			out[k] = fmt.Sprint(s)
		}
		return out
	}
	return nil
}
