#!/usr/bin/env python3
"""Kindling's AWS bill per path, from measured requests and list prices.

Inputs:
- target/cost/requests.json: each path's DynamoDB requests with the read and write units DynamoDB
  would bill, the events it put on the bus and the mails it sent, measured on moto by
  tests/tests/aws/aws_costs.rs (`make bench-cost` runs it first);
- bench/cost/prices.toml: list prices, round-trip times and compute per function.

Prints the cost per 1M tracked events of each kind and per 100,000 mails with each one's biggest
driver, the idle sender's monthly cost, and a month at 5,000 leads beside other products.
"""

import json
import pathlib
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load():
    requests = json.loads((ROOT / "target/cost/requests.json").read_text())
    prices = tomllib.loads((ROOT / "bench/cost/prices.toml").read_text())
    return requests, prices


def find(requests, path, history=0):
    for r in requests:
        if r["path"] == path and r["history"] == history:
            return r
    sys.exit(f"no measurement of {path!r} at {history}: run `make bench-cost`")


def parts(r, p, http, front, compute_ms):
    """Dollars per occurrence of one path, by driver."""
    a = p["aws"]
    # The front function, then one consumer invocation per event it published (an upper bound:
    # only some events have consumers).
    invocations = 1 + r["events"]
    ms = (
        r["requests"] * a["dynamodb_request_ms"]
        + (1 if r["events"] else 0) * a["eventbridge_request_ms"]
        + r["mails"] * a["ses_request_ms"]
        + compute_ms
    )
    return {
        "DynamoDB reads": r["read_units"] * a["dynamodb_read_unit"],
        "DynamoDB writes": r["write_units"] * a["dynamodb_write_unit"],
        "API Gateway": a["api_gateway_http_request"] if http else 0.0,
        "EventBridge": r["events"] * a["eventbridge_event"],
        "Lambda": invocations * a["lambda_request"]
        + ms / 1000 * a["lambda_memory_gb"] * a["lambda_gb_second"],
        "SES": r["mails"] * a["ses_mail"],
    }


def row(name, costs, scale):
    total = sum(costs.values()) * scale
    driver, amount = max(costs.items(), key=lambda kv: kv[1])
    share = amount * scale / total if total else 0
    return name, total, f"{driver} {share:.0%}"


