// What scopegate's Go constructs build (constructs/m2mauth, constructs/scopedapi,
// constructs/golambda), written the way a JavaScript CDK user would write it,
// for the bench's JavaScript mirrors of the Go apps (app.js of bench/scaleapp,
// defaultapp.js of the repository's own app): the same L2 constructs where the
// Go constructs use L2s, plain L1 constructors where they write L1s or include
// a template they write themselves, and the same construct ids wherever an id
// decides a logical id. Only what those two apps use is here (no tiers,
// custom domains, suspended clients or imported pools).
//
// Keeping it in step: every value here mirrors the Go constructs. When one of
// them changes a template, make bench-mirror reports the first difference of
// each template; change this file until it reports none.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const cdk = require('aws-cdk-lib');
const { Construct } = require('constructs');
const apigateway = require('aws-cdk-lib/aws-apigateway');
const cloudwatch = require('aws-cdk-lib/aws-cloudwatch');
const cognito = require('aws-cdk-lib/aws-cognito');
const dynamodb = require('aws-cdk-lib/aws-dynamodb');
const iam = require('aws-cdk-lib/aws-iam');
const lambda = require('aws-cdk-lib/aws-lambda');
const logs = require('aws-cdk-lib/aws-logs');
const secretsmanager = require('aws-cdk-lib/aws-secretsmanager');
const cxapi = require('aws-cdk-lib/cx-api');

const CLIENT_STACKS = 16; // m2mauth.DefaultClientStacks
const ACCESS_TOKEN_MINUTES = 60; // m2mauth.DefaultAccessTokenValidity
const ROTATION_DAYS = 90; // m2mauth.DefaultRotationInterval
const OVERLAP_SECONDS = 7 * 24 * 3600; // m2mauth.DefaultRotationOverlap

// --- small helpers, each the JavaScript of a Go function named beside it ---

// contract.Key: "scale-api" -> "ScaleApi".
function key(name) {
  let out = '';
  let upper = true;
  for (const c of name) {
    if (c >= 'a' && c <= 'z') {
      out += upper ? c.toUpperCase() : c;
      upper = false;
    } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      out += c;
      upper = false;
    } else {
      upper = true;
    }
  }
  return out;
}

// m2mauth.ClientShard: FNV-1a (32 bits) of the lowercased name.
function clientShard(name, shards) {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(name.toLowerCase())) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

