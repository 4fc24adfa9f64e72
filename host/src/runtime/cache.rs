//! On-disk cache of precompiled components, keyed by the component's
//! SHA-256 and the engine's compatibility hash. Each artifact carries an
//! HMAC made with a per-cache secret key: a tampered or foreign file fails
//! the check (or wasmtime's own compatibility check) and is recompiled,
//! never loaded.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

type HmacSha256 = Hmac<Sha256>;

const TAG_LEN: usize = 32;

/// A directory of precompiled components.
pub struct ArtifactCache {
    dir: PathBuf,
    key: [u8; 32],
}

impl std::fmt::Debug for ArtifactCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactCache").field("dir", &self.dir).finish_non_exhaustive()
    }
}

/// How a component was obtained, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from a verified cache file.
    Hit,
    /// Compiled (no cache file, or none usable) and stored.
    Compiled,
    /// A cache file existed but failed verification; recompiled.
    Rejected,
}

/// SHA-256 of a component, hex.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn engine_hash(engine: &Engine) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    h.finish()
}

impl ArtifactCache {
    /// Opens (creating) the cache in `dir`, with its secret key.
    pub fn open(dir: &Path) -> std::io::Result<ArtifactCache> {
        fs::create_dir_all(dir)?;
        let key_path = dir.join("key");
        let key = match fs::read(&key_path) {
            Ok(k) if k.len() == 32 => k,
            _ => {
                let mut k = vec![0u8; 32];
                getrandom::fill(&mut k).map_err(|e| std::io::Error::other(e.to_string()))?;
                write_private(&key_path, &k)?;
                k
            }
        };
        let mut fixed = [0u8; 32];
        fixed.copy_from_slice(&key);
        Ok(ArtifactCache {
            dir: dir.to_path_buf(),
            key: fixed,
        })
    }

    /// The file an artifact for `bytes` lives in.
    pub fn path_for(&self, engine: &Engine, bytes: &[u8]) -> PathBuf {
        self.dir
            .join(format!("{}-{:016x}.cwasm", content_hash(bytes), engine_hash(engine)))
    }

    fn tag(&self, artifact: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("any key length");
        mac.update(artifact);
        mac
    }

    /// The compiled component for `bytes`, from the cache when a verified
    /// artifact is there, else compiled and stored.
    pub fn load_or_compile(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.path_for(engine, bytes);
        let mut outcome = CacheOutcome::Compiled;
        if let Ok(file) = fs::read(&path) {
            if file.len() > TAG_LEN && self.tag(&file[TAG_LEN..]).verify_slice(&file[..TAG_LEN]).is_ok() {
                // SAFETY: the artifact carries our HMAC, so this process (or
                // another holding the cache key) wrote it from
                // `Component::serialize`; wasmtime checks engine compatibility.
                match unsafe { Component::deserialize(engine, &file[TAG_LEN..]) } {
                    Ok(component) => return Ok((component, CacheOutcome::Hit)),
                    Err(e) => tracing::warn!(path = %path.display(), "cached artifact unusable, recompiling: {e}"),
                }
            } else {
                tracing::warn!(path = %path.display(), "cached artifact failed verification, recompiling");
            }
            outcome = CacheOutcome::Rejected;
        }
        let component = Component::new(engine, bytes)?;
        match component.serialize() {
            Ok(artifact) => {
                let mut file = self.tag(&artifact).finalize().into_bytes().to_vec();
                file.extend_from_slice(&artifact);
                if let Err(e) = write_private(&path, &file) {
                    tracing::warn!(path = %path.display(), "cannot write the artifact cache: {e}");
                }
            }
            Err(e) => tracing::warn!("cannot serialize a component: {e}"),
        }
        Ok((component, outcome))
    }
}

/// Writes atomically (temp file + rename), readable by the owner only.
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)
}