def main():
    requests, p = load()
    c = p["compute_ms"]
    rows = []
    per_event = {}
    cases = [
        ("anonymous page view", "anonymous page view", 0, "track"),
        ("identified page view, 50 activities", "identified page view", 50, "track"),
        ("identified page view, 1,000 activities", "identified page view", 1000, "track"),
        ("open, 50 activities", "open", 50, "track"),
        ("open, 1,000 activities", "open", 1000, "track"),
        ("click, 50 activities", "click", 50, "track"),
        ("click, 1,000 activities", "click", 1000, "track"),
        ("form submission (new lead)", "form", 0, "intake"),
    ]
    for name, path, history, fn in cases:
        r = find(requests, path, history)
        costs = parts(r, p, True, fn, c[fn] + c["score"] * r["events"])
        per_event[name] = costs
        rows.append(row(name, costs, 1e6))
    # The rescore every identified event made before the score state: the whole log read again.
    for history in (50, 1000):
        r = dict(find(requests, "identified page view", history))
        rebuild = find(requests, "rebuild from the log", history)
        r["read_units"] += rebuild["read_units"] - 1
        r["requests"] += rebuild["requests"] - 1
        costs = parts(r, p, True, "track", c["track"] + c["score"])
        rows.append(row(f"(before) identified page view, {history:,} activities, log read", costs, 1e6))
    # Beacons through the beacon function's URL (the stack's `beaconUrl`): no API Gateway.
    for name, path, history in [
        ("anonymous page view, beacon URL", "anonymous page view", 0),
        ("identified page view, 1,000 activities, beacon URL", "identified page view", 1000),
    ]:
        r = find(requests, path, history)
        costs = parts(r, p, False, "track", c["track"] + c["score"] * r["events"])
        per_event[name] = costs
        rows.append(row(name, costs, 1e6))
    # Modelled, not built: activities reaching scoring through DynamoDB Streams instead of
    # PutEvents (no bus charge; Lambda reads the stream free, in batches of up to 100).
    for name, path, history, http in [
        ("(Streams) identified page view, 1,000 activities, beacon URL", "identified page view", 1000, False),
        ("(Streams) open, 1,000 activities", "open", 1000, True),
    ]:
        r = dict(find(requests, path, history))
        costs = parts(r, p, http, "track", c["track"] + c["score"] * r["events"])
        a = p["aws"]
        costs["EventBridge"] = 0.0
        costs["Lambda"] -= r["events"] * a["lambda_request"] * (1 - 1 / 100)
        rows.append(row(name, costs, 1e6))
    print("| per 1M events | cost | biggest driver |")
    print("|---|---:|---|")
    for name, total, driver in rows:
        print(f"| {name} | ${total:,.2f} | {driver} |")

    send = find(requests, "step send")
    mail_costs = parts(send, p, False, "send", c["send"] + c["score"] * send["events"])
    name, total, driver = row("step mail, with its email_sent rescore", mail_costs, 1e5)
    recipient = find(requests, "broadcast recipient")
    recipient_costs = parts(recipient, p, False, "send", c["send"] + c["score"] * recipient["events"])
    b_name, b_total, b_driver = row("broadcast recipient, with its email_sent rescore", recipient_costs, 1e5)
    print()
    print("| per 100,000 mails | cost | biggest driver |")
    print("|---|---:|---|")
    print(f"| {name} | ${total:,.2f} | {driver} |")
    print(f"| {b_name} | ${b_total:,.2f} | {b_driver} |")

    idle = find(requests, "idle send-steps run")
    idle_costs = parts(idle, p, False, "send", c["send"])
    runs = 60 * 24 * 30
    _, idle_total, idle_driver = row("idle", idle_costs, runs)
    print()
    print(f"An idle send-steps run every minute for 30 days ({runs:,} runs, {idle['requests']} "
          f"requests and {idle['read_units']:g} read units each): ${idle_total:,.2f} a month "
          f"({idle_driver}).")

    # A month at 5,000 leads: 1M tracked events and 100,000 mails.
    mix = {
        "anonymous page view": 500_000,
        "identified page view, 1,000 activities": 300_000,
        "open, 1,000 activities": 120_000,
        "click, 1,000 activities": 60_000,
        "form submission (new lead)": 20_000,
    }
    month = sum(sum(per_event[k].values()) * n for k, n in mix.items())
    month += sum(mail_costs.values()) * 100_000 + idle_total
    beacon_mix = dict(mix)
    beacon_mix["anonymous page view, beacon URL"] = beacon_mix.pop("anonymous page view")
    beacon_mix["identified page view, 1,000 activities, beacon URL"] = beacon_mix.pop(
        "identified page view, 1,000 activities"
    )
    beacon_month = sum(sum(per_event[k].values()) * n for k, n in beacon_mix.items())
    beacon_month += sum(mail_costs.values()) * 100_000 + idle_total
    print()
    print("A month at 5,000 leads (1M events: 500k anonymous and 300k identified page views, "
          "120k opens, 60k clicks, 20k forms, all identified ones at 1,000 activities of history; "
          "100,000 mails; the idle sender):")
    print()
    print("| product | a month |")
    print("|---|---:|")
    print(f"| Kindling on AWS (this model) | ${month:,.2f} |")
    print(f"| Kindling on AWS with `beaconUrl` (beacons without API Gateway) | ${beacon_month:,.2f} |")
    for o in p["others"]:
        print(f"| {o['name']} ({o['note']}) | ${o['monthly']:,.2f} |")


if __name__ == "__main__":
    main()
