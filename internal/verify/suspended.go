package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/suspensions"
)

// suspendedTableSuffix ends the name of every AuthServer's
// suspended-clients table output (contract.SuspendedClientsTable).
var suspendedTableSuffix = contract.SuspendedClientsTable("")

// checkSuspensions: a client suspended without a deploy (an item of the
// deployed stack's suspended-clients table, which bin/clients suspend
// writes) must be suspended in the configuration about to be deployed too
// (its record in the synthesized clients output says "suspended": true).
// Otherwise the deploy would restore what the command turned off: the
// template enables the client's API key and its OAuth flows, and the
// suspension would hang on the table alone. One problem line per such
// client, naming who suspended it and when, and the two ways out.
func (p *Preflight) checkSuspensions(ctx context.Context, a *Assembly) []Check {
	var out []Check
	for _, s := range a.Stacks {
		if len(s.Templates) == 0 {
			continue
		}
		top := s.Templates[0]
		var outputKeys []string
		for k := range top.Outputs {
			outputKeys = append(outputKeys, k)
		}
		sort.Strings(outputKeys)
		for _, key := range outputKeys {
			prefix, ok := strings.CutSuffix(key, suspendedTableSuffix)
			if !ok {
				continue
			}
			out = append(out, p.checkSuspensionsOf(ctx, s, top, prefix)...)
		}
	}
	if len(out) == 0 {
		out = append(out, Check{Name: "suspended-clients", Status: StatusOK, Detail: "no suspended-clients table in the assembly"})
	}
	return out
}

func (p *Preflight) checkSuspensionsOf(ctx context.Context, s *AssemblyStack, top *Template, prefix string) []Check {
	name := "suspended-clients " + s.StackName
	if prefix != contract.DefaultAuthPrefix {
		name += " (" + prefix + ")"
	}
	ch := Check{Name: name, Expected: "every client suspended without a deploy is suspended in the configuration"}
	records, err := synthesizedClients(s, top, contract.Clients(prefix))
	if err != nil {
		ch.Status, ch.Detail = StatusUnknown, err.Error()
		return []Check{ch}
	}
	outputs, err := ReadOutputs(ctx, p.CloudFormation, s.StackName)
	switch {
	case err != nil && stackMissing(err):
		ch.Status, ch.Detail = StatusOK, "the stack is not deployed yet: nobody can have suspended a client"
		return []Check{ch}
	case err != nil:
		ch.Status, ch.Detail = StatusUnknown, why("cloudformation DescribeStacks "+s.StackName, err)
		return []Check{ch}
	}
	table := outputs[contract.SuspendedClientsTable(prefix)]
	if table == "" {
		ch.Status, ch.Detail = StatusOK, "the deployed stack has no suspended-clients table yet"
		return []Check{ch}
	}
	if p.DynamoDB == nil {
		ch.Status, ch.Detail = StatusUnknown, "no DynamoDB client to read table "+table
		return []Check{ch}
	}
	items, err := suspensions.List(ctx, p.DynamoDB, table)
	if err != nil {
		ch.Status, ch.Detail = StatusUnknown, why("dynamodb Scan "+table, err)
		return []Check{ch}
	}
	configured := map[string]contract.ClientRecord{}
	for _, r := range records {
		configured[r.Name] = r
	}
	var problems []Check
	var notes []string
	for _, it := range items {
		rec, inConfig := configured[it.ClientName]
		switch {
		case !inConfig:
			notes = append(notes, fmt.Sprintf("%s (%s) is suspended in table %s but no longer configured: the deploy deletes it; `bin/clients resume` before the deploy removes the item", it.ClientName, it.ClientID, table))
		case !rec.Suspended:
			problems = append(problems, Check{
				Name: name + ": " + it.ClientName, Status: StatusProblem,
				Expected: "suspended in the configuration",
				Seen:     fmt.Sprintf("suspended without a deploy by %s at %s (%s); the configuration does not suspend it", it.By, it.At, it.Reason),
				Detail: fmt.Sprintf(`the deploy would re-enable its API key and token issuance: set "suspended": true on client %q in cdk.json (clients[]), or run bin/clients resume -stack %s -client %s`,
					it.ClientName, s.StackName, it.ClientName),
			})
		}
	}
	if len(problems) > 0 {
		return problems
	}
	ch.Status = StatusOK
	ch.Seen = fmt.Sprintf("%d client(s) in table %s", len(items), table)
	ch.Detail = strings.Join(notes, "; ")
	return []Check{ch}
}

// synthesizedClients reads the clients output of the template as
// synthesized: a JSON list spelled as Fn::Join of literal text, values
// CloudFormation fills in at deploy (the client id, the secret's ARN), and
// Fn::GetAtt of a nested stack's output, followed into that stack. Only the
// literal parts are known before the deploy (name, scopes, tier,
// suspended); the rest reads as "<deploy-time>".
func synthesizedClients(s *AssemblyStack, top *Template, output string) ([]contract.ClientRecord, error) {
	o, ok := top.Outputs[output]
	if !ok {
		return nil, fmt.Errorf("the template has no %s output", output)
	}
	text := renderIntrinsic(s, top, o.Value)
	var records []contract.ClientRecord
	if err := json.Unmarshal([]byte(text), &records); err != nil {
		return nil, fmt.Errorf("the synthesized %s output is not a JSON list of clients: %v", output, err)
	}
	return records, nil
}

const deployTime = "<deploy-time>"

// renderIntrinsic spells a template value as text: strings as they are,
// Fn::Join joined, Fn::GetAtt of a nested stack's Outputs.X as that
// output's value in the nested template; anything else is deployTime.
func renderIntrinsic(s *AssemblyStack, t *Template, v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if join, ok := x["Fn::Join"].([]any); ok && len(join) == 2 {
			sep, _ := join[0].(string)
			parts, _ := join[1].([]any)
			texts := make([]string, len(parts))
			for i, part := range parts {
				texts[i] = renderIntrinsic(s, t, part)
			}
			return strings.Join(texts, sep)
		}
		if att, ok := x["Fn::GetAtt"].([]any); ok && len(att) == 2 {
			id, _ := att[0].(string)
			attr, _ := att[1].(string)
			if name, ok := strings.CutPrefix(attr, "Outputs."); ok {
				for _, child := range s.Templates {
					if child.Parent == t && child.ParentID == id {
						if o, ok := child.Outputs[name]; ok {
							return renderIntrinsic(s, child, o.Value)
						}
					}
				}
			}
		}
	}
	return deployTime
}
