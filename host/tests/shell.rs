//! `driverbox shell` on a real terminal: driven through tmux (`send-keys`,
//! `capture-pane`). Every wait polls the screen until the expected text
//! appears; the time-out only bounds a hung test.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;

/// How long to wait for text on the screen before failing (the first run
/// also compiles the driver components).
const PATIENCE: Duration = Duration::from_secs(180);

/// A tmux server of our own (its own socket) running one session.
struct Tmux {
    /// Holds the server's socket; removed with it.
    dir: tempfile::TempDir,
    /// The shell's prompt name (`test` in `test=> `).
    name: String,
}

impl Tmux {
    /// Starts `command` (a shell command line) in a 200x50 terminal; the
    /// pane stays after the command exits, so its exit status can be read.
    fn start(command: &str, name: &str) -> Tmux {
        let dir = tempfile::tempdir().expect("temp dir");
        let tmux = Tmux {
            dir,
            name: name.to_string(),
        };
        let out = tmux.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            "200",
            "-y",
            "50",
            command,
            ";",
            "set-option",
            "-t",
            "main",
            "remain-on-exit",
            "on",
        ]);
        assert!(
            out.status.success(),
            "tmux did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        let socket = self.dir.path().join("tmux.sock");
        Command::new("tmux")
            .arg("-S")
            .arg(socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// Types `text` literally (tmux would take a trailing `;` for a command separator).
    fn type_text(&self, text: &str) {
        let (body, semicolon) = match text.strip_suffix(';') {
            Some(body) => (body, true),
            None => (text, false),
        };
        if !body.is_empty() {
            self.run(&["send-keys", "-t", "main", "-l", body]);
        }
        if semicolon {
            self.run(&["send-keys", "-t", "main", "-H", "3b"]);
        }
    }

    /// Types a line and presses Enter.
    fn line(&self, text: &str) {
        self.type_text(text);
        self.key("Enter");
    }

    /// Presses a key (`Enter`, `C-c`, `C-d`).
    fn key(&self, key: &str) {
        self.run(&["send-keys", "-t", "main", key]);
    }

    /// The whole pane, scrollback included, wrapped lines joined.
    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-J", "-S", "-", "-t", "main"]).stdout).into_owned()
    }

    /// Waits until the screen shows `text` `times` times; gives the screen.
    fn wait_for_n(&self, text: &str, times: usize) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.matches(text).count() >= times {
                return screen;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "{text:?} (x{times}) never appeared; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait_for_n(text, 1)
    }

    /// Prompt lines on the screen: every line entered ends with a new one.
    fn prompts(&self, screen: &str) -> usize {
        let marks = ["=> ", "-> ", "=*> ", "-*> "];
        screen
            .lines()
            .filter(|l| {
                l.strip_prefix(&self.name)
                    .is_some_and(|rest| marks.iter().any(|m| rest.starts_with(m)))
            })
            .count()
    }

    /// Does `action` (typing, keys) and waits for the prompt that follows;
    /// gives the screen.
    fn then_prompt(&self, action: impl FnOnce()) -> String {
        let before = self.prompts(&self.screen());
        action();
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if self.prompts(&screen) > before {
                return screen;
            }
            assert!(start.elapsed() < PATIENCE, "no new prompt; the screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Types a line, presses Enter and waits for the next prompt; gives
    /// what was printed from the line on.
    fn enter(&self, text: &str) -> String {
        let screen = self.then_prompt(|| self.line(text));
        let lines: Vec<&str> = screen.lines().collect();
        let first = text.lines().next().unwrap_or(text);
        let from = lines.iter().rposition(|l| l.contains(first)).unwrap_or(0);
        lines[from..].join("\n")
    }

    /// Waits until the shell has exited; gives its exit status (printed by
    /// the wrapper `shell_command` builds: tmux 3.3's `pane_dead_status`
    /// is not always filled in).
    fn wait_exit(&self) -> i32 {
        let screen = self.wait_for("[exited ");
        let status = screen
            .rsplit("[exited ")
            .next()
            .and_then(|s| s.split(']').next())
            .unwrap_or_default();
        status.trim().parse().unwrap_or(-1)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The command line that starts the shell on `url`, with history in
/// `history`, and prints `[exited STATUS]` when it ends.
fn shell_command(url: &str, history: &Path) -> String {
    format!(
        "env XDG_CACHE_HOME='{}' DRIVERBOX_HISTORY='{}' '{}' shell '{url}'; echo \"[exited $?]\"",
        cache_home().display(),
        history.display(),
        bin()
    )
}

#[test]
fn shell_on_a_terminal_with_postgres() {
    let table = unique("dbx_shell");
    pg(&format!(
        "create table public.{table} (id int, name text); insert into public.{table} values (1, 'one')"
    ));
    let _drop = PgTable(format!("public.{table}"));
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    let tmux = Tmux::start(&shell_command(PG_URL, &history), "test");
    tmux.wait_for("test=> ");

    let out = tmux.enter("\\dt");
    assert!(out.contains(&table), "{out}");

    // A statement over two lines: the continuation prompt, then the result.
    tmux.line("select 'forty' ||");
    tmux.wait_for("test-> ");
    let out = tmux.enter("  '-two' as answer;");
    assert!(
        out.contains("answer") && out.contains("forty-two") && out.contains("(1 row)"),
        "{out}"
    );

    // An error shows the server's message and where it is.
    let out = tmux.enter(&format!("select no_such_column from {table};"));
    assert!(
        out.contains("ERROR:  column \"no_such_column\" does not exist"),
        "{out}"
    );
    assert!(out.contains("LINE 1: select no_such_column"), "{out}");

    // Ctrl-C cancels the running statement, not the shell.
    let marker = unique("dbx_cancel");
    tmux.line(&format!("select pg_sleep(30) as {marker};"));
    let running = format!(
        "select count(*) from pg_stat_activity where state = 'active' and pid <> pg_backend_pid() \
         and query like '%' || '{marker}' || '%'"
    );
    let start = Instant::now();
    while pg_value(&running) != "1" {
        assert!(
            start.elapsed() < PATIENCE,
            "the statement never ran; the screen:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let screen = tmux.then_prompt(|| tmux.key("C-c"));
    assert!(screen.contains("Cancel request sent\nERROR:  canceled"), "{screen}");
    let out = tmux.enter("select 'after' || 'cancel' as c;");
    assert!(out.contains("aftercancel"), "{out}");

    // Ctrl-C at the prompt drops the line being typed; the shell goes on.
    tmux.then_prompt(|| {
        tmux.type_text("select 'dropped");
        tmux.key("C-c");
    });
    let out = tmux.enter(&format!("select name || '-kept' as k from {table};"));
    assert!(out.contains("one-kept"), "{out}");

    tmux.line("\\q");
    assert_eq!(tmux.wait_exit(), 0, "{}", tmux.screen());
    let saved = std::fs::read_to_string(&history).unwrap_or_default();
    assert!(
        saved.contains("\\dt") && saved.contains("as answer;"),
        "history: {saved}"
    );
}

#[test]
fn shell_on_a_terminal_with_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("notes.db").display());
    let tmux = Tmux::start(&shell_command(&url, &dir.path().join("history")), "notes.db");
    tmux.wait_for("notes.db=> ");

    let out = tmux.enter("create table notes (id integer primary key, body text not null);");
    assert!(out.contains("CREATE TABLE"), "{out}");
    let out = tmux.enter("insert into notes (body) values ('first'), ('second');");
    assert!(out.contains("INSERT 0 2"), "{out}");
    let out = tmux.enter("\\dt");
    assert!(
        out.contains("main") && out.contains("notes") && out.contains("(1 row)"),
        "{out}"
    );
    let out = tmux.enter("\\d notes");
    assert!(out.contains("Table \"main.notes\"") && out.contains("body"), "{out}");

    let out = tmux.enter("\\x");
    assert!(out.contains("Expanded display is on."), "{out}");
    let out = tmux.enter("select body from notes order by id;");
    assert!(out.contains("-[ RECORD 2 ]") && out.contains("body | second"), "{out}");

    let out = tmux.enter("select * from missing_table;");
    assert!(out.contains("no such table: missing_table"), "{out}");

    // A transaction holds until COMMIT or ROLLBACK; the prompt shows it.
    tmux.enter("\\x off");
    tmux.enter("begin;");
    tmux.wait_for("notes.db=*> ");
    tmux.enter("delete from notes;");
    let out = tmux.enter("rollback;");
    assert!(out.contains("ROLLBACK"), "{out}");
    let out = tmux.enter("select 'left:' || count(*) as n from notes;");
    assert!(out.contains("left:2"), "the rollback kept both notes: {out}");

    // Ctrl-D at an empty prompt leaves.
    tmux.key("C-d");
    assert_eq!(tmux.wait_exit(), 0, "{}", tmux.screen());
}
