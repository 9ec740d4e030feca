//! The transparent log behind the checksum database: an RFC 6962 Merkle
//! tree of records, published as tiles (height 8: each tile holds up to 256
//! consecutive hashes of one tree level, level `8·L` for tile level `L`).
//!
//! Proofs are computed from tiles and checked by recomputing signed roots:
//! `Proof::check` splits the tree of the newest size at every older size
//! (and at the record being proved), so that each older root and the newest
//! one are computed from one and the same set of tile hashes. Equal roots
//! then prove inclusion and consistency; nothing read from a tile is
//! trusted before that.

use std::collections::BTreeMap;

use base64::Engine;
use sha2::{Digest, Sha256};

pub const TILE_HEIGHT: u32 = 8;
const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// One node hash of the tree.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    pub fn record(data: &[u8]) -> Hash {
        Hash(
            Sha256::new()
                .chain_update([0u8])
                .chain_update(data)
                .finalize()
                .into(),
        )
    }

    pub fn node(left: &Hash, right: &Hash) -> Hash {
        Hash(
            Sha256::new()
                .chain_update([1u8])
                .chain_update(left.0)
                .chain_update(right.0)
                .finalize()
                .into(),
        )
    }

    pub fn parse(b64: &str) -> Option<Hash> {
        let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        Some(Hash(raw.try_into().ok()?))
    }
}

impl std::fmt::Display for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&base64::engine::general_purpose::STANDARD.encode(self.0))
    }
}

/// A tree head: size and root.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Tree {
    pub size: u64,
    pub root: Hash,
}

impl std::fmt::Display for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.size, self.root)
    }
}

impl Tree {
    /// Parses the text of a signed tree head.
    pub fn parse_note_text(text: &str) -> Option<Tree> {
        let mut lines = text.lines();
        (lines.next()? == "go.sum database tree").then_some(())?;
        let size = lines.next()?.parse().ok()?;
        let root = Hash::parse(lines.next()?)?;
        Some(Tree { size, root })
    }

    /// Parses `<size> <base64 root>` (the pin syntax).
    pub fn parse_pin(s: &str) -> Option<Tree> {
        let (size, root) = s.trim().split_once(char::is_whitespace)?;
        Some(Tree {
            size: size.parse().ok()?,
            root: Hash::parse(root.trim())?,
        })
    }
}

/// A tile: level, index, and how many hashes it holds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Tile {
    pub level: u32,
    pub index: u64,
    pub width: u64,
}

impl Tile {
    /// The tile's path under the database URL: `tile/8/L/x001/234[.p/W]`.
    pub fn path(&self) -> String {
        let mut n = self.index;
        let mut groups = vec![format!("{:03}", n % 1000)];
        n /= 1000;
        while n > 0 {
            groups.push(format!("x{:03}", n % 1000));
            n /= 1000;
        }
        groups.reverse();
        let mut p = format!("tile/{TILE_HEIGHT}/{}/{}", self.level, groups.join("/"));
        if self.width < TILE_WIDTH {
            p.push_str(&format!(".p/{}", self.width));
        }
        p
    }
}

/// Where tile data comes from (the network, a cache).
pub trait TileSource {
    fn tile(&mut self, tile: Tile) -> Result<Vec<u8>, String>;
}

/// A proof to check against tiles of a tree of size `newest.size`: older
/// tree heads that must be its prefixes, and optionally a record that must
/// be leaf `index` of every one of them that is large enough.
pub struct Proof<'a> {
    pub newest: Tree,
    pub older: &'a [Tree],
    pub record: Option<(u64, &'a [u8])>,
}

/// Why a proof failed: which tree head did not come out of the tiles.
#[derive(Debug)]
pub enum ProofError {
    Mismatch { want: Tree, computed: Hash },
    Tiles(String),
}

struct Ctx<'s, S: TileSource> {
    size: u64,
    cuts: Vec<u64>,
    leaf: Option<(u64, Hash)>,
    tiles: BTreeMap<(u32, u64), Vec<u8>>,
    src: &'s mut S,
}

