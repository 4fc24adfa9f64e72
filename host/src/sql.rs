//! SQL handled by the host with `sqlparser`, in the driver's dialect:
//! checking DDL fragments, splitting scripts, classifying statements.

use sqlparser::ast::Statement;
use sqlparser::dialect::{Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

/// The sqlparser dialect a driver's metadata names.
pub fn dialect(name: &str) -> Box<dyn Dialect> {
    match name {
        "postgresql" => Box::new(PostgreSqlDialect {}),
        "mysql" => Box::new(MySqlDialect {}),
        "sqlite" => Box::new(SQLiteDialect {}),
        _ => Box::new(GenericDialect {}),
    }
}

fn parse_whole<T>(
    dialect: &dyn Dialect,
    text: &str,
    what: &str,
    parse: impl FnOnce(&mut Parser) -> Result<T, sqlparser::parser::ParserError>,
) -> Result<T, String> {
    let mut parser = Parser::new(dialect)
        .try_with_sql(text)
        .map_err(|e| format!("{what} `{text}`: {e}"))?;
    let value = parse(&mut parser).map_err(|e| format!("{what} `{text}`: {e}"))?;
    match parser.peek_token().token {
        Token::EOF => Ok(value),
        other => Err(format!("{what} `{text}`: unexpected `{other}` after the {what}")),
    }
}

/// Checks that `text` is exactly one data type, nothing more.
pub fn check_data_type(dialect: &dyn Dialect, text: &str) -> Result<(), String> {
    parse_whole(dialect, text, "data type", |p| p.parse_data_type()).map(|_| ())
}

/// Checks that `text` is exactly one expression, nothing more.
pub fn check_expression(dialect: &dyn Dialect, text: &str) -> Result<(), String> {
    parse_whole(dialect, text, "expression", |p| p.parse_expr()).map(|_| ())
}

/// One statement of a script, with the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptStatement {
    pub sql: String,
    pub line: u64,
}

/// Splits a script at top-level `;` (respecting quotes, comments and
/// dollar quoting, as the dialect's tokenizer does, and the `BEGIN … END`
/// bodies of SQLite triggers and PostgreSQL `BEGIN ATOMIC` routines). Each
/// statement is the original text, trimmed; empty statements are dropped.
pub fn split_statements(dialect: &dyn Dialect, script: &str) -> Result<Vec<ScriptStatement>, String> {
    Ok(split_complete(dialect, script)?.0)
}

/// The byte offset just after the last `;` that ends a statement, if any:
/// what an interactive reader may run while the rest is still being typed.
pub fn complete_prefix(dialect: &dyn Dialect, script: &str) -> Result<Option<usize>, String> {
    Ok(split_complete(dialect, script)?.1)
}

/// The statements, and the end of the last one that a `;` ended.
fn split_complete(dialect: &dyn Dialect, script: &str) -> Result<(Vec<ScriptStatement>, Option<usize>), String> {
    let tokens = Tokenizer::new(dialect, script)
        .tokenize_with_location()
        .map_err(|e| e.to_string())?;
    let offsets = LineOffsets::new(script);
    let mut out = Vec::new();
    let mut complete = None;
    // (byte offset, line) of the statement's first token, and the end of its last one.
    let mut start: Option<(usize, u64)> = None;
    let mut end = 0;
    let mut body = BodyDepth::default();
    for (i, t) in tokens.iter().enumerate() {
        match &t.token {
            Token::SemiColon if body.depth == 0 => {
                if let Some((from, line)) = start.take() {
                    out.push(ScriptStatement {
                        sql: script[from..end].trim().to_string(),
                        line,
                    });
                }
                body = BodyDepth::default();
                complete = Some(offsets.byte(t.span.start.line, t.span.start.column) + 1);
            }
            Token::Whitespace(_) | Token::EOF => {}
            token => {
                let next = tokens[i + 1..]
                    .iter()
                    .find(|t| !matches!(t.token, Token::Whitespace(_)))
                    .map(|t| &t.token);
                body.see(token, next);
                let from = offsets.byte(t.span.start.line, t.span.start.column);
                start.get_or_insert((from, t.span.start.line));
                end = offsets.byte(t.span.end.line, t.span.end.column);
            }
        }
    }
    if let Some((from, line)) = start {
        out.push(ScriptStatement {
            sql: script[from..end.max(from)].trim().to_string(),
            line,
        });
    }
    out.retain(|s| !s.sql.is_empty());
    Ok((out, complete))
}