// m2mauth.rotationRules: each client's window picked by FNV-1a (64 bits) of
// its lowercased name.
function rotationRules(days, client) {
  let pick = 0xcbf29ce484222325n;
  for (const b of Buffer.from(client.toLowerCase())) {
    pick ^= BigInt(b);
    pick = (pick * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  const next = (n) => {
    const v = Number(pick % BigInt(n));
    pick /= BigInt(n);
    return v;
  };
  const window = '2h';
  const hour = next(24 - 2 + 1);
  if (days === 1) return [`cron(0 ${hour} * * ? *)`, window];
  if (days === 7) return [`cron(0 ${hour} ? * ${1 + next(7)} *)`, window];
  if (days % 30 === 0 && 12 % (days / 30) === 0) {
    const day = 1 + next(28);
    let month = '*';
    const months = days / 30;
    if (months > 1) month = `${1 + next(months)}/${months}`;
    return [`cron(0 ${hour} ${day} ${month} ? *)`, window];
  }
  return [`rate(${days} days)`, ''];
}

// internal/nagmeta.Suppress: cdk-nag suppressions written as metadata on the
// L1 of c (and of everything under it with children).
function suppress(c, children, ...rules) {
  const targets = children ? c.node.findAll() : [c];
  for (const t of targets) {
    const l1 = t.node.defaultChild ?? t;
    if (!cdk.CfnResource.isCfnResource(l1)) continue;
    const list = [];
    const seen = new Set();
    const add = (r) => {
      const k = JSON.stringify(r);
      if (!seen.has(k)) {
        seen.add(k);
        list.push(r);
      }
    };
    for (const r of l1.getMetadata('cdk_nag')?.rules_to_suppress ?? []) add(r);
    for (const r of rules) {
      // Keys in the order nagmeta writes them (Go's encoding/json: sorted).
      const applies = [...(r.appliesTo ?? []), ...(r.appliesToPattern ?? []).map((p) => ({ regex: p }))];
      add(applies.length > 0 ? { applies_to: applies, id: r.id, reason: r.reason } : { id: r.id, reason: r.reason });
    }
    l1.addMetadata('cdk_nag', { rules_to_suppress: list });
  }
}

// --- the functions: golambda.GoFunction without bundling ---

// GoBundle is the Lambda code of a Go function as the Go app bundled it:
// the asset.<hash> directory of its assembly, under the same hash. The
// hash is golambda's own (sha256 of its source hash and the bundling
// options, which aws-cdk-lib's AssetStaging computes): lambda.Code.fromAsset
// with that hash as a custom hash would hash it once more, so the asset is
// registered with the stack's synthesizer directly, and the function's
// metadata says what AssetStaging's would (a bundled asset).
class GoBundle extends lambda.Code {
  constructor(goAssetDir) {
    super();
    this.goAssetDir = goAssetDir;
    this.hash = path.basename(goAssetDir).replace(/^asset\./, '');
    this.fileName = `asset.${this.hash}`;
  }

  bind(scope) {
    // Staged once into this assembly, as AssetStaging stages a bundle.
    const staged = path.join(cdk.Stage.of(scope).assetOutdir, this.fileName);
    if (!fs.existsSync(staged)) fs.cpSync(this.goAssetDir, staged, { recursive: true });
    const location = cdk.Stack.of(scope).synthesizer.addFileAsset({
      sourceHash: this.hash,
      fileName: this.fileName,
      packaging: cdk.FileAssetPackaging.ZIP_DIRECTORY,
    });
    return { s3Location: { bucketName: location.bucketName, objectKey: location.objectKey } };
  }

  bindToResource(resource, options = {}) {
    if (!resource.node.tryGetContext(cxapi.ASSET_RESOURCE_METADATA_ENABLED_CONTEXT)) return;
    resource.addMetadata(cxapi.ASSET_RESOURCE_METADATA_PATH_KEY, this.fileName);
    resource.addMetadata(cxapi.ASSET_RESOURCE_METADATA_IS_BUNDLED_KEY, true);
    resource.addMetadata(cxapi.ASSET_RESOURCE_METADATA_PROPERTY_KEY, options.resourceProperty ?? 'Code');
  }
}

// goBundles maps each function's construct path to its bundle in the Go
// app's assembly (the templates of the given stacks).
function goBundles(assembly, stacks) {
  if (!assembly) throw new Error("jsmirror: context mirror:goAssembly is required: the Go app's cloud assembly, whose function bundles this app reuses");
  const bundles = {};
  for (const stack of stacks) {
    const template = JSON.parse(fs.readFileSync(path.join(assembly, `${stack}.template.json`), 'utf8'));
    for (const r of Object.values(template.Resources)) {
      const m = r.Metadata ?? {};
      if (r.Type === 'AWS::Lambda::Function' && m['aws:asset:is-bundled']) {
        bundles[m['aws:cdk:path']] = path.join(assembly, m['aws:asset:path']);
      }
    }
  }
  return bundles;
}

const removal = (disposable) => (disposable ? cdk.RemovalPolicy.DESTROY : cdk.RemovalPolicy.RETAIN);

// golambda.NewGoFunction: the function, its role and log group.
function goFunction(scope, id, props) {
  const node = new Construct(scope, id);
  const logGroup = new logs.LogGroup(node, 'Logs', {
    retention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: removal(props.disposable),
  });
  const role = new iam.Role(node, 'Role', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Execution role of ${id}: its own log group, plus what the stack grants`,
  });
  logGroup.grantWrite(role);
  const bundle = props.bundles[`${node.node.path}/Resource/Resource`];
  if (!bundle) throw new Error(`jsmirror: the Go app's assembly has no bundle of ${node.node.path}`);
  const fn = new lambda.Function(node, 'Resource', {
    code: new GoBundle(bundle),
    handler: 'bootstrap',
    description: props.description,
    runtime: lambda.Runtime.PROVIDED_AL2023,
    architecture: lambda.Architecture.ARM_64,
    timeout: cdk.Duration.seconds(props.timeout ?? 10),
    memorySize: 256,
    reservedConcurrentExecutions: props.reservedConcurrency ?? 10,
    tracing: lambda.Tracing.ACTIVE,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    role,
    // In key order, as the Go bindings hand golambda's map over.
    environment: Object.fromEntries(Object.entries(props.environment).sort(([a], [b]) => (a < b ? -1 : 1))),
  });
  // Where bin/local finds the function's source (contract.FunctionSourceMetadata).
  fn.node.defaultChild.node.addMetadata('scopegate:function', { entry: props.entry, moduleDir: props.moduleDir });
  suppress(role, true, {
    id: 'AwsSolutions-IAM5',
    appliesTo: ['Resource::*'],
    reason: 'Only xray:PutTraceSegments and xray:PutTelemetryRecords (added by Tracing.ACTIVE) use Resource *: X-Ray supports no resource-level permissions for them.',
  });
  return { node, fn, role, logGroup };
}

// --- m2mauth.AuthServer ---

function authServer(stack, id, props) {
  const auth = new Construct(stack, id);
  const pool = new cognito.UserPool(auth, 'Resource', {
    selfSignUpEnabled: false,
    accountRecovery: cognito.AccountRecovery.NONE,
    featurePlan: cognito.FeaturePlan.LITE,
    deletionProtection: !props.disposable,
    removalPolicy: removal(props.disposable),
    passwordPolicy: {
      minLength: 14,
      requireLowercase: true,
      requireUppercase: true,
      requireDigits: true,
      requireSymbols: true,
      tempPasswordValidity: cdk.Duration.days(1),
    },
  });
  const poolId = pool.userPoolId;
  const servers = new Map();
  for (const r of props.resourceServers) {
    servers.set(r.identifier, pool.addResourceServer(`${key(r.identifier)}ResourceServer`, {
      identifier: r.identifier,
      userPoolResourceServerName: r.name,
      scopes: r.scopes.map((s) => new cognito.ResourceServerScope({ scopeName: s.name, scopeDescription: s.description })),
    }));
  }

  // m2mauth's derived prefix domain: the stack's name, and the last 12 hex
  // digits of the stack's CloudFormation id.
  const stackUUID = cdk.Fn.select(2, cdk.Fn.split('/', cdk.Aws.STACK_ID));
  const suffix = cdk.Fn.select(4, cdk.Fn.split('-', stackUUID));
  const domain = pool.addDomain('Domain', {
    cognitoDomain: { domainPrefix: `${prefixBase(stack.stackName)}-${suffix}` },
  });
  const tokenURL = `${domain.baseUrl()}/oauth2/token`;

  const suspended = new dynamodb.Table(auth, 'SuspendedClients', {
    partitionKey: { name: 'clientId', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: !props.disposable,
    removalPolicy: removal(props.disposable),
  });

  const rotation = rotator(auth, pool, poolId, props);

  // The clients, in the nested stack of their shard.
  const members = Array.from({ length: CLIENT_STACKS }, () => []);
  for (const c of props.clients) members[clientShard(c.name, CLIENT_STACKS)].push(c);
  const clientStacks = [];
  members.forEach((clients, n) => {
    if (clients.length === 0) return;
    const shard = String(n).padStart(2, '0');
    const nested = new cdk.NestedStack(auth, `Clients${shard}`, {
      description: `scopegate: machine clients of shard ${n} of ${CLIENT_STACKS} and their credentials`,
    });
    clientStacks.push(nested);
    const records = clients.map((c) => client(nested, c, poolId, tokenURL, rotation));
    const deps = [...new Set(clients.flatMap((c) => c.scopes.map((s) => s.server)))].map((s) => servers.get(s));
    deps.push(rotation.invoke);
    nested.node.addDependency(...deps);
    new cdk.CfnOutput(nested, 'Clients', { value: cdk.Fn.join(',', records) }).overrideLogicalId('Clients');
  });

  const alarm = tokenBudgetAlarm(auth);

  const output = (name, description, value) => {
    new cdk.CfnOutput(auth, name, { value, description }).overrideLogicalId(name);
  };
  output(`${key(id)}TokenUrl`, 'OAuth 2.0 token endpoint (client credentials grant)', tokenURL);
  output(`${key(id)}UserPoolId`, 'Cognito user pool of the machine clients (bin/clients suspend and resume change its app clients)', poolId);
  output(`${key(id)}SuspendedClientsTable`, 'DynamoDB table of the clients suspended without a deploy (bin/clients suspend)', suspended.tableName);
  const parts = clientStacks.map((s) => cdk.Token.asString(s.nestedStackResource.getAtt('Outputs.Clients', cdk.ResolutionTypeHint.STRING)));
  output(`${key(id)}Clients`, "JSON: every machine client's name, clientId, secretArn (Secrets Manager secret with its credentials), scopes and tier",
    cdk.Fn.join('', ['[', cdk.Fn.join(',', parts), ']']));

  suppress(pool, false,
    { id: 'AwsSolutions-COG2', reason: 'MFA protects user sign-in; this pool has no users and issues tokens only through the client-credentials grant, which MFA does not apply to.' },
    { id: 'AwsSolutions-COG3', reason: 'Threat protection (advanced security) evaluates user sign-ins; the client-credentials grant is not inspected by it, so the Plus plan it needs would cost money and change nothing here.' });

  return { construct: auth, pool, suspended, rotation, alarm, resourceServers: props.resourceServers };
}

// m2mauth.sanitizePrefixBase.
function prefixBase(name) {
  name = name.toLowerCase();
  for (const w of ['aws', 'amazon', 'cognito']) name = name.split(w).join('');
  let b = '';
  for (const c of name) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) b += c;
    else if (b.length > 0 && !b.endsWith('-')) b += '-';
  }
  let base = b.replace(/^-+|-+$/g, '');
  if (base.length > 40) base = base.slice(0, 40).replace(/-+$/, '');
  return base || 'm2m';
}

// One machine client in its nested stack: the app client, its secret and the
// secret's rotation schedule; returns its record for the clients output.
function client(stack, c, poolId, tokenURL, rotation) {
  const id = key(c.name);
  const scopes = c.scopes.map((s) => `${s.server}/${s.name}`);
  const appClient = new cognito.CfnUserPoolClient(new Construct(stack, `${id}Client`), 'Resource', {
    userPoolId: poolId,
    clientName: c.name,
    generateSecret: true,
    explicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
    allowedOAuthFlows: ['client_credentials'],
    allowedOAuthFlowsUserPoolClient: true,
    allowedOAuthScopes: scopes,
    supportedIdentityProviders: ['COGNITO'],
    accessTokenValidity: c.accessTokenMinutes ?? ACCESS_TOKEN_MINUTES,
    tokenValidityUnits: { accessToken: 'minutes' },
    preventUserExistenceErrors: 'ENABLED',
    enableTokenRevocation: true,
  });
  const secret = new secretsmanager.CfnSecret(new Construct(stack, `${id}Secret`), 'Resource', {
    name: `scopegate-${poolId}-${c.name}`,
    description: `OAuth 2.0 client credentials of machine client "${c.name}"`,
    secretString: JSON.stringify({ client_id: appClient.ref, client_secret: appClient.attrClientSecret, token_url: tokenURL }),
  });
  secret.applyRemovalPolicy(cdk.RemovalPolicy.DESTROY);
  const [expr, window] = rotationRules(ROTATION_DAYS, c.name);
  new secretsmanager.CfnRotationSchedule(stack, `${id}Rotation`, {
    secretId: secret.ref,
    rotationLambdaArn: rotation.functionArn,
    rotationRules: window ? { scheduleExpression: expr, duration: window } : { scheduleExpression: expr },
    rotateImmediatelyOnUpdate: false,
  });
  return JSON.stringify({ clientId: appClient.ref, name: c.name, scopes, secretArn: secret.ref });
}

// m2mauth.newRotator: the rotation function and what it may do.
function rotator(auth, pool, poolId, props) {
  const stack = cdk.Stack.of(auth);
  const fn = goFunction(auth, 'Rotation', {
    bundles: props.bundles,
    entry: path.join(props.root, 'constructs', 'm2mauth', 'rotator'),
    moduleDir: props.root,
    description: `scopegate: rotates the client secrets of ${auth.node.path}`,
    environment: { USER_POOL_ID: poolId, OVERLAP_SECONDS: String(OVERLAP_SECONDS) },
    timeout: 20,
    reservedConcurrency: 2,
    disposable: props.disposable,
  });
  const scheduler = new iam.Role(auth, 'RetireScheduleRole', {
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
    description: 'EventBridge Scheduler calls the rotation function back to retire an old client secret',
  });
  fn.fn.grantInvoke(scheduler);
  fn.fn.addEnvironment('RETIRE_ROLE_ARN', scheduler.roleArn);
  fn.role.addToPolicy(new iam.PolicyStatement({
    actions: ['cognito-idp:AddUserPoolClientSecret', 'cognito-idp:ListUserPoolClientSecrets', 'cognito-idp:DeleteUserPoolClientSecret'],
    resources: [pool.userPoolArn],
  }));
  fn.role.addToPolicy(new iam.PolicyStatement({
    actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
    resources: [cdk.Fn.join('', ['arn:', stack.partition, ':secretsmanager:', stack.region, ':', stack.account, ':secret:', `scopegate-${poolId}-`, '*'])],
  }));
  fn.role.addToPolicy(new iam.PolicyStatement({
    actions: ['scheduler:CreateSchedule', 'scheduler:GetSchedule', 'scheduler:UpdateSchedule'],
    resources: [stack.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: 'default/scopegate-retire-*' })],
  }));
  fn.role.addToPolicy(new iam.PolicyStatement({
    actions: ['iam:PassRole'],
    resources: [scheduler.roleArn],
    conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
  }));
  const functionArn = fn.fn.functionArn;
  const invoke = new lambda.CfnPermission(auth, 'RotationInvoke', {
    action: 'lambda:InvokeFunction',
    functionName: functionArn,
    principal: 'secretsmanager.amazonaws.com',
    sourceAccount: stack.account,
  });
  suppress(fn.role, true, {
    id: 'AwsSolutions-IAM5',
    appliesToPattern: ['/^Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:scopegate-<[A-Za-z0-9]+>-\\*$/'],
    reason: "Secrets Manager appends a random suffix to every secret name, so the grant names the pool's secret-name prefix: only this pool's client secrets match it.",
  }, {
    id: 'AwsSolutions-IAM5',
    appliesTo: ['Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/default/scopegate-retire-*'],
    reason: 'Each rotation creates a one-time schedule named after the secret it retires; the grant is limited to that name prefix in the default group, and the schedules delete themselves after running.',
  });
  suppress(scheduler, true, {
    id: 'AwsSolutions-IAM5',
    appliesToPattern: ['/^Resource::<[A-Za-z0-9]+\\.Arn>:\\*$/'],
    reason: "CDK's grantInvoke also allows the rotation function's versions and aliases (ARN:*); the role can invoke nothing else.",
  });
  suppress(fn.fn, false, {
    id: 'Serverless-LambdaDLQ',
    reason: 'Secrets Manager invokes the rotation steps synchronously and records and retries a failed rotation itself; a missed retirement ' +
      '(EventBridge Scheduler retries it) is done again by the next rotation, which deletes any old secret past the overlap window.',
  });
  return { fn: fn.fn, invoke, functionArn };
}

