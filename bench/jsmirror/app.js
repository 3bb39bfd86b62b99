// bench/scaleapp written the way a JavaScript CDK user would write it, so that
// make bench-mirror can compare what synthesizing the same templates costs a
// Go user and a JavaScript user (issue 20). It reads the same context keys
// (scale:clients, scale:routes) and builds the same stack "Scale" with the
// constructs of scopegate.js:
//
//   cdk synth --app "node bench/jsmirror/app.js" -c scale:clients=1000 -c scale:routes=300 \
//     -c mirror:goAssembly=<the Go app's cdk.out>
//
// The functions are Go: this app does not bundle them, it reuses the bundles
// the Go app left in its assembly (mirror:goAssembly; see GoBundle in
// scopegate.js).
'use strict';

const path = require('path');

const cdk = require('aws-cdk-lib');
const dynamodb = require('aws-cdk-lib/aws-dynamodb');

const { authServer, contextInt, goBundles, goFunction, newApp, repoRoot, scopedAPI } = require('./scopegate');

const SCOPE_COUNT = 50;

function main() {
  const app = newApp();
  const clients = contextInt(app, 'scale:clients', 1);
  const routes = contextInt(app, 'scale:routes', 10);
  const bundles = goBundles(app.node.tryGetContext('mirror:goAssembly'), ['Scale']);
  const root = repoRoot();

  const stack = new cdk.Stack(app, 'Scale', {
    description: `scopegate scale test: ${clients} clients, ${routes} routes`,
  });
  const server = { identifier: 'scale-api', name: 'Scale test API', scopes: [] };
  for (let i = 0; i < SCOPE_COUNT; i++) {
    const name = `s${String(i).padStart(2, '0')}`;
    server.scopes.push({ server: server.identifier, name, description: `scope ${name}` });
  }
  const scopes = server.scopes;
  const clientProps = [];
  for (let j = 1; j <= clients; j++) {
    clientProps.push({
      name: `partner-${String(j).padStart(4, '0')}`,
      scopes: [scopes[j % SCOPE_COUNT], scopes[(j + 1) % SCOPE_COUNT]],
    });
  }
  const auth = authServer(stack, 'Auth', { resourceServers: [server], clients: clientProps, disposable: true, bundles, root });

  // The same service as stacks/service.go builds.
  const table = new dynamodb.Table(stack, 'Events', {
    partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    deletionProtection: false,
    removalPolicy: cdk.RemovalPolicy.DESTROY,
  });
  const service = goFunction(stack, 'Service', {
    bundles,
    entry: path.join(root, 'lambda', 'weatherevents'),
    moduleDir: root,
    description: 'weather-events service behind the scale test API',
    environment: { TABLE_NAME: table.tableName },
    disposable: true,
  });
  // weather.DynamoActions
  table.grant(service.role, 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:DeleteItem');

  const methods = ['GET', 'POST', 'DELETE'];
  const routeList = [];
  for (let i = 0; i < routes; i++) {
    const s = scopes[i % SCOPE_COUNT];
    routeList.push({ method: methods[i % 3], path: `/r${Math.floor(i / 3)}`, scopes: [`${s.server}/${s.name}`] });
  }
  scopedAPI(stack, 'Api', { auth, handler: service.fn, routes: routeList, disposable: true });

  app.synth();
}

main();
