package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/promfed/promfed/internal/contract"
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
	Partition   string
	Account     string
	BucketARN   string
	StateKeyARN string
	// SecretsKeyARNs are the stacks' secrets-provider keys, by stack.
	SecretsKeyARNs map[string]string
	OIDCARN        string
}

const githubOIDCHost = "token.actions.githubusercontent.com"

// managedPolicyMaxLen is IAM's limit on a customer managed policy document
// (characters, whitespace excluded; the documents here have none).
const managedPolicyMaxLen = 6144

// stackProject is the main program's Pulumi project name: its stacks'
// state lives under .pulumi/stacks/<stackProject>/ and it writes it into
// the promfed:project tag of everything it creates.
const stackProject = "promfed"

func sorted(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

func (id ids) acct(svc, res string) string {
	return fmt.Sprintf("arn:%s:%s::%s:%s", id.Partition, svc, id.Account, res)
}

// regional is res of svc in the account, one ARN per region of regions
// (s.regions() or s.home()).
func (id ids) regional(regions []string, svc, res string) []string {
	var out []string
	for _, r := range regions {
		out = append(out, fmt.Sprintf("arn:%s:%s:%s:%s:%s", id.Partition, svc, r, id.Account, res))
	}
	return out
}

// boundaryARN is the permissions boundary every stack role must carry.
func (id ids) boundaryARN(s *settings) string {
	return contract.BoundaryPolicyARN(id.Partition, id.Account, s.StackNamePrefix)
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

// accessLogBucketPolicy lets S3's log delivery write the state bucket's
// access logs, and nothing else in; plain HTTP is refused.
func accessLogBucketPolicy(logsARN, stateARN, account string) policyDocument {
	tlsOnly := stateBucketPolicy(logsARN).Statement[0]
	return newPolicy(
		statement{Sid: "S3ServerAccessLogs", Effect: "Allow", Principal: map[string]any{"Service": "logging.s3.amazonaws.com"},
			Action: []string{"s3:PutObject"}, Resource: []string{logsARN + "/state/*"},
			Condition: map[string]map[string]any{
				"ArnLike":      {"aws:SourceArn": stateARN},
				"StringEquals": {"aws:SourceAccount": account},
			}},
		tlsOnly,
	)
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

// The GitHub side of the trust: a job with `environment: E` gets the OIDC
// subject repo:<repo>:environment:E whatever its event; a job without one
// on a pull_request event gets repo:<repo>:pull_request.

// previewEnvironment is the GitHub environment of a stack's preview job on
// main (restricted to the main branch, no reviewers).
func previewEnvironment(stack string) string { return stack + "-preview" }

// deployEnvironment is the GitHub environment of a stack's deploy job
// (prod: required reviewers).
func deployEnvironment(stack string) string { return stack }

// previewSubjects: pull requests may assume the preview role of the
// pull-request stack only; every other stack is previewed on main, in its
// preview environment.
func previewSubjects(s *settings, stack string) []string {
	if stack == s.PullRequestStack {
		return []string{"repo:" + s.GitHubRepo + ":pull_request"}
	}
	return []string{"repo:" + s.GitHubRepo + ":environment:" + previewEnvironment(stack)}
}

// deploySubjects: only jobs in the stack's own deploy environment.
func deploySubjects(s *settings, stack string) []string {
	return []string{"repo:" + s.GitHubRepo + ":environment:" + deployEnvironment(stack)}
}

func roleName(s *settings, kind, stack string) string { return s.RolePrefix + "-" + kind + "-" + stack }

// oneOrList is a condition value: the single string when there is one (so a
// stack without shard regions keeps its policies byte for byte), else the
// list.
func oneOrList(v []string) any {
	if len(v) == 1 {
		return v[0]
	}
	return v
}

// viaService is the kms:ViaService value for svc in each of regions.
func viaService(regions []string, svc string) any {
	var out []string
	for _, r := range regions {
		out = append(out, fmt.Sprintf("%s.%s.amazonaws.com", svc, r))
	}
	return oneOrList(out)
}

// regionCondition pins a statement to regions (aws:RequestedRegion).
func regionCondition(regions []string) map[string]map[string]any {
	return map[string]map[string]any{"StringEquals": {"aws:RequestedRegion": oneOrList(regions)}}
}

// previewPolicy: read the stack's own state (no lock: previews take none)
// and the read-only calls a preview of the main stack makes. Decrypting
// the state and the stack's secrets is granted by the key policies.
func previewPolicy(stack string) func(*settings, ids) policyDocument {
	return func(_ *settings, id ids) policyDocument {
		sts := previewStateStatements(id.BucketARN, stackObjects{stackProject, stack})
		return newPolicy(append(sts,
			statement{Sid: "ReadStackInputs", Effect: "Allow", Action: sorted(stackReadActions), Resource: []string{"*"}},
		)...)
	}
}

// deployPolicies are a deploy role's managed policies, split by area so
// each stays under the 6,144-character managed policy limit.
//
// Region-pinned grants name either every region (s.regions(): the services
// the main program uses in a shard region: EC2, CloudWatch Logs, DLM, SNS,
// KMS, SSM, CloudWatch alarms) or the home region alone (s.home(): what it
// creates only there). Without shard regions both are the home region.
func deployPolicies(stack string) map[string]func(*settings, ids) policyDocument {
	return map[string]func(*settings, ids) policyDocument{
		"state":   func(s *settings, id ids) policyDocument { return deployStatePolicy(s, id, stack) },
		"network": func(s *settings, _ ids) policyDocument { return deployNetworkPolicy(s) },
		"edge":    deployEdgePolicy,
		"alerts":  func(s *settings, id ids) policyDocument { return deployAlertsPolicy(s, id, stack) },
		"iam-s3":  func(s *settings, id ids) policyDocument { return deployIAMPolicy(s, id, stack) },
	}
}

func deployStatePolicy(s *settings, id ids, stack string) policyDocument {
	keys := []string{id.StateKeyARN}
	for _, st := range s.Stacks {
		keys = append(keys, id.SecretsKeyARNs[st])
	}
	sts := deployStateStatements(id.BucketARN, stackObjects{stackProject, stack})
	return newPolicy(append(sts,
		statement{Sid: "ProtectStateBucket", Effect: "Deny", Action: sorted(stateGuardActions),
			Resource: []string{id.BucketARN, id.BucketARN + "/*"}},
		// The bootstrap keys live in the home region only.
		statement{Sid: "ProtectBootstrapKeys", Effect: "Deny", Action: sorted(stateKeyGuardActions), Resource: keys},
		statement{Sid: "ReadStackInputs", Effect: "Allow", Action: sorted(stackReadActions), Resource: []string{"*"}},
	)...)
}

func deployNetworkPolicy(s *settings) policyDocument {
	return newPolicy(
		// Shards' VPCs, peering accepters, firewalls, hosts and volumes.
		statement{Sid: "Ec2Vpc", Effect: "Allow", Action: sorted(ec2Actions),
			Resource: []string{"*"}, Condition: regionCondition(s.regions())},
	)
}

func deployEdgePolicy(s *settings, id ids) policyDocument {
	all, home := s.regions(), s.home()
	return newPolicy(
		// Home only: the load balancer, its web ACL and certificate are
		// never in a shard region.
		statement{Sid: "LoadBalancer", Effect: "Allow", Action: sorted(elbActions),
			Resource: []string{"*"}, Condition: regionCondition(home)},
		statement{Sid: "WebAcl", Effect: "Allow", Action: sorted(wafActions),
			Resource: []string{"*"}, Condition: regionCondition(home)},
		statement{Sid: "Certificates", Effect: "Allow", Action: sorted(acmActions),
			Resource: []string{"*"}, Condition: regionCondition(home)},
		statement{Sid: "DnsRecords", Effect: "Allow", Action: sorted(route53Actions),
			Resource: []string{
				fmt.Sprintf("arn:%s:route53:::hostedzone/*", id.Partition),
				fmt.Sprintf("arn:%s:route53:::change/*", id.Partition),
			}},
		statement{Sid: "DnsZone", Effect: "Allow", Action: sorted(route53CreateZoneActions),
			Resource: []string{"*"}},
		// Shards' flow logs and session logs.
		statement{Sid: "FlowLogGroup", Effect: "Allow", Action: sorted(logsActions),
			Resource: id.regional(all, "logs", "log-group:*")},
		statement{Sid: "DescribeLogGroups", Effect: "Allow", Action: sorted(logsDescribeActions),
			Resource: []string{"*"}},
		// Shards' snapshot policies.
		statement{Sid: "SnapshotLifecycle", Effect: "Allow", Action: sorted(dlmActions),
			Resource: []string{"*"}, Condition: regionCondition(all)},
		// Home only: fault experiments, the AMP workspace (and its log
		// delivery) and the Grafana workspace (and its IAM Identity Center
		// application) are never in a shard region.
		statement{Sid: "FaultExperimentTemplates", Effect: "Allow", Action: sorted(fisActions),
			Resource: id.regional(home, "fis", "experiment-template/*")},
		statement{Sid: "LongTermStore", Effect: "Allow", Action: sorted(ampActions),
			Resource: id.regional(home, "aps", "workspace/*")},
		statement{Sid: "LongTermStoreLogs", Effect: "Allow", Action: sorted(ampLogDeliveryActions),
			Resource: []string{"*"}, Condition: regionCondition(home)},
		statement{Sid: "GrafanaWorkspace", Effect: "Allow", Action: sorted(grafanaActions),
			Resource: id.regional(home, "grafana", "/workspaces*")},
		statement{Sid: "GrafanaSignIn", Effect: "Allow", Action: sorted(grafanaSSOActions),
			Resource: []string{"*"}, Condition: regionCondition(home)},
	)
}

// deployAlertsPolicy: the stack's SNS topics and the KMS keys it creates
// (selected by their promfed:stack tag), never the bootstrap keys. A shard
// region has its own alert topic, alarms, host-secret and session keys,
// SSM parameters and session document: all but the AMP key grants and
// Inspector reach every region.
func deployAlertsPolicy(s *settings, id ids, stack string) policyDocument {
	all, home := s.regions(), s.home()
	own := s.StackNamePrefix + "-" + stack + "-"
	return newPolicy(
		statement{Sid: "AlertTopic", Effect: "Allow", Action: sorted(snsActions),
			Resource: id.regional(all, "sns", own+"*")},
		statement{Sid: "CreateStackKeys", Effect: "Allow", Action: sorted(kmsCreateActions),
			Resource: []string{"*"}, Condition: map[string]map[string]any{
				"StringEquals": {"aws:RequestedRegion": oneOrList(all), "aws:RequestTag/promfed:project": stackProject,
					"aws:RequestTag/promfed:stack": stack},
			}},
		statement{Sid: "ListKeyAliases", Effect: "Allow", Action: sorted(kmsListActions),
			Resource: []string{"*"}, Condition: regionCondition(all)},
		statement{Sid: "ManageStackKeys", Effect: "Allow", Action: sorted(kmsStackKeyActions),
			Resource: id.regional(all, "kms", "key/*"), Condition: map[string]map[string]any{
				"StringEquals": {"aws:ResourceTag/promfed:project": stackProject, "aws:ResourceTag/promfed:stack": stack},
			}},
		statement{Sid: "StackKeyAliases", Effect: "Allow", Action: sorted(kmsAliasActions),
			Resource: id.regional(all, "kms", "alias/"+own+"*")},
		statement{Sid: "HostSecrets", Effect: "Allow", Action: sorted(ssmParameterActions),
			Resource: id.regional(all, "ssm", "parameter/"+s.StackNamePrefix+"/"+stack+"/*")},
		statement{Sid: "StackAlarms", Effect: "Allow", Action: sorted(cloudwatchAlarmActions),
			Resource: id.regional(all, "cloudwatch", "alarm:"+own+"*")},
		statement{Sid: "SessionDocument", Effect: "Allow", Action: sorted(ssmDocumentActions),
			Resource: id.regional(all, "ssm", "document/"+own+"*")},
		statement{Sid: "DescribeParameters", Effect: "Allow", Action: sorted(ssmDescribeActions),
			Resource: []string{"*"}, Condition: regionCondition(all)},
		statement{Sid: "StackKeysViaSsm", Effect: "Allow", Action: sorted(kmsViaSsmActions),
			Resource: id.regional(all, "kms", "key/*"), Condition: map[string]map[string]any{
				"StringEquals": {"aws:ResourceTag/promfed:project": stackProject, "aws:ResourceTag/promfed:stack": stack,
					"kms:ViaService": viaService(all, "ssm")},
			}},
		// Home only: the AMP workspace (whose key grants these are) is
		// never in a shard region.
		statement{Sid: "StackKeysViaAps", Effect: "Allow", Action: sorted(kmsViaApsActions),
			Resource: id.regional(home, "kms", "key/*"), Condition: map[string]map[string]any{
				"StringEquals": {"aws:ResourceTag/promfed:project": stackProject, "aws:ResourceTag/promfed:stack": stack,
					"kms:ViaService": viaService(home, "aps")},
			}},
		// Every region: Inspector scans the hosts where they run.
		statement{Sid: "VulnerabilityScanning", Effect: "Allow", Action: sorted(inspectorActions),
			Resource: []string{"*"}, Condition: regionCondition(all)},
	)
}

// deployIAMPolicy: roles and instance profiles under the stack's own IAM
// path only; every role write that could widen a role requires the
// bootstrap permissions boundary, and the boundary cannot be removed or
// rewritten.
func deployIAMPolicy(s *settings, id ids, stack string) policyDocument {
	path := strings.TrimPrefix(contract.IAMPath(s.StackNamePrefix, stack), "/")
	roles := id.acct("iam", "role/"+path+"*")
	profiles := id.acct("iam", "instance-profile/"+path+"*")
	boundary := id.boundaryARN(s)
	withBoundary := map[string]any{"iam:PermissionsBoundary": boundary}
	var managed []string
	for _, p := range stackManagedPolicies {
		managed = append(managed, fmt.Sprintf("arn:%s:iam::aws:policy/%s", id.Partition, p))
	}
	guarded := []string{boundary, id.acct("iam", "role/"+s.RolePrefix+"-*"), id.acct("iam", "policy/"+s.RolePrefix+"-*")}
	if id.OIDCARN != "" {
		guarded = append(guarded, id.OIDCARN)
	}
	appBuckets := fmt.Sprintf("arn:%s:s3:::%s*", id.Partition, s.StackBucketPrefix)
	return newPolicy(
		statement{Sid: "StackRoles", Effect: "Allow", Action: sorted(iamRoleActions), Resource: []string{roles}},
		statement{Sid: "StackRolesWithBoundary", Effect: "Allow", Action: sorted(iamBoundedRoleActions),
			Resource: []string{roles}, Condition: map[string]map[string]any{"StringEquals": withBoundary}},
		statement{Sid: "StackRolesManagedPolicies", Effect: "Allow", Action: sorted(iamAttachActions),
			Resource: []string{roles}, Condition: map[string]map[string]any{
				"StringEquals": withBoundary, "ArnEquals": {"iam:PolicyARN": sorted(managed)},
			}},
		statement{Sid: "StackInstanceProfiles", Effect: "Allow", Action: sorted(iamProfileActions), Resource: []string{profiles}},
		statement{Sid: "PassStackRolesToServices", Effect: "Allow", Action: sorted(passRoleActions),
			Resource:  []string{roles},
			Condition: map[string]map[string]any{"StringEquals": {"iam:PassedToService": sorted(passRoleServices)}}},
		statement{Sid: "ServiceLinkedRoles", Effect: "Allow", Action: sorted(serviceLinkedRoleActions),
			Resource:  []string{id.acct("iam", "role/aws-service-role/*")},
			Condition: map[string]map[string]any{"StringEquals": {"iam:AWSServiceName": sorted(serviceLinkedRoleServices)}}},
		statement{Sid: "KeepBoundaries", Effect: "Deny", Action: sorted(boundaryRemovalActions), Resource: []string{"*"}},
		statement{Sid: "ProtectBoundaryAndCiRoles", Effect: "Deny", Action: sorted(ciRoleGuardActions), Resource: guarded},
		statement{Sid: "AccessLogBucket", Effect: "Allow", Action: sorted(s3AppActions),
			Resource: []string{appBuckets, appBuckets + "/*"}},
	)
}

// boundaryPolicy caps every role a stack creates: the most any stack role
// may ever do, whatever policy the deploy role attaches to it. It grants no
// IAM, STS, S3 or KMS administration, so no stack role can reach the state,
// another stack's secrets or further privileges.
func boundaryPolicy() policyDocument {
	return newPolicy(
		statement{Sid: "SessionManagerCore", Effect: "Allow", Action: sorted(boundarySSMActions), Resource: []string{"*"}},
		statement{Sid: "PrometheusDiscovery", Effect: "Allow", Action: sorted(boundaryDiscoveryActions), Resource: []string{"*"}},
		statement{Sid: "AlertDelivery", Effect: "Allow", Action: sorted(boundaryAlertActions), Resource: []string{"*"}},
		statement{Sid: "LogDelivery", Effect: "Allow", Action: sorted(boundaryLogsActions), Resource: []string{"*"}},
		statement{Sid: "SnapshotLifecycle", Effect: "Allow", Action: sorted(boundaryDLMActions), Resource: []string{"*"}},
		// The workspace component's policy scopes it to the stack's workspace.
		statement{Sid: "LongTermStoreWrite", Effect: "Allow", Action: sorted(boundaryAMPActions), Resource: []string{"*"}},
		// The Grafana role's policy scopes these to the stack's workspace.
		statement{Sid: "LongTermStoreQuery", Effect: "Allow", Action: sorted(boundaryGrafanaActions), Resource: []string{"*"}},
		// A cap shared by every stack: the FIS role's own policy scopes these
		// to its stack's tag and VPC (components/chaos).
		statement{Sid: "FaultExperiments", Effect: "Allow", Action: sorted(boundaryFISActions), Resource: []string{"*"}},
	)
}

// sizingIDs stand in for the account facts before they are known: the ARNs
// have the lengths the real ones will have (12-digit account, KMS key IDs of
// 36 characters), so a policy built from them is as long as the real one.
func sizingIDs(s *settings) ids {
	p := partitionOf(s.Region)
	const account = "000000000000"
	key := fmt.Sprintf("arn:%s:kms:%s:%s:key/%s", p, s.Region, account, strings.Repeat("0", 36))
	id := ids{Partition: p, Account: account, BucketARN: fmt.Sprintf("arn:%s:s3:::%s", p, s.StateBucket),
		StateKeyARN: key, SecretsKeyARNs: map[string]string{},
		OIDCARN: fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", p, account, githubOIDCHost)}
	if s.OIDCProviderARN != "" {
		id.OIDCARN = s.OIDCProviderARN
	}
	for _, st := range s.Stacks {
		id.SecretsKeyARNs[st] = key
	}
	return id
}

// largestPolicy is the name and length of the longest managed policy the CI
// roles would get with these settings.
func largestPolicy(s *settings) (string, int) {
	id := sizingIDs(s)
	best, size := "", 0
	for _, stack := range s.Stacks {
		docs := map[string]func(*settings, ids) policyDocument{}
		for name, f := range deployPolicies(stack) {
			docs[roleName(s, "deploy", stack)+"-"+name] = f
		}
		docs[roleName(s, "preview", stack)+"-state"] = previewPolicy(stack)
		for name, f := range docs {
			doc, err := f(s, id).JSON()
			if err != nil {
				continue
			}
			if len(doc) > size || len(doc) == size && name < best {
				best, size = name, len(doc)
			}
		}
	}
	return best, size
}
