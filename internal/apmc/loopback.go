//go:build !lambda.norpc

package apmc

// LoopbackHTTP says whether CheckBaseURL accepts plain http to a loopback
// address. It is true in every build but the Lambda one (built with the
// lambda.norpc tag), so the local stack, the CLI and the tests can reach
// simulators on this machine without TLS.
const LoopbackHTTP = true
