// Package playbook is what the Ansible playbook receives, rendered in pure
// Go so that the Pulumi program and the end-to-end suite share it: each
// host's variables (from the host list and the shards), the user's rule
// files, the content hash of the Ansible tree, and the commands that copy
// and run it. Nothing here touches Pulumi; components/provision turns it
// into remote-command resources.
package playbook
