package main

// The IAM actions the CI roles are granted. Every list is explicit: no
// action contains a wildcard. docs/team.md lists each action (a test checks
// that), so a reviewer can read the whole grant without running anything.

// The state objects are granted per stack in state.go (s3:ListBucket,
// s3:GetObject, s3:PutObject, s3:DeleteObject on exact key patterns).

// keyAdminActions: what keyAdministrators may do with the bootstrap keys
// (administer, never use: no Decrypt, Encrypt or GenerateDataKey).
var keyAdminActions = []string{
	"kms:CancelKeyDeletion",
	"kms:CreateAlias",
	"kms:DeleteAlias",
	"kms:DescribeKey",
	"kms:DisableKey",
	"kms:DisableKeyRotation",
	"kms:EnableKey",
	"kms:EnableKeyRotation",
	"kms:GetKeyPolicy",
	"kms:GetKeyRotationStatus",
	"kms:ListAliases",
	"kms:ListGrants",
	"kms:ListKeyPolicies",
	"kms:ListResourceTags",
	"kms:PutKeyPolicy",
	"kms:RevokeGrant",
	"kms:ScheduleKeyDeletion",
	"kms:TagResource",
	"kms:UntagResource",
	"kms:UpdateAlias",
	"kms:UpdateKeyDescription",
}

// stateKeyReadActions: a preview role reading its stack's SSE-KMS state
// objects through S3.
var stateKeyReadActions = []string{
	"kms:Decrypt",
}

// stateKeyWriteActions: a deploy role reading and writing its stack's
// state objects through S3.
var stateKeyWriteActions = []string{
	"kms:Decrypt",
	"kms:GenerateDataKey",
}

// secretsPreviewActions: decrypting a stack's data key and secrets.
var secretsPreviewActions = []string{
	"kms:Decrypt",
	"kms:DescribeKey",
}

// secretsDeployActions: as preview, plus encrypting new secret values.
var secretsDeployActions = []string{
	"kms:Decrypt",
	"kms:DescribeKey",
	"kms:Encrypt",
	"kms:GenerateDataKey",
}

// stateGuardActions are denied on the state bucket to the deploy role, so a
// compromised deploy cannot weaken or destroy the state history.
var stateGuardActions = []string{
	"s3:DeleteBucket",
	"s3:DeleteBucketPolicy",
	"s3:DeleteObjectVersion",
	"s3:PutBucketOwnershipControls",
	"s3:PutBucketPolicy",
	"s3:PutBucketPublicAccessBlock",
	"s3:PutBucketVersioning",
	"s3:PutEncryptionConfiguration",
	"s3:PutLifecycleConfiguration",
}

// stackReadActions are the read-only calls a `pulumi preview` of the main
// stack makes (data sources: AMI, AZs, zones, certificates, caller identity
// needs no permission).
var stackReadActions = []string{
	"acm:DescribeCertificate",
	"acm:ListCertificates",
	"ec2:DescribeAvailabilityZones",
	"ec2:DescribeImages",
	"ec2:DescribeInstanceTypes",
	"ec2:DescribeRegions",
	"ec2:DescribeSubnets",
	"ec2:DescribeVpcs",
	"elasticloadbalancing:DescribeSSLPolicies",
	"route53:GetHostedZone",
	"route53:ListHostedZones",
	"route53:ListHostedZonesByName",
}

