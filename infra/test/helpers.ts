// Shared by the tests: synthesizing KindlingStack with test settings, offline.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { FUNCTIONS, KindlingStack, type KindlingSettings } from '../lib/kindling-stack';

export const ROOT = path.join(__dirname, '..', '..');

/** A directory shaped like `cargo lambda build` output, so assertions need no Rust build. */
export function fixtureLambdaDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kindling-lambda-'));
  for (const name of FUNCTIONS) {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, 'bootstrap'), `#!/bin/sh\n# ${name}\n`, { mode: 0o755 });
  }
  return dir;
}

export const TEST_SETTINGS: KindlingSettings = {
  stage: 'test',
  senderIdentity: 'example.jp',
  // The configuration set the samples in events/feedback are tagged with.
  configurationSetName: 'kindling',
  alertEmails: ['sales@example.jp'],
  supportEmails: ['support@example.jp'],
  opsEmails: ['ops@example.jp'],
  allowedOrigins: ['https://www.example.jp'],
};

export function synth(overrides: Partial<KindlingSettings> = {}): { stack: KindlingStack; template: Template } {
  const app = new App();
  const stack = new KindlingStack(app, 'Kindling-test', {
    settings: { ...TEST_SETTINGS, lambdaDir: fixtureLambdaDir(), ...overrides },
    env: { account: '123456789012', region: 'ap-northeast-1' },
  });
  return { stack, template: Template.fromStack(stack) };
}

type Resources = Record<string, { Type: string; Properties?: any; DeletionPolicy?: string }>;

export function resources(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

/** The logical id of the function named `name` (construct id in PascalCase). */
export function functionId(template: Template, name: string): string {
  const found = Object.entries(resources(template, 'AWS::Lambda::Function')).filter(([, r]) =>
    String(r.Properties?.Description ?? '').endsWith(`: ${name}`),
  );
  if (found.length !== 1) {
    throw new Error(`expected one function ${name}, found ${found.length}`);
  }
  return found[0][0];
}

/** The logical id a `{ "Fn::GetAtt": [id, ...] }` or `{ Ref: id }` points to. */
export function refId(value: any): string | undefined {
  if (value?.Ref) return value.Ref;
  if (value?.['Fn::GetAtt']) return value['Fn::GetAtt'][0];
  return undefined;
}
