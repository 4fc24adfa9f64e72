//! Builds the test-only driver components and tells the tests where they are.

fn main() {
    let hostile = build_support::build_guest("driverbox-hostile", "tests/guests/hostile");
    // The wasi:http example application (tests/portable_http.rs).
    let http_query = build_support::build_guest("driverbox-http-query", "examples/http-query");
    println!("cargo:rustc-env=HTTP_QUERY_WASM={}", http_query.display());
    println!("cargo:rustc-env=HOSTILE_WASM={}", hostile.display());
    // Two builds reporting different versions, for the swap tests.
    for tag in ["a", "b"] {
        let wasm = build_support::build_guest_tagged("driverbox-hostile", "tests/guests/hostile", Some(tag));
        println!("cargo:rustc-env=HOSTILE_WASM_{}={}", tag.to_uppercase(), wasm.display());
        let wasm = build_support::build_guest_tagged("driverbox-postgres", "guest/postgres", Some(tag));
        println!(
            "cargo:rustc-env=POSTGRES_WASM_{}={}",
            tag.to_uppercase(),
            wasm.display()
        );
    }
    // Variants the host must refuse at load.
    for feature in ["files", "sockets", "bad-metadata"] {
        let name = format!("hostile-{feature}.wasm");
        let wasm = build_support::build_guest_variant("driverbox-hostile", "tests/guests/hostile", feature, &name);
        println!(
            "cargo:rustc-env=HOSTILE_WASM_{}={}",
            feature.replace('-', "_").to_uppercase(),
            wasm.display()
        );
    }
}
