package scanning

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/testmocks"
)

func TestEnablesEC2ScanningForTheAccount(t *testing.T) {
	m, err := testmocks.Run("promfed", "prod", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewInspector(ctx, "promfed-inspector", &InspectorArgs{ResourceTypes: []string{"EC2"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e := m.Named(t, "aws:inspector2/enabler:Enabler", "promfed-inspector")
	if jsonOf(e.Get("accountIds")) != `["123456789012"]` || jsonOf(e.Get("resourceTypes")) != `["EC2"]` || !strings.Contains(e.Parent, "promfed:scanning:Inspector") {
		t.Errorf("enabler %v parent %s", e.Inputs, e.Parent)
	}
}

func TestNoResourceTypeRefused(t *testing.T) {
	_, err := testmocks.Run("promfed", "prod", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewInspector(ctx, "x", &InspectorArgs{})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "at least one resource type") {
		t.Fatalf("got %v", err)
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }
