//! SQL text per dialect: identifier quoting, placeholders, and the
//! statements of bulk operations.
//!
//! Every identifier a driver puts into SQL goes through [`Dialect::quote`]:
//! it is refused when empty, when it holds a NUL, or when it is longer than
//! the database allows, and is otherwise wrapped in the dialect's quote
//! character with inner quotes doubled.

use crate::types::PlaceholderStyle;
use crate::{Error, Result};

/// How one database writes SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// Name for messages (`PostgreSQL`).
    pub name: &'static str,
    /// The identifier quote character.
    pub quote: char,
    /// How statements take parameters.
    pub placeholder: PlaceholderStyle,
    /// Longest identifier in bytes (PostgreSQL: `NAMEDATALEN - 1` = 63).
    pub max_identifier_bytes: Option<usize>,
    /// Longest identifier in characters (MySQL: 64).
    pub max_identifier_chars: Option<usize>,
}

/// PostgreSQL: `"ident"`, `$1`, 63 bytes.
pub const POSTGRES: Dialect = Dialect {
    name: "PostgreSQL",
    quote: '"',
    placeholder: PlaceholderStyle::DollarNumber,
    max_identifier_bytes: Some(63),
    max_identifier_chars: None,
};

/// SQLite: `"ident"`, `?` (numbered `?N` where order matters), no limit.
pub const SQLITE: Dialect = Dialect {
    name: "SQLite",
    quote: '"',
    placeholder: PlaceholderStyle::QuestionMark,
    max_identifier_bytes: None,
    max_identifier_chars: None,
};

/// MySQL and MariaDB: `` `ident` ``, `?`, 64 characters.
pub const MYSQL: Dialect = Dialect {
    name: "MySQL",
    quote: '`',
    placeholder: PlaceholderStyle::QuestionMark,
    max_identifier_bytes: None,
    max_identifier_chars: Some(64),
};

impl Dialect {
    /// Checks that `name` can be used as an identifier.
    pub fn validate(&self, name: &str) -> Result<()> {
        if name.is_empty() {
            return Err(Error::invalid("identifier must not be empty"));
        }
        if name.contains('\0') {
            return Err(Error::invalid("identifier must not contain a NUL character"));
        }
        if let Some(max) = self.max_identifier_bytes {
            if name.len() > max {
                return Err(Error::invalid(format!(
                    "identifier is {} bytes long, {} allows at most {max}",
                    name.len(),
                    self.name
                )));
            }
        }
        if let Some(max) = self.max_identifier_chars {
            let n = name.chars().count();
            if n > max {
                return Err(Error::invalid(format!(
                    "identifier is {n} characters long, {} allows at most {max}",
                    self.name
                )));
            }
        }
        Ok(())
    }

    /// The quoted identifier, after [`Dialect::validate`].
    pub fn quote(&self, name: &str) -> Result<String> {
        self.validate(name)?;
        Ok(self.quote_unchecked(name))
    }

    /// Quotes a name known to be valid (read from the database itself).
    pub fn quote_unchecked(&self, name: &str) -> String {
        let mut out = String::with_capacity(name.len() + 2);
        out.push(self.quote);
        for c in name.chars() {
            if c == self.quote {
                out.push(c);
            }
            out.push(c);
        }
        out.push(self.quote);
        out
    }

    /// `schema.name` quoted, or just `name` without a schema.
    pub fn qualified(&self, schema: Option<&str>, name: &str) -> Result<String> {
        match schema {
            Some(schema) => Ok(format!("{}.{}", self.quote(schema)?, self.quote(name)?)),
            None => self.quote(name),
        }
    }

