//! Signed notes, as the checksum database signs its tree heads: a text
//! that ends in a newline, a blank line, then signature lines
//! `— <name> <base64(key hash ‖ signature)>`. Verifier keys are
//! `<name>+<hex key hash>+<base64(algorithm ‖ public key)>`; the key hash
//! binds the name to the key (first 4 bytes of SHA-256 of name, newline,
//! algorithm byte and key), so a key is only ever accepted for the name it
//! was made for.
//!
//! Invariant: `open` returns a note's text only if a signature by the
//! configured key verifies over exactly that text.

use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

const ALG_ED25519: u8 = 1;

/// The key material of databases the go command knows by name, without
/// their names: `<hex key hash>+<base64 key>`. A name from GOSUMDB is
/// accepted with one of these only if its key hash matches, which is the
/// same check as the go command's built-in table without writing a host
/// name here.
const KNOWN_KEYS: &[&str] = &["033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"];

#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    #[error("malformed verifier key {0:?}: {1}")]
    Key(String, &'static str),
    #[error("no key is known for database {0:?}; give it as GOSUMDB=\"{0}+<key>\"")]
    UnknownName(String),
    #[error("malformed signed note: {0}")]
    Malformed(&'static str),
    #[error("the note carries no signature by {0} (key hash {1:08x})")]
    Unsigned(String, u32),
    #[error("the signature by {0} does not verify")]
    BadSignature(String),
}

/// A database's name and public key.
#[derive(Debug, Clone)]
pub struct Verifier {
    pub name: String,
    hash: u32,
    key: VerifyingKey,
}

fn key_hash(name: &str, key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl Verifier {
    /// Parses `name+hash+key`.
    pub fn parse(vkey: &str) -> Result<Verifier, NoteError> {
        let bad = |why| NoteError::Key(vkey.to_string(), why);
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("want name+hash+key"));
        };
        Self::from_parts(name, hash, key).map_err(bad)
    }

    fn from_parts(name: &str, hash: &str, key: &str) -> Result<Verifier, &'static str> {
        if name.is_empty() || name.contains(char::is_whitespace) || name.contains('+') {
            return Err("bad name");
        }
        let hash = u32::from_str_radix(hash, 16).map_err(|_| "bad key hash")?;
        let raw = b64().decode(key).map_err(|_| "bad base64 key")?;
        let [ALG_ED25519, pk @ ..] = raw.as_slice() else {
            return Err("not an Ed25519 key");
        };
        let pk: [u8; 32] = pk.try_into().map_err(|_| "bad key length")?;
        if key_hash(name, &raw) != hash {
            return Err("key hash does not match name and key");
        }
        let key = VerifyingKey::from_bytes(&pk).map_err(|_| "invalid Ed25519 key")?;
        Ok(Verifier {
            name: name.to_string(),
            hash,
            key,
        })
    }

    /// The built-in key for a database known by name alone.
    pub fn known(name: &str) -> Result<Verifier, NoteError> {
        KNOWN_KEYS
            .iter()
            .find_map(|k| {
                let (hash, key) = k.split_once('+')?;
                Self::from_parts(name, hash, key).ok()
            })
            .ok_or_else(|| NoteError::UnknownName(name.to_string()))
    }

    /// Verifies a signed note and returns its text.
    pub fn open<'a>(&self, note: &'a [u8]) -> Result<&'a str, NoteError> {
        let note = std::str::from_utf8(note).map_err(|_| NoteError::Malformed("not UTF-8"))?;
        let split = note
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no signature block"))?;
        let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
        for line in sigs.lines() {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                return Err(NoteError::Malformed("signature line without a dash"));
            };
            let Some((name, sig)) = rest.split_once(' ') else {
                return Err(NoteError::Malformed("signature line without a name"));
            };
            let sig = b64()
                .decode(sig)
                .map_err(|_| NoteError::Malformed("signature is not base64"))?;
            if name != self.name || sig.len() != 68 || sig[..4] != self.hash.to_be_bytes() {
                continue;
            }
            let sig = Signature::from_slice(&sig[4..])
                .map_err(|_| NoteError::Malformed("bad signature length"))?;
            return self
                .key
                .verify_strict(text.as_bytes(), &sig)
                .map(|()| text)
                .map_err(|_| NoteError::BadSignature(self.name.clone()));
        }
        Err(NoteError::Unsigned(self.name.clone(), self.hash))
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    /// A test key pair: the signing key and its verifier string.
    pub fn keypair(name: &str, seed: u8) -> (SigningKey, String) {
        let sk = SigningKey::from_bytes(&[seed; 32]);
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(sk.verifying_key().as_bytes());
        let vkey = format!("{name}+{:08x}+{}", key_hash(name, &raw), b64().encode(&raw));
        (sk, vkey)
    }

    pub fn sign(name: &str, sk: &SigningKey, vkey: &str, text: &str) -> String {
        let v = Verifier::parse(vkey).unwrap();
        let mut sig = v.hash.to_be_bytes().to_vec();
        sig.extend_from_slice(&sk.sign(text.as_bytes()).to_bytes());
        format!("{text}\n\u{2014} {name} {}\n", b64().encode(sig))
    }

    #[test]
    fn signed_note_opens_and_tampering_is_refused() {
        let (sk, vkey) = keypair("db.test", 7);
        let v = Verifier::parse(&vkey).unwrap();
        let note = sign("db.test", &sk, &vkey, "hello\n");
        assert_eq!(v.open(note.as_bytes()).unwrap(), "hello\n");
        let forged = note.replace("hello", "jello");
        assert!(matches!(
            v.open(forged.as_bytes()),
            Err(NoteError::BadSignature(_))
        ));
        let (other, ovkey) = keypair("db.test", 8);
        let foreign = sign("db.test", &other, &ovkey, "hello\n");
        assert!(matches!(
            v.open(foreign.as_bytes()),
            Err(NoteError::Unsigned(..))
        ));
    }

    #[test]
    fn keys_are_bound_to_their_names() {
        let (_, vkey) = keypair("db.test", 7);
        let renamed = vkey.replacen("db.test", "evil.test", 1);
        assert!(Verifier::parse(&renamed).is_err());
        assert!(Verifier::known("evil.test").is_err());
    }
}
