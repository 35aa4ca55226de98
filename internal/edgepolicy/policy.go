// Package edgepolicy decides, once, who may call the public endpoint and
// how: the sources admitted to every path, the paths and methods closed to
// everyone, and the per-client request budget. Both edges render the same
// Policy: Cloudflare's custom and rate-limit rules (dnsProvider cloudflare)
// and the AWS WAF web ACL on the ALB (dnsProvider route53). Decide is the
// reference both renderings are tested against.
package edgepolicy

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// AdminPathPrefix is Prometheus' admin API (TSDB deletion, snapshots):
// closed at the edge whatever the source.
const AdminPathPrefix = "/api/v1/admin"

// Methods are the only HTTP methods the endpoint serves (queries use GET
// or POST; HEAD for probes).
var Methods = []string{"GET", "HEAD", "POST"}

// Policy is the endpoint's admission policy.
type Policy struct {
	Host string
	// Sources may reach every path: allowedCidrs plus the NAT gateways'
	// addresses, from which a secondary probes the endpoint as clients see
	// it. Nobody else reaches any path.
	Sources []netip.Prefix
	// RequestsPerMinute is each client address's budget.
	RequestsPerMinute int
}

// Request is what an edge decides on.
type Request struct {
	Source netip.Addr
	Method string
	// Path as the client sent it (percent-encoding included).
	Path string
}

// Decide is the reference decision (rate limiting aside): whether the edge
// passes the request to the origin, and the rule that decided.
func (p Policy) Decide(r Request) (bool, string) {
	path := r.Path
	if dec, err := url.PathUnescape(path); err == nil {
		// Both edges compare the decoded path, as the origin routes it.
		path = dec
	}
	switch {
	case strings.HasPrefix(path, AdminPathPrefix):
		return false, "admin-api"
	case !slices.Contains(Methods, r.Method):
		return false, "methods"
	case !p.admits(r.Source):
		return false, "sources"
	}
	return true, "allowed"
}

func (p Policy) admits(a netip.Addr) bool {
	for _, s := range p.Sources {
		if s.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// Validate reports a policy no edge can render.
func (p Policy) Validate() error {
	if p.Host == "" {
		return fmt.Errorf("edge policy: no host")
	}
	if p.RequestsPerMinute < 10 {
		return fmt.Errorf("edge policy: %d requests per minute is below 10, the smallest budget both edges enforce", p.RequestsPerMinute)
	}
	return nil
}

// sources are the distinct sources of one family (AWS WAF keeps one IP
// set per family), or of both with family 0.
func (p Policy) sources(family int) []string {
	var out []string
	for _, s := range p.Sources {
		if family == 4 && !s.Addr().Is4() || family == 6 && !s.Addr().Is6() {
			continue
		}
		if m := s.Masked().String(); !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// IPv4Sources are the distinct IPv4 sources, for an IP set.
func (p Policy) IPv4Sources() []string { return p.sources(4) }

// IPv6Sources are the distinct IPv6 sources, for an IP set.
func (p Policy) IPv6Sources() []string { return p.sources(6) }
