package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// EBS snapshot ids: snap- and 8 or 17 hex digits (Amazon EC2 API reference,
// "Resource IDs").
var snapshotRe = regexp.MustCompile(`^snap-[0-9a-f]{8}([0-9a-f]{9})?$`)

// ValidSnapshotID says whether s has the form of an EBS snapshot id, the
// rule restoreSnapshots applies.
func ValidSnapshotID(s string) bool { return snapshotRe.MatchString(s) }

// restores reads restoreSnapshots, [{host, snapshot}]: the hosts whose data
// volume is to be made from a snapshot. Host names are checked against the
// layout once it is known (applyRestores).
func (l *loader) restores() map[string]string {
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(l.str("restoreSnapshots")), &items); err != nil {
		l.failf("restoreSnapshots is not a list of {host, snapshot} objects: %v (for example [{\"host\":\"secondary-apps-1\",\"snapshot\":\"snap-0123456789abcdef0\"}])", err)
		return nil
	}
	out := map[string]string{}
	for i, raw := range items {
		path := fmt.Sprintf("restoreSnapshots[%d]", i)
		o := l.object(path, raw, "host", "snapshot")
		if o == nil {
			continue
		}
		host, snap := o.str("host", ""), o.str("snapshot", "")
		if !snapshotRe.MatchString(snap) {
			l.failf("%s.snapshot %q is not an EBS snapshot id (snap- followed by 8 or 17 hex digits; aws ec2 describe-snapshots --filters Name=tag:Name,Values=%s-data lists the host's)", path, snap, host)
		}
		if _, dup := out[host]; dup {
			l.failf("%s.host %q is listed twice: a volume is restored from one snapshot", path, host)
		}
		out[host] = snap
	}
	return out
}

// applyRestores sets each restored host's snapshot, refusing names that are
// not hosts of the stack.
func (l *loader) applyRestores(c *Config, restores map[string]string) {
	names := Names(c.Hosts)
	for _, host := range slices.Sorted(maps.Keys(restores)) {
		i := slices.Index(names, host)
		if i < 0 {
			l.failf("restoreSnapshots: host %q is not a host of stack %s: use one of %s", host, c.Stack, strings.Join(names, ", "))
			continue
		}
		c.Hosts[i].RestoreSnapshot = restores[host]
	}
}