impl<S: TileSource> Ctx<'_, S> {
    fn must_split(&self, lo: u64, hi: u64) -> bool {
        self.cuts.iter().any(|&c| lo < c && c < hi)
            || self.leaf.is_some_and(|(i, _)| lo <= i && i < hi)
    }

    /// The root of leaves `lo..hi` (RFC 6962 shape).
    fn subtree(&mut self, lo: u64, hi: u64) -> Result<Hash, String> {
        let n = hi - lo;
        if n == 1 {
            if let Some((i, h)) = self.leaf.filter(|(i, _)| *i == lo) {
                debug_assert_eq!(i, lo);
                return Ok(h);
            }
        }
        if n.is_power_of_two() && lo % n == 0 && !self.must_split(lo, hi) {
            return self.stored(n.trailing_zeros(), lo / n);
        }
        // The largest power of two below n.
        let k = n.next_power_of_two() / 2;
        let left = self.subtree(lo, lo + k)?;
        let right = self.subtree(lo + k, hi)?;
        Ok(Hash::node(&left, &right))
    }

    /// The hash at tree level `level`, index `index`, from the tile that
    /// holds the level below it (hashing up inside the tile).
    fn stored(&mut self, level: u32, index: u64) -> Result<Hash, String> {
        let tl = level / TILE_HEIGHT;
        let up = level % TILE_HEIGHT;
        let first = index << up;
        let (t, start) = (first / TILE_WIDTH, (first % TILE_WIDTH) as usize);
        let count = 1usize << up;
        let data = self.tile_data(tl, t)?;
        let end = (start + count) * 32;
        if data.len() < end {
            return Err(format!("tile {tl}/{t} is too short"));
        }
        let mut row: Vec<Hash> = data[start * 32..end]
            .chunks_exact(32)
            .map(|c| Hash(c.try_into().unwrap_or([0; 32])))
            .collect();
        while row.len() > 1 {
            row = row
                .chunks_exact(2)
                .map(|p| Hash::node(&p[0], &p[1]))
                .collect();
        }
        Ok(row[0])
    }

    fn tile_data(&mut self, level: u32, index: u64) -> Result<&[u8], String> {
        if !self.tiles.contains_key(&(level, index)) {
            let have = self.size >> (level * TILE_HEIGHT);
            let width = (have - index * TILE_WIDTH).min(TILE_WIDTH);
            let tile = Tile {
                level,
                index,
                width,
            };
            let data = self.src.tile(tile)?;
            if data.len() as u64 != width * 32 {
                return Err(format!("tile {} has {} bytes", tile.path(), data.len()));
            }
            self.tiles.insert((level, index), data);
        }
        Ok(&self.tiles[&(level, index)])
    }
}

