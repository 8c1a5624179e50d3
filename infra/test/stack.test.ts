// CDK assertions on the synthesized KindlingStack: every property that matters.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { CfnElement } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { matches } from '../lib/event-pattern';
import {
  ASYNC_FUNCTIONS,
  defaultLambdaDir,
  FUNCTIONS,
  loadCrm,
  loadEventCatalog,
  loadRouteCatalog,
  loadStageThrottle,
  loadReps,
  loadTestRecipients,
  OTHER_METHODS_THROTTLE,
} from '../lib/kindling-stack';
import { functionId, refId, resources, ROOT, synth, TEST_SETTINGS } from './helpers';

const { template } = synth();
const json = template.toJSON();

describe('table', () => {
  test('on demand, point-in-time recovery, TTL, the due index, protected and retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'PK', KeyType: 'HASH' },
          { AttributeName: 'SK', KeyType: 'RANGE' },
        ],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        DeletionProtectionEnabled: true,
        GlobalSecondaryIndexes: [
          {
            IndexName: 'GSI1',
            KeySchema: [
              { AttributeName: 'GSI1PK', KeyType: 'HASH' },
              { AttributeName: 'GSI1SK', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      },
    });
  });

  test('the key names are the ones the Rust store uses', () => {
    const keys = fs.readFileSync(path.join(ROOT, 'shared/kindling-aws/src/dynamo/keys.rs'), 'utf8');
    for (const name of ['"PK"', '"SK"', '"GSI1PK"', '"GSI1SK"', '"GSI1"', '"ttl"']) {
      assert.ok(keys.includes(name), `keys.rs does not name ${name}`);
    }
  });

  test('dueIndex: false leaves the index out for the one upgrade deploy', () => {
    const { template: t } = synth({ dueIndex: false });
    const tables = resources(t, 'AWS::DynamoDB::Table');
    const [table] = Object.values(tables);
    assert.equal(table.Properties.GlobalSecondaryIndexes, undefined);
  });

  test('without deletion protection the table goes with the stack', () => {
    const { template: t } = synth({ deletionProtection: false });
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: { DeletionProtectionEnabled: false },
    });
  });
});

