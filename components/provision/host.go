// Package provision provides the Host component: it provisions one
// Prometheus host with Ansible through pulumi-command, only when needed.
//
// Three steps, each a resource: wait until first boot has finished, copy the
// Ansible tree, run the playbook on the host itself with the host's
// variables on standard input. Their triggers are hashes of the instance id,
// of the Ansible tree and of the variables, plus an operator-bumped
// generation: a no-change `pulumi up` runs nothing, a replaced host is
// provisioned again on its own, an edited role re-runs every host.
package provision

import (
	"fmt"

	"github.com/pulumi/pulumi-command/sdk/go/command/remote"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/playbook"
)

// Bastion is the jump host every connection goes through.
type Bastion struct {
	Address pulumi.StringInput // its Elastic IP
	HostKey string             // pinned public key, authorized_keys format
}

// HostArgs configures one host's provisioning.
type HostArgs struct {
	InstanceID pulumi.StringInput
	// Address is the host's private IP, dialed from the bastion.
	Address pulumi.StringInput
	HostKey string // pinned public key, authorized_keys format
	Bastion Bastion
	// ClientKey is the provisioning private key (secret).
	ClientKey pulumi.StringInput
	// VarsJSON are the host's Ansible variables, without secrets.
	VarsJSON pulumi.StringInput
	// Region is where the host reads its secrets from SSM; Secrets maps
	// each secret variable to its SSM parameter name, and SecretsDigest is
	// a hash of their values (secret), so a rotated secret re-runs exactly
	// the hosts that use it. SecretResources (the parameters and the
	// host's grant) must exist before the playbook runs.
	Region          string
	Secrets         map[string]string
	SecretsDigest   pulumi.StringInput
	SecretResources []pulumi.Resource
	// AnsibleDir is the local tree copied to the host; TreeHash its hash.
	AnsibleDir string
	TreeHash   string
	Generation int
	// ReadyTimeout bounds the wait for first boot (default 20m).
	ReadyTimeout string
}

// Host is the provisioning of one host.
type Host struct {
	pulumi.ResourceState

	// Stdout of the last playbook run (secret: it follows its inputs).
	PlaybookOutput pulumi.StringOutput
	// Converged is the playbook step: depend on it to wait until the host
	// is converged (a component's children are not all known when another
	// resource names the component in DependsOn).
	Converged pulumi.Resource
}

// BootedDialLimit bounds the SSH dials of the steps after the ready gate
// (each dial waits up to 10 s).
const BootedDialLimit = 30

// NewHost provisions a host. name is the host name ("primary",
// "secondary-apps-1"); child names derive from it.
func NewHost(ctx *pulumi.Context, name string, args *HostArgs, opts ...pulumi.ResourceOption) (*Host, error) {
	if len(args.TreeHash) < 16 {
		return nil, fmt.Errorf("provision %s: tree hash %q is not a SHA-256 hex digest", name, args.TreeHash)
	}
	h := &Host{}
	if err := ctx.RegisterComponentResource("promfed:provision:Host", name, h, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(h)
	timeout := args.ReadyTimeout
	if timeout == "" {
		timeout = "20m"
	}

	conn := remote.ConnectionArgs{
		Host:       args.Address,
		User:       pulumi.String(contract.SSHUser),
		PrivateKey: pulumi.ToSecret(args.ClientKey).(pulumi.StringOutput),
		HostKey:    pulumi.String(args.HostKey),
		// A fresh host's sshd comes up a while after the instance is
		// "running": keep dialing (every PerDialTimeout) until the step's
		// own timeout ends the wait.
		DialErrorLimit: pulumi.Int(-1),
		PerDialTimeout: pulumi.Int(10),
		Proxy: remote.ProxyConnectionArgs{
			Host:           args.Bastion.Address,
			User:           pulumi.String(contract.SSHUser),
			PrivateKey:     pulumi.ToSecret(args.ClientKey).(pulumi.StringOutput),
			HostKey:        pulumi.String(args.Bastion.HostKey),
			DialErrorLimit: pulumi.Int(-1),
			PerDialTimeout: pulumi.Int(10),
		},
	}
	// Once the host has answered the ready gate, a later step that cannot
	// reach it fails after a bounded number of dials (about 5 minutes)
	// instead of dialing until its timeout, which the command provider may
	// not enforce; the next up resumes from that step.
	booted := conn
	booted.DialErrorLimit = pulumi.Int(BootedDialLimit)
	instanceHash := args.InstanceID.ToStringOutput().ApplyT(playbook.Hash).(pulumi.StringOutput)
	varsHash := args.VarsJSON.ToStringOutput().ApplyT(playbook.Hash).(pulumi.StringOutput)
	var digest pulumi.StringInput = pulumi.String("")
	if args.SecretsDigest != nil {
		digest = args.SecretsDigest
	}
	secretsHash := pulumi.ToSecret(digest).(pulumi.StringOutput)

	ready, err := remote.NewCommand(ctx, name+"-ready", &remote.CommandArgs{
		Connection: conn,
		Create:     pulumi.String(playbook.ReadyCommand),
		Triggers:   pulumi.Array{instanceHash},
		Logging:    remote.LoggingStderr,
	}, parent, pulumi.Timeouts(&pulumi.CustomTimeouts{Create: timeout}))
	if err != nil {
		return nil, err
	}
	tree, err := remote.NewCopyToRemote(ctx, name+"-ansible", &remote.CopyToRemoteArgs{
		Connection: booted,
		Source:     pulumi.NewFileArchive(args.AnsibleDir),
		RemotePath: pulumi.String(playbook.RemoteTreeDir(args.TreeHash)),
		Triggers:   pulumi.Array{instanceHash, pulumi.String(args.TreeHash)},
	}, parent, pulumi.DependsOn([]pulumi.Resource{ready}), pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "10m"}))
	if err != nil {
		return nil, err
	}
	play, err := remote.NewCommand(ctx, name+"-playbook", &remote.CommandArgs{
		Connection: booted,
		Create:     pulumi.String(playbook.Command(args.TreeHash, args.Region, args.Secrets)),
		Stdin:      args.VarsJSON,
		Triggers: pulumi.Array{
			instanceHash, pulumi.String(args.TreeHash), varsHash, secretsHash, pulumi.Int(args.Generation),
		},
		// Ansible prints task names and results; tasks that handle secrets
		// are no_log, and the variables never reach a command line.
		Logging: remote.LoggingStdoutAndStderr,
	}, parent, pulumi.DependsOn(append([]pulumi.Resource{tree}, args.SecretResources...)), pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "30m"}))
	if err != nil {
		return nil, err
	}
	h.PlaybookOutput, h.Converged = play.Stdout, play
	return h, ctx.RegisterResourceOutputs(h, pulumi.Map{"playbookOutput": play.Stdout})
}
