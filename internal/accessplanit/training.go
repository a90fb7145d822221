package accessplanit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// SplitTags reads a User's Tags property.
//
// ASSUMPTION: Tags is one string of tag names separated by commas (the
// platform's format is not published); blanks around names are dropped.
func SplitTags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// delegateStatuses maps the platform's delegate status names, compared
// without regard to case, to the domain's.
//
// ASSUMPTION: the names are Booked, Attended, Cancelled and Waiting List
// (the help centre names booked, provisional, waiting list, on hold,
// cancelled and transferred, not their spelling); any other is
// apmc.DelegateOther and gives no tag.
var delegateStatuses = map[string]apmc.DelegateStatus{
	"booked":       apmc.DelegateBooked,
	"attended":     apmc.DelegateAttended,
	"cancelled":    apmc.DelegateCancelled,
	"canceled":     apmc.DelegateCancelled,
	"waiting list": apmc.DelegateWaiting,
}

// DelegateStatus maps a platform status name to the domain's.
func DelegateStatus(name string) apmc.DelegateStatus {
	if s, ok := delegateStatuses[strings.ToLower(strings.TrimSpace(name))]; ok {
		return s
	}
	return apmc.DelegateOther
}

// Delegates returns the User's delegates: GET UserCourseDate?$filter=UserID
// eq '{id}', page by page (delegatesWhere). A delegate's ID is
// "<UserID>~<CourseDateID>".
func (c *Client) Delegates(ctx context.Context, userID string) ([]apmc.Delegate, error) {
	userID = strings.TrimSpace(userID)
	if !ValidUserID(userID) {
		return nil, apmc.Invalidf("read delegates: %.70q is not a User ID", userID)
	}
	delegates, _, err := c.delegatesWhere(ctx, "UserID eq "+odataString(userID), []string{userID})
	if err != nil {
		return nil, fmt.Errorf("read delegates of user %s: %w", userID, err)
	}
	return delegates, nil
}

// DelegatesOfUsers returns the delegates of the Users with the given IDs in
// as few requests as it can: GET UserCourseDate?$filter=UserID eq '…' or
// UserID eq '…', one filter per 50 Users, as Users reads Users, each read
// page by page (delegatesWhere). IDs that are not User IDs (see
// ValidUserID) are skipped, not read. It returns the delegates and the
// number of requests made.
func (c *Client) DelegatesOfUsers(ctx context.Context, userIDs []string) ([]apmc.Delegate, int, error) {
	var out []apmc.Delegate
	requests := 0
	for filter, chunk := range idFilters("UserID", userIDs) {
		delegates, n, err := c.delegatesWhere(ctx, filter, chunk)
		requests += n
		if err != nil {
			return nil, requests, fmt.Errorf("read the delegates of %d users: %w", len(chunk), err)
		}
		out = append(out, delegates...)
	}
	return out, requests, nil
}

// delegatesWhere reads every delegate filter selects, of the Users users
// (a platform that ignored the filter would answer every delegate, so the
// others are dropped), a page at a time: $top=PageSize, $skip and
// $orderby=ID, until a page comes back short. It returns them and the
// number of requests made.
//
// The page size is asked for, not left to the platform: its default page
// is not published, and a list cut by a smaller one would pass for all of a
// User's delegates, taking booking tags off and setting NEXTCOURSE wrong.
//
// ASSUMPTION: UserCourseDate pages like User ($top up to PageSize, $skip,
// $orderby=ID): a page shorter than the one asked for is the last.
func (c *Client) delegatesWhere(ctx context.Context, filter string, users []string) ([]apmc.Delegate, int, error) {
	var out []apmc.Delegate
	first := ""
	for page := 0; ; page++ {
		q := query{
			{"$filter", filter},
			{"$orderby", "ID"},
			{"$top", strconv.Itoa(PageSize)},
			{"$skip", strconv.Itoa(page * PageSize)},
		}
		body, _, err := c.do(ctx, http.MethodGet, "UserCourseDate", q, nil)
		if err != nil {
			return nil, page + 1, fmt.Errorf("page %d: %w", page+1, err)
		}
		items, err := decodeList(body)
		if err != nil {
			return nil, page + 1, fmt.Errorf("page %d: %w", page+1, err)
		}
		for i, raw := range items {
			d, err := decodeDelegate(raw)
			if err != nil {
				return nil, page + 1, err
			}
			if i == 0 && page > 0 && d.ID == first {
				// $skip ignored: paging on would never end.
				return nil, page + 1, fmt.Errorf("page %d repeats the first page: the platform ignored $skip", page+1)
			}
			if i == 0 && page == 0 {
				first = d.ID
			}
			if slices.Contains(users, d.UserID) {
				out = append(out, d)
			}
		}
		if len(items) < PageSize {
			return out, page + 1, nil
		}
	}
}

