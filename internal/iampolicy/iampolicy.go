// Package iampolicy writes the IAM policy documents the components share.
package iampolicy

import (
	"encoding/json"
	"strings"
)

// Statement is one IAM policy statement.
type Statement map[string]any

// Document renders a policy document.
func Document(statements ...Statement) string {
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	if err != nil {
		panic(err) // statements hold only strings, slices and maps
	}
	return string(b)
}

// AssumeRole is the trust policy that lets an AWS service assume a role.
func AssumeRole(service string) string {
	return Document(Statement{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": map[string]any{"Service": service}})
}

// SessionLogWriter lets a host's SSM agent stream Session Manager sessions
// to one CloudWatch Logs group (its ARN) and check the group's encryption.
func SessionLogWriter(groupArn string) string {
	all := groupArn // DescribeLogGroups is granted on the account's log groups
	if i := strings.Index(groupArn, ":log-group:"); i >= 0 {
		all = groupArn[:i] + ":log-group:*"
	}
	return Document(
		Statement{"Sid": "RecordSessions", "Effect": "Allow",
			"Action": []string{"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"}, "Resource": groupArn + ":*"},
		Statement{"Sid": "CheckSessionLogEncryption", "Effect": "Allow",
			"Action": []string{"logs:DescribeLogGroups"}, "Resource": all},
	)
}
