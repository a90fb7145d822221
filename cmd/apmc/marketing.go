package main

import (
	"cmp"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/mailchimp"
)

// marketingFlags are an instance's tag and training activity settings as
// given on the command line; only the flags given change anything.
type marketingFlags struct {
	syncTags, activity     bool
	tagPrefix              string
	bookedTag, attendedTag string
}

func addMarketingFlags(fs *flag.FlagSet) *marketingFlags {
	m := &marketingFlags{}
	fs.BoolVar(&m.syncTags, "sync-tags", false, "sync the accessplanit User's Tags to Mailchimp member tags (only tags the service applied are ever removed)")
	fs.StringVar(&m.tagPrefix, "tag-prefix", "", "put this before every tag the service applies (e.g. \"ap: \"); empty for none")
	fs.BoolVar(&m.activity, "training-activity", false, "turn the User's bookings (delegates) into tags and the merge fields NEXTCOURSE, NEXTDATE, LASTCOURSE, LASTDATE (the audience must have them)")
	fs.StringVar(&m.bookedTag, "booked-tag", "", "tag template for a booked course, {course} standing for its name (default \""+apmc.DefaultBookedTag+"\")")
	fs.StringVar(&m.attendedTag, "attended-tag", "", "tag template for an attended course (default \""+apmc.DefaultAttendedTag+"\")")
	return m
}

// apply writes the given settings into in.
func (m *marketingFlags) apply(fs *flag.FlagSet, in *apmc.Instance) {
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "sync-tags":
			in.Tags.Sync = m.syncTags
		case "tag-prefix":
			in.Tags.Prefix = m.tagPrefix
		case "training-activity":
			in.Activity.Enabled = m.activity
		case "booked-tag":
			in.Activity.BookedTag = m.bookedTag
		case "attended-tag":
			in.Activity.AttendedTag = m.attendedTag
		}
	})
}

// checkActivityFields refuses training activity for an audience without
// its merge fields (or with one of another type): the service does not
// create merge fields in an audience.
func checkActivityFields(in apmc.Instance, mergeFields []mailchimp.MergeField) error {
	if !in.Activity.Enabled {
		return nil
	}
	byTag := map[string]mailchimp.MergeField{}
	for _, f := range mergeFields {
		byTag[f.Tag] = f
	}
	var missing, problems []string
	for _, want := range apmc.ActivityMergeFields {
		f, ok := byTag[want.Tag]
		if !ok {
			missing = append(missing, fmt.Sprintf("%s (%s, %q)", want.Tag, want.Type, want.Name))
			continue
		}
		if p := apmc.CheckMergeField(apmc.FieldMapping{MergeTag: want.Tag, Field: want.Tag, Type: want.Type}, f.Type); p != "" {
			problems = append(problems, p)
		}
	}
	if len(missing) > 0 {
		problems = append([]string{"the audience has no merge field " + strings.Join(missing, ", ") + ": add them in Mailchimp (Audience → Settings → Audience fields), then configure again"}, problems...)
	}
	if len(problems) > 0 {
		return apmc.Invalidf("training activity needs its merge fields: %s", strings.Join(problems, "; "))
	}
	return nil
}

// tagsSetting describes the tag settings for instance show.
func tagsSetting(in apmc.Instance) string {
	if !in.Tags.Sync {
		return "User tags not synced"
	}
	if in.Tags.Prefix != "" {
		return fmt.Sprintf("User tags synced, prefix %q", in.Tags.Prefix)
	}
	return "User tags synced"
}

// activitySetting describes the training activity settings for instance
// show.
func activitySetting(in apmc.Instance) string {
	if !in.Activity.Enabled {
		return "off"
	}
	return fmt.Sprintf("on: tags %q and %q, merge fields NEXTCOURSE, NEXTDATE, LASTCOURSE, LASTDATE", in.Activity.Booked(), in.Activity.Attended())
}

// changeSummary says what a succeeded execution changed, from its steps'
// outputs: the booking that triggered it, the tags set active (+) and
// inactive (−), the merge fields written (a group with the interests it
// selects) and an opt-out's unsubscribe. Empty when it says nothing.
func changeSummary(e apmc.Execution) string {
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
