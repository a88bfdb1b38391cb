//! What a child may do: no network, only some folders readable or writable, and resource
//! limits — runtime.yaml's `sandbox:` block (docs/security.md), Linux only.
//!
//! Three stages, so that the child between `fork` and `exec` only makes system calls:
//! - [`Sandbox`]: the policy, pure data.
//! - [`Sandbox::prepare`], in the parent: probes the kernel, opens the folders, builds the
//!   Landlock ruleset and the namespace maps, and says what will be in force ([`Plan`]). A
//!   feature the kernel lacks is an error ([`SandboxError::Missing`]) unless `best_effort`.
//! - [`ChildSandbox::apply`], in the child (from the spawn's set-up): a network (and user)
//!   namespace, the resource limits, `no_new_privs`, then Landlock — in that order, because
//!   writing the user namespace's maps opens files that Landlock would then forbid.
//!
//! Kernel mechanisms: `network: false` is a network namespace of the executor's own (only a
//! loopback interface, down); `read`/`write` are Landlock filesystem rules; `memory_mb`,
//! `cpu_seconds`, `processes`, `open_files` are `RLIMIT_AS`, `RLIMIT_CPU`, `RLIMIT_NPROC` and
//! `RLIMIT_NOFILE`. When this process is not root, a user namespace of the executor's own
//! creates the network namespace and makes `processes` count the executor's processes only.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr,
};
use nix::sched::CloneFlags;
use nix::sys::resource::Resource;

/// Bytes in a MiB (`memory_mb`).
const MIB: u64 = 1 << 20;

/// Seconds of CPU time between SIGXCPU (at `cpu_seconds`) and SIGKILL (the hard limit).
pub const CPU_KILL_AFTER: u64 = 1;

/// The Linux capability that creates namespaces without a user namespace (`CAP_SYS_ADMIN`).
const CAP_SYS_ADMIN: u32 = 21;

/// What an executor may do. The default allows everything (no sandbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    /// Whether the child may use the network. `false`: a network namespace of its own (no
    /// interface but a loopback that is down); Unix socket pairs and pipes still work.
    pub network: bool,
    /// When set, only these folders (and files) are readable and executable, and everything
    /// else is not (Landlock). Absolute paths.
    pub read: Option<Vec<PathBuf>>,
    /// When set, only these folders (and files) are writable (and readable), and everything
    /// else is read-only (Landlock). Absolute paths.
    pub write: Option<Vec<PathBuf>>,
    /// The child's address space in MiB (`RLIMIT_AS`): allocations past it fail (ENOMEM).
    pub memory_mb: Option<u64>,
    /// The child's CPU time in seconds (`RLIMIT_CPU`): SIGXCPU then, SIGKILL
    /// [`CPU_KILL_AFTER`] s later.
    pub cpu_seconds: Option<u64>,
    /// Processes (and threads) the child may have at once (`RLIMIT_NPROC`, in a user
    /// namespace of its own). Not enforceable for root.
    pub processes: Option<u64>,
    /// Open files of the child (`RLIMIT_NOFILE`): the highest descriptor number plus one.
    pub open_files: Option<u64>,
    /// Apply what this kernel can and log the rest, instead of refusing to start.
    pub best_effort: bool,
}

impl Default for Sandbox {
    fn default() -> Sandbox {
        Sandbox {
            network: true,
            read: None,
            write: None,
            memory_mb: None,
            cpu_seconds: None,
            processes: None,
            open_files: None,
            best_effort: false,
        }
    }
}

/// A measure of the sandbox and how it is (or would be) applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    /// The runtime.yaml key: `network`, `read`, `memory_mb`, …
    pub key: &'static str,
    /// The value and what it means, e.g. `off`, `/usr, /lib`, `512`.
    pub value: String,
    /// The kernel mechanism, e.g. `RLIMIT_AS`, `Landlock ABI 7`, or why it is not applied.
    pub how: String,
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.key, self.value, self.how)
    }
}

/// What a prepared sandbox puts in force on this kernel, and what it leaves out (only with
/// `best_effort`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The measures in force.
    pub applied: Vec<Measure>,
    /// The measures asked for that this kernel (or this user) cannot apply.
    pub not_applied: Vec<Measure>,
    /// Paths of `read`/`write` that do not exist (nothing to grant: skipped).
    pub missing_paths: Vec<PathBuf>,
}

