//! Printing results: aligned table, expanded records, CSV, JSON.
//! Text from the database is printed inert: control characters are escaped.

use std::io::Write;

use comfy_table::{CellAlignment, ContentArrangement, Table};

/// psql's aligned look: ` a | b ` over `---+---`, no outer border.
pub const PSQL: &str = "     -+ |          ";
use driverbox::{Column, QueryResult, Value};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns, like psql.
    Table,
    /// One record per block, like psql's `\x`.
    Expanded,
    /// One record per block, like the mysql client's `\G` and `--vertical`.
    Vertical,
    /// RFC 4180 with a header row.
    Csv,
    /// An array of objects.
    Json,
}

/// Escapes terminal control characters so a value cannot move the cursor,
/// change colours or rewrite the screen.
pub fn inert(s: &str) -> String {
    if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Writes one CSV record as PostgreSQL's `COPY … CSV` reads it: a field
/// is quoted when it holds a comma, quote, CR or LF, or is the empty
/// string; NULL (`None`) is an empty, unquoted field. So `''` and NULL stay
/// apart, and a record of one NULL is an empty line.
pub fn write_csv_record<'a>(
    out: &mut dyn Write,
    fields: impl IntoIterator<Item = Option<&'a str>>,
) -> std::io::Result<()> {
    let mut line = String::new();
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let Some(text) = field else { continue };
        if text.is_empty() || text.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&text.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(text);
        }
    }
    line.push('\n');
    out.write_all(line.as_bytes())
}

/// The CSV record of a row (NULL as `None`).
pub fn write_csv_row(out: &mut dyn Write, row: &[Value], columns: &[Column]) -> std::io::Result<()> {
    let texts: Vec<Option<String>> = row
        .iter()
        .zip(columns)
        .map(|(v, c)| (!v.is_null()).then(|| v.text_in(c)))
        .collect();
    write_csv_record(out, texts.iter().map(Option::as_deref))
}

fn is_numeric(v: &Value) -> bool {
    matches!(v, Value::Int(_) | Value::Float(_) | Value::Decimal(_))
}

/// Column names made unique for JSON objects (`a`, `a_2`, ...).
pub(crate) fn unique_names(columns: &[Column]) -> Vec<String> {
    let mut seen = std::collections::HashMap::<&str, usize>::new();
    columns
        .iter()
        .map(|c| {
            let n = seen.entry(c.name.as_str()).or_insert(0);
            *n += 1;
            if *n == 1 {
                c.name.clone()
            } else {
                format!("{}_{n}", c.name)
            }
        })
        .collect()
}