// ec2Actions: VPC, subnets, network ACLs, gateways, routes, security groups, flow logs,
// instances, volumes, key pairs (regional, region-pinned by condition).
var ec2Actions = []string{
	"ec2:AllocateAddress",
	"ec2:AssociateAddress",
	"ec2:AssociateIamInstanceProfile",
	"ec2:AssociateRouteTable",
	"ec2:AttachInternetGateway",
	"ec2:AcceptVpcPeeringConnection",
	"ec2:AttachVolume",
	"ec2:AuthorizeSecurityGroupEgress",
	"ec2:AuthorizeSecurityGroupIngress",
	"ec2:CreateFlowLogs",
	"ec2:CreateInternetGateway",
	"ec2:CreateNatGateway",
	"ec2:CreateNetworkAcl",
	"ec2:CreateNetworkAclEntry",
	"ec2:CreateRoute",
	"ec2:CreateRouteTable",
	"ec2:CreateSecurityGroup",
	"ec2:CreateSubnet",
	"ec2:CreateTags",
	"ec2:CreateVolume",
	"ec2:CreateVpc",
	"ec2:CreateVpcPeeringConnection",
	"ec2:DeleteFlowLogs",
	"ec2:DeleteInternetGateway",
	"ec2:DeleteKeyPair",
	"ec2:DeleteNatGateway",
	"ec2:DeleteNetworkAcl",
	"ec2:DeleteNetworkAclEntry",
	"ec2:DeleteRoute",
	"ec2:DeleteRouteTable",
	"ec2:DeleteSecurityGroup",
	"ec2:DeleteSubnet",
	"ec2:DeleteTags",
	"ec2:DeleteVolume",
	"ec2:DeleteVpc",
	"ec2:DeleteVpcPeeringConnection",
	"ec2:DescribeAccountAttributes",
	"ec2:DescribeAddresses",
	"ec2:DescribeAddressesAttribute",
	"ec2:DescribeFlowLogs",
	"ec2:DescribeIamInstanceProfileAssociations",
	"ec2:DescribeInstanceAttribute",
	"ec2:DescribeInstanceRecoveryAttribute",
	"ec2:DescribeInstanceCreditSpecifications",
	"ec2:DescribeInstanceStatus",
	"ec2:DescribeInstances",
	"ec2:DescribeInternetGateways",
	"ec2:DescribeKeyPairs",
	"ec2:DescribeNatGateways",
	"ec2:DescribeNetworkAcls",
	"ec2:DescribeNetworkInterfaces",
	"ec2:DescribePrefixLists",
	"ec2:DescribeRouteTables",
	"ec2:DescribeSecurityGroupRules",
	"ec2:DescribeSecurityGroups",
	"ec2:DescribeTags",
	"ec2:DescribeVolumes",
	"ec2:DescribeVolumesModifications",
	"ec2:DescribeVpcAttribute",
	"ec2:DescribeVpcPeeringConnections",
	"ec2:DetachInternetGateway",
	"ec2:DetachVolume",
	"ec2:DisassociateAddress",
	"ec2:DisassociateIamInstanceProfile",
	"ec2:DisassociateRouteTable",
	"ec2:GetEbsDefaultKmsKeyId",
	"ec2:GetEbsEncryptionByDefault",
	"ec2:ImportKeyPair",
	"ec2:ModifyInstanceAttribute",
	"ec2:ModifyInstanceMetadataOptions",
	"ec2:ModifySecurityGroupRules",
	"ec2:ModifySubnetAttribute",
	"ec2:ModifyVolume",
	"ec2:ModifyVpcAttribute",
	"ec2:RecoverInstances",
	"ec2:ReleaseAddress",
	"ec2:ReplaceIamInstanceProfileAssociation",
	"ec2:ReplaceNetworkAclAssociation",
	"ec2:ReplaceNetworkAclEntry",
	"ec2:ReplaceRoute",
	"ec2:ReplaceRouteTableAssociation",
	"ec2:RevokeSecurityGroupEgress",
	"ec2:RevokeSecurityGroupIngress",
	"ec2:RunInstances",
	"ec2:StartInstances",
	"ec2:StopInstances",
	"ec2:TerminateInstances",
	"ec2:UpdateSecurityGroupRuleDescriptionsEgress",
	"ec2:UpdateSecurityGroupRuleDescriptionsIngress",
}