impl Plan {
    /// One line per measure, for `tm runtime capabilities` and `-v`: `sandbox: network: off
    /// (…)`, then `sandbox: NOT applied: …`.
    pub fn lines(&self) -> Vec<String> {
        let applied = self.applied.iter().map(|m| format!("sandbox: {m}"));
        let not = self
            .not_applied
            .iter()
            .map(|m| format!("sandbox: NOT applied (best_effort): {m}"));
        let missing = self
            .missing_paths
            .iter()
            .map(|p| format!("sandbox: skipped (does not exist): {}", p.display()));
        applied.chain(not).chain(missing).collect()
    }
}

/// Why a sandbox cannot be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The kernel (or this user) lacks what a key needs, and `best_effort` is off.
    #[error(
        "the sandbox cannot be applied: {} (set sandbox.best_effort: true to run without it)",
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    Missing(Vec<Measure>),
    /// A folder of `read` or `write` cannot be opened.
    #[error("sandbox.{key}: cannot open {}: {source}", path.display())]
    Path {
        /// `read` or `write`.
        key: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The Landlock ruleset cannot be built.
    #[error("cannot build the sandbox's Landlock rules: {0}")]
    Landlock(String),
}

/// A sandbox ready for a child: what the child will apply, prepared in the parent.
#[derive(Debug)]
pub struct Prepared {
    plan: Plan,
    policy: Sandbox,
    namespaces: Option<Namespaces>,
    limits: Vec<(Resource, u64, u64)>,
    ruleset: Option<RulesetCreated>,
}

impl PartialEq for Prepared {
    fn eq(&self, other: &Prepared) -> bool {
        self.policy == other.policy && self.plan == other.plan
    }
}

/// The namespaces the child enters.
#[derive(Debug, Clone)]
enum Namespaces {
    /// `unshare(CLONE_NEWNET)`: this process may create namespaces (CAP_SYS_ADMIN).
    Network,
    /// `unshare(CLONE_NEWUSER [| CLONE_NEWNET])`, then the maps: the child's user and group
    /// map to themselves (`setgroups` denied, as the kernel requires of an unprivileged map).
    User {
        network: bool,
        uid_map: Vec<u8>,
        gid_map: Vec<u8>,
    },
}

impl Sandbox {
    /// Whether this sandbox restricts anything.
    pub fn is_empty(&self) -> bool {
        self.network
            && self.read.is_none()
            && self.write.is_none()
            && self.memory_mb.is_none()
            && self.cpu_seconds.is_none()
            && self.processes.is_none()
            && self.open_files.is_none()
    }

    /// Probes the kernel and prepares what the child will apply (see the module).
    ///
    /// # Errors
    /// [`SandboxError::Missing`] naming every feature this kernel (or user) lacks, unless
    /// `best_effort`; [`SandboxError::Path`] for a `read`/`write` path that exists but
    /// cannot be opened; [`SandboxError::Landlock`].
    pub fn prepare(&self) -> Result<Prepared, SandboxError> {
        let mut plan = Plan::default();
        let root = nix::unistd::getuid().is_root();
        let mut user_namespace = false;
        if !self.network {
            match network_namespace_how(root) {
                Ok(how) => {
                    user_namespace = how == NetworkHow::User;
                    plan.applied.push(measure(
                        "network",
                        "off",
                        match how {
                            NetworkHow::Plain => "a network namespace of its own: no interface but a loopback, down",
                            NetworkHow::User => "a user and network namespace of its own: no interface but a loopback, down",
                        },
                    ));
                }
                Err(why) => plan.not_applied.push(measure("network", "off", &why)),
            }
        }
        if let Some(n) = self.processes {
            if root {
                plan.not_applied.push(measure(
                    "processes",
                    &n.to_string(),
                    "RLIMIT_NPROC is not enforced for root (uid 0): run tm as another user",
                ));
            } else {
                let counted = if user_namespace || user_namespaces_available() {
                    user_namespace = true;
                    "RLIMIT_NPROC in a user namespace of its own: the executor's processes"
                } else {
                    "RLIMIT_NPROC: every process of this user counts (no user namespaces here)"
                };
                plan.applied
                    .push(measure("processes", &n.to_string(), counted));
            }
        }
        let limits = self.limits(&mut plan, root);
        let ruleset = self.landlock(&mut plan)?;
        let namespaces = if user_namespace {
            Some(Namespaces::User {
                network: !self.network && !plan.not_applied.iter().any(|m| m.key == "network"),
                uid_map: format!("{0} {0} 1\n", nix::unistd::getuid()).into_bytes(),
                gid_map: format!("{0} {0} 1\n", nix::unistd::getgid()).into_bytes(),
            })
        } else if !self.network && !plan.not_applied.iter().any(|m| m.key == "network") {
            Some(Namespaces::Network)
        } else {
            None
        };
        if !plan.applied.is_empty() {
            plan.applied
                .push(measure("no_new_privs", "on", "prctl PR_SET_NO_NEW_PRIVS"));
        }
        if !plan.not_applied.is_empty() && !self.best_effort {
            return Err(SandboxError::Missing(plan.not_applied));
        }
        Ok(Prepared {
            plan,
            policy: self.clone(),
            namespaces,
            limits,
            ruleset,
        })
    }