describe('functions', () => {
  test('six functions on provided.al2023, x86_64 by default, JSON logs with retention', () => {
    const fns = resources(template, 'AWS::Lambda::Function');
    assert.equal(Object.keys(fns).length, FUNCTIONS.length);
    for (const name of FUNCTIONS) {
      const fn = fns[functionId(template, name)].Properties;
      assert.equal(fn.Runtime, 'provided.al2023', name);
      assert.equal(fn.Handler, 'bootstrap', name);
      assert.deepEqual(fn.Architectures, ['x86_64'], name);
      assert.equal(fn.LoggingConfig.LogFormat, 'JSON', name);
      assert.ok(refId(fn.LoggingConfig.LogGroup), `${name} logs to its own log group`);
    }
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, FUNCTIONS.length + 1);
  });

  test('without the built binaries synth stops with a message that names make build-lambdas', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'kindling-nolambda-'));
    assert.throws(() => synth({ lambdaDir: empty }), (e: Error) => {
      assert.match(e.message, /make build-lambdas/);
      assert.match(e.message, /track\/bootstrap/);
      return true;
    });
  });

  test('arm64 is an option', () => {
    const { template: t } = synth({ architecture: 'arm64' });
    for (const fn of Object.values(resources(t, 'AWS::Lambda::Function'))) {
      assert.deepEqual(fn.Properties.Architectures, ['arm64']);
    }
  });

  test('beaconUrl adds a beacon function of track\'s code behind a function URL, throttled by its concurrency', () => {
    const { stack, template: t } = synth({ beaconUrl: true, beaconConcurrency: 7 });
    const fns = resources(t, 'AWS::Lambda::Function');
    assert.equal(Object.keys(fns).length, FUNCTIONS.length + 1);
    const beaconId = stack.getLogicalId(stack.beaconFunction!.node.defaultChild as CfnElement);
    const beacon = fns[beaconId].Properties;
    const track = fns[functionId(t, 'track')].Properties;
    assert.equal(beacon.ReservedConcurrentExecutions, 7);
    assert.deepEqual(beacon.Code, track.Code, 'the same asset as track');
    t.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [beaconId, 'Arn'] },
      Cors: { AllowOrigins: ['https://www.example.jp'], AllowMethods: ['POST'] },
    });
    // track serves kindling.js with the URL filled in; the beacon function's own role.
    const [urlId] = Object.keys(t.findResources('AWS::Lambda::Url'));
    assert.deepEqual(track.Environment.Variables.KINDLING_BEACON_URL, { 'Fn::GetAtt': [urlId, 'FunctionUrl'] });
    assert.notDeepEqual(beacon.Role, track.Role);
    t.hasOutput('BeaconUrl', {});
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmDescription: 'The beacon function was throttled' });
  });

  test('send-steps alone has a reserved concurrency, of one', () => {
    for (const name of FUNCTIONS) {
      const fn = json.Resources[functionId(template, name)].Properties;
      assert.equal(fn.ReservedConcurrentExecutions, name === 'send-steps' ? 1 : undefined, name);
    }
  });

  test('each function gets the settings it reads, and only settings the code knows', () => {
    const known = new Set(
      ['settings.rs', 'metrics.rs'].flatMap(
        (f) => fs.readFileSync(path.join(ROOT, 'shared/kindling-aws/src', f), 'utf8').match(/KINDLING_[A-Z_]+/g) ?? [],
      ),
    );
    const base = ['KINDLING_TABLE', 'KINDLING_EVENT_BUS', 'KINDLING_PUBLIC_URL', 'KINDLING_METRICS_NAMESPACE'];
    const expected: Record<string, string[]> = {
      track: [...base, 'KINDLING_SIGNING_KEYS_SECRET_ARN'],
      intake: base,
      score: base,
      'send-steps': [
        ...base,
        'KINDLING_SIGNING_KEYS_SECRET_ARN',
        'KINDLING_SES_CONFIGURATION_SET',
        'KINDLING_REPORT_BUCKET',
        'KINDLING_REPORT_READER_SECRET_ARN',
      ],
      notify: [...base, 'KINDLING_ALERT_TOPIC_ARN', 'KINDLING_OPS_TOPIC_ARN'],
      feedback: base,
    };
    for (const name of FUNCTIONS) {
      const env = json.Resources[functionId(template, name)].Properties.Environment.Variables;
      assert.deepEqual(Object.keys(env).sort(), [...expected[name]].sort(), name);
      for (const key of Object.keys(env)) {
        assert.ok(known.has(key), `${key} is not read by settings.rs`);
      }
      assert.equal(refId(env.KINDLING_TABLE), refId({ Ref: Object.keys(resources(template, 'AWS::DynamoDB::Table'))[0] }));
      assert.equal(refId(env.KINDLING_EVENT_BUS), Object.keys(resources(template, 'AWS::Events::EventBus'))[0]);
      assert.ok(!JSON.stringify(env).match(/secret"\s*:/i), 'no secret value in the environment');
      assert.equal(env.KINDLING_METRICS_NAMESPACE, `Kindling/${TEST_SETTINGS.stage}`);
    }
    const sendSteps = json.Resources[functionId(template, 'send-steps')].Properties.Environment.Variables;
    assert.equal(sendSteps.KINDLING_SES_CONFIGURATION_SET, 'kindling');
    // Unset: the function sizes its budget from the account's send rate.
    assert.equal(sendSteps.KINDLING_SEND_BUDGET, undefined);
    const notify = json.Resources[functionId(template, 'notify')].Properties.Environment.Variables;
    assert.equal(refId(notify.KINDLING_ALERT_TOPIC_ARN), alertTopicId());
    // Ops alerts (sending paused) go to the ops topic, to the people who get the alarms.
    assert.equal(refId(notify.KINDLING_OPS_TOPIC_ARN), topicId('Kindling ops: alarms and ops alerts'));
  });

  test('the public URL is the API URL unless a custom domain is set', () => {
    const env = json.Resources[functionId(template, 'track')].Properties.Environment.Variables;
    assert.match(JSON.stringify(env.KINDLING_PUBLIC_URL), /execute-api/);
    const { template: t } = synth({ publicUrl: 'https://go.example.jp' });
    const custom = t.toJSON().Resources[functionId(t, 'track')].Properties.Environment.Variables;
    assert.equal(custom.KINDLING_PUBLIC_URL, 'https://go.example.jp');
  });
});

function alertTopicId(): string {
  return topicId('Kindling alerts');
}

function topicId(displayName: string): string {
  const topics = Object.entries(resources(template, 'AWS::SNS::Topic')).filter(
    ([, t]) => t.Properties.DisplayName === displayName,
  );
  assert.equal(topics.length, 1);
  return topics[0][0];
}

/** The statements of the policies attached to the role of function `name`. */
function statementsOf(name: string): any[] {
  const roleId = refId(json.Resources[functionId(template, name)].Properties.Role);
  const policies = Object.values(resources(template, 'AWS::IAM::Policy')).filter((p) =>
    (p.Properties.Roles ?? []).some((r: any) => refId(r) === roleId),
  );
  const role = json.Resources[roleId!].Properties;
  assert.equal(role.ManagedPolicyArns, undefined, `${name}: no managed policies`);
  assert.equal(role.Policies, undefined, `${name}: no inline role policies besides the attached one`);
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
}

