// Package tagging builds the tag maps every taggable resource carries.
package tagging

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Named returns base plus a Name tag, so consoles show which stack and role
// a resource belongs to.
func Named(base map[string]string, name string) pulumi.StringMap {
	out := pulumi.StringMap{"Name": pulumi.String(name)}
	for k, v := range base {
		out[k] = pulumi.String(v)
	}
	return out
}
