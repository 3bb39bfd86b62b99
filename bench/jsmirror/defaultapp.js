// The repository's own app (main.go: the stacks WeatherEvents and
// ThirdPartyProxy of stacks/, with cdk.json's configuration) written the way
// a JavaScript CDK user would write it, with the constructs of scopegate.js,
// so that make bench-mirror can compare what synthesizing the default app
// costs in Go and in JavaScript. It mirrors the default configuration only:
// cdk.json without a "scopegate" key.
//
//   cdk synth --app "node bench/jsmirror/defaultapp.js" -c mirror:goAssembly=<the Go app's cdk.out>
'use strict';

const path = require('path');

const cdk = require('aws-cdk-lib');
const apigateway = require('aws-cdk-lib/aws-apigateway');
const dynamodb = require('aws-cdk-lib/aws-dynamodb');

const { authServer, goBundles, goFunction, newApp, repoRoot, scopedAPI, suppress } = require('./scopegate');

// stacks.newWeatherService and serveWeatherEvents: the tables, the function
// and the scoped API in front of it.
function serveWeatherEvents(stack, auth, stageName, routes, bundles, root) {
  const table = new dynamodb.Table(stack, 'Events', {
    partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    removalPolicy: cdk.RemovalPolicy.RETAIN,
  });
  const keys = new dynamodb.Table(stack, 'IdempotencyKeys', {
    partitionKey: { name: 'key', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: 'expiresAt', // weather.TTLAttribute
    removalPolicy: cdk.RemovalPolicy.DESTROY,
  });
  suppress(keys, false, {
    id: 'AwsSolutions-DDB3',
    reason: 'The table only holds idempotency keys that expire after 24 hours; restoring them from a backup would bring back keys that should be gone.',
  });
  const service = goFunction(stack, 'Service', {
    bundles,
    entry: path.join(root, 'lambda', 'weatherevents'),
    moduleDir: root,
    description: 'weather-events service behind the scoped API',
    environment: { TABLE_NAME: table.tableName, IDEMPOTENCY_TABLE_NAME: keys.tableName },
  });
  table.grant(service.role, 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:DeleteItem'); // weather.DynamoActions
  keys.grant(service.role, 'dynamodb:PutItem', 'dynamodb:GetItem'); // weather.KeyActions
  suppress(service.fn, false, {
    id: 'Serverless-LambdaDLQ',
    reason: 'API Gateway invokes the function synchronously and gets its errors; a dead-letter queue only receives failed asynchronous invocations.',
  });
  scopedAPI(stack, 'Api', { auth, handler: service.fn, routes, stageName, outputs: true });
}

// stacks.eventSchema, its keys in the order the Go bindings hand a struct
// over (sorted): the model is part of the deployment's logical id.
function eventSchema() {
  const date = { pattern: '^\\d{4}-\\d{2}-\\d{2}$', type: apigateway.JsonSchemaType.STRING };
  return {
    additionalProperties: false,
    properties: {
      dateEnd: date,
      dateStart: date,
      name: { maxLength: 200, minLength: 1, type: apigateway.JsonSchemaType.STRING }, // weather.MaxNameLength
    },
    required: ['name', 'dateStart', 'dateEnd'],
    schema: apigateway.JsonSchemaVersion.DRAFT4,
    title: 'NewWeatherEvent',
    type: apigateway.JsonSchemaType.OBJECT,
  };
}

function resourceServer(identifier, name, scopes) {
  return { identifier, name, scopes: scopes.map(([n, description]) => ({ server: identifier, name: n, description })) };
}

function main() {
  const app = newApp();
  if (app.node.tryGetContext('scopegate') !== undefined) {
    throw new Error('jsmirror: defaultapp.js mirrors the default configuration only; cdk.json has a "scopegate" key');
  }
  const bundles = goBundles(app.node.tryGetContext('mirror:goAssembly'), ['WeatherEvents', 'ThirdPartyProxy']);
  const root = repoRoot();
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  const env = account && region ? { account, region } : undefined;

  // stacks.NewWeatherEventsStack
  const weather = new cdk.Stack(app, 'WeatherEvents', { env, description: 'scopegate: weather-events API behind machine-to-machine OAuth 2.0' });
  const weatherAPI = resourceServer('weather-api', 'Weather events API', [
    ['get', 'List weather events'], ['post', 'Create weather events'], ['delete', 'Delete weather events']]);
  const [get, post, del] = weatherAPI.scopes.map((s) => `${s.server}/${s.name}`);
  const weatherAuth = authServer(weather, 'Auth', {
    resourceServers: [weatherAPI],
    clients: [{ name: 'weather-service', scopes: [weatherAPI.scopes[0], weatherAPI.scopes[1]] }],
    bundles,
    root,
  });
  serveWeatherEvents(weather, weatherAuth, 'weather', [
    { method: 'GET', path: '/', scopes: [get] },
    { method: 'POST', path: '/', scopes: [post], bodySchema: eventSchema() },
    { method: 'GET', path: '/{id}', scopes: [get] },
    { method: 'DELETE', path: '/{id}', scopes: [del] },
  ], bundles, root);

  // stacks.NewThirdPartyProxyStack
  const proxy = new cdk.Stack(app, 'ThirdPartyProxy', { env, description: 'scopegate: third-party proxy API behind machine-to-machine OAuth 2.0' });
  const proxyAPI = resourceServer('default', 'Custom default resource server', [['default', 'Custom default scope']]);
  const proxyAuth = authServer(proxy, 'Auth', {
    resourceServers: [proxyAPI],
    clients: [{ name: 'ThirdPartyAppClient', scopes: [proxyAPI.scopes[0]] }],
    bundles,
    root,
  });
  const scope = 'default/default';
  serveWeatherEvents(proxy, proxyAuth, '', [
    { method: 'ANY', path: '/', scopes: [scope] },
    { method: 'ANY', path: '/{proxy+}', scopes: [scope] },
  ], bundles, root);

  app.synth();
}

main();
