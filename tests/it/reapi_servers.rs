//! Real REAPI servers for the integration tests: bazel-remote (cache only)
//! and Buildbarn (bb_storage + bb_scheduler + bb_worker + bb_runner, remote
//! execution), built once by `scripts/reapi-servers.sh` and started on free
//! loopback ports in temp dirs. Each server's output goes to
//! `<dir>/logs/<name>.log`; a server that does not come up panics with the
//! end of its log.

#![allow(dead_code)]

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::support::repo;

/// How long a server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long Buildbarn's servers get to stop on SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_millis(500);

/// `target/reapi-servers/bin`, built by `scripts/reapi-servers.sh` on the
/// first call in this test process (a no-op when the binaries exist).
pub fn server_bin_dir() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = repo().join("target/reapi-servers");
        let script = repo().join("scripts/reapi-servers.sh");
        let status = Command::new(&script)
            .arg(&out)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            status.success(),
            "{} {} failed ({status}): the REAPI servers could not be built; see its output above",
            script.display(),
            out.display()
        );
        out.join("bin")
    })
    .clone()
}

/// A loopback port nothing listens on (at the time of the call).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// A temp dir with a short path: UNIX socket paths must stay under 108 bytes.
fn temp_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(std::env::temp_dir())
        .expect("create a temp dir")
}

/// One server process, its output in `log`.
struct Server {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Starts `bin/<name> args…` with `env`, logging to `<logs>/<name>.log`.
    fn spawn(name: &str, args: &[&str], env: &[(&str, String)], logs: &Path) -> Server {
        fs::create_dir_all(logs).expect("create the log dir");
        let log = logs.join(format!("{name}.log"));
        let out = fs::File::create(&log).expect("create a log file");
        let err = out.try_clone().expect("clone a log file");
        let child = Command::new(server_bin_dir().join(name))
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Server {
            name: name.to_string(),
            child,
            log,
        }
    }

    /// Panics with the end of the log unless the process still runs.
    fn assert_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited ({status}):\n{}", self.name, self.log_tail());
        }
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn signal(&self, signal: Signal) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), signal);
    }

    fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `ready()` holds, failing if a server exits meanwhile.
fn wait_until(what: &str, servers: &mut [Server], ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        servers.iter_mut().for_each(Server::assert_alive);
        assert!(
            start.elapsed() < READY_TIMEOUT,
            "{what} not ready after {READY_TIMEOUT:?}; logs:\n{}",
            log_tails(servers)
        );
        sleep(Duration::from_millis(50));
    }
}

