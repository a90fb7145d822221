package secrets

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// SessionKeyMessage is the message whose HMAC under the console's KMS key is
// the console's session key. Changing it (a new "v2") ends every session.
const SessionKeyMessage = "apmc console session key v1"

// SessionKeySize is the length of the key SessionKey returns.
const SessionKeySize = 32

// SessionKey derives the console's session-signing key from the KMS HMAC key
// keyID (HMAC_256, GENERATE_VERIFY_MAC): the MAC of SessionKeyMessage. The
// key material never leaves KMS, so only a principal allowed kms:GenerateMac
// on that key can compute the session key; reading the function's
// configuration is not enough. Call it once per cold start and keep the
// result in memory.
func SessionKey(ctx context.Context, client *kms.Client, keyID string) ([]byte, error) {
	if keyID == "" {
		return nil, errors.New("derive console session key: KMS key id is required")
	}
	out, err := client.GenerateMac(ctx, &kms.GenerateMacInput{
		KeyId:        aws.String(keyID),
		Message:      []byte(SessionKeyMessage),
		MacAlgorithm: types.MacAlgorithmSpecHmacSha256,
	})
	if err != nil {
		return nil, fmt.Errorf("derive console session key with KMS key %s: %w", keyID, err)
	}
	if len(out.Mac) != SessionKeySize {
		return nil, fmt.Errorf("derive console session key with KMS key %s: MAC is %d bytes, want %d", keyID, len(out.Mac), SessionKeySize)
	}
	return out.Mac, nil
}