    /// The resource limits: `(resource, soft, hard)`, never above the current hard limit
    /// (which only a privileged process could raise). `processes` is not set for root (see
    /// [`Sandbox::prepare`]).
    fn limits(&self, plan: &mut Plan, root: bool) -> Vec<(Resource, u64, u64)> {
        let cpu = self.cpu_seconds.map(|secs| {
            let kill = secs.saturating_add(CPU_KILL_AFTER);
            (
                secs,
                kill,
                format!("RLIMIT_CPU: SIGXCPU after {secs} s of CPU time, SIGKILL after {kill} s"),
            )
        });
        let asked = [
            (
                "memory_mb",
                Resource::RLIMIT_AS,
                self.memory_mb.map(|mb| {
                    let bytes = mb.saturating_mul(MIB);
                    (
                        bytes,
                        bytes,
                        "RLIMIT_AS: allocations past it fail with ENOMEM".to_owned(),
                    )
                }),
            ),
            ("cpu_seconds", Resource::RLIMIT_CPU, cpu),
            (
                "processes",
                Resource::RLIMIT_NPROC,
                self.processes
                    .filter(|_| !root)
                    .map(|n| (n, n, String::new())),
            ),
            (
                "open_files",
                Resource::RLIMIT_NOFILE,
                self.open_files.map(|n| {
                    (
                        n,
                        n,
                        "RLIMIT_NOFILE: opening more fails with EMFILE".to_owned(),
                    )
                }),
            ),
        ];
        let mut limits = Vec::new();
        for (key, resource, value) in asked {
            let Some((soft, hard, how)) = value else {
                continue;
            };
            let current =
                nix::sys::resource::getrlimit(resource).map_or(u64::MAX, |(_, hard)| hard);
            limits.push((resource, soft.min(current), hard.min(current)));
            // `processes` has its own entry (how it counts).
            if key != "processes" {
                plan.applied.push(measure(key, &key_value(self, key), &how));
            }
        }
        limits
    }

