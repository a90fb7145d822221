package secrets

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// contextKey names the encryption context entry that binds a ciphertext to
// its instance: a blob sealed for one instance does not open for another.
const contextKey = "instance_id"

// KMS seals and opens secrets with one symmetric KMS key.
type KMS struct {
	client *kms.Client
	keyID  string
}

// NewKMS returns a sealer using the KMS key keyID (key id, ARN or alias).
func NewKMS(client *kms.Client, keyID string) *KMS {
	return &KMS{client: client, keyID: keyID}
}

// Seal encrypts plaintext for the instance instanceID.
func (k *KMS) Seal(ctx context.Context, instanceID string, plaintext []byte) ([]byte, error) {
	if instanceID == "" {
		return nil, errors.New("seal secrets: instance id is required")
	}
	out, err := k.client.Encrypt(ctx, &kms.EncryptInput{
		KeyId:             aws.String(k.keyID),
		Plaintext:         plaintext,
		EncryptionContext: map[string]string{contextKey: instanceID},
	})
	if err != nil {
		// The SDK's error names the operation and the service's message,
		// never the request body, so no plaintext can leak through it.
		return nil, fmt.Errorf("seal secrets of instance %s: %w", instanceID, err)
	}
	return out.CiphertextBlob, nil
}

// Open decrypts what Seal returned for the same instanceID.
func (k *KMS) Open(ctx context.Context, instanceID string, sealed []byte) ([]byte, error) {
	if instanceID == "" {
		return nil, errors.New("open secrets: instance id is required")
	}
	if len(sealed) == 0 {
		return nil, fmt.Errorf("open secrets of instance %s: nothing sealed", instanceID)
	}
	out, err := k.client.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             aws.String(k.keyID),
		CiphertextBlob:    sealed,
		EncryptionContext: map[string]string{contextKey: instanceID},
	})
	if err != nil {
		return nil, fmt.Errorf("open secrets of instance %s: %w", instanceID, err)
	}
	return out.Plaintext, nil
}
