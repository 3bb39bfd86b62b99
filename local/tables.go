package local

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scopegate/scopegate/cloudassembly"
	"github.com/scopegate/scopegate/local/cfn"
	"github.com/scopegate/scopegate/local/dynalite"
)

// tableSpec is what of an AWS::DynamoDB::Table (or GlobalTable) dynalite
// gets: keys, attribute definitions, indexes, and TTL.
type tableSpec struct {
	TableName              any
	AttributeDefinitions   []types.AttributeDefinition
	KeySchema              []types.KeySchemaElement
	GlobalSecondaryIndexes []struct {
		IndexName  string
		KeySchema  []types.KeySchemaElement
		Projection types.Projection
	}
	LocalSecondaryIndexes []struct {
		IndexName  string
		KeySchema  []types.KeySchemaElement
		Projection types.Projection
	}
	TimeToLiveSpecification *struct {
		AttributeName string
		Enabled       bool
	}
}

// startTables starts dynalite when the assembly has tables and creates each
// table from its template definition (on demand: capacity settings are not
// emulated).
func (e *Emulator) startTables(ctx context.Context) error {
	type table struct {
		s  *cloudassembly.Stack
		t  *cloudassembly.Template
		id string
		r  cloudassembly.Resource
	}
	var tables []table
	for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"} {
		e.each(typ, func(s *cloudassembly.Stack, t *cloudassembly.Template, id string, r cloudassembly.Resource) {
			tables = append(tables, table{s, t, id, r})
		})
	}
	if len(tables) == 0 {
		return nil
	}
	var err error
	if e.dynamo, err = dynalite.Start(dynalite.Options{DataDir: e.opts.DataDir}); err != nil {
		return err
	}
	for _, tb := range tables {
		raw, _ := json.Marshal(tb.r.Properties)
		var spec tableSpec
		if err := json.Unmarshal(raw, &spec); err != nil || len(spec.KeySchema) == 0 {
			e.notEmulated(tb.s, tb.id, tb.r.Type, "its key schema could not be read")
			continue
		}
		name := e.str(tb.s, tb.t, spec.TableName)
		if name == "" {
			ref, _ := e.eval.String(tb.s, tb.t, map[string]any{"Ref": tb.id})
			name = ref
		}
		in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: spec.AttributeDefinitions, KeySchema: spec.KeySchema}
		for _, g := range spec.GlobalSecondaryIndexes {
			in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{IndexName: aws.String(g.IndexName), KeySchema: g.KeySchema, Projection: &g.Projection})
		}
		for _, l := range spec.LocalSecondaryIndexes {
			in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, types.LocalSecondaryIndex{IndexName: aws.String(l.IndexName), KeySchema: l.KeySchema, Projection: &l.Projection})
		}
		if spec.TimeToLiveSpecification != nil && spec.TimeToLiveSpecification.Enabled {
			e.notEmulated(tb.s, tb.id, tb.r.Type+" TimeToLiveSpecification", "dynalite has no time to live: items past "+spec.TimeToLiveSpecification.AttributeName+" stay")
		}
		if err := e.dynamo.CreateTable(ctx, in); err != nil {
			return fmt.Errorf("local: %s/%s: %w", tb.s.StackName, tb.id, err)
		}
		arn := cfn.LocalARN("AWS::DynamoDB::Table", "table/"+name)
		e.eval.Set(tb.t, tb.id, cfn.Values{Ref: name, Attrs: map[string]string{"Arn": arn, "StreamArn": arn + "/stream/local"}})
	}
	return nil
}
