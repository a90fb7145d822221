package accessplanit

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Training: the Course (a course template), CourseDate (a scheduled run of
// a course) and UserCourseDate (a delegate: a User's place on a course
// date) modules, as the platform's demo client names them. A delegate's ID
// is "<UserID>~<CourseDateID>". Every change of a delegate sends a webhook
// carrying the delegate, as the platform sends webhooks for any module.
//
// ASSUMPTION: delegate status names are Booked, Attended, Cancelled and
// Waiting List (the help centre names the states, not their spelling).

// delegateStatuses are the statuses a booking may be given.
var delegateStatuses = []string{"Booked", "Attended", "Cancelled", "Waiting List"}

type course struct {
	id    int
	label string
}

type courseDate struct {
	id       int
	courseID int
	start    time.Time
	end      time.Time
}

type delegate struct {
	userID, courseDateID int
	status               string
	dateCreated          time.Time
	dateUpdated          time.Time
}

// training holds the training modules; s.mu guards it.
type training struct {
	courses     map[int]*course
	courseDates map[int]*courseDate
	delegates   map[string]*delegate // by ID
	nextID      int
}

// train returns the server's training modules, made on first use; s.mu is
// held.
func (s *Server) train() *training {
	if s.training == nil {
		s.training = &training{courses: map[int]*course{}, courseDates: map[int]*courseDate{}, delegates: map[string]*delegate{}, nextID: 1}
	}
	return s.training
}

func delegateID(userID, courseDateID int) string {
	return strconv.Itoa(userID) + "~" + strconv.Itoa(courseDateID)
}

// Booking is a booking made in the UI: BookInUI's input.
type Booking struct {
	UserID string `json:"user_id"`
	Course string `json:"course"`
	// StartDate is the course date's start: a date or a date-time.
	StartDate string `json:"start_date"`
	// Status is one of Booked, Attended, Cancelled and Waiting List
	// (default Booked).
	Status string `json:"status"`
}

// BookInUI creates or updates the delegate of a User on the course date of
// that course starting then (creating the course and the course date when
// they do not exist), as a person in the platform's UI does, and sends the
// delegate's webhook (POST when created, PUT when changed). It returns the
// delegate's ID.
func (s *Server) BookInUI(b Booking) (string, error) {
	uid, err := strconv.Atoi(strings.TrimSpace(b.UserID))
	if err != nil {
		return "", &ValidationError{Problems: []string{fmt.Sprintf("user_id %q is not a User ID", b.UserID)}}
	}
	label := strings.TrimSpace(b.Course)
	if label == "" {
		return "", &ValidationError{Problems: []string{"course is required"}}
	}
	start, ok := parseDate(strings.TrimSpace(b.StartDate))
	if !ok {
		if t, okDate := parseDateLiteral(strings.TrimSpace(b.StartDate)); okDate {
			start, ok = t, true
		}
	}
	if !ok {
		return "", &ValidationError{Problems: []string{fmt.Sprintf("start_date %q is not a date", b.StartDate)}}
	}
	status := "Booked"
	if b.Status != "" {
		i := slices.IndexFunc(delegateStatuses, func(x string) bool { return strings.EqualFold(x, strings.TrimSpace(b.Status)) })
		if i < 0 {
			return "", &ValidationError{Problems: []string{fmt.Sprintf("status %q is not one of %s", b.Status, strings.Join(delegateStatuses, ", "))}}
		}
		status = delegateStatuses[i]
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[uid]; !ok {
		return "", &NotFoundError{ID: strconv.Itoa(uid)}
	}
	t := s.train()
	var c *course
	for _, x := range t.courses {
		if strings.EqualFold(x.label, label) {
			c = x
		}
	}
	if c == nil {
		c = &course{id: t.nextID, label: label}
		t.nextID++
		t.courses[c.id] = c
	}
	var cd *courseDate
	for _, x := range t.courseDates {
		if x.courseID == c.id && x.start.Equal(start) {
			cd = x
		}
	}
	if cd == nil {
		cd = &courseDate{id: t.nextID, courseID: c.id, start: start, end: start.Add(7 * time.Hour)}
		t.nextID++
		t.courseDates[cd.id] = cd
	}
	id := delegateID(uid, cd.id)
	now := s.stamp()
	method := http.MethodPut
	d, ok := t.delegates[id]
	if !ok {
		d = &delegate{userID: uid, courseDateID: cd.id, dateCreated: now}
		t.delegates[id] = d
		method = http.MethodPost
	}
	if ok && d.status == status {
		return id, nil
	}
	d.status, d.dateUpdated = status, now
	s.changed() // the User's booking dates may move
	s.stats.Writes++
	s.notify(method, s.delegateJSON(id, d))
	return id, nil
}

// delegateFields are the UserCourseDate properties, in their spelling.
var delegateFields = []string{"ID", "UserID", "CourseDateID", "CourseID", "UserFullName", "CompanyName", "CourseOrAliasName", "Status", "StartDate", "EndDate", "DateCreated", "DateUpdated"}

func delegateField(name string) (string, bool) { return fieldIn(delegateFields, name) }

func courseField(name string) (string, bool) {
	return fieldIn([]string{"ID", "Label", "ExternalID"}, name)
}

func courseDateField(name string) (string, bool) {
	return fieldIn([]string{"ID", "CourseID", "StartDate", "EndDate", "Status"}, name)
}

func fieldIn(names []string, name string) (string, bool) {
	for _, f := range names {
		if strings.EqualFold(f, name) {
			return f, true
		}
	}
	return "", false
}

// delegateJSON renders a delegate as the UserCourseDate module answers it;
// s.mu is held.
func (s *Server) delegateJSON(id string, d *delegate) map[string]any {
	t := s.train()
	cd := t.courseDates[d.courseDateID]
	c := t.courses[cd.courseID]
	out := map[string]any{
		"ID": id, "UserID": d.userID, "CourseDateID": cd.id, "CourseID": c.id,
		"UserFullName": nil, "CompanyName": nil,
		"CourseOrAliasName": c.label, "Status": d.status,
		"StartDate":   cd.start.UTC().Format(dateLayout),
		"EndDate":     cd.end.UTC().Format(dateLayout),
		"DateCreated": d.dateCreated.UTC().Format(stampLayout),
		"DateUpdated": d.dateUpdated.UTC().Format(stampLayout),
	}
	if u, ok := s.users[d.userID]; ok {
		out["UserFullName"] = nullable(strings.TrimSpace(u.text["Forenames"] + " " + u.text["Surname"]))
		out["CompanyName"] = nullable(s.companies[u.companyID])
	}
	return out
}

func (s *Server) delegateItems() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.train()
	ids := make([]string, 0, len(t.delegates))
	for id := range t.delegates {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.delegateJSON(id, t.delegates[id]))
	}
	return out
}

