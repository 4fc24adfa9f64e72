//! SQL handled by the host with `sqlparser`, in the driver's dialect:
//! checking DDL fragments, splitting scripts, classifying statements.

use sqlparser::ast::Statement;
use sqlparser::dialect::{Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

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
/// dollar quoting, as the dialect's tokenizer does). Empty statements are
/// dropped. A tokenizer error gives its line.
pub fn split_statements(dialect: &dyn Dialect, script: &str) -> Result<Vec<ScriptStatement>, String> {
    let tokens = Tokenizer::new(dialect, script)
        .tokenize_with_location()
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start_line = None;
    for t in tokens {
        match &t.token {
            Token::SemiColon => {
                push_statement(&mut out, &mut current, start_line.take());
            }
            Token::Whitespace(_) if start_line.is_none() => {}
            _ => {
                if start_line.is_none() && !is_comment(&t.token) {
                    start_line = Some(t.span.start.line);
                }
                current.push_str(&t.token.to_string());
            }
        }
        if let Token::Whitespace(_) = t.token {
            if start_line.is_some() {
                current.push_str(&t.token.to_string());
            }
        }
    }
    push_statement(&mut out, &mut current, start_line);
    Ok(out)
}

fn is_comment(token: &Token) -> bool {
    use sqlparser::tokenizer::Whitespace;
    matches!(
        token,
        Token::Whitespace(Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_))
    )
}

fn push_statement(out: &mut Vec<ScriptStatement>, current: &mut String, line: Option<u64>) {
    let sql = std::mem::take(current);
    if let Some(line) = line {
        let sql = sql.trim().to_string();
        if !sql.is_empty() {
            out.push(ScriptStatement { sql, line });
        }
    }
}

/// Whether a statement returns rows (queries, SHOW, EXPLAIN, ... RETURNING).
/// Unparseable statements count as queries: the driver decides.
pub fn returns_rows(dialect: &dyn Dialect, sql: &str) -> bool {
    match Parser::parse_sql(dialect, sql) {
        Ok(stmts) => stmts.iter().any(|s| match s {
            Statement::Query(_)
            | Statement::Explain { .. }
            | Statement::ExplainTable { .. }
            | Statement::ShowTables { .. }
            | Statement::ShowColumns { .. }
            | Statement::ShowVariable { .. }
            | Statement::ShowVariables { .. }
            | Statement::ShowDatabases { .. }
            | Statement::ShowSchemas { .. }
            | Statement::Pragma { .. } => true,
            Statement::Insert(i) => i.returning.is_some(),
            Statement::Update(u) => u.returning.is_some(),
            Statement::Delete(d) => d.returning.is_some(),
            _ => false,
        }),
        Err(_) => true,
    }
}

/// Whether every statement only reads (for read-only connections).
pub fn is_read_only(dialect: &dyn Dialect, sql: &str) -> bool {
    match Parser::parse_sql(dialect, sql) {
        Ok(stmts) => stmts.iter().all(|s| {
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
            ) && !matches!(s, Statement::Query(q) if format!("{q}").to_ascii_uppercase().contains(" INTO "))
        }),
        Err(_) => false,
    }
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
        assert_eq!(s[0], ScriptStatement { sql: "select 1".into(), line: 1 });
        assert_eq!(s[1].line, 3);
        assert_eq!(s[1].sql, "select ';' as x");
        assert_eq!(s[2].line, 5);
        assert!(s[2].sql.contains("$$ select 1; $$"));
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
