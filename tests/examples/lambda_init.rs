//! Init time and size of each release-built function beside a hello-world `lambda_runtime`
//! binary, measured in one run: init is process start to the first `/next` request under the
//! Runtime API emulator (no AWS call happens before it). Prints a Markdown table.
//!
//! `make bench-lambda` (builds the release binaries first), or:
//! `cargo run --release -p kindling-tests --example lambda_init -- [runs]`

use kindling_tests::lambda::{bootstrap, Function, FUNCTIONS, HELLO};
use std::time::Duration;

fn env() -> Vec<(String, String)> {
    [
        ("KINDLING_TABLE", "bench"),
        ("KINDLING_EVENT_BUS", "bench"),
        (
            "KINDLING_SIGNING_KEYS",
            "b1:KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=",
        ),
        (
            "KINDLING_ALERT_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:bench",
        ),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() {
    let binaries: Vec<&str> = std::iter::once(HELLO).chain(FUNCTIONS).collect();
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let mut rows = Vec::new();
    // Interleave the binaries run by run, so that machine noise falls on all of them alike.
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); binaries.len()];
    for _ in 0..runs {
        for (i, name) in binaries.iter().enumerate() {
            let f = Function::start(name, &env()).await;
            times[i].push(f.init_time().await);
        }
    }
    for (i, name) in binaries.iter().enumerate() {
        let mut t = times[i].clone();
        t.sort();
        let size = std::fs::metadata(bootstrap(name))
            .map(|m| m.len())
            .unwrap_or(0);
        rows.push((name, percentile(&t, 0.5), percentile(&t, 0.9), size));
    }
    let hello = rows[0].1;
    println!("| binary | init median | init p90 | × hello-world (median) | stripped size |");
    println!("|---|---:|---:|---:|---:|");
    for (name, median, p90, size) in &rows {
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.2} | {:.1} MB |",
            median.as_secs_f64() * 1000.0,
            p90.as_secs_f64() * 1000.0,
            median.as_secs_f64() / hello.as_secs_f64(),
            *size as f64 / 1_000_000.0
        );
    }
    println!("\n{runs} runs each, interleaved.");
}