function actionsOf(name: string): string[] {
  const actions = statementsOf(name).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
  return [...new Set(actions)].sort();
}

describe('IAM', () => {
  test('no statement anywhere grants a wildcard action', () => {
    // Identity policies, role trust policies, queue, topic and secret policies: every Allow.
    const documents: [string, any][] = [];
    for (const [id, r] of Object.entries<any>(json.Resources)) {
      for (const key of ['PolicyDocument', 'AssumeRolePolicyDocument', 'KeyPolicy', 'ResourcePolicy']) {
        if (r.Properties?.[key]) documents.push([`${id}.${key}`, r.Properties[key]]);
      }
    }
    assert.ok(documents.length > FUNCTIONS.length);
    let allows = 0;
    for (const [where, doc] of documents) {
      for (const s of doc.Statement) {
        const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
        if (s.Effect === 'Allow') {
          allows += 1;
          for (const a of actions) assert.ok(!a.includes('*'), `${where}: ${a}`);
        } else {
          // The only Deny: refuse requests without TLS (enforceSSL), which must cover every action.
          assert.deepEqual(s.Condition, { Bool: { 'aws:SecureTransport': 'false' } }, where);
        }
      }
    }
    assert.ok(allows > 20);
  });

  test('no function statement has a wildcard resource but the send quota read', () => {
    let quota = 0;
    for (const name of FUNCTIONS) {
      for (const s of statementsOf(name)) {
        for (const r of Array.isArray(s.Resource) ? s.Resource : [s.Resource]) {
          if (r === '*') {
            // ses:GetAccount has no resource type; it is send-steps' only '*', and read-only.
            assert.equal(name, 'send-steps', JSON.stringify(s));
            assert.deepEqual(s.Action, 'ses:GetAccount', JSON.stringify(s));
            quota += 1;
            continue;
          }
          assert.notEqual(r, '*', `${name}: ${JSON.stringify(s)}`);
        }
      }
    }
    assert.equal(quota, 1);
  });

  test('each function can reach only what it uses', () => {
    const rw = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'];
    const logs = ['logs:CreateLogStream', 'logs:PutLogEvents'];
    const expected: Record<string, string[]> = {
      track: [...logs, ...rw, 'events:PutEvents', 'secretsmanager:GetSecretValue'],
      // ses:Send*: broadcast test sends, to the configured reviewers only (see below).
      intake: [...logs, ...rw, 'events:PutEvents', 'ses:SendEmail', 'ses:SendRawEmail'],
      score: [...logs, ...rw, 'events:PutEvents'],
      'send-steps': [
        ...logs,
        ...rw,
        'dynamodb:DeleteItem',
        'events:PutEvents',
        's3:PutObject',
        'secretsmanager:GetSecretValue',
        'ses:GetAccount',
        'ses:SendEmail',
        'ses:SendRawEmail',
        'sqs:SendMessage',
      ],
      notify: [
        ...logs,
        ...rw,
        'dynamodb:DeleteItem',
        'events:PutEvents',
        'sns:Publish',
        'sqs:SendMessage',
      ],
      feedback: [...logs, ...rw, 'events:PutEvents', 'sqs:SendMessage'],
    };
    // score's sqs:SendMessage: its failed async invocations go to its DLQ.
    expected.score.push('sqs:SendMessage', 'dynamodb:Scan');
    for (const name of FUNCTIONS) {
      assert.deepEqual(actionsOf(name), [...expected[name]].sort(), name);
    }
  });

  test('grants name their resources: the table, the due index, the bus, the secret, the identity', () => {
    const tableId = Object.keys(resources(template, 'AWS::DynamoDB::Table'))[0];
    const busId = Object.keys(resources(template, 'AWS::Events::EventBus'))[0];
    const secretId = Object.keys(resources(template, 'AWS::SecretsManager::Secret')).find((id) =>
      id.startsWith('SigningKeys'),
    );
    for (const name of FUNCTIONS) {
      for (const s of statementsOf(name)) {
        const text = JSON.stringify(s.Resource);
        if (s.Sid === 'Table') assert.equal(refId(s.Resource), tableId, name);
        if (s.Sid === 'DueIndex') assert.match(text, new RegExp(`${tableId}.*/index/GSI1`), name);
        if (s.Sid === 'Publish') assert.equal(refId(s.Resource), busId, name);
        if (s.Sid === 'SigningKeys') assert.equal(refId(s.Resource), secretId, name);
        if (s.Sid === 'Alert') assert.equal(refId(s.Resource), alertTopicId(), name);
        if (s.Sid === 'OpsAlert') assert.equal(refId(s.Resource), topicId('Kindling ops: alarms and ops alerts'), name);
        if (s.Sid === 'Send') {
          assert.match(text, /identity\/example\.jp/);
          assert.match(text, /configuration-set\/kindling/);
        }
        if (s.Sid === 'TestSend') {
          // intake may mail the config's test addresses and nobody else.
          assert.equal(name, 'intake');
          assert.match(text, /identity\/example\.jp/);
          assert.deepEqual(s.Condition, {
            'ForAllValues:StringEquals': { 'ses:Recipients': loadTestRecipients() },
          });
          assert.ok(loadTestRecipients().length > 0);
        }
      }
    }
    assert.ok(statementsOf('intake').some((s) => s.Sid === 'TestSend'), 'intake has the test-send grant');
    const dueIndexUsers = FUNCTIONS.filter((n) => statementsOf(n).some((s) => s.Sid === 'DueIndex'));
    assert.deepEqual(dueIndexUsers, ['send-steps']);
    // Only the one-off rescore walks the table, and only the score function runs it.
    const scanners = FUNCTIONS.filter((n) => actionsOf(n).includes('dynamodb:Scan'));
    assert.deepEqual(scanners, ['score']);
    const rescore = statementsOf('score').find((s) => s.Sid === 'Rescore')!;
    assert.equal(refId(rescore.Resource), tableId);
  });
});

