//! Starting a child: a [`Spec`] says what to run; [`spawn`] turns it into a [`Group`] — the
//! child leading a new process group, armed with a parent-death signal, forked by the one
//! thread that lives as long as the process.
//!
//! Why a forking thread: the child asks the kernel for SIGKILL when its parent dies
//! (`PR_SET_PDEATHSIG`), and Linux sends that signal when the *thread* that forked the child
//! exits, not the process. Forked from a tokio worker thread (or any thread that ends before
//! the child), an executor would be killed in the middle of a healthy run. So every child is
//! forked by one dedicated thread that lives as long as the process: [`spawn`] hands the
//! command to it and waits for the result.
//!
//! What the child does between `fork` and `exec` is [`ChildSetup`], applied in the one
//! `unsafe` block of the workspace: the parent-death signal, then a pinned [`Image`]'s
//! descriptor kept open across `exec`, then the [`sandbox`](crate::Sandbox) (namespaces,
//! resource limits, `no_new_privs`, Landlock), each prepared by the parent.

use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, OnceLock};

use nix::errno::Errno;
use nix::sys::prctl::set_pdeathsig;
use nix::sys::signal::Signal;
use nix::unistd::{Pid, getpid, getppid};

use crate::group::Group;
use crate::image::Image;
use crate::sandbox::{ChildSandbox, Prepared};

/// What becomes of one of the child's standard streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdio {
    /// `/dev/null`.
    Null,
    /// A pipe to this process ([`Group::take_stdin`] and the like).
    Piped,
    /// This process's own stream.
    Inherit,
}

impl Stdio {
    fn to_std(self) -> std::process::Stdio {
        match self {
            Stdio::Null => std::process::Stdio::null(),
            Stdio::Piped => std::process::Stdio::piped(),
            Stdio::Inherit => std::process::Stdio::inherit(),
        }
    }
}

/// What to start: the program, its arguments, its environment, its working folder and its
/// standard streams. Building one does no I/O; [`spawn`] starts it.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    program: PathBuf,
    args: Vec<OsString>,
    clear_env: bool,
    env: Vec<(OsString, OsString)>,
    current_dir: Option<PathBuf>,
    stdio: [Stdio; 3],
    arg0: Option<OsString>,
    image: Option<Image>,
    sandbox: Option<Arc<Prepared>>,
}

impl Spec {
    /// Runs `program` (a path, or a bare name looked up on `PATH` by `exec`) with no
    /// arguments, this process's environment and folder, and every stream `/dev/null`.
    pub fn new(program: impl AsRef<OsStr>) -> Spec {
        Spec {
            program: PathBuf::from(program.as_ref()),
            args: Vec::new(),
            clear_env: false,
            env: Vec::new(),
            current_dir: None,
            stdio: [Stdio::Null; 3],
            arg0: None,
            image: None,
            sandbox: None,
        }
    }

    /// The child's `argv[0]` (default: the program), e.g. the executor's path when the
    /// program is an [`Image`]'s `/proc/self/fd/N`.
    pub fn arg0(mut self, arg0: impl AsRef<OsStr>) -> Spec {
        self.arg0 = Some(arg0.as_ref().to_owned());
        self
    }

    /// Keeps `image`'s descriptor open in the child, at [`Image::path_in_child`]: run it as
    /// the program (`Spec::new(image.path_in_child())`) or give that path to an interpreter.
    /// The pinned bytes are what runs, whatever happens to the file they came from.
    pub fn image(mut self, image: Image) -> Spec {
        self.image = Some(image);
        self
    }

    /// Starts the child in `sandbox` (applied between `fork` and `exec`).
    pub fn sandbox(mut self, sandbox: Arc<Prepared>) -> Spec {
        self.sandbox = Some(sandbox);
        self
    }

    /// The program.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Spec {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Spec
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Starts from an empty environment instead of this process's.
    pub fn env_clear(mut self) -> Spec {
        self.clear_env = true;
        self.env.clear();
        self
    }

