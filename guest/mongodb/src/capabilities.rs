//! `capabilities`: transactions on the connection's session (the server
//! must support them: a replica set, or SecantusDB standalone). MongoDB
//! has no savepoints and no prepared statements.

use driverbox_guest_sdk::types::TransactionOptions;
use driverbox_guest_sdk::{Capabilities, Error, Result};

use crate::connection::{Connection, Txn};

impl Capabilities for Connection {
    fn begin_transaction(&mut self, options: TransactionOptions) -> Result<()> {
        if options.isolation.is_some() || options.read_only || options.deferrable {
            return Err(Error::unsupported(
                "MongoDB transactions take no isolation level, read-only or deferrable option (snapshot isolation always)",
            ));
        }
        self.begin()
    }

    fn commit(&mut self) -> Result<()> {
        self.end(true)
    }

    fn rollback(&mut self) -> Result<()> {
        self.end(false)
    }

    fn in_transaction(&mut self) -> bool {
        self.txn != Txn::None
    }
}
