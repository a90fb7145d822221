//go:build lambda.norpc

package apmc

// LoopbackHTTP is false in the Lambda build (the lambda.norpc tag): a
// deployed function sends API keys over https only, even to an address on
// its own machine, whatever an instance's configuration says.
const LoopbackHTTP = false
