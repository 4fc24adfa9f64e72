//! SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677) as MongoDB uses
//! them (the "Authentication" specification): SHA-256 prepares the
//! password with SASLprep; SHA-1 uses `hex(MD5(user ":mongo:" password))`
//! as the password. At least 4096 and at most 1 000 000 iterations are
//! accepted (the upper bound is ours, below). No I/O: the
//! connection carries the messages in `saslStart`/`saslContinue`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use driverbox_guest_sdk::{Error, Result};
use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use sha1::Sha1;
use sha2::Sha256;

/// The smallest iteration count accepted from a server.
pub const MIN_ITERATIONS: u32 = 4096;

/// The largest iteration count accepted from a server. MongoDB's defaults
/// are 10 000 (SHA-1) and 15 000 (SHA-256), and hardening guides stop at
/// 600 000 for PBKDF2-SHA256. A server asking for billions of rounds would
/// keep the driver computing until the host's call time-out; this refuses
/// it at once, with an error that says so.
pub const MAX_ITERATIONS: u32 = 1_000_000;

/// A SCRAM variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Sha1,
    Sha256,
}

impl Mechanism {
    /// The SASL name, e.g. `SCRAM-SHA-256`.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Sha1 => "SCRAM-SHA-1",
            Mechanism::Sha256 => "SCRAM-SHA-256",
        }
    }

    /// Parses a SASL name. Errors: `unsupported` for anything else.
    pub fn from_name(name: &str) -> Result<Mechanism> {
        match name {
            "SCRAM-SHA-1" => Ok(Mechanism::Sha1),
            "SCRAM-SHA-256" => Ok(Mechanism::Sha256),
            other => Err(Error::unsupported(format!(
                "authMechanism {other} is not supported; use SCRAM-SHA-256 or SCRAM-SHA-1"
            ))),
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            Mechanism::Sha1 => {
                let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            Mechanism::Sha256 => {
                let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Mechanism::Sha1 => Sha1::digest(data).to_vec(),
            Mechanism::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            Mechanism::Sha1 => {
                let mut out = [0u8; 20];
                pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut out);
                out.to_vec()
            }
            Mechanism::Sha256 => {
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out.to_vec()
            }
        }
    }

    /// The password as this mechanism feeds it to PBKDF2.
    /// Errors: `invalid-input` when SASLprep refuses the password.
    pub fn prepare_password(self, user: &str, password: &str) -> Result<String> {
        match self {
            Mechanism::Sha1 => {
                let digest = Md5::digest(format!("{user}:mongo:{password}").as_bytes());
                Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
            }
            Mechanism::Sha256 => stringprep::saslprep(password)
                .map(|p| p.into_owned())
                .map_err(|_| Error::invalid("the password has characters SASLprep prohibits")),
        }
    }
}

/// `=` and `,` in a SCRAM user name are written `=3D` and `=2C`.
fn escape_user(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

/// A conversation waiting for the server's first message.
pub struct ScramClient {
    mechanism: Mechanism,
    password: String,
    nonce: String,
    first_bare: String,
}

/// A conversation waiting for the server's final message.
#[derive(Debug)]
pub struct ScramFinal {
    server_signature: Vec<u8>,
}

fn auth_error(message: impl Into<String>) -> Error {
    Error::authentication(message)
}

impl ScramClient {
    /// Starts a conversation for `user` with a random `nonce` (printable,
    /// no comma). Errors: as [`Mechanism::prepare_password`].
    pub fn new(mechanism: Mechanism, user: &str, password: &str, nonce: String) -> Result<ScramClient> {
        Ok(ScramClient {
            mechanism,
            password: mechanism.prepare_password(user, password)?,
            first_bare: format!("n={},r={nonce}", escape_user(user)),
            nonce,
        })
    }

    /// The client-first message (no channel binding).
    pub fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.first_bare).into_bytes()
    }

    /// Reads the server-first message and gives the client-final message.
    /// Errors: `authentication` for a malformed message, a nonce that does
    /// not extend ours, or an iteration count outside
    /// [`MIN_ITERATIONS`]..=[`MAX_ITERATIONS`].
    pub fn server_first(self, message: &[u8]) -> Result<(ScramFinal, Vec<u8>)> {
        let text = std::str::from_utf8(message).map_err(|_| auth_error("SCRAM server-first is not UTF-8"))?;
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for part in text.split(',') {
            match part.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(v),
                Some(("i", v)) => iterations = Some(v),
                Some(("e", v)) => return Err(auth_error(format!("SCRAM error from the server: {v}"))),
                _ => {}
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(auth_error("SCRAM server-first lacks r, s or i"));
        };
        if !nonce.starts_with(&self.nonce) || nonce.len() <= self.nonce.len() {
            return Err(auth_error("SCRAM server nonce does not extend the client nonce"));
        }
        let salt = B64.decode(salt).map_err(|_| auth_error("SCRAM salt is not base64"))?;
        let iterations: u32 = iterations
            .parse()
            .map_err(|_| auth_error("SCRAM iteration count is not a number"))?;
        if iterations < MIN_ITERATIONS {
            return Err(auth_error(format!(
                "SCRAM iteration count {iterations} is below {MIN_ITERATIONS}"
            )));
        }
        if iterations > MAX_ITERATIONS {
            return Err(auth_error(format!(
                "SCRAM iteration count {iterations} is above {MAX_ITERATIONS}: refused rather than computed"
            )));
        }
        let m = self.mechanism;
        let salted = m.salted_password(self.password.as_bytes(), &salt, iterations);
        let client_key = m.hmac(&salted, b"Client Key");
        let stored_key = m.hash(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{text},{without_proof}", self.first_bare);
        let signature = m.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        let server_key = m.hmac(&salted, b"Server Key");
        let server_signature = m.hmac(&server_key, auth_message.as_bytes());
        let final_message = format!("{without_proof},p={}", B64.encode(proof));
        Ok((ScramFinal { server_signature }, final_message.into_bytes()))
    }
}

