// Package iampolicy writes the IAM policy documents the components share.
package iampolicy

import "encoding/json"

// Statement is one IAM policy statement.
type Statement map[string]any

// Document renders a policy document.
func Document(statements ...Statement) string {
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	if err != nil {
		panic(err) // statements hold only strings, slices and maps
	}
	return string(b)
}

// AssumeRole is the trust policy that lets an AWS service assume a role.
func AssumeRole(service string) string {
	return Document(Statement{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": map[string]any{"Service": service}})
}
