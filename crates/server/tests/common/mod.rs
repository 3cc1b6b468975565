//! What the binary's tests share: run `roster` in a test folder, read what it printed.
#![allow(dead_code)] // each test file uses its own part

use std::process::{Command, Output};

/// `roster ARGS` in `dir`, with no inherited `ROSTER_*` settings (the test suite's own
/// `ROSTER_TEST_*` stay), data in `<dir>/data`, plus `env`.
pub fn roster(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_roster"));
    c.current_dir(dir).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("ROSTER_") && !k.starts_with("ROSTER_TEST_") {
            c.env_remove(k);
        }
    }
    c.env("ROSTER_DATA_DIR", dir.join("data"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run roster")
}

/// Standard output and standard error, together.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
