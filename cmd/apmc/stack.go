package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// stackOutputs reads a deployed stack's outputs, by OutputKey.
func stackOutputs(ctx context.Context, cf *cloudformation.Client, stack string) (map[string]string, error) {
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		return nil, fmt.Errorf("read the outputs of stack %s: %w", stack, err)
	}
	if len(out.Stacks) == 0 {
		return nil, fmt.Errorf("read the outputs of stack %s: no such stack", stack)
	}
	outputs := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return outputs, nil
}

// outputFlags pairs template.yaml's Outputs with the flags they stand for;
// a later output fills a flag only when an earlier one did not.
func (f *targetFlags) outputFlags() []struct {
	output string
	dst    *string
} {
	return []struct {
		output string
		dst    *string
	}{
		{"InstancesTableName", &f.instancesTable},
		{"ExecutionsTableName", &f.executionsTable},
		{"ContactsTableName", &f.contactsTable},
		{"BackfillQueueUrl", &f.backfillQueue},
		{"ChangesQueueUrl", &f.queueURL},
		{"DeadLetterQueueUrl", &f.dlqURL},
		{"SecretsKeyId", &f.kmsKeyID},
		{"SecretsKeyAlias", &f.kmsKeyID},
		{"ApiUrl", &f.webhookBaseURL},
	}
}

// needOutputs reports whether a flag the stack's outputs could give is empty.
func (f *targetFlags) needOutputs() bool {
	for _, o := range f.outputFlags() {
		if *o.dst == "" {
			return true
		}
	}
	return false
}

// fillFromOutputs sets the flags still empty from the stack's outputs:
// flags and APMC_* variables given explicitly win.
func (f *targetFlags) fillFromOutputs(outputs map[string]string) {
	for _, o := range f.outputFlags() {
		if *o.dst == "" {
			*o.dst = outputs[o.output]
		}
	}
}
