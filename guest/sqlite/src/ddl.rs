//! Reading the `CREATE` statements SQLite keeps in `sqlite_schema`: the
//! constraints of a table (names, checks, keys), the terms and predicate
//! of an index, the `SELECT` of a view, and rewriting one column
//! definition for the table-rebuild of `alter-column`.

use crate::sql::{is_name, matching_paren, span_text, split_commas, tokenize, Tok, Token};

/// What a constraint written in a `CREATE TABLE` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeclaredKind {
    /// `PRIMARY KEY`.
    PrimaryKey,
    /// `UNIQUE`.
    Unique,
    /// `CHECK (...)`.
    Check,
    /// `REFERENCES` / `FOREIGN KEY`.
    ForeignKey,
}

/// A constraint as written in a `CREATE TABLE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredConstraint {
    /// The `CONSTRAINT name`, if given.
    pub name: Option<String>,
    /// Its kind.
    pub kind: DeclaredKind,
    /// The columns it is declared on (the column itself for a column
    /// constraint; the listed columns for a table constraint; empty for a
    /// table `CHECK`).
    pub columns: Vec<String>,
    /// The `CHECK` expression, or the referenced table of a foreign key.
    pub text: Option<String>,
}

/// A parsed `CREATE TABLE ... ( ... )`.
pub struct CreateTable<'a> {
    sql: &'a str,
    tokens: Vec<Token<'a>>,
    /// Token range of `[schema .] name`.
    name: (usize, usize),
    /// Token ranges of the elements inside the parentheses.
    elements: Vec<(usize, usize)>,
}

fn is_constraint_start(t: &Token<'_>) -> bool {
    ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
        .iter()
        .any(|k| t.is_kw(k))
}

