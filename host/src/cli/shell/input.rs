//! The shell's query buffer: input lines collected into statements the
//! way the database's own client does it.
//!
//! - A statement ends at the delimiter, `;` unless changed, outside quotes
//!   and comments.
//! - A line ending in `\g` (psql, mysql) runs the buffer as it is; `\gx`
//!   (psql) runs it with expanded output and `\G` (mysql) with vertical
//!   output, for that statement only.
//! - With a MySQL database, a line `DELIMITER //` typed at the start of a
//!   statement changes the delimiter, as in the `mysql` client, so that
//!   routine bodies may hold `;`. `DELIMITER ;` restores it.

use driverbox::sql;
use sqlparser::dialect::Dialect;

use super::Format;

/// One statement to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Statement {
    pub sql: String,
    /// The line it starts on (1-based) among the lines fed.
    pub line: u64,
    /// The output format for this statement only (`\gx`, `\G`).
    pub format: Option<Format>,
}

/// Input lines not yet run, and the delimiter in force.
#[derive(Debug)]
pub(super) struct Input {
    buffer: String,
    /// Line number of the buffer's first line.
    first_line: u64,
    /// Lines fed so far.
    lines: u64,
    delimiter: String,
}

impl Default for Input {
    fn default() -> Self {
        Input::new(";")
    }
}

impl Input {
    /// An empty buffer with `delimiter` in force.
    pub fn new(delimiter: &str) -> Input {
        Input {
            buffer: String::new(),
            first_line: 1,
            lines: 0,
            delimiter: delimiter.to_string(),
        }
    }

    /// The delimiter in force.
    pub fn delimiter(&self) -> &str {
        &self.delimiter
    }

    /// Sets the delimiter (what a script left in force).
    pub fn set_delimiter(&mut self, delimiter: &str) {
        self.delimiter = delimiter.to_string();
    }

    /// Counts a line that was not SQL (a backslash command in a script).
    pub fn skip_line(&mut self) {
        self.lines += 1;
    }

    /// Whether nothing but blanks waits in the buffer.
    pub fn is_empty(&self) -> bool {
        self.buffer.trim().is_empty()
    }

    /// Forgets what the buffer holds (`\r`, Ctrl-C at the prompt).
    pub fn clear(&mut self) {
        self.buffer.clear();
    }

    /// Adds one line (without its newline) and returns the statements it
    /// completes, in order. `mysql` turns on the `DELIMITER` command.
    ///
    /// Errors: a `DELIMITER` without a delimiter or with a backslash in
    /// it, and `\g`/`\G` with nothing to run; the buffer is kept.
    pub fn line(&mut self, dialect: &dyn Dialect, mysql: bool, line: &str) -> Result<Vec<Statement>, String> {
        self.lines += 1;
        if self.is_empty() {
            self.buffer.clear();
            self.first_line = self.lines;
            if mysql {
                if let Some(argument) = delimiter_command(line) {
                    self.delimiter = new_delimiter(argument)?;
                    return Ok(Vec::new());
                }
            }
        }
        if let Some((body, format)) = go_command(line) {
            let text = format!("{}{body}", self.buffer);
            if sql::ends_in_the_open(dialect, &text) {
                let (mut statements, complete) = self.split(dialect, &text);
                let tail = complete.map_or(text.as_str(), |end| &text[end..]);
                if tail.trim().is_empty() && statements.is_empty() {
                    return Err("no query to run: the query buffer is empty".to_string());
                }
                if !tail.trim().is_empty() {
                    if let Some(last) = statements.last_mut() {
                        last.format = format;
                    }
                }
                self.buffer.clear();
                return Ok(statements);
            }
        }
        self.buffer.push_str(line);
        self.buffer.push('\n');
        let Some(end) = self.split(dialect, &self.buffer).1 else {
            return Ok(Vec::new());
        };
        // What follows the last delimiter may be a comment, not a statement.
        let (statements, _) = self.split(dialect, &self.buffer[..end]);
        self.first_line += self.buffer[..end].matches('\n').count() as u64;
        self.buffer.drain(..end);
        Ok(statements)
    }

    /// End of input: what is left runs as a last statement, as psql and
    /// mysql do with a script whose last statement has no delimiter.
    pub fn finish(&mut self, dialect: &dyn Dialect) -> Vec<Statement> {
        let text = std::mem::take(&mut self.buffer);
        self.split(dialect, &text).0
    }

    /// The statements of `text` (a tail without delimiter last) and the end
    /// of the last delimiter. Text the tokenizer cannot read yet (an open
    /// quote) is one unfinished statement.
    fn split(&self, dialect: &dyn Dialect, text: &str) -> (Vec<Statement>, Option<usize>) {
        let (statements, complete) = sql::split_at_delimiter(dialect, text, &self.delimiter).unwrap_or_else(|_| {
            let sql = text.trim().to_string();
            let statements = if sql.is_empty() {
                Vec::new()
            } else {
                vec![sql::ScriptStatement {
                    line: 1 + text[..text.len() - text.trim_start().len()].matches('\n').count() as u64,
                    sql,
                }]
            };
            (statements, None)
        });
        let statements = statements
            .into_iter()
            .map(|s| Statement {
                sql: s.sql,
                line: self.first_line + s.line - 1,
                format: None,
            })
            .collect();
        (statements, complete)
    }
}

/// The command ending a line (`\g`, `\gx`, `\G`): the text before it and
/// the output format it asks for.
pub(super) fn go_command(line: &str) -> Option<(&str, Option<Format>)> {
    let line = line.trim_end();
    [
        ("\\gx", Some(Format::Expanded)),
        ("\\G", Some(Format::Vertical)),
        ("\\g", None),
    ]
    .into_iter()
    .find_map(|(command, format)| line.strip_suffix(command).map(|body| (body, format)))
}