// elbActions: the ALB, target groups, listeners, rules and mTLS trust store.
var elbActions = []string{
	"elasticloadbalancing:AddListenerCertificates",
	"elasticloadbalancing:AddTags",
	"elasticloadbalancing:CreateListener",
	"elasticloadbalancing:CreateLoadBalancer",
	"elasticloadbalancing:CreateRule",
	"elasticloadbalancing:CreateTargetGroup",
	"elasticloadbalancing:CreateTrustStore",
	"elasticloadbalancing:DeleteListener",
	"elasticloadbalancing:DeleteLoadBalancer",
	"elasticloadbalancing:DeleteRule",
	"elasticloadbalancing:DeleteTargetGroup",
	"elasticloadbalancing:DeleteTrustStore",
	"elasticloadbalancing:DeregisterTargets",
	"elasticloadbalancing:DescribeCapacityReservation",
	"elasticloadbalancing:DescribeListenerAttributes",
	"elasticloadbalancing:DescribeListenerCertificates",
	"elasticloadbalancing:DescribeListeners",
	"elasticloadbalancing:DescribeLoadBalancerAttributes",
	"elasticloadbalancing:DescribeLoadBalancers",
	"elasticloadbalancing:DescribeRules",
	"elasticloadbalancing:DescribeTags",
	"elasticloadbalancing:DescribeTargetGroupAttributes",
	"elasticloadbalancing:DescribeTargetGroups",
	"elasticloadbalancing:DescribeTargetHealth",
	"elasticloadbalancing:DescribeTrustStores",
	"elasticloadbalancing:GetTrustStoreCaCertificatesBundle",
	"elasticloadbalancing:ModifyListener",
	"elasticloadbalancing:ModifyListenerAttributes",
	"elasticloadbalancing:ModifyLoadBalancerAttributes",
	"elasticloadbalancing:ModifyRule",
	"elasticloadbalancing:ModifyTargetGroup",
	"elasticloadbalancing:ModifyTargetGroupAttributes",
	"elasticloadbalancing:ModifyTrustStore",
	"elasticloadbalancing:RegisterTargets",
	"elasticloadbalancing:RemoveListenerCertificates",
	"elasticloadbalancing:RemoveTags",
	"elasticloadbalancing:SetRulePriorities",
	"elasticloadbalancing:SetSecurityGroups",
	"elasticloadbalancing:SetWebAcl",
	"elasticloadbalancing:SetSubnets",
}

// wafActions: the web ACL on the ALB and its IP sets (Route53 mode).
// Creating a web ACL that runs AWS managed rule groups also checks these
// actions on the managed rule groups.
var wafActions = []string{
	"wafv2:AssociateWebACL",
	"wafv2:CreateIPSet",
	"wafv2:CreateWebACL",
	"wafv2:DeleteIPSet",
	"wafv2:DeleteWebACL",
	"wafv2:DisassociateWebACL",
	"wafv2:GetIPSet",
	"wafv2:GetWebACL",
	"wafv2:GetWebACLForResource",
	"wafv2:ListTagsForResource",
	"wafv2:TagResource",
	"wafv2:UntagResource",
	"wafv2:UpdateIPSet",
	"wafv2:UpdateWebACL",
}

// acmActions: the ALB certificate (DNS validated or imported).
var acmActions = []string{
	"acm:AddTagsToCertificate",
	"acm:DeleteCertificate",
	"acm:ImportCertificate",
	"acm:ListTagsForCertificate",
	"acm:RemoveTagsFromCertificate",
	"acm:RequestCertificate",
}

// route53Actions: the stack's private hosted zone (attached to its VPC) and
// records (certificate validation, aliases, internal names).
var route53Actions = []string{
	"route53:AssociateVPCWithHostedZone",
	"route53:ChangeResourceRecordSets",
	"route53:ChangeTagsForResource",
	"route53:DeleteHostedZone",
	"route53:DisassociateVPCFromHostedZone",
	"route53:GetChange",
	"route53:ListResourceRecordSets",
	"route53:ListTagsForResource",
	"route53:UpdateHostedZoneComment",
}

// route53CreateZoneActions only work on resource "*".
var route53CreateZoneActions = []string{
	"route53:CreateHostedZone",
}