impl<'a> CreateTable<'a> {
    /// Parses the statement; `None` for `CREATE TABLE ... AS SELECT` or
    /// text that is not a `CREATE TABLE`.
    pub fn parse(sql: &'a str) -> Option<CreateTable<'a>> {
        let tokens = tokenize(sql);
        let mut i = 0;
        let kw = |i: usize, k: &str| tokens.get(i).is_some_and(|t| t.is_kw(k));
        if !kw(i, "CREATE") {
            return None;
        }
        i += 1;
        if kw(i, "TEMP") || kw(i, "TEMPORARY") {
            i += 1;
        }
        if !kw(i, "TABLE") {
            return None;
        }
        i += 1;
        if kw(i, "IF") && kw(i + 1, "NOT") && kw(i + 2, "EXISTS") {
            i += 3;
        }
        let name_start = i;
        if !tokens.get(i).is_some_and(is_name) {
            return None;
        }
        i += 1;
        if tokens.get(i).is_some_and(|t| t.is_punct(".")) && tokens.get(i + 1).is_some_and(is_name) {
            i += 2;
        }
        let name = (name_start, i);
        if !tokens.get(i).is_some_and(|t| t.is_punct("(")) {
            return None;
        }
        let close = matching_paren(&tokens, i);
        let inner = tokens.get(i + 1..close.min(tokens.len()))?;
        let mut elements = Vec::new();
        let mut at = i + 1;
        for part in split_commas(inner) {
            elements.push((at, at + part.len()));
            at += part.len() + 1;
        }
        Some(CreateTable {
            sql,
            tokens,
            name,
            elements,
        })
    }

    fn element(&self, e: (usize, usize)) -> &[Token<'a>] {
        self.tokens.get(e.0..e.1).unwrap_or(&[])
    }

    /// The column name an element defines, if it is a column definition.
    fn column_name(&self, e: (usize, usize)) -> Option<String> {
        let toks = self.element(e);
        let first = toks.first()?;
        if is_constraint_start(first) || !is_name(first) {
            return None;
        }
        Some(first.unquoted())
    }

    /// Every `PRIMARY KEY`, `UNIQUE`, `CHECK` and foreign key as written.
    pub fn constraints(&self) -> Vec<DeclaredConstraint> {
        let mut out = Vec::new();
        for &e in &self.elements {
            let toks = self.element(e);
            let column = self.column_name(e);
            let start = usize::from(column.is_some());
            self.scan_constraints(&toks[start.min(toks.len())..], column.as_deref(), &mut out);
        }
        out
    }

    fn scan_constraints(&self, toks: &[Token<'_>], column: Option<&str>, out: &mut Vec<DeclaredConstraint>) {
        let mut name: Option<String> = None;
        let mut i = 0;
        let own = || column.map(|c| vec![c.to_string()]).unwrap_or_default();
        while i < toks.len() {
            let t = &toks[i];
            if t.is_kw("CONSTRAINT") {
                name = toks.get(i + 1).map(Token::unquoted);
                i += 2;
                continue;
            }
            if t.is_kw("PRIMARY") || t.is_kw("UNIQUE") {
                let kind = if t.is_kw("PRIMARY") {
                    DeclaredKind::PrimaryKey
                } else {
                    DeclaredKind::Unique
                };
                i += if kind == DeclaredKind::PrimaryKey { 2 } else { 1 };
                let columns = if column.is_none() && toks.get(i).is_some_and(|t| t.is_punct("(")) {
                    let close = matching_paren(toks, i);
                    let cols = name_list(&toks[i + 1..close.min(toks.len())]);
                    i = close + 1;
                    cols
                } else {
                    own()
                };
                out.push(DeclaredConstraint {
                    name: name.take(),
                    kind,
                    columns,
                    text: None,
                });
                continue;
            }
            if t.is_kw("CHECK") && toks.get(i + 1).is_some_and(|t| t.is_punct("(")) {
                let close = matching_paren(toks, i + 1);
                let expr = span_text(self.sql, &toks[i + 2..close.min(toks.len())]).to_string();
                out.push(DeclaredConstraint {
                    name: name.take(),
                    kind: DeclaredKind::Check,
                    columns: own(),
                    text: Some(expr),
                });
                i = close + 1;
                continue;
            }
            if t.is_kw("FOREIGN") || t.is_kw("REFERENCES") {
                let mut columns = own();
                if t.is_kw("FOREIGN") {
                    i += 2; // FOREIGN KEY
                    if toks.get(i).is_some_and(|t| t.is_punct("(")) {
                        let close = matching_paren(toks, i);
                        columns = name_list(&toks[i + 1..close.min(toks.len())]);
                        i = close + 1;
                    }
                }
                // REFERENCES table
                let table = toks.get(i + 1).filter(|t| is_name(t)).map(Token::unquoted);
                out.push(DeclaredConstraint {
                    name: name.take(),
                    kind: DeclaredKind::ForeignKey,
                    columns,
                    text: table,
                });
                i += 2;
                continue;
            }
            if t.is_punct("(") {
                i = matching_paren(toks, i) + 1;
                continue;
            }
            i += 1;
        }
    }

    /// Rewrites the statement: the table is named `new_name` (already
    /// quoted), and column `column` gets `change` applied. `None` when the
    /// column is not found.
    pub fn rewrite_column(&self, new_name: &str, column: &str, change: &ColumnEdit) -> Option<String> {
        let target = self
            .elements
            .iter()
            .copied()
            .find(|&e| self.column_name(e).is_some_and(|n| n.eq_ignore_ascii_case(column)))?;
        let toks = self.element(target);
        let new_def = edit_column_def(self.sql, toks, change);
        let (name_a, name_b) = (self.tokens.get(self.name.0)?, self.tokens.get(self.name.1 - 1)?);
        let (col_a, col_b) = (toks.first()?, toks.last()?);
        let sql = self.sql;
        Some(format!(
            "{}{}{}{}{}",
            sql.get(..name_a.start)?,
            new_name,
            sql.get(name_b.end..col_a.start)?,
            new_def,
            sql.get(col_b.end..)?
        ))
    }
}

/// Names in a `(a, b COLLATE x DESC)` list: the first token of each term.
fn name_list(toks: &[Token<'_>]) -> Vec<String> {
    split_commas(toks)
        .into_iter()
        .filter_map(|term| term.first().filter(|t| is_name(t)).map(Token::unquoted))
        .collect()
}

/// What `alter-column` changes in one column definition.
#[derive(Clone, Debug, Default)]
pub struct ColumnEdit {
    /// New declared type.
    pub data_type: Option<String>,
    /// New nullability.
    pub nullable: Option<bool>,
    /// New default: `Some(Some(expr))` set, `Some(None)` drop.
    pub default: Option<Option<String>>,
}

/// Keywords that start a column constraint.
fn starts_unit(toks: &[Token<'_>], i: usize) -> bool {
    let t = &toks[i];
    let prev_set = i > 0 && toks[i - 1].is_kw("SET");
    if t.is_kw("NOT") {
        return toks.get(i + 1).is_some_and(|n| n.is_kw("NULL"));
    }
    if (t.is_kw("NULL") || t.is_kw("DEFAULT")) && prev_set {
        return false; // ON DELETE SET NULL / SET DEFAULT
    }
    [
        "CONSTRAINT",
        "PRIMARY",
        "NULL",
        "UNIQUE",
        "CHECK",
        "DEFAULT",
        "COLLATE",
        "REFERENCES",
        "GENERATED",
        "AS",
    ]
    .iter()
    .any(|k| t.is_kw(k))
}

/// Splits a column definition into its name, type tokens and constraint units.
fn column_units<'t, 'a>(toks: &'t [Token<'a>]) -> (&'t [Token<'a>], Vec<&'t [Token<'a>]>) {
    let mut i = 1;
    while i < toks.len() && !starts_unit(toks, i) {
        if toks[i].is_punct("(") {
            i = matching_paren(toks, i);
        }
        i += 1;
    }
    let ty = toks.get(1..i.min(toks.len())).unwrap_or(&[]);
    let mut units = Vec::new();
    let mut start = i;
    let mut j = i;
    // Tokens the current unit claims whatever they are (a constraint
    // name, a default value, a collation name).
    let mut claim_next = 0usize;
    let mut absorb_start = false;
    while j < toks.len() {
        if claim_next > 0 {
            claim_next -= 1;
            if toks[j].is_punct("(") {
                j = matching_paren(toks, j);
            } else if toks[j].is_punct("-") || toks[j].is_punct("+") {
                claim_next += 1;
            }
            j += 1;
            continue;
        }
        if j > start && starts_unit(toks, j) {
            if absorb_start {
                absorb_start = false;
            } else {
                units.push(&toks[start..j]);
                start = j;
            }
        }
        let t = &toks[j];
        if t.is_kw("CONSTRAINT") {
            claim_next = 1;
            absorb_start = true;
        } else if t.is_kw("DEFAULT") || t.is_kw("COLLATE") {
            claim_next = 1;
        } else if t.is_kw("NOT") {
            claim_next = 1; // NOT NULL
        } else if t.is_punct("(") {
            j = matching_paren(toks, j);
        }
        j += 1;
    }
    if start < toks.len() {
        units.push(&toks[start..]);
    }
    (ty, units)
}

/// The keyword a unit is about, after an optional `CONSTRAINT name`.
fn unit_keyword<'t, 'a>(unit: &'t [Token<'a>]) -> Option<&'t Token<'a>> {
    if unit.first()?.is_kw("CONSTRAINT") {
        unit.get(2)
    } else {
        unit.first()
    }
}

