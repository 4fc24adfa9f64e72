//! Prepared statements by id: the ids a driver hands to the host.

use std::collections::HashMap;

use crate::{Error, Result};

/// Statements `S` under driver-chosen ids, valid on one connection.
#[derive(Debug)]
pub struct PreparedStatements<S> {
    map: HashMap<u32, S>,
    next: u32,
}

impl<S> Default for PreparedStatements<S> {
    fn default() -> Self {
        PreparedStatements {
            map: HashMap::new(),
            next: 1,
        }
    }
}

impl<S> PreparedStatements<S> {
    /// Keeps `stmt`; gives its id.
    pub fn insert(&mut self, stmt: S) -> u32 {
        let id = self.next;
        self.next = self.next.wrapping_add(1).max(1);
        self.map.insert(id, stmt);
        id
    }

    /// The statement `id`; `invalid-input` for an unknown id.
    pub fn get(&self, id: u32) -> Result<&S> {
        self.map.get(&id).ok_or_else(|| unknown(id))
    }

    /// The statement `id`, to change what the driver keeps with it;
    /// `invalid-input` for an unknown id.
    pub fn get_mut(&mut self, id: u32) -> Result<&mut S> {
        self.map.get_mut(&id).ok_or_else(|| unknown(id))
    }

    /// Takes statement `id` out; `invalid-input` for an unknown id.
    pub fn remove(&mut self, id: u32) -> Result<S> {
        self.map.remove(&id).ok_or_else(|| unknown(id))
    }

    /// Takes every statement out.
    pub fn drain(&mut self) -> Vec<S> {
        self.map.drain().map(|(_, s)| s).collect()
    }

    /// How many statements are kept.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

fn unknown(id: u32) -> Error {
    Error::invalid(format!("no prepared statement {id} on this connection"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        let mut p = PreparedStatements::default();
        let a = p.insert("a");
        let b = p.insert("b");
        assert_ne!(a, b);
        assert_eq!(*p.get(a).unwrap(), "a");
        assert_eq!(p.remove(a).unwrap(), "a");
        assert!(p.get(a).is_err());
        assert_eq!(p.remove(99).unwrap_err().kind(), crate::ErrorKind::InvalidInput);
    }
}
