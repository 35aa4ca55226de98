package edgepolicy

import (
	"fmt"
	"regexp"
	"strings"
)

// The AWS WAF web ACL on the ALB, rendered in the WAFv2 API's JSON shape
// (the web ACL's rule_json). Default action: block. Rules in priority order:
// the rate limit, AWS's managed rule groups, the closed paths and methods,
// then allow the sources; anything left falls to the default block.

// WAFEvaluationWindow is the rate-based rule's window in seconds.
const WAFEvaluationWindow = 300

// ManagedRuleGroups are the AWS managed rule groups the web ACL runs.
var ManagedRuleGroups = []string{"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}

// countOnly are managed rules only counted: long PromQL queries exceed the
// common rule set's 2 KB query-string and 8 KB body limits.
var countOnly = map[string][]string{
	"AWSManagedRulesCommonRuleSet": {"SizeRestrictions_QUERYSTRING", "SizeRestrictions_BODY"},
}

// WAFRule is one rule of the web ACL (WAFv2 API JSON).
type WAFRule = map[string]any

type obj = map[string]any

// wafRule names a rule; Priority and VisibilityConfig are added in order.
func wafRule(name string, action, statement obj) WAFRule {
	r := WAFRule{"Name": name, "Statement": statement}
	if _, managed := statement["ManagedRuleGroupStatement"]; managed {
		r["OverrideAction"] = obj{"None": obj{}}
	} else {
		r["Action"] = action
	}
	return r
}

// regexMatch avoids ByteMatch, whose search string is a binary blob in the
// API's JSON.
func regexMatch(field obj, pattern, transform string) obj {
	return obj{"RegexMatchStatement": obj{
		"RegexString":         pattern,
		"FieldToMatch":        field,
		"TextTransformations": []any{obj{"Priority": 0, "Type": transform}},
	}}
}

// WAFRules renders the rules; ipv4Set and ipv6Set are the ARNs of the IP
// sets holding IPv4Sources and IPv6Sources; metric prefixes metric names.
func (p Policy) WAFRules(metric, ipv4Set, ipv6Set string) []WAFRule {
	block, allow := obj{"Block": obj{}}, obj{"Allow": obj{}}
	rules := []WAFRule{wafRule("rate-limit", block, obj{"RateBasedStatement": obj{
		"Limit": p.RequestsPerMinute * WAFEvaluationWindow / 60, "AggregateKeyType": "IP", "EvaluationWindowSec": WAFEvaluationWindow,
	}})}
	for _, g := range ManagedRuleGroups {
		group := obj{"VendorName": "AWS", "Name": g}
		var overrides []any
		for _, r := range countOnly[g] {
			overrides = append(overrides, obj{"Name": r, "ActionToUse": obj{"Count": obj{}}})
		}
		if overrides != nil {
			group["RuleActionOverrides"] = overrides
		}
		rules = append(rules, wafRule("aws-"+g, nil, obj{"ManagedRuleGroupStatement": group}))
	}
	rules = append(rules,
		wafRule("admin-api", block, regexMatch(obj{"UriPath": obj{}}, "^"+regexp.QuoteMeta(AdminPathPrefix), "URL_DECODE")),
		wafRule("methods", block, obj{"NotStatement": obj{
			"Statement": regexMatch(obj{"Method": obj{}}, "^("+strings.Join(Methods, "|")+")$", "NONE")}}),
		wafRule("sources", allow, obj{"OrStatement": obj{"Statements": []any{
			obj{"IPSetReferenceStatement": obj{"ARN": ipv4Set}},
			obj{"IPSetReferenceStatement": obj{"ARN": ipv6Set}},
		}}}),
	)
	for i, r := range rules {
		r["Priority"] = i
		r["VisibilityConfig"] = obj{"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true,
			"MetricName": fmt.Sprintf("%s-%s", metric, r["Name"])}
	}
	return rules
}