describe('HTTP API', () => {
  const routes = Object.values(resources(template, 'AWS::ApiGatewayV2::Route'));
  const integrations = resources(template, 'AWS::ApiGatewayV2::Integration');
  const target = (route: any): string => {
    const integrationId = JSON.stringify(route.Properties.Target).match(/"(\w+Integration\w*)"/)![1];
    return refId(integrations[integrationId].Properties.IntegrationUri)!;
  };

  test('every route of the route catalog, to its function, IAM on admin routes; ANY per path for 405s', () => {
    const catalog = loadRouteCatalog();
    const expected = new Map<string, { fn: string; auth: string }>();
    for (const r of catalog) {
      expected.set(`${r.method} ${r.path}`, { fn: r.function, auth: r.auth });
      expected.set(`ANY ${r.path}`, { fn: r.function, auth: r.auth });
    }
    assert.deepEqual(routes.map((r) => r.Properties.RouteKey).sort(), [...expected.keys()].sort());
    for (const r of routes) {
      const key = r.Properties.RouteKey;
      const want = expected.get(key)!;
      assert.equal(target(r), functionId(template, want.fn), key);
      assert.equal(r.Properties.AuthorizationType, want.auth === 'iam' ? 'AWS_IAM' : 'NONE', key);
      assert.equal(key.includes(' /admin/') || key.includes(' /hooks/'), want.auth === 'iam', key);
    }
    // The routes DESIGN.md names are all there.
    for (const key of ['POST /t/events', 'GET /t/o/{token}', 'GET /t/c/{token}', 'GET /u/{token}', 'POST /u/{token}',
      'GET /kindling.js', 'POST /forms/{form_id}', 'GET /admin/leads/{lead}']) {
      assert.ok(expected.has(key), key);
    }
  });

  test('CORS allows only the configured origins', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: {
        AllowOrigins: TEST_SETTINGS.allowedOrigins,
        AllowMethods: ['GET', 'POST'],
        AllowHeaders: ['content-type'],
      },
    });
  });

  test('the [api] limits of the config throttle the stage and each route; access is logged', () => {
    const stage = Object.values(resources(template, 'AWS::ApiGatewayV2::Stage'))[0].Properties;
    assert.equal(stage.StageName, '$default');
    assert.deepEqual(stage.DefaultRouteSettings, { ThrottlingBurstLimit: 400, ThrottlingRateLimit: 200 });
    assert.deepEqual(loadStageThrottle(), { rate: 200, burst: 400 });
    const keys = new Set(routes.map((r) => r.Properties.RouteKey));
    for (const [key, s] of Object.entries<any>(stage.RouteSettings)) {
      assert.ok(keys.has(key), `route settings for unknown route ${key}`);
      assert.ok(s.ThrottlingRateLimit > 0 && s.ThrottlingBurstLimit >= s.ThrottlingRateLimit, key);
    }
    // The catalog's throttles, and a low one on each path's other methods.
    for (const r of loadRouteCatalog()) {
      const set = stage.RouteSettings[`${r.method} ${r.path}`];
      if (r.throttle) {
        assert.deepEqual(set, { ThrottlingRateLimit: r.throttle.rate, ThrottlingBurstLimit: r.throttle.burst }, r.path);
      } else {
        assert.equal(set, undefined, r.path);
      }
      assert.equal(stage.RouteSettings[`ANY ${r.path}`].ThrottlingRateLimit, OTHER_METHODS_THROTTLE.rate);
    }
    assert.equal(stage.RouteSettings['POST /t/events'].ThrottlingRateLimit, 100);
    // Sized for 100 mails a second: the links carry 2 fetches a mail with 2x headroom, and so on.
    assert.equal(stage.RouteSettings['GET /t/c/{token}'].ThrottlingRateLimit, 400);
    assert.equal(stage.RouteSettings['GET /t/o/{token}'].ThrottlingRateLimit, 120);
    assert.equal(stage.RouteSettings['GET /u/{token}'].ThrottlingRateLimit, 80);
    assert.equal(stage.RouteSettings['POST /u/{token}'].ThrottlingRateLimit, 20);
    assert.ok(refId(stage.AccessLogSettings.DestinationArn));
    assert.match(stage.AccessLogSettings.Format, /\$context\.requestId/);
  });

  test('API Gateway may invoke track and intake only', () => {
    const invoked = new Set(
      Object.values(resources(template, 'AWS::Lambda::Permission'))
        .filter((p) => p.Properties.Principal === 'apigateway.amazonaws.com')
        .map((p) => refId(p.Properties.FunctionName)),
    );
    assert.deepEqual([...invoked].sort(), [functionId(template, 'intake'), functionId(template, 'track')].sort());
  });
});

