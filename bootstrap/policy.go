package main

import (
	"encoding/json"
	"fmt"
	"sort"
)

// policyDocument is an IAM policy (identity, resource or trust policy).
type policyDocument struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

// statement is one IAM policy statement. Principal is a map for trust and
// bucket policies ("AWS": "*", "Federated": arn).
type statement struct {
	Sid       string                    `json:"Sid,omitempty"`
	Effect    string                    `json:"Effect"`
	Principal map[string]any            `json:"Principal,omitempty"`
	Action    []string                  `json:"Action"`
	Resource  []string                  `json:"Resource,omitempty"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

func newPolicy(st ...statement) policyDocument {
	return policyDocument{Version: "2012-10-17", Statement: st}
}

func (p policyDocument) JSON() (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("marshal policy: %w", err)
	}
	return string(b), nil
}

// ids are the account facts and ARNs the policies are built from.
type ids struct {
	Partition string
	Account   string
	BucketARN string
	KeyARN    string
	OIDCARN   string
}

const githubOIDCHost = "token.actions.githubusercontent.com"

// stackProject is the main program's Pulumi project name, which it writes
// into the promfed:project tag of everything it creates.
const stackProject = "promfed"

func sorted(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

// stateBucketPolicy denies every request that does not use TLS.
func stateBucketPolicy(bucketARN string) policyDocument {
	return newPolicy(statement{
		Sid:       "DenyInsecureTransport",
		Effect:    "Deny",
		Principal: map[string]any{"AWS": "*"},
		// A Deny may use the service wildcard: it only ever takes access away.
		Action:    []string{"s3:*"},
		Resource:  []string{bucketARN, bucketARN + "/*"},
		Condition: map[string]map[string]any{"Bool": {"aws:SecureTransport": "false"}},
	})
}

// trustPolicy lets GitHub Actions workflows of one repository assume a role,
// for the given OIDC subjects only.
func trustPolicy(oidcARN string, subjects []string) policyDocument {
	return newPolicy(statement{
		Sid:       "GitHubActionsOIDC",
		Effect:    "Allow",
		Principal: map[string]any{"Federated": oidcARN},
		Action:    []string{"sts:AssumeRoleWithWebIdentity"},
		Condition: map[string]map[string]any{
			"StringEquals": {
				githubOIDCHost + ":aud": "sts.amazonaws.com",
				githubOIDCHost + ":sub": sorted(subjects),
			},
		},
	})
}

// previewSubjects: pull_request events of the repository.
func previewSubjects(s *settings) []string {
	return []string{"repo:" + s.GitHubRepo + ":pull_request"}
}

// deploySubjects: pushes to the main branch (the dev job) and jobs running
// in the gated deploy environment (the prod job: a job with `environment:`
// gets an environment subject instead of a ref subject).
func deploySubjects(s *settings) []string {
	return []string{
		"repo:" + s.GitHubRepo + ":ref:refs/heads/" + s.MainBranch,
		"repo:" + s.GitHubRepo + ":environment:" + s.DeployEnvironment,
	}
}

func regionCondition(region string) map[string]map[string]any {
	return map[string]map[string]any{"StringEquals": {"aws:RequestedRegion": region}}
}

// previewPolicy: read state, take/release the lock, decrypt secrets, and the
// read-only calls a preview of the main stack makes.
func previewPolicy(id ids) policyDocument {
	return newPolicy(
		statement{Sid: "ReadState", Effect: "Allow", Action: sorted(stateReadActions),
			Resource: []string{id.BucketARN, id.BucketARN + "/*"}},
		statement{Sid: "WriteLocksOnly", Effect: "Allow", Action: sorted(stateWriteActions),
			Resource: []string{id.BucketARN + "/.pulumi/locks/*"}},
		statement{Sid: "DecryptSecrets", Effect: "Allow", Action: sorted(kmsPreviewActions),
			Resource: []string{id.KeyARN}},
		statement{Sid: "ReadStackInputs", Effect: "Allow", Action: sorted(stackReadActions),
			Resource: []string{"*"}},
	)
}

// deployPolicies are the deploy role's managed policies, split by area so
// each stays under the 6,144-character managed policy limit.
func deployPolicies(s *settings, id ids) map[string]policyDocument {
	acct := func(svc, res string) string {
		return fmt.Sprintf("arn:%s:%s::%s:%s", id.Partition, svc, id.Account, res)
	}
	regional := func(svc, res string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", id.Partition, svc, s.Region, id.Account, res)
	}
	ciRoles := []string{
		acct("iam", "role/"+s.RolePrefix+"-preview"),
		acct("iam", "role/"+s.RolePrefix+"-deploy"),
		acct("iam", "policy/"+s.RolePrefix+"-*"),
	}
	if id.OIDCARN != "" {
		ciRoles = append(ciRoles, id.OIDCARN)
	}
	appBuckets := fmt.Sprintf("arn:%s:s3:::%s*", id.Partition, s.StackBucketPrefix)
	return map[string]policyDocument{
		"state": newPolicy(
			statement{Sid: "ReadState", Effect: "Allow", Action: sorted(stateReadActions),
				Resource: []string{id.BucketARN, id.BucketARN + "/*"}},
			statement{Sid: "WriteState", Effect: "Allow", Action: sorted(stateWriteActions),
				Resource: []string{id.BucketARN + "/*"}},
			statement{Sid: "UseStateKey", Effect: "Allow", Action: sorted(kmsDeployActions),
				Resource: []string{id.KeyARN}},
			statement{Sid: "ProtectStateBucket", Effect: "Deny", Action: sorted(stateGuardActions),
				Resource: []string{id.BucketARN, id.BucketARN + "/*"}},
			statement{Sid: "ReadStackInputs", Effect: "Allow", Action: sorted(stackReadActions),
				Resource: []string{"*"}},
		),
		"network": newPolicy(
			statement{Sid: "Ec2Vpc", Effect: "Allow", Action: sorted(ec2Actions),
				Resource: []string{"*"}, Condition: regionCondition(s.Region)},
		),
		"edge": newPolicy(
			statement{Sid: "LoadBalancer", Effect: "Allow", Action: sorted(elbActions),
				Resource: []string{"*"}, Condition: regionCondition(s.Region)},
			statement{Sid: "Certificates", Effect: "Allow", Action: sorted(acmActions),
				Resource: []string{"*"}, Condition: regionCondition(s.Region)},
			statement{Sid: "DnsRecords", Effect: "Allow", Action: sorted(route53Actions),
				Resource: []string{
					fmt.Sprintf("arn:%s:route53:::hostedzone/*", id.Partition),
					fmt.Sprintf("arn:%s:route53:::change/*", id.Partition),
				}},
			statement{Sid: "DnsZone", Effect: "Allow", Action: sorted(route53CreateZoneActions),
				Resource: []string{"*"}},
			statement{Sid: "FlowLogGroup", Effect: "Allow", Action: sorted(logsActions),
				Resource: []string{regional("logs", "log-group:*")}},
			statement{Sid: "DescribeLogGroups", Effect: "Allow", Action: sorted(logsDescribeActions),
				Resource: []string{"*"}},
			statement{Sid: "SnapshotLifecycle", Effect: "Allow", Action: sorted(dlmActions),
				Resource: []string{"*"}, Condition: regionCondition(s.Region)},
		),
		"alerts": newPolicy(
			statement{Sid: "AlertTopic", Effect: "Allow", Action: sorted(snsActions),
				Resource: []string{regional("sns", s.StackIAMPrefix+"*")}},
			statement{Sid: "CreateStackKeys", Effect: "Allow", Action: sorted(kmsCreateActions),
				Resource: []string{"*"}, Condition: map[string]map[string]any{
					"StringEquals": {"aws:RequestedRegion": s.Region, "aws:RequestTag/promfed:project": stackProject},
				}},
			statement{Sid: "ListKeyAliases", Effect: "Allow", Action: sorted(kmsListActions),
				Resource: []string{"*"}, Condition: regionCondition(s.Region)},
			statement{Sid: "ManageStackKeys", Effect: "Allow", Action: sorted(kmsStackKeyActions),
				Resource: []string{regional("kms", "key/*")}, Condition: map[string]map[string]any{
					"StringEquals": {"aws:ResourceTag/promfed:project": stackProject},
				}},
			statement{Sid: "StackKeyAliases", Effect: "Allow", Action: sorted(kmsAliasActions),
				Resource: []string{regional("kms", "alias/"+s.StackIAMPrefix+"*")}},
			statement{Sid: "ProtectStateKey", Effect: "Deny", Action: sorted(stateKeyGuardActions),
				Resource: []string{id.KeyARN}},
			statement{Sid: "VulnerabilityScanning", Effect: "Allow", Action: sorted(inspectorActions),
				Resource: []string{"*"}, Condition: regionCondition(s.Region)},
		),
		"iam-s3": newPolicy(
			statement{Sid: "StackRolesAndProfiles", Effect: "Allow", Action: sorted(iamActions),
				Resource: []string{
					acct("iam", "role/"+s.StackIAMPrefix+"*"),
					acct("iam", "instance-profile/"+s.StackIAMPrefix+"*"),
					acct("iam", "policy/"+s.StackIAMPrefix+"*"),
				}},
			statement{Sid: "PassStackRolesToServices", Effect: "Allow", Action: sorted(passRoleActions),
				Resource:  []string{acct("iam", "role/"+s.StackIAMPrefix+"*")},
				Condition: map[string]map[string]any{"StringEquals": {"iam:PassedToService": sorted(passRoleServices)}}},
			statement{Sid: "ElbServiceLinkedRole", Effect: "Allow", Action: sorted(serviceLinkedRoleActions),
				Resource:  []string{acct("iam", "role/aws-service-role/*")},
				Condition: map[string]map[string]any{"StringEquals": {"iam:AWSServiceName": sorted(serviceLinkedRoleServices)}}},
			statement{Sid: "ProtectCiRoles", Effect: "Deny", Action: sorted(ciRoleGuardActions),
				Resource: ciRoles},
			statement{Sid: "AccessLogBucket", Effect: "Allow", Action: sorted(s3AppActions),
				Resource: []string{appBuckets, appBuckets + "/*"}},
		),
	}
}
