//! The exported `log` interface: driver messages and server notices as
//! lines on stderr (`wasi:cli/stderr`), filtered by `DRIVERBOX_LOG`.

use std::io::Write;
use std::sync::OnceLock;

use crate::exports::driverbox::driver::log::{Guest, Level};
use crate::exports::driverbox::driver::types::Notice;
use crate::settings::{LogLevel, Settings};
use crate::Adapter;

/// Longest message written; the rest is cut.
const MAX_MESSAGE: usize = 4096;

fn threshold() -> LogLevel {
    static LEVEL: OnceLock<LogLevel> = OnceLock::new();
    *LEVEL.get_or_init(|| Settings::from_env().map(|s| s.log).unwrap_or(LogLevel::Warn))
}

/// `message` cut to [`MAX_MESSAGE`] bytes, control characters but tab shown inert.
fn clean(message: &str) -> String {
    let mut end = message.len().min(MAX_MESSAGE);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let mut out: String = message[..end]
        .chars()
        .map(|c| if c.is_control() && c != '\t' { '\u{fffd}' } else { c })
        .collect();
    if end < message.len() {
        out.push('…');
    }
    out
}

fn write_line(level: LogLevel, line: &str) {
    if level < threshold() {
        return;
    }
    let name = match level {
        LogLevel::Trace => "TRACE",
        LogLevel::Debug => "DEBUG",
        LogLevel::Info => "INFO",
        LogLevel::Warn => "WARN",
        LogLevel::Error | LogLevel::Off => "ERROR",
    };
    let _ = writeln!(std::io::stderr().lock(), "driverbox {name}: {line}");
}

impl Guest for Adapter {
    fn log(level: Level, message: String) {
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        write_line(level, &clean(&message));
    }

    fn emit_notice(notice: Notice) {
        let level = if notice.severity.eq_ignore_ascii_case("WARNING") {
            LogLevel::Warn
        } else {
            LogLevel::Info
        };
        let mut line = format!(
            "{} {}: {}",
            clean(&notice.severity),
            clean(&notice.code),
            clean(&notice.message)
        );
        if let Some(detail) = &notice.detail {
            line.push_str(&format!(" DETAIL: {}", clean(detail)));
        }
        if let Some(hint) = &notice.hint {
            line.push_str(&format!(" HINT: {}", clean(hint)));
        }
        write_line(level, &line);
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn messages_are_cut_and_inert() {
        assert_eq!(clean("a\u{1b}[2Jb\tc"), "a\u{fffd}[2Jb\tc");
        let long = "é".repeat(3000);
        let cut = clean(&long);
        assert!(cut.len() <= 4096 + '…'.len_utf8() && cut.ends_with('…'));
    }
}
