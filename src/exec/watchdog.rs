//! go test's last-ditch deadline: a test binary still running a minute
//! after its own -test.timeout (a wedged TestMain, a blocked alarm) gets
//! SIGQUIT, for a stack trace, and SIGKILL if that does not end it.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long after SIGQUIT a binary may take to print and exit.
const QUIT_GRACE: Duration = Duration::from_secs(10);

/// When the backstop fires for `argv`: its -test.timeout plus a minute,
/// as in go test; None when the timeout is 0 (none).
pub fn deadline(argv: &[String]) -> Option<f64> {
    let t = argv
        .iter()
        .find_map(|a| a.strip_prefix("-test.timeout="))
        .and_then(crate::goflags::parse_duration)?;
    (t > 0.0).then_some(t + 60.0)
}

pub struct Watchdog {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<Option<String>>,
}

impl Watchdog {
    /// Watches `pid`; the child must not be reaped before `disarm`, so its
    /// pid cannot name another process when a signal is sent.
    pub fn arm(pid: u32, after: f64) -> Watchdog {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let pid = Pid::from_raw(pid as i32);
            let wait = Duration::from_secs_f64(after);
            if !matches!(
                stopped.recv_timeout(wait),
                Err(mpsc::RecvTimeoutError::Timeout)
            ) {
                return None;
            }
            let _ = kill(pid, Signal::SIGQUIT);
            let took = crate::goflags::format_duration(after);
            if matches!(
                stopped.recv_timeout(QUIT_GRACE),
                Err(mpsc::RecvTimeoutError::Timeout)
            ) {
                let _ = kill(pid, Signal::SIGKILL);
                return Some(format!("*** Test killed: ran too long ({took}).\n"));
            }
            Some(format!(
                "*** Test killed with quit: ran too long ({took}).\n"
            ))
        });
        Watchdog { stop, thread }
    }

    /// Stops watching; go test's line if the deadline passed.
    pub fn disarm(self) -> Option<String> {
        let _ = self.stop.send(());
        self.thread.join().ok().flatten()
    }
}