impl ScramFinal {
    /// Checks the server-final message's signature: the server knew the
    /// password too. Errors: `authentication`.
    pub fn verify(&self, message: &[u8]) -> Result<()> {
        let text = std::str::from_utf8(message).map_err(|_| auth_error("SCRAM server-final is not UTF-8"))?;
        for part in text.split(',') {
            match part.split_once('=') {
                Some(("e", v)) => return Err(auth_error(format!("SCRAM error from the server: {v}"))),
                Some(("v", v)) => {
                    let sig = B64
                        .decode(v)
                        .map_err(|_| auth_error("SCRAM server signature is not base64"))?;
                    return if sig == self.server_signature {
                        Ok(())
                    } else {
                        Err(auth_error(
                            "the server's SCRAM signature is wrong: it does not know the password",
                        ))
                    };
                }
                _ => {}
            }
        }
        Err(auth_error("SCRAM server-final has no signature"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677, section 3.
    #[test]
    fn sha256_rfc7677_exchange() {
        let c = ScramClient::new(Mechanism::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO".into()).unwrap();
        assert_eq!(c.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let (fin, msg) = c.server_first(server_first).unwrap();
        assert_eq!(
            String::from_utf8(msg).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        fin.verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").unwrap();
        assert_eq!(
            fin.verify(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                .unwrap_err()
                .kind(),
            driverbox_guest_sdk::ErrorKind::Authentication
        );
        assert!(fin.verify(b"e=other-error").is_err());
        assert!(fin.verify(b"x=1").is_err());
    }

    /// The SCRAM-SHA-1 conversation of MongoDB's authentication
    /// specification (user `user`, password `pencil`, MD5-prepared).
    #[test]
    fn sha1_mongodb_exchange() {
        let c = ScramClient::new(Mechanism::Sha1, "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL".into()).unwrap();
        assert_eq!(c.client_first(), b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
        let server_first =
            b"r=fyko+d2lbbFgONRv9qkxdawLHo+Vgk7qvUOKUwuWLIWg4l/9SraGMHEE,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=10000";
        let (fin, msg) = c.server_first(server_first).unwrap();
        assert_eq!(
            String::from_utf8(msg).unwrap(),
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawLHo+Vgk7qvUOKUwuWLIWg4l/9SraGMHEE,p=MC2T8BvbmWRckDw8oWl5IVghwCY="
        );
        fin.verify(b"v=UMWeI25JD1yNYZRMpZ4VHvhZ9e0=").unwrap();
    }

    #[test]
    fn prepares_passwords() {
        assert_eq!(
            Mechanism::Sha1.prepare_password("user", "pencil").unwrap(),
            "1c33006ec1ffd90f9cadcbcc0e118200"
        );
        // SASLprep maps non-ASCII spaces to a space and removes soft hyphens.
        assert_eq!(Mechanism::Sha256.prepare_password("u", "I\u{00AD}X").unwrap(), "IX");
        assert_eq!(Mechanism::Sha256.prepare_password("u", "a\u{2000}b").unwrap(), "a b");
        assert!(Mechanism::Sha256.prepare_password("u", "a\u{0007}b").is_err());
        assert_eq!(escape_user("a=b,c"), "a=3Db=2Cc");
    }

    #[test]
    fn refuses_bad_server_first() {
        let new = || ScramClient::new(Mechanism::Sha256, "u", "p", "abc".into()).unwrap();
        for bad in [
            &b"r=xyz123,s=AAAA,i=4096"[..],
            b"r=abc,s=AAAA,i=4096",
            b"r=abcd,s=!!!,i=4096",
            b"r=abcd,s=AAAA,i=100",
            // Billions of PBKDF2 rounds: refused before any is computed
            // (this test would run for hours otherwise).
            b"r=abcd,s=AAAA,i=4294967295",
            b"r=abcd,s=AAAA,i=1000001",
            b"r=abcd,s=AAAA,i=x",
            b"r=abcd,s=AAAA",
            b"e=unknown-user",
            b"\xff",
        ] {
            assert!(new().server_first(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(Mechanism::from_name("SCRAM-SHA-1").unwrap(), Mechanism::Sha1);
        assert!(Mechanism::from_name("PLAIN").is_err());
    }
}