// iamRoleActions: the stack's roles (EC2 instance roles, flow-logs role,
// DLM role), on its IAM path only; none of them can widen a role.
var iamRoleActions = []string{
	"iam:DeleteRole",
	"iam:GetRole",
	"iam:GetRolePolicy",
	"iam:ListAttachedRolePolicies",
	"iam:ListInstanceProfilesForRole",
	"iam:ListRolePolicies",
	"iam:TagRole",
	"iam:UntagRole",
	"iam:UpdateAssumeRolePolicy",
	"iam:UpdateRole",
	"iam:UpdateRoleDescription",
}

// iamBoundedRoleActions create roles or change their inline policies; each
// requires the bootstrap boundary on the role (iam:PermissionsBoundary).
var iamBoundedRoleActions = []string{
	"iam:CreateRole",
	"iam:DeleteRolePolicy",
	"iam:PutRolePermissionsBoundary",
	"iam:PutRolePolicy",
}

// iamAttachActions attach AWS-managed policies: the boundary must be on
// the role and the policy one of stackManagedPolicies.
var iamAttachActions = []string{
	"iam:AttachRolePolicy",
	"iam:DetachRolePolicy",
}

// stackManagedPolicies are the only AWS-managed policies a stack attaches.
var stackManagedPolicies = []string{
	"AmazonSSMManagedInstanceCore",
	"service-role/AWSDataLifecycleManagerServiceRole",
}

// iamProfileActions: the stack's instance profiles, on its IAM path only.
var iamProfileActions = []string{
	"iam:AddRoleToInstanceProfile",
	"iam:CreateInstanceProfile",
	"iam:DeleteInstanceProfile",
	"iam:GetInstanceProfile",
	"iam:RemoveRoleFromInstanceProfile",
	"iam:TagInstanceProfile",
	"iam:UntagInstanceProfile",
}

// boundaryRemovalActions are denied on every role: a boundary, once on,
// stays.
var boundaryRemovalActions = []string{
	"iam:DeleteRolePermissionsBoundary",
}

// passRoleActions: handing a stack-created role to a service; restricted by
// the iam:PassedToService condition to passRoleServices.
var passRoleActions = []string{
	"iam:PassRole",
}

// passRoleServices may receive a role from the deploy role.
var passRoleServices = []string{
	"dlm.amazonaws.com",
	"ec2.amazonaws.com",
	"fis.amazonaws.com",
	"grafana.amazonaws.com",
	"vpc-flow-logs.amazonaws.com",
}

// serviceLinkedRoleActions: the ELB service-linked role on first ALB, only
// for the services in serviceLinkedRoleServices (iam:AWSServiceName).
var serviceLinkedRoleActions = []string{
	"iam:CreateServiceLinkedRole",
}

var serviceLinkedRoleServices = []string{
	"elasticloadbalancing.amazonaws.com",
	"events.amazonaws.com",
	"inspector2.amazonaws.com",
}

// inspectorActions: turning Amazon Inspector's EC2 scanning on and off
// (setting inspector); no resource-level permissions, region-pinned.
var inspectorActions = []string{
	"inspector2:BatchGetAccountStatus",
	"inspector2:Disable",
	"inspector2:Enable",
}

// ciRoleGuardActions are denied on the CI roles, their policies, the
// permissions boundary and the OIDC provider, so a deploy role cannot widen
// its own grant, its trust or the boundary.
var ciRoleGuardActions = []string{
	"iam:AttachRolePolicy",
	"iam:DeleteRole",
	"iam:DeleteRolePolicy",
	"iam:DetachRolePolicy",
	"iam:PutRolePermissionsBoundary",
	"iam:PutRolePolicy",
	"iam:UpdateAssumeRolePolicy",
	"iam:UpdateRole",
	"iam:AddClientIDToOpenIDConnectProvider",
	"iam:DeleteOpenIDConnectProvider",
	"iam:UpdateOpenIDConnectProviderThumbprint",
	"iam:CreatePolicyVersion",
	"iam:DeletePolicy",
	"iam:SetDefaultPolicyVersion",
}