describe('event routing', () => {
  const rules = Object.values(resources(template, 'AWS::Events::Rule'));
  const catalog = loadEventCatalog();
  const dlqOf = (name: string): string => {
    const cfg = Object.values(resources(template, 'AWS::Lambda::EventInvokeConfig')).find(
      (c) => refId(c.Properties.FunctionName) === functionId(template, name),
    );
    return refId(cfg!.Properties.DestinationConfig.OnFailure.Destination)!;
  };

  test('one rule per consumer: the catalog events on the Kindling bus, SES feedback, the schedule', () => {
    const busId = Object.keys(resources(template, 'AWS::Events::EventBus'))[0];
    for (const e of catalog.kindling.events) {
      const rule = rules.find((r) => JSON.stringify(r.Properties.EventPattern?.['detail-type']) === JSON.stringify(e.detailTypes));
      assert.ok(rule, e.function);
      assert.deepEqual(rule.Properties.EventPattern, { source: ['kindling'], 'detail-type': e.detailTypes });
      assert.equal(refId(rule.Properties.EventBusName), busId);
      assert.equal(refId(rule.Properties.Targets[0].Arn), functionId(template, e.function));
    }
    const ses = rules.find((r) => r.Properties.EventPattern?.source?.[0] === 'aws.ses')!;
    assert.deepEqual(ses.Properties.EventPattern, {
      source: ['aws.ses'],
      'detail-type': ['Email Bounced', 'Email Complaint Received', 'Email Delivered'],
      detail: { mail: { tags: { 'ses:configuration-set': ['kindling'] } } },
    });
    assert.equal(ses.Properties.EventBusName, undefined, 'SES publishes to the default bus');
    assert.equal(refId(ses.Properties.Targets[0].Arn), functionId(template, 'feedback'));
    const schedule = rules.find((r) => r.Properties.ScheduleExpression)!;
    assert.equal(schedule.Properties.ScheduleExpression, 'rate(1 minute)');
    assert.equal(refId(schedule.Properties.Targets[0].Arn), functionId(template, 'send-steps'));
    assert.equal(rules.length, catalog.kindling.events.length + 2);
  });

  test('every async target retries for 24 hours, then lands in its function DLQ', () => {
    for (const rule of rules) {
      for (const t of rule.Properties.Targets) {
        assert.deepEqual(t.RetryPolicy, { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 });
        const fnId = refId(t.Arn)!;
        const name = FUNCTIONS.find((n) => functionId(template, n) === fnId)!;
        assert.equal(refId(t.DeadLetterConfig.Arn), dlqOf(name), name);
      }
    }
  });

  test("Lambda's own async retries end in the same DLQs, encrypted and TLS-only", () => {
    const configs = Object.values(resources(template, 'AWS::Lambda::EventInvokeConfig'));
    assert.equal(configs.length, ASYNC_FUNCTIONS.length);
    for (const c of configs) {
      assert.equal(c.Properties.MaximumEventAgeInSeconds, 6 * 3600);
      assert.equal(c.Properties.MaximumRetryAttempts, 2);
    }
    const queues = resources(template, 'AWS::SQS::Queue');
    for (const name of ASYNC_FUNCTIONS) {
      const q = queues[dlqOf(name)].Properties;
      assert.equal(q.SqsManagedSseEnabled, true, name);
      assert.equal(q.MessageRetentionPeriod, 14 * 86400, name);
    }
    const policies = Object.values(resources(template, 'AWS::SQS::QueuePolicy'));
    for (const name of ASYNC_FUNCTIONS) {
      const p = policies.find((x) => x.Properties.Queues.some((q: any) => refId(q) === dlqOf(name)))!;
      const statements = p.Properties.PolicyDocument.Statement;
      assert.ok(statements.some((s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'));
      assert.ok(statements.some((s: any) => s.Principal?.Service === 'events.amazonaws.com' && s.Condition?.ArnEquals));
    }
  });
});

describe('SES, SNS and alarms', () => {
  test('the configuration set publishes bounces and complaints to the default bus', () => {
    template.hasResourceProperties('AWS::SES::ConfigurationSet', { Name: 'kindling' });
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: Match.anyValue(),
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: Match.arrayWith(['bounce', 'complaint']),
        EventBridgeDestination: { EventBusArn: Match.anyValue() },
      },
    });
    const dest = Object.values(resources(template, 'AWS::SES::ConfigurationSetEventDestination'))[0];
    assert.match(JSON.stringify(dest.Properties.EventDestination.EventBridgeDestination), /event-bus\/default/);
  });

  test('the alert topic is encrypted; sales and support subscribe, each filtered to its audience', () => {
    const alert = json.Resources[alertTopicId()].Properties;
    assert.match(JSON.stringify(alert.KmsMasterKeyId), /alias\/aws\/sns/);
    // Each rep of [[reps]] gets the sales alerts it owns; the team those without an owner.
    const reps = loadReps();
    assert.ok(reps.length > 0, 'the shipped config has reps');
    for (const rep of reps) {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: rep.email,
        TopicArn: { Ref: alertTopicId() },
        FilterPolicy: { audience: ['sales'], owner: [rep.id] },
      });
    }
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'sales@example.jp',
      TopicArn: { Ref: alertTopicId() },
      FilterPolicy: { audience: ['sales'], owner: [{ exists: false }] },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'support@example.jp',
      TopicArn: { Ref: alertTopicId() },
      FilterPolicy: { audience: ['support'] },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.jp' });
  });

  test('alarms: DLQ depth, errors and throttles of every function, SES bounce and complaint rates', () => {
    const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const on = (metric: string) => alarms.filter((a) => a.MetricName === metric);
    assert.equal(on('ApproximateNumberOfMessagesVisible').length, ASYNC_FUNCTIONS.length);
    assert.equal(on('Errors').length, FUNCTIONS.length);
    assert.equal(on('Throttles').length, FUNCTIONS.length);
    assert.equal(on('Reputation.BounceRate')[0].Threshold, 0.02);
    assert.equal(on('Reputation.ComplaintRate')[0].Threshold, 0.0008);
    for (const a of alarms) {
      assert.equal(a.AlarmActions.length, 1, a.AlarmDescription);
    }
  });

  test('a dashboard of every EMF metric the functions emit, the breaker, the DLQs and errors', () => {
    const dashboards = Object.values(resources(template, 'AWS::CloudWatch::Dashboard'));
    assert.equal(dashboards.length, 1);
    const d = dashboards[0].Properties;
    assert.equal(d.DashboardName, `Kindling-${TEST_SETTINGS.stage}`);
    const body = JSON.stringify(d.DashboardBody);
    const namespace = `Kindling/${TEST_SETTINGS.stage}`;
    for (const name of loadEventCatalog().metrics.names) {
      assert.ok(body.includes(`\\"${namespace}\\",\\"${name}\\"`), `${name} is on the dashboard`);
    }
    assert.equal(body.match(/ApproximateNumberOfMessagesVisible/g)?.length, ASYNC_FUNCTIONS.length, 'each DLQ');
    assert.equal(body.match(/\\"Errors\\"/g)?.length, FUNCTIONS.length, 'each function');
    for (const title of ['Sends', 'Bounces and complaints', 'Leads', 'Breaker']) {
      assert.ok(body.includes(title), title);
    }
  });

  test('outputs: API URL, table, bus, topic, the function to rescore with, the report bucket', () => {
    for (const name of ['ApiUrl', 'TableName', 'EventBusName', 'AlertTopicArn', 'ScoreFunction', 'ReportBucketName']) {
      template.hasOutput(name, {});
    }
  });
});

