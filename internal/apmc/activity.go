package apmc

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The merge fields training activity fills in Mailchimp. They must exist in
// the audience (instance configure checks them).
const (
	TagNextCourse = "NEXTCOURSE" // the earliest future booked course
	TagNextDate   = "NEXTDATE"   // its start date (YYYY-MM-DD)
	TagLastCourse = "LASTCOURSE" // the latest attended course
	TagLastDate   = "LASTDATE"   // its start date (YYYY-MM-DD)
)

// ActivityMergeFields are the merge fields training activity writes, with
// a label and their Mailchimp types.
var ActivityMergeFields = []struct {
	Tag, Name string
	Type      MergeType
}{
	{TagNextCourse, "Next course", TypeText},
	{TagNextDate, "Next course date", TypeDate},
	{TagLastCourse, "Last course attended", TypeText},
	{TagLastDate, "Last course date", TypeDate},
}

// The default tag templates of training activity.
const (
	DefaultBookedTag   = "Booked: {course}"
	DefaultAttendedTag = "Attended: {course}"
)

// ActivitySettings say whether an instance turns the accessplanit delegates
// of a User (its course bookings) into tags and merge fields of the member.
type ActivitySettings struct {
	// Enabled turns training activity on.
	Enabled bool `json:"enabled,omitempty"`
	// BookedTag and AttendedTag are the templates of the tags a booked and
	// an attended course give, "{course}" standing for the course's name;
	// empty means DefaultBookedTag and DefaultAttendedTag.
	BookedTag   string `json:"booked_tag,omitempty"`
	AttendedTag string `json:"attended_tag,omitempty"`
}

// Booked returns the booked tag template.
func (s ActivitySettings) Booked() string { return orString(s.BookedTag, DefaultBookedTag) }

// Attended returns the attended tag template.
func (s ActivitySettings) Attended() string { return orString(s.AttendedTag, DefaultAttendedTag) }

