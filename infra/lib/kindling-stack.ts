// KindlingStack: the whole deployment of Kindling in one stack. Every name that the Rust code and
// this stack share comes from one place: function names from FUNCTIONS, event routing from
// event-catalog.json (generated from kindling::events), settings from the KINDLING_* variables
// that shared/kindling-aws/src/settings.rs reads.

import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  SecretValue,
  Stack,
  type StackProps,
  Tags,
  Validations,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** The six functions: one name everywhere (folder, package, binary, construct id, events/). */
export const FUNCTIONS = ['track', 'intake', 'score', 'send-steps', 'notify', 'feedback'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

/** The functions that EventBridge invokes asynchronously (each has a DLQ and a retry policy). */
export const ASYNC_FUNCTIONS = ['score', 'notify', 'feedback', 'send-steps'] as const;

/** Where the checked-in event catalog is (written by a Rust test from kindling::events). */
export const EVENT_CATALOG_PATH = path.join(__dirname, '..', 'event-catalog.json');

export interface EventCatalog {
  kindling: {
    source: string;
    events: { detailTypes: string[]; function: FunctionName }[];
    /** Published for integrations (a CRM, analytics); no Kindling function takes them. */
    integrationOnly: string[];
    /** What the CRM's API destination takes. */
    crmUpsert: string;
  };
  ses: { source: string; detailTypes: string[]; function: FunctionName };
  schedule: { function: FunctionName; source: string; detailType: string };
  /** What the functions emit in the Embedded Metric Format (shared/kindling-aws/src/metrics.rs). */
  metrics: { namespaceEnv: string; names: string[] };
}

export function loadEventCatalog(file = EVENT_CATALOG_PATH): EventCatalog {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as EventCatalog;
}

/** Where the checked-in route catalog is (written by a Rust test from kindling::web::routes). */
export const ROUTE_CATALOG_PATH = path.join(__dirname, '..', 'route-catalog.json');

/** One route of the catalog: the domain declares every route once; the stack deploys these. */
export interface CatalogRoute {
  method: string;
  path: string;
  function: 'track' | 'intake';
  /** `none` (public) or `iam` (admin). */
  auth: 'none' | 'iam';
  /** Requests per second for all clients together; `null`: the stage's limit. */
  throttle: { rate: number; burst: number } | null;
  summary: string;
}

export function loadRouteCatalog(file = ROUTE_CATALOG_PATH): CatalogRoute[] {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { routes: CatalogRoute[] }).routes;
}

/** The config's `[api] stage`: the limit of routes without one of their own. */
export function loadStageThrottle(file = ROUTE_CATALOG_PATH): { rate: number; burst: number } {
  const c = JSON.parse(fs.readFileSync(file, 'utf8')) as { stage_throttle?: { rate: number; burst: number } };
  return c.stage_throttle ?? { rate: 200, burst: 400 };
}

/** The config's `[[reps]]`: each is subscribed to the sales alerts it owns. */
export function loadReps(file = ROUTE_CATALOG_PATH): { id: string; email: string }[] {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { reps?: { id: string; email: string }[] }).reps ?? [];
}

/** The config's `[crm]`: the API destination's input (from its `recipe`) and the hook sources. */
export interface CatalogCrm {
  transformer: {
    recipe: string;
    method: 'POST' | 'PUT' | 'PATCH';
    inputPath?: string;
    inputPathsMap: Record<string, string>;
    inputTemplate: string | null;
    pathParameterValues: string[];
  };
  sources: string[];
}

export function loadCrm(file = ROUTE_CATALOG_PATH): CatalogCrm | null {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { crm?: CatalogCrm | null }).crm ?? null;
}

/** The config's `[broadcasts.test_send] addresses`: the only addresses intake may mail (test sends). */
export function loadTestRecipients(file = ROUTE_CATALOG_PATH): string[] {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { test_recipients?: string[] }).test_recipients ?? [];
}

/**
 * Every path of the catalog also gets an `ANY` route to the same function, so that a method the
 * path does not take reaches Kindling and gets its 405 with `Allow` (RFC 9110), not API Gateway's
 * 404. API Gateway prefers a route's own method over `ANY`, so only those requests take it; they
 * are junk, hence this low limit.
 */
export const OTHER_METHODS_THROTTLE = { rate: 5, burst: 10 };

