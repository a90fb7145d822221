// Package secrets keeps the service's secrets out of reach of anyone who can
// only read its configuration: it seals an instance's secrets with AWS KMS,
// so they are kept at rest only as ciphertext bound to the instance they
// belong to, and derives the console's session key from a KMS HMAC key.
package secrets
