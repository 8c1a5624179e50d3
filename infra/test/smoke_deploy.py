"""Smoke deploy of the synthesized stack to moto's CloudFormation, the way `cdk deploy` does it.

Publishes the file assets (the function zips) and the template to the bootstrap bucket, sets the
bootstrap version parameter, creates the stack and checks that the table, the bus and its rules,
the topics, the queues, the secret and the functions exist. Then it routes every EventBridge
sample in events/ through the deployed rules with TestEventPattern, as a second opinion on the
TypeScript matcher.

Usage: KINDLING_TEST_AWS_ENDPOINT=http://127.0.0.1:PORT python smoke_deploy.py cdk.out Kindling-prod
"""

import io
import json
import os
import pathlib
import sys
import zipfile

import boto3

ROOT = pathlib.Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"


def client(service):
    return boto3.client(
        service,
        endpoint_url=os.environ["KINDLING_TEST_AWS_ENDPOINT"],
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def fill(text):
    return text.replace("${AWS::AccountId}", ACCOUNT).replace("${AWS::Region}", REGION).replace(
        "${AWS::Partition}", "aws"
    )


def zip_dir(path):
    """A zip of a staged asset directory, `bootstrap` kept executable (what cdk deploy uploads)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(pathlib.Path(path).rglob("*")):
            if f.is_file():
                info = zipfile.ZipInfo(str(f.relative_to(path)))
                info.external_attr = (f.stat().st_mode & 0o777) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, f.read_bytes())
    return buf.getvalue()


def publish_assets(outdir, stack_name):
    """Uploads every file asset of the stack to its destination; returns the template's URL."""
    s3 = client("s3")
    manifest = json.loads((outdir / f"{stack_name}.assets.json").read_text())
    template_url = None
    for asset in manifest["files"].values():
        source = outdir / asset["source"]["path"]
        body = zip_dir(source) if asset["source"].get("packaging") == "zip" else source.read_bytes()
        for dest in asset["destinations"].values():
            bucket, key = fill(dest["bucketName"]), fill(dest["objectKey"])
            try:
                s3.create_bucket(Bucket=bucket)
            except s3.exceptions.BucketAlreadyOwnedByYou:
                pass
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            if asset["source"]["path"].endswith(".template.json"):
                template_url = f"https://{bucket}.s3.amazonaws.com/{key}"
    return template_url


def replace_refs(node, logical_id, value):
    """The template with every `{"Ref": logical_id}` replaced by `value`."""
    if isinstance(node, dict):
        if node == {"Ref": logical_id}:
            return value
        return {k: replace_refs(v, logical_id, value) for k, v in node.items()}
    if isinstance(node, list):
        return [replace_refs(v, logical_id, value) for v in node]
    return node


def prepare_for_moto(template, supported):
    """Provisions through their APIs the referenced resources that moto's CloudFormation cannot
    create (the secrets), the way the stack would, and substitutes their ARNs; lists the rest,
    which moto skips (nothing refers to them in a way that fails). A secret whose value the
    template computes (the report reader's key) gets a placeholder: moto cannot resolve it."""
    sm = client("secretsmanager")
    for logical_id, r in list(template["Resources"].items()):
        if r["Type"] == "AWS::SecretsManager::Secret" and "SecretString" in r["Properties"]:
            arn = sm.create_secret(Name=logical_id, SecretString='{"placeholder":true}')["ARN"]
            template = replace_refs(template, logical_id, arn)
            del template["Resources"][logical_id]
            print(f"note - {logical_id} ({r['Type']}) created through the API with a placeholder value")
        elif r["Type"] == "AWS::SecretsManager::Secret":
            gen = r["Properties"]["GenerateSecretString"]
            password = sm.get_random_password(
                PasswordLength=gen["PasswordLength"], ExcludePunctuation=gen.get("ExcludePunctuation", False)
            )["RandomPassword"]
            value = json.loads(gen["SecretStringTemplate"])
            value[gen["GenerateStringKey"]] = password
            arn = sm.create_secret(Name=logical_id, SecretString=json.dumps(value))["ARN"]
            template = replace_refs(template, logical_id, arn)
            del template["Resources"][logical_id]
            print(f"note - {logical_id} ({r['Type']}) created through the API: moto's CloudFormation lacks it")
        if r["Type"] == "AWS::Events::EventBus":
            # moto resolves Ref of a bus to its model object, not the name CloudFormation returns.
            template = replace_refs(template, logical_id, r["Properties"]["Name"])
            print(f"note - Ref {logical_id} ({r['Type']}) given as its name: moto resolves it to an object")
    skipped = sorted({r["Type"] for r in template["Resources"].values() if r["Type"] not in supported})
    print(f"note - moto's CloudFormation skips: {', '.join(skipped)}")
    return template


def check(condition, message):
    if not condition:
        sys.exit(f"smoke deploy: {message}")
    print(f"ok - {message}")


def main():
    outdir = pathlib.Path(sys.argv[1]).resolve()
    stack_name = sys.argv[2]
    template = json.loads((outdir / f"{stack_name}.template.json").read_text())

    # What `cdk bootstrap` leaves in the account and what `cdk deploy` uploads.
    client("ssm").put_parameter(
        Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String", Overwrite=True
    )
    template_url = publish_assets(outdir, stack_name)
    check(template_url is not None, "the template was published with the assets")
    from moto.cloudformation.parsing import get_model_map

    deployed = prepare_for_moto(template, set(get_model_map()))
    bucket, key = template_url.removeprefix("https://").split(".s3.amazonaws.com/")
    client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(deployed).encode())

    cfn = client("cloudformation")
    cfn.create_stack(
        StackName=stack_name,
        TemplateURL=template_url,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        for e in cfn.describe_stack_events(StackName=stack_name)["StackEvents"]:
            print(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", ""))
    check(stack["StackStatus"] == "CREATE_COMPLETE", f"stack {stack_name} created")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    }

    def of_type(t):
        return [k for k, v in template["Resources"].items() if v["Type"] == t]

    # The table, with its keys, due index and TTL.
    table_name = outputs.get("TableName") or physical[of_type("AWS::DynamoDB::Table")[0]]
    ddb = client("dynamodb")
    table = ddb.describe_table(TableName=table_name)["Table"]
    check(
        [k["AttributeName"] for k in table["KeySchema"]] == ["PK", "SK"]
        and [i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])] == ["GSI1"],
        f"table {table_name} with PK/SK and GSI1",
    )
    check(table.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST", "table is on demand")
    check(
        [i["Projection"]["ProjectionType"] for i in table.get("GlobalSecondaryIndexes", [])] == ["KEYS_ONLY"],
        "the due index projects keys only",
    )

    # The bus and the rules: on the bus the Kindling events, on the default bus SES and the schedule.
    events = client("events")
    bus = outputs.get("EventBusName")
    check(bus and events.describe_event_bus(Name=bus)["Name"] == bus, f"event bus {bus}")
    rules = events.list_rules(EventBusName=bus)["Rules"] + events.list_rules()["Rules"]
    # (pattern, target function name) of each pattern rule.
    patterns = [
        (
            json.loads(r["EventPattern"]),
            events.list_targets_by_rule(Rule=r["Name"], EventBusName=r["EventBusName"])["Targets"][0]["Arn"],
        )
        for r in rules
        if r.get("EventPattern")
    ]
    schedules = [r["ScheduleExpression"] for r in rules if r.get("ScheduleExpression")]
    check(len(rules) == len(of_type("AWS::Events::Rule")), f"{len(rules)} rules")
    check(schedules == ["rate(1 minute)"], "the send-steps schedule")
    for r in rules:
        targets = events.list_targets_by_rule(Rule=r["Name"], EventBusName=r["EventBusName"])["Targets"]
        check(
            len(targets) == 1
            and targets[0].get("RetryPolicy", {}).get("MaximumEventAgeInSeconds") == 86400
            and targets[0].get("DeadLetterConfig", {}).get("Arn", "").startswith("arn:aws:sqs:"),
            f"rule {r['Name']}: one target, 24 h retries, a DLQ",
        )

    # Topics, queues, secret, functions.
    sns = client("sns")
    topics = {t["TopicArn"] for t in sns.list_topics()["Topics"]}
    check(outputs.get("AlertTopicArn") in topics, "the sales alert topic")
    check(outputs.get("OpsTopicArn") in topics, "the ops topic")
    queues = client("sqs").list_queues().get("QueueUrls", [])
    check(len(queues) >= len(of_type("AWS::SQS::Queue")) == 4, f"{len(queues)} dead-letter queues")
    secret = client("secretsmanager").get_secret_value(SecretId=outputs["SigningKeysSecretArn"])
    value = json.loads(secret["SecretString"])
    check(value.get("kid") == "k1" and len(value.get("secret", "")) == 64, "the signing key secret, generated")
    # The report bucket (moto's CloudFormation keeps no lifecycle rule or encryption of a
    # bucket: stack.test.ts asserts those in the template), and the reader with its one key.
    bucket = outputs.get("ReportBucketName")
    names = [b["Name"] for b in client("s3").list_buckets()["Buckets"]]
    check(bucket in names, f"the report bucket {bucket}")
    reader = physical[of_type("AWS::IAM::User")[0]]
    keys = client("iam").list_access_keys(UserName=reader)["AccessKeyMetadata"]
    check(len(keys) == 1, f"the report reader {reader} has one access key")
    functions = {f["FunctionName"]: f for f in client("lambda").list_functions()["Functions"]}
    check(len(functions) == 6, "six functions")
    check(
        all(f["Runtime"] == "provided.al2023" and f["Handler"] == "bootstrap" for f in functions.values()),
        "functions on provided.al2023",
    )

    # Every EventBridge sample through the deployed patterns, by moto's EventBridge matcher (its
    # server answers TestEventPattern with an empty body, so the library's matcher is used).
    from moto.events.models import EventPattern

    routing = json.loads((ROOT / "events" / "routing.json").read_text())
    routing.pop("comment")
    for sample, want in sorted(routing.items()):
        event = json.loads((ROOT / "events" / sample).read_text())
        hits = [arn for p, arn in patterns if EventPattern.load(json.dumps(p)).matches_event(event)]
        pascal = "".join(part.capitalize() for part in (want or "").split("-"))
        # The schedule reaches send-steps through its rate rule, which has no pattern.
        scheduled = event.get("detail-type") == "Scheduled Event"
        if want is None or scheduled:
            check(hits == [], f"{sample}: reaches no function through a pattern")
        else:
            check(
                len(hits) == 1 and f"-{pascal}" in hits[0].split(":function:")[1],
                f"{sample}: reaches {want} only ({', '.join(hits)})",
            )

    cfn.delete_stack(StackName=stack_name)
    print("smoke deploy: passed")


if __name__ == "__main__":
    main()