fn edit_column_def(sql: &str, toks: &[Token<'_>], change: &ColumnEdit) -> String {
    let (ty, units) = column_units(toks);
    let mut parts: Vec<String> = vec![span_text(sql, &toks[..1]).to_string()];
    match &change.data_type {
        Some(t) => parts.push(t.clone()),
        None if !ty.is_empty() => parts.push(span_text(sql, ty).to_string()),
        None => {}
    }
    for unit in units {
        let kw = unit_keyword(unit);
        let is = |k: &str| kw.is_some_and(|t| t.is_kw(k));
        let nullability = is("NOT") || is("NULL");
        if (nullability && change.nullable.is_some()) || (is("DEFAULT") && change.default.is_some()) {
            continue;
        }
        parts.push(span_text(sql, unit).to_string());
    }
    if change.nullable == Some(false) {
        parts.push("NOT NULL".into());
    }
    if let Some(Some(d)) = &change.default {
        parts.push(format!("DEFAULT {d}"));
    }
    parts.join(" ")
}

/// The key terms and `WHERE` predicate of a `CREATE INDEX`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexParts {
    /// Each term's text without `COLLATE`/`ASC`/`DESC`.
    pub terms: Vec<String>,
    /// The partial-index predicate.
    pub predicate: Option<String>,
}

