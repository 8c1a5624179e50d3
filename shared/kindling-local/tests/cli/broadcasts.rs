//! `kindling broadcast ...` as a marketer runs it, on the demo's store and the real clock:
//! create (content from a directory, linted), dry run, the second approver, schedule, one
//! sender run to the outbox, show; and bad input that fails with a message and writes nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::shipped;

/// The shipped program without quiet hours, so a run on the real clock sends at any hour.
fn config_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(quiet_free_config).clone()
}

fn quiet_free_config() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kindling-broadcast-cli-{}", std::process::id()));
    {
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        for e in std::fs::read_dir(shipped().join("templates")).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, dir.join("templates").join(p.file_name().unwrap())).unwrap();
        }
        let toml = std::fs::read_to_string(shipped().join("kindling.toml")).unwrap();
        let toml = toml.replace(
            "quiet_hours = { start = \"22:00\", end = \"09:00\" }",
            "quiet_hours = { start = \"00:00\", end = \"00:00\" }",
        );
        assert!(toml.contains("\"00:00\""));
        std::fs::write(dir.join("kindling.toml"), toml).unwrap();
    }
    dir
}

fn run(args: &[&str], data: &str) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kindling"))
        .arg("--config")
        .arg(config_dir())
        .args(args)
        .args(["--data-dir", data])
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(name), body).unwrap();
}

fn outbox(data: &Path) -> usize {
    std::fs::read_dir(data.join("outbox")).map_or(0, |d| d.count())
}

#[test]
fn a_segment_mail_goes_from_draft_to_the_outbox_with_two_people() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo");
    let d = data.to_str().unwrap();
    let (ok, _, err) = run(&["demo"], d);
    assert!(ok, "{err}");
    let content = tmp.path().join("news");
    std::fs::create_dir(&content).unwrap();
    write(
        &content,
        "ja.txt",
        "Subject: 製造業向けのご案内\n\n{{ lead.name or \"ご担当者\" }} 様\n{{ link(\"https://example.jp/cases/manufacturing\") }}\n",
    );
    write(
        &content,
        "ja.html",
        "<p>{{ lead.name or \"ご担当者\" }} 様</p><a href=\"{{ link(\"https://example.jp/cases/manufacturing\") }}\">事例</a>",
    );
    // Due a minute ago in the program's zone (Tokyo), so one run sends it.
    let at = (chrono::Utc::now() - chrono::Duration::minutes(1))
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let before = outbox(&data);
    let (ok, out, err) = run(
        &[
            "broadcast",
            "create",
            "--id",
            "mfg",
            "--name",
            "製造業向け",
            "--segment",
            "manufacturing_managers_pricing",
            "--template",
            content.to_str().unwrap(),
            "--at",
            &at,
            "--topic",
            "newsletter",
            "--by",
            "alice",
        ],
        d,
    );
    assert!(ok && out.contains("state      draft"), "{out}{err}");
    // A test send reaches one reviewer, marked; an address outside the list gets nothing.
    let before_test = outbox(&data);
    let (ok, out, err) = run(
        &["broadcast", "test", "mfg", "--to", "review@example.jp"],
        d,
    );
    assert!(
        ok && out.starts_with("[TEST] 製造業向けのご案内\nsent     review@example.jp"),
        "{out}{err}"
    );
    let (ok, _, err) = run(
        &[
            "broadcast",
            "test",
            "mfg",
            "--to",
            "someone@customer.example",
        ],
        d,
    );
    assert!(
        !ok && err.contains("is not one of [broadcasts.test_send] addresses"),
        "{err}"
    );
    assert_eq!(outbox(&data), before_test + 1);
    let before = before + 1;
    let (ok, out, _) = run(&["broadcast", "dry-run", "mfg", "--by", "alice"], d);
    assert!(ok && out.contains("would send 1, failures 0"), "{out}");
    let (ok, out, _) = run(&["broadcast", "approve", "mfg", "--by", "bob"], d);
    assert!(ok && out.contains("approved   by bob"), "{out}");
    let (ok, _, _) = run(&["broadcast", "schedule", "mfg", "--by", "bob"], d);
    assert!(ok);
    assert_eq!(outbox(&data), before, "nothing before the sender runs");
    let (ok, out, err) = run(&["broadcast", "run"], d);
    assert!(ok && out.starts_with("sent 1 "), "{out}{err}");
    assert_eq!(outbox(&data), before + 1);
    let (ok, out, _) = run(&["broadcast", "run"], d);
    assert!(ok && out.starts_with("sent 0 "), "{out}");
    let (ok, show, _) = run(&["broadcast", "show", "mfg"], d);
    assert!(
        ok && show.contains("state      sent") && show.contains("sent 1"),
        "{show}"
    );
    let (ok, json, _) = run(&["broadcast", "show", "mfg", "--json"], d);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["progress"]["sent"], 1);
    assert_eq!(v["broadcast"]["approval"]["by"], "bob");
    // The mail carries its topic's List-Id, the one-click headers, and a link that leaves
    // the topic.
    let newest = std::fs::read_dir(data.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .unwrap();
    let eml = std::fs::read_to_string(newest).unwrap();
    assert!(eml.contains("<newsletter.kindling."), "{eml}");
    assert!(eml.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
}

#[test]
fn bad_input_fails_with_a_message_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo");
    let d = data.to_str().unwrap();
    assert!(run(&["demo"], d).0);
    let create = |extra: &[&str]| {
        let mut args = vec!["broadcast", "create", "--name", "n"];
        args.extend_from_slice(extra);
        run(&args, d)
    };
    let cases: [(&[&str], &str); 7] = [
        (
            &[
                "--all",
                "--template",
                "doc_case_study",
                "--at",
                "2026-12-08 10:00",
            ],
            "name the broadcast's topic",
        ),
        (
            &[
                "--all",
                "--template",
                "doc_case_study",
                "--at",
                "2026-12-08 10:00",
                "--topic",
                "nope",
            ],
            "no topic \"nope\"",
        ),
        (
            &["--all", "--template", "nope", "--at", "2026-12-08 10:00"],
            "no template \"nope\"",
        ),
        (
            &[
                "--segment",
                "nope",
                "--template",
                "doc_case_study",
                "--at",
                "2026-12-08 10:00",
            ],
            "no segment \"nope\"",
        ),
        (
            &["--all", "--template", "doc_case_study", "--at", "tomorrow"],
            "write a time like",
        ),
        (
            &["--template", "doc_case_study", "--at", "2026-12-08 10:00"],
            "name the audience",
        ),
        (
            &[
                "--all",
                "--segment",
                "x",
                "--template",
                "doc_case_study",
                "--at",
                "2026-12-08 10:00",
            ],
            "cannot be used with",
        ),
    ];
    for (args, message) in cases {
        let (ok, _, err) = create(args);
        assert!(!ok && err.contains(message), "{args:?}: {err}");
    }
    let (ok, _, err) = run(&["broadcast", "approve", "nope"], d);
    assert!(!ok && err.contains("no broadcast nope"), "{err}");
    // Only the demo's own newsletter.
    let (ok, list, _) = run(&["broadcast", "list"], d);
    assert!(
        ok && list.lines().count() == 1 && list.starts_with("it-newsletter-nov "),
        "{list}"
    );
}