// m2mauth.TokenRequests and newTokenBudgetAlarm.
const TOKEN_REQUEST_QUERY = `SELECT SUM(CallCount) FROM "AWS/Usage" WHERE Resource = 'ClientAuthentication'`;

function tokenRequests() {
  return new cloudwatch.MathExpression({
    expression: TOKEN_REQUEST_QUERY,
    label: 'client-credentials token requests per 5 minutes',
    period: cdk.Duration.seconds(300),
  });
}

function tokenBudgetAlarm(auth) {
  const share = 0.8;
  const perSecond = share * 150;
  const threshold = perSecond * 300;
  return new cloudwatch.Alarm(auth, 'TokenBudgetAlarm', {
    metric: tokenRequests(),
    threshold,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    alarmDescription: `scopegate: client-credentials token requests in this account and region reached ${threshold} in 5 minutes (${perSecond} per second), ${share * 100}% of Cognito's limit of 150 per second ` +
      '(every request is billed; past the limit Cognito refuses them). Clients should cache tokens until they expire.',
  });
}

// --- scopedapi.ScopedAPI ---

// gatewayresponse.All and the body validator's answer.
const UNAUTHORIZED_DESCRIPTION = 'no access token, or one that is malformed, expired, issued by another user pool, or carries none of the scopes this method requires';
const GATEWAY_RESPONSES = [
  { id: 'Unauthorized', type: 'UNAUTHORIZED', status: 401, code: 'unauthorized', description: UNAUTHORIZED_DESCRIPTION, challenge: 'Bearer realm="scopegate"' },
  { id: 'AccessDenied', type: 'ACCESS_DENIED', status: 403, code: 'access_denied' },
  { id: 'InvalidApiKey', type: 'INVALID_API_KEY', status: 403, code: 'invalid_api_key' },
  { id: 'Throttled', type: 'THROTTLED', status: 429, code: 'throttled', retryAfter: '1' },
  { id: 'QuotaExceeded', type: 'QUOTA_EXCEEDED', status: 429, code: 'quota_exceeded' },
];

