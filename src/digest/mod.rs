//! Typed digests and the one canonical key encoder.
//!
//! Every digest carries the kind of thing it hashes (`Digest<File>`,
//! `Digest<Action>`, ...), so a file digest can never be used where an
//! action key is expected. Keys are built only through [`KeyEncoder`]: an
//! ordered, length-prefixed, versioned blake3 stream, so that two different
//! field sequences can never encode to the same bytes.
//!
//! What goes into an action key (`plan::KeyIngredients`, the one recipe;
//! keep in step with docs/design.md):
//! - in: [`KEY_FORMAT_VERSION`] and the action key domain's own version;
//!   the kind and the digest of its rule text; the
//!   toolchain identity; the tool argv with the sandbox root replaced by a
//!   placeholder; the action's environment; the fixed tool environment
//!   (`rules/tools.toml`); the platform tuple (GOOS, GOARCH, variant,
//!   CGO_ENABLED); the outputs; every input as (sandbox-relative path, content
//!   digest); generated files (importcfg, embedcfg, importcfg.link with the
//!   build info) by content. Build tags enter through what they change: the
//!   files go list selects (inputs) and the build info of links (`-tags=`),
//!   so changing a tag re-runs only the packages it affects.
//! - never: mtimes, absolute paths, the caller's environment, map iteration
//!   order, host name, user, time, number of cores. go.mod and go.work never
//!   enter by bytes: their meaning reaches keys through argv (`-lang`),
//!   importcfg and the build info text.

use std::fmt;
use std::io::Read;
use std::marker::PhantomData;
use std::path::Path;

pub mod stat;
pub use stat::StatCache;

/// Bumped whenever the encoding of any key changes, so old cache entries are
/// simply never found again.
pub const KEY_FORMAT_VERSION: u32 = 2;

/// Marker types: what a digest is the digest of.
pub mod kind {
    /// Contents of a file or blob.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum File {}
    /// An action's cache key.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Action {}
    /// A toolchain's identity.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Toolchain {}
}

/// A blake3 digest of something of kind `K`.
pub struct Digest<K> {
    bytes: [u8; 32],
    kind: PhantomData<K>,
}

impl<K> Clone for Digest<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K> Copy for Digest<K> {}
impl<K> PartialEq for Digest<K> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}
impl<K> Eq for Digest<K> {}
impl<K> std::hash::Hash for Digest<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state)
    }
}
impl<K> PartialOrd for Digest<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Digest<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bytes.cmp(&other.bytes)
    }
}

impl<K> fmt::Debug for Digest<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}
impl<K> fmt::Display for Digest<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl<K> Digest<K> {
    fn from_hash(h: blake3::Hash) -> Self {
        Digest {
            bytes: *h.as_bytes(),
            kind: PhantomData,
        }
    }

    pub fn to_hex(&self) -> String {
        blake3::Hash::from_bytes(self.bytes).to_hex().to_string()
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        blake3::Hash::from_hex(s).ok().map(Self::from_hash)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The first 12 hex digits, for messages.
    pub fn short(&self) -> String {
        let mut hex = self.to_hex();
        hex.truncate(12);
        hex
    }
}

impl<K> serde::Serialize for Digest<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}
impl<'de, K> serde::Deserialize<'de> for Digest<K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::from_hex(&s).ok_or_else(|| serde::de::Error::custom("bad digest"))
    }
}

pub type FileDigest = Digest<kind::File>;
pub type ActionKey = Digest<kind::Action>;
pub type ToolchainId = Digest<kind::Toolchain>;

impl FileDigest {
    pub fn of_bytes(data: &[u8]) -> Self {
        Self::from_hash(blake3::hash(data))
    }

    /// Hashes a file by streaming it in 64 KiB reads.
    pub fn of_file(path: &Path) -> std::io::Result<Self> {
        let mut h = blake3::Hasher::new();
        stream(std::fs::File::open(path)?, |chunk| {
            h.update(chunk);
        })?;
        Ok(Self::from_hash(h.finalize()))
    }
}

/// Feeds everything `reader` yields to `consume`, 64 KiB at a time (for
/// hashing files of any size without holding them in memory).
pub fn stream(mut reader: impl Read, mut consume: impl FnMut(&[u8])) -> std::io::Result<()> {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        consume(&buf[..n]);
    }
}

/// Lower-case hex of bytes (sha256 sums and the like).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The canonical encoder: every field is written as a tag, a length and the
/// bytes, in the order the caller gives, after a domain and version header.
pub struct KeyEncoder<K> {
    hasher: blake3::Hasher,
    kind: PhantomData<K>,
}

impl<K> KeyEncoder<K> {
    pub fn new(domain: &str) -> Self {
        let mut e = KeyEncoder {
            hasher: blake3::Hasher::new(),
            kind: PhantomData,
        };
        e.bytes("domain", domain.as_bytes());
        e.bytes("version", &KEY_FORMAT_VERSION.to_le_bytes());
        e
    }

    pub fn bytes(&mut self, tag: &str, value: &[u8]) -> &mut Self {
        self.hasher.update(&(tag.len() as u64).to_le_bytes());
        self.hasher.update(tag.as_bytes());
        self.hasher.update(&(value.len() as u64).to_le_bytes());
        self.hasher.update(value);
        self
    }

    pub fn str(&mut self, tag: &str, value: &str) -> &mut Self {
        self.bytes(tag, value.as_bytes())
    }

    pub fn digest<D>(&mut self, tag: &str, value: &Digest<D>) -> &mut Self {
        self.bytes(tag, value.as_bytes())
    }

    /// A count, for lists of composite items (each item's fields follow).
    pub fn count(&mut self, tag: &str, n: usize) -> &mut Self {
        self.bytes(tag, &(n as u64).to_le_bytes())
    }

    /// A list is its length followed by its items, so `["a b"]` and
    /// `["a", "b"]` differ.
    pub fn strs<S: AsRef<str>>(&mut self, tag: &str, values: &[S]) -> &mut Self {
        self.count(tag, values.len());
        for v in values {
            self.str(tag, v.as_ref());
        }
        self
    }

    pub fn finish(&self) -> Digest<K> {
        Digest::from_hash(self.hasher.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_boundaries_matter() {
        let a = KeyEncoder::<kind::Action>::new("t")
            .strs("x", &["a b"])
            .finish();
        let b = KeyEncoder::<kind::Action>::new("t")
            .strs("x", &["a", "b"])
            .finish();
        assert_ne!(a, b);
    }

    #[test]
    fn hex_round_trip() {
        let d = FileDigest::of_bytes(b"hello");
        assert_eq!(FileDigest::from_hex(&d.to_hex()), Some(d));
    }
}