    /// A comma-separated list of quoted identifiers.
    pub fn quote_list<S: AsRef<str>>(&self, names: &[S]) -> Result<String> {
        let mut out = String::new();
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&self.quote(name.as_ref())?);
        }
        Ok(out)
    }

    /// The placeholder of parameter `n` (1-based): `$n` or `?`.
    pub fn placeholder(&self, n: usize) -> String {
        match self.placeholder {
            PlaceholderStyle::DollarNumber => format!("${n}"),
            PlaceholderStyle::QuestionMark | PlaceholderStyle::None => "?".to_string(),
        }
    }

    /// `count` placeholders from parameter `first` on, comma-separated.
    pub fn placeholders(&self, first: usize, count: usize) -> String {
        (first..first + count)
            .map(|n| self.placeholder(n))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `"a" = $first AND "b" = $first+1 …` (joined by `sep`).
    fn equalities<S: AsRef<str>>(&self, columns: &[S], first: usize, sep: &str) -> Result<String> {
        let parts = columns
            .iter()
            .enumerate()
            .map(|(i, c)| Ok(format!("{} = {}", self.quote(c.as_ref())?, self.placeholder(first + i))))
            .collect::<Result<Vec<_>>>()?;
        Ok(parts.join(sep))
    }

    /// `INSERT INTO t (cols) VALUES (…), (…)` for `rows` rows of `columns`.
    pub fn insert_sql<S: AsRef<str>>(
        &self,
        schema: Option<&str>,
        table: &str,
        columns: &[S],
        rows: usize,
    ) -> Result<String> {
        if columns.is_empty() {
            return Err(Error::invalid("bulk insert needs at least one column"));
        }
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            self.qualified(schema, table)?,
            self.quote_list(columns)?
        );
        for r in 0..rows.max(1) {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            sql.push_str(&self.placeholders(r * columns.len() + 1, columns.len()));
            sql.push(')');
        }
        Ok(sql)
    }

    /// The `UPDATE` run once per row: key values are parameters `1..=k`,
    /// new values follow.
    pub fn update_sql<S: AsRef<str>>(
        &self,
        schema: Option<&str>,
        table: &str,
        key_columns: &[S],
        set_columns: &[S],
    ) -> Result<String> {
        if key_columns.is_empty() || set_columns.is_empty() {
            return Err(Error::invalid("bulk update needs key columns and columns to set"));
        }
        let sets = self.equalities(set_columns, key_columns.len() + 1, ", ")?;
        let keys = self.equalities(key_columns, 1, " AND ")?;
        Ok(format!(
            "UPDATE {} SET {sets} WHERE {keys}",
            self.qualified(schema, table)?
        ))
    }

    /// The `DELETE` run once per key.
    pub fn delete_sql<S: AsRef<str>>(&self, schema: Option<&str>, table: &str, key_columns: &[S]) -> Result<String> {
        if key_columns.is_empty() {
            return Err(Error::invalid("bulk delete needs key columns"));
        }
        let keys = self.equalities(key_columns, 1, " AND ")?;
        Ok(format!("DELETE FROM {} WHERE {keys}", self.qualified(schema, table)?))
    }
}

/// `'text'` with inner `'` doubled (standard SQL string literal).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn quotes_and_doubles() {
        let d = POSTGRES;
        assert_eq!(d.quote("a").unwrap(), "\"a\"");
        assert_eq!(d.quote("a\"b").unwrap(), "\"a\"\"b\"");
        assert_eq!(d.quote("x; drop table t --").unwrap(), "\"x; drop table t --\"");
        assert_eq!(d.qualified(Some("s\""), "t").unwrap(), "\"s\"\"\".\"t\"");
        assert_eq!(d.quote_list(&["a", "b c"]).unwrap(), "\"a\", \"b c\"");
        assert_eq!(MYSQL.quote("a`b").unwrap(), "`a``b`");
    }

    #[test]
    fn refuses_bad_names() {
        for bad in ["", "a\0b"] {
            assert_eq!(POSTGRES.quote(bad).unwrap_err().kind(), ErrorKind::InvalidInput);
        }
        let ok = "é".repeat(31) + "a"; // 63 bytes
        assert!(POSTGRES.quote(&ok).is_ok());
        assert!(POSTGRES.quote(&"a".repeat(64)).is_err());
        assert!(MYSQL.quote(&"é".repeat(64)).is_ok());
        assert!(MYSQL.quote(&"é".repeat(65)).is_err());
        assert!(SQLITE.quote(&"a".repeat(1000)).is_ok());
    }

    #[test]
    fn statements() {
        assert_eq!(
            POSTGRES.insert_sql(Some("s"), "t", &["a", "b"], 2).unwrap(),
            "INSERT INTO \"s\".\"t\" (\"a\", \"b\") VALUES ($1, $2), ($3, $4)"
        );
        assert_eq!(
            SQLITE.insert_sql(None, "t", &["a"], 1).unwrap(),
            "INSERT INTO \"t\" (\"a\") VALUES (?)"
        );
        assert_eq!(
            POSTGRES.update_sql(None, "t", &["id"], &["a", "b"]).unwrap(),
            "UPDATE \"t\" SET \"a\" = $2, \"b\" = $3 WHERE \"id\" = $1"
        );
        assert_eq!(
            MYSQL.delete_sql(None, "t", &["k1", "k2"]).unwrap(),
            "DELETE FROM `t` WHERE `k1` = ? AND `k2` = ?"
        );
        assert!(POSTGRES.update_sql::<&str>(None, "t", &[], &["a"]).is_err());
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
