// Package accessplanit is a simulator of an accessplanit platform's API v2,
// faithful to what is known of it (see the project's accessplanit contract):
// bearer API keys, the User, Company and CustomFieldMetadata modules with
// OData-style queries, the platform's validation, its lenient JSON, audit
// stamps, two-step deletes and webhooks sent on every change of a User; and
// the training modules Course, CourseDate and UserCourseDate (delegates,
// made through BookInUI or POST /_sandbox/bookings, each change sending the
// delegate's webhook).
//
// It serves local runs, tests and benchmarks. Beside the emulated API it
// has a small JSON control API under /_sandbox/ (acting as an admin in the
// platform's UI, injecting faults, setting latency, reading statistics),
// and the same controls as Go methods. Its actions are POSTs, and the Go
// methods that act as an administrator in the UI end in InUI
// (CreateUserInUI, EditUserInUI, DeleteUserInUI, BookInUI), as in the Mailchimp
// simulator. It depends on no other package of
// the project, so it cannot share the client's assumptions by accident.
package accessplanit
