package config

import (
	"strings"
	"testing"
)

func TestAMPSettings(t *testing.T) {
	for _, tc := range []struct {
		mode, match string
		want        *AMP
	}{
		{"", "", nil},
		{"aggregates", "", &AMP{Mode: "aggregates", Match: "federate:.+"}},
		{"raw", "", &AMP{Mode: "raw", Match: ".+"}},
		{"raw", "node_.*|up", &AMP{Mode: "raw", Match: "node_.*|up"}},
	} {
		v := validRoute53()
		v["ampRemoteWrite"], v["ampWriteMatch"] = tc.mode, tc.match
		c, err := load(t, v)
		if err != nil {
			t.Fatalf("%s %q: %v", tc.mode, tc.match, err)
		}
		if (c.AMP == nil) != (tc.want == nil) || c.AMP != nil && *c.AMP != *tc.want {
			t.Errorf("%s %q: %+v, want %+v", tc.mode, tc.match, c.AMP, tc.want)
		}
	}
}

func TestAMPBadInput(t *testing.T) {
	for _, tc := range []struct {
		region, mode, match, want string
	}{
		{"eu-west-1", "all", "", `ampRemoteWrite "all" must be aggregates (the primaries send the federate:* aggregates), raw (the secondaries send their series) or empty`},
		{"eu-west-1", "", "federate:.+", `ampWriteMatch "federate:.+" is set but ampRemoteWrite is empty`},
		{"eu-west-1", "raw", "node_(", `ampWriteMatch "node_(" is not a regular expression (RE2)`},
		{"af-south-1", "aggregates", "", `ampRemoteWrite "aggregates": Amazon Managed Service for Prometheus is not offered in af-south-1; it is in us-east-1, `},
	} {
		v := validRoute53()
		v["ampRemoteWrite"], v["ampWriteMatch"] = tc.mode, tc.match
		_, err := Load("promfed", "dev", tc.region, MapSource{Values: v, Secrets: secretKeys})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s %q: got %v, want %q", tc.region, tc.mode, tc.match, err, tc.want)
		}
	}
}

func TestAMPMatchesAny(t *testing.T) {
	a := &AMP{Mode: AMPAggregates, Match: "federate:up:.+"}
	if ok, err := a.MatchesAny([]string{"federate:heartbeat:time", "federate:up:sum"}); !ok || err != nil {
		t.Errorf("federate:up:sum not matched: %v", err)
	}
	// Anchored: a prefix alone does not match.
	a.Match = "federate:up"
	if ok, _ := a.MatchesAny([]string{"federate:up:sum"}); ok {
		t.Error("the selection is not anchored")
	}
}
