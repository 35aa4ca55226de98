package main

import (
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite ../test/backend/testdata/state-grants.json")

const grantsFile = "../test/backend/testdata/state-grants.json"

// test/backend replays a real `pulumi preview` and `pulumi up` against the
// dev roles' S3 grants from this file; it must be what the program renders.
func TestStateGrantsFileIsCurrent(t *testing.T) {
	bucketARN, o := "arn:aws:s3:::${bucket}", stackObjects{"${project}", "dev"}
	grants := map[string][]statement{
		"preview-dev": previewStateStatements(bucketARN, o),
		"deploy-dev":  deployStateStatements(bucketARN, o),
	}
	want, err := json.MarshalIndent(grants, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile(grantsFile, want, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(grantsFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%s is stale: run go test ./bootstrap -run TestStateGrantsFileIsCurrent -update", grantsFile)
	}

	// And the roles really carry those statements.
	m := mustRun(t)
	devObjects := stackObjects{stackProject, "dev"}
	for role, wantSts := range map[string][]statement{
		"promfed-ci-preview-dev-state": previewStateStatements("arn:aws:s3:::"+testBucket, devObjects),
		"promfed-ci-deploy-dev-state":  deployStateStatements("arn:aws:s3:::"+testBucket, devObjects),
	} {
		doc := managedPolicies(t, m)[role]
		if len(doc.Statement) < len(wantSts) {
			t.Fatalf("%s has %d statements", role, len(doc.Statement))
		}
		for i, st := range wantSts {
			got := doc.Statement[i]
			if got.Sid != st.Sid || !reflect.DeepEqual(got.Action, st.Action) || !reflect.DeepEqual(got.Resource, st.Resource) {
				t.Errorf("%s statement %d = %+v, want %+v", role, i, got, st)
			}
		}
	}
}
