//! The `kindling` binary: check, demo and serve, as a user runs them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{copy_dir, kindling, shipped as config_dir};

fn check_dir(dir: &Path) -> std::process::Output {
    kindling()
        .arg("--config")
        .arg(dir)
        .arg("check")
        .output()
        .unwrap()
}

#[test]
fn check_accepts_the_shipped_config() {
    let out = check_dir(&config_dir());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok ("));
}

#[test]
fn check_rejects_a_broken_config_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&config_dir(), dir.path());
    let toml_path = dir.path().join("kindling.toml");
    let toml = std::fs::read_to_string(&toml_path)
        .unwrap()
        .replace("hot = 50", "hot = 20")
        .replace("template = \"doc_case_study\"", "template = \"nope\"");
    std::fs::write(&toml_path, &toml).unwrap();
    std::fs::write(
        dir.path().join("templates/doc_thanks.en.html"),
        "<p>{{ link('ftp://nope') }}</p>",
    )
    .unwrap();
    let out = check_dir(dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let line_of = |needle: &str| toml.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(
        err.contains(&format!("kindling.toml:{}:", line_of("warm = 30"))),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "kindling.toml:{}:",
            line_of("template = \"nope\"")
        )),
        "{err}"
    );

    // A template that parses but cannot render is caught by the dry render.
    let toml = toml
        .replace("hot = 20", "hot = 50")
        .replace("template = \"nope\"", "template = \"doc_case_study\"");
    std::fs::write(&toml_path, &toml).unwrap();
    let out = check_dir(dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("doc_thanks.en") && err.contains("ftp://nope"),
        "{err}"
    );
}