/** Settings of one deployment. Everything but the sender and the origins has a default. */
export interface KindlingSettings {
  /** Deployment stage, e.g. `prod` or `staging`: names and tags resources. */
  readonly stage: string;
  /** The SES identity mail is sent from: a domain (`example.com`) or an address. */
  readonly senderIdentity: string;
  /** The SES configuration set the stack creates and every send uses. Default `kindling-<stage>`. */
  readonly configurationSetName?: string;
  /** Sales reps' addresses subscribed to sales alerts: hot leads, sales triggers (each confirms by mail). */
  readonly alertEmails?: string[];
  /** Support's addresses subscribed to support alerts (e.g. a cancellation-page view). */
  readonly supportEmails?: string[];
  /** Operators' addresses subscribed to the alarms. */
  readonly opsEmails?: string[];
  /** Website origins allowed by CORS, e.g. `https://www.example.com`. */
  readonly allowedOrigins: string[];
  /** Lambda architecture. Default x86_64 (what this project builds and tests). */
  readonly architecture?: 'x86_64' | 'arm64';
  /** Days to keep function and access logs. Default 30. */
  readonly logRetentionDays?: number;
  /** Keep the table (deletion protection, retained on stack deletion). Default true. */
  readonly deletionProtection?: boolean;
  /**
   * Whether the table has its due index (GSI1). Default true. Set false for one deploy only, to
   * upgrade a stack whose index projects all attributes (deployed before 2026-12-07's change): CloudFormation cannot
   * change an index's projection, so one deploy removes it and the next adds it keys-only. Nothing
   * is sent or rechecked in between.
   */
  readonly dueIndex?: boolean;
  /**
   * Take kindling.js beacons (`POST /t/events`) through a Lambda function URL on a function of
   * their own (track's code) instead of API Gateway: $1.00 less per million beacons. Its throttle
   * is its reserved concurrency (`beaconConcurrency`), not a per-route limit. Default false.
   */
  readonly beaconUrl?: boolean;
  /** With `beaconUrl`: the beacon function's reserved concurrency. Default 10. */
  readonly beaconConcurrency?: number;
  /** The public base URL links in mails point to (a custom domain). Default the API's URL. */
  readonly publicUrl?: string;
  /** Directory with `<function>/bootstrap` from `cargo lambda build --release`. */
  readonly lambdaDir?: string;
  /**
   * Steady-state and burst requests per second of routes without a limit of their own (the
   * stage's). Default: `[api] stage` of config/kindling.toml, through the route catalog.
   */
  readonly apiThrottle?: { rate: number; burst: number };
  /**
   * Mails (steps, then broadcast recipients) handled per send-steps run (KINDLING_SEND_BUDGET).
   * Unset: the function sizes it from the SES account's MaxSendRate (40 s of the run's 50 s,
   * from 200 to 10,000).
   */
  readonly sendBudget?: number;
  /**
   * Days the weekly KPI reports stay in the report bucket before they expire (at least 7: the
   * digest's link works that long). Default 30.
   */
  readonly reportRetentionDays?: number;
  /**
   * Bump to rotate the report reader's access key, which signs the digest's 7-day links: the
   * stack makes a new key and secret; send-steps reads it at its next cold start. Default 1.
   */
  readonly reportReaderKeySerial?: number;
  /** The CRM the config's `[crm]` upserts go to (README, "CRM sync"). Default: none (off). */
  readonly crmSync?: CrmSyncSettings;
}

/**
 * The CRM that `lead.crm_upsert.v1` goes to through an EventBridge API destination (the body is
 * the config's `[crm] recipe`). Off when absent.
 */
export interface CrmSyncSettings {
  /**
   * The CRM's URL. HubSpot: `https://api.hubapi.com/crm/v3/objects/contacts/batch/upsert`.
   * Salesforce: `https://<domain>.my.salesforce.com/services/data/v61.0/sobjects/Lead/Kindling_Id__c/*`
   * (the lead id fills the `*`).
   */
  readonly endpoint: string;
  /** `apiKey` (a header, e.g. HubSpot's `Authorization: Bearer <private app token>`) or `oauth` (client credentials). */
  readonly auth: 'apiKey' | 'oauth';
  /**
   * A Secrets Manager secret you made (name or ARN): `{"apiKey": "Bearer pat-..."}` for `apiKey`,
   * `{"clientId": "...", "clientSecret": "..."}` for `oauth`. EventBridge copies it into the
   * connection's own secret; the template holds a dynamic reference only.
   */
  readonly secretName: string;
  /** With `apiKey`: the header that carries it. Default `Authorization`. */
  readonly apiKeyHeader?: string;
  /** With `oauth`: the token endpoint (Salesforce: `https://login.salesforce.com/services/oauth2/token`). */
  readonly tokenEndpoint?: string;
  /** Most requests per second to the CRM (EventBridge queues the rest). Default 10. */
  readonly ratePerSecond?: number;
}

export interface KindlingStackProps extends StackProps {
  readonly settings: KindlingSettings;
}

/**
 * The `cargo lambda build` output directory for an architecture: under cargo's target directory,
 * which `make` passes as KINDLING_TARGET_DIR (from `cargo metadata`, so `CARGO_TARGET_DIR` and
 * `build.target-dir` are followed), else `CARGO_TARGET_DIR` (relative to the repository), else
 * `target/`.
 */
export function defaultLambdaDir(
  architecture: 'x86_64' | 'arm64',
  env: NodeJS.ProcessEnv = process.env,
): string {
  const root = path.join(__dirname, '..', '..');
  const target = path.resolve(root, env.KINDLING_TARGET_DIR || env.CARGO_TARGET_DIR || 'target');
  return architecture === 'arm64' ? path.join(target, 'lambda-arm64') : path.join(target, 'lambda');
}

const VALID_RETENTION = new Set(
  Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number'),
);


interface FunctionSpec {
  readonly timeout: Duration;
  /** DynamoDB actions on the table (Scan only through `rescan`). */
  readonly table: string[];
  /** Walks every lead: the one-off rescore invocation (admin use, never a request path). */
  readonly rescan?: boolean;
  /** Reads the due-steps index. */
  readonly dueIndex?: boolean;
  /** Publishes Kindling events. */
  readonly publishes?: boolean;
  /** Signs or verifies links, so it reads the signing keys. */
  readonly signingKeys?: boolean;
}

const ITEM_RW = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'];

/**
 * What each function does, which decides its grants. From the code: record_activity publishes
 * (track, intake, send-steps, feedback via unsubscribe), rescore publishes transitions and trigger
 * firings (score, and send-steps when it rechecks a lead); release of a pending send or alert
 * deletes (send-steps, notify); only track and send-steps touch tokens; only score scans (the
 * one-off rescore).
 */
