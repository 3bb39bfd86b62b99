package scopedapi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/routetable"
)

// binding is what one function re-checks: the route tables of the ScopedAPIs
// that hand it theirs, each in its own layer file. It lives on the construct
// tree, as a child of the function (bindingID), so that what one app built
// never leaks into another built in the same process.
type binding struct {
	constructs.Construct
	apis   []string
	shared bool
	tables []routetable.Table
	files  []string
}

// ToString is a method jsii can call on the construct, which it needs to
// keep this Go value behind the child it finds again.
func (b *binding) ToString() *string { return jsii.String("scopegate route tables") }

// bindingID is the id of the function's binding child. It creates no
// resource: templates do not change.
const bindingID = "ScopegateRouteTables"

// bindingOf is fn's binding, nil when no ScopedAPI handed fn a table yet.
func bindingOf(fn awslambda.Function) *binding {
	b, _ := fn.Node().TryFindChild(jsii.String(bindingID)).(*binding)
	return b
}

// checkHandOver reports whether the function behind handler may take the
// table, before anything is created: a function re-checks one API's table
// unless every ScopedAPI that shares it asked for the union.
func checkHandOver(handler awslambda.IFunction, table routetable.Table, shared bool) (awslambda.Function, error) {
	fn, err := functionOf(handler)
	if err != nil {
		return nil, err
	}
	if b := bindingOf(fn); b != nil {
		if !b.shared || !shared {
			return nil, fmt.Errorf("scopedapi: Handler %s already re-checks the route table of %s: a function serves one API's routes unless every ScopedAPI that shares it sets SharedHandler (it then re-checks the union), or give this API its own function",
				*fn.Node().Path(), strings.Join(b.apis, ", "))
		}
		if _, err := routetable.Merge(append(b.tables, table)...); err != nil {
			return nil, fmt.Errorf("scopedapi: Handler %s is shared with %s, whose route table disagrees with this one: %w", *fn.Node().Path(), strings.Join(b.apis, ", "), err)
		}
	}
	return fn, nil
}

// handOver gives fn the route table in a layer (checkHandOver said it may).
func (a *ScopedAPI) handOver(fn awslambda.Function, table routetable.Table, shared bool) (awslambda.LayerVersion, error) {
	b := bindingOf(fn)
	if b == nil {
		b = &binding{shared: shared}
		constructs.NewConstruct_Override(b, fn, jsii.String(bindingID))
	}
	layer, file, err := a.routeTableLayer(table)
	if err != nil {
		return nil, err
	}
	b.apis = append(b.apis, *a.Node().Path())
	b.tables = append(b.tables, table)
	b.files = append(b.files, file)
	fn.AddLayers(layer)
	fn.AddEnvironment(jsii.String(routetable.FileEnvVar), jsii.String(strings.Join(b.files, string(os.PathListSeparator))), nil)
	return layer, nil
}

// functionOf is the awslambda.Function that can carry the layer: the
// handler itself, or the function behind an alias or a version (whose
// CurrentVersion then includes the layer).
func functionOf(handler awslambda.IFunction) (awslambda.Function, error) {
	switch h := handler.(type) {
	case awslambda.Function:
		return h, nil
	case awslambda.Alias:
		if fn, ok := h.Version().Lambda().(awslambda.Function); ok {
			return fn, nil
		}
	case awslambda.Version:
		if fn, ok := h.Lambda().(awslambda.Function); ok {
			return fn, nil
		}
	}
	return nil, fmt.Errorf("scopedapi: Handler %s cannot take the route table: only an awslambda.Function (or an Alias or Version of one built in this app) can be given a layer. "+
		"For an imported function set RouteTableDelivery: scopedapi.RouteTableByYou and ship ScopedAPI.RouteTable with it (routetable.Table.Encode writes what routetable.Load reads)",
		*handler.Node().Path())
}

// routeTableLayer writes the table into a layer asset, under the assembly's
// asset directory and named by its digest, so that synthesis stays
// deterministic and leaves nothing behind elsewhere.
func (a *ScopedAPI) routeTableLayer(table routetable.Table) (awslambda.LayerVersion, string, error) {
	data := table.Encode()
	sum := sha256.Sum256(data)
	name := "routes-" + hex.EncodeToString(sum[:8]) + ".json"
	dir := filepath.Join(*awscdk.Stage_Of(a.Construct).AssetOutdir(), "scopegate-"+strings.TrimSuffix(name, ".json"))
	if err := os.MkdirAll(filepath.Join(dir, routetable.LayerDir), 0o755); err != nil {
		return nil, "", fmt.Errorf("scopedapi: writing the route table: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, routetable.LayerDir, name), data, 0o644); err != nil {
		return nil, "", fmt.Errorf("scopedapi: writing the route table: %w", err)
	}
	layer := awslambda.NewLayerVersion(a.Construct, jsii.String("RouteTable"), &awslambda.LayerVersionProps{
		Code:        awslambda.Code_FromAsset(jsii.String(dir), nil),
		Description: jsii.String("scopegate route table of " + *a.Node().Path() + ": the scopes of each route, re-checked by the function"),
	})
	return layer, routetable.LayerFile(name), nil
}
