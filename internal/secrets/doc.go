// Package secrets seals an instance's secrets with AWS KMS, so they are kept
// at rest only as ciphertext bound to the instance they belong to.
package secrets
