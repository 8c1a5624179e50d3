//! How long the bundled configuration takes to load (TOML parsed, every section validated, the
//! templates compiled), the part of every function's init that is Kindling's own (BENCHMARKS.md,
//! "Lambda functions"). `cargo run --release -p kindling-tests --example config_load`.

fn main() {
    let mut times = Vec::new();
    for _ in 0..31 {
        let t = std::time::Instant::now();
        let c = kindling_aws::runtime::bundled_config().expect("the bundled config loads");
        times.push(t.elapsed());
        std::hint::black_box(c);
    }
    times.sort();
    println!(
        "bundled_config, 31 loads: min {:?}, median {:?}",
        times[0], times[15]
    );
}