/// The argument of a `DELIMITER` line, if `line` is one.
fn delimiter_command(line: &str) -> Option<&str> {
    let line = line.trim();
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    word.eq_ignore_ascii_case("delimiter").then_some(rest.trim())
}

/// The delimiter a `DELIMITER` line sets: its first word, or a quoted string.
fn new_delimiter(argument: &str) -> Result<String, String> {
    let delimiter = match argument.chars().next() {
        Some(q @ ('\'' | '"' | '`')) => argument[1..].split(q).next().unwrap_or_default(),
        _ => argument.split_whitespace().next().unwrap_or_default(),
    };
    if delimiter.is_empty() {
        return Err("DELIMITER: expected the new delimiter, e.g. DELIMITER //".to_string());
    }
    if delimiter.contains('\\') {
        return Err("DELIMITER: a delimiter cannot contain a backslash".to_string());
    }
    Ok(delimiter.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(input: &mut Input, mysql: bool, lines: &[&str]) -> Vec<Statement> {
        let my = sql::dialect("mysql");
        lines.iter().flat_map(|l| input.line(&*my, mysql, l).unwrap()).collect()
    }

    #[test]
    fn statements_end_at_the_delimiter() {
        let mut input = Input::default();
        let done = feed(&mut input, true, &["select 1; select", "2;", "", "select 3"]);
        let sql: Vec<_> = done.iter().map(|s| (s.sql.as_str(), s.line)).collect();
        assert_eq!(sql, [("select 1", 1), ("select\n2", 1)]);
        // A comment after the delimiter is not a statement left open.
        let mut commented = Input::default();
        let done = feed(&mut commented, false, &["select 1 as a; -- trailing comment"]);
        assert_eq!(done.len(), 1, "{done:?}");
        assert!(!input.is_empty());
        let rest = input.finish(&*sql::dialect("mysql"));
        assert_eq!((rest[0].sql.as_str(), rest[0].line), ("select 3", 4));
    }

    #[test]
    fn delimiter_changes_what_ends_a_statement() {
        let mut input = Input::default();
        let done = feed(
            &mut input,
            true,
            &[
                "DELIMITER //",
                "create procedure p()",
                "begin select 1; select 2; end //",
                "delimiter ;",
                "call p();",
            ],
        );
        assert_eq!(done.len(), 2, "{done:?}");
        assert_eq!(done[0].sql, "create procedure p()\nbegin select 1; select 2; end");
        assert_eq!(done[0].line, 2);
        assert_eq!((done[1].sql.as_str(), done[1].line), ("call p()", 5));
        assert_eq!(input.delimiter(), ";");
        // Not a MySQL database: DELIMITER is SQL like any other.
        let mut input = Input::default();
        let done = feed(&mut input, false, &["delimiter //;"]);
        assert_eq!(done[0].sql, "delimiter //");
        // A DELIMITER inside a statement is part of it.
        let mut input = Input::default();
        assert!(feed(&mut input, true, &["select", "delimiter //"]).is_empty());
        assert_eq!(input.delimiter(), ";");
    }

    #[test]
    fn quotes_comments_and_dollar_quotes_hold_the_semicolon() {
        let pg = sql::dialect("postgresql");
        let mut input = Input::default();
        let mut feed = |line: &str| -> Vec<String> {
            input
                .line(&*pg, false, line)
                .unwrap()
                .into_iter()
                .map(|s| s.sql)
                .collect()
        };
        assert!(feed("select 1").is_empty());
        assert!(feed("; select 'a;").is_empty(), "nothing runs while a quote is open");
        assert_eq!(
            feed("b'; select 2; select $$;$$"),
            ["select 1", "select 'a;\nb'", "select 2"]
        );
        assert!(feed("-- a comment; still open").is_empty());
        assert_eq!(feed(";").len(), 1);
        assert_eq!(feed("/* ; */ select 'é';"), ["select 'é'"]);
    }

    #[test]
    fn bad_delimiters_are_refused() {
        let my = sql::dialect("mysql");
        let mut input = Input::default();
        assert!(input.line(&*my, true, "delimiter").unwrap_err().contains("expected"));
        assert!(input
            .line(&*my, true, "delimiter \\\\")
            .unwrap_err()
            .contains("backslash"));
        input.line(&*my, true, "delimiter '$$'").unwrap();
        assert_eq!(input.delimiter(), "$$");
    }

    #[test]
    fn go_commands_end_a_statement_with_a_format() {
        let mut input = Input::default();
        let done = feed(&mut input, true, &["select 1; select", "2\\G"]);
        assert_eq!(done.len(), 2);
        assert_eq!((done[0].format, done[1].format), (None, Some(Format::Vertical)));
        assert_eq!(done[1].sql, "select\n2");
        let done = feed(&mut input, false, &["select 3 \\gx", "select 4", "\\g"]);
        assert_eq!(done[0].format, Some(Format::Expanded));
        assert_eq!((done[1].sql.as_str(), done[1].format), ("select 4", None));
        // In a string or a line comment, `\G` is text.
        assert!(feed(&mut input, true, &["select 'a\\G"]).is_empty());
        let done = feed(&mut input, true, &["';"]);
        assert_eq!(done[0].sql, "select 'a\\G\n'");
        assert!(feed(&mut input, true, &["select 1 -- \\G"]).is_empty());
        input.clear();
        let my = sql::dialect("mysql");
        assert!(input.line(&*my, true, "\\G").unwrap_err().contains("empty"));
    }
}
