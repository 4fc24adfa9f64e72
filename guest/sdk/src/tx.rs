//! Transactions and savepoints: the statements per dialect, and the
//! checks every driver makes the same way.

use crate::sql::Dialect;
use crate::types::{IsolationLevel, PlaceholderStyle, TransactionOptions};
use crate::{Error, Result};

/// A savepoint command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Savepoint {
    /// `SAVEPOINT name`
    Set,
    /// `ROLLBACK TO SAVEPOINT name`
    RollbackTo,
    /// `RELEASE SAVEPOINT name`
    Release,
}

/// The statement of a savepoint command, the name validated and quoted.
pub fn savepoint_sql(dialect: &Dialect, command: Savepoint, name: &str) -> Result<String> {
    let quoted = dialect.quote(name)?;
    Ok(match command {
        Savepoint::Set => format!("SAVEPOINT {quoted}"),
        Savepoint::RollbackTo => format!("ROLLBACK TO SAVEPOINT {quoted}"),
        Savepoint::Release => format!("RELEASE SAVEPOINT {quoted}"),
    })
}

/// The SQL standard's name of an isolation level.
pub fn isolation_sql(level: IsolationLevel) -> &'static str {
    match level {
        IsolationLevel::ReadUncommitted => "READ UNCOMMITTED",
        IsolationLevel::ReadCommitted => "READ COMMITTED",
        IsolationLevel::RepeatableRead => "REPEATABLE READ",
        IsolationLevel::Serializable => "SERIALIZABLE",
    }
}

/// The statements that begin a transaction with `options`:
/// PostgreSQL `BEGIN ISOLATION LEVEL … READ ONLY DEFERRABLE`; MySQL
/// `SET TRANSACTION ISOLATION LEVEL …` then `START TRANSACTION READ ONLY`
/// (`deferrable` is PostgreSQL's alone and refused elsewhere).
pub fn begin_statements(dialect: &Dialect, options: &TransactionOptions) -> Result<Vec<String>> {
    match dialect.placeholder {
        PlaceholderStyle::DollarNumber => {
            let mut sql = String::from("BEGIN");
            if let Some(level) = options.isolation {
                sql.push_str(" ISOLATION LEVEL ");
                sql.push_str(isolation_sql(level));
            }
            if options.read_only {
                sql.push_str(" READ ONLY");
            }
            if options.deferrable {
                sql.push_str(" DEFERRABLE");
            }
            Ok(vec![sql])
        }
        _ => {
            if options.deferrable {
                return Err(Error::unsupported(format!(
                    "{} has no deferrable transactions",
                    dialect.name
                )));
            }
            let mut out = Vec::new();
            if let Some(level) = options.isolation {
                out.push(format!("SET TRANSACTION ISOLATION LEVEL {}", isolation_sql(level)));
            }
            out.push(if options.read_only {
                "START TRANSACTION READ ONLY".to_string()
            } else {
                "START TRANSACTION".to_string()
            });
            Ok(out)
        }
    }
}

/// `invalid-input` unless a transaction is open.
pub fn need_open(open: bool, what: &str) -> Result<()> {
    if open {
        Ok(())
    } else {
        Err(Error::invalid(format!("{what}: no transaction is open")))
    }
}

/// `invalid-input` when a transaction is open already.
pub fn need_closed(open: bool) -> Result<()> {
    if open {
        Err(Error::invalid("a transaction is open already"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{MYSQL, POSTGRES};

    fn o(isolation: Option<IsolationLevel>, read_only: bool, deferrable: bool) -> TransactionOptions {
        TransactionOptions {
            isolation,
            read_only,
            deferrable,
        }
    }

    #[test]
    fn begin() {
        assert_eq!(
            begin_statements(&POSTGRES, &o(None, false, false)).unwrap(),
            vec!["BEGIN"]
        );
        assert_eq!(
            begin_statements(&POSTGRES, &o(Some(IsolationLevel::Serializable), true, true)).unwrap(),
            vec!["BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE"]
        );
        assert_eq!(
            begin_statements(&MYSQL, &o(Some(IsolationLevel::ReadCommitted), true, false)).unwrap(),
            vec![
                "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
                "START TRANSACTION READ ONLY"
            ]
        );
        assert!(begin_statements(&MYSQL, &o(None, false, true)).is_err());
    }

    #[test]
    fn savepoints() {
        assert_eq!(
            savepoint_sql(&POSTGRES, Savepoint::RollbackTo, "s\"1").unwrap(),
            "ROLLBACK TO SAVEPOINT \"s\"\"1\""
        );
        assert!(savepoint_sql(&POSTGRES, Savepoint::Set, "").is_err());
        assert!(need_open(false, "commit").is_err());
        assert!(need_closed(true).is_err());
    }
}
