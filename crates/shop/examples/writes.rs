//! The CPU time of a shop write on its own, away from HTTP: `TASKS` tasks each record
//! `PER_TASK` page views of one tracked session (one outbox row each, the smallest write
//! a shop action makes), on a runtime of two workers as the server's, against a fresh
//! SQLite store. Prints writes per second and the process's CPU time per write.
//!
//! ```sh
//! cargo run --release -p ticketstream-shop --example writes -- 1 2000
//! cargo run --release -p ticketstream-shop --example writes -- 16 2000 normal
//! ```
//!
//! With one task every write is a commit of its own; with many, writes share commits
//! (group commit). The third argument, `normal`, opens the store with
//! `synchronous=NORMAL` instead of `FULL`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use protocol::{AccountName, Ref, Timestamp};
use shop::{ShopBackend, ShopStore, ShopSync};

/// The CPU time this process has used so far, all its threads, user and system.
fn cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

fn main() {
    let mut args = std::env::args().skip(1);
    let tasks: usize = args.next().map_or(16, |a| a.parse().expect("TASKS"));
    let per_task: usize = args.next().map_or(2000, |a| a.parse().expect("PER_TASK"));
    let sync = match args.next().as_deref() {
        None | Some("full") => ShopSync::Full,
        Some("normal") => ShopSync::Normal,
        Some(other) => panic!("the third argument is full or normal, not {other:?}"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let store = ShopStore::open(ShopBackend::from(dir.path()).with_sync(sync))
            .await
            .unwrap();
        shop::demo_init(&store).await.unwrap();
        let session = store
            .enter_session(
                &AccountName::parse("demo").unwrap(),
                None,
                shop::Entry {
                    reference: Some(Ref::parse("writes").unwrap()),
                    params: BTreeMap::new(),
                    settings: shop::WidgetSettings::default(),
                    lang: "en".to_owned(),
                },
                Timestamp::now(),
            )
            .await
            .unwrap();
        let started = Instant::now();
        let cpu_before = cpu_time();
        let writers: Vec<_> = (0..tasks)
            .map(|_| {
                let store = store.clone();
                let session = session.clone();
                tokio::spawn(async move {
                    for _ in 0..per_task {
                        store
                            .record_pageview(&session, "addtickets", Timestamp::now())
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        let wall = started.elapsed().as_secs_f64();
        let writes = (tasks * per_task) as f64;
        let cpu_us = (cpu_time() - cpu_before).as_secs_f64() * 1e6;
        assert_eq!(store.outbox_len().await.unwrap(), (tasks * per_task) as u64);
        println!(
            "{tasks} tasks, {sync:?}: {writes} writes in {wall:.2} s, {:.0} writes/s, {:.1} µs of CPU per write",
            writes / wall,
            cpu_us / writes
        );
    });
}
