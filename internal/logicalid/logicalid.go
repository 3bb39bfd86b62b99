// Package logicalid computes the logical id that aws-cdk-lib gives a
// CloudFormation resource from its construct path inside its stack, so that
// Go code can name a resource in a template (a Ref, a Fn::GetAtt) without
// asking the CDK for a token: each such question is a round trip to the jsii
// kernel.
//
// It is makeUniqueId of aws-cdk-lib (core/lib/private/uniqueid.ts), called by
// Stack.allocateLogicalId with the ids of the constructs between the stack
// (excluded) and the resource (included). A stack that overrides
// allocateLogicalId, or a resource renamed with overrideLogicalId or
// Stack.renameLogicalId, gets another id: callers use this only for resources
// they create themselves, under stacks they create themselves.
package logicalid

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
)

// The constants of makeUniqueId.
const (
	// hiddenID components are left out of the id entirely (and of its hash).
	hiddenID = "Default"
	// hiddenFromHumanID components are hashed but left out of the readable
	// part: an L2's main resource is "<L2 id>/Resource".
	hiddenFromHumanID = "Resource"
	hashLen           = 8
	maxHumanLen       = 240
	maxIDLen          = 255
)

// FromPath returns the logical id of the resource whose construct ids, from
// just under its stack down to the resource itself, are components. It
// returns an error for an empty path (after dropping "Default" components)
// or a component holding an unresolved CDK token, which the CDK refuses too.
func FromPath(components ...string) (string, error) {
	kept := make([]string, 0, len(components))
	for _, c := range components {
		if c != hiddenID {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return "", fmt.Errorf("logicalid: no path components left once %q ones are dropped: %q", hiddenID, components)
	}
	for _, c := range kept {
		if strings.Contains(c, "${Token[") {
			return "", fmt.Errorf("logicalid: path component %q holds an unresolved CDK token", c)
		}
	}
	if len(kept) == 1 {
		if candidate := removeNonAlphanumeric(kept[0]); len(candidate) <= maxIDLen {
			return candidate, nil
		}
	}
	var human strings.Builder
	for _, c := range removeDupes(kept) {
		if c != hiddenFromHumanID {
			human.WriteString(removeNonAlphanumeric(c))
		}
	}
	readable := human.String()
	if len(readable) > maxHumanLen {
		readable = readable[:maxHumanLen]
	}
	return readable + pathHash(kept), nil
}

// Must is FromPath for paths built by the caller, which cannot be empty or
// hold tokens; it panics otherwise.
func Must(components ...string) string {
	id, err := FromPath(components...)
	if err != nil {
		panic(err)
	}
	return id
}

// pathHash is the first eight hex digits, upper case, of the MD5 of the
// components joined by "/" (Node's crypto hashes a JavaScript string as
// UTF-8, as Go's strings are).
func pathHash(components []string) string {
	sum := md5.Sum([]byte(strings.Join(components, "/")))
	return strings.ToUpper(hex.EncodeToString(sum[:])[:hashLen])
}

// removeNonAlphanumeric keeps only [A-Za-z0-9].
func removeNonAlphanumeric(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// removeDupes drops a component that the last kept one ends with ("Foo",
// "Foo" and "BarFoo", "Foo" keep only the first), as makeUniqueId does, so
// that "Bucket/Bucket" reads "Bucket".
func removeDupes(components []string) []string {
	var kept []string
	for _, c := range components {
		if len(kept) == 0 || !strings.HasSuffix(kept[len(kept)-1], c) {
			kept = append(kept, c)
		}
	}
	return kept
}