func orString(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

func (s ActivitySettings) validate() []string {
	var problems []string
	for _, t := range []struct{ name, value string }{{"booked_tag", s.BookedTag}, {"attended_tag", s.AttendedTag}} {
		if t.value == "" {
			continue
		}
		if !strings.Contains(t.value, "{course}") {
			problems = append(problems, fmt.Sprintf("training_activity %s %q must hold {course}", t.name, t.value))
		}
		if len(t.value) > 60 || strings.ContainsAny(t.value, ",\n\r") {
			problems = append(problems, fmt.Sprintf("training_activity %s %.20q must be at most 60 bytes, without commas or line breaks", t.name, t.value))
		}
	}
	return problems
}

// DelegateStatus is where a delegate's booking stands.
type DelegateStatus string

// The delegate statuses the service acts on; the accessplanit client maps
// the platform's status names to these.
const (
	DelegateBooked    DelegateStatus = "booked"
	DelegateAttended  DelegateStatus = "attended"
	DelegateCancelled DelegateStatus = "cancelled"
	DelegateWaiting   DelegateStatus = "waiting_list"
	// DelegateOther is any other status: it gives no tag.
	DelegateOther DelegateStatus = "other"
)

// Delegate is one accessplanit delegate: a User's place on a course date.
type Delegate struct {
	// ID is "<UserID>~<CourseDateID>".
	ID     string `json:"id"`
	UserID string `json:"user_id"`
	Course string `json:"course"`
	// Status is the domain's reading of the platform's status, whose own
	// name is RawStatus.
	Status    DelegateStatus `json:"status"`
	RawStatus string         `json:"raw_status,omitempty"`
	Start     time.Time      `json:"start,omitzero"`
	End       time.Time      `json:"end,omitzero"`
}

// Activity is what a contact's training activity gives its member: tags
// (without the instance's prefix) and merge field values.
type Activity struct {
	Tags   []string `json:"tags,omitempty"`
	Fields Values   `json:"fields,omitempty"`
	// ReadAt is when the delegates were read (zero: the User had never
	// booked, so none were).
	ReadAt time.Time `json:"read_at,omitzero"`
	// Marker is the User's BookingMarker when they were.
	Marker string `json:"marker,omitempty"`
	// NextStart is when the course of NEXTCOURSE starts (zero: none): once
	// it has started, the next course is another, and the delegates are
	// read again at the contact's next sync.
	NextStart time.Time `json:"next_start,omitzero"`
	// Unsent says Fields were read but never written to the member (it was
	// not added, or Mailchimp refused it): the next write sends them all.
	Unsent bool `json:"unsent,omitempty"`
}

// The User properties that date a User's bookings (read-only, set by the
// platform).
const (
	FieldLatestCourseDateBooked   = "LatestCourseDateBooked"
	FieldLatestCourseDateAttended = "LatestCourseDateAttended"
	FieldLastBooking              = "LastBooking"
)

// bookingFields are the User properties BookingMarker reads.
var bookingFields = []string{FieldLatestCourseDateBooked, FieldLatestCourseDateAttended, FieldLastBooking}

// BookingMarker sums up the User's booking dates: empty for a User that has
// never booked, and different once a booking is made or attended, so a User
// change shows when its delegates must be read again (a booking whose
// webhook was lost included). Cancelling leaves the dates as they are: that
// is told by the delegate's own webhook.
//
// ASSUMPTION: the platform fills LatestCourseDateBooked,
// LatestCourseDateAttended and LastBooking (the demo client's User model
// has them) and leaves them empty for a User without bookings; if it never
// fills them, delegates are read on booking webhooks only.
func BookingMarker(u User) string {
	var parts []string
	for _, f := range bookingFields {
		parts = append(parts, strings.TrimSpace(u.Fields[f]))
	}
	if strings.Join(parts, "") == "" {
		return ""
	}
	return strings.Join(parts, "|")
}

// TrainingActivity turns a User's delegates into tags and merge field
// values: a tag per booked course (the booked template) and per attended
// course (the attended template), none for cancelled, waiting-list or other
// places, so a cancelled booking's tag is no longer desired; NEXTCOURSE and
// NEXTDATE from the earliest booked course starting after now, LASTCOURSE
// and LASTDATE from the attended course that started last (empty when there
// is none, so a cleared value is cleared in Mailchimp). A date is the
// course's calendar date in the zone the platform gave its start in.
func TrainingActivity(delegates []Delegate, s ActivitySettings, now time.Time) Activity {
	out := Activity{Fields: Values{TagNextCourse: "", TagNextDate: "", TagLastCourse: "", TagLastDate: ""}}
	var next, last *Delegate
	ordered := slices.Clone(delegates)
	slices.SortStableFunc(ordered, func(a, b Delegate) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	for i := range ordered {
		d := &ordered[i]
		course := strings.TrimSpace(d.Course)
		if course == "" {
			continue
		}
		switch d.Status {
		case DelegateBooked:
			out.Tags = append(out.Tags, strings.ReplaceAll(s.Booked(), "{course}", course))
			if d.Start.After(now) && next == nil {
				next = d
			}
		case DelegateAttended:
			out.Tags = append(out.Tags, strings.ReplaceAll(s.Attended(), "{course}", course))
			if !d.Start.IsZero() {
				last = d
			}
		}
	}
	out.Tags = uniqueTags(out.Tags)
	if next != nil {
		out.Fields[TagNextCourse] = truncateText(strings.TrimSpace(next.Course), maxTextBytes)
		out.Fields[TagNextDate] = next.Start.Format(time.DateOnly)
		out.NextStart = next.Start.UTC()
	}
	if last != nil {
		out.Fields[TagLastCourse] = truncateText(strings.TrimSpace(last.Course), maxTextBytes)
		out.Fields[TagLastDate] = last.Start.Format(time.DateOnly)
	}
	return out
}

// Equal reports whether two activities give the same tags and values from
// the same booking dates (when they were read does not count).
func (a *Activity) Equal(b *Activity) bool {
	if a == nil || b == nil {
		return a == b
	}
	return sameTags(a.Tags, b.Tags) && a.Fields.Equal(b.Fields) && a.Marker == b.Marker && a.NextStart.Equal(b.NextStart) && a.Unsent == b.Unsent
}

// started reports whether the course of NEXTCOURSE has started by now.
func (a *Activity) started(now time.Time) bool {
	return a != nil && !a.NextStart.IsZero() && !a.NextStart.After(now)
}
