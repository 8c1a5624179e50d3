// The CDK app: one KindlingStack, its settings from the `kindling` context (cdk.json, or
// `-c kindling='{"stage":"staging",...}'`), AWS Solutions checks (cdk-nag) on every synth.

import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { KindlingStack, type KindlingSettings } from '../lib/kindling-stack';

const app = new App();
const raw = app.node.tryGetContext('kindling');
const settings: KindlingSettings = typeof raw === 'string' ? JSON.parse(raw) : raw;
if (!settings) {
  throw new Error('missing the "kindling" context: see cdk.json');
}
new KindlingStack(app, `Kindling-${settings.stage}`, {
  settings,
  description: `Kindling (${settings.stage}): B2B lead nurturing on Lambda, DynamoDB, SES and EventBridge`,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
