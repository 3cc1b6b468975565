//! Marks the tests that need PostgreSQL, Chromium, dkimpy or standardwebhooks as ignored (with the reason) when those are
//! not configured, so `cargo test` lists them as "ignored" instead of reporting them as passed.
//! `.ci/run` sets all three variables, so CI runs everything.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(roster_postgres)");
    println!("cargo::rustc-check-cfg=cfg(roster_browser)");
    println!("cargo::rustc-check-cfg=cfg(roster_dkim)");
    println!("cargo::rustc-check-cfg=cfg(roster_webhooks_py)");
    println!("cargo::rerun-if-env-changed=ROSTER_TEST_WEBHOOKS");
    if std::env::var("ROSTER_TEST_WEBHOOKS").is_ok_and(|v| v == "1") {
        println!("cargo::rustc-cfg=roster_webhooks_py");
    }
    println!("cargo::rerun-if-env-changed=ROSTER_TEST_DKIM");
    if std::env::var("ROSTER_TEST_DKIM").is_ok_and(|v| v == "1") {
        println!("cargo::rustc-cfg=roster_dkim");
    }
    println!("cargo::rerun-if-env-changed=ROSTER_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=ROSTER_TEST_BROWSER");
    if std::env::var("ROSTER_TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=roster_postgres");
    }
    if std::env::var("ROSTER_TEST_BROWSER").is_ok_and(|v| v == "1") {
        println!("cargo::rustc-cfg=roster_browser");
    }
}
