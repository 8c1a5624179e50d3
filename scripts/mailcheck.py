#!/usr/bin/env python3
"""Checks every mail the demo writes as receivers see it: Python's email parser (strict, no
defects, 7-bit headers, the headers the product promises) and Debian's SpamAssassin with its
shipped rules and no network tests (`spamassassin -t -L`).

Fails when a mail does not parse cleanly, lacks a promised header, scores above MAX_SCORE, or
fires a rule the product controls other than those kept on purpose (KEPT_RULES, each with why).
Rules that only reflect local delivery (LOCAL_DELIVERY_RULES) are left out, each with why.

Usage: scripts/mailcheck.py OUTBOX_DIR
"""
import email
import glob
import mailbox
import os
import re
import subprocess
import sys
import tempfile
from email import policy

MAX_SCORE = 2.0

# Rules that fire only because these mails never crossed an MTA: SES adds the Received chain,
# signs with DKIM and is covered by SPF and DMARC in production, and -L runs no network tests.
LOCAL_DELIVERY_RULES = {
    "NO_RECEIVED": "no Received header: the mail was written to a file, not relayed; SES adds them",
    "NO_RELAYS": "no relay seen: same reason",
    "DKIM_ADSP_NXDOMAIN": "no DNS with -L; SES signs with the identity's DKIM keys",
    "SPF_NONE": "no DNS with -L; SPF is published for the custom MAIL FROM domain",
    "DMARC_MISSING": "no DNS with -L; DMARC is published for the sending domain",
}

# Rules the product controls and keeps, knowing their cost (docs/decisions.md, BENCHMARKS.md).
KEPT_RULES = {
    "HTML_MESSAGE": "the mail has an HTML part (score 0.001): every marketing mail does",
}
# The open pixel is an <img>; SpamAssassin scores any <img> in HTML with under 3,200 bytes of
# text by how long the text is. Kept: Outlook for Windows renders no CSS background images, so
# an <img> is the only pixel most B2B readers load (docs/decisions.md, "The open pixel").
KEPT_PATTERNS = [re.compile(r"^HTML_IMAGE_ONLY_\d\d$")]

REQUIRED_HEADERS = [
    "From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
    "List-Unsubscribe", "List-Unsubscribe-Post", "List-Id",
]


def kept(rule):
    return rule in KEPT_RULES or any(p.match(rule) for p in KEPT_PATTERNS)


def score_all(raws):
    """(score, [rules]) for each raw mail, in order: one spamassassin run over an mbox. Each mail
    is tagged with its index, so results are matched by tag, never by position."""
    with tempfile.TemporaryDirectory() as tmp:
        box_path = os.path.join(tmp, "mails.mbox")
        box = mailbox.mbox(box_path)
        for i, raw in enumerate(raws):
            box.add(mailbox.mboxMessage(b"X-Kindling-Check: %d\r\n" % i + raw))
        box.flush()
        box.close()
        with open(box_path, "rb") as f:
            out = subprocess.run(
                ["spamassassin", "-t", "-L", "--mbox"],
                stdin=f, capture_output=True, check=True,
            ).stdout
        results = {}
        for msg in mailbox.mbox(_write(tmp, out)):
            status = re.sub(r",\s+", ",", " ".join(msg.get_all("X-Spam-Status", [""])[-1].split()))
            total = float(re.search(r"score=(-?[\d.]+)", status).group(1))
            tests = re.search(r"tests=(\S*)", status)
            rules = [t for t in (tests.group(1) if tests else "").split(",") if t and t != "none"]
            results[int(msg["X-Kindling-Check"])] = (total, rules)
    if sorted(results) != list(range(len(raws))):
        sys.exit(f"spamassassin returned {len(results)} results for {len(raws)} mails")
    return [results[i] for i in range(len(raws))]


def _write(tmp, data):
    path = os.path.join(tmp, "scored.mbox")
    with open(path, "wb") as f:
        f.write(data)
    return path