// s3AppActions: the ALB access-log bucket, its settings, and the objects the
// stack uploads (the origin-pull CA bundle the ALB trust store reads).
var s3AppActions = []string{
	"s3:CreateBucket",
	"s3:DeleteBucket",
	"s3:DeleteBucketPolicy",
	"s3:DeleteObject",
	"s3:DeleteObjectVersion",
	"s3:GetAccelerateConfiguration",
	"s3:GetBucketAcl",
	"s3:GetBucketCORS",
	"s3:GetBucketLogging",
	"s3:GetBucketObjectLockConfiguration",
	"s3:GetBucketOwnershipControls",
	"s3:GetBucketPolicy",
	"s3:GetBucketPublicAccessBlock",
	"s3:GetBucketRequestPayment",
	"s3:GetBucketTagging",
	"s3:GetBucketVersioning",
	"s3:GetBucketWebsite",
	"s3:GetEncryptionConfiguration",
	"s3:GetLifecycleConfiguration",
	"s3:GetObject",
	"s3:GetObjectTagging",
	"s3:GetReplicationConfiguration",
	"s3:ListBucket",
	"s3:ListBucketVersions",
	"s3:PutBucketOwnershipControls",
	"s3:PutBucketPolicy",
	"s3:PutBucketPublicAccessBlock",
	"s3:PutBucketTagging",
	"s3:PutBucketVersioning",
	"s3:PutEncryptionConfiguration",
	"s3:PutLifecycleConfiguration",
	"s3:PutObject",
	"s3:PutObjectTagging",
}

// logsActions: the VPC flow-log group and the session log group (KMS
// encrypted).
var logsActions = []string{
	"logs:AssociateKmsKey",
	"logs:CreateLogGroup",
	"logs:DeleteLogGroup",
	"logs:DeleteRetentionPolicy",
	"logs:DisassociateKmsKey",
	"logs:ListTagsForResource",
	"logs:ListTagsLogGroup",
	"logs:PutRetentionPolicy",
	"logs:TagResource",
	"logs:UntagResource",
}

// logsDescribeActions only work on resource "*".
var logsDescribeActions = []string{
	"logs:DescribeLogGroups",
}

// dlmActions: EBS snapshot lifecycle policy for the Prometheus volumes.
var dlmActions = []string{
	"dlm:CreateLifecyclePolicy",
	"dlm:DeleteLifecyclePolicy",
	"dlm:GetLifecyclePolicies",
	"dlm:GetLifecyclePolicy",
	"dlm:ListTagsForResource",
	"dlm:TagResource",
	"dlm:UntagResource",
	"dlm:UpdateLifecyclePolicy",
}

// fisActions: the game-day experiment templates (setting faultInjection).
// Starting an experiment is an operator's act, not the deploy role's.
var fisActions = []string{
	"fis:CreateExperimentTemplate",
	"fis:DeleteExperimentTemplate",
	"fis:GetExperimentTemplate",
	"fis:ListTagsForResource",
	"fis:TagResource",
	"fis:UntagResource",
	"fis:UpdateExperimentTemplate",
}

// ampActions: the AMP workspace (setting ampRemoteWrite) and its logging
// configuration.
var ampActions = []string{
	"aps:CreateLoggingConfiguration",
	"aps:CreateWorkspace",
	"aps:DeleteLoggingConfiguration",
	"aps:DeleteWorkspace",
	"aps:DescribeLoggingConfiguration",
	"aps:DescribeWorkspace",
	"aps:ListTagsForResource",
	"aps:TagResource",
	"aps:UntagResource",
	"aps:UpdateLoggingConfiguration",
	"aps:UpdateWorkspaceAlias",
}

// ampLogDeliveryActions: AMP delivers its logs as CloudWatch vended logs;
// the delivery calls support no resource scoping (region-pinned).
var ampLogDeliveryActions = []string{
	"logs:CreateLogDelivery",
	"logs:DeleteLogDelivery",
	"logs:DescribeResourcePolicies",
	"logs:GetLogDelivery",
	"logs:ListLogDeliveries",
	"logs:PutResourcePolicy",
	"logs:UpdateLogDelivery",
}

