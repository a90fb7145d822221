package dynamo

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/sivchari/kumo"
)

// kumoURL is the in-process kumo server shared by the package's tests; it
// serves DynamoDB and KMS on 127.0.0.1.
var kumoURL string

func TestMain(m *testing.M) {
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	srv := kumo.NewServer()
	kumoURL = srv.URL
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

// localEndpointEnv names the DynamoDB Local endpoint (infra/dynamodb-local.sh start).
const localEndpointEnv = "APMC_DYNAMODB_LOCAL_ENDPOINT"

// backend is one DynamoDB-compatible server the stores are tested against.
type backend struct {
	name   string
	client *dynamodb.Client
}

// eachBackend runs fn against kumo and, when APMC_DYNAMODB_LOCAL_ENDPOINT is
// set, against AWS DynamoDB Local. Without it the DynamoDB Local run is
// skipped, or fails when APMC_REQUIRE_SERVERS=1.
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Helper()
	t.Run("kumo", func(t *testing.T) {
		fn(t, backend{name: "kumo", client: dynamoClient(t, kumoURL)})
	})
	t.Run("dynamodb-local", func(t *testing.T) {
		endpoint := os.Getenv(localEndpointEnv)
		if endpoint == "" {
			msg := localEndpointEnv + " is not set; start DynamoDB Local with: eval \"$(infra/dynamodb-local.sh start)\""
			if os.Getenv("APMC_REQUIRE_SERVERS") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		fn(t, backend{name: "dynamodb-local", client: dynamoClient(t, endpoint)})
	})
}

func awsConfig(t *testing.T) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
	)
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	return cfg
}

func dynamoClient(t *testing.T, endpoint string) *dynamodb.Client {
	t.Helper()
	return dynamodb.NewFromConfig(awsConfig(t), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

func kmsClient(t *testing.T) *kms.Client {
	t.Helper()
	return kms.NewFromConfig(awsConfig(t), func(o *kms.Options) { o.BaseEndpoint = aws.String(kumoURL) })
}

var tableSeq atomic.Int64

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// newTables creates the three tables under names unique to the test and
// deletes them when it ends.
func newTables(t *testing.T, client *dynamodb.Client) Tables {
	t.Helper()
	base := unsafeName.ReplaceAllString(t.Name(), "_")
	if len(base) > 150 {
		base = base[len(base)-150:]
	}
	base = fmt.Sprintf("%s_%d_%d", base, time.Now().UnixNano(), tableSeq.Add(1))
	tables := Tables{Instances: base + "_instances", Executions: base + "_executions", Contacts: base + "_contacts"}
	ctx := context.Background()
	if err := CreateTables(ctx, client, tables); err != nil {
		t.Fatalf("CreateTables(%+v) error: %v", tables, err)
	}
	// Creating twice must be harmless.
	if err := CreateTables(ctx, client, tables); err != nil {
		t.Fatalf("CreateTables(%+v) again error: %v", tables, err)
	}
	t.Cleanup(func() {
		for _, name := range []string{tables.Instances, tables.Executions, tables.Contacts} {
			_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		}
	})
	return tables
}

// containsText reports whether any string or binary value of an item
// (nested ones included) contains s.
func containsText(item map[string]types.AttributeValue, s string) bool {
	for _, v := range item {
		if valueContains(v, s) {
			return true
		}
	}
	return false
}

func valueContains(v types.AttributeValue, s string) bool {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return strings.Contains(x.Value, s)
	case *types.AttributeValueMemberB:
		return strings.Contains(string(x.Value), s)
	case *types.AttributeValueMemberSS:
		return slices.ContainsFunc(x.Value, func(e string) bool { return strings.Contains(e, s) })
	case *types.AttributeValueMemberL:
		return slices.ContainsFunc(x.Value, func(e types.AttributeValue) bool { return valueContains(e, s) })
	case *types.AttributeValueMemberM:
		return containsText(x.Value, s)
	}
	return false
}
