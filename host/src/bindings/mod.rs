//! The generated bindings of each version of the `driverbox:driver`
//! contract, each in a private module of its own, and the conversions at
//! their edges. The latest version (0.2) is canonical: the host calls
//! drivers with its types, a 0.1 driver is adapted to them
//! ([`v0_1`]), and the public API has host-owned types only
//! (converted with [`Conv`]). No generated type leaves the crate.

pub(crate) mod v0_1;
pub(crate) mod v0_2;

use wasmtime::component::InstancePre;

use crate::runtime::HostState;

/// The contract versions this host serves, newest first.
pub const CONTRACT_VERSIONS: &[&str] = &["0.2.0", "0.1.0"];

/// A conversion between a generated type and its counterpart (host-owned,
/// or another contract version's). Implemented field by field by
/// [`record!`] and [`enumeration!`], and for the containers around them.
pub(crate) trait Conv<T> {
    fn conv(self) -> T;
}

macro_rules! identity {
    ($($t:ty),*) => { $(impl Conv<$t> for $t { fn conv(self) -> $t { self } })* };
}
identity!((), String, bool, u8, u16, u32, u64, i8, i16, i32, i64, f32, f64);

impl<A: Conv<B>, B> Conv<Option<B>> for Option<A> {
    fn conv(self) -> Option<B> {
        self.map(Conv::conv)
    }
}

impl<A: Conv<B>, B> Conv<Vec<B>> for Vec<A> {
    fn conv(self) -> Vec<B> {
        self.into_iter().map(Conv::conv).collect()
    }
}

impl<A: Conv<C>, B: Conv<D>, C, D> Conv<(C, D)> for (A, B) {
    fn conv(self) -> (C, D) {
        (self.0.conv(), self.1.conv())
    }
}

/// `Conv` between two records with the same fields: `record!(a::T => b::U { f, g })`.
macro_rules! record {
    ($($from:path => $to:path { $($f:ident),* $(,)? })*) => {$(
        impl $crate::bindings::Conv<$to> for $from {
            fn conv(self) -> $to {
                type To = $to;
                To { $($f: $crate::bindings::Conv::conv(self.$f)),* }
            }
        }
    )*};
}
pub(crate) use record;

/// `Conv` between two enums with the same cases: `enumeration!(a::T => b::U { A, B })`.
macro_rules! enumeration {
    ($($from:path => $to:path { $($v:ident),* $(,)? })*) => {$(
        impl $crate::bindings::Conv<$to> for $from {
            fn conv(self) -> $to {
                type From = $from;
                type To = $to;
                match self { $(From::$v => To::$v),* }
            }
        }
    )*};
}
pub(crate) use enumeration;

/// The exported functions of one driver instance, of whichever contract
/// version the driver speaks. Both versions have the same fields and the
/// same methods with 0.2's types (the 0.1 ones adapt), so a call is written
/// once for both with [`required!`](crate::api::required) and
/// [`optional!`](crate::api::optional).
pub(crate) enum Exports {
    V0_1(Box<v0_1::Exports>),
    V0_2(Box<v0_2::Exports>),
}

/// Export lookups of a component, resolved once at load.
pub(crate) enum ExportIndices {
    V0_1(Box<v0_1::ExportIndices>),
    V0_2(Box<v0_2::ExportIndices>),
}

impl ExportIndices {
    /// The lookups for a component built against `version`.
    pub(crate) fn new(version: &str, pre: &InstancePre<HostState>) -> Result<ExportIndices, String> {
        match version {
            "0.1.0" => Ok(ExportIndices::V0_1(Box::new(v0_1::ExportIndices::new(pre)?))),
            _ => Ok(ExportIndices::V0_2(Box::new(v0_2::ExportIndices::new(pre)?))),
        }
    }

    /// The exports of a new instance.
    pub(crate) fn load(
        &self,
        store: impl wasmtime::AsContextMut<Data = HostState>,
        instance: &wasmtime::component::Instance,
    ) -> wasmtime::Result<Exports> {
        Ok(match self {
            ExportIndices::V0_1(i) => Exports::V0_1(Box::new(i.load(store, instance)?)),
            ExportIndices::V0_2(i) => Exports::V0_2(Box::new(i.load(store, instance)?)),
        })
    }

    /// The interfaces the component exports, by name.
    pub(crate) fn exported(&self) -> Vec<&'static str> {
        let present = match self {
            ExportIndices::V0_1(i) => i.present(),
            ExportIndices::V0_2(i) => i.present(),
        };
        let mut names = vec!["base", "traits"];
        names.extend(present.iter().filter(|(_, p)| *p).map(|(n, _)| *n));
        names
    }
}

/// Which optional interfaces an [`ExportIndices`] found, in a fixed order.
pub(crate) type Present = [(&'static str, bool); 8];

/// Adds every contract version's imports (and WASI) to the linker.
pub(crate) fn add_to_linker(linker: &mut wasmtime::component::Linker<HostState>) -> wasmtime::Result<()> {
    use wasmtime::component::HasSelf;
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    v0_1::Host_::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    v0_2::Host_::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    Ok(())
}
