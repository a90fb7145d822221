// Package queue moves changes through the SQS FIFO queue: Producer puts a
// change on it (one message group per contact, one deduplication id per
// delivery), Consumer turns a batch of SQS records into engine deliveries and
// reports partial failures, and Poller feeds a Consumer from the queue the way
// Lambda's event source mapping does, for the local stack.
package queue
