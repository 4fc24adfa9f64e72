//! `capabilities`: transactions as DynamoDB has them. `BEGIN` starts
//! collecting the writes (`INSERT`, `UPDATE`, `DELETE`) run on the
//! connection; `COMMIT` sends them as one `ExecuteTransaction` (all or
//! nothing, at most 100 statements); `ROLLBACK` drops them. SELECTs in a
//! transaction run at once, outside it. No savepoints, no prepared statements.

use driverbox_guest_sdk::types::TransactionOptions;
use driverbox_guest_sdk::{Capabilities, Error, Result};
use serde_json::json;

use crate::client::Idempotent;
use crate::connection::Connection;

impl Capabilities for Connection {
    fn begin_transaction(&mut self, options: TransactionOptions) -> Result<()> {
        if options.isolation.is_some() || options.deferrable {
            return Err(Error::unsupported(
                "DynamoDB transactions take no isolation level or deferrable option (they are serializable)",
            ));
        }
        if self.transaction.is_some() {
            return Err(Error::invalid("a transaction is open already"));
        }
        self.transaction = Some(Vec::new());
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        let statements = self.transaction.take().unwrap_or_default();
        if statements.is_empty() {
            return Ok(());
        }
        // A token makes a retried commit apply once (idempotent for 10 minutes).
        let token = crate::nosql::random_token();
        self.call(
            "ExecuteTransaction",
            json!({"TransactStatements": statements, "ClientRequestToken": token}),
            Idempotent::Yes,
        )
        .map(|_| ())
    }

    fn rollback(&mut self) -> Result<()> {
        self.transaction = None;
        Ok(())
    }

    fn in_transaction(&mut self) -> bool {
        self.transaction.is_some()
    }
}