    /// The Landlock ruleset of `read` and `write` — and TCP rules when no network namespace
    /// can be had (best effort) — or `None` when there is nothing to restrict.
    fn landlock(&self, plan: &mut Plan) -> Result<Option<RulesetCreated>, SandboxError> {
        let read_rights = AccessFs::from_read(ABI::V1);
        // Truncate (ABI 3) is required: without it a "read-only" file could be emptied.
        let write_rights = AccessFs::from_write(ABI::V3);
        let write_extra = AccessFs::from_write(ABI::V5) & !write_rights;
        let mut handled: BitFlags<AccessFs> = BitFlags::EMPTY;
        if self.read.is_some() {
            handled |= read_rights;
        }
        if self.write.is_some() {
            handled |= write_rights;
        }
        let network_missing = plan.not_applied.iter().position(|m| m.key == "network");
        let tcp_fallback =
            network_missing.is_some() && landlock_has_net(AccessNet::from_all(ABI::V4));
        if !handled.is_empty() && !landlock_has(handled) {
            let abi = if self.write.is_some() { 3 } else { 1 };
            let why = format!(
                "needs Landlock ABI {abi} or later; this kernel has {}",
                landlock_abi_name()
            );
            for key in ["read", "write"] {
                if let Some(paths) = key_paths(self, key) {
                    plan.not_applied
                        .push(measure(key, &paths_value(paths), &why));
                }
            }
            handled = BitFlags::EMPTY;
        }
        if handled.is_empty() && !tcp_fallback {
            return Ok(None);
        }
        let landlock_error = |e: landlock::RulesetError| SandboxError::Landlock(e.to_string());
        let mut ruleset = Ruleset::default()
            .set_compatibility(CompatLevel::HardRequirement)
            .handle_access(handled)
            .map_err(landlock_error)?;
        if tcp_fallback {
            ruleset = ruleset
                .handle_access(AccessNet::from_all(ABI::V4))
                .map_err(landlock_error)?;
        }
        let extra = if handled.contains(write_rights) {
            write_extra
        } else {
            BitFlags::EMPTY
        };
        if !extra.is_empty() {
            ruleset = ruleset
                .set_compatibility(CompatLevel::BestEffort)
                .handle_access(extra)
                .map_err(landlock_error)?;
        }
        let mut created = ruleset
            .set_compatibility(CompatLevel::BestEffort)
            .create()
            .map_err(landlock_error)?;
        let writable = handled & (write_rights | extra | AccessFs::ReadFile | AccessFs::ReadDir);
        let grants = [
            ("read", self.read.as_deref(), handled & read_rights),
            ("write", self.write.as_deref(), writable | extra),
        ];
        for (key, paths, rights) in grants {
            if handled.is_empty() {
                break;
            }
            for path in paths.unwrap_or_default() {
                if let Some(rule) = path_rule(key, path, rights, plan)? {
                    created = created.add_rule(rule).map_err(landlock_error)?;
                }
            }
        }
        let mechanism = landlock_abi_name();
        for (key, meaning) in [
            ("read", "everything else unreadable"),
            ("write", "everything else read-only"),
        ] {
            if let (Some(paths), false) = (key_paths(self, key), handled.is_empty()) {
                // A path that does not exist grants nothing: listed as skipped, not here.
                let granted: Vec<PathBuf> = paths
                    .iter()
                    .filter(|p| !plan.missing_paths.contains(p))
                    .cloned()
                    .collect();
                plan.applied.push(measure(
                    key,
                    &paths_value(&granted),
                    &format!("{mechanism}: {meaning}"),
                ));
            }
        }
        if let Some(index) = network_missing.filter(|_| tcp_fallback) {
            let entry = &mut plan.not_applied[index];
            entry.how = format!(
                "{}; applied instead: Landlock TCP rules (no TCP connect or bind; UDP and other \
                 families are NOT blocked)",
                entry.how
            );
        }
        Ok(Some(created))
    }

    /// What the exit `status` of a child in this sandbox says about its limits: a sentence
    /// naming the limit that (probably) stopped it, or the limits in force; `None` when no
    /// limit is set.
    pub fn explain_exit(&self, status: ExitStatus) -> Option<String> {
        use std::os::unix::process::ExitStatusExt;
        let signal = status.signal();
        if let (Some(secs), Some(s)) = (self.cpu_seconds, signal) {
            if s == nix::libc::SIGXCPU {
                return Some(format!(
                    "stopped by the sandbox's cpu_seconds limit: SIGXCPU after {secs} s of \
                     CPU time (RLIMIT_CPU)"
                ));
            }
            if s == nix::libc::SIGKILL {
                return Some(format!(
                    "killed by SIGKILL: the sandbox's cpu_seconds limit sends it after {} s of \
                     CPU time (RLIMIT_CPU hard limit), if nothing else killed it",
                    secs.saturating_add(CPU_KILL_AFTER)
                ));
            }
        }
        if let (Some(mb), Some(s)) = (self.memory_mb, signal)
            && [nix::libc::SIGABRT, nix::libc::SIGSEGV, nix::libc::SIGBUS].contains(&s)
        {
            return Some(format!(
                "probably the sandbox's memory_mb limit: past {mb} MiB of address space \
                 (RLIMIT_AS) allocations fail with ENOMEM, and an executor that cannot \
                 allocate aborts"
            ));
        }
        let limits: Vec<String> = ["memory_mb", "cpu_seconds", "processes", "open_files"]
            .into_iter()
            .filter(|key| key_set(self, key))
            .map(|key| format!("{key} {}", key_value(self, key)))
            .collect();
        (!limits.is_empty()).then(|| {
            format!(
                "sandbox limits in force: {} (an allocation, fork or open past them fails \
                 with ENOMEM, EAGAIN or EMFILE)",
                limits.join(", ")
            )
        })
    }
}