/// Statements split at `delimiter` instead of `;`, as the mysql client's
/// `DELIMITER` command asks: a delimiter ends a statement anywhere outside
/// quotes, quoted identifiers and comments (so `END$$` ends one), and a
/// `;` is plain text. Returns the statements (the unfinished tail last)
/// and the byte offset just after the last delimiter, if any. With `;`,
/// this is [`split_statements`] and [`complete_prefix`] at once.
///
/// Errors: the tokenizer's, e.g. a quote still open.
pub fn split_at_delimiter(
    dialect: &dyn Dialect,
    script: &str,
    delimiter: &str,
) -> Result<(Vec<ScriptStatement>, Option<usize>), String> {
    if delimiter == ";" || delimiter.is_empty() {
        return split_complete(dialect, script);
    }
    let tokens = Tokenizer::new(dialect, script)
        .tokenize_with_location()
        .map_err(|e| e.to_string())?;
    let offsets = LineOffsets::new(script);
    // Byte ranges where a delimiter is text: literals, quoted names, comments.
    let inert: Vec<(usize, usize)> = tokens
        .iter()
        .filter(|t| match &t.token {
            Token::Whitespace(w) => !matches!(w, Whitespace::Space | Whitespace::Newline | Whitespace::Tab),
            Token::EOF => false,
            Token::DollarQuotedString(_) => true,
            _ => {
                let text = t.token.to_string();
                text.contains(['\'', '"', '`'])
            }
        })
        .map(|t| {
            (
                offsets.byte(t.span.start.line, t.span.start.column),
                offsets.byte(t.span.end.line, t.span.end.column),
            )
        })
        .collect();
    let mut out = Vec::new();
    let mut from = 0;
    let mut complete = None;
    let push = |from: usize, to: usize, out: &mut Vec<ScriptStatement>| {
        let text = &script[from..to];
        let sql = text.trim();
        if !sql.is_empty() {
            let first = from + (text.len() - text.trim_start().len());
            out.push(ScriptStatement {
                sql: sql.to_string(),
                line: offsets.line_of(first),
            });
        }
    };
    for (at, _) in script.match_indices(delimiter) {
        if at < from || inert.iter().any(|&(start, end)| start <= at && at < end) {
            continue;
        }
        push(from, at, &mut out);
        from = at + delimiter.len();
        complete = Some(from);
    }
    push(from, script.len(), &mut out);
    Ok((out, complete))
}

/// Whether `text` ends outside any quote and line comment, so that what
/// follows it (a `\G` typed after a statement) is a command, not text.
pub fn ends_in_the_open(dialect: &dyn Dialect, text: &str) -> bool {
    match Tokenizer::new(dialect, text).tokenize() {
        Ok(tokens) => !matches!(
            tokens.iter().rev().find(|t| !matches!(t, Token::EOF)),
            Some(Token::Whitespace(Whitespace::SingleLineComment { .. }))
        ),
        Err(_) => false,
    }
}

/// How deep a statement is inside `BEGIN … END` bodies whose `;` do not
/// end it: a `CREATE … TRIGGER … BEGIN` (SQLite) or a `BEGIN ATOMIC`
/// (PostgreSQL routines); inside, `CASE … END` nests too.
#[derive(Default)]
struct BodyDepth {
    /// The statement's first word is CREATE.
    create: bool,
    /// A CREATE statement has named TRIGGER.
    trigger: bool,
    /// Words seen in the statement.
    words: usize,
    depth: usize,
}

impl BodyDepth {
    fn see(&mut self, token: &Token, next: Option<&Token>) {
        let Token::Word(w) = token else { return };
        if w.quote_style.is_some() {
            self.words += 1;
            return;
        }
        let word = w.value.to_ascii_uppercase();
        if self.words == 0 {
            self.create = word == "CREATE";
        }
        self.words += 1;
        match word.as_str() {
            "TRIGGER" if self.create && self.depth == 0 => self.trigger = true,
            "BEGIN" if self.create => {
                let atomic = matches!(next, Some(Token::Word(n)) if n.value.eq_ignore_ascii_case("ATOMIC"));
                if self.depth > 0 || self.trigger || atomic {
                    self.depth += 1;
                }
            }
            "CASE" if self.depth > 0 => self.depth += 1,
            "END" if self.depth > 0 => self.depth -= 1,
            _ => {}
        }
    }
}