describe('the weekly report', () => {
  const bucketId = () => Object.keys(resources(template, 'AWS::S3::Bucket'))[0];
  const statements = (type: string, match: (r: any) => boolean): any[] =>
    Object.values(resources(template, type))
      .filter(match)
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);

  test('one bucket: no public access, encrypted, TLS only, reports expire, kept on stack deletion', () => {
    const buckets = resources(template, 'AWS::S3::Bucket');
    assert.equal(Object.keys(buckets).length, 1);
    const b = Object.values(buckets)[0] as any;
    assert.equal(b.DeletionPolicy, 'Retain');
    const p = b.Properties;
    assert.deepEqual(p.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    assert.equal(p.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm, 'AES256');
    assert.equal(p.OwnershipControls.Rules[0].ObjectOwnership, 'BucketOwnerEnforced');
    const rule = p.LifecycleConfiguration.Rules[0];
    assert.deepEqual([rule.Status, rule.Prefix, rule.ExpirationInDays], ['Enabled', 'reports/', 30]);
    const policy = statements('AWS::S3::BucketPolicy', () => true);
    assert.ok(
      policy.some((st: any) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false'),
      'TLS only',
    );
  });

  test('send-steps may write reports/ and read the reader key; the reader may only get reports/', () => {
    const reports = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId(), 'Arn'] }, '/reports/*']] };
    const sendSteps = statements('AWS::IAM::Policy', (p) => JSON.stringify(p).includes('SendStepsRole'));
    const write = sendSteps.find((st: any) => st.Sid === 'WriteReports');
    assert.deepEqual([write.Action, write.Resource], ['s3:PutObject', reports]);
    const key = sendSteps.find((st: any) => st.Sid === 'ReportReaderKey');
    assert.equal(key.Action, 'secretsmanager:GetSecretValue');
    const users = Object.keys(resources(template, 'AWS::IAM::User'));
    assert.equal(users.length, 1);
    const reader = statements('AWS::IAM::Policy', (p) => JSON.stringify(p.Properties.Users ?? []).includes(users[0]));
    assert.deepEqual(
      reader.map((st: any) => [st.Action, st.Resource]),
      [['s3:GetObject', reports]],
    );
    // Only send-steps reads the reader key, and only send-steps knows the bucket.
    for (const [name, fn] of Object.entries(resources(template, 'AWS::Lambda::Function'))) {
      const env = (fn as any).Properties.Environment?.Variables ?? {};
      const isSendSteps = name.startsWith('SendSteps');
      assert.equal('KINDLING_REPORT_BUCKET' in env, isSendSteps, name);
      assert.equal('KINDLING_REPORT_READER_SECRET_ARN' in env, isSendSteps, name);
    }
    const others = statements('AWS::IAM::Policy', (p) => !JSON.stringify(p).includes('SendStepsRole'));
    assert.ok(!JSON.stringify(others).includes('ReportReaderSecret'), 'no other role reads the key');
  });

  test('the reader key lives in a secret; a new serial makes a new key', () => {
    const keys = Object.values(resources(template, 'AWS::IAM::AccessKey')) as any[];
    assert.equal(keys.length, 1);
    assert.equal(keys[0].Properties.Serial, 1);
    const { template: rotated } = synth({ reportReaderKeySerial: 2 });
    assert.equal((Object.values(resources(rotated, 'AWS::IAM::AccessKey'))[0] as any).Properties.Serial, 2);
    const secrets = JSON.stringify(resources(template, 'AWS::SecretsManager::Secret'));
    assert.ok(secrets.includes('access_key_id') && secrets.includes('SecretAccessKey'), secrets);
  });

  test('the digest runs on the send-steps schedule, every minute', () => {
    const rules = Object.values(resources(template, 'AWS::Events::Rule')).map((r: any) => r.Properties);
    const schedule = rules.find((r) => r.ScheduleExpression);
    assert.equal(schedule.ScheduleExpression, 'rate(1 minute)');
    assert.ok(JSON.stringify(schedule.Targets).includes('SendSteps'));
  });
});