// grafanaActions: the Amazon Managed Grafana workspace (setting
// grafanaWorkspace).
var grafanaActions = []string{
	"grafana:CreateWorkspace",
	"grafana:DeleteWorkspace",
	"grafana:DescribeWorkspace",
	"grafana:DescribeWorkspaceAuthentication",
	"grafana:DescribeWorkspaceConfiguration",
	"grafana:ListTagsForResource",
	"grafana:TagResource",
	"grafana:UntagResource",
	"grafana:UpdateWorkspace",
	"grafana:UpdateWorkspaceAuthentication",
	"grafana:UpdateWorkspaceConfiguration",
}

// grafanaSSOActions: a workspace signed in through IAM Identity Center is
// an Identity Center application, which AMG creates with the caller's
// rights; these calls take no resource (region-pinned).
var grafanaSSOActions = []string{
	"sso:CreateManagedApplicationInstance",
	"sso:DeleteManagedApplicationInstance",
	"sso:DescribeRegisteredRegions",
	"sso:GetManagedApplicationInstance",
	"sso:GetSharedSsoConfiguration",
}

// kmsViaApsActions: AMP encrypts the workspace with its stack key through
// grants the creating role makes.
var kmsViaApsActions = []string{
	"kms:CreateGrant",
	"kms:Decrypt",
	"kms:GenerateDataKey",
}

// snsActions: the alert topic and its email/HTTPS subscriptions.
var snsActions = []string{
	"sns:CreateTopic",
	"sns:DeleteTopic",
	"sns:GetSubscriptionAttributes",
	"sns:GetTopicAttributes",
	"sns:ListTagsForResource",
	"sns:SetSubscriptionAttributes",
	"sns:SetTopicAttributes",
	"sns:Subscribe",
	"sns:TagResource",
	"sns:Unsubscribe",
	"sns:UntagResource",
}

// kmsCreateActions only work on resource "*"; they are limited by the
// promfed:project tag the program puts on every key it creates (tagging at
// creation needs kms:TagResource too).
var kmsCreateActions = []string{
	"kms:CreateKey",
	"kms:TagResource",
}

// kmsListActions are read-only and only work on resource "*".
var kmsListActions = []string{
	"kms:ListAliases",
}

// kmsStackKeyActions manage the keys the stack created (the alert topic's),
// selected by their promfed:project tag.
var kmsStackKeyActions = []string{
	"kms:CreateAlias",
	"kms:DeleteAlias",
	"kms:DescribeKey",
	"kms:EnableKeyRotation",
	"kms:GetKeyPolicy",
	"kms:GetKeyRotationStatus",
	"kms:ListResourceTags",
	"kms:ScheduleKeyDeletion",
	"kms:TagResource",
	"kms:UntagResource",
	"kms:UpdateAlias",
}

// cloudwatchAlarmActions: the stack's alarms (<stackNamePrefix>-<stack>-*)
// on instance status checks (with EC2 recovery) and the endpoint.
var cloudwatchAlarmActions = []string{
	"cloudwatch:DeleteAlarms",
	"cloudwatch:DescribeAlarms",
	"cloudwatch:ListTagsForResource",
	"cloudwatch:PutMetricAlarm",
	"cloudwatch:TagResource",
	"cloudwatch:UntagResource",
}

// ssmParameterActions: the hosts' secrets (SSH host keys) in SSM Parameter
// Store, under /<stackNamePrefix>/<stack>/ only.
var ssmParameterActions = []string{
	"ssm:AddTagsToResource",
	"ssm:DeleteParameter",
	"ssm:GetParameter",
	"ssm:GetParameters",
	"ssm:ListTagsForResource",
	"ssm:PutParameter",
	"ssm:RemoveTagsFromResource",
}

// ssmDocumentActions: the stack's Session Manager document (session
// logging), named <stackNamePrefix>-<stack>-*.
var ssmDocumentActions = []string{
	"ssm:AddTagsToResource",
	"ssm:CreateDocument",
	"ssm:DeleteDocument",
	"ssm:DescribeDocument",
	"ssm:DescribeDocumentPermission",
	"ssm:GetDocument",
	"ssm:ListTagsForResource",
	"ssm:RemoveTagsFromResource",
	"ssm:UpdateDocument",
	"ssm:UpdateDocumentDefaultVersion",
}

