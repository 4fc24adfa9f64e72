//! `export_driver!`: the component export glue of a driverbox driver.
//!
//! ```ignore
//! driverbox_guest_sdk::export_driver!(Postgres: schema, table, column, view, function, capabilities, extension);
//! ```
//!
//! expands to the WIT bindings of a world made of `driverbox:driver/driver`
//! (`base` and `traits`) plus the listed interfaces, with every shared type
//! taken from the SDK, and to the `Guest` implementations that forward each
//! export to the driver's traits. The component then exports exactly the
//! interfaces listed: the host reads its capabilities from them.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, Path, Token};

/// The contract version the SDK builds; its WIT lives beside the SDK.
const WIT_VERSION: &str = "0.2.0";

/// Interfaces a driver may export on top of `base` and `traits`.
const OPTIONAL: &[&str] = &[
    "schema",
    "table",
    "column",
    "view",
    "function",
    "capabilities",
    "extension",
    "nosql",
];

struct Input {
    driver: Path,
    interfaces: Vec<Ident>,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let driver: Path = input.parse()?;
        let mut interfaces = Vec::new();
        if input.peek(Token![:]) {
            input.parse::<Token![:]>()?;
            let list = Punctuated::<Ident, Token![,]>::parse_terminated(input)?;
            interfaces.extend(list);
        }
        Ok(Input { driver, interfaces })
    }
}

/// Exports a driver type: `export_driver!(Type: iface, iface, …)`.
#[proc_macro]
pub fn export_driver(input: TokenStream) -> TokenStream {
    let Input { driver, interfaces } = syn::parse_macro_input!(input as Input);
    let mut names = Vec::new();
    for i in &interfaces {
        let name = i.to_string();
        if !OPTIONAL.contains(&name.as_str()) {
            return syn::Error::new(
                i.span(),
                format!(
                    "unknown driverbox interface `{name}`; expected one of {}",
                    OPTIONAL.join(", ")
                ),
            )
            .to_compile_error()
            .into();
        }
        if names.contains(&name) {
            return syn::Error::new(i.span(), format!("`{name}` is listed twice"))
                .to_compile_error()
                .into();
        }
        names.push(name);
    }

    let wit_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../wit")
        .join(format!("v{WIT_VERSION}"));
    let wit_dir = wit_dir.to_string_lossy().into_owned();
    let mut world = format!(
        "package driverbox:generated-export;\nworld exports {{\n    include driverbox:driver/driver@{WIT_VERSION};\n"
    );
    for n in &names {
        world.push_str(&format!("    export driverbox:driver/{n}@{WIT_VERSION};\n"));
    }
    world.push_str("}\n");
    let types = format!("driverbox:driver/types@{WIT_VERSION}");
    let transport = format!("driverbox:driver/transport@{WIT_VERSION}");
    let log = format!("driverbox:driver/log@{WIT_VERSION}");

    let d = quote!(super::#driver);
    let mut impls = vec![base_impl(&d)];
    for n in &names {
        impls.push(match n.as_str() {
            "schema" => schema_impl(&d),
            "table" => table_impl(&d),
            "column" => column_impl(&d),
            "view" => view_impl(&d),
            "function" => function_impl(&d),
            "capabilities" => capabilities_impl(&d),
            "extension" => extension_impl(&d),
            _ => nosql_impl(&d),
        });
    }

    quote! {
        #[doc(hidden)]
        #[allow(clippy::all, unused_imports, dead_code)]
        mod __driverbox_export {
            ::driverbox_guest_sdk::__wit_bindgen::generate!({
                inline: #world,
                path: #wit_dir,
                with: {
                    #types: ::driverbox_guest_sdk::types,
                    #transport: ::driverbox_guest_sdk::transport,
                    #log: ::driverbox_guest_sdk::host_log,
                },
                runtime_path: "::driverbox_guest_sdk::__wit_bindgen::rt",
            });

            use ::driverbox_guest_sdk::glue;
            use ::driverbox_guest_sdk::types::*;

            /// The component's export type.
            pub struct Export;

            #(#impls)*

            // The export glue uses symbol names only a wasm component can
            // have; native builds (tests) keep the impls but not the exports.
            #[cfg(target_arch = "wasm32")]
            export!(Export);
        }
    }
    .into()
}

fn base_impl(d: &Tokens) -> Tokens {
    quote! {
        impl exports::driverbox::driver::base::Guest for Export {
            fn connect(config: ConnectConfig) -> Result<(), Error> {
                glue::connect::<#d>(config)
            }
            fn test_connection() -> Result<(), Error> {
                glue::with::<#d, _>(|c| ::driverbox_guest_sdk::Driver::test_connection(c))
            }
            fn execute(sql: String, params: Vec<Value>) -> Result<u64, Error> {
                glue::with::<#d, _>(|c| ::driverbox_guest_sdk::Driver::execute(c, &sql, params))
            }
            fn query(sql: String, params: Vec<Value>) -> Result<QueryResult, Error> {
                glue::with::<#d, _>(|c| ::driverbox_guest_sdk::Driver::query(c, &sql, params))
            }
            fn execute_query(sql: String, params: Vec<Value>) -> Result<QueryResult, Error> {
                glue::with::<#d, _>(|c| ::driverbox_guest_sdk::Driver::execute_query(c, &sql, params))
            }
            fn execute_script(sql: String) -> ScriptOutcome {
                match glue::with::<#d, _>(|c| Ok(::driverbox_guest_sdk::Driver::execute_script(c, &sql))) {
                    Ok(outcome) => outcome,
                    Err(e) => ScriptOutcome { results: Vec::new(), error: Some(e) },
                }
            }
            fn close() {
                glue::close::<#d>()
            }
            fn cancel_token() -> Option<Vec<u8>> {
                glue::with_or::<#d, _>(None, |c| ::driverbox_guest_sdk::Driver::cancel_token(c))
            }
            fn cancel(config: ConnectConfig, token: Vec<u8>) -> Result<(), Error> {
                <#d as ::driverbox_guest_sdk::Driver>::cancel(config, token)
            }
        }
        impl exports::driverbox::driver::traits::Guest for Export {
            fn metadata() -> DriverMetadata {
                <#d as ::driverbox_guest_sdk::Driver>::metadata()
            }
            fn health_check() -> Result<Health, Error> {
                glue::with::<#d, _>(|c| ::driverbox_guest_sdk::Driver::health_check(c))
            }
        }
    }
}

