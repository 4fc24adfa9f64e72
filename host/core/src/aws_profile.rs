//! AWS shared configuration profiles, as the AWS CLI and SDKs read them,
//! for drivers whose URL table has a `profile` parameter filled from
//! `AWS_PROFILE` (the DynamoDB driver): the guest has no file system, so
//! the host reads the files and hands the values on like environment
//! variables.
//!
//! Files: `AWS_SHARED_CREDENTIALS_FILE` (default `~/.aws/credentials`,
//! sections `[NAME]`: `aws_access_key_id`, `aws_secret_access_key`,
//! `aws_session_token`) and `AWS_CONFIG_FILE` (default `~/.aws/config`,
//! sections `[default]` and `[profile NAME]`: `region`, `endpoint_url`,
//! `ca_bundle`, and credentials too, which the credentials file
//! overrides). The profile: the URL's `profile`, else `AWS_PROFILE`,
//! else `default`. INI-like: `key = value` lines, `#` and `;` comments,
//! indented lines (nested settings) skipped. A missing file is no error;
//! a profile named explicitly (URL or `AWS_PROFILE`) that neither file
//! has is one.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// The environment variables a profile stands in for.
pub const ACCESS_KEY: &str = "AWS_ACCESS_KEY_ID";
pub const SECRET_KEY: &str = "AWS_SECRET_ACCESS_KEY";
pub const SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
pub const REGION: &str = "AWS_REGION";
pub const ENDPOINT: &str = "AWS_ENDPOINT_URL";
pub const CA_BUNDLE: &str = "AWS_CA_BUNDLE";

/// The values of one profile, by the environment variable each stands in
/// for. `Debug` shows the names only.
pub struct Profile {
    values: Vec<(&'static str, String)>,
    /// The URL named the profile: its credentials win over the
    /// environment's (as `--profile` does for the AWS CLI).
    pub named_in_url: bool,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("values", &self.values.iter().map(|(k, _)| *k).collect::<Vec<_>>())
            .field("named_in_url", &self.named_in_url)
            .finish()
    }
}

/// Whether an environment variable holds a part of the credentials.
pub fn is_credential(var: &str) -> bool {
    matches!(var, ACCESS_KEY | SECRET_KEY | SESSION_TOKEN)
}

/// Sections of an INI-like file in order: name and `key = value` pairs.
pub type Sections = Vec<(String, Vec<(String, String)>)>;

/// Sections of an INI-like file in order: name → `key = value` pairs
/// (keys lower-cased, values trimmed).
pub fn parse_ini(text: &str) -> Sections {
    let mut out: Sections = Vec::new();
    for line in text.lines() {
        // Indented lines are nested settings (`s3 =\n  addressing_style = …`).
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push((name.trim().to_string(), Vec::new()));
            continue;
        }
        let (Some((k, v)), Some(section)) = (line.split_once('='), out.last_mut()) else {
            continue;
        };
        section.1.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    out
}

/// The pairs of the section `name` (the last one when repeated).
fn section<'a>(sections: &'a [(String, Vec<(String, String)>)], name: &str) -> Option<&'a [(String, String)]> {
    sections
        .iter()
        .rev()
        .find(|(n, _)| n.split_whitespace().collect::<Vec<_>>().join(" ") == name)
        .map(|(_, pairs)| pairs.as_slice())
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// `~/…` with the home directory.
fn expand(path: &str, home: Option<&str>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(h)) => PathBuf::from(h).join(rest),
        _ => PathBuf::from(path),
    }
}

/// The file's sections; none when it does not exist. Errors: `config`
/// naming the file when it cannot be read.
fn read(path: &PathBuf) -> Result<Sections> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(parse_ini(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::Config(format!("cannot read AWS file {}: {e}", path.display()))),
    }
}