// scopedapi.accessLogFormat, its keys in the order Go's encoding/json
// writes a map's.
const ACCESS_LOG_FORMAT = {
  authorizerError: '$context.authorizer.error',
  clientId: '$context.authorizer.claims.client_id',
  errorType: '$context.error.responseType',
  extendedRequestId: '$context.extendedRequestId',
  httpMethod: '$context.httpMethod',
  integrationLatency: '$context.integration.latency',
  integrationStatus: '$context.integration.status',
  ip: '$context.identity.sourceIp',
  path: '$context.path',
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  resourcePath: '$context.resourcePath',
  responseLatency: '$context.responseLatency',
  responseLength: '$context.responseLength',
  scope: '$context.authorizer.claims.scope',
  status: '$context.status',
  xrayTraceId: '$context.xrayTraceId',
};

const CONTRIBUTOR_RULES = [
  { id: 'TopClientsByRequests', what: 'requests' },
  { id: 'TopClientsBy4xx', what: '4xx answers', filter: { Match: '$.status', StartsWith: ['4'] } },
  { id: 'TopClientsBy429', what: '429 answers (throttled or over quota)', filter: { In: ['429'], Match: '$.status' } },
  { id: 'TopClientsBy5xx', what: '5xx answers', filter: { Match: '$.status', StartsWith: ['5'] } },
];

