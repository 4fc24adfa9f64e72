//! The `bindgen!` output for the WIT contract, kept in one private module.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "host",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "driverbox:driver/transport.socket": crate::imports::transport::Socket,
    },
    additional_derives: [serde::Serialize, PartialEq],
});

pub use self::driverbox::driver::{log, transport, types};
pub use self::exports::driverbox::driver::{
    base, capabilities, column, extension, function, nosql, schema, table, traits, view,
};
