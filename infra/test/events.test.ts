// Every sample in events/ against the synthesized stack: EventBridge samples through every rule's
// pattern (each reaches exactly the function events/routing.json names, or none), HTTP samples
// through the API's routes, and function-URL samples to the beacon function (with `beaconUrl`).

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { CfnElement } from 'aws-cdk-lib';
import { matches } from '../lib/event-pattern';
import { FUNCTIONS, loadEventCatalog } from '../lib/kindling-stack';
import { functionId, refId, resources, ROOT, synth } from './helpers';

const { template } = synth();
const EVENTS = path.join(ROOT, 'events');
const routing: Record<string, string | null> = JSON.parse(fs.readFileSync(path.join(EVENTS, 'routing.json'), 'utf8'));
delete routing.comment;

// crm/: what the CRM's API destination takes (no function).
const samples = [...FUNCTIONS, 'crm'].flatMap((fn) =>
  fs
    .readdirSync(path.join(EVENTS, fn))
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ fn, file: `${fn}/${f}`, body: JSON.parse(fs.readFileSync(path.join(EVENTS, fn, f), 'utf8')) })),
);
const eventSamples = samples.filter((s) => 'detail-type' in s.body);
// A Lambda function URL's payload has the route key `$default`: no API route takes it.
const urlSamples = samples.filter((s) => s.body.routeKey === '$default');
const httpSamples = samples.filter((s) => 'routeKey' in s.body && s.body.routeKey !== '$default');

const nameOf = (logicalId: string) => FUNCTIONS.find((n) => functionId(template, n) === logicalId)!;
const rules = Object.values(resources(template, 'AWS::Events::Rule')).map((r) => ({
  pattern: r.Properties.EventPattern as Record<string, unknown> | undefined,
  schedule: r.Properties.ScheduleExpression as string | undefined,
  target: nameOf(refId(r.Properties.Targets[0].Arn)!),
}));

/** The functions a sample reaches: rules whose pattern matches, and the schedule for scheduled events. */
function reached(body: any): string[] {
  return rules
    .filter((r) =>
      r.pattern
        ? matches(r.pattern, body)
        : body.source === 'aws.events' && body['detail-type'] === 'Scheduled Event',
    )
    .map((r) => r.target)
    .sort();
}

describe('EventBridge samples', () => {
  test('events/routing.json lists exactly the EventBridge samples', () => {
    assert.deepEqual(Object.keys(routing).sort(), eventSamples.map((s) => s.file).sort());
    assert.ok(eventSamples.length >= 10);
  });

  for (const s of eventSamples) {
    const want = routing[s.file];
    test(`${s.file} reaches ${want ?? 'no function'}`, () => {
      assert.deepEqual(reached(s.body), want ? [want] : []);
      if (want) {
        assert.equal(want, s.fn, 'a sample lives in the folder of the function it is meant for');
      }
    });
  }

  test('every event in the catalog has a sample that reaches its function', () => {
    const catalog = loadEventCatalog();
    for (const e of catalog.kindling.events) {
      for (const dt of e.detailTypes) {
        const hits = eventSamples.filter((s) => s.body['detail-type'] === dt && reached(s.body).includes(e.function));
        assert.ok(hits.length > 0, dt);
      }
    }
    for (const dt of catalog.kindling.integrationOnly) {
      const samples = eventSamples.filter((s) => s.body['detail-type'] === dt);
      assert.ok(samples.length > 0, `a sample of ${dt}`);
      for (const s of samples) assert.deepEqual(reached(s.body), [], `${dt} is for integrations only`);
    }
    for (const dt of catalog.ses.detailTypes) {
      assert.ok(eventSamples.some((s) => s.body['detail-type'] === dt && reached(s.body).includes('feedback')), dt);
    }
  });

  test('a Kindling event from another bus source or of an unknown version reaches nothing', () => {
    const base = eventSamples.find((s) => s.file === 'score/activity-recorded.json')!.body;
    assert.deepEqual(reached({ ...base, 'detail-type': 'activity.recorded.v2' }), []);
    assert.deepEqual(reached({ ...base, source: 'kindling.fake' }), []);
    const bounce = eventSamples.find((s) => s.file === 'feedback/bounce-permanent.json')!.body;
    const other = structuredClone(bounce);
    other.detail.mail.tags['ses:configuration-set'] = ['someone-elses'];
    assert.deepEqual(reached(other), [], 'bounces of another configuration set are not ours');
  });
});

describe('function URL samples', () => {
  const { stack, template: withBeacon } = synth({ beaconUrl: true });
  const fns = resources(withBeacon, 'AWS::Lambda::Function');
  for (const s of urlSamples) {
    test(`${s.file} reaches the beacon function, which runs ${s.fn}'s code`, () => {
      assert.ok(stack.beaconFunction, 'beaconUrl makes the beacon function');
      const beaconId = stack.getLogicalId(stack.beaconFunction.node.defaultChild as CfnElement);
      const [url] = Object.values(resources(withBeacon, 'AWS::Lambda::Url'));
      assert.deepEqual(url.Properties.TargetFunctionArn, { 'Fn::GetAtt': [beaconId, 'Arn'] });
      assert.deepEqual(fns[beaconId].Properties.Code, fns[functionId(withBeacon, s.fn)].Properties.Code);
      assert.equal(s.body.requestContext.http.method, 'POST');
      assert.equal(s.body.rawPath, '/t/events');
    });
  }
});

describe('HTTP samples', () => {
  const routes = Object.values(resources(template, 'AWS::ApiGatewayV2::Route'));
  const integrations = resources(template, 'AWS::ApiGatewayV2::Integration');

  for (const s of httpSamples) {
    test(`${s.file} (${s.body.routeKey}) is routed to ${s.fn}`, () => {
      const route = routes.find((r) => r.Properties.RouteKey === s.body.routeKey);
      assert.ok(route, `no route ${s.body.routeKey}`);
      const integrationId = JSON.stringify(route.Properties.Target).match(/"(\w+Integration\w*)"/)![1];
      assert.equal(nameOf(refId(integrations[integrationId].Properties.IntegrationUri)!), s.fn);
    });
  }

});
