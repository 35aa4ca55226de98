// Package contract holds the names and numbers that several packages, the
// Ansible roles and the hosts must agree on: ports, tag keys, host roles and
// the SSH user. Each is decided here once; everything else refers to it.
package contract

// Ports the hosts listen on. The Ansible roles' defaults use the same
// numbers (ansible/roles/*/defaults/main.yml).
const (
	PortSSH          = 22
	PortPrometheus   = 9090
	PortAlertmanager = 9093
	// PortAlertmanagerCluster is the Alertmanagers' gossip (TCP and UDP),
	// open between the primaries only.
	PortAlertmanagerCluster = 9094
	PortNodeExporter        = 9100
	PortBlackbox            = 9115
	// PortReadiness is the primary's readiness responder: plain HTTP,
	// answers /ready with 200 only when Prometheus itself is ready, for the
	// load balancer's health check (which has no credentials).
	PortReadiness = 9092
)

// Role is a host's part in the federation. It decides the instance type,
// the security groups, the IAM permissions and what Ansible configures.
type Role string

// The roles of the federation.
const (
	RolePrimary   Role = "primary"
	RoleSecondary Role = "secondary"
)

// Tag keys the program writes and the hosts, DLM and EC2 discovery read.
const (
	TagProject = "promfed:project"
	TagStack   = "promfed:stack"
	TagHost    = "promfed:host"
	TagRole    = "promfed:role"
	TagShard   = "promfed:shard"
	// TagBackup marks the volumes Data Lifecycle Manager snapshots.
	TagBackup    = "promfed:backup"
	TagManagedBy = "ManagedBy"
)

// SSHUser is the login user cloud-init creates and provisioning uses.
const SSHUser = "promfed"

// IAM layout shared by the program and bootstrap/: every role and instance
// profile a stack creates lives under IAMPath and is named with IAMName, and
// carries the permissions boundary bootstrap/ creates at BoundaryPolicyPath
// under BoundaryPolicyName. The stack's deploy role may write IAM only there
// and only with that boundary attached, so it cannot mint a role stronger
// than the boundary nor touch another stack's roles.

// IAMPath is /<namePrefix>/<stack>/.
func IAMPath(namePrefix, stack string) string { return "/" + namePrefix + "/" + stack + "/" }

// IAMName is <namePrefix>-<stack>-<what>.
func IAMName(namePrefix, stack, what string) string { return namePrefix + "-" + stack + "-" + what }

// IAMNameMaxLen is AWS's limit on role and instance profile names.
const IAMNameMaxLen = 64

// BoundaryPolicyPath is /<namePrefix>/: one boundary serves every stack.
func BoundaryPolicyPath(namePrefix string) string { return "/" + namePrefix + "/" }

// BoundaryPolicyName is <namePrefix>-stack-boundary.
func BoundaryPolicyName(namePrefix string) string { return namePrefix + "-stack-boundary" }

// BoundaryPolicyARN is the boundary's ARN in an account.
func BoundaryPolicyARN(partition, account, namePrefix string) string {
	return "arn:" + partition + ":iam::" + account + ":policy" + BoundaryPolicyPath(namePrefix) + BoundaryPolicyName(namePrefix)
}

// SecretParameter is the SSM Parameter Store name of one host secret:
// /<namePrefix>/<stack>/<host>/<secret>. A host's role may read and
// decrypt only the parameters under its own /<namePrefix>/<stack>/<host>/.
func SecretParameter(namePrefix, stack, host, secret string) string {
	return "/" + namePrefix + "/" + stack + "/" + host + "/" + secret
}

// SecretSSHHostKey is the secret holding a host's SSH host private key.
const SecretSSHHostKey = "ssh-host-key" //nolint:gosec // a parameter name, not a credential
