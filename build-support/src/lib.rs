//! Builds guest driver crates for `wasm32-wasip2` from build scripts, so a
//! plain `cargo build` of the host embeds fresh driver components.
//!
//! All guests build with the workspace's `guest` profile into one target
//! dir of their own, `target/guests`: the nested cargo never waits on the
//! outer one's lock, and the guests' dependencies build once for all of
//! them (tagged builds and feature variants recompile only their own
//! crate). Build scripts run in parallel, so each build and the copy of its
//! component out of the shared dir happen under one file lock.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root, from a build script's `CARGO_MANIFEST_DIR` (one level down).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run from a build script"));
    manifest
        .ancestors()
        .find(|p| p.join("wit").is_dir() && p.join("Cargo.lock").exists())
        .expect("workspace root with wit/ and Cargo.lock")
        .to_path_buf()
}

/// Builds `package` (a crate under `dir`, relative to the workspace root)
/// and returns the path of its `.wasm`. Panics with a clear message when
/// the build fails, e.g. without the wasm32-wasip2 target.
pub fn build_guest(package: &str, dir: &str) -> PathBuf {
    build_guest_tagged(package, dir, None)
}

/// Builds `package` with cargo `features` and copies the component into
/// `OUT_DIR` as `name`: test-only variants of one crate.
pub fn build_guest_variant(package: &str, dir: &str, features: &str, name: &str) -> PathBuf {
    run_cargo(package, dir, None, Some(features), &|wasm| stage(wasm, name))
}

/// Like [`build_guest`], with `DRIVERBOX_BUILD_TAG=tag` set for the guest
/// (drivers append it to their version), so tests can hold two
/// distinguishable builds of one driver. The component is kept as
/// `target/guests/staged/PACKAGE[+TAG].wasm`.
pub fn build_guest_tagged(package: &str, dir: &str, tag: Option<&str>) -> PathBuf {
    let staged_dir = workspace_root().join("target").join("guests").join("staged");
    let name = match tag {
        Some(tag) => format!("{package}+{tag}.wasm"),
        None => format!("{package}.wasm"),
    };
    run_cargo(package, dir, tag, None, &|wasm| {
        std::fs::create_dir_all(&staged_dir).unwrap_or_else(|e| panic!("create {}: {e}", staged_dir.display()));
        let out = staged_dir.join(&name);
        copy(wasm, &out);
        out
    })
}

/// Runs the nested cargo and hands the component it wrote to `keep`, both
/// under the lock of the shared target dir (another build script may be
/// about to overwrite the same file with another tag or features).
fn run_cargo(
    package: &str,
    dir: &str,
    tag: Option<&str>,
    features: Option<&str>,
    keep: &dyn Fn(&Path) -> PathBuf,
) -> PathBuf {
    let root = workspace_root();
    for watched in [dir, "guest/sdk", "wit", ".cargo/config.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=DRIVERBOX_GUEST_PROFILE");
    let target_dir = root.join("target").join("guests");
    std::fs::create_dir_all(&target_dir).unwrap_or_else(|e| panic!("create {}: {e}", target_dir.display()));
    let lock_path = target_dir.join("build-support.lock");
    let lock = std::fs::File::create(&lock_path).unwrap_or_else(|e| panic!("open {}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("lock {}: {e}", lock_path.display()));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--quiet",
            "-p",
            package,
            "--target",
            "wasm32-wasip2",
            "--profile",
            "guest",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    if let Some(features) = features {
        cmd.args(["--features", features]);
    }
    // The outer build's settings are for the host, not for wasm.
    match tag {
        Some(tag) => cmd.env("DRIVERBOX_BUILD_TAG", tag),
        None => cmd.env_remove("DRIVERBOX_BUILD_TAG"),
    };
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {package}: {e}"));
    if !status.success() {
        panic!(
            "building the {package} driver component failed (is the wasm32-wasip2 target installed? \
             run scripts/setup.sh)"
        );
    }
    let wasm = target_dir
        .join("wasm32-wasip2")
        .join("guest")
        .join(format!("{}.wasm", package.replace('-', "_")));
    assert!(wasm.exists(), "{} was not produced", wasm.display());
    // The lock is released when `lock` is dropped, after the copy.
    let kept = keep(&wasm);
    drop(lock);
    kept
}

/// Copies `from` to `to`, or panics naming both.
fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
}

/// Copies a built component into `OUT_DIR` under `name` and returns the path.
pub fn stage(wasm: &Path, name: &str) -> PathBuf {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join(name);
    copy(wasm, &out);
    out
}
