package apmc

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestTrainingActivity(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return now.AddDate(0, 0, d) }
	empty := Values{TagNextCourse: "", TagNextDate: "", TagLastCourse: "", TagLastDate: ""}
	with := func(kv ...string) Values {
		v := Values{}
		for k, x := range empty {
			v[k] = x
		}
		for i := 0; i < len(kv); i += 2 {
			v[kv[i]] = kv[i+1]
		}
		return v
	}
	tests := []struct {
		name      string
		delegates []Delegate
		settings  ActivitySettings
		want      Activity
	}{
		{name: "no delegates", want: Activity{Fields: empty}},
		{
			name:      "a future booking: tag and next course",
			delegates: []Delegate{{ID: "1~10", Course: "First Aid", Status: DelegateBooked, Start: day(10)}},
			want:      Activity{Tags: []string{"Booked: First Aid"}, Fields: with(TagNextCourse, "First Aid", TagNextDate, "2026-12-11"), NextStart: day(10)},
		},
		{
			name: "the earliest future booking is next",
			delegates: []Delegate{
				{ID: "1~11", Course: "Fire Safety", Status: DelegateBooked, Start: day(30)},
				{ID: "1~10", Course: "First Aid", Status: DelegateBooked, Start: day(3)},
				{ID: "1~9", Course: "Manual Handling", Status: DelegateBooked, Start: day(-3)},
			},
			want: Activity{Tags: []string{"Booked: Manual Handling", "Booked: First Aid", "Booked: Fire Safety"}, Fields: with(TagNextCourse, "First Aid", TagNextDate, "2026-12-04"), NextStart: day(3)},
		},
		{
			name:      "a cancelled booking gives no tag and no next course",
			delegates: []Delegate{{ID: "1~10", Course: "First Aid", Status: DelegateCancelled, Start: day(10)}},
			want:      Activity{Fields: empty},
		},
		{
			name:      "a waiting-list place gives nothing",
			delegates: []Delegate{{ID: "1~10", Course: "First Aid", Status: DelegateWaiting, Start: day(10)}},
			want:      Activity{Fields: empty},
		},
		{
			name: "the latest attended course is last",
			delegates: []Delegate{
				{ID: "1~7", Course: "Fire Safety", Status: DelegateAttended, Start: day(-10)},
				{ID: "1~5", Course: "First Aid", Status: DelegateAttended, Start: day(-40)},
			},
			want: Activity{Tags: []string{"Attended: First Aid", "Attended: Fire Safety"}, Fields: with(TagLastCourse, "Fire Safety", TagLastDate, "2026-11-21")},
		},
		{
			name:      "templates of the instance",
			delegates: []Delegate{{ID: "1~10", Course: "First Aid", Status: DelegateBooked, Start: day(1)}, {ID: "1~9", Course: "CPR", Status: DelegateAttended, Start: day(-1)}},
			settings:  ActivitySettings{BookedTag: "{course} (booked)", AttendedTag: "Done {course}"},
			want:      Activity{Tags: []string{"Done CPR", "First Aid (booked)"}, Fields: with(TagNextCourse, "First Aid", TagNextDate, "2026-12-02", TagLastCourse, "CPR", TagLastDate, "2026-11-30"), NextStart: day(1)},
		},
		{
			name:      "the same course booked twice gives one tag",
			delegates: []Delegate{{ID: "1~10", Course: "First Aid", Status: DelegateBooked, Start: day(1)}, {ID: "1~11", Course: "First Aid", Status: DelegateBooked, Start: day(2)}},
			want:      Activity{Tags: []string{"Booked: First Aid"}, Fields: with(TagNextCourse, "First Aid", TagNextDate, "2026-12-02"), NextStart: day(1)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TrainingActivity(tt.delegates, tt.settings, now)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("TrainingActivity differs (-want +got):\n%s", diff)
			}
		})
	}
}
