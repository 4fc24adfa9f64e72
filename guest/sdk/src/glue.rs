//! What the code `export_driver!` generates calls: the per-instance
//! connection and the forwarding of each export to the driver's traits.
//! Not for drivers to use directly.

use std::any::Any;
use std::cell::RefCell;

use crate::types::ConnectConfig;
use crate::{Driver, Error, Result};

thread_local! {
    /// This component instance's connection (the host runs one connection per instance).
    static CONNECTION: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// Opens the instance's connection, closing an earlier one.
pub fn connect<D: Driver>(config: ConnectConfig) -> Result<()> {
    close::<D>();
    let conn = D::connect(config)?;
    CONNECTION.with(|cell| *cell.borrow_mut() = Some(Box::new(conn)));
    Ok(())
}

/// Closes the instance's connection, if there is one.
pub fn close<D: Driver>() {
    let old = CONNECTION.with(|cell| cell.borrow_mut().take());
    if let Some(mut conn) = old.and_then(|b| b.downcast::<D>().ok()) {
        conn.close();
    }
}

/// Runs `f` on the instance's connection; `connection` error without one.
pub fn with<D: Driver, T>(f: impl FnOnce(&mut D) -> Result<T>) -> Result<T> {
    CONNECTION.with(|cell| {
        let mut slot = cell.borrow_mut();
        let conn = slot
            .as_mut()
            .and_then(|b| b.downcast_mut::<D>())
            .ok_or_else(|| Error::connection("not connected"))?;
        conn.before_call();
        f(conn)
    })
}

/// Runs an infallible `f` on the connection; `default` without one.
pub fn with_or<D: Driver, T>(default: T, f: impl FnOnce(&mut D) -> T) -> T {
    CONNECTION.with(
        |cell| match cell.borrow_mut().as_mut().and_then(|b| b.downcast_mut::<D>()) {
            Some(conn) => {
                conn.before_call();
                f(conn)
            }
            None => default,
        },
    )
}