/// One forwarding method: `fn name(args) -> Result<R, Error>` calling
/// `Trait::name(conn, args)` on the instance's connection.
macro_rules! forward {
    ($d:expr, $tr:ident, $name:ident ( $($arg:ident : $t:ty),* ) -> $r:ty) => {{
        let d = $d;
        quote! {
            fn $name($($arg: $t),*) -> Result<$r, Error> {
                glue::with::<#d, _>(|c| ::driverbox_guest_sdk::$tr::$name(c $(, $arg)*))
            }
        }
    }};
}

fn schema_impl(d: &Tokens) -> Tokens {
    let m = [
        forward!(d, SchemaIntrospection, get_databases() -> Vec<DatabaseInfo>),
        forward!(d, SchemaIntrospection, get_schemas() -> Vec<SchemaInfo>),
        forward!(d, SchemaIntrospection, get_tables(schema: Option<String>) -> Vec<TableInfo>),
        forward!(d, SchemaIntrospection, get_columns(schema: Option<String>, table: String) -> Vec<ColumnInfo>),
    ];
    quote!(impl exports::driverbox::driver::schema::Guest for Export { #(#m)* })
}

fn table_impl(d: &Tokens) -> Tokens {
    let m = [
        forward!(d, TableOperations, get_table_data(schema: Option<String>, table: String, limit: u64, offset: u64) -> QueryResult),
        forward!(d, TableOperations, get_table_constraints(schema: Option<String>, table: String) -> Vec<ConstraintInfo>),
        forward!(d, TableOperations, get_table_statistics(schema: Option<String>, table: String, exact_count: bool) -> TableStatistics),
        forward!(d, TableOperations, get_table_indexes(schema: Option<String>, table: String) -> Vec<IndexInfo>),
    ];
    quote!(impl exports::driverbox::driver::table::Guest for Export { #(#m)* })
}

fn column_impl(d: &Tokens) -> Tokens {
    let m = [
        forward!(d, ColumnManagement, add_column(schema: Option<String>, table: String, column: ColumnDefinition) -> ()),
        forward!(d, ColumnManagement, alter_column(schema: Option<String>, table: String, column: String, change: ColumnChange) -> ()),
        forward!(d, ColumnManagement, drop_column(schema: Option<String>, table: String, column: String, cascade: bool) -> ()),
    ];
    quote!(impl exports::driverbox::driver::column::Guest for Export { #(#m)* })
}

fn view_impl(d: &Tokens) -> Tokens {
    let m = [
        forward!(d, ViewOperations, list_views(schema: Option<String>) -> Vec<ViewInfo>),
        forward!(d, ViewOperations, get_view_definition(schema: Option<String>, name: String) -> String),
    ];
    quote!(impl exports::driverbox::driver::view::Guest for Export { #(#m)* })
}

fn function_impl(d: &Tokens) -> Tokens {
    let m = [
        forward!(d, FunctionOperations, list_functions(schema: Option<String>) -> Vec<FunctionInfo>),
        forward!(d, FunctionOperations, get_function_definition(schema: Option<String>, name: String, arguments: Option<String>) -> String),
    ];
    quote!(impl exports::driverbox::driver::function::Guest for Export { #(#m)* })
}

fn capabilities_impl(d: &Tokens) -> Tokens {
    let m = [
        forward!(d, Capabilities, begin_transaction(options: TransactionOptions) -> ()),
        forward!(d, Capabilities, commit() -> ()),
        forward!(d, Capabilities, rollback() -> ()),
        forward!(d, Capabilities, savepoint(name: String) -> ()),
        forward!(d, Capabilities, rollback_to_savepoint(name: String) -> ()),
        forward!(d, Capabilities, release_savepoint(name: String) -> ()),
        forward!(d, Capabilities, prepare(sql: String) -> Prepared),
        forward!(d, Capabilities, execute_prepared(id: u32, params: Vec<Value>) -> QueryResult),
        forward!(d, Capabilities, deallocate(id: u32) -> ()),
    ];
    quote! {
        impl exports::driverbox::driver::capabilities::Guest for Export {
            #(#m)*
            fn in_transaction() -> bool {
                glue::with_or::<#d, _>(false, |c| ::driverbox_guest_sdk::Capabilities::in_transaction(c))
            }
        }
    }
}

fn extension_impl(d: &Tokens) -> Tokens {
    let m = [
        forward!(d, Extension, stream_open(sql: String, params: Vec<Value>, batch_size: u32) -> Vec<Column>),
        forward!(d, Extension, stream_next() -> Option<Batch>),
        forward!(d, Extension, stream_close() -> ()),
        forward!(d, Extension, bulk_insert(schema: Option<String>, table: String, columns: Vec<Column>, data: Batch) -> u64),
        forward!(d, Extension, bulk_update(schema: Option<String>, table: String, columns: Vec<Column>, key_count: u32, data: Batch) -> u64),
        forward!(d, Extension, bulk_delete(schema: Option<String>, table: String, columns: Vec<Column>, data: Batch) -> u64),
        forward!(d, Extension, create_database(name: String) -> ()),
        forward!(d, Extension, drop_database(name: String, if_exists: bool) -> ()),
        forward!(d, Extension, create_schema(name: String) -> ()),
        forward!(d, Extension, drop_schema(name: String, if_exists: bool, cascade: bool) -> ()),
    ];
    quote!(impl exports::driverbox::driver::extension::Guest for Export { #(#m)* })
}

fn nosql_impl(d: &Tokens) -> Tokens {
    let m = [
        forward!(d, NoSqlOperations, list_databases() -> Vec<DatabaseInfo>),
        forward!(d, NoSqlOperations, list_collections(database: Option<String>) -> Vec<CollectionInfo>),
        forward!(d, NoSqlOperations, get_collection_data(collection: String, limit: u64, offset: u64) -> Vec<u8>),
        forward!(d, NoSqlOperations, count(collection: String, filter: Option<Vec<u8>>) -> CountResult),
        forward!(d, NoSqlOperations, find(collection: String, filter: Vec<u8>, options: FindOptions) -> Vec<u8>),
        forward!(d, NoSqlOperations, insert(collection: String, documents: Vec<u8>, ordered: bool) -> u64),
        forward!(d, NoSqlOperations, update(collection: String, filter: Vec<u8>, update: Vec<u8>, many: bool, upsert: bool) -> UpdateResult),
        forward!(d, NoSqlOperations, delete(collection: String, filter: Vec<u8>, many: bool) -> u64),
        forward!(d, NoSqlOperations, aggregate(collection: String, pipeline: Vec<u8>) -> Vec<u8>),
        forward!(d, NoSqlOperations, cursor_open(collection: String, request: CursorRequest, batch_size: u32) -> ()),
        forward!(d, NoSqlOperations, cursor_next() -> Option<Vec<u8>>),
        forward!(d, NoSqlOperations, cursor_close() -> ()),
        forward!(d, NoSqlOperations, list_indexes(collection: String) -> Vec<u8>),
        forward!(d, NoSqlOperations, create_index(collection: String, keys: Vec<u8>, options: Vec<u8>) -> String),
        forward!(d, NoSqlOperations, drop_index(collection: String, name: String) -> ()),
        forward!(d, NoSqlOperations, collection_stats(collection: String) -> Vec<u8>),
        forward!(d, NoSqlOperations, create_collection(name: String, options: Vec<u8>) -> ()),
        forward!(d, NoSqlOperations, drop_collection(name: String) -> ()),
        forward!(d, NoSqlOperations, run_command(database: Option<String>, command: Vec<u8>) -> Vec<u8>),
    ];
    quote!(impl exports::driverbox::driver::nosql::Guest for Export { #(#m)* })
}
