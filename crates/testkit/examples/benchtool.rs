//! Helpers for `scripts/bench.sh`: the ceilings each HTTP figure is divided by, measured in the
//! same run, and the seeding and bulk steps that have no HTTP shortcut.
//!
//! ```text
//! benchtool argon2 <threads> <seconds>          raw Argon2id verifies/s (Roster's Hasher, default cost)
//! benchtool sqlite-insert <file> <seconds>      single-row insert+commit/s, Roster's pragmas
//! benchtool pg-insert <url> <conns> <seconds>   single-row insert+commit/s over <conns> connections
//! benchtool seed <database-url> <app-id> <from> <to>  add seeded members from..=to to an app
//! benchtool bulk <rows>                         seconds for one bulk invitation of <rows> on SQLite
//! ```
//! Each prints one number on stdout. A benchmarking tool: it stops with a message on any error.

use roster_core::password::{HashCost, Hasher};
use roster_core::types::AppId;
use roster_testkit::conformance::seeded_member;
use roster_testkit::{Backend, spawn_app};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

type Res<T> = Result<T, String>;

fn arg<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> Res<T> {
    args.get(i)
        .ok_or(format!("missing <{what}>"))?
        .parse()
        .map_err(|_| format!("<{what}> is not valid"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let r = match args.get(1).map(String::as_str) {
        Some("argon2") => argon2(arg(&args, 2, "threads"), arg(&args, 3, "seconds")).await,
        Some("sqlite-insert") => sqlite_insert(&args),
        Some("pg-insert") => pg_insert(&args).await,
        Some("seed") => seed(&args).await,
        Some("bulk") => bulk(arg(&args, 2, "rows")).await,
        _ => Err("usage: benchtool argon2|sqlite-insert|pg-insert|seed|bulk …".into()),
    };
    match r {
        Ok(figure) => {
            println!("{figure}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("benchtool: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Verifications per second with `threads` verifying at once, the server's own `Hasher`.
async fn argon2(threads: Res<usize>, secs: Res<u64>) -> Res<String> {
    let (threads, secs) = (threads?, secs?);
    let hasher = Hasher::new(HashCost::default()).map_err(|e| e.to_string())?;
    let hash = hasher
        .hash("Blue-Kettle-42".into())
        .await
        .map_err(|e| e.to_string())?;
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..threads)
        .map(|_| {
            let (hasher, hash, done) = (hasher.clone(), hash.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < end {
                    if let Ok(true) = hasher
                        .verify("Blue-Kettle-42".into(), Some(hash.clone()))
                        .await
                    {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.map_err(|e| e.to_string())?;
    }
    let rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    Ok(format!("{rate:.1}"))
}

/// One connection inserting one row per transaction, with the store's journal and sync settings.
fn sqlite_insert(args: &[String]) -> Res<String> {
    let file: String = arg(args, 2, "file")?;
    let secs: u64 = arg(args, 3, "seconds")?;
    let c = rusqlite::Connection::open(&file).map_err(|e| e.to_string())?;
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         CREATE TABLE IF NOT EXISTS ceiling (id INTEGER PRIMARY KEY, v TEXT NOT NULL);",
    )
    .map_err(|e| e.to_string())?;
    let mut n = 0u64;
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut stmt = c
        .prepare("INSERT INTO ceiling (v) VALUES (?1)")
        .map_err(|e| e.to_string())?;
    while Instant::now() < end {
        stmt.execute([format!("row {n}")])
            .map_err(|e| e.to_string())?;
        n += 1;
    }
    Ok(format!("{:.1}", n as f64 / start.elapsed().as_secs_f64()))
}

/// `conns` connections, each inserting one row per transaction (PostgreSQL's own group commit
/// shares the WAL flushes of concurrent commits, as it does for Roster's).
async fn pg_insert(args: &[String]) -> Res<String> {
    let url: String = arg(args, 2, "url")?;
    let conns: u32 = arg(args, 3, "conns")?;
    let secs: u64 = arg(args, 4, "seconds")?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(conns)
        .connect(&url)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query("CREATE TABLE IF NOT EXISTS ceiling (id BIGSERIAL PRIMARY KEY, v TEXT NOT NULL)")
        .execute(&pool)
        .await
        .map_err(|e| e.to_string())?;
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let (pool, done) = (pool.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < end {
                    let r = sqlx::query("INSERT INTO ceiling (v) VALUES ($1)")
                        .bind("row")
                        .execute(&pool)
                        .await;
                    if r.is_ok() {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.map_err(|e| e.to_string())?;
    }
    let rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    Ok(format!("{rate:.1}"))
}

/// Members added straight to the store (no invitations, no mail), 5,000 to a transaction.
async fn seed(args: &[String]) -> Res<String> {
    let url: String = arg(args, 2, "database-url")?;
    let app_id: String = arg(args, 3, "app-id")?;
    let from: usize = arg(args, 4, "from")?;
    let to: usize = arg(args, 5, "to")?;
    let store = roster::open_store(&url).await.map_err(|e| e.to_string())?;
    let app_id = AppId::parse(&app_id).map_err(|e| e.to_string())?;
    let app = {
        let mut r = store.read().await.map_err(|e| e.to_string())?;
        r.get_app(&app_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no such app")?
    };
    let start = Instant::now();
    for chunk in (from..=to).collect::<Vec<_>>().chunks(5_000) {
        let mut tx = store.begin().await.map_err(|e| e.to_string())?;
        for &i in chunk {
            tx.insert_member(&seeded_member(&app, i))
                .await
                .map_err(|e| e.to_string())?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
    }
    Ok(format!("{:.1}", start.elapsed().as_secs_f64()))
}

/// One bulk invitation of `rows` rows (the code the API and the page run), on a fresh SQLite file.
async fn bulk(rows: Res<usize>) -> Res<String> {
    let rows = rows?;
    let t = spawn_app(Backend::Sqlite).await;
    let seats = i64::try_from(rows).map_err(|e| e.to_string())?;
    let (app, session) = t.app_with_admin("Bulk", seats).await;
    // the admin holds one seat: one more
    t.post(
        &format!("/api/v1/apps/{app}/seats"),
        Some(&session),
        serde_json::json!({"quantity": 1}),
    )
    .await;
    let p = t
        .services
        .authenticate(&t.ctx(), &session)
        .await
        .map_err(|e| e.to_string())?;
    let list = roster_testkit::bulk_rows(rows);
    let start = Instant::now();
    let report = t
        .services
        .invite_bulk(&t.ctx(), &p, &app, list)
        .await
        .map_err(|e| e.to_string())?;
    let secs = start.elapsed().as_secs_f64();
    if report.invited != rows {
        return Err(format!("{} of {rows} rows invited", report.invited));
    }
    Ok(format!("{secs:.1}"))
}
