//! Store hot paths, measured side by side in one run:
//! one write per commit vs. concurrent writers folded into group commits,
//! and pooled point reads.
//!
//! `cargo run --release -p molt-store --example store_bench [-- N]`

use molt_store::{SqliteStore, StoreOptions};
use std::time::{Duration, Instant};

fn open(dir: &std::path::Path) -> SqliteStore {
    let options = StoreOptions {
        path: dir.join("molt.db"),
        backup_dir: dir.join("backups"),
        busy_timeout: Duration::from_secs(5),
        lock_retries: 3,
        read_connections: 4,
    };
    SqliteStore::open_migrated(&options).expect("open store")
}

fn insert(store: &SqliteStore, i: i64) {
    store
        .write(move |c| {
            c.prepare_cached("INSERT INTO jobs (kind, priority, payload) VALUES ('bench', ?1, '{}')")?
                .execute([i])?;
            Ok(())
        })
        .expect("insert");
}

fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());

    let start = Instant::now();
    for i in 0..n {
        insert(&store, i as i64);
    }
    let sequential = rate(n, start.elapsed());

    let threads = 8;
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let store = store.clone();
            scope.spawn(move || {
                for i in 0..n / threads {
                    insert(&store, (t * n + i) as i64);
                }
            });
        }
    });
    let grouped = rate(n / threads * threads, start.elapsed());

    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..2 {
            let store = store.clone();
            scope.spawn(move || {
                for i in 0..n / 2 {
                    let id = ((t * n / 2 + i) % n + 1) as i64;
                    let _: i64 = store
                        .read(|c| {
                            Ok(c.prepare_cached("SELECT priority FROM jobs WHERE id = ?1")?
                                .query_row([id], |r| r.get(0))?)
                        })
                        .expect("read");
                }
            });
        }
    });
    let reads = rate(n, start.elapsed());

    println!("store_bench: n = {n}");
    println!("  one writer, one commit per write : {sequential:>10.0} writes/s");
    println!(
        "  {threads} writers, group commit          : {grouped:>10.0} writes/s  ({:.1}x)",
        grouped / sequential
    );
    println!("  2 readers, pooled point reads    : {reads:>10.0} reads/s");
}