/// Converts the tokenizer's (line, column) — 1-based, columns in
/// characters — to byte offsets.
struct LineOffsets<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineOffsets<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineOffsets { text, starts }
    }

    fn byte(&self, line: u64, column: u64) -> usize {
        let Some(&line_start) = self.starts.get((line as usize).saturating_sub(1)) else {
            return self.text.len();
        };
        self.text[line_start..]
            .char_indices()
            .nth((column as usize).saturating_sub(1))
            .map_or(self.text.len(), |(i, _)| line_start + i)
    }

    /// The 1-based line holding byte `at`.
    fn line_of(&self, at: usize) -> u64 {
        self.starts.partition_point(|&s| s <= at) as u64
    }
}

/// Whether `sql` may leave a transaction open on its connection: several
/// statements, or one that does not start with a keyword known to finish
/// inside its own statement. Cheap (no parsing): it runs before every
/// pooled query; a `true` only costs one more call into the driver.
pub fn may_leave_transaction_open(sql: &str) -> bool {
    let text = skip_comments(sql);
    let body = text.trim_end().trim_end_matches(';');
    if body.contains(';') {
        return true;
    }
    let end = body.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(body.len());
    let word = &body[..end];
    !SELF_CONTAINED.iter().any(|k| word.eq_ignore_ascii_case(k))
}

/// First keywords of statements that cannot leave a transaction open.
const SELF_CONTAINED: &[&str] = &[
    "select", "insert", "update", "delete", "with", "values", "table", "show", "explain", "create", "alter", "drop",
    "truncate", "copy", "grant", "revoke", "comment", "analyze", "vacuum", "reindex", "pragma", "replace", "merge",
    "refresh",
];

