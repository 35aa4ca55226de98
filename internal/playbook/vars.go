package playbook

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/promfed/promfed/config"
	"github.com/promfed/promfed/internal/cloudinit"
	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/pki"
)

// Fleet describes every Prometheus host of a stack. From it each host's
// Ansible variables are rendered: the contract of ansible/site.yml (see
// ansible/README.md and each role's meta/argument_specs.yml). Rendering is
// pure and deterministic, so unchanged settings give byte-identical
// variables and nothing re-runs.
type Fleet struct {
	Stack        string
	InternalZone string
	// Hosts and Shards come from config: host identity is decided there.
	Hosts  []config.Host
	Shards []config.Shard

	WebUsername string
	WebPassword string

	RetentionTime string
	RetentionSize string

	// DataVolumeGiB is every host's data volume size; DataVolumes maps a
	// host to its volume's EBS id, known once the volume exists.
	DataVolumeGiB int
	DataVolumes   map[string]string

	// EndpointProbe is the public endpoint's URL. The first secondary
	// probes it as clients see it: verified TLS answering 401 (auth on).
	EndpointProbe string

	// Rules are the user's rule files (monitoring/).
	Rules *Rules

	Alerting Alerting

	// RemoteWrite is the long-term store; nil when there is none.
	RemoteWrite *RemoteWrite

	Keys *pki.Deriver
}

// Unsafe is free text that Ansible must never template: rule files carry
// Prometheus templates ({{ $labels.job }}) and a password or URL may hold
// "{{". It is encoded as Ansible's JSON marker for unsafe text, which the
// playbook reads with -e @vars.json as a plain string.
type Unsafe string

// MarshalJSON writes {"__ansible_unsafe": "<text>"}.
func (u Unsafe) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"__ansible_unsafe": string(u)})
}

// Alerting is where the primary's Alertmanager sends notifications.
type Alerting struct {
	SNSTopicArn  string
	SNSRegion    string
	WebhookURL   string
	HeartbeatURL string
	SlackURL     string
	SlackChannel string
	PagerDutyKey string
}

// Host returns the fleet's host named name.
func (f *Fleet) Host(name string) (config.Host, error) {
	for _, h := range f.Hosts {
		if h.Name == name {
			return h, nil
		}
	}
	return config.Host{}, fmt.Errorf("playbook: %q is not a host of this fleet (%s)", name, strings.Join(config.Names(f.Hosts), ", "))
}