describe('CRM sync', () => {
  const crmSync = {
    endpoint: 'https://api.hubapi.com/crm/v3/objects/contacts/batch/upsert',
    auth: 'apiKey' as const,
    secretName: 'kindling/hubspot',
  };
  const { template } = synth({ crmSync });
  const sample = JSON.parse(fs.readFileSync(path.join(ROOT, 'events', 'crm', 'lead-crm-upsert.json'), 'utf8'));

  test('off by default: no connection, destination, rule or queue', () => {
    const { template: off } = synth();
    for (const type of ['AWS::Events::Connection', 'AWS::Events::ApiDestination']) {
      assert.equal(Object.keys(resources(off, type)).length, 0, type);
    }
    assert.ok(!JSON.stringify(off.toJSON()).includes('lead.crm_upsert.v1'));
  });

  test('a connection with the API key from the named secret, never in the template', () => {
    const [c] = Object.values(resources(template, 'AWS::Events::Connection'));
    assert.equal(c.Properties.AuthorizationType, 'API_KEY');
    const key = c.Properties.AuthParameters.ApiKeyAuthParameters;
    assert.equal(key.ApiKeyName, 'Authorization');
    assert.match(JSON.stringify(key.ApiKeyValue), /resolve:secretsmanager:kindling\/hubspot:SecretString:apiKey/);
  });

  test('an API destination at the endpoint, rate limited, with the recipe\'s method', () => {
    const [d] = Object.values(resources(template, 'AWS::Events::ApiDestination'));
    assert.equal(d.Properties.InvocationEndpoint, crmSync.endpoint);
    assert.equal(d.Properties.HttpMethod, 'POST');
    assert.equal(d.Properties.InvocationRateLimitPerSecond, 10);
  });

  test('a rule of lead.crm_upsert.v1 on the bus, its input from the config, 24 h of retries, a DLQ with an alarm', () => {
    const rules = Object.values(resources(template, 'AWS::Events::Rule')).filter((r) =>
      JSON.stringify(r.Properties.EventPattern ?? {}).includes('lead.crm_upsert.v1'),
    );
    assert.equal(rules.length, 1);
    const rule = rules[0];
    assert.ok(matches(rule.Properties.EventPattern, sample), 'the sample reaches the CRM');
    assert.ok(!matches(rule.Properties.EventPattern, { ...sample, 'detail-type': 'lead.became_hot.v1' }));
    const target = rule.Properties.Targets[0];
    assert.deepEqual(target.RetryPolicy, { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 });
    const dlq = refId(target.DeadLetterConfig.Arn)!;
    assert.equal(resources(template, 'AWS::SQS::Queue')[dlq].Properties.SqsManagedSseEnabled, true);
    const catalog = loadCrm()!;
    if (catalog.transformer.inputTemplate) {
      assert.equal(target.InputTransformer.InputTemplate, catalog.transformer.inputTemplate);
      assert.deepEqual(target.InputTransformer.InputPathsMap, catalog.transformer.inputPathsMap);
    } else {
      assert.equal(target.InputPath, catalog.transformer.inputPath);
    }
    const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm')).filter(
      (a) => refId(a.Properties.Dimensions?.[0]?.Value) === dlq,
    );
    assert.equal(alarms.length, 1, 'one alarm on the CRM dead letters');
    assert.equal(alarms[0].Properties.Threshold, 1);
  });

  test('intake reads and replays the dead letters; nothing else may', () => {
    const fn = resources(template, 'AWS::Lambda::Function')[functionId(template, 'intake')];
    assert.ok(fn.Properties.Environment.Variables.KINDLING_CRM_DEAD_LETTERS_URL);
    const policies = JSON.stringify(resources(template, 'AWS::IAM::Policy'));
    assert.ok(policies.includes('sqs:ChangeMessageVisibility'));
  });

  test('every recipe synthesizes: Salesforce PATCHes by external id with OAuth client credentials', () => {
    const { template: sf } = synth({
      crmSync: {
        endpoint: 'https://example.my.salesforce.com/services/data/v61.0/sobjects/Lead/Kindling_Id__c/*',
        auth: 'oauth',
        secretName: 'kindling/salesforce',
        tokenEndpoint: 'https://login.salesforce.com/services/oauth2/token',
      },
    });
    const [c] = Object.values(resources(sf, 'AWS::Events::Connection'));
    assert.equal(c.Properties.AuthorizationType, 'OAUTH_CLIENT_CREDENTIALS');
    assert.match(JSON.stringify(c.Properties.AuthParameters), /kindling\/salesforce:SecretString:clientSecret/);
  });

  test('bad CRM settings stop synth with a message', () => {
    assert.throws(() => synth({ crmSync: { ...crmSync, endpoint: 'http://plain' } }), /crmSync.endpoint/);
    assert.throws(() => synth({ crmSync: { ...crmSync, auth: 'oauth' } }), /tokenEndpoint/);
    assert.throws(() => synth({ crmSync: { ...crmSync, ratePerSecond: 0 } }), /ratePerSecond/);
  });
});

describe('settings are checked', () => {
  for (const [what, bad] of [
    ['stage', { stage: 'Prod!' }],
    ['sender', { senderIdentity: '' }],
    ['origins', { allowedOrigins: ['https://www.example.jp/path'] }],
    ['retention', { logRetentionDays: 31 }],
    ['report retention', { reportRetentionDays: 6 }],
  ] as const) {
    test(`a bad ${what} stops synthesis`, () => {
      assert.throws(() => synth(bad as any));
    });
  }
});

describe('function binaries', () => {
  test("are looked for in cargo's target directory, wherever CARGO_TARGET_DIR puts it", () => {
    assert.equal(defaultLambdaDir('x86_64', {}), path.join(ROOT, 'target', 'lambda'));
    assert.equal(defaultLambdaDir('arm64', { CARGO_TARGET_DIR: '/cache/t' }), '/cache/t/lambda-arm64');
    assert.equal(defaultLambdaDir('x86_64', { CARGO_TARGET_DIR: 'out' }), path.join(ROOT, 'out', 'lambda'));
    assert.equal(
      defaultLambdaDir('x86_64', { KINDLING_TARGET_DIR: '/m/t', CARGO_TARGET_DIR: '/other' }),
      '/m/t/lambda',
    );
  });
});