function scopedAPI(scope, id, props) {
  const { auth, handler, routes } = props;
  const table = routes.map((r) => ({ method: r.method, path: r.path, scopes: r.scopes }));
  const api = new Construct(scope, id);
  const accessLogs = new logs.LogGroup(api, 'AccessLogs', {
    retention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: removal(props.disposable),
  });
  const restApi = new apigateway.RestApi(api, 'Resource', {
    description: "REST API whose every method requires an OAuth 2.0 access token with the method's scopes",
    endpointTypes: [apigateway.EndpointType.REGIONAL],
    cloudWatchRole: false,
    deployOptions: {
      stageName: props.stageName || 'api',
      accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
      accessLogFormat: apigateway.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FORMAT)),
      loggingLevel: apigateway.MethodLoggingLevel.ERROR,
      dataTraceEnabled: false,
      metricsEnabled: true,
      tracingEnabled: true,
      throttlingRateLimit: 50,
      throttlingBurstLimit: 100,
    },
  });
  const authorizer = new apigateway.CognitoUserPoolsAuthorizer(api, 'Authorizer', {
    cognitoUserPools: [auth.pool],
    identitySource: 'method.request.header.Authorization',
  });
  for (const g of GATEWAY_RESPONSES) {
    const headers = { 'Content-Type': "'application/json'" };
    if (g.challenge) headers['WWW-Authenticate'] = `'${g.challenge}'`;
    if (g.retryAfter) headers['Retry-After'] = `'${g.retryAfter}'`;
    let template = `{"error":${JSON.stringify(g.code)},"message":$context.error.messageString`;
    if (g.description) template += `,"error_description":${JSON.stringify(g.description)}`;
    restApi.addGatewayResponse(g.id, {
      type: apigateway.ResponseType.of(g.type),
      statusCode: String(g.status),
      responseHeaders: headers,
      templates: { 'application/json': template + '}' },
    });
  }
  restApi.addGatewayResponse('BadRequestBody', {
    type: apigateway.ResponseType.BAD_REQUEST_BODY,
    statusCode: '400',
    responseHeaders: { 'Content-Type': "'application/json'" },
    templates: { 'application/json': '{"error":"invalid_body","message":"$util.escapeJavaScript($context.error.validationErrorString)"}' },
  });

  // One invoke permission for the whole API, and the proxy integration.
  handler.addPermission(`InvokeByScopedApi${cdk.Names.nodeUniqueId(api.node)}`, {
    principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
    action: 'lambda:InvokeFunction',
    sourceArn: restApi.arnForExecuteApi('*', '/*', restApi.deploymentStage.stageName),
    scope: api,
  });
  const integration = new apigateway.AwsIntegration({
    proxy: true,
    service: 'lambda',
    path: `2015-03-31/functions/${handler.functionArn}/invocations`,
    integrationHttpMethod: 'POST',
  });
  routeTableLayer(api, handler, table);

  const validator = restApi.addRequestValidator('RequestValidator', {
    validateRequestBody: true,
    validateRequestParameters: true,
  });
  const resources = new Map();
  for (const r of routes) {
    const options = {
      authorizationType: apigateway.AuthorizationType.COGNITO,
      authorizer,
      authorizationScopes: r.scopes,
      requestValidator: validator,
      requestParameters: { 'method.request.header.Authorization': true },
    };
    if (r.bodySchema) {
      const model = restApi.addModel(`${(r.method + r.path).replace(/[^A-Za-z0-9]/g, '')}Body`, {
        contentType: 'application/json',
        schema: r.bodySchema,
      });
      options.requestModels = { 'application/json': model };
    }
    let resource = resources.get(r.path);
    if (!resource) {
      resource = restApi.root.resourceForPath(r.path);
      resources.set(r.path, resource);
    }
    resource.addMethod(r.method, integration, options);
  }
  guard(restApi, auth);

  // scopedapi's suspend: the function reads the suspended-clients table.
  handler.addEnvironment('SCOPEGATE_SUSPENDED_TABLE', auth.suspended.tableName);
  auth.suspended.grant(handler, 'dynamodb:GetItem');

  observe(api, restApi, accessLogs, handler, auth);

  suppress(restApi.deploymentStage, false, {
    id: 'AwsSolutions-APIG3',
    reason: 'No WAF web ACL was given (ScopedAPIProps.WebACLArn). Every method already refuses callers ' +
      'without a valid access token carrying its scope, and the stage is throttled; a web ACL adds IP and rate rules at extra cost.',
  });
  suppress(restApi.latestDeployment, true, {
    id: 'CdkNagValidationFailure',
    appliesTo: ['Serverless-APIGWStructuredLogging'],
    reason: "The rule reads the Deployment's StageDescription, which a RestApi's deployment does not have, and throws; " +
      'the Stage it deploys to is checked by the same rule and has a JSON access log format.',
  });
  if (props.outputs) {
    // ScopedAPI.AddOutputs: the names bin/verify reads.
    const output = (name, description, value) => {
      new cdk.CfnOutput(api, name, { value, description }).overrideLogicalId(name);
    };
    output('ApiUrl', 'Invoke URL of the API', restApi.url);
    output('AccessLogGroup', "Access log group of the API: one JSON line per request, with the caller's clientId", accessLogs.logGroupName);
    // routetable.AccessPolicy's JSON: its routes in key order, as Go writes a map.
    const policy = {};
    for (const r of [...table].sort((a, b) => (`${a.method} ${a.path}` < `${b.method} ${b.path}` ? -1 : 1))) policy[`${r.method} ${r.path}`] = r.scopes;
    output('AccessPolicy', "JSON: the scopes of each route (any one opens it); each client's scopes are in the clients output", JSON.stringify({ routes: policy }));
  }
  return { construct: api, restApi, url: restApi.url };
}