/// `sql` without leading whitespace and comments.
fn skip_comments(mut sql: &str) -> &str {
    loop {
        sql = sql.trim_start();
        if let Some(rest) = sql.strip_prefix("--") {
            sql = rest.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(rest) = sql.strip_prefix("/*") {
            sql = rest.split_once("*/").map_or("", |(_, r)| r);
        } else {
            return sql;
        }
    }
}

/// Whether a statement returns rows (queries, SHOW, EXPLAIN, ... RETURNING).
/// Unparseable statements count as queries: the driver decides.
pub fn returns_rows(dialect: &dyn Dialect, sql: &str) -> bool {
    match Parser::parse_sql(dialect, sql) {
        Ok(stmts) => stmts.iter().any(|s| match s {
            Statement::Pragma { .. } => true,
            Statement::Insert(i) => i.returning.is_some(),
            Statement::Update(u) => u.returning.is_some(),
            Statement::Delete(d) => d.returning.is_some(),
            s => is_query_or_show(s),
        }),
        Err(_) => true,
    }
}

/// Whether every statement only reads (for read-only connections).
pub fn is_read_only(dialect: &dyn Dialect, sql: &str) -> bool {
    match Parser::parse_sql(dialect, sql) {
        Ok(stmts) => stmts.iter().all(|s| {
            is_query_or_show(s)
                && !matches!(s, Statement::Query(q) if format!("{q}").to_ascii_uppercase().contains(" INTO "))
        }),
        Err(_) => false,
    }
}

/// Queries, EXPLAIN and SHOW: statements that read and return rows.
fn is_query_or_show(s: &Statement) -> bool {
    matches!(
        s,
        Statement::Query(_)
            | Statement::Explain { .. }
            | Statement::ExplainTable { .. }
            | Statement::ShowTables { .. }
            | Statement::ShowColumns { .. }
            | Statement::ShowVariable { .. }
            | Statement::ShowVariables { .. }
            | Statement::ShowDatabases { .. }
            | Statement::ShowSchemas { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments() {
        let pg = dialect("postgresql");
        assert!(check_data_type(&*pg, "varchar(20)").is_ok());
        assert!(check_data_type(&*pg, "numeric(10, 2)").is_ok());
        assert!(check_data_type(&*pg, "int[]").is_ok());
        assert!(check_data_type(&*pg, "int; drop table x").is_err());
        assert!(check_data_type(&*pg, "int -- x").is_ok(), "a comment is harmless");
        assert!(check_expression(&*pg, "now()").is_ok());
        assert!(check_expression(&*pg, "'a'::text || 'b'").is_ok());
        assert!(check_expression(&*pg, "1); drop table x; --").is_err());
        assert!(check_expression(&*pg, "1 1").is_err());
    }

    #[test]
    fn splits_scripts() {
        let pg = dialect("postgresql");
        let s = split_statements(
            &*pg,
            "select 1;\n-- note\nselect ';' as x;\n\ncreate function f() returns int as $$ select 1; $$ language sql;\n;",
        )
        .unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(
            s[0],
            ScriptStatement {
                sql: "select 1".into(),
                line: 1
            }
        );
        assert_eq!(s[1].line, 3);
        assert_eq!(s[1].sql, "select ';' as x");
        assert_eq!(s[2].line, 5);
        assert!(s[2].sql.contains("$$ select 1; $$"));
    }

    #[test]
    fn keeps_begin_end_bodies_whole() {
        let lite = dialect("sqlite");
        let script = "create table a(x); create table b(y);\n\
             create trigger tr after insert on a begin insert into b values (new.x); \
             update b set y = case when y > 1 then y else 0 end; end;\n\
             insert into a values (7); select * from b; begin; select 1; end;";
        let s: Vec<String> = split_statements(&*lite, script)
            .unwrap()
            .into_iter()
            .map(|s| s.sql)
            .collect();
        assert_eq!(s.len(), 8, "{s:?}");
        assert!(
            s[2].starts_with("create trigger") && s[2].ends_with("else 0 end; end"),
            "{s:?}"
        );
        assert_eq!(&s[5..], ["begin", "select 1", "end"]);
        // An unfinished body is not complete: nothing after its inner `;` runs.
        let partial = "select 1; create trigger t after insert on a begin insert into b values (1);";
        assert_eq!(complete_prefix(&*lite, partial).unwrap(), Some(9));
        assert_eq!(complete_prefix(&*lite, script).unwrap(), Some(script.len()));
        let pg = dialect("postgresql");
        let s = split_statements(
            &*pg,
            "create function f() returns int language sql begin atomic select 1; select 2; end; select f();",
        )
        .unwrap();
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s[0].sql.ends_with("select 2; end"));
    }

    #[test]
    fn splits_at_a_chosen_delimiter() {
        let my = dialect("mysql");
        let script = "create procedure p()\nbegin\n  select 'a//b', `x//y`; -- no // here\n  select 1;\nend//\nselect 2 //select 3";
        let (s, complete) = split_at_delimiter(&*my, script, "//").unwrap();
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(s[0].sql.starts_with("create procedure") && s[0].sql.ends_with("select 1;\nend"));
        assert_eq!((s[0].line, s[1].line, s[1].sql.as_str()), (1, 6, "select 2"));
        assert_eq!(s[2].sql, "select 3", "the unfinished tail comes last");
        assert_eq!(complete, Some(script.len() - "select 3".len()));
        // `$$` glued to a word still ends the statement, as in the mysql client.
        let (s, complete) = split_at_delimiter(&*my, "begin select 1; end$$", "$$").unwrap();
        assert_eq!((s[0].sql.as_str(), complete), ("begin select 1; end", Some(21)));
        // An open quote: nothing is complete yet.
        assert!(split_at_delimiter(&*my, "select 'a// ", "//").is_err());
        // `;` is the ordinary splitter.
        let (s, complete) = split_at_delimiter(&*my, "select 1; select", ";").unwrap();
        assert_eq!((s.len(), complete), (2, Some(9)));
    }

    #[test]
    fn knows_whether_text_ends_in_the_open() {
        let my = dialect("mysql");
        assert!(ends_in_the_open(&*my, "select 1 "));
        assert!(ends_in_the_open(&*my, "select 'it\\'s' /* c */"));
        assert!(!ends_in_the_open(&*my, "select 'open "));
        assert!(!ends_in_the_open(&*my, "select 1 -- note "));
    }

    #[test]
    fn transaction_probe() {
        assert!(!may_leave_transaction_open("select 1"));
        assert!(!may_leave_transaction_open("  -- note\n/* x */ SELECT * from t;"));
        assert!(
            may_leave_transaction_open("insert into t values (';')"),
            "conservative: any ; probes"
        );
        assert!(may_leave_transaction_open("begin"));
        assert!(may_leave_transaction_open("START TRANSACTION"));
        assert!(may_leave_transaction_open("select 1; begin"));
        assert!(may_leave_transaction_open("call p()"));
        assert!(may_leave_transaction_open("do $$ begin end $$"));
        assert!(may_leave_transaction_open(""));
    }

    #[test]
    fn classifies() {
        let pg = dialect("postgresql");
        assert!(returns_rows(&*pg, "select 1"));
        assert!(returns_rows(&*pg, "insert into t values (1) returning id"));
        assert!(!returns_rows(&*pg, "insert into t values (1)"));
        assert!(!returns_rows(&*pg, "create table t (a int)"));
        assert!(is_read_only(&*pg, "select * from t"));
        assert!(!is_read_only(&*pg, "delete from t"));
        assert!(!is_read_only(&*pg, "select * into t2 from t"));
    }
}