#[test]
fn demo_json_summary_shows_the_promised_outcomes() {
    let data = tempfile::tempdir().unwrap();
    let summary = crate::support::demo_summary(&data.path().join("demo"));
    let leads = summary["leads"].as_array().unwrap();
    assert!(leads.len() >= 4);
    for l in leads {
        assert!(
            l["id"].is_string()
                && l["email"].is_string()
                && l["score"].is_i64()
                && l["temperature"].is_string()
        );
    }
    let hot: Vec<_> = leads.iter().filter(|l| l["temperature"] == "hot").collect();
    assert!(!hot.is_empty(), "at least one hot lead");
    assert!(
        hot.iter().all(|l| l["alerts"] == 1),
        "exactly one alert per hot lead"
    );
    // The manufacturing manager who viewed pricing three times is in the program's own segment.
    let sato = leads
        .iter()
        .find(|l| l["email"] == "sato@kaisha-a.co.jp")
        .unwrap();
    assert_eq!(
        sato["segments"],
        serde_json::json!(["manufacturing_managers_pricing"])
    );
    let alerts = summary["alerts"].as_array().unwrap();
    let hot_alerts = alerts
        .iter()
        .filter(|a| a["trigger"].is_null() && a["follow_up"].is_null())
        .count();
    assert_eq!(hot_alerts, hot.len());
    // Every shipped trigger fires once in the scenario: pricing interest (sales alert),
    // abandoned application, unopened mails, cancellation page (support alert).
    let mut fired: Vec<&str> = leads
        .iter()
        .flat_map(|l| l["triggers"].as_array().unwrap())
        .map(|t| t[0].as_str().unwrap())
        .collect();
    fired.sort_unstable();
    assert_eq!(
        fired,
        [
            "application_abandoned",
            "cancellation_risk",
            "not_opening",
            "pricing_interest"
        ]
    );
    let by_trigger = |t: &str| alerts.iter().find(|a| a["trigger"] == t).unwrap();
    assert_eq!(by_trigger("pricing_interest")["audience"], "sales");
    assert_eq!(by_trigger("cancellation_risk")["audience"], "support");
    // Hot and trigger alerts; besides them Sato, handed to sales and never marked, brings his
    // owner a reminder and the sales manager an escalation.
    let follow_ups: Vec<&str> = alerts
        .iter()
        .filter_map(|a| a["follow_up"].as_str())
        .collect();
    assert_eq!(follow_ups, ["reminder", "escalation"]);
    assert_eq!(alerts.len(), hot.len() + 2 + follow_ups.len());
    for (sequence, template) in [
        ("consultation_invite", "consultation_invite"),
        ("application_followup", "application_followup"),
        ("different_angle", "different_angle"),
    ] {
        let sent = summary["emails"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| {
                m["sequence"] == sequence
                    && (m["template"] == template
                        || m["template"] == format!("{template}_question"))
            })
            .count();
        assert_eq!(sent, 1, "{sequence} sent once");
    }
    assert_eq!(summary["checks"]["no_retargeting_twice"], true);
    let unsubscribed: Vec<_> = leads
        .iter()
        .filter(|l| !l["unsubscribed_at"].is_null())
        .collect();
    assert_eq!(unsubscribed.len(), 1);
    assert_eq!(unsubscribed[0]["emails_after_unsubscribe"], 0);
    assert!(leads.iter().any(|l| l["time_zone"] == "America/New_York"));
    let emails = summary["emails"].as_array().unwrap();
    assert_eq!(
        summary["emails_sent"].as_u64().unwrap() as usize,
        emails.len()
    );
    assert!(emails.len() >= 10);
    assert!(emails.iter().all(|m| m["in_quiet_hours"] == false));
    assert_eq!(
        summary["checks"]["every_hot_lead_alerted_exactly_once"],
        true
    );
    assert_eq!(summary["checks"]["no_mail_after_unsubscribe"], true);
    assert_eq!(summary["checks"]["no_mail_in_quiet_hours"], true);
    // Every mail is in the outbox, and beside them each alert that has an owner, to that rep.
    let names: Vec<String> = std::fs::read_dir(data.path().join("demo/outbox"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let (alerts, mails): (Vec<_>, Vec<_>) = names.iter().partition(|n| n.contains("_alert_"));
    assert_eq!(mails.len(), emails.len());
    let owned = summary["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| !a["owner"].is_null())
        .count();
    assert!(owned >= 1, "the demo routes a hot lead to its owner");
    assert_eq!(alerts.len(), owned);
}

fn http(addr: &str, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serve_runs_the_pipeline_over_real_http() {
    let data = tempfile::tempdir().unwrap();
    let mut child = kindling()
        .arg("--config")
        .arg(config_dir())
        .args(["serve", "--port", "0", "--tick-seconds", "1", "--site"])
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/site"))
        .arg("--data-dir")
        .arg(data.path())
        .env("KINDLING_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();

    let js = http(
        &addr,
        "GET /kindling.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(js.starts_with("HTTP/1.1 200"), "{js}");
    let page = http(
        &addr,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("kindling.js"),
        "{page}"
    );
    let traversal = http(
        &addr,
        "GET /../Cargo.toml HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(!traversal.starts_with("HTTP/1.1 200"), "{traversal}");
    // A zone where it is daytime now, so that quiet hours cannot hold the mail back.
    let zone = kindling::testing::daytime_zone(chrono::Utc::now());
    let body = format!(
        "email=serve%40example.jp&consent=on&name=Serve&time_zone={}",
        zone.replace('/', "%2F")
    );
    let form = http(
        &addr,
        &format!("POST /forms/whitepaper HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
    );
    assert!(form.starts_with("HTTP/1.1 303"), "{form}");
    let bad = http(&addr, "POST /forms/whitepaper HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
    assert!(
        bad.starts_with("HTTP/1.1 422") && bad.contains("\"fields\""),
        "{bad}"
    );

    // The scheduler (every second here) sends the day-0 step into the outbox.
    let deadline = Instant::now() + Duration::from_secs(20);
    let outbox = data.path().join("outbox");
    let mut mails = 0;
    while Instant::now() < deadline && mails == 0 {
        std::thread::sleep(Duration::from_millis(200));
        mails = outbox.read_dir().map(|d| d.count()).unwrap_or(0);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(mails, 1, "the step mail for {zone} reached the outbox");
    let eml = std::fs::read_dir(&outbox)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let raw = std::fs::read_to_string(eml).unwrap();
    assert!(
        raw.contains(&format!("List-Unsubscribe: <http://{addr}/u/")),
        "links point at this server"
    );
    // A command on the server's store makes its links from the same base.
    let preview = kindling()
        .arg("--config")
        .arg(config_dir())
        .args([
            "preview",
            "document_followup",
            "0",
            "--lead",
            "serve@example.jp",
            "--raw",
        ])
        .arg("--data-dir")
        .arg(data.path())
        .output()
        .unwrap();
    let raw = String::from_utf8_lossy(&preview.stdout);
    assert!(
        preview.status.success() && raw.contains(&format!("List-Unsubscribe: <http://{addr}/u/")),
        "a preview on the store links to its server: {raw}"
    );
}

fn run(args: &[&str], config: &Path) -> (bool, String, String) {
    let out = kindling()
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn lead_show_explains_the_score_and_rescore_previews_a_rule_change_before_writing() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let (ok, _, err) = run(&["demo", "--json", "--data-dir", dir], &config_dir());
    assert!(ok, "{err}");

    // The shipped A/B test of the different-angle mail: the demo's one send, still testing.
    let (ok, text, err) = run(&["ab", "--data-dir", dir], &config_dir());
    assert!(ok, "{err}");
    assert!(text.contains("different_angle step 0"), "{text}");
    assert!(text.contains("399 more sends"), "{text}");
    let (ok, json, _) = run(&["ab", "--data-dir", dir, "--json"], &config_dir());
    assert!(ok);
    let ab: serde_json::Value = serde_json::from_str(&json).unwrap();
    let sent: u64 = ab[0]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["sent"].as_u64().unwrap())
        .sum();
    assert_eq!(
        (sent, ab[0]["verdict"]["verdict"].as_str()),
        (1, Some("needs_sample"))
    );

    // The breaker: nothing bounced in the demo, so step mails are sending; a resume is recorded
    // with its note (the counts depend on the wall clock here, the demo's on a simulated one).
    let (ok, text, err) = run(&["sending", "--data-dir", dir], &config_dir());
    assert!(ok, "{err}");
    assert!(text.starts_with("Step mails are sending."), "{text}");
    assert!(
        text.contains("Pauses above 2% bounces or 0.08% complaints over 7d, from 500 sends."),
        "{text}"
    );
    let (ok, text, err) = run(
        &[
            "sending",
            "resume",
            "--note",
            "list cleaned",
            "--data-dir",
            dir,
        ],
        &config_dir(),
    );
    assert!(ok, "{err}");
    assert!(text.contains("were not paused"), "{text}");
    let (ok, json, _) = run(&["sending", "--json", "--data-dir", dir], &config_dir());
    assert!(ok);
    let status: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(status["state"], "sending");
    assert_eq!(status["resumed"]["note"], "list cleaned");
    assert_eq!(status["thresholds"]["min_sends"], 500);

    // Tanaka: white paper 10, two opens 10 (the privacy-proxy fetch scores nothing).
    let (ok, text, err) = run(
        &["lead", "show", "tanaka@kaisha-b.co.jp", "--data-dir", dir],
        &config_dir(),
    );
    assert!(ok, "{err}");
    assert!(text.contains("score 20 cold"), "{text}");
    assert!(text.contains("document_download"), "{text}");
    assert!(
        text.contains("not scored: apple_mail_privacy_protection"),
        "{text}"
    );
    assert!(text.contains("unsubscribed"), "{text}");
    let (ok, json, _) = run(
        &[
            "lead",
            "show",
            "tanaka@kaisha-b.co.jp",
            "--data-dir",
            dir,
            "--json",
        ],
        &config_dir(),
    );
    assert!(ok);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["score"]["total"], 20);
    let (ok, _, err) = run(
        &["lead", "show", "nobody@example.jp", "--data-dir", dir],
        &config_dir(),
    );
    assert!(!ok && err.contains("no lead"), "{err}");

    // Opens are worth 20 instead of 5: a dry run lists who would change and writes nothing.
    let changed = tempfile::tempdir().unwrap();
    copy_dir(&config_dir(), changed.path());
    let toml_path = changed.path().join("kindling.toml");
    let toml = std::fs::read_to_string(&toml_path).unwrap();
    let toml = toml.replacen(
        "kind = \"email_open\"\npoints = 5",
        "kind = \"email_open\"\npoints = 20",
        1,
    );
    assert!(toml.contains("points = 20"));
    std::fs::write(&toml_path, toml).unwrap();
    let (ok, text, err) = run(&["rescore", "--dry-run", "--data-dir", dir], changed.path());
    assert!(ok, "{err}");
    assert!(text.contains("dry run: nothing written"), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("tanaka@kaisha-b.co.jp"))
        .unwrap_or_default();
    assert!(
        line.contains("20 cold") && line.contains("50 hot") && line.ends_with('*'),
        "{text}"
    );
    let (_, text, _) = run(
        &["lead", "show", "tanaka@kaisha-b.co.jp", "--data-dir", dir],
        &config_dir(),
    );
    assert!(
        text.contains("score 20 cold"),
        "unchanged after the dry run: {text}"
    );

    let (ok, json, err) = run(&["rescore", "--data-dir", dir, "--json"], changed.path());
    assert!(ok, "{err}");
    let changes: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(changes
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["email"] == "tanaka@kaisha-b.co.jp"));
    let (_, again, _) = run(&["rescore", "--dry-run", "--data-dir", dir], changed.path());
    assert!(again.starts_with("0 lead(s) would change"), "{again}");
}

#[test]
fn preview_renders_the_exact_mail_readable_or_as_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("none");
    let data = data.to_str().unwrap();
    // No local store: a sample lead with only the address; fallbacks show.
    let (ok, out, err) = run(
        &[
            "preview",
            "document_followup",
            "3",
            "--lead",
            "new@example.jp",
            "--data-dir",
            data,
        ],
        &config_dir(),
    );
    assert!(ok, "{err}");
    assert!(err.contains("sample lead"), "{err}");
    for want in [
        "Subject: 無料個別相談のご案内 - Kindling",
        "To: new@example.jp",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "ご担当者 様",
        "〒100-0005",
        "----- text/plain -----",
        "----- text/html -----",
        "/t/c/",
    ] {
        assert!(out.contains(want), "{want}:\n{out}");
    }
    // The exact bytes, to a file any mail client opens: they parse to the same subject.
    let eml = dir.path().join("step.eml");
    let (ok, _, err) = run(
        &[
            "preview",
            "consultation_invite",
            "0",
            "--lead",
            "new@example.jp",
            "--data-dir",
            data,
            "--out",
            eml.to_str().unwrap(),
        ],
        &config_dir(),
    );
    assert!(ok, "{err}");
    let raw = std::fs::read(&eml).unwrap();
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(
        msg.subject(),
        Some("料金プランのご相談はいかがですか - Kindling")
    );
    assert!(!Path::new(data).exists(), "a preview writes no store");
    // Mistakes name what exists.
    let (ok, _, err) = run(
        &[
            "preview",
            "nope",
            "0",
            "--lead",
            "a@example.jp",
            "--data-dir",
            data,
        ],
        &config_dir(),
    );
    assert!(!ok && err.contains("document_followup"), "{err}");
    let (ok, _, err) = run(
        &[
            "preview",
            "document_followup",
            "9",
            "--lead",
            "a@example.jp",
            "--data-dir",
            data,
        ],
        &config_dir(),
    );
    assert!(!ok && err.contains("steps 0 to 3"), "{err}");
}

/// Makes `n` leads with a day-0 step due now in `data` (through the library: the server's
/// per-address form limit would refuse so many from one test), not yet sent.
fn leads_with_due_steps(data: &Path, n: usize) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let config = kindling::config::Config::load(&config_dir()).unwrap();
        let keys = kindling_local::keys::load_or_create(data).unwrap();
        let app = kindling_local::LocalApp::open(
            data,
            config,
            keys,
            std::sync::Arc::new(kindling::system::SystemClock),
            std::sync::Arc::new(kindling::system::UuidIds),
            false,
        )
        .unwrap()
        // Left due for the server's scheduled run, which this test stops midway.
        .without_immediate_sends();
        let zone = kindling::testing::daytime_zone(chrono::Utc::now()).replace('/', "%2F");
        for i in 0..n {
            let body = format!("email=term{i}%40example.jp&consent=on&time_zone={zone}");
            let req = http::Request::builder()
                .method("POST")
                .uri("/forms/whitepaper")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(bytes::Bytes::from(body))
                .unwrap();
            assert_eq!(app.http(req).await.status(), 303);
        }
        app.pump().await.unwrap();
    });
}

fn send_states(data: &Path) -> Vec<(String, i64)> {
    let db = rusqlite::Connection::open(data.join("kindling.db")).unwrap();
    let mut q = db
        .prepare("SELECT state, count(*) FROM sends GROUP BY state ORDER BY state")
        .unwrap();
    q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn sigterm_stops_serve_cleanly_after_the_scheduler_run_in_progress() {
    let data = tempfile::tempdir().unwrap();
    const LEADS: usize = 300;
    leads_with_due_steps(data.path(), LEADS);
    // The scheduler's first run starts at once and sends the 300 due steps.
    let mut child = kindling()
        .arg("--config")
        .arg(config_dir())
        .args([
            "serve",
            "--port",
            "0",
            "--tick-seconds",
            "3600",
            "--data-dir",
        ])
        .arg(data.path())
        .env("KINDLING_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    });
    let outbox = data.path().join("outbox");
    let eml = |dir: &Path| {
        dir.read_dir()
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".eml"))
                })
                .count()
            })
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while eml(&outbox) == 0 {
        assert!(Instant::now() < deadline, "the run did not start");
        std::thread::sleep(Duration::from_millis(2));
    }
    let at_signal = eml(&outbox);
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = lines.join().unwrap().join("\n");
    assert!(status.success(), "exit {status:?}: {log}");
    assert!(log.contains("stopping (SIGTERM)"), "{log}");
    assert!(log.contains("Kindling stopped"), "{log}");
    eprintln!("mails at SIGTERM: {at_signal} of {LEADS}");
    // The run in progress finished: every due step went out, none is left claimed.
    assert_eq!(
        send_states(data.path()),
        vec![("sent".to_owned(), LEADS as i64)]
    );
    assert_eq!(eml(&outbox), LEADS);
    let stray: Vec<_> = outbox
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".eml"))
        .collect();
    assert!(stray.is_empty(), "no temporary mail files: {stray:?}");
}

