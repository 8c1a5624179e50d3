//! What the modules share: the binary, the shipped program, copies of data directories.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `kindling` binary under test.
pub fn kindling() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kindling"));
    // A user error is a message and an exit code, whatever the environment says.
    c.env("RUST_BACKTRACE", "1")
        .env_remove("KINDLING_API")
        .env_remove("KINDLING_ADMIN_TOKEN");
    c
}

/// The shipped program.
pub fn shipped() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

/// A copy of a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// What a run of the binary printed and how it exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `c` and collects what it printed.
pub fn ran(c: &mut Command) -> Ran {
    let out = c.output().unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `kindling demo --json` into `data`: its summary, the last line of stdout.
pub fn demo_summary(data: &Path) -> serde_json::Value {
    let out = kindling()
        .arg("--config")
        .arg(shipped())
        .args(["demo", "--json", "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}
