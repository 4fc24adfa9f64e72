//! A throwaway server process owned by one bench run (SecantusDB for
//! MongoDB, moto or dynalite for DynamoDB): started on a free 127.0.0.1
//! port with its log in a temporary directory, stopped (SIGTERM, then
//! SIGKILL after 5 s) and the directory deleted on drop.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// A running server.
pub struct Server {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts `program` with the arguments `args(port, dir)` gives (`dir`:
    /// a temporary directory the server may keep data in) and waits up to
    /// 60 s for it to accept connections. Errors quote the server's log.
    pub fn start(program: &Path, args: impl FnOnce(u16, &Path) -> Vec<OsString>) -> Result<Server> {
        let dir = tempfile::tempdir().context("a temporary directory for the server")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log_path = dir.path().join("server.log");
        let mut child = Command::new(program)
            .args(args(port, dir.path()))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path)?)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("{} exited with {status}: {}", program.display(), log());
            }
            if t.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                anyhow::bail!("{} did not listen within 60 s: {}", program.display(), log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(Server { child, port, _dir: dir })
    }

    /// User + system CPU time of the server process so far.
    pub fn cpu(&self) -> Option<Duration> {
        process_cpu(self.child.id())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: kill only signals the child this struct started.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// utime + stime of a process (`/proc/PID/stat`, fields 14 and 15).
pub fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_nanos(ticks * 1_000_000_000 / hz))
}