export const FUNCTION_SPECS: Record<FunctionName, FunctionSpec> = {
  track: { timeout: Duration.seconds(10), table: ITEM_RW, publishes: true, signingKeys: true },
  intake: { timeout: Duration.seconds(10), table: ITEM_RW, publishes: true },
  score: { timeout: Duration.seconds(60), table: ITEM_RW, publishes: true, rescan: true },
  'send-steps': {
    timeout: Duration.seconds(50),
    table: [...ITEM_RW, 'dynamodb:DeleteItem'],
    dueIndex: true,
    publishes: true,
    signingKeys: true,
  },
  // Publishes the CRM upsert of a hot lead and its owner.
  notify: { timeout: Duration.seconds(30), table: [...ITEM_RW, 'dynamodb:DeleteItem'], publishes: true },
  feedback: { timeout: Duration.seconds(30), table: ITEM_RW, publishes: true },
};

/**
 * A Lambda on-failure destination that grants only `sqs:SendMessage` (the L2 SqsDestination also
 * grants GetQueueAttributes and GetQueueUrl, which Lambda does not need).
 */
class SendOnlyQueueDestination implements lambda.IDestination {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    fn.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'DeadLetters', actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
    return { destination: this.queue.queueArn };
  }
}

/** Construct ids in PascalCase: `send-steps` → `SendSteps`. */
function pascal(name: string): string {
  return name
    .split('-')
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');
}

export class KindlingStack extends Stack {
  readonly table: dynamodb.Table;
  readonly bus: events.EventBus;
  readonly api: apigw.HttpApi;
  readonly alertTopic: sns.Topic;
  readonly opsTopic: sns.Topic;
  readonly functions: Record<FunctionName, lambda.Function>;
  /** With `beaconUrl`: the function (track's code) behind the beacon URL. */
  readonly beaconFunction?: lambda.Function;
  readonly deadLetterQueues: Record<string, sqs.Queue>;
  readonly dashboard: cloudwatch.Dashboard;
  readonly configurationSet: ses.ConfigurationSet;
  readonly signingKeys: secretsmanager.Secret;
  readonly reportBucket: s3.Bucket;
  /** Where CRM upserts land that the CRM did not take within 24 hours (with `crmSync`). */
  readonly crmDeadLetters?: sqs.Queue;

