// Package nagmeta writes cdk-nag suppressions as the metadata cdk-nag reads
// ("cdk_nag": {"rules_to_suppress": [...]}) without importing cdk-nag: the
// constructs only record why a rule does not fit, and a consumer who never
// runs cdk-nag should not compile it (or start its Node.js package) for that.
package nagmeta

import (
	"encoding/json"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// MetadataKey is the resource metadata key cdk-nag reads suppressions from.
const MetadataKey = "cdk_nag"

// Rule is one suppressed cdk-nag rule with the reason it does not apply.
// AppliesTo narrows it to some findings of the rule, as cdk-nag's appliesTo;
// AppliesToPattern to findings matching a regular expression ("/.../"), for
// findings that name a logical id.
type Rule struct {
	ID               string
	Reason           string
	AppliesTo        []string
	AppliesToPattern []string
}

// metadata is the rule as cdk-nag stores it.
func (r Rule) metadata() map[string]any {
	m := map[string]any{"id": r.ID, "reason": r.Reason}
	var applies []any
	for _, a := range r.AppliesTo {
		applies = append(applies, a)
	}
	for _, p := range r.AppliesToPattern {
		applies = append(applies, map[string]any{"regex": p})
	}
	if len(applies) > 0 {
		m["applies_to"] = applies
	}
	return m
}

// Suppress records rules on c's CloudFormation resource (c itself or its
// default child), and with children on every resource below c, as cdk-nag's
// NagSuppressions.addResourceSuppressions does. Reasons must be ASCII: cdk-nag
// base64-encodes any other reason, which this does not.
//
// Each resource costs two jsii calls (its metadata read and written, since
// something else may have suppressed rules on it already); with children the
// resources are told apart from the other constructs in Go, by the type jsii
// gives each, and an L2's default child is among them, so no construct below
// c is asked for its node or default child.
func Suppress(c constructs.IConstruct, children bool, rules ...Rule) {
	var resources []awscdk.CfnResource
	if children {
		for _, t := range *c.Node().FindAll(constructs.ConstructOrder_PREORDER) {
			if r, ok := t.(awscdk.CfnResource); ok {
				resources = append(resources, r)
			}
		}
	} else if r, ok := c.(awscdk.CfnResource); ok {
		resources = append(resources, r)
	} else if r, ok := c.Node().DefaultChild().(awscdk.CfnResource); ok {
		resources = append(resources, r)
	}
	key := jsii.String(MetadataKey)
	for _, r := range resources {
		r.AddMetadata(key, merge(r.GetMetadata(key), rules))
	}
}

// Metadata is the value of MetadataKey that suppresses rules, for a resource
// written as a template rather than created as a construct.
func Metadata(rules ...Rule) map[string]any {
	return merge(nil, rules)
}

// merge adds rules to existing cdk_nag metadata, once each.
func merge(existing any, rules []Rule) map[string]any {
	var list []any
	seen := map[string]bool{}
	add := func(r any) {
		key, _ := json.Marshal(r)
		if !seen[string(key)] {
			seen[string(key)] = true
			list = append(list, r)
		}
	}
	if m, ok := existing.(map[string]any); ok {
		if old, ok := m["rules_to_suppress"].([]any); ok {
			for _, r := range old {
				add(r)
			}
		}
	}
	for _, r := range rules {
		var generic map[string]any
		data, _ := json.Marshal(r.metadata())
		_ = json.Unmarshal(data, &generic)
		add(generic)
	}
	return map[string]any{"rules_to_suppress": list}
}