/// Reads a `CREATE [UNIQUE] INDEX ... ON t (terms) [WHERE expr]`.
pub fn parse_index(sql: &str) -> IndexParts {
    let tokens = tokenize(sql);
    let Some(on) = tokens.iter().position(|t| t.is_kw("ON")) else {
        return IndexParts::default();
    };
    let Some(open) = tokens.iter().skip(on).position(|t| t.is_punct("(")).map(|p| p + on) else {
        return IndexParts::default();
    };
    let close = matching_paren(&tokens, open);
    let inner = tokens.get(open + 1..close.min(tokens.len())).unwrap_or(&[]);
    let terms = split_commas(inner)
        .into_iter()
        .map(|term| span_text(sql, strip_order(term)).to_string())
        .collect();
    let predicate = tokens
        .get(close + 1..)
        .and_then(|rest| rest.iter().position(|t| t.is_kw("WHERE")).map(|w| &rest[w + 1..]))
        .map(|rest| {
            let rest: Vec<Token<'_>> = rest.iter().copied().filter(|t| !t.is_punct(";")).collect();
            span_text(sql, &rest).to_string()
        })
        .filter(|p| !p.is_empty());
    IndexParts { terms, predicate }
}

/// Drops a trailing `ASC`/`DESC` and `COLLATE name` from an index term.
fn strip_order<'t, 'a>(mut term: &'t [Token<'a>]) -> &'t [Token<'a>] {
    if term.last().is_some_and(|t| t.is_kw("ASC") || t.is_kw("DESC")) {
        term = &term[..term.len() - 1];
    }
    if term.len() >= 2 && term[term.len() - 2].is_kw("COLLATE") {
        term = &term[..term.len() - 2];
    }
    term
}

/// The `SELECT` of a `CREATE VIEW ... AS select`.
pub fn view_select(sql: &str) -> Option<String> {
    let tokens = tokenize(sql);
    let view = tokens.iter().position(|t| t.is_kw("VIEW"))?;
    let mut i = view + 1;
    while i < tokens.len() {
        let t = &tokens[i];
        if t.is_punct("(") {
            i = matching_paren(&tokens, i) + 1;
            continue;
        }
        if t.is_kw("AS") {
            let rest: Vec<Token<'_>> = tokens[i + 1..].to_vec();
            let mut end = rest.len();
            while end > 0 && rest[end - 1].is_punct(";") {
                end -= 1;
            }
            let first = rest.first()?;
            let last = rest.get(end.checked_sub(1)?)?;
            return sql.get(first.start..last.end).map(str::to_string);
        }
        i += 1;
    }
    None
}