// scopedapi.routeTableLayer: the route table in a layer, for the function
// to re-check scopes.
function routeTableLayer(api, fn, table) {
  const data = JSON.stringify(table);
  const name = `routes-${crypto.createHash('sha256').update(data).digest('hex').slice(0, 16)}.json`;
  const dir = path.join(cdk.Stage.of(api).assetOutdir, `scopegate-${name.replace(/\.json$/, '')}`);
  fs.mkdirSync(path.join(dir, 'scopegate'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'scopegate', name), data);
  const layer = new lambda.LayerVersion(api, 'RouteTable', {
    code: lambda.Code.fromAsset(dir),
    description: `scopegate route table of ${api.node.path}: the scopes of each route, re-checked by the function`,
  });
  fn.addLayers(layer);
  fn.addEnvironment('SCOPEGATE_ROUTES_FILE', `/opt/scopegate/${name}`);
  return layer;
}

// scopedapi.Guard: synthesis fails when a method of the API does not
// require a scoped access token of the pool; the metadata is what
// apiguard reads in the assembly.
function guard(restApi, auth) {
  const issued = new Set(auth.resourceServers.flatMap((r) => r.scopes.map((s) => `${r.identifier}/${s.name}`)));
  restApi.node.addValidation({
    validate() {
      const problems = [];
      for (const c of restApi.node.findAll()) {
        if (!(c instanceof apigateway.CfnMethod) || c.httpMethod === 'OPTIONS') continue;
        const wrong = [];
        if (c.authorizationType !== 'COGNITO_USER_POOLS') wrong.push(`authorization type ${c.authorizationType ?? '(none)'}, not COGNITO_USER_POOLS`);
        const scopes = c.authorizationScopes ?? [];
        if (scopes.length === 0) wrong.push('no authorization scopes');
        for (const s of scopes) if (!issued.has(s)) wrong.push(`scope "${s}", which the pool does not issue`);
        if (wrong.length > 0) problems.push(`${c.httpMethod} ${c.node.path}: ${wrong.join('; ')}`);
      }
      if (problems.length === 0) return [];
      problems.sort();
      return [`scopedapi: REST API ${restApi.node.path} is guarded: every method must require an access token of its pool with a scope, but:\n  ${problems.join('\n  ')}`];
    },
  });
  // Its keys in the order Go's encoding/json writes a map's: the metadata
  // is part of the RestApi's resource, which the deployment's logical id
  // hashes.
  restApi.node.defaultChild.addMetadata('scopegate:guard', {
    apiKeys: false,
    construct: restApi.node.path,
    providerArns: [auth.pool.userPoolArn],
    scopes: [...issued],
  });
}

