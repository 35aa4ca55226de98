package provision

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/promfed/promfed/internal/pki"
)

// Fleet describes every Prometheus host of a stack. From it each host's
// Ansible variables are rendered: the contract of ansible/site.yml (see
// ansible/README.md). Rendering is pure and deterministic, so unchanged
// settings give byte-identical variables and nothing re-runs.
type Fleet struct {
	Stack        string
	InternalZone string
	// Hosts are "primary", "secondary-1", ... (config.HostNames).
	Hosts []string

	WebUsername string
	WebPassword string

	RetentionTime string
	RetentionSize string

	// BlackboxTargets are URLs the first secondary probes (the public
	// endpoint) with the blackbox_exporter module BlackboxModule
	// (https_auth_required for the endpoint: verified TLS answering 401).
	BlackboxTargets []string
	BlackboxModule  string
	// EC2SDRegion turns on EC2 service discovery on the secondaries when
	// set: each secondary discovers the instances tagged
	// promfed:scrape-shard=<its name>, so no target is scraped twice.
	EC2SDRegion string

	AlertWebhookURL string

	Keys *pki.Deriver
}

// Ports the roles listen on.
const (
	PrometheusPort   = 9090
	NodeExporterPort = 9100
)

// Role returns "primary" or "secondary" for a host name.
func Role(host string) string {
	if host == "primary" {
		return "primary"
	}
	return "secondary"
}

// Vars renders one host's variables.
func (f *Fleet) Vars(host string) (map[string]any, error) {
	if !contains(f.Hosts, host) {
		return nil, fmt.Errorf("provision: %q is not a host of this fleet (%s)", host, strings.Join(f.Hosts, ", "))
	}
	ca, err := f.Keys.CA()
	if err != nil {
		return nil, err
	}
	cert, err := f.Keys.ServerCert(ca, host, f.fqdn(host))
	if err != nil {
		return nil, err
	}
	role := Role(host)
	v := map[string]any{
		"promfed_host_name":     host,
		"promfed_role":          role,
		"promfed_stack":         f.Stack,
		"promfed_internal_zone": f.InternalZone,
		"promfed_tls_ca_pem":    ca.PEM,
		"promfed_tls_cert_pem":  cert.CertPEM,
		"promfed_tls_key_pem":   cert.KeyPEM,

		"prometheus_external_labels":   map[string]string{"stack": f.Stack, "prometheus": host},
		"prometheus_retention_time":    f.RetentionTime,
		"prometheus_retention_size":    f.RetentionSize,
		"prometheus_web_username":      f.WebUsername,
		"prometheus_web_password":      f.WebPassword,
		"prometheus_web_password_salt": f.Keys.BcryptSalt("web-password"),
	}
	if role == "primary" {
		var targets []map[string]string
		for _, h := range f.Hosts {
			if Role(h) == "secondary" {
				targets = append(targets, map[string]string{"name": h, "address": fmt.Sprintf("%s:%d", f.fqdn(h), PrometheusPort)})
			}
		}
		v["prometheus_federate_targets"] = targets
		v["prometheus_node_targets"] = []string{}
		v["prometheus_blackbox_targets"] = []string{}
		v["prometheus_ec2_sd"] = nil
		v["prometheus_alertmanager_enabled"] = true
		v["alertmanager_webhook_url"] = f.AlertWebhookURL
		return v, nil
	}
	// Every server scrapes its own node_exporter (the role does it through
	// localhost and drops its own name from this list). The first secondary
	// also scrapes the primary's, so a primary outage is seen from outside.
	nodes := []string{fmt.Sprintf("%s:%d", f.fqdn(host), NodeExporterPort)}
	if host == f.firstSecondary() {
		nodes = append(nodes, fmt.Sprintf("%s:%d", f.fqdn("primary"), NodeExporterPort))
	}
	sort.Strings(nodes)
	v["prometheus_federate_targets"] = []map[string]string{}
	v["prometheus_node_targets"] = nodes
	blackbox := []string{}
	if host == f.firstSecondary() {
		blackbox = append(blackbox, f.BlackboxTargets...)
	}
	v["prometheus_blackbox_targets"] = blackbox
	if f.BlackboxModule != "" {
		v["prometheus_blackbox_module"] = f.BlackboxModule
	}
	if f.EC2SDRegion != "" {
		v["prometheus_ec2_sd"] = map[string]any{
			"region": f.EC2SDRegion,
			"port":   NodeExporterPort,
			"filters": []map[string]any{
				{"name": "tag:promfed:stack", "values": []string{f.Stack}},
				{"name": "tag:promfed:scrape-shard", "values": []string{host}},
			},
		}
	} else {
		v["prometheus_ec2_sd"] = nil
	}
	v["prometheus_alertmanager_enabled"] = false
	return v, nil
}

// VarsJSON renders the variables as the JSON document the playbook reads.
func (f *Fleet) VarsJSON(host string) (string, error) {
	v, err := f.Vars(host)
	if err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	return string(b), err
}

func (f *Fleet) fqdn(host string) string { return host + "." + f.InternalZone }

func (f *Fleet) firstSecondary() string {
	for _, h := range f.Hosts {
		if Role(h) == "secondary" {
			return h
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