// Vars renders one host's variables.
func (f *Fleet) Vars(name string) (map[string]any, error) {
	h, err := f.Host(name)
	if err != nil {
		return nil, err
	}
	ca, err := f.Keys.CA()
	if err != nil {
		return nil, err
	}
	cert, err := f.Keys.ServerCert(ca, h.Name, f.fqdn(h.Name))
	if err != nil {
		return nil, err
	}
	volume := f.DataVolumes[h.Name]
	labels := map[string]string{"stack": f.Stack, "prometheus": h.Name}
	v := map[string]any{
		"promfed_host_name":     h.Name,
		"promfed_role":          string(h.Role),
		"promfed_shard":         h.Shard,
		"promfed_stack":         f.Stack,
		"promfed_internal_zone": f.InternalZone,
		"promfed_tls_ca_pem":    ca.PEM,
		"promfed_tls_cert_pem":  cert.CertPEM,
		"promfed_tls_key_pem":   cert.KeyPEM,

		"prometheus_external_labels":   labels,
		"prometheus_retention_time":    f.RetentionTime,
		"prometheus_retention_size":    f.RetentionSize,
		"prometheus_web_username":      f.WebUsername,
		"prometheus_web_password":      Unsafe(f.WebPassword),
		"prometheus_web_password_salt": f.Keys.BcryptSalt("web-password"),
		"prometheus_user_rules":        f.Rules.For(h),

		"data_volume_id":          volume,
		"data_volume_devices":     cloudinit.DataDevices(volume),
		"data_volume_size_gib":    f.DataVolumeGiB,
		"data_volume_mount_point": cloudinit.DataMountPoint,

		"prometheus_remote_write": f.remoteWrite(h),
	}
	if h.Role == contract.RolePrimary {
		labels["replica"] = h.Replica
		var targets []map[string]string
		for _, s := range f.Hosts {
			if s.Role == contract.RoleSecondary {
				targets = append(targets, map[string]string{
					"name": s.Name, "shard": s.Shard, "address": f.address(s.Name, contract.PortPrometheus),
				})
			}
		}
		// Every replica sends to every Alertmanager (they deduplicate as a
		// cluster), watches the other replicas' Prometheus and node_exporter,
		// and gossips with the other Alertmanagers.
		alertmanagers, peers, gossip := []string{}, []map[string]string{}, []string{}
		nodes := []string{f.address(h.Name, contract.PortNodeExporter)}
		for _, p := range config.OfRole(f.Hosts, contract.RolePrimary) {
			alertmanagers = append(alertmanagers, f.address(p.Name, contract.PortAlertmanager))
			if p.Name == h.Name {
				continue
			}
			peers = append(peers, map[string]string{"name": p.Name, "address": f.address(p.Name, contract.PortPrometheus)})
			nodes = append(nodes, f.address(p.Name, contract.PortNodeExporter))
			gossip = append(gossip, f.address(p.Name, contract.PortAlertmanagerCluster))
		}
		sort.Strings(alertmanagers)
		sort.Strings(nodes)
		v["prometheus_federate_targets"] = targets
		v["prometheus_node_targets"] = nodes
		v["prometheus_peer_targets"] = peers
		v["prometheus_alertmanager_targets"] = alertmanagers
		v["alertmanager_cluster_peers"] = gossip
		v["prometheus_probes"] = []map[string]string{}
		v["prometheus_workload_jobs"] = []map[string]any{}
		v["prometheus_alertmanager_enabled"] = true
		v["alertmanager_sns_topic_arn"] = f.Alerting.SNSTopicArn
		v["alertmanager_sns_region"] = f.Alerting.SNSRegion
		v["alertmanager_webhook_url"] = Unsafe(f.Alerting.WebhookURL)
		v["alertmanager_heartbeat_url"] = Unsafe(f.Alerting.HeartbeatURL)
		v["alertmanager_slack_api_url"] = Unsafe(f.Alerting.SlackURL)
		v["alertmanager_slack_channel"] = f.Alerting.SlackChannel
		v["alertmanager_pagerduty_routing_key"] = Unsafe(f.Alerting.PagerDutyKey)
		return v, nil
	}

	shard, ok := config.FindShard(f.Shards, h.Shard)
	if !ok {
		return nil, fmt.Errorf("provision: host %s names shard %q, which the fleet lacks", h.Name, h.Shard)
	}
	labels["shard"] = shard.Name
	for k, val := range shard.Labels {
		labels[k] = val
	}
	// Every server scrapes its own node_exporter (the role does it through
	// localhost and drops its own name from this list). The first secondary
	// also scrapes the primaries', so a primary outage is seen from outside.
	watcher, _ := config.Watcher(f.Hosts)
	first := h.Name == watcher.Name
	nodes := []string{f.address(h.Name, contract.PortNodeExporter)}
	probes := []map[string]string{}
	if first {
		for _, p := range config.OfRole(f.Hosts, contract.RolePrimary) {
			nodes = append(nodes, f.address(p.Name, contract.PortNodeExporter))
		}
		if f.EndpointProbe != "" {
			probes = append(probes, map[string]string{"url": f.EndpointProbe, "module": "https_auth_required"})
		}
	}
	sort.Strings(nodes)
	for _, p := range shard.Probes {
		probes = append(probes, map[string]string{"url": p.URL, "module": p.Module})
	}
	v["prometheus_federate_targets"] = []map[string]string{}
	v["prometheus_peer_targets"] = []map[string]string{}
	v["prometheus_alertmanager_targets"] = []string{}
	v["prometheus_node_targets"] = nodes
	v["prometheus_probes"] = probes
	v["prometheus_workload_jobs"] = workloadJobs(shard)
	v["prometheus_alertmanager_enabled"] = false
	return v, nil
}

// workloadJobs renders a shard's scrape jobs in the role's shape.
func workloadJobs(s config.Shard) []map[string]any {
	jobs := []map[string]any{}
	for _, j := range s.EC2 {
		filters := []map[string]any{{"name": "instance-state-name", "values": []string{"running"}}}
		for _, k := range slices.Sorted(maps.Keys(j.Tags)) {
			filters = append(filters, map[string]any{"name": "tag:" + k, "values": []string{j.Tags[k]}})
		}
		labelTags := []map[string]string{}
		for _, k := range slices.Sorted(maps.Keys(j.LabelTags)) {
			labelTags = append(labelTags, map[string]string{"tag": k, "label": j.LabelTags[k]})
		}
		jobs = append(jobs, map[string]any{
			"job": j.Job, "scheme": j.Scheme, "metrics_path": j.MetricsPath,
			"ec2": map[string]any{"region": j.Region, "ports": j.Ports, "filters": filters, "label_tags": labelTags},
		})
	}
	for _, j := range s.DNS {
		jobs = append(jobs, map[string]any{
			"job": j.Job, "scheme": j.Scheme, "metrics_path": j.MetricsPath,
			"dns": map[string]any{"names": j.Names, "type": j.Type, "port": j.Port},
		})
	}
	for _, j := range s.Static {
		labels := j.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		jobs = append(jobs, map[string]any{
			"job": j.Job, "scheme": j.Scheme, "metrics_path": j.MetricsPath,
			"static": map[string]any{"targets": j.Targets, "labels": labels},
		})
	}
	return jobs
}

// SecretVars maps each variable that carries a secret to the name of the
// host's SSM parameter it comes from (contract.SecretParameter's last
// part). Their values never travel with the other variables.
var SecretVars = map[string]string{
	"promfed_tls_key_pem":                "tls-key",
	"prometheus_web_password":            "web-password",
	"alertmanager_webhook_url":           "alert-webhook-url",
	"alertmanager_heartbeat_url":         "heartbeat-url",
	"alertmanager_slack_api_url":         "slack-api-url",
	"alertmanager_pagerduty_routing_key": "pagerduty-routing-key",
}

// Secret is one secret of a host: the variable, its parameter's last part
// and the value.
type Secret struct {
	Var, Name, Value string
}

// Secrets are a host's non-empty secrets, in variable order. An unset
// secret (a receiver not configured) stays an empty variable.
func (f *Fleet) Secrets(host string) ([]Secret, error) {
	v, err := f.Vars(host)
	if err != nil {
		return nil, err
	}
	var out []Secret
	for _, name := range slices.Sorted(maps.Keys(SecretVars)) {
		val, ok := v[name]
		if !ok {
			continue
		}
		if s := secretString(val); s != "" {
			out = append(out, Secret{Var: name, Name: SecretVars[name], Value: s})
		}
	}
	return out, nil
}

// SecretInputs are what provisioning needs about a host's secrets: each
// secret variable's SSM parameter (parameter maps a secret's name to its
// parameter) and a digest of the values, which changes when one of them
// does (and reveals none of them).
func (f *Fleet) SecretInputs(host string, parameter func(name string) string) (map[string]string, string, error) {
	secrets, err := f.Secrets(host)
	if err != nil {
		return nil, "", err
	}
	params, digest := map[string]string{}, ""
	for _, s := range secrets {
		params[s.Var] = parameter(s.Name)
		digest += s.Var + "=" + Hash(s.Value) + "\n"
	}
	return params, Hash(digest), nil
}

func secretString(v any) string {
	switch x := v.(type) {
	case Unsafe:
		return string(x)
	case string:
		return x
	}
	return ""
}

// VarsJSON renders the variables as the JSON document the playbook reads,
// without the host's secrets (the host fetches those itself, see Command).
func (f *Fleet) VarsJSON(host string) (string, error) {
	v, err := f.Vars(host)
	if err != nil {
		return "", err
	}
	if f.DataVolumes[host] == "" {
		// The data_volume role would wait for a device that cannot appear.
		return "", fmt.Errorf("playbook: host %s has no data volume id", host)
	}
	secrets, err := f.Secrets(host)
	if err != nil {
		return "", err
	}
	for _, s := range secrets {
		delete(v, s.Var)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	return string(b), err
}

func (f *Fleet) fqdn(host string) string { return host + "." + f.InternalZone }

// address is a host's service by DNS name, which survives a replacement.
func (f *Fleet) address(host string, port int) string {
	return fmt.Sprintf("%s:%d", f.fqdn(host), port)
}
