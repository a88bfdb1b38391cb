//! Real processes: the forking thread, groups dying whole, bounded helper runs.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

use std::time::{Duration, Instant};

use rep_process::{Interrupt, Interrupts, Ladder, RunError, Spec, Stdio, run, spawn};

/// Whether process `pid` runs (a zombie counts as gone).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    })
}

fn gone_within(pid: u32, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    while alive(pid) {
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn sh(script: &str) -> Spec {
    Spec::new("sh").arg("-c").arg(script)
}

/// The parent-death signal follows the thread that forked: a child spawned by a thread that
/// then ends must live on (it is forked by the crate's own long-lived thread).
#[test]
fn a_child_outlives_the_thread_that_asked_for_it() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let handle = runtime.handle().clone();
    let group = std::thread::spawn(move || {
        let _entered = handle.enter();
        spawn(&Spec::new("sleep").arg("30")).unwrap()
    })
    .join()
    .unwrap();
    let pid = group.id().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(alive(pid), "killed when the asking thread ended");
    let _entered = runtime.enter();
    drop(group);
    assert!(gone_within(pid, Duration::from_secs(5)), "dropping kills");
}

/// A group dies whole: a grandchild that stayed in it goes with the child.
#[tokio::test]
async fn stopping_a_group_kills_what_it_started() {
    let mut group = spawn(
        &sh("sleep 30 & echo $!; wait")
            .stdout(Stdio::Piped)
            .stdin(Stdio::Null),
    )
    .unwrap();
    let mut stdout = group.take_stdout().unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8];
    while tokio::io::AsyncReadExt::read(&mut stdout, &mut byte)
        .await
        .unwrap()
        == 1
        && byte[0] != b'\n'
    {
        line.push(byte[0]);
    }
    let grandchild: u32 = String::from_utf8(line).unwrap().trim().parse().unwrap();
    let started = Instant::now();
    group
        .stop(
            Ladder::new(Duration::ZERO, Duration::from_secs(5)),
            std::future::pending(),
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "sh honours SIGTERM"
    );
    assert!(gone_within(grandchild, Duration::from_secs(5)));
}

#[tokio::test]
async fn a_helper_run_keeps_the_head_of_its_output() {
    let out = run(
        &sh("head -c 100000 /dev/zero | tr '\\0' x; echo err >&2; exit 3"),
        Duration::from_secs(30),
        10,
        &mut Interrupts::none(),
    )
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(out.stdout, b"xxxxxxxxxx");
    assert_eq!(out.stderr, b"err\n");
}

#[tokio::test]
async fn a_helper_run_past_its_timeout_is_killed_with_its_group() {
    let dir = std::env::temp_dir().join(format!("rep-process-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pidfile = dir.join("pid");
    let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
    let started = Instant::now();
    let result = run(
        &sh(&script),
        Duration::from_millis(500),
        1024,
        &mut Interrupts::none(),
    )
    .await;
    assert!(matches!(result, Err(RunError::TimedOut(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(gone_within(pid, Duration::from_secs(5)));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_interrupt_stops_a_helper_run() {
    let (sender, mut interrupts) = Interrupts::channel();
    sender.send(Interrupt::Sighup);
    let started = Instant::now();
    let result = run(
        &Spec::new("sleep").arg("30"),
        Duration::from_secs(60),
        1024,
        &mut interrupts,
    )
    .await;
    assert!(
        matches!(result, Err(RunError::Interrupted(Interrupt::Sighup))),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "sleep honours SIGTERM"
    );
}
