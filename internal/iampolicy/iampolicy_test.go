package iampolicy

import "testing"

func TestAssumeRole(t *testing.T) {
	want := `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"}}],"Version":"2012-10-17"}`
	if got := AssumeRole("ec2.amazonaws.com"); got != want {
		t.Fatalf("got %s", got)
	}
}
