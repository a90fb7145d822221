// Package accessplanit talks to one accessplanit platform: a client for its
// API v2 (Users, Companies, custom field metadata, a User's delegates) and a
// parser for the webhooks the platform sends when a User or one of its
// delegates (course bookings) changes.
//
// accessplanit documents only part of its API publicly. Every guess this
// package makes about it is marked in the code with a comment starting
// "ASSUMPTION:", so that when the real behaviour is learnt there is one
// place to change. The rest of the service sees only the domain types of
// package apmc.
package accessplanit
