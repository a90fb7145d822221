package main

import (
	"flag"
	"fmt"
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
	fs.StringVar(&m.tagPrefix, "tag-prefix", "", "put this before every tag the service applies (e.g. \"ap: \"); tags under it are the service's, taken off in one call; empty for none")
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