func (s *Server) courseItems() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.train()
	out := []map[string]any{}
	for _, c := range t.courses {
		out = append(out, map[string]any{"ID": c.id, "Label": c.label, "ExternalID": nil})
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["ID"].(int) < out[j]["ID"].(int) })
	return out
}

func (s *Server) courseDateItems() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.train()
	out := []map[string]any{}
	for _, cd := range t.courseDates {
		out = append(out, map[string]any{"ID": cd.id, "CourseID": cd.courseID, "StartDate": cd.start.UTC().Format(dateLayout), "EndDate": cd.end.UTC().Format(dateLayout), "Status": "Scheduled"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["ID"].(int) < out[j]["ID"].(int) })
	return out
}

func (s *Server) getDelegates(w http.ResponseWriter, r *http.Request) {
	s.serveList(w, r, s.delegateItems, delegateField)
}

func (s *Server) getCourses(w http.ResponseWriter, r *http.Request) {
	s.serveList(w, r, s.courseItems, courseField)
}

func (s *Server) getCourseDates(w http.ResponseWriter, r *http.Request) {
	s.serveList(w, r, s.courseDateItems, courseDateField)
}

// controlBooking serves POST /_sandbox/bookings: {"user_id", "course",
// "start_date", "status"} → {"id": "<UserID>~<CourseDateID>"}.
func (s *Server) controlBooking(w http.ResponseWriter, r *http.Request) {
	var b Booking
	if !decodeControl(w, r, &b) {
		return
	}
	id, err := s.BookInUI(b)
	if err != nil {
		controlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

// addBookingDates sets a User's booking dates in its answer, as the
// platform's User model has them: LatestCourseDateBooked (the latest start
// of a course date it is booked on or attended), LatestCourseDateAttended
// and LastBooking (when its latest booking was made); null when there is
// none. s.mu is held.
func (s *Server) addBookingDates(item map[string]any, userID int) {
	var booked, attended, last time.Time
	if s.training != nil {
		for _, d := range s.training.delegates {
			if d.userID != userID {
				continue
			}
			start := s.training.courseDates[d.courseDateID].start
			if (d.status == "Booked" || d.status == "Attended") && start.After(booked) {
				booked = start
			}
			if d.status == "Attended" && start.After(attended) {
				attended = start
			}
			if d.dateCreated.After(last) {
				last = d.dateCreated
			}
		}
	}
	item["LatestCourseDateBooked"] = nullableTime(booked, dateLayout)
	item["LatestCourseDateAttended"] = nullableTime(attended, dateLayout)
	item["LastBooking"] = nullableTime(last, stampLayout)
}

func nullableTime(t time.Time, layout string) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(layout)
}
