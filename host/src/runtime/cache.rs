//! On-disk cache of precompiled components, keyed by the component's
//! SHA-256 and the engine's compatibility hash. Each artifact carries a
//! MAC (keyed BLAKE3) made with a per-cache secret key: a tampered or
//! foreign file fails the check (or wasmtime's own compatibility check) and
//! is recompiled, never loaded.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

const TAG_LEN: usize = 32;

/// A directory of precompiled components.
pub struct ArtifactCache {
    dir: PathBuf,
    key: [u8; 32],
}

impl std::fmt::Debug for ArtifactCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactCache")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
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

    /// The file the artifact of a component with SHA-256 `hash` lives in.
    pub fn path_for(&self, engine: &Engine, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}-{:016x}.cwasm", engine_hash(engine)))
    }

    fn tag(&self, artifact: &[u8]) -> blake3::Hash {
        blake3::keyed_hash(&self.key, artifact)
    }

    /// The compiled component for `bytes` (whose SHA-256 is `hash`), from
    /// the cache when a verified artifact is there, else compiled and stored.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        hash: &str,
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.path_for(engine, hash);
        let mut outcome = CacheOutcome::Compiled;
        if let Ok(file) = fs::read(&path) {
            let verified = file.len() > TAG_LEN
                && <[u8; TAG_LEN]>::try_from(&file[..TAG_LEN]).is_ok_and(|t| self.tag(&file[TAG_LEN..]) == t);
            if verified {
                // SAFETY: the artifact carries our MAC, so this process (or
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
                let mut file = self.tag(&artifact).as_bytes().to_vec();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest valid component: just the header.
    const EMPTY_COMPONENT: &[u8] = &[0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

    fn engine(epochs: bool) -> Engine {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(epochs);
        Engine::new(&config).unwrap()
    }

    #[test]
    fn hit_after_compile_and_tampering_is_recompiled() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ArtifactCache::open(dir.path()).unwrap();
        let engine = engine(true);
        let hash = content_hash(EMPTY_COMPONENT);
        let (_, first) = cache.load_or_compile(&engine, EMPTY_COMPONENT, &hash).unwrap();
        assert_eq!(first, CacheOutcome::Compiled);
        let (_, second) = cache.load_or_compile(&engine, EMPTY_COMPONENT, &hash).unwrap();
        assert_eq!(second, CacheOutcome::Hit);

        // Flip one byte of the artifact: the MAC fails, it is recompiled and rewritten.
        let path = cache.path_for(&engine, &hash);
        let mut file = fs::read(&path).unwrap();
        let last = file.len() - 1;
        file[last] ^= 0xff;
        fs::write(&path, &file).unwrap();
        let (_, outcome) = cache.load_or_compile(&engine, EMPTY_COMPONENT, &hash).unwrap();
        assert_eq!(outcome, CacheOutcome::Rejected);
        assert_eq!(
            cache.load_or_compile(&engine, EMPTY_COMPONENT, &hash).unwrap().1,
            CacheOutcome::Hit
        );
    }

    #[test]
    fn a_foreign_artifact_is_never_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ArtifactCache::open(dir.path()).unwrap();
        let ours = engine(true);
        let hash = content_hash(EMPTY_COMPONENT);
        // An artifact from a differently configured engine, correctly signed
        // (as if the cache directory had been copied between hosts), under our name.
        let foreign = Component::new(&engine(false), EMPTY_COMPONENT)
            .unwrap()
            .serialize()
            .unwrap();
        let mut file = cache.tag(&foreign).as_bytes().to_vec();
        file.extend_from_slice(&foreign);
        fs::write(cache.path_for(&ours, &hash), &file).unwrap();
        let (_, outcome) = cache.load_or_compile(&ours, EMPTY_COMPONENT, &hash).unwrap();
        assert_eq!(
            outcome,
            CacheOutcome::Rejected,
            "wasmtime's compatibility check refused it"
        );
        // Unsigned bytes under our name are refused by the MAC.
        fs::write(cache.path_for(&ours, &hash), &foreign).unwrap();
        assert_eq!(
            cache.load_or_compile(&ours, EMPTY_COMPONENT, &hash).unwrap().1,
            CacheOutcome::Rejected
        );
    }
}
