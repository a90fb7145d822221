// Package ops holds what operators do to a running instance: summaries,
// pause and resume (releasing held changes in order), execution lists and
// one execution's detail (Detail), replays of one or many executions, a
// contact's timeline, and the dead-letter queue. The executions
// API, the console and the apmc CLI all call it, so each operation has one
// implementation. It imports no AWS or HTTP code.
package ops
