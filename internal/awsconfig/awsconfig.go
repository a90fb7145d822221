// Package awsconfig builds AWS SDK configuration, for AWS itself or for a
// local compatible server (kumo, DynamoDB Local) on loopback.
package awsconfig

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Load returns the default AWS configuration (environment, shared files,
// the Lambda role).
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// Local returns a configuration for a local AWS-compatible server: a fixed
// region and dummy static credentials, so nothing probes the instance
// metadata service. Set each client's BaseEndpoint to the server's URL.
func Local() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}
}
