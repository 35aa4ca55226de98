package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/promfed/promfed/internal/contract"
)

// AMP is the remote_write to Amazon Managed Service for Prometheus.
type AMP struct {
	// Mode is AMPAggregates (the primaries write) or AMPRaw (the
	// secondaries write).
	Mode string
	// Match is the metric-name regex remote_write keeps, the mode's
	// default filled in.
	Match string
}

// The ampRemoteWrite modes.
const (
	AMPAggregates = "aggregates"
	AMPRaw        = "raw"
)

// AMPRegions are the regions with Amazon Managed Service for Prometheus
// (AWS General Reference, "Amazon Managed Service for Prometheus endpoints
// and quotas").
var AMPRegions = []string{
	"us-east-1", "us-east-2", "us-west-2", "ca-central-1", "sa-east-1",
	"eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1",
	"ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-northeast-2",
}

// amp reads ampRemoteWrite and ampWriteMatch. Whether an aggregates
// selection matches any of the stack's recording rules is checked where
// the rules are read (playbook.CheckAMPMatch).
func (l *loader) amp(region string) *AMP {
	mode, match := l.str("ampRemoteWrite"), l.str("ampWriteMatch")
	switch mode {
	case "":
		if match != "" {
			l.failf("ampWriteMatch %q is set but ampRemoteWrite is empty: set ampRemoteWrite to aggregates or raw, or drop ampWriteMatch", match)
		}
		return nil
	case AMPAggregates, AMPRaw:
	default:
		l.failf("ampRemoteWrite %q must be aggregates (the primaries send the federate:* aggregates), raw (the secondaries send their series) or empty", mode)
		return nil
	}
	if region != "" && !slices.Contains(AMPRegions, region) {
		l.failf("ampRemoteWrite %q: Amazon Managed Service for Prometheus is not offered in %s; it is in %s", mode, region, strings.Join(AMPRegions, ", "))
	}
	if match == "" {
		match = map[string]string{AMPAggregates: "federate:.+", AMPRaw: ".+"}[mode]
	}
	if _, err := regexp.Compile("^(?:" + match + ")$"); err != nil {
		l.failf("ampWriteMatch %q is not a regular expression (RE2): %v", match, err)
	}
	return &AMP{Mode: mode, Match: match}
}

// MatchesAny says whether the AMP selection keeps at least one of names.
func (a *AMP) MatchesAny(names []string) (bool, error) {
	re, err := regexp.Compile("^(?:" + a.Match + ")$")
	if err != nil {
		return false, fmt.Errorf("ampWriteMatch %q: %w", a.Match, err)
	}
	return slices.ContainsFunc(names, re.MatchString), nil
}

// Writes says whether host h sends to the workspace: the primaries for
// aggregates, the secondaries for raw.
func (a *AMP) Writes(h Host) bool {
	if a == nil {
		return false
	}
	if a.Mode == AMPRaw {
		return h.Role == contract.RoleSecondary
	}
	return h.Role == contract.RolePrimary
}