#[test]
fn serve_refuses_a_plain_http_public_url_on_a_non_loopback_host() {
    let data = tempfile::tempdir().unwrap();
    let out = kindling()
        .arg("--config")
        .arg(config_dir())
        .args([
            "serve",
            "--port",
            "0",
            "--public-url",
            "http://t.example.jp",
            "--data-dir",
        ])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--public-url") && err.contains("https"),
        "{err}"
    );
    assert!(
        !data.path().join("kindling.db").exists(),
        "nothing was opened"
    );
}

/// `kindling check` warns (and still passes) about the sheet's empty cells that matter, at the
/// sequence's line; `kindling scenario` prints one row per step as Markdown or CSV.
#[test]
fn check_warns_about_a_step_without_a_link_and_a_sequence_without_an_exit() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&config_dir(), dir.path());
    let toml_path = dir.path().join("kindling.toml");
    let toml = std::fs::read_to_string(&toml_path).unwrap().replace(
        r#"exit_when = ["became_hot", "consultation_booked", "sales_marked"]"#,
        "exit_when = []",
    );
    std::fs::write(&toml_path, &toml).unwrap();
    for lang in ["ja", "en"] {
        for ext in ["txt", "html"] {
            let p = dir
                .path()
                .join(format!("templates/doc_case_study.{lang}.{ext}"));
            let src = std::fs::read_to_string(&p).unwrap();
            // Every link() call becomes its plain URL: the mail keeps its text, loses its CTA.
            let mut out = String::new();
            let mut rest = src.as_str();
            while let Some(i) = rest.find("{{ link(\"") {
                out.push_str(&rest[..i]);
                let after = &rest[i + "{{ link(\"".len()..];
                let end = after.find("\") }}").unwrap();
                out.push_str(&after[..end]);
                rest = &after[end + "\") }}".len()..];
            }
            out.push_str(rest);
            assert_ne!(out, src, "{} had a link", p.display());
            std::fs::write(&p, out).unwrap();
        }
    }
    let out = check_dir(dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "warnings only: {err}");
    let line = toml
        .lines()
        .position(|l| l.trim() == r#"id = "document_followup""#)
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!(
            "kindling.toml:{line}: warning: sequence \"document_followup\" has no exit goal"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("kindling.toml:{line}: warning: sequence \"document_followup\" step 2: the mail has no tracked link")),
        "{err}"
    );

    let (ok, csv, _) = run(&["scenario", "--csv"], dir.path());
    assert!(ok);
    let rows: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(rows[0].starts_with("segment or entry,stage,sequence,step,timing,subject"));
    assert_eq!(
        rows.len(),
        1 + 8,
        "a header and the shipped program's eight steps"
    );
    let (ok, md, _) = run(&["scenario"], dir.path());
    assert!(ok);
    assert!(md.contains("| trigger pricing_interest (3× page_view (pricing) within 7d) | consideration 比較検討 | consultation_invite | 0 |"), "{md}");
}