#[test]
fn an_ab_test_is_created_shown_test_sent_and_removed_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo");
    let d = data.to_str().unwrap();
    let (ok, _, err) = run(&["demo"], d);
    assert!(ok, "{err}");
    let create = |extra: &[&str]| {
        let mut args = vec![
            "broadcast",
            "create",
            "--id",
            "abt",
            "--name",
            "A/B",
            "--all",
            "--template",
            "it_newsletter",
            "--at",
            "2026-12-08 10:00",
            "--local",
            "--topic",
            "newsletter",
            "--by",
            "alice",
        ];
        args.extend_from_slice(extra);
        run(&args, d)
    };
    // A bad metric fails with a message and writes nothing.
    let (ok, _, err) = create(&["--ab-subject", "B", "--ab-metric", "revenue"]);
    assert!(!ok && err.contains("ab.metric: \"revenue\""), "{err}");
    let (ok, _, err) = run(&["broadcast", "show", "abt"], d);
    assert!(!ok && err.contains("no broadcast abt"), "{err}");
    let (ok, out, err) = create(&[
        "--ab-subject",
        "B: 今月の新機能",
        "--ab-at",
        "2026-12-08 14:00",
        "--ab-metric",
        "open",
    ]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("ab         3 cells of 10 % (A, B, C), judged by opens 4 h after"),
        "{out}"
    );
    assert!(
        out.contains("B: en subject \"B: 今月の新機能\"; ja subject \"B: 今月の新機能\""),
        "{out}"
    );
    assert!(out.contains("C: at 2026-12-08 14:00"), "{out}");
    let (ok, out, err) = run(
        &["broadcast", "test", "abt", "--to", "review@example.jp"],
        d,
    );
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("[TEST]"), "{out}");
    assert!(lines[1].starts_with("B: [TEST] B: 今月の新機能"), "{out}");
    assert!(lines[2].starts_with("C: [TEST]"), "{out}");
    let (ok, out, _) = run(&["broadcast", "dry-run", "abt", "--by", "alice"], d);
    assert!(ok && out.contains("cells: "), "{out}");
    let (ok, _, err) = run(
        &[
            "broadcast",
            "edit",
            "abt",
            "--no-ab",
            "--ab-subject",
            "X",
            "--by",
            "alice",
        ],
        d,
    );
    assert!(!ok && err.contains("cannot be used with"), "{err}");
    let (ok, out, err) = run(&["broadcast", "edit", "abt", "--no-ab", "--by", "alice"], d);
    assert!(ok && !out.contains("\nab "), "{out}{err}");
}