  constructor(scope: Construct, id: string, props: KindlingStackProps) {
    super(scope, id, props);
    const s = props.settings;
    const stage = s.stage;
    if (!/^[a-z][a-z0-9-]{0,19}$/.test(stage)) {
      throw new Error(`stage ${JSON.stringify(stage)}: use 1-20 of a-z, 0-9 and -, starting with a letter`);
    }
    if (!s.senderIdentity || /\s/.test(s.senderIdentity)) {
      throw new Error('senderIdentity: a domain (example.com) or an address (news@example.com)');
    }
    if (s.allowedOrigins.length === 0 || s.allowedOrigins.some((o) => !/^https?:\/\/[^/]+$/.test(o))) {
      throw new Error('allowedOrigins: one or more origins like https://www.example.com (no path)');
    }
    const architecture = s.architecture ?? 'x86_64';
    const retentionDays = s.logRetentionDays ?? 30;
    if (!VALID_RETENTION.has(retentionDays)) {
      throw new Error(`logRetentionDays ${retentionDays} is not a CloudWatch Logs retention period`);
    }
    const retention = retentionDays as logs.RetentionDays;
    const deletionProtection = s.deletionProtection ?? true;
    const configurationSetName = s.configurationSetName ?? `kindling-${stage}`;
    // The functions' EMF metrics (shared/kindling-aws/src/metrics.rs) go here.
    const metricsNamespace = `Kindling/${stage}`;
    const lambdaDir = s.lambdaDir ?? defaultLambdaDir(architecture);
    const missing = FUNCTIONS.filter((name) => !fs.existsSync(path.join(lambdaDir, name, 'bootstrap')));
    if (missing.length > 0) {
      const arch = architecture === 'arm64' ? ' ARCH=arm64' : '';
      throw new Error(
        `the function binaries are not built: no ${missing.map((n) => `${n}/bootstrap`).join(', ')} in ${lambdaDir}. ` +
          `Run \`make build-lambdas${arch}\` first (\`make synth\` and \`make deploy\` do it for you).`,
      );
    }
    const catalog = loadEventCatalog();
    Tags.of(this).add('kindling:stage', stage);

    // ---- Data --------------------------------------------------------------------------------
    // The single table of shared/kindling-aws/src/dynamo/keys.rs: PK/SK, the sparse due index GSI1,
    // TTL on `ttl` (anonymous visitors' activities).
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'PK', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'SK', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'ttl',
      deletionProtection,
      removalPolicy: deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // Keys only: a lead, enrollment or recipient written again under the same due time writes
    // nothing to the index, and the readers fetch the items themselves from the table.
    if (s.dueIndex ?? true) {
      this.table.addGlobalSecondaryIndex({
        indexName: 'GSI1',
        partitionKey: { name: 'GSI1PK', type: dynamodb.AttributeType.STRING },
        sortKey: { name: 'GSI1SK', type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.KEYS_ONLY,
      });
    }

    // Link-signing keys: generated here, never in the template or the functions' environment.
    this.signingKeys = new secretsmanager.Secret(this, 'SigningKeys', {
      description: `Kindling ${stage}: keys that sign open, click and unsubscribe links`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ kid: 'k1' }),
        generateStringKey: 'secret',
        passwordLength: 64,
        excludePunctuation: true,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.signingKeys).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Automatic rotation would invalidate the links in mails already sent. Keys rotate by hand: the new key becomes current and the old one stays under "previous" until its links expire (README, "Rotating signing keys").',
    });

    // ---- Events ------------------------------------------------------------------------------
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: `kindling-${stage}` });
    // Sales alerts carry lead data: encrypted with SNS's AWS managed key, whose key policy lets
    // publishers in this account use it through SNS, so notify needs no KMS grant.
    this.alertTopic = new sns.Topic(this, 'AlertTopic', {
      displayName: 'Kindling alerts',
      masterKey: kms.Alias.fromAliasName(this, 'SnsManagedKey', 'alias/aws/sns'),
      enforceSSL: true,
    });
    // One topic, two teams: notify sets the `audience` attribute, each subscription filters on it.
    const forAudience = (audience: 'sales' | 'support') => ({
      filterPolicy: { audience: sns.SubscriptionFilter.stringFilter({ allowlist: [audience] }) },
    });
    // Each rep of the config's [[reps]] gets the sales alerts it owns (the `owner` attribute);
    // the sales team's addresses get those without an owner, so every alert reaches someone.
    const reps = loadReps();
    for (const rep of reps) {
      this.alertTopic.addSubscription(
        new subscriptions.EmailSubscription(rep.email, {
          filterPolicy: {
            audience: sns.SubscriptionFilter.stringFilter({ allowlist: ['sales'] }),
            owner: sns.SubscriptionFilter.stringFilter({ allowlist: [rep.id] }),
          },
        }),
      );
    }
    const unowned: Record<string, sns.SubscriptionFilter> =
      reps.length === 0 ? {} : { owner: new sns.SubscriptionFilter([{ exists: false }]) };
    for (const email of s.alertEmails ?? []) {
      this.alertTopic.addSubscription(
        new subscriptions.EmailSubscription(email, {
          filterPolicy: { ...forAudience('sales').filterPolicy, ...unowned },
        }),
      );
    }
    for (const email of s.supportEmails ?? []) {
      this.alertTopic.addSubscription(new subscriptions.EmailSubscription(email, forAudience('support')));
    }
    this.opsTopic = new sns.Topic(this, 'OpsTopic', {
      displayName: 'Kindling ops: alarms and ops alerts',
      enforceSSL: true,
    });
    Validations.of(this.opsTopic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'CloudWatch cannot publish alarms to a topic encrypted with the AWS managed key, and a customer managed key would need a key policy with kms:* for the account. Alarm messages hold alarm names and metric values only, no lead data; TLS is enforced.',
    });
    for (const email of s.opsEmails ?? []) {
      this.opsTopic.addSubscription(new subscriptions.EmailSubscription(email));
    }

    // SES: the configuration set every send names, publishing to the account's default bus
    // (the only bus SES can publish to).
    this.configurationSet = new ses.ConfigurationSet(this, 'ConfigurationSet', {
      configurationSetName,
      reputationMetrics: true,
      suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
      sendingEnabled: true,
    });
    const defaultBus = events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.configurationSet.addEventDestination('ToEventBridge', {
      destination: ses.EventDestination.eventBus(defaultBus),
      events: [
        ses.EmailSendingEvent.BOUNCE,
        ses.EmailSendingEvent.COMPLAINT,
        ses.EmailSendingEvent.DELIVERY,
        ses.EmailSendingEvent.REJECT,
      ],
    });

    // ---- Functions ---------------------------------------------------------------------------
    this.deadLetterQueues = {};
    const fns = {} as Record<FunctionName, lambda.Function>;
    // With `beaconUrl`, a seventh function of track's code takes beacons through its own URL.
    const built: { name: string; asset: FunctionName; spec: FunctionSpec }[] = FUNCTIONS.map((name) => ({
      name,
      asset: name,
      spec: FUNCTION_SPECS[name],
    }));
    if (s.beaconUrl) built.push({ name: 'beacon', asset: 'track', spec: FUNCTION_SPECS.track });
    const beaconConcurrency = s.beaconConcurrency ?? 10;
    for (const { name, asset, spec } of built) {
      const id = pascal(name);
      const logGroup = new logs.LogGroup(this, `${id}Logs`, {
        retention,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      // Own role with inline grants only: no managed policy, no wildcard action.
      const role = new iam.Role(this, `${id}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `Kindling ${stage} ${name} function`,
      });
      const grant = (sid: string, actions: string[], resources: string[]) =>
        role.addToPolicy(new iam.PolicyStatement({ sid, actions, resources }));
      grant('Logs', ['logs:CreateLogStream', 'logs:PutLogEvents'], [logGroup.logGroupArn]);
      grant('Table', spec.table, [this.table.tableArn]);
      if (spec.rescan) grant('Rescore', ['dynamodb:Scan'], [this.table.tableArn]);
      if (spec.dueIndex) grant('DueIndex', ['dynamodb:Query'], [`${this.table.tableArn}/index/GSI1`]);
      if (spec.publishes) grant('Publish', ['events:PutEvents'], [this.bus.eventBusArn]);
      if (spec.signingKeys) grant('SigningKeys', ['secretsmanager:GetSecretValue'], [this.signingKeys.secretArn]);
      const environment: Record<string, string> = {
        KINDLING_TABLE: this.table.tableName,
        KINDLING_EVENT_BUS: this.bus.eventBusName,
        [catalog.metrics.namespaceEnv]: metricsNamespace,
      };
      if (spec.signingKeys) {
        environment.KINDLING_SIGNING_KEYS_SECRET_ARN = this.signingKeys.secretArn;
      }
      const isAsync = (ASYNC_FUNCTIONS as readonly string[]).includes(name);
      let dlq: sqs.Queue | undefined;
      if (isAsync) {
        dlq = new sqs.Queue(this, `${id}DeadLetters`, {
          retentionPeriod: Duration.days(14),
          encryption: sqs.QueueEncryption.SQS_MANAGED,
          enforceSSL: true,
        });
        Validations.of(dlq).acknowledge({
          id: 'AwsSolutions-SQS3',
          reason: 'This queue is itself a dead-letter queue: failed events land here for inspection and redrive.',
        });
        this.deadLetterQueues[name] = dlq;
      }
      const fn = new lambda.Function(this, id, {
        description: `Kindling ${stage}: ${name}`,
        runtime: lambda.Runtime.PROVIDED_AL2023,
        architecture: architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
        handler: 'bootstrap',
        code: lambda.Code.fromAsset(path.join(lambdaDir, asset)),
        memorySize: 256,
        timeout: spec.timeout,
        role,
        logGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
        systemLogLevelV2: lambda.SystemLogLevel.WARN,
        environment,
        // send-steps runs one at a time: SES is never flooded and runs never overlap. The beacon
        // function's reserved concurrency is its throttle (a function URL has no other).
        reservedConcurrentExecutions: name === 'send-steps' ? 1 : name === 'beacon' ? beaconConcurrency : undefined,
        // Lambda's own retries of asynchronous invocations; what still fails goes to the DLQ.
        ...(dlq
          ? { retryAttempts: 2, maxEventAge: Duration.hours(6), onFailure: new SendOnlyQueueDestination(dlq) }
          : {}),
      });
      // The function needs its policy in place before it runs; its role it references already
      // (CDK's extra DependsOn on the role is what cfn-lint's W3005 flags).
      const policy = role.node.findChild('DefaultPolicy').node.defaultChild as iam.CfnPolicy;
      (fn.node.defaultChild as lambda.CfnFunction).addOverride('DependsOn', [this.getLogicalId(policy)]);
      if (name === 'beacon') this.beaconFunction = fn;
      else fns[name as FunctionName] = fn;
    }
    this.functions = fns;

    const sendSteps = fns['send-steps'];
    sendSteps.addEnvironment('KINDLING_SES_CONFIGURATION_SET', configurationSetName);
    if (s.sendBudget !== undefined) {
      sendSteps.addEnvironment('KINDLING_SEND_BUDGET', String(s.sendBudget));
    }
    sendSteps.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'Send',
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [
          this.formatArn({ service: 'ses', resource: 'identity', resourceName: s.senderIdentity }),
          this.formatArn({
            service: 'ses',
            resource: 'configuration-set',
            resourceName: configurationSetName,
          }),
        ],
      }),
    );
    // Pacing: the sender reads the account's MaxSendRate once per cold start. GetAccount is an
    // account-level read with no resource type, so IAM accepts only '*' for it.
    sendSteps.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'ReadSendQuota', actions: ['ses:GetAccount'], resources: ['*'] }),
    );
    Validations.of(sendSteps.role!).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        "ses:GetAccount (read the account's sending quota to pace sends) has no resource type: IAM accepts only '*' for it. It is the only such statement, read-only, and in send-steps only.",
    });
    // Broadcast test sends (POST /admin/broadcasts/{id}/test-send) go out from intake, to the
    // configured reviewers only: IAM refuses any other recipient, whatever the code asks.
    const testRecipients = loadTestRecipients();
    if (testRecipients.length > 0) {
      fns.intake.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'TestSend',
          actions: ['ses:SendEmail', 'ses:SendRawEmail'],
          resources: [this.formatArn({ service: 'ses', resource: 'identity', resourceName: s.senderIdentity })],
          conditions: { 'ForAllValues:StringEquals': { 'ses:Recipients': testRecipients } },
        }),
      );
    }
    this.reportBucket = this.weeklyReports(s, sendSteps);
    const notify = fns.notify;
    notify.addEnvironment('KINDLING_ALERT_TOPIC_ARN', this.alertTopic.topicArn);
    notify.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'Alert', actions: ['sns:Publish'], resources: [this.alertTopic.topicArn] }),
    );
    // Ops alerts (step mails paused by the bounce/complaint breaker) go where the alarms go: the
    // people who run the stack. They carry counts and rates only, no lead data.
    notify.addEnvironment('KINDLING_OPS_TOPIC_ARN', this.opsTopic.topicArn);
    notify.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'OpsAlert', actions: ['sns:Publish'], resources: [this.opsTopic.topicArn] }),
    );

    // ---- HTTP API ----------------------------------------------------------------------------
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigw.HttpApi(this, 'Api', {
      apiName: `kindling-${stage}`,
      description: 'Kindling: tracking beacons, opens, clicks, unsubscribes, forms, admin',
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: s.allowedOrigins,
        allowMethods: [apigw.CorsHttpMethod.GET, apigw.CorsHttpMethod.POST],
        allowHeaders: ['content-type'],
        maxAge: Duration.days(1),
      },
    });
    const throttle = s.apiThrottle ?? loadStageThrottle();
    const stageResource = new apigw.HttpStage(this, 'ApiStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: throttle.rate, burstLimit: throttle.burst },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: apigwAccessLogFormat(),
      },
    });
    // Routes from the catalog: each route with its method, then an ANY route per path for the
    // methods it does not take (Kindling answers those with 405 and Allow).
    const routeCatalog = loadRouteCatalog();
    const integrations = {
      track: new HttpLambdaIntegration('TrackIntegration', fns.track),
      intake: new HttpLambdaIntegration('IntakeIntegration', fns.intake),
    };
    const routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    const addRoute = (method: apigw.HttpMethod, r: CatalogRoute, limit: { rate: number; burst: number } | null) => {
      const added = this.api.addRoutes({
        path: r.path,
        methods: [method],
        integration: integrations[r.function],
        authorizer: r.auth === 'iam' ? new HttpIamAuthorizer() : undefined,
      });
      for (const route of added) {
        if (r.auth === 'none') {
          Validations.of(route).acknowledge({
            id: 'AwsSolutions-APIG4',
            reason:
              'Public by design (DESIGN.md): browsers and mail clients call it without credentials. Tokens in the path are HMAC-signed; forms are validated and rate limited.',
          });
        }
      }
      if (limit) {
        routeSettings[`${method} ${r.path}`] = {
          ThrottlingRateLimit: limit.rate,
          ThrottlingBurstLimit: Math.max(limit.burst, 1),
        };
      }
    };
    const paths = new Map<string, CatalogRoute>();
    for (const r of routeCatalog) {
      addRoute(r.method as apigw.HttpMethod, r, r.throttle);
      if (!paths.has(r.path)) paths.set(r.path, r);
    }
    for (const r of paths.values()) {
      addRoute(apigw.HttpMethod.ANY, r, OTHER_METHODS_THROTTLE);
    }
    const cfnStage = stageResource.node.defaultChild as apigw.CfnStage;
    cfnStage.addPropertyOverride('RouteSettings', routeSettings);
    const apiUrl = `https://${this.api.apiId}.execute-api.${this.region}.${this.urlSuffix}`;
    const publicUrl = s.publicUrl ?? apiUrl;
    for (const fn of [...Object.values(fns), ...(this.beaconFunction ? [this.beaconFunction] : [])]) {
      fn.addEnvironment('KINDLING_PUBLIC_URL', publicUrl);
    }
    if (this.beaconFunction) {
      // Beacons without API Gateway: a function URL costs only the invocation. CORS as the API's;
      // the throttle is the function's reserved concurrency (Throttles alarm below); track serves
      // kindling.js with this URL filled in, so websites change nothing.
      const beaconUrl = this.beaconFunction.addFunctionUrl({
        authType: lambda.FunctionUrlAuthType.NONE,
        cors: {
          allowedOrigins: s.allowedOrigins,
          allowedMethods: [lambda.HttpMethod.POST],
          allowedHeaders: ['content-type'],
          maxAge: Duration.hours(1),
        },
      });
      fns.track.addEnvironment('KINDLING_BEACON_URL', beaconUrl.url);
      new CfnOutput(this, 'BeaconUrl', {
        value: beaconUrl.url,
        description: 'Where kindling.js sends beacons (the beacon function URL)',
      });
    }

    // ---- Event routing -----------------------------------------------------------------------
    const asyncTarget = (name: FunctionName) =>
      new targets.LambdaFunction(fns[name], {
        deadLetterQueue: this.deadLetterQueues[name],
        maxEventAge: Duration.hours(24),
        retryAttempts: 185,
      });
    for (const e of catalog.kindling.events) {
      new events.Rule(this, `${pascal(e.function)}Rule`, {
        description: `${e.detailTypes.join(', ')} → ${e.function}`,
        eventBus: this.bus,
        eventPattern: { source: [catalog.kindling.source], detailType: e.detailTypes },
        targets: [asyncTarget(e.function)],
      });
    }
    new events.Rule(this, `${pascal(catalog.ses.function)}Rule`, {
      description: `SES bounces and complaints of ${configurationSetName} → ${catalog.ses.function}`,
      eventPattern: {
        source: [catalog.ses.source],
        detailType: catalog.ses.detailTypes,
        detail: { mail: { tags: { 'ses:configuration-set': [configurationSetName] } } },
      },
      targets: [asyncTarget(catalog.ses.function)],
    });
    new events.Rule(this, `${pascal(catalog.schedule.function)}Schedule`, {
      description: `every minute → ${catalog.schedule.function}`,
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [asyncTarget(catalog.schedule.function)],
    });

    // ---- CRM sync ----------------------------------------------------------------------------
    this.crmDeadLetters = crmSync(this, s.crmSync, catalog.kindling.source, catalog.kindling.crmUpsert);

    // ---- Alarms ------------------------------------------------------------------------------
    const alarmAction = new cwActions.SnsAction(this.opsTopic);
    /** Alarms (and recovers) when `metric` reaches `threshold` in one period; no data is fine. */
    const alarm = (id: string, description: string, metric: cloudwatch.IMetric, threshold: number) => {
      const a = new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(alarmAction);
      a.addOkAction(alarmAction);
    };
    const fiveMinutes = Duration.minutes(5);
    if (this.crmDeadLetters) {
      alarm(
        'CrmDeadLettersAlarm',
        'CRM upserts failed for 24 hours or were refused: kindling sync status, then kindling sync replay',
        this.crmDeadLetters.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
        1,
      );
    }
    for (const [name, queue] of Object.entries(this.deadLetterQueues)) {
      alarm(
        `${pascal(name)}DeadLettersAlarm`,
        `Events for ${name} failed for good and wait in its dead-letter queue`,
        queue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
        1,
      );
    }
    const watched: [string, lambda.Function][] = FUNCTIONS.map((name) => [name, fns[name]]);
    if (this.beaconFunction) watched.push(['beacon', this.beaconFunction]);
    for (const [name, fn] of watched) {
      const sum = { period: fiveMinutes, statistic: 'Sum' };
      alarm(`${pascal(name)}ErrorsAlarm`, `The ${name} function failed invocations`, fn.metricErrors(sum), 1);
      alarm(`${pascal(name)}ThrottlesAlarm`, `The ${name} function was throttled`, fn.metricThrottles(sum), 1);
    }
    // SES reviews an account at a 5 % bounce or 0.1 % complaint rate; alarm well before. With
    // reputation metrics on, SES publishes them per configuration set.
    const reputation = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/SES',
        metricName,
        dimensionsMap: { 'ses:configuration-set': configurationSetName },
        period: Duration.minutes(15),
        statistic: 'Maximum',
      });
    alarm(
      'BounceRateAlarm',
      'SES bounce rate of Kindling mail is at 2 % (SES reviews accounts at 5 %)',
      reputation('Reputation.BounceRate'),
      0.02,
    );
    alarm(
      'ComplaintRateAlarm',
      'SES complaint rate of Kindling mail is at 0.08 % (SES reviews accounts at 0.1 %)',
      reputation('Reputation.ComplaintRate'),
      0.0008,
    );

    // ---- Dashboard ---------------------------------------------------------------------------
    // The functions' EMF metrics (log lines, no API call on the request path), the DLQs' depth and
    // the functions' errors, on one page.
    const emf = (name: string, label: string, statistic = 'Sum') => {
      if (!catalog.metrics.names.includes(name)) throw new Error(`no metric ${name} in the catalog`);
      return new cloudwatch.Metric({ namespace: metricsNamespace, metricName: name, label, statistic, period: fiveMinutes });
    };
    const graph = (title: string, left: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6 });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `Kindling-${stage}`,
      widgets: [
        [
          graph('Sends', [emf('StepsSent', 'step mails'), emf('BroadcastsSent', 'broadcast mails'), emf('DigestsSent', 'digests')]),
          graph('Bounces and complaints', [emf('HardBounces', 'hard bounces'), emf('SoftBounces', 'soft bounces'), emf('Complaints', 'complaints')]),
          graph("People's opens and clicks (machines beside)", [
            emf('PersonOpens', 'opens by people'),
            emf('PersonClicks', 'clicks by people'),
            emf('MachineOpens', 'machine opens'),
            emf('ScannerClicks', 'scanner clicks'),
          ]),
        ],
        [
          graph('Leads', [emf('FormSubmissions', 'form submissions'), emf('Unsubscribes', 'unsubscribes'), emf('HotLeads', 'hot leads')]),
          graph('Follow-up (hand-offs nobody marked)', [
            emf('FollowUpReminders', 'reminders'),
            emf('FollowUpEscalations', 'escalations'),
          ]),
          graph('Alerts and errors', [
            ...FUNCTIONS.map((n) => fns[n].metricErrors({ period: fiveMinutes, label: `${n} errors` })),
          ]),
          graph('Breaker (1: step mails paused) and dead letters', [
            emf('SendingPaused', 'sending paused', 'Maximum'),
            ...Object.entries(this.deadLetterQueues).map(([n, q]) =>
              q.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum', label: `${n} DLQ` }),
            ),
          ]),
        ],
      ],
    });

    // ---- Outputs -----------------------------------------------------------------------------
    new CfnOutput(this, 'ApiUrl', { value: apiUrl, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'PublicUrl', { value: publicUrl, description: 'Base URL in mails' });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'EventBusName', { value: this.bus.eventBusName });
    new CfnOutput(this, 'AlertTopicArn', { value: this.alertTopic.topicArn });
    new CfnOutput(this, 'OpsTopicArn', { value: this.opsTopic.topicArn });
    new CfnOutput(this, 'ConfigurationSetName', { value: configurationSetName });
    new CfnOutput(this, 'SigningKeysSecretArn', { value: this.signingKeys.secretArn });
    new CfnOutput(this, 'ScoreFunction', {
      value: fns.score.functionName,
      description: 'Invoke with {"kindling":"rescore","dry_run":true} to preview a rule change (README)',
    });
  }

  /**
   * The weekly KPI report the digest links (shared/kindling-aws/src/reports.rs): send-steps
   * writes `reports/<day>.html` to a private bucket (no public access, encrypted at rest, TLS
   * only, objects expired by a lifecycle rule) and links it with a GET presigned for 7 days.
   * A presigned URL lasts only as long as the credentials that signed it, and the function's
   * role credentials last hours; so links are signed with the access key of a reader user that
   * may get `reports/*` of this bucket and nothing else, kept in a secret only send-steps reads.
   */
  private weeklyReports(s: KindlingSettings, sendSteps: lambda.Function): s3.Bucket {
    const days = s.reportRetentionDays ?? 30;
    if (!Number.isInteger(days) || days < 7) {
      throw new Error(`reportRetentionDays ${days}: a whole number of days, at least 7 (the digest's link works 7 days)`);
    }
    const bucket = new s3.Bucket(this, 'Reports', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'ExpireReports',
          prefix: 'reports/',
          expiration: Duration.days(days),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      // Emptied by its lifecycle rule; kept if the stack is deleted (a non-empty bucket could
      // not be deleted anyway).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Server access logs would need a second bucket for copies of a report that expires. Only send-steps writes here and only the reader key (in a secret only send-steps reads) signs links; CloudTrail data events can be enabled for an audit of reads.',
    });
    const reports = bucket.arnForObjects('reports/*');
    const reader = new iam.User(this, 'ReportReader');
    reader.addToPolicy(new iam.PolicyStatement({ sid: 'ReadReports', actions: ['s3:GetObject'], resources: [reports] }));
    const key = new iam.AccessKey(this, 'ReportReaderKey', { user: reader, serial: s.reportReaderKeySerial ?? 1 });
    const secret = new secretsmanager.Secret(this, 'ReportReaderSecret', {
      description: `Kindling ${s.stage}: the access key that signs the weekly report's links`,
      secretObjectValue: {
        access_key_id: SecretValue.unsafePlainText(key.accessKeyId),
        secret_access_key: key.secretAccessKey,
      },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'An IAM access key cannot be rotated by a Secrets Manager rotation without a rotation function of its own; it is rotated by bumping reportReaderKeySerial (README), which replaces the key and the secret in one deployment. The key can only read reports/ of the report bucket.',
    });
    sendSteps.addEnvironment('KINDLING_REPORT_BUCKET', bucket.bucketName);
    sendSteps.addEnvironment('KINDLING_REPORT_READER_SECRET_ARN', secret.secretArn);
    sendSteps.addToRolePolicy(new iam.PolicyStatement({ sid: 'WriteReports', actions: ['s3:PutObject'], resources: [reports] }));
    sendSteps.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'ReportReaderKey', actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
    );
    const bucketId = this.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
    for (const c of [sendSteps.role!, reader]) {
      Validations.of(c).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/reports/*]`,
        reason: 'The weekly reports are objects under reports/ of the report bucket, one per week: the grant names that prefix, one action each (write for send-steps, read for the reader).',
      });
    }
    new CfnOutput(this, 'ReportBucketName', { value: bucket.bucketName, description: 'Weekly KPI reports (reports/<day>.html)' });
    return bucket;
  }
}

/** One JSON line per request, with what an operator needs to trace it. */
function apigwAccessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      requestTime: '$context.requestTime',
      routeKey: '$context.routeKey',
      status: '$context.status',
      responseLength: '$context.responseLength',
      integrationError: '$context.integrationErrorMessage',
      userAgent: '$context.identity.userAgent',
    }),
  );
}