// ssmDescribeActions only work on resource "*" (read-only).
var ssmDescribeActions = []string{
	"ssm:DescribeParameters",
}

// kmsViaSsmActions: SSM encrypts and decrypts the SecureString parameters
// with the stack's host-secrets key on the caller's behalf.
var kmsViaSsmActions = []string{
	"kms:Decrypt",
	"kms:Encrypt",
	"kms:GenerateDataKey",
}

// kmsAliasActions: the stack keys' aliases (alias ARNs are not tagged).
var kmsAliasActions = []string{
	"kms:CreateAlias",
	"kms:DeleteAlias",
	"kms:UpdateAlias",
}

// stateKeyGuardActions are denied on the bootstrap keys (state and
// secrets), which a tag match must never bring within reach of key
// management.
var stateKeyGuardActions = []string{
	"kms:CreateAlias",
	"kms:DeleteAlias",
	"kms:DisableKey",
	"kms:DisableKeyRotation",
	"kms:PutKeyPolicy",
	"kms:ScheduleKeyDeletion",
	"kms:UpdateAlias",
}

// The permissions boundary (boundaryPolicy): everything any stack role may
// ever do. Each list is what one kind of stack role needs.

// boundarySSMActions: AmazonSSMManagedInstanceCore (Session Manager, the
// SSM agent; reading the host's own parameters).
var boundarySSMActions = []string{
	"ec2messages:AcknowledgeMessage",
	"ec2messages:DeleteMessage",
	"ec2messages:FailMessage",
	"ec2messages:GetEndpoint",
	"ec2messages:GetMessages",
	"ec2messages:SendReply",
	"ssm:DescribeAssociation",
	"ssm:DescribeDocument",
	"ssm:GetDeployablePatchSnapshotForInstance",
	"ssm:GetDocument",
	"ssm:GetManifest",
	"ssm:GetParameter",
	"ssm:GetParameters",
	"ssm:ListAssociations",
	"ssm:ListInstanceAssociations",
	"ssm:PutComplianceItems",
	"ssm:PutConfigurePackageResult",
	"ssm:PutInventory",
	"ssm:UpdateAssociationStatus",
	"ssm:UpdateInstanceAssociationStatus",
	"ssm:UpdateInstanceInformation",
	"ssmmessages:CreateControlChannel",
	"ssmmessages:CreateDataChannel",
	"ssmmessages:OpenControlChannel",
	"ssmmessages:OpenDataChannel",
}

// boundaryDiscoveryActions: Prometheus' EC2 service discovery.
var boundaryDiscoveryActions = []string{
	"ec2:DescribeAvailabilityZones",
	"ec2:DescribeInstances",
}

// boundaryAlertActions: Alertmanager publishing to the encrypted topic.
var boundaryAlertActions = []string{
	"kms:Decrypt",
	"kms:GenerateDataKey",
	"sns:Publish",
}

// boundaryLogsActions: VPC flow-log delivery and the SSM agent recording
// sessions.
var boundaryLogsActions = []string{
	"logs:CreateLogStream",
	"logs:DescribeLogGroups",
	"logs:DescribeLogStreams",
	"logs:PutLogEvents",
}

// boundaryFISActions: what the fault experiments' role does (components/
// chaos): stop and start the stack's instances, and swap a subnet's network
// ACL for a temporary deny-all one. Only that role's own policy grants them,
// scoped to the stack's tag and VPC.
var boundaryFISActions = []string{
	"ec2:CreateNetworkAcl",
	"ec2:CreateNetworkAclEntry",
	"ec2:CreateTags",
	"ec2:DeleteNetworkAcl",
	"ec2:DescribeInstances",
	"ec2:DescribeManagedPrefixLists",
	"ec2:DescribeNetworkAcls",
	"ec2:DescribeSubnets",
	"ec2:DescribeVpcs",
	"ec2:GetManagedPrefixListEntries",
	"ec2:ReplaceNetworkAclAssociation",
	"ec2:StartInstances",
	"ec2:StopInstances",
}