    /// Sets one variable (a later one of the same name wins).
    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Spec {
        self.env
            .push((name.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Sets variables.
    pub fn envs<I, K, V>(mut self, vars: I) -> Spec
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (name, value) in vars {
            self = self.env(name, value);
        }
        self
    }

    /// Runs the child in `dir`.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Spec {
        self.current_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The child's stdin.
    pub fn stdin(mut self, stdin: Stdio) -> Spec {
        self.stdio[0] = stdin;
        self
    }

    /// The child's stdout.
    pub fn stdout(mut self, stdout: Stdio) -> Spec {
        self.stdio[1] = stdout;
        self
    }

    /// The child's stderr.
    pub fn stderr(mut self, stderr: Stdio) -> Spec {
        self.stdio[2] = stderr;
        self
    }

    /// The command to fork: the spec, its own process group, and [`ChildSetup`].
    ///
    /// # Errors
    /// The sandbox's Landlock ruleset cannot be duplicated for the child.
    fn command(&self) -> std::io::Result<std::process::Command> {
        use std::os::unix::process::CommandExt;
        let mut command = std::process::Command::new(&self.program);
        command.args(&self.args);
        if self.clear_env {
            command.env_clear();
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        command
            .stdin(self.stdio[0].to_std())
            .stdout(self.stdio[1].to_std())
            .stderr(self.stdio[2].to_std())
            .process_group(0);
        if let Some(arg0) = &self.arg0 {
            command.arg0(arg0);
        }
        let sandbox = match &self.sandbox {
            Some(prepared) => Some(prepared.for_child()?),
            None => None,
        };
        ChildSetup {
            parent: getpid(),
            image: self.image.as_ref().map(Image::descriptor),
            sandbox,
        }
        .arm(&mut command);
        Ok(command)
    }
}

/// What the child does after `fork`, before `exec`, in order. Every step must be
/// async-signal-safe (the child of a multi-threaded process may only make system calls):
/// no allocation, no lock.
struct ChildSetup {
    /// This process: the child checks it is still its parent once the signal is armed.
    parent: Pid,
    /// A pinned image's descriptor, made to survive `exec` (an interpreter opens it after).
    image: Option<Arc<OwnedFd>>,
    /// The sandbox's steps.
    sandbox: Option<ChildSandbox>,
}

impl ChildSetup {
    /// The steps, in the child. The parent-death signal: SIGKILL when this process dies;
    /// and if it died before the signal was armed, the child has already been re-parented
    /// and must not start (the spawn fails with ESRCH). Then the image's descriptor loses
    /// its close-on-exec flag, and the sandbox is applied (last: it may forbid what comes
    /// before).
    fn apply(&mut self) -> std::io::Result<()> {
        set_pdeathsig(Signal::SIGKILL)?;
        if getppid() != self.parent {
            return Err(Errno::ESRCH.into());
        }
        if let Some(image) = &self.image {
            use nix::fcntl::{FcntlArg, FdFlag, fcntl};
            fcntl(&**image, FcntlArg::F_SETFD(FdFlag::empty()))?;
        }
        if let Some(sandbox) = &mut self.sandbox {
            sandbox.apply()?;
        }
        Ok(())
    }

    /// Installs the steps in `command`.
    ///
    /// The only `unsafe` of the workspace (which denies `unsafe_code`): `pre_exec` is unsafe
    /// because its closure runs in the forked child of a multi-threaded process, where only
    /// async-signal-safe operations are allowed. No safe API arms a parent-death signal.
    #[allow(unsafe_code)]
    fn arm(mut self, command: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        // SAFETY: `apply` makes system calls (prctl, getppid, fcntl, unshare, open/write/close
        // of /proc/self files named by static strings, setrlimit, landlock_restrict_self)
        // with data the parent prepared, and builds its errors from raw errno values: no
        // allocation, no lock, nothing that is unsafe after fork.
        unsafe {
            command.pre_exec(move || self.apply());
        }
    }
}

/// A spawn request for the forking thread.
struct Job {
    command: std::process::Command,
    runtime: tokio::runtime::Handle,
    reply: Sender<std::io::Result<tokio::process::Child>>,
}

/// Starts `spec` from the process's long-lived forking thread: a new process group led by
/// the child, with the parent-death signal armed. Must be called inside a tokio runtime
/// (the child is registered with it).
///
/// # Errors
/// The spawn error (`NotFound`, `PermissionDenied`, ENOEXEC, …, or the errno of a sandbox
/// step that failed in the child), or an error when there is no runtime or the forking
/// thread cannot be reached.
pub fn spawn(spec: &Spec) -> std::io::Result<Group> {
    let runtime = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
    let (reply, answer) = channel();
    let job = Job {
        command: spec.command()?,
        runtime,
        reply,
    };
    forking_thread()
        .send(job)
        .map_err(|_| std::io::Error::other("the process-spawning thread is gone"))?;
    let child = answer
        .recv()
        .map_err(|_| std::io::Error::other("the process-spawning thread did not answer"))??;
    Ok(Group::new(child))
}

/// The forking thread's queue; the thread starts on first use and is never joined.
fn forking_thread() -> &'static Sender<Job> {
    static QUEUE: OnceLock<Sender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (queue, jobs) = channel::<Job>();
        // If the thread cannot start, every spawn fails with "the process-spawning thread
        // is gone": reported where the child was wanted.
        let _ = std::thread::Builder::new()
            .name("rep-spawner".into())
            .spawn(move || {
                for job in jobs {
                    let _runtime = job.runtime.enter();
                    let mut command = tokio::process::Command::from(job.command);
                    command.kill_on_drop(true);
                    let _ = job.reply.send(command.spawn());
                }
            });
        queue
    })
}