// decodeDelegate reads one UserCourseDate leniently, like a User.
func decodeDelegate(raw json.RawMessage) (apmc.Delegate, error) {
	obj, err := decodeObject(raw)
	if err != nil {
		return apmc.Delegate{}, err
	}
	return delegateFromObject(obj)
}

func delegateFromObject(obj map[string]json.RawMessage) (apmc.Delegate, error) {
	d := apmc.Delegate{
		ID:        firstText(obj, "ID"),
		UserID:    firstText(obj, "UserID"),
		Course:    firstText(obj, "CourseOrAliasName", "CourseName"),
		RawStatus: firstText(obj, "Status"),
	}
	user, _, isDelegate := strings.Cut(d.ID, "~")
	if !isDelegate {
		return apmc.Delegate{}, fmt.Errorf("decode delegate: ID %.40q is not <UserID>~<CourseDateID>", d.ID)
	}
	if d.UserID == "" {
		d.UserID = user
	}
	d.Status = DelegateStatus(d.RawStatus)
	for name, to := range map[string]*time.Time{"StartDate": &d.Start, "EndDate": &d.End} {
		if s := firstText(obj, name); s != "" {
			// In the zone given: the course's own calendar date.
			t, err := parseZonedTime(s)
			if err != nil {
				return apmc.Delegate{}, fmt.Errorf("decode delegate %s: %s: %w", d.ID, name, err)
			}
			*to = t
		}
	}
	return d, nil
}

// delegateModule reports whether a webhook's module name is the delegates'.
//
// ASSUMPTION: a delivery names its module like the API's path
// (UserCourseDate), or "Delegate(s)" as the UI calls it.
func delegateModule(name string) bool {
	for _, m := range []string{"UserCourseDate", "UserCourseDates", "Delegate", "Delegates"} {
		if strings.EqualFold(name, m) {
			return true
		}
	}
	return false
}

// delegateChange turns a delegate's webhook into a change of its User: a
// booking was made, changed or removed, whatever the method. Like every
// delivery it is a trigger: the sync reads the User and its delegates. The
// change carries the User's email when the delivery does, so it is queued
// with that contact's other changes; otherwise it is ordered by User ID.
func delegateChange(obj map[string]json.RawMessage, instanceID string, receivedAt time.Time) (apmc.Change, error) {
	id := firstText(obj, "ID")
	userID := firstText(obj, "UserID")
	if u, _, ok := strings.Cut(id, "~"); ok && userID == "" {
		userID = u
	}
	if userID == "" || !ValidUserID(userID) {
		return apmc.Change{}, malformedf("the delegate %.40q names no User", id)
	}
	c := apmc.Change{
		InstanceID: instanceID,
		Source:     apmc.SideAccessplanit,
		Event:      apmc.EventBooking,
		ReceivedAt: receivedAt,
		Origin:     apmc.OriginWebhook,
		UserID:     userID,
		DelegateID: truncateID(id),
		Email:      apmc.NormaliseEmail(firstText(obj, "UserEmail", "Email")),
	}
	if s := firstText(obj, "DateUpdated"); s != "" {
		if t, err := parseTime(s); err == nil {
			c.OccurredAt = t
		}
	}
	return c, nil
}

// truncateID bounds an ID taken from a delivery, for the execution record.
func truncateID(id string) string {
	if len(id) > 140 {
		return id[:140]
	}
	return id
}