impl Profile {
    /// Reads the profile `url_profile` (else `AWS_PROFILE`, else
    /// `default`) with the environment `env`. `Ok(None)` when neither file
    /// has it and it was not named. Errors: `config` for an unreadable
    /// file or a named profile that is nowhere.
    pub fn load(url_profile: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Profile>> {
        let from_env = env("AWS_PROFILE").filter(|p| !p.is_empty());
        let name = url_profile
            .filter(|p| !p.is_empty())
            .map(String::from)
            .or(from_env.clone())
            .unwrap_or_else(|| "default".into());
        let explicit = url_profile.is_some_and(|p| !p.is_empty()) || from_env.is_some();
        let home = env("HOME").or_else(|| env("USERPROFILE")).filter(|h| !h.is_empty());
        let file = |var: &str, default: &str| -> Option<PathBuf> {
            match env(var).filter(|p| !p.is_empty()) {
                Some(p) => Some(expand(&p, home.as_deref())),
                None => home.as_ref().map(|h| PathBuf::from(h).join(".aws").join(default)),
            }
        };
        let credentials_file = file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
        let config_file = file("AWS_CONFIG_FILE", "config");
        let credentials = credentials_file.as_ref().map(read).transpose()?.unwrap_or_default();
        let config = config_file.as_ref().map(read).transpose()?.unwrap_or_default();
        let in_credentials = section(&credentials, &name);
        let in_config = if name == "default" {
            section(&config, "default").or_else(|| section(&config, "profile default"))
        } else {
            section(&config, &format!("profile {name}"))
        };
        if in_credentials.is_none() && in_config.is_none() {
            if !explicit {
                return Ok(None);
            }
            let shown = |p: &Option<PathBuf>| {
                p.as_ref()
                    .map_or("(no home directory)".into(), |p| p.display().to_string())
            };
            return Err(Error::Config(format!(
                "AWS profile {name:?} is in neither {} nor {}",
                shown(&credentials_file),
                shown(&config_file)
            )));
        }
        let mut values = Vec::new();
        // The credentials come whole from one file: the credentials file
        // when it has a key id for the profile, else the config file.
        let creds = [in_credentials, in_config]
            .into_iter()
            .flatten()
            .find(|s| get(s, "aws_access_key_id").is_some());
        if let Some(c) = creds {
            for (var, key) in [
                (ACCESS_KEY, "aws_access_key_id"),
                (SECRET_KEY, "aws_secret_access_key"),
                (SESSION_TOKEN, "aws_session_token"),
            ] {
                if let Some(v) = get(c, key) {
                    values.push((var, v.to_string()));
                }
            }
        }
        if let Some(c) = in_config {
            for (var, key) in [(REGION, "region"), (ENDPOINT, "endpoint_url"), (CA_BUNDLE, "ca_bundle")] {
                if let Some(v) = get(c, key) {
                    let v = if var == CA_BUNDLE {
                        expand(v, home.as_deref()).display().to_string()
                    } else {
                        v.to_string()
                    };
                    values.push((var, v));
                }
            }
        }
        Ok(Some(Profile {
            values,
            named_in_url: url_profile.is_some_and(|p| !p.is_empty()),
        }))
    }

    /// The value standing in for environment variable `var`.
    pub fn get(&self, var: &str) -> Option<&str> {
        self.values.iter().find(|(k, _)| *k == var).map(|(_, v)| v.as_str())
    }

    /// Whether the profile has credentials.
    pub fn has_credentials(&self) -> bool {
        self.get(ACCESS_KEY).is_some()
    }

    /// Drops the credentials (others given: they are not mixed).
    pub fn drop_credentials(&mut self) {
        self.values.retain(|(k, _)| !is_credential(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini() {
        let s = parse_ini(
            "# comment\n[default]\naws_access_key_id = AK1\n; other\n  nested = x\n[profile  dev ]\nRegion=eu-north-1\ns3 =\n  addressing_style = path\nno equals sign\n",
        );
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[0],
            ("default".into(), vec![("aws_access_key_id".into(), "AK1".into())])
        );
        assert_eq!(
            section(&s, "profile dev").map(|p| get(p, "region")),
            Some(Some("eu-north-1"))
        );
        assert_eq!(
            section(&s, "profile dev").map(|p| get(p, "s3")),
            Some(None),
            "empty value"
        );
    }

    #[test]
    fn profiles_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_str().unwrap().to_string();
        std::fs::create_dir(dir.path().join(".aws")).unwrap();
        std::fs::write(
            dir.path().join(".aws/credentials"),
            "[default]\naws_access_key_id=AKDEF\naws_secret_access_key=sec-def\n[dev]\naws_access_key_id = AKDEV\naws_secret_access_key = sec-dev\naws_session_token = tok-dev\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(".aws/config"),
            "[default]\nregion = us-west-2\n[profile dev]\nregion = eu-north-1\nca_bundle = ~/ca.pem\n[profile cfgonly]\naws_access_key_id = AKCFG\naws_secret_access_key = sec-cfg\n",
        )
        .unwrap();
        let env = |vars: Vec<(&'static str, String)>| {
            move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        };
        let base = env(vec![("HOME", home.clone())]);
        let p = Profile::load(None, &base).unwrap().unwrap();
        assert_eq!((p.get(ACCESS_KEY), p.get(REGION)), (Some("AKDEF"), Some("us-west-2")));
        let p = Profile::load(Some("dev"), &base).unwrap().unwrap();
        assert_eq!(
            (p.get(SECRET_KEY), p.get(SESSION_TOKEN), p.get(REGION)),
            (Some("sec-dev"), Some("tok-dev"), Some("eu-north-1"))
        );
        assert_eq!(p.get(CA_BUNDLE), Some(format!("{home}/ca.pem").as_str()));
        assert!(p.named_in_url);
        let shown = format!("{p:?}");
        assert!(!shown.contains("sec-dev") && !shown.contains("tok-dev"), "{shown}");
        // AWS_PROFILE names it when the URL does not.
        let p = Profile::load(
            None,
            &env(vec![("HOME", home.clone()), ("AWS_PROFILE", "cfgonly".into())]),
        )
        .unwrap()
        .unwrap();
        assert_eq!((p.get(ACCESS_KEY), p.get(REGION)), (Some("AKCFG"), None));
        assert!(!p.named_in_url);
        // Other file locations.
        let other = dir.path().join("elsewhere");
        std::fs::write(&other, "[default]\naws_access_key_id=AKOTHER\n").unwrap();
        let p = Profile::load(
            None,
            &env(vec![
                ("HOME", home.clone()),
                ("AWS_SHARED_CREDENTIALS_FILE", other.display().to_string()),
                ("AWS_CONFIG_FILE", "/nonexistent/config".into()),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!((p.get(ACCESS_KEY), p.get(REGION)), (Some("AKOTHER"), None));
        // A profile named but nowhere: an error naming it and the files.
        let e = Profile::load(Some("nope"), &base).unwrap_err().to_string();
        assert!(e.contains("\"nope\"") && e.contains(".aws/credentials"), "{e}");
        // Not named and nowhere (no home): nothing.
        assert!(Profile::load(None, &|_: &str| None).unwrap().is_none());
    }
}
