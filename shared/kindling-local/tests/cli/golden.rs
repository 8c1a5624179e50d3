//! `kindling demo --json` against a checked-in golden summary: a refactoring that changes what
//! the demo does (who gets which mail when, scores, temperatures, alerts, triggers, checks)
//! fails here. Lead ids are random and become `lead:<email>`; the template of an A/B step is
//! the variant the lead's id hashed to, so it becomes `<variant of sequence#step>`.
//!
//! After an intended change: `KINDLING_WRITE_GOLDEN=1 cargo test -p kindling-local --test cli
//! golden`, and review the diff of `tests/golden/demo-summary.json`.

use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use crate::support::shipped as config_dir;

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/demo-summary.json")
}

/// `(sequence, step)` pairs whose template is an A/B variant, from the shipped program.
fn ab_steps() -> HashSet<(String, u64)> {
    let config = kindling::Config::load(&config_dir()).unwrap();
    config
        .sequences
        .iter()
        .flat_map(|s| {
            s.steps
                .iter()
                .enumerate()
                .filter(|(_, step)| step.ab.is_some())
                .map(|(i, _)| (s.id.to_string(), i as u64))
        })
        .collect()
}

/// The summary with random parts replaced by stable names.
fn normalized(mut summary: Value) -> Value {
    let mut names = BTreeMap::new();
    for lead in summary["leads"].as_array().unwrap() {
        names.insert(
            lead["id"].as_str().unwrap().to_owned(),
            format!("lead:{}", lead["email"].as_str().unwrap()),
        );
    }
    let rename = |v: &mut Value| {
        if let Some(name) = v.as_str().and_then(|id| names.get(id)) {
            *v = Value::String(name.clone());
        }
    };
    for lead in summary["leads"].as_array_mut().unwrap() {
        rename(&mut lead["id"]);
    }
    for alert in summary["alerts"].as_array_mut().unwrap() {
        rename(&mut alert["lead_id"]);
    }
    // The demo's CRM listens on a free port.
    let port = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    for item in summary["diagnosis"]["items"].as_array_mut().unwrap() {
        if let Some(e) = item["evidence"].as_str() {
            item["evidence"] = Value::String(port.replace_all(e, "127.0.0.1:<port>").into_owned());
        }
    }
    let ab = ab_steps();
    for mail in summary["emails"].as_array_mut().unwrap() {
        let seq = mail["sequence"].as_str().unwrap().to_owned();
        let step = mail["step"].as_u64().unwrap();
        if ab.contains(&(seq.clone(), step)) {
            mail["template"] = Value::String(format!("<variant of {seq}#{step}>"));
        }
    }
    summary
}

#[test]
fn the_demo_summary_matches_the_golden() {
    assert!(
        !ab_steps().is_empty(),
        "the shipped program has an A/B step"
    );
    let data = tempfile::tempdir().unwrap();
    let got = normalized(crate::support::demo_summary(&data.path().join("demo")));
    let text = serde_json::to_string_pretty(&got).unwrap() + "\n";
    if std::env::var_os("KINDLING_WRITE_GOLDEN").is_some() {
        std::fs::write(golden_path(), &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(golden_path()).unwrap();
    assert!(
        text == want,
        "the demo's summary changed; if intended, rerun with KINDLING_WRITE_GOLDEN=1 and review \
         the diff.\n--- got ---\n{text}"
    );
}

#[test]
fn the_normalization_keeps_what_the_demo_decides() {
    // A changed score, time or count must still show: only ids and A/B templates are renamed.
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(golden_path()).unwrap()).unwrap();
    let mut changed = golden.clone();
    changed["leads"][0]["score"] = Value::from(1);
    assert_ne!(normalized(changed), golden);
    let mut later = golden.clone();
    later["emails"][0]["sent_at"] = Value::from("2030-01-01T00:00:00Z");
    assert_ne!(normalized(later), golden);
    assert_eq!(
        normalized(golden.clone()),
        golden,
        "normalizing is idempotent"
    );
}
