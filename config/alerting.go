package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

var (
	emailRe        = regexp.MustCompile(`^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}$`)
	slackChannelRe = regexp.MustCompile(`^#?[a-z0-9][a-z0-9_-]{0,79}$`)
	// PagerDuty Events API v2 integration (routing) keys are 32 characters.
	pagerDutyKeyRe = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)
)

// alerting reads where notifications go: the SNS topic's subscriptions and
// the optional webhook, Slack and PagerDuty receivers (secrets, because
// their URLs and keys are credentials).
func (l *loader) alerting(c *Config) {
	c.AlertEmails = l.list("alertEmails")
	for i, e := range c.AlertEmails {
		if !emailRe.MatchString(e) {
			l.failf("alertEmails[%d] %q is not an email address", i, e)
		}
	}
	l.uniqueEmails(c.AlertEmails, c.Shards)
	c.AlertHTTPSEndpoints = l.list("alertHttpsEndpoints")
	for i, u := range c.AlertHTTPSEndpoints {
		if !isHTTPSURL(u) {
			l.failf("alertHttpsEndpoints[%d] %q is not an https:// URL with a host", i, u)
		}
	}
	c.AlertWebhookURL = Secret{l.str("alertWebhookUrl")}
	if v := c.AlertWebhookURL.value; v != "" && !isHTTPSURL(v) {
		l.failf("alertWebhookUrl is not an https:// URL with a host (value hidden: it is a secret)")
	}
	c.HeartbeatURL = Secret{l.str("heartbeatUrl")}
	if v := c.HeartbeatURL.value; v != "" && !isHTTPSURL(v) {
		l.failf("heartbeatUrl is not an https:// URL with a host (value hidden: it is a secret)")
	}
	c.SlackWebhookURL = Secret{l.str("slackWebhookUrl")}
	if v := c.SlackWebhookURL.value; v != "" && !isHTTPSURL(v) {
		l.failf("slackWebhookUrl is not an https:// URL with a host (value hidden: it is a secret)")
	}
	c.SlackChannel = l.str("slackChannel")
	if c.SlackChannel != "" && !slackChannelRe.MatchString(c.SlackChannel) {
		l.failf("slackChannel %q is not a Slack channel name such as #alerts", c.SlackChannel)
	}
	if c.SlackChannel != "" && c.SlackWebhookURL.value == "" {
		l.failf("slackChannel %q is set but slackWebhookUrl is not: Slack needs the webhook URL", c.SlackChannel)
	}
	c.PagerDutyRoutingKey = Secret{l.str("pagerDutyRoutingKey")}
	if v := c.PagerDutyRoutingKey.value; v != "" && !pagerDutyKeyRe.MatchString(v) {
		l.failf("pagerDutyRoutingKey is not a PagerDuty Events API v2 integration key (32 letters and digits; value hidden: it is a secret)")
	}
}

// HasReceiver reports whether any alert reaches a person or a system.
func (c *Config) HasReceiver() bool {
	if len(c.AlertEmails) > 0 || len(c.AlertHTTPSEndpoints) > 0 || c.AlertWebhookURL.value != "" ||
		c.SlackWebhookURL.value != "" || c.PagerDutyRoutingKey.value != "" {
		return true
	}
	for _, s := range c.Shards {
		if len(s.AlertEmails) > 0 {
			return true
		}
	}
	return false
}

// uniqueEmails refuses an address subscribed twice (at the stack and in a
// shard, or in two shards): SNS keeps one subscription per address and
// topic, so the second, with another filter, would fail at deploy.
func (l *loader) uniqueEmails(stack []string, shards []Shard) {
	where := map[string]string{}
	for i, e := range stack {
		where[strings.ToLower(e)] = fmt.Sprintf("alertEmails[%d]", i)
	}
	for i, s := range shards {
		for j, e := range s.AlertEmails {
			path := fmt.Sprintf("shards[%d].alertEmails[%d]", i, j)
			if prev, dup := where[strings.ToLower(e)]; dup {
				l.failf("%s %q is already subscribed as %s: an address can subscribe to the alert topic once (the stack's list gets every shard's alerts)", path, e, prev)
				continue
			}
			where[strings.ToLower(e)] = path
		}
	}
}

// list reads a list of strings (see items) and refuses repeated entries.
func (l *loader) list(name string) []string {
	items := l.items(name)
	out := make([]string, 0, len(items))
	seen := map[string]bool{}
	for i, it := range items {
		if seen[it] {
			l.failf("%s[%d] %q is listed twice", name, i, it)
			continue
		}
		seen[it] = true
		out = append(out, it)
	}
	return out
}

func isHTTPSURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Hostname() != "" && !strings.ContainsAny(s, " \n\r\t")
}
