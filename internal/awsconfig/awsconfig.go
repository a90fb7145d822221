// Package awsconfig builds AWS SDK configuration, for AWS itself or for a
// local compatible server (kumo, DynamoDB Local) on loopback.
package awsconfig

import (
	"context"
	"errors"
	"fmt"
	"os"

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

// Lambda returns the configuration inside a Lambda function, from the
// environment Lambda sets: the region, and the function role's credentials
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), plus
// AWS_ENDPOINT_URL when set (local runs). Unlike Load it needs no shared
// configuration files or credential providers, which keeps the functions'
// binaries small and their cold starts short.
func Lambda() (aws.Config, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, errors.New("load AWS configuration: AWS_REGION is not set")
	}
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		if id == "" || secret == "" {
			return aws.Credentials{}, errors.New("no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
		}
		return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: os.Getenv("AWS_SESSION_TOKEN"), Source: "environment"}, nil
	})
	cfg := aws.Config{Region: region, Credentials: aws.NewCredentialsCache(creds)}
	if ep := os.Getenv("AWS_ENDPOINT_URL"); ep != "" {
		cfg.BaseEndpoint = aws.String(ep)
	}
	return cfg, nil
}