impl Prepared {
    /// What is in force.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The policy this was prepared from.
    pub fn policy(&self) -> &Sandbox {
        &self.policy
    }

    /// The steps for one child (the ruleset's descriptor duplicated: each child consumes
    /// its own).
    ///
    /// # Errors
    /// The descriptor cannot be duplicated.
    pub(crate) fn for_child(&self) -> std::io::Result<ChildSandbox> {
        let ruleset = match &self.ruleset {
            Some(ruleset) => Some(ruleset.try_clone()?),
            None => None,
        };
        Ok(ChildSandbox {
            namespaces: self.namespaces.clone(),
            limits: self.limits.clone(),
            no_new_privs: !self.plan.applied.is_empty(),
            ruleset,
        })
    }
}

/// What the child applies between `fork` and `exec`. Everything was allocated by the
/// parent: [`ChildSandbox::apply`] only makes system calls.
pub(crate) struct ChildSandbox {
    namespaces: Option<Namespaces>,
    limits: Vec<(Resource, u64, u64)>,
    no_new_privs: bool,
    ruleset: Option<RulesetCreated>,
}

impl ChildSandbox {
    /// Namespaces, limits, `no_new_privs`, Landlock. Async-signal-safe: system calls only
    /// (no allocation, no lock); errors are raw errno values.
    pub(crate) fn apply(&mut self) -> std::io::Result<()> {
        match &self.namespaces {
            None => {}
            Some(Namespaces::Network) => nix::sched::unshare(CloneFlags::CLONE_NEWNET)?,
            Some(Namespaces::User {
                network,
                uid_map,
                gid_map,
            }) => {
                let mut flags = CloneFlags::CLONE_NEWUSER;
                if *network {
                    flags |= CloneFlags::CLONE_NEWNET;
                }
                nix::sched::unshare(flags)?;
                write_file(c"/proc/self/setgroups", b"deny")?;
                write_file(c"/proc/self/uid_map", uid_map)?;
                write_file(c"/proc/self/gid_map", gid_map)?;
            }
        }
        for &(resource, soft, hard) in &self.limits {
            nix::sys::resource::setrlimit(resource, soft, hard)?;
        }
        if self.no_new_privs {
            nix::sys::prctl::set_no_new_privs()?;
        }
        if let Some(ruleset) = self.ruleset.take() {
            ruleset
                .restrict_self()
                .map_err(|_| std::io::Error::from_raw_os_error(nix::libc::EPERM))?;
        }
        Ok(())
    }
}

/// The rule granting `rights` beneath `path` (only the file rights for a file), or `None`
/// when `path` does not exist (recorded in the plan: nothing to grant).
fn path_rule(
    key: &'static str,
    path: &Path,
    rights: BitFlags<AccessFs>,
    plan: &mut Plan,
) -> Result<Option<PathBeneath<PathFd>>, SandboxError> {
    let path_error = |source| SandboxError::Path {
        key,
        path: path.to_path_buf(),
        source,
    };
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            plan.missing_paths.push(path.to_path_buf());
            return Ok(None);
        }
        Err(source) => return Err(path_error(source)),
    };
    let fd = PathFd::new(path).map_err(|e| path_error(std::io::Error::other(e.to_string())))?;
    let file_rights = AccessFs::ReadFile
        | AccessFs::WriteFile
        | AccessFs::Execute
        | AccessFs::Truncate
        | AccessFs::IoctlDev;
    let rights = if meta.is_dir() {
        rights
    } else {
        rights & file_rights
    };
    Ok((!rights.is_empty()).then(|| PathBeneath::new(fd, rights)))
}