def score(raw):
    return score_all([raw])[0]


def parse_problems(raw):
    """What Python's email parser (strict policy) finds wrong with a mail. A notice to the team
    (an alert to a lead's owner: `Auto-Submitted: auto-generated`, RFC 3834) is no marketing
    mail: it needs no opt-out, list headers or HTML part, only to parse cleanly."""
    problems = []
    head = raw.split(b"\r\n\r\n", 1)[0]
    if any(b > 127 for b in head):
        problems.append("8-bit bytes in the header (invalid without SMTPUTF8)")
    strict = policy.default.clone(raise_on_defect=True)
    try:
        m = email.message_from_bytes(raw, policy=strict)
    except Exception as e:  # noqa: BLE001 - any defect is the finding
        return problems + [f"does not parse cleanly: {e}"]
    for part in m.walk():
        if part.defects:
            problems.append(f"defects in {part.get_content_type()}: {part.defects}")
    if (m["Auto-Submitted"] or "").strip() == "auto-generated":
        if m["Date"] is None or m["Message-ID"] is None:
            problems.append("a notice without Date or Message-ID")
        return problems
    for name in REQUIRED_HEADERS:
        if m[name] is None:
            problems.append(f"no {name} header")
    if (m["List-Unsubscribe-Post"] or "").strip() != "List-Unsubscribe=One-Click":
        problems.append("List-Unsubscribe-Post is not List-Unsubscribe=One-Click (RFC 8058)")
    lu = str(m["List-Unsubscribe"] or "")
    if not re.search(r"<https://[^>]+>", lu) and not re.search(r"<http://(127\.0\.0\.1|localhost)[:/][^>]+>", lu):
        problems.append("List-Unsubscribe has no https URL (RFC 8058)")
    if "<mailto:" not in lu:
        problems.append("List-Unsubscribe has no mailto")
    if not re.search(r"<[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)+>\s*$", str(m["List-Id"] or "")):
        problems.append(f"List-Id is not <list-label.namespace> (RFC 2919): {m['List-Id']}")
    if m.get_content_type() != "multipart/alternative":
        problems.append(f"top-level type is {m.get_content_type()}, not multipart/alternative")
    for kind in ("plain", "html"):
        body = m.get_body((kind,))
        if body is None:
            problems.append(f"no text/{kind} part")
        elif "/u/" not in body.get_content():
            problems.append(f"text/{kind} part has no opt-out link")
    return problems


def main():
    outbox = sys.argv[1]
    paths = sorted(glob.glob(os.path.join(outbox, "*.eml")))
    if not paths:
        sys.exit(f"mail-check: no mails in {outbox}")
    raws = [open(p, "rb").read() for p in paths]
    failures = 0
    print(f"mail-check: {len(paths)} mails; SpamAssassin -t -L; fail above {MAX_SCORE}")
    print("  left out (local delivery only): " + ", ".join(sorted(LOCAL_DELIVERY_RULES)))
    for path, raw, (total, rules) in zip(paths, raws, score_all(raws)):
        shown = [r for r in rules if r not in LOCAL_DELIVERY_RULES]
        unexpected = [r for r in shown if not kept(r)]
        problems = parse_problems(raw)
        if total > MAX_SCORE:
            problems.append(f"score {total} is above {MAX_SCORE}")
        if unexpected:
            problems.append("rules the product controls fired: " + ",".join(unexpected))
        subject = email.message_from_bytes(raw, policy=policy.default)["Subject"]
        print(f"  {total:4.1f}  {','.join(shown) or '-':<32} {os.path.basename(path)[:40]}  {subject}")
        for p in problems:
            print(f"        FAIL: {p}")
        failures += bool(problems)
    if failures:
        sys.exit(f"mail-check: {failures} of {len(paths)} mails failed")
    print(f"mail-check: all {len(paths)} mails pass")


if __name__ == "__main__":
    main()