/// The end of every server's log, each under its name.
fn log_tails(servers: &[Server]) -> String {
    servers
        .iter()
        .map(|s| format!("== {}\n{}", s.name, s.log_tail()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// True if something accepts TCP connections on 127.0.0.1:`port`.
pub fn accepts(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

fn grpc_addr(port: u16) -> String {
    format!("grpc://127.0.0.1:{port}")
}

/// bazel-remote: CAS + AC over gRPC (SHA-256 only, instance names ignored).
pub struct BazelRemote {
    pub port: u16,
    /// Its data directory (`--dir`).
    pub dir: PathBuf,
    server: Server,
    _tmp: tempfile::TempDir,
}

impl BazelRemote {
    /// Starts it on a free port with a fresh data dir; returns once its gRPC
    /// port accepts connections.
    pub fn start() -> BazelRemote {
        BazelRemote::start_with(&[])
    }

    /// Starts it with `extra` flags too (e.g. `--tls_cert_file`).
    pub fn start_with(extra: &[&str]) -> BazelRemote {
        let tmp = temp_dir("bazel-remote-");
        let dir = tmp.path().join("data");
        let (port, http) = (free_port(), free_port());
        let args = [
            "--dir".to_string(),
            dir.display().to_string(),
            "--max_size".to_string(),
            "2".to_string(),
            // Blobs on disk as sent, so a test can alter one and the
            // client, not the server's decompressor, must notice.
            "--storage_mode".to_string(),
            "uncompressed".to_string(),
            "--grpc_address".to_string(),
            format!("127.0.0.1:{port}"),
            "--http_address".to_string(),
            format!("127.0.0.1:{http}"),
        ];
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.extend(extra);
        let server = Server::spawn("bazel-remote", &args, &[], &tmp.path().join("logs"));
        let mut servers = [server];
        wait_until("bazel-remote", &mut servers, || accepts(port));
        let [server] = servers;
        BazelRemote {
            port,
            dir,
            server,
            _tmp: tmp,
        }
    }

    pub fn addr(&self) -> String {
        grpc_addr(self.port)
    }

    /// SIGKILL, at once.
    pub fn kill(&mut self) {
        self.server.kill();
    }

    /// Panics (with its log) if it has exited.
    pub fn assert_alive(&mut self) {
        self.server.assert_alive();
    }

    /// The end of its log, for failure messages.
    pub fn logs(&self) -> String {
        log_tails(std::slice::from_ref(&self.server))
    }
}

impl Drop for BazelRemote {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Buildbarn: one bb_storage (CAS + AC + Execute frontend) on `port`, a
/// scheduler, and one worker with a native build directory whose runner
/// runs actions as the current user with only the Command's environment.
///
/// What a client sees (checked with a probe):
/// - any instance name works (CAS shared across names, AC per name);
/// - the platform must be exactly `ISA=x86-64`, `OSFamily=Linux` (an other
///   set fails at once with UNAVAILABLE); Action or Command platform;
/// - messages up to 16 MiB (batches above that: ByteStream);
/// - an action runs in `<dir>/worker/build/<16 hex>/root` joined with the
///   Command's `working_directory`; output paths are relative to that and
///   their parent directories are created by the worker; no PATH, TMPDIR;
/// - Execute does not consult the AC; successful results are written to it.
pub struct Buildbarn {
    pub port: u16,
    /// State: `storage/`, `worker/build` (the build directory), `logs/`.
    pub dir: PathBuf,
    servers: Vec<Server>,
    _tmp: tempfile::TempDir,
}

impl Buildbarn {
    /// Starts all four servers (worker concurrency 2).
    pub fn start() -> Buildbarn {
        Buildbarn::start_with_concurrency(2)
    }

    /// Starts all four on free ports in a fresh temp dir; returns once
    /// bb_storage and bb_scheduler accept connections and the worker runs.
    /// Actions submitted before the worker's first synchronization wait in
    /// the scheduler's predeclared queue.
    pub fn start_with_concurrency(concurrency: u32) -> Buildbarn {
        let (mut bb, ports, env) = Buildbarn::prepare(concurrency);
        for name in ["bb_storage", "bb_scheduler", "bb_runner"] {
            bb.spawn(name, config_file(name), &env);
        }
        let socket = bb.dir.join("worker/runner.sock");
        wait_until("Buildbarn", &mut bb.servers, || {
            ports.iter().all(|&p| accepts(p)) && socket.exists()
        });
        bb.spawn("bb_worker", config_file("bb_worker"), &env);
        bb
    }

    /// bb_storage alone, as a cache with no execution (it then offers
    /// BLAKE3 with nothing to contradict it).
    pub fn start_cache_only() -> Buildbarn {
        let (mut bb, ports, env) = Buildbarn::prepare(1);
        bb.spawn("bb_storage", "cache-only.jsonnet", &env);
        wait_until("bb_storage", &mut bb.servers, || accepts(ports[0]));
        bb
    }

    /// A fresh temp dir with the directories the configs name, and ports.
    fn prepare(concurrency: u32) -> (Buildbarn, [u16; 3], Vec<(&'static str, String)>) {
        let tmp = temp_dir("bb-");
        let dir = tmp.path().to_path_buf();
        for sub in [
            "storage/cas-state",
            "storage/ac-state",
            "worker/build",
            "worker/cache",
        ] {
            fs::create_dir_all(dir.join(sub)).expect("create a Buildbarn dir");
        }
        let ports = [free_port(), free_port(), free_port()];
        let env = config_env(&dir, ports, concurrency);
        let bb = Buildbarn {
            port: ports[0],
            dir,
            servers: Vec::new(),
            _tmp: tmp,
        };
        (bb, ports, env)
    }

    fn spawn(&mut self, name: &str, config: &str, env: &[(&str, String)]) {
        let config = repo().join("scripts/buildbarn").join(config);
        let config = config.display().to_string();
        let logs = self.dir.join("logs");
        self.servers
            .push(Server::spawn(name, &[&config], env, &logs));
    }

    pub fn addr(&self) -> String {
        grpc_addr(self.port)
    }

    /// Panics (with the logs) if any of the servers has exited.
    pub fn assert_alive(&mut self) {
        self.servers.iter_mut().for_each(Server::assert_alive);
    }

    /// The end of every server's log, for failure messages.
    pub fn logs(&self) -> String {
        log_tails(&self.servers)
    }

    /// SIGTERM to all, SIGKILL to those still running after a short grace.
    pub fn stop(&mut self) {
        self.servers.iter().for_each(|s| s.signal(Signal::SIGTERM));
        let start = Instant::now();
        while start.elapsed() < STOP_GRACE && !self.servers.iter_mut().all(Server::exited) {
            sleep(Duration::from_millis(20));
        }
        self.servers.iter_mut().for_each(Server::kill);
    }
}

impl Drop for Buildbarn {
    fn drop(&mut self) {
        self.stop();
    }
}

fn config_file(server: &str) -> &'static str {
    match server {
        "bb_storage" => "storage.jsonnet",
        "bb_scheduler" => "scheduler.jsonnet",
        "bb_worker" => "worker.jsonnet",
        _ => "runner.jsonnet",
    }
}

/// The environment scripts/buildbarn/common.libsonnet reads.
fn config_env(
    dir: &Path,
    [storage, client, worker]: [u16; 3],
    concurrency: u32,
) -> Vec<(&'static str, String)> {
    vec![
        ("BB_DIR", dir.display().to_string()),
        ("BB_STORAGE_PORT", storage.to_string()),
        ("BB_SCHEDULER_CLIENT_PORT", client.to_string()),
        ("BB_SCHEDULER_WORKER_PORT", worker.to_string()),
        ("BB_WORKER_CONCURRENCY", concurrency.to_string()),
    ]
}

#[test]
#[ignore = "needs the REAPI servers"]
fn servers_start_and_stay_up() {
    let mut cache = BazelRemote::start();
    let mut bb = Buildbarn::start();
    sleep(Duration::from_secs(2));
    cache.assert_alive();
    bb.assert_alive();
    assert!(
        accepts(cache.port),
        "bazel-remote stopped accepting on {}",
        cache.addr()
    );
    assert!(
        accepts(bb.port),
        "bb_storage stopped accepting on {}",
        bb.addr()
    );
    cache.kill();
    assert!(
        !accepts(cache.port),
        "bazel-remote still accepts after kill"
    );
}
