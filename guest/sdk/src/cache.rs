//! A least-recently-used cache of prepared statements, keyed by SQL text.

use std::collections::HashMap;

/// Statements kept per connection unless a driver says otherwise.
pub const DEFAULT_CAPACITY: usize = 64;

/// An LRU of statements `S` keyed by their SQL.
#[derive(Debug)]
pub struct StatementCache<S> {
    map: HashMap<String, (S, u64)>,
    tick: u64,
    capacity: usize,
}

impl<S> Default for StatementCache<S> {
    fn default() -> Self {
        StatementCache::new(DEFAULT_CAPACITY)
    }
}

impl<S> StatementCache<S> {
    /// A cache holding at most `capacity` statements (at least one).
    pub fn new(capacity: usize) -> StatementCache<S> {
        StatementCache {
            map: HashMap::new(),
            tick: 0,
            capacity: capacity.max(1),
        }
    }
}

impl<S: Clone> StatementCache<S> {
    /// The statement for `sql`, marked as just used.
    pub fn get(&mut self, sql: &str) -> Option<S> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(sql).map(|(stmt, used)| {
            *used = tick;
            stmt.clone()
        })
    }

    /// Inserts; gives back the least recently used statement when full
    /// (the driver closes it on the server).
    pub fn insert(&mut self, sql: &str, stmt: S) -> Option<S> {
        let mut evicted = None;
        if self.map.len() >= self.capacity && !self.map.contains_key(sql) {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(key) = oldest {
                evicted = self.map.remove(&key).map(|(s, _)| s);
            }
        }
        self.tick += 1;
        if let Some((old, _)) = self.map.insert(sql.to_string(), (stmt, self.tick)) {
            evicted = evicted.or(Some(old));
        }
        evicted
    }

    /// Forgets `sql`'s statement, giving it back.
    pub fn remove(&mut self, sql: &str) -> Option<S> {
        self.map.remove(sql).map(|(s, _)| s)
    }

    /// Forgets every statement, giving them back.
    pub fn drain(&mut self) -> Vec<S> {
        self.map.drain().map(|(_, (s, _))| s).collect()
    }

    /// How many statements are kept.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used() {
        let mut c = StatementCache::new(2);
        assert_eq!(c.insert("a", 1), None);
        assert_eq!(c.insert("b", 2), None);
        assert_eq!(c.get("a"), Some(1));
        assert_eq!(c.insert("c", 3), Some(2));
        assert_eq!(c.get("b"), None);
        assert_eq!(c.len(), 2);
        assert_eq!(c.insert("c", 4), Some(3), "replacing gives the old statement back");
        assert_eq!(c.remove("a"), Some(1));
        let mut rest = c.drain();
        rest.sort();
        assert_eq!(rest, vec![4]);
    }
}