/// Writes `bytes` to the file `path` (in the child: no allocation).
fn write_file(path: &std::ffi::CStr, bytes: &[u8]) -> nix::Result<()> {
    use nix::fcntl::OFlag;
    let fd = nix::fcntl::open(
        path,
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    nix::unistd::write(&fd, bytes).map(|_| ())
}

/// How the child gets a network namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NetworkHow {
    /// Directly: this process holds CAP_SYS_ADMIN.
    Plain,
    /// Through a user namespace of its own.
    User,
}

/// How a child of this process can get a network namespace, or why it cannot.
fn network_namespace_how(root: bool) -> Result<NetworkHow, String> {
    if !Path::new("/proc/self/ns/net").exists() {
        return Err("this kernel has no network namespaces".into());
    }
    if has_capability(CAP_SYS_ADMIN) {
        return Ok(NetworkHow::Plain);
    }
    if user_namespaces_available() {
        return Ok(NetworkHow::User);
    }
    Err(if root {
        "no CAP_SYS_ADMIN and no user namespaces to create a network namespace".into()
    } else {
        "unprivileged user namespaces are disabled (user.max_user_namespaces, \
         kernel.unprivileged_userns_clone or AppArmor's restriction): no network namespace"
            .into()
    })
}

/// Whether this process holds `capability` in its effective set (`/proc/self/status`).
fn has_capability(capability: u32) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << capability) != 0)
}

/// Whether a child can create a user namespace without privileges, as far as the kernel's
/// switches tell (a refusal the switches do not show fails the spawn with its errno).
fn user_namespaces_available() -> bool {
    let number = |path: &str| -> Option<u64> {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse().ok())
    };
    if !Path::new("/proc/self/ns/user").exists()
        || number("/proc/sys/user/max_user_namespaces") == Some(0)
        || number("/proc/sys/kernel/unprivileged_userns_clone") == Some(0)
    {
        return false;
    }
    number("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") != Some(1)
}

/// Whether the kernel handles every filesystem right of `rights` (a ruleset that requires
/// them can be created).
fn landlock_has(rights: BitFlags<AccessFs>) -> bool {
    Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(rights)
        .and_then(|r| r.create())
        .is_ok()
}

/// Whether the kernel handles every network right of `rights`.
fn landlock_has_net(rights: BitFlags<AccessNet>) -> bool {
    Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(rights)
        .and_then(|r| r.create())
        .is_ok()
}

/// "Landlock ABI N" for the newest ABI this kernel has (as far as the crate knows ABIs).
fn landlock_abi_name() -> String {
    let abis = [
        ABI::V7,
        ABI::V6,
        ABI::V5,
        ABI::V4,
        ABI::V3,
        ABI::V2,
        ABI::V1,
    ];
    abis.iter()
        .zip((1..=7).rev())
        .find(|(abi, _)| {
            landlock_has(AccessFs::from_all(**abi))
                && (**abi < ABI::V4 || landlock_has_net(AccessNet::from_all(**abi)))
        })
        .map_or_else(
            || "no Landlock".to_owned(),
            |(_, n)| format!("Landlock ABI {n}"),
        )
}

fn measure(key: &'static str, value: &str, how: &str) -> Measure {
    Measure {
        key,
        value: value.to_owned(),
        how: how.to_owned(),
    }
}

fn key_paths<'a>(sandbox: &'a Sandbox, key: &str) -> Option<&'a [PathBuf]> {
    match key {
        "read" => sandbox.read.as_deref(),
        "write" => sandbox.write.as_deref(),
        _ => None,
    }
}

fn paths_value(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "(nothing)".into();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn key_set(sandbox: &Sandbox, key: &str) -> bool {
    match key {
        "memory_mb" => sandbox.memory_mb.is_some(),
        "cpu_seconds" => sandbox.cpu_seconds.is_some(),
        "processes" => sandbox.processes.is_some(),
        "open_files" => sandbox.open_files.is_some(),
        _ => false,
    }
}

fn key_value(sandbox: &Sandbox, key: &str) -> String {
    let value = match key {
        "memory_mb" => sandbox.memory_mb,
        "cpu_seconds" => sandbox.cpu_seconds,
        "processes" => sandbox.processes,
        "open_files" => sandbox.open_files,
        _ => None,
    };
    value.map_or_else(String::new, |v| v.to_string())
}