// scopedapi.observe: contributor rules and the dashboard.
function observe(api, restApi, accessLogs, handler, auth) {
  const stack = cdk.Stack.of(api);
  const logGroup = accessLogs.logGroupName;
  const base = cdk.Names.uniqueResourceName(api, { maxLength: 100, separator: '-' });
  const rules = {};
  for (const r of CONTRIBUTOR_RULES) {
    const contribution = r.filter ? { Filters: [r.filter], Keys: ['$.clientId'] } : { Keys: ['$.clientId'] };
    rules[r.id] = new cloudwatch.CfnInsightRule(api, r.id, {
      ruleName: `${base}-${r.id}`,
      ruleState: 'ENABLED',
      ruleBody: stack.toJsonString({
        AggregateOn: 'Count',
        Contribution: contribution,
        LogFormat: 'JSON',
        LogGroupNames: [logGroup],
        Schema: { Name: 'CloudWatchLogRule', Version: 1 },
      }),
    });
  }
  const graph = (title, ...metrics) => new cloudwatch.GraphWidget({ title, left: metrics, width: 8 });
  const stat = (s) => ({ statistic: s });
  const rows = [[
    graph('Requests', restApi.metricCount(stat('Sum'))),
    graph('4xx and 5xx answers', restApi.metricClientError(stat('Sum')), restApi.metricServerError(stat('Sum'))),
    graph('Latency p50 and p99 (ms)', restApi.metricLatency(stat('p50')), restApi.metricLatency(stat('p99')), restApi.metricIntegrationLatency(stat('p99'))),
  ], [
    new cloudwatch.LogQueryWidget({
      title: '401, 403 and 429 answers by status',
      logGroupNames: [logGroup],
      queryLines: ['filter status in ["401", "403", "429"]', 'stats count(*) by status, bin(5m)'],
      view: cloudwatch.LogQueryVisualizationType.LINE,
      width: 8,
    }),
    graph('Function errors and throttles', handler.metricErrors(stat('Sum')), handler.metricThrottles(stat('Sum'))),
    new cloudwatch.GraphWidget({
      title: "Token requests per 5 minutes (account and region; Cognito's limit is 150 per second)",
      left: [tokenRequests()],
      // label first, as the Go bindings hand the struct over (sorted keys).
      leftAnnotations: [{ label: 'limit', value: 150 * 300 }],
      width: 8,
    }),
  ], [
    graph('Secret rotation failures', auth.rotation.fn.metricErrors(stat('Sum'))),
  ]];
  const lines = ['**Top clients** (CloudWatch, Contributor Insights):'];
  for (const r of CONTRIBUTOR_RULES) lines.push(`\n* by ${r.what}: `, rules[r.id].attrRuleName);
  rows.push([new cloudwatch.TextWidget({ markdown: cdk.Fn.join('', lines), width: 24, height: 4 })]);
  new cloudwatch.Dashboard(api, 'Dashboard', { widgets: rows });
}


