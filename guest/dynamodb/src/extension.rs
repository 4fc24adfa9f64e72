//! `extension`: PartiQL streams (one `ExecuteStatement` page per batch,
//! `NextToken` kept between calls, so the host's back-pressure reaches the
//! server) and bulk insert (rows as items, `BatchWriteItem` in chunks of 25).

use driverbox_guest_sdk::batch::{result_from_values, BatchReader};
use driverbox_guest_sdk::types::{Batch, Column, Value};
use driverbox_guest_sdk::{Error, Extension, Result};
use serde_json::{json, Map};

use crate::base::{columns_of, parameters, projection_order, reorder, rows_of};
use crate::connection::{Connection, SqlStream};
use crate::item;

impl Connection {
    /// Reads pages until one has items or the statement ends.
    fn next_page(&mut self) -> Result<Option<Vec<crate::connection::Item>>> {
        loop {
            let Some(s) = self.stream.as_mut() else {
                return Err(Error::invalid("no stream is open"));
            };
            if let Some(p) = s.pending.take() {
                if !p.is_empty() {
                    return Ok(Some(p));
                }
            }
            if s.done {
                return Ok(None);
            }
            let (statement, params, token, limit) =
                (s.statement.clone(), s.parameters.clone(), s.next_token.clone(), s.limit);
            let (items, next) = self.statement_page(&statement, &params, token.as_deref(), Some(limit))?;
            let s = self
                .stream
                .as_mut()
                .ok_or_else(|| Error::invalid("no stream is open"))?;
            s.done = next.is_none() || next == token;
            s.next_token = next;
            s.pending = Some(items);
        }
    }
}

impl Extension for Connection {
    /// Opens a stream; the columns come from the first page that has items.
    fn stream_open(&mut self, sql: String, params: Vec<Value>, batch_size: u32) -> Result<Vec<Column>> {
        if self.stream.is_some() {
            return Err(Error::invalid("a stream is open already on this connection"));
        }
        self.stream = Some(SqlStream {
            statement: sql,
            parameters: parameters(&params)?,
            next_token: None,
            limit: batch_size.max(1),
            columns: Vec::new(),
            pending: None,
            done: false,
        });
        let first = match self.next_page() {
            Ok(p) => p.unwrap_or_default(),
            Err(e) => {
                self.stream = None;
                return Err(e);
            }
        };
        let order = self
            .stream
            .as_ref()
            .map(|s| projection_order(&s.statement))
            .unwrap_or_default();
        let columns = reorder(columns_of(&first), &order);
        if let Some(s) = self.stream.as_mut() {
            s.columns = columns.clone();
            s.pending = Some(first);
        }
        Ok(columns)
    }

    fn stream_next(&mut self) -> Result<Option<Batch>> {
        let page = match self.next_page() {
            Ok(p) => p,
            Err(e) => {
                self.stream = None;
                return Err(e);
            }
        };
        let Some(items) = page else {
            self.stream = None;
            return Ok(None);
        };
        let columns = self.stream.as_ref().map(|s| s.columns.clone()).unwrap_or_default();
        let rows = rows_of(&columns, &items)?;
        Ok(Some(result_from_values(columns, &rows)?.batch))
    }

    fn stream_close(&mut self) -> Result<()> {
        self.stream = None;
        Ok(())
    }

    /// Each row an item of its non-NULL columns (a NULL leaves the
    /// attribute out); existing items with the same key are replaced.
    fn bulk_insert(
        &mut self,
        _schema: Option<String>,
        table: String,
        columns: Vec<Column>,
        data: Batch,
    ) -> Result<u64> {
        let reader = BatchReader::new(&columns, &data)?;
        let mut requests = Vec::with_capacity(reader.rows());
        for row in 0..reader.rows() {
            let mut it = Map::new();
            for (i, v) in reader.row_values(row).into_iter().enumerate() {
                if v == Value::Null {
                    continue;
                }
                let name = &columns[i].name;
                it.insert(name.clone(), item::from_value(&v, name)?);
            }
            requests.push(json!({"PutRequest": {"Item": it}}));
        }
        self.batch_write(&table, requests)
    }
}
