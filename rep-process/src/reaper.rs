//! This process as a child subreaper: descendants that leave a child's process group
//! (`setsid`, a double fork) are re-parented to us when their parent dies, and
//! [`sweep_orphans`] kills and reaps them at the end of a run (architecture invariant 4:
//! nothing outlives the binary).
//!
//! Both act on the whole process: they are for a binary's `main` (`tm`, `rep-conformance`),
//! called when none of its own children is still wanted, not for a library user.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// Makes this process a child subreaper (`PR_SET_CHILD_SUBREAPER`).
///
/// # Errors
/// The `prctl` error (Linux only).
pub fn become_subreaper() -> std::io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(std::io::Error::from)
}

/// Sends SIGKILL to every child of this process and reaps it, again and again (a killed
/// orphan's own children are re-parented to us in turn) until none is left or `limit` has
/// passed. Returns how many were killed. Call it once the children this process started
/// have been stopped: every child left then is a descendant that escaped its group.
pub fn sweep_orphans(limit: Duration) -> usize {
    let until = Instant::now() + limit;
    let mut killed = 0;
    loop {
        let children = children();
        if children.is_empty() || Instant::now() >= until {
            return killed;
        }
        for &child in &children {
            if kill(child, Signal::SIGKILL).is_ok() {
                killed += 1;
            }
        }
        for child in children {
            reap(child, until);
        }
    }
}

/// Waits (polling, until `until`) for `child` to be reaped.
fn reap(child: Pid, until: Instant) {
    loop {
        match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) if Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(1));
            }
            _ => return,
        }
    }
}

/// This process's children: from `/proc/self/task/*/children` (one small file per thread of
/// ours, so the cost follows our own children, not the machine's processes), else, on a kernel
/// without `CONFIG_PROC_CHILDREN`, from every `/proc/<pid>/stat`.
fn children() -> Vec<Pid> {
    own_children().unwrap_or_else(|| children_of(nix::unistd::getpid()))
}

/// The pids listed in `/proc/self/task/*/children` (a re-parented orphan is listed under the
/// thread that adopted it, so every thread's file is read); `None` when the kernel has no such
/// files.
fn own_children() -> Option<Vec<Pid>> {
    let mut children = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(task) = task else { continue };
        match std::fs::read_to_string(task.path().join("children")) {
            Ok(list) => children.extend(
                list.split_whitespace()
                    .filter_map(|pid| pid.parse().ok())
                    .map(Pid::from_raw),
            ),
            // The thread ended while we looked: its children, if any, moved to another one.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && task.path().exists() => {
                return None;
            }
            Err(_) => {}
        }
    }
    children.sort_unstable();
    children.dedup();
    Some(children)
}

/// The processes whose parent is `parent`, from `/proc/*/stat`.
fn children_of(parent: Pid) -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parent = parent.as_raw().to_string();
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // pid (comm) state ppid …: comm may hold spaces and parentheses, so split after
            // the last ')'.
            let ppid = stat.rsplit(')').next()?.split_whitespace().nth(1)?;
            (ppid == parent).then_some(Pid::from_raw(pid))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The children files and the scan of every process agree on this process's children.
    #[test]
    fn own_children_lists_what_the_scan_of_every_process_finds() {
        let mut started: Vec<std::process::Child> = (0..3)
            .map(|_| {
                std::process::Command::new("sleep")
                    .arg("30")
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut pids: Vec<Pid> = started
            .iter()
            .map(|c| Pid::from_raw(c.id() as i32))
            .collect();
        pids.sort_unstable();
        let own = own_children().expect("this kernel has /proc/self/task/*/children");
        let scanned = children_of(nix::unistd::getpid());
        for child in &mut started {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Other tests of this binary may start children of their own meanwhile.
        for pid in &pids {
            assert!(own.contains(pid), "{pid} not in {own:?}");
            assert!(scanned.contains(pid), "{pid} not in {scanned:?}");
        }
    }
}