/// Writes `result` in `format`. A result without columns prints its row count.
pub fn print(out: &mut dyn Write, result: &QueryResult, format: Format) -> std::io::Result<()> {
    if result.columns.is_empty() {
        if format == Format::Csv {
            // Only data in CSV, as `psql -q --csv` and `sqlite3 -csv` print.
            return Ok(());
        }
        if format == Format::Json {
            let n = result.rows_affected.unwrap_or(0);
            return writeln!(out, "{}", serde_json::json!({ "rows_affected": n }));
        }
        if let Some(n) = result.rows_affected {
            writeln!(out, "({n} row{} affected)", if n == 1 { "" } else { "s" })?;
        }
        return Ok(());
    }
    match format {
        Format::Table => print_table(out, result),
        Format::Expanded => print_expanded(out, result),
        Format::Vertical => print_vertical(out, result),
        Format::Csv => {
            write_csv_record(out, result.columns.iter().map(|c| Some(c.name.as_str())))?;
            for row in &result.rows {
                write_csv_row(out, row, &result.columns)?;
            }
            out.flush()
        }
        Format::Json => {
            let names = unique_names(&result.columns);
            let rows: Vec<serde_json::Value> = result
                .rows
                .iter()
                .map(|row| {
                    serde_json::Value::Object(
                        names
                            .iter()
                            .zip(row.iter().zip(&result.columns))
                            .filter_map(|(n, (v, c))| driverbox::json_member(v, c).map(|j| (n.clone(), j)))
                            .collect(),
                    )
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &rows)?;
            writeln!(out)
        }
    }
}

fn print_table(out: &mut dyn Write, result: &QueryResult) -> std::io::Result<()> {
    let mut table = Table::new();
    table
        .load_preset(PSQL)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(result.columns.iter().map(|c| inert(&c.name)));
    for row in &result.rows {
        table.add_row(row.iter().zip(&result.columns).map(|(v, c)| inert(&v.text_in(c))));
    }
    for (i, column) in table.column_iter_mut().enumerate() {
        if result.rows.first().and_then(|r| r.get(i)).is_some_and(is_numeric) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    writeln!(out, "{table}")?;
    let n = result.rows.len();
    writeln!(out, "({n} row{})", if n == 1 { "" } else { "s" })
}

fn print_expanded(out: &mut dyn Write, result: &QueryResult) -> std::io::Result<()> {
    let width = result.columns.iter().map(|c| c.name.chars().count()).max().unwrap_or(0);
    for (i, row) in result.rows.iter().enumerate() {
        writeln!(out, "-[ RECORD {} ]{}", i + 1, "-".repeat(width.saturating_sub(8) + 4))?;
        for (c, v) in result.columns.iter().zip(row) {
            writeln!(out, "{:<width$} | {}", inert(&c.name), inert(&v.text_in(c)))?;
        }
    }
    if result.rows.is_empty() {
        writeln!(out, "(0 rows)")?;
    }
    Ok(())
}

/// The mysql client's vertical layout: a starred header per row, names
/// aligned to the right, NULL spelled out, then `N rows in set`.
fn print_vertical(out: &mut dyn Write, result: &QueryResult) -> std::io::Result<()> {
    let width = result.columns.iter().map(|c| c.name.chars().count()).max().unwrap_or(0);
    let stars = "*".repeat(27);
    for (i, row) in result.rows.iter().enumerate() {
        writeln!(out, "{stars} {}. row {stars}", i + 1)?;
        for (c, v) in result.columns.iter().zip(row) {
            let text = if matches!(v, Value::Null) {
                "NULL".to_string()
            } else {
                inert(&v.text_in(c))
            };
            writeln!(out, "{:>width$}: {text}", inert(&c.name))?;
        }
    }
    match result.rows.len() {
        0 => writeln!(out, "Empty set"),
        1 => writeln!(out, "1 row in set"),
        n => writeln!(out, "{n} rows in set"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driverbox::LogicalType;

    fn result() -> QueryResult {
        QueryResult {
            columns: vec![
                Column::new("n", LogicalType::Int32, "int4"),
                Column::new("n", LogicalType::Text, "text"),
            ],
            rows: vec![
                vec![Value::Int(1), Value::Text("a\u{1b}[2Jb".into())],
                vec![Value::Null, Value::Null],
            ],
            rows_affected: None,
        }
    }

    fn render(format: Format) -> String {
        let mut out = Vec::new();
        print(&mut out, &result(), format).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn control_sequences_are_inert() {
        let t = render(Format::Table);
        assert!(!t.contains('\u{1b}') && t.contains("a\\u{1b}[2Jb"), "{t}");
        assert!(t.contains("(2 rows)"));
        assert!(!render(Format::Expanded).contains('\u{1b}'));
    }

    #[test]
    fn vertical_as_the_mysql_client() {
        let stars = "*".repeat(27);
        assert_eq!(
            render(Format::Vertical),
            format!("{stars} 1. row {stars}\nn: 1\nn: a\\u{{1b}}[2Jb\n{stars} 2. row {stars}\nn: NULL\nn: NULL\n2 rows in set\n")
        );
    }

    #[test]
    fn csv_and_json() {
        assert_eq!(render(Format::Csv), "n,n\n1,a\u{1b}[2Jb\n,\n");
        let mut out = Vec::new();
        write_csv_record(&mut out, [Some(""), None, Some("a,\"b\"\n")]).unwrap();
        write_csv_record(&mut out, [None]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "\"\",,\"a,\"\"b\"\"\n\"\n\n");
        let json: serde_json::Value = serde_json::from_str(&render(Format::Json)).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{"n": 1, "n_2": "a\u{1b}[2Jb"}, {"n": null, "n_2": null}])
        );
    }
}