impl Proof<'_> {
    /// Checks the proof; returns the tiles it used (to cache them, now
    /// that they are proved).
    pub fn check<S: TileSource>(&self, src: &mut S) -> Result<Vec<(Tile, Vec<u8>)>, ProofError> {
        let size = self.newest.size;
        let mut ctx = Ctx {
            size,
            cuts: self.older.iter().map(|t| t.size).collect(),
            leaf: self.record.map(|(i, data)| (i, Hash::record(data))),
            tiles: BTreeMap::new(),
            src,
        };
        for want in std::iter::once(&self.newest).chain(self.older) {
            if want.size == 0 || want.size > size {
                return Err(ProofError::Tiles(format!("tree size {}", want.size)));
            }
            let computed = ctx.subtree(0, want.size).map_err(ProofError::Tiles)?;
            if computed != want.root {
                return Err(ProofError::Mismatch {
                    want: *want,
                    computed,
                });
            }
        }
        let tiles = std::mem::take(&mut ctx.tiles);
        Ok(tiles
            .into_iter()
            .map(|((level, index), data)| {
                let width = data.len() as u64 / 32;
                (
                    Tile {
                        level,
                        index,
                        width,
                    },
                    data,
                )
            })
            .collect())
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// An in-memory log that serves tiles, for tests.
    #[derive(Default, Clone)]
    pub struct MemLog {
        /// levels[0] are record hashes; levels[k] hashes of 2^k leaves.
        pub levels: Vec<Vec<Hash>>,
    }

    impl MemLog {
        pub fn append(&mut self, record: &[u8]) {
            let mut h = Hash::record(record);
            let mut lvl = 0;
            loop {
                if self.levels.len() <= lvl {
                    self.levels.push(Vec::new());
                }
                self.levels[lvl].push(h);
                let n = self.levels[lvl].len();
                if n % 2 == 1 {
                    break;
                }
                h = Hash::node(&self.levels[lvl][n - 2], &self.levels[lvl][n - 1]);
                lvl += 1;
            }
        }

        pub fn size(&self) -> u64 {
            self.levels.first().map_or(0, |l| l.len() as u64)
        }

        pub fn tree(&self, size: u64) -> Tree {
            let mut ctx = Ctx {
                size,
                cuts: vec![],
                leaf: None,
                tiles: BTreeMap::new(),
                src: &mut self.clone(),
            };
            Tree {
                size,
                root: ctx.subtree(0, size).unwrap(),
            }
        }
    }

    impl TileSource for MemLog {
        fn tile(&mut self, t: Tile) -> Result<Vec<u8>, String> {
            let row = &self.levels[(t.level * TILE_HEIGHT) as usize];
            let start = (t.index * TILE_WIDTH) as usize;
            Ok(row[start..start + t.width as usize]
                .iter()
                .flat_map(|h| h.0)
                .collect())
        }
    }

    fn log(n: usize) -> MemLog {
        let mut log = MemLog::default();
        for i in 0..n {
            log.append(format!("record {i}\n").as_bytes());
        }
        log
    }

    #[test]
    fn roots_match_the_rfc6962_definition() {
        fn mth(leaves: &[Hash]) -> Hash {
            if leaves.len() == 1 {
                return leaves[0];
            }
            let k = leaves.len().next_power_of_two() / 2;
            Hash::node(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
        let l = log(700);
        for n in [1u64, 2, 3, 7, 8, 255, 256, 257, 300, 511, 512, 513, 700] {
            assert_eq!(l.tree(n).root, mth(&l.levels[0][..n as usize]), "n={n}");
        }
    }

    #[test]
    fn inclusion_and_consistency_are_proved_and_lies_caught() {
        let mut l = log(700);
        let newest = l.tree(700);
        let older = [l.tree(300), l.tree(5)];
        let rec = b"record 299\n".to_vec();
        let p = Proof {
            newest,
            older: &older,
            record: Some((299, &rec)),
        };
        assert!(p.check(&mut l).is_ok());
        let lie = b"record 299 but other\n".to_vec();
        let p = Proof {
            newest,
            older: &older,
            record: Some((299, &lie)),
        };
        assert!(matches!(p.check(&mut l), Err(ProofError::Mismatch { .. })));
        // A fork: another log with one record changed below 300.
        let mut forked = MemLog::default();
        for i in 0..700 {
            let r = if i == 100 {
                "evil\n".into()
            } else {
                format!("record {i}\n")
            };
            forked.append(r.as_bytes());
        }
        let p = Proof {
            newest: forked.tree(700),
            older: &older[..1],
            record: None,
        };
        assert!(matches!(
            p.check(&mut forked),
            Err(ProofError::Mismatch { .. })
        ));
    }

    #[test]
    fn tile_paths_follow_the_tlog_layout() {
        let t = |level, index, width| {
            Tile {
                level,
                index,
                width,
            }
            .path()
        };
        assert_eq!(t(0, 0, 256), "tile/8/0/000");
        assert_eq!(t(1, 1234067, 256), "tile/8/1/x001/x234/067");
        assert_eq!(t(2, 5, 7), "tile/8/2/005.p/7");
    }
}