// boundaryAMPActions: what a writer host's instance role does with the AMP
// workspace; only the workspace component's policy grants it, on that
// workspace.
var boundaryAMPActions = []string{
	"aps:RemoteWrite",
}

// boundaryGrafanaActions: what the Grafana workspace's role does: query
// the AMP workspace (its own policy names the stack's).
var boundaryGrafanaActions = []string{
	"aps:GetLabels",
	"aps:GetMetricMetadata",
	"aps:GetSeries",
	"aps:QueryMetrics",
}

// boundaryDLMActions: AWSDataLifecycleManagerServiceRole (EBS snapshots
// and their EventBridge rules).
var boundaryDLMActions = []string{
	"ec2:CopySnapshot",
	"ec2:CreateSnapshot",
	"ec2:CreateSnapshots",
	"ec2:CreateTags",
	"ec2:DeleteSnapshot",
	"ec2:DescribeFastSnapshotRestores",
	"ec2:DescribeSnapshotAttribute",
	"ec2:DescribeSnapshotTierStatus",
	"ec2:DescribeSnapshots",
	"ec2:DescribeVolumes",
	"ec2:DisableFastSnapshotRestores",
	"ec2:EnableFastSnapshotRestores",
	"ec2:ModifySnapshotAttribute",
	"ec2:ModifySnapshotTier",
	"events:DeleteRule",
	"events:DescribeRule",
	"events:DisableRule",
	"events:EnableRule",
	"events:ListTargetsByRule",
	"events:PutRule",
	"events:PutTargets",
	"events:RemoveTargets",
}

// allActionLists is every list above, for the documentation test.
func allActionLists() map[string][]string {
	return map[string][]string{
		"keyAdmin": keyAdminActions, "stateKeyRead": stateKeyReadActions, "stateKeyWrite": stateKeyWriteActions,
		"secretsPreview": secretsPreviewActions, "secretsDeploy": secretsDeployActions,
		"stateGuard": stateGuardActions, "stackRead": stackReadActions,
		"ec2": ec2Actions, "elb": elbActions, "waf": wafActions, "acm": acmActions, "route53": route53Actions,
		"route53CreateZone": route53CreateZoneActions,
		"iamRole":           iamRoleActions, "iamBoundedRole": iamBoundedRoleActions, "iamAttach": iamAttachActions,
		"iamProfile": iamProfileActions, "boundaryRemoval": boundaryRemovalActions,
		"passRole": passRoleActions, "serviceLinkedRole": serviceLinkedRoleActions,
		"ciRoleGuard": ciRoleGuardActions, "s3App": s3AppActions, "logs": logsActions,
		"logsDescribe": logsDescribeActions, "dlm": dlmActions, "fis": fisActions,
		"amp": ampActions, "ampLogDelivery": ampLogDeliveryActions, "kmsViaAps": kmsViaApsActions, "boundaryAMP": boundaryAMPActions,
		"grafana": grafanaActions, "grafanaSSO": grafanaSSOActions, "boundaryGrafana": boundaryGrafanaActions,
		"sns": snsActions, "kmsCreate": kmsCreateActions, "kmsList": kmsListActions, "kmsStackKey": kmsStackKeyActions,
		"kmsAlias": kmsAliasActions, "ssmParameter": ssmParameterActions, "cloudwatchAlarm": cloudwatchAlarmActions, "ssmDocument": ssmDocumentActions, "ssmDescribe": ssmDescribeActions, "kmsViaSsm": kmsViaSsmActions, "stateKeyGuard": stateKeyGuardActions, "inspector": inspectorActions,
		"boundarySSM": boundarySSMActions, "boundaryDiscovery": boundaryDiscoveryActions,
		"boundaryAlert": boundaryAlertActions, "boundaryLogs": boundaryLogsActions, "boundaryDLM": boundaryDLMActions, "boundaryFIS": boundaryFISActions,
	}
}