/// After the demo, the segment commands read its store: the seed segment's member and its
/// entry; then, on the real clock weeks after the demo's simulated November, a rebuild finds the
/// windows expired and moves the member out (a dry run only says so).
#[test]
fn segment_commands_show_the_demo_s_segments() {
    let data = tempfile::tempdir().unwrap();
    let demo = data.path().join("demo");
    let demo_dir = demo.to_str().unwrap();
    let (ok, _, err) = run(&["demo", "--data-dir", demo_dir], &config_dir());
    assert!(ok, "{err}");
    let count = || {
        let (ok, list, err) = run(&["segment", "list", "--data-dir", demo_dir], &config_dir());
        assert!(ok, "{err}");
        list.lines()
            .find(|l| l.starts_with("manufacturing_managers_pricing"))
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
            .unwrap()
    };
    assert_eq!(count(), "1");
    let (ok, members, _) = run(
        &[
            "segment",
            "members",
            "manufacturing_managers_pricing",
            "--json",
            "--data-dir",
            demo_dir,
        ],
        &config_dir(),
    );
    assert!(ok);
    let members: serde_json::Value = serde_json::from_str(&members).unwrap();
    assert_eq!(members[0]["email"], "sato@kaisha-a.co.jp");
    let (ok, show, _) = run(
        &[
            "segment",
            "show",
            "manufacturing_managers_pricing",
            "--data-dir",
            demo_dir,
        ],
        &config_dir(),
    );
    assert!(ok);
    assert!(
        show.contains("members     1") && show.contains("entered"),
        "{show}"
    );
    let (ok, _, err) = run(
        &["segment", "show", "nope", "--data-dir", demo_dir],
        &config_dir(),
    );
    assert!(!ok && err.contains("no segment \"nope\""), "{err}");
    let (ok, lead, _) = run(
        &[
            "lead",
            "show",
            "sato@kaisha-a.co.jp",
            "--data-dir",
            demo_dir,
        ],
        &config_dir(),
    );
    assert!(ok);
    assert!(
        lead.contains("manufacturing_managers_pricing") && lead.contains("since 2026-11-02 14:00"),
        "{lead}"
    );

    let rebuild = |dry: bool| {
        let mut args = vec!["segments", "rebuild", "--data-dir", demo_dir];
        if dry {
            args.push("--dry-run");
        }
        let (ok, out, err) = run(&args, &config_dir());
        assert!(ok, "{err}");
        out
    };
    let dry = rebuild(true);
    assert!(
        dry.contains("0 entries and 1 departure(s) (dry run"),
        "{dry}"
    );
    assert!(
        dry.contains("- manufacturing_managers_pricing   sato@kaisha-a.co.jp"),
        "{dry}"
    );
    assert_eq!(count(), "1", "a dry run writes nothing");
    let applied = rebuild(false);
    assert!(applied.contains("1 departure(s) (applied)"), "{applied}");
    assert_eq!(count(), "0");
    assert!(rebuild(true).contains("0 entries and 0 departure(s)"));
}