/// Identifiers (bare or quoted) in an expression, unquoted.
pub fn identifiers(expr: &str) -> Vec<String> {
    tokenize(expr)
        .into_iter()
        .filter(|t| matches!(t.kind, Tok::Word | Tok::Quoted))
        .map(|t| t.unquoted())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = r#"CREATE TABLE "or""ders" (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL CONSTRAINT code_u UNIQUE,
        qty INT DEFAULT 1 CHECK (qty > 0),
        price DECIMAL(10, 2) NOT NULL DEFAULT (0.0),
        cust INT REFERENCES customers(id) ON DELETE SET NULL,
        note TEXT COLLATE NOCASE DEFAULT 'a,b',
        CONSTRAINT price_ok CHECK (price >= 0 AND "qty" < 1000),
        UNIQUE (code, cust),
        FOREIGN KEY (cust, code) REFERENCES other(a, b)
    )"#;

    #[test]
    fn reads_declared_constraints() {
        let t = CreateTable::parse(T).unwrap();
        let c = t.constraints();
        type Summary<'a> = (Option<&'a str>, DeclaredKind, Vec<&'a str>, Option<&'a str>);
        let summary: Vec<Summary<'_>> = c
            .iter()
            .map(|c| {
                (
                    c.name.as_deref(),
                    c.kind,
                    c.columns.iter().map(String::as_str).collect(),
                    c.text.as_deref(),
                )
            })
            .collect();
        use DeclaredKind::*;
        assert_eq!(
            summary,
            vec![
                (None, PrimaryKey, vec!["id"], None),
                (Some("code_u"), Unique, vec!["code"], None),
                (None, Check, vec!["qty"], Some("qty > 0")),
                (None, ForeignKey, vec!["cust"], Some("customers")),
                (Some("price_ok"), Check, vec![], Some("price >= 0 AND \"qty\" < 1000")),
                (None, Unique, vec!["code", "cust"], None),
                (None, ForeignKey, vec!["cust", "code"], Some("other")),
            ]
        );
    }

    #[test]
    fn rewrites_one_column() {
        let t = CreateTable::parse(T).unwrap();
        let edit = ColumnEdit {
            data_type: Some("NUMERIC(12, 4)".into()),
            nullable: Some(true),
            default: Some(Some("1.5".into())),
        };
        let sql = t.rewrite_column("\"main\".\"tmp\"", "PRICE", &edit).unwrap();
        assert!(sql.starts_with("CREATE TABLE \"main\".\"tmp\" ("), "{sql}");
        assert!(sql.contains("price NUMERIC(12, 4) DEFAULT 1.5,"), "{sql}");
        let edit = ColumnEdit {
            nullable: Some(false),
            default: Some(None),
            ..ColumnEdit::default()
        };
        let sql = t.rewrite_column("x", "qty", &edit).unwrap();
        assert!(sql.contains("qty INT CHECK (qty > 0) NOT NULL,"), "{sql}");
        let sql = t
            .rewrite_column(
                "x",
                "cust",
                &ColumnEdit {
                    nullable: Some(false),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(
            sql.contains("cust INT REFERENCES customers(id) ON DELETE SET NULL NOT NULL,"),
            "{sql}"
        );
        let sql = t
            .rewrite_column(
                "x",
                "code",
                &ColumnEdit {
                    nullable: Some(true),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(sql.contains("code TEXT CONSTRAINT code_u UNIQUE,"), "{sql}");
        let sql = t
            .rewrite_column(
                "x",
                "note",
                &ColumnEdit {
                    default: Some(None),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(sql.contains("note TEXT COLLATE NOCASE,"), "{sql}");
        assert!(t.rewrite_column("x", "nope", &edit).is_none());
        let untyped = CreateTable::parse("CREATE TABLE t(a, b)").unwrap();
        let sql = untyped
            .rewrite_column(
                "n",
                "a",
                &ColumnEdit {
                    data_type: Some("INT".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(sql, "CREATE TABLE n(a INT, b)");
        let named = CreateTable::parse("CREATE TABLE t(a INT CONSTRAINT nn NOT NULL DEFAULT -1)").unwrap();
        let sql = named
            .rewrite_column(
                "n",
                "a",
                &ColumnEdit {
                    nullable: Some(true),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(sql, "CREATE TABLE n(a INT DEFAULT -1)");
    }

    #[test]
    fn reads_indexes_and_views() {
        let p = parse_index(
            "CREATE UNIQUE INDEX i ON t (lower(name) COLLATE NOCASE DESC, a, (b + 1)) WHERE a > 0 AND b IS NOT NULL;",
        );
        assert_eq!(p.terms, vec!["lower(name)", "a", "(b + 1)"]);
        assert_eq!(p.predicate.as_deref(), Some("a > 0 AND b IS NOT NULL"));
        assert_eq!(parse_index("CREATE INDEX i ON t(a)").predicate, None);
        assert_eq!(
            view_select("CREATE VIEW v (a, b) AS SELECT 1 AS a, 2 AS b;").as_deref(),
            Some("SELECT 1 AS a, 2 AS b")
        );
        assert_eq!(
            view_select("CREATE VIEW \"as\" AS\n  SELECT x FROM t").as_deref(),
            Some("SELECT x FROM t")
        );
        assert_eq!(
            identifiers("price >= 0 AND \"qty\" < 1000"),
            vec!["price", "AND", "qty"]
        );
    }

    #[test]
    fn odd_text_never_panics() {
        for s in [
            "CREATE TABLE",
            "CREATE TABLE t(",
            "CREATE TABLE t(a CHECK(",
            "CREATE TABLE t(CONSTRAINT",
            "CREATE INDEX ON (",
            "CREATE VIEW v AS",
            "CREATE TABLE t(a DEFAULT",
        ] {
            if let Some(t) = CreateTable::parse(s) {
                let _ = t.constraints();
                let _ = t.rewrite_column(
                    "x",
                    "a",
                    &ColumnEdit {
                        nullable: Some(false),
                        default: Some(None),
                        data_type: Some("INT".into()),
                    },
                );
            }
            let _ = parse_index(s);
            let _ = view_select(s);
        }
    }
}