/**
 * `lead.crm_upsert.v1` → the CRM: a connection holding the credentials, an API destination, a
 * rule whose target maps the upsert to the CRM's body (the config's recipe), 24 hours of
 * retries, then a dead-letter queue that the intake function reads for `sync status` and
 * replays from. Nothing without `crmSync`.
 */
function crmSync(
stack: KindlingStack,
c: CrmSyncSettings | undefined,
source: string,
detailType: string,
): sqs.Queue | undefined {
  if (!c) return undefined;
  const crm = loadCrm();
  if (!crm) throw new Error('crmSync: config/kindling.toml has no [crm] section');
  if (!/^https:\/\/[^\s]+$/.test(c.endpoint)) throw new Error('crmSync.endpoint: an https URL');
  const rate = c.ratePerSecond ?? 10;
  if (!Number.isInteger(rate) || rate < 1 || rate > 300) throw new Error('crmSync.ratePerSecond: 1 to 300');
  const field = (jsonField: string) => SecretValue.secretsManager(c.secretName, { jsonField });
  let authorization: events.Authorization;
  if (c.auth === 'apiKey') {
    authorization = events.Authorization.apiKey(c.apiKeyHeader ?? 'Authorization', field('apiKey'));
  } else if (c.auth === 'oauth') {
    if (!c.tokenEndpoint?.startsWith('https://')) throw new Error('crmSync.tokenEndpoint: the https token URL');
    authorization = events.Authorization.oauth({
      authorizationEndpoint: c.tokenEndpoint,
      httpMethod: events.HttpMethod.POST,
      clientId: field('clientId').unsafeUnwrap(),
      clientSecret: field('clientSecret'),
      bodyParameters: { grant_type: events.HttpParameter.fromString('client_credentials') },
    });
  } else {
    throw new Error("crmSync.auth: 'apiKey' or 'oauth'");
  }
  const connection = new events.Connection(stack, 'CrmConnection', {
    description: `Kindling ${stack.stackName}: the CRM's credentials`,
    authorization,
  });
  const t = crm.transformer;
  const destination = new events.ApiDestination(stack, 'CrmDestination', {
    description: `Kindling: lead upserts (${t.recipe})`,
    connection,
    endpoint: c.endpoint,
    httpMethod: events.HttpMethod[t.method],
    rateLimitPerSecond: rate,
  });
  const deadLetters = new sqs.Queue(stack, 'CrmDeadLetters', {
    retentionPeriod: Duration.days(14),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  Validations.of(deadLetters).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: 'This queue is itself a dead-letter queue: upserts the CRM did not take, for sync status and replay.',
  });
  const rule = new events.Rule(stack, 'CrmRule', {
    description: `${detailType} → the CRM (${t.recipe})`,
    eventBus: stack.bus,
    eventPattern: { source: [source], detailType: [detailType] },
    targets: [
      new targets.ApiDestination(destination, {
        deadLetterQueue: deadLetters,
        maxEventAge: Duration.hours(24),
        retryAttempts: 185,
        pathParameterValues: t.pathParameterValues.length > 0 ? t.pathParameterValues : undefined,
        event: t.inputPath ? events.RuleTargetInput.fromEventPath(t.inputPath) : undefined,
      }),
    ],
  });
  if (t.inputTemplate) {
    // The recipe's template as written (placeholders unquoted), which RuleTargetInput cannot express.
    (rule.node.defaultChild as events.CfnRule).addPropertyOverride('Targets.0.InputTransformer', {
      InputPathsMap: t.inputPathsMap,
      InputTemplate: t.inputTemplate,
    });
  }
  const intake = stack.functions.intake;
  intake.addEnvironment('KINDLING_CRM_DEAD_LETTERS_URL', deadLetters.queueUrl);
  intake.addEnvironment('KINDLING_CRM_TARGET', `${c.endpoint} (API destination, ${t.recipe})`);
  intake.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'CrmDeadLetters',
      actions: ['sqs:GetQueueAttributes', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'],
      resources: [deadLetters.queueArn],
    }),
  );
  new CfnOutput(stack, 'CrmDeadLettersUrl', { value: deadLetters.queueUrl });
  return deadLetters;
}
