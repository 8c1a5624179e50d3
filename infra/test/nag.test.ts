// cdk-nag's AWS Solutions checks on the synthesized stack: zero unacknowledged findings, and every
// acknowledgement carries a written reason.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { KindlingStack } from '../lib/kindling-stack';
import { fixtureLambdaDir, TEST_SETTINGS } from './helpers';

interface Finding {
  ruleName: string;
  resource: string;
}

/** Synthesizes with the checks and returns the unacknowledged findings from the report. */
function nag(extend?: (stack: Stack) => void, crm = false, beaconUrl = false): { findings: Finding[]; app: App } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'kindling-nag-'));
  const app = new App({ outdir });
  const stack = new KindlingStack(app, 'Kindling-nag', {
    settings: {
      ...TEST_SETTINGS,
      lambdaDir: fixtureLambdaDir(),
      ...(crm
        ? { crmSync: { endpoint: 'https://api.hubapi.com/crm/v3/objects/contacts/batch/upsert', auth: 'apiKey' as const, secretName: 'kindling/hubspot' } }
        : {}),
      beaconUrl,
    },
    env: { account: '123456789012', region: 'ap-northeast-1' },
  });
  extend?.(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  let error: unknown;
  try {
    app.synth();
  } catch (e) {
    error = e;
  }
  const reportFile = path.join(outdir, 'validation-report.json');
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
  const findings: Finding[] = report.pluginReports.flatMap((r: any) =>
    (r.violations ?? []).flatMap((v: any) =>
      (v.violatingResources ?? v.violatingConstructs ?? []).map((x: any) => ({
        ruleName: v.ruleName,
        resource: x.constructPath ?? x.resourceLogicalId ?? JSON.stringify(x),
      })),
    ),
  );
  if (error && findings.length === 0) {
    throw error;
  }
  return { findings, app };
}

function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .map(([id, reason]) => ({ path: c.node.path, id, reason })),
  );
}

describe('cdk-nag AwsSolutionsChecks', () => {
  test('the stack has no unacknowledged finding', () => {
    const { findings } = nag();
    assert.deepEqual(findings, []);
  });

  test('with the CRM sync on, still none', () => {
    const { findings } = nag(undefined, true);
    assert.deepEqual(findings, []);
  });

  test('with the beacon URL on, still none', () => {
    const { findings } = nag(undefined, false, true);
    assert.deepEqual(findings, []);
  });

  test('a finding is reported (the check is live)', () => {
    const { findings } = nag((stack) => new sqs.Queue(stack, 'Careless'));
    assert.ok(
      findings.some((f) => f.ruleName.includes('AwsSolutions-SQS3') || f.ruleName.includes('AwsSolutions-SQS4')),
      JSON.stringify(findings),
    );
  });

  test('every acknowledgement has a written reason', () => {
    const { app } = nag();
    const acks = acknowledgements(app);
    assert.ok(acks.length > 0);
    for (const a of acks) {
      assert.ok(a.reason.trim().length >= 40, `${a.path} ${a.id}: reason too short: ${a.reason}`);
    }
    // The acknowledged rules, for the record (shown with --test-reporter=spec).
    const ids = [...new Set(acks.map((a) => a.id.replace(/^(Annotation|AwsSolutions)::/, '')))].sort();
    assert.deepEqual(ids, [
      'AwsSolutions-APIG4',
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::<Reports65402A0A.Arn>/reports/*]',
      'AwsSolutions-S1',
      'AwsSolutions-SMG4',
      'AwsSolutions-SNS2',
      'AwsSolutions-SQS3',
    ]);
  });
});
