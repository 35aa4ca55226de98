package backend

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"strings"
	"sync"
)

// The fake S3 stands in for IAM too: requests signed with an access key
// that has a grant are checked against it, the way AWS evaluates an
// identity policy, and refused with 403 AccessDenied when no statement
// allows them. The grants are the CI roles' S3 statements exactly as
// bootstrap/ renders them (testdata/state-grants.json, kept current by a
// bootstrap test), so a preview or update that passes here passes with
// the real roles, and one that needs more than the role has fails.

// grantStatement is the part of an IAM statement the guard evaluates.
type grantStatement struct {
	Sid       string                    `json:"Sid"`
	Effect    string                    `json:"Effect"`
	Action    []string                  `json:"Action"`
	Resource  []string                  `json:"Resource"`
	Condition map[string]map[string]any `json:"Condition"`
}

// loadGrants reads the roles' S3 statements with the placeholders
// ${bucket} and ${project} filled in.
func loadGrants(bucket, project string) (map[string][]grantStatement, error) {
	raw, err := os.ReadFile("testdata/state-grants.json")
	if err != nil {
		return nil, err
	}
	text := strings.NewReplacer("${bucket}", bucket, "${project}", project).Replace(string(raw))
	var out map[string][]grantStatement
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		return nil, fmt.Errorf("testdata/state-grants.json: %w", err)
	}
	return out, nil
}

// s3Request is one request as IAM sees it.
type s3Request struct {
	KeyID, Method, Action, Resource, Prefix string
	Allowed                                 bool
	Statement                               string // Sid of the allowing statement
}

func (r s3Request) String() string {
	s := r.Method + " " + r.Action + " " + r.Resource
	if r.Prefix != "" {
		s += " prefix=" + r.Prefix
	}
	return s
}

// guard wraps the fake S3 handler.
type guard struct {
	next   http.Handler
	bucket string
	mu     sync.Mutex
	grants map[string][]grantStatement // access key id -> statements
	log    []s3Request
}

var credentialRe = regexp.MustCompile(`Credential=([A-Z0-9]+)/`)

// classify maps a path-style request to its IAM action, resource and the
// s3:prefix condition value.
func (g *guard) classify(r *http.Request) s3Request {
	req := s3Request{Method: r.Method}
	if m := credentialRe.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		req.KeyID = m[1]
	}
	p := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ := strings.Cut(p, "/")
	bucketARN := "arn:aws:s3:::" + bucket
	q := r.URL.Query()
	switch {
	case key == "" && q.Has("location"):
		req.Action, req.Resource = "s3:GetBucketLocation", bucketARN
	case key == "" && q.Has("versions"):
		req.Action, req.Resource = "s3:ListBucketVersions", bucketARN
	case key == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		req.Action, req.Resource, req.Prefix = "s3:ListBucket", bucketARN, q.Get("prefix")
	case key == "" && r.Method == http.MethodPost && q.Has("delete"):
		// Multi-object delete: the keys are in the body; IAM checks
		// s3:DeleteObject per key, so treat it as a delete of any key.
		req.Action, req.Resource = "s3:DeleteObject", bucketARN+"/*"
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		req.Action, req.Resource = "s3:GetObject", bucketARN+"/"+key
	case r.Method == http.MethodPut:
		req.Action, req.Resource = "s3:PutObject", bucketARN+"/"+key
	case r.Method == http.MethodDelete:
		req.Action, req.Resource = "s3:DeleteObject", bucketARN+"/"+key
	default:
		req.Action, req.Resource = "s3:Unknown"+r.Method, bucketARN+"/"+key
	}
	return req
}

// glob matches IAM's * and ? wildcards.
func glob(pattern, s string) bool {
	ok, err := path.Match(strings.ReplaceAll(pattern, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00"))
	return err == nil && ok
}

// allows reports whether st allows req. Conditions other than StringLike
// and StringEquals on s3:prefix fail closed.
func allows(st grantStatement, req s3Request) bool {
	if st.Effect != "Allow" {
		return false
	}
	actionOK, resourceOK := false, false
	for _, a := range st.Action {
		actionOK = actionOK || a == req.Action
	}
	for _, res := range st.Resource {
		resourceOK = resourceOK || glob(res, req.Resource)
	}
	if !actionOK || !resourceOK {
		return false
	}
	for op, kv := range st.Condition {
		for k, v := range kv {
			if k != "s3:prefix" || (op != "StringLike" && op != "StringEquals") {
				return false
			}
			var vals []string
			switch x := v.(type) {
			case string:
				vals = []string{x}
			case []any:
				for _, e := range x {
					s, _ := e.(string)
					vals = append(vals, s)
				}
			}
			match := false
			for _, want := range vals {
				match = match || (op == "StringEquals" && want == req.Prefix) || (op == "StringLike" && glob(want, req.Prefix))
			}
			if !match {
				return false
			}
		}
	}
	return true
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := g.classify(r)
	g.mu.Lock()
	statements, guarded := g.grants[req.KeyID]
	g.mu.Unlock()
	req.Allowed = true
	if guarded {
		req.Allowed = false
		for _, st := range statements {
			if allows(st, req) {
				req.Allowed, req.Statement = true, st.Sid
				break
			}
		}
	}
	g.mu.Lock()
	g.log = append(g.log, req)
	g.mu.Unlock()
	if !req.Allowed {
		denied(w, req)
		return
	}
	if !guarded || req.Action != "s3:GetObject" {
		g.next.ServeHTTP(w, r)
		return
	}
	// S3 tells a caller that an object is missing (404) only if it may
	// list the bucket; otherwise it answers 403, as for a denied read.
	rec := httptest.NewRecorder()
	g.next.ServeHTTP(rec, r)
	list := s3Request{KeyID: req.KeyID, Action: "s3:ListBucket", Resource: "arn:aws:s3:::" + g.bucket}
	mayList := false
	for _, st := range statements {
		mayList = mayList || allows(st, list)
	}
	if rec.Code == http.StatusNotFound && !mayList {
		denied(w, req)
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func denied(w http.ResponseWriter, req s3Request) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusForbidden)
	_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>%s is not allowed %s on %s</Message></Error>`,
		req.KeyID, req.Action, req.Resource)
}

// restrict makes keyID subject to statements.
func (g *guard) restrict(keyID string, statements []grantStatement) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.grants[keyID] = statements
}

// since returns the requests signed with keyID from log index start on.
func (g *guard) since(start int, keyID string) []s3Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []s3Request
	for _, r := range g.log[start:] {
		if r.KeyID == keyID {
			out = append(out, r)
		}
	}
	return out
}

func (g *guard) mark() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.log)
}