// --- what both apps need of their surroundings ---

// newApp is the app. A JavaScript app records a creation stack trace for
// each CloudFormation element (aws-cdk-lib's default, and what a JavaScript
// user gets: the traces show their code); the Go apps turn that off
// (cdkapp.NewApp: from Go the traces hold only jsii kernel frames).
// -c mirror:creationStacks=false turns it off here too (the CLI refuses
// -c for aws-cdk-lib's own key, aws:cdk:disable-creation-stack-traces).
function newApp() {
  const app = new cdk.App();
  if (String(app.node.tryGetContext('mirror:creationStacks')) === 'false') {
    app.node.setContext(cxapi.DISABLE_CREATION_STACK_TRACES, true);
  }
  return app;
}

// contextInt reads a positive whole number from the context: -c on the
// command line gives a string, cdk.json a number.
function contextInt(app, name, def) {
  const v = app.node.tryGetContext(name);
  if (v === undefined) return def;
  const n = typeof v === 'string' && /^[+-]?\d+$/.test(v) ? Number(v) : v;
  if (!Number.isInteger(n)) throw new Error(`context ${name}: ${JSON.stringify(v)} is not a whole number`);
  if (n < 1) throw new Error(`context ${name}: ${n} must be at least 1`);
  return n;
}

// The repository's root, as golambda.FindModuleDir finds it from the
// working directory (the bench runs the apps from there).
function repoRoot() {
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    const mod = path.join(dir, 'go.mod');
    if (fs.existsSync(mod) && /^module github\.com\/scopegate\/scopegate\s*$/m.test(fs.readFileSync(mod, 'utf8'))) return dir;
    if (path.dirname(dir) === dir) throw new Error('jsmirror: run it from inside the scopegate module, as make bench-mirror does');
  }
}

module.exports = { authServer, contextInt, goBundles, goFunction, key, newApp, repoRoot, scopedAPI, suppress };
