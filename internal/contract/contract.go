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
	PortNodeExporter = 9100
	PortBlackbox     = 9115
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
