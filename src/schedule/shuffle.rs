//! Seeded orders: verify varies the order in which ready actions start and
//! inputs are staged, to show that neither changes an output.

/// A well-mixed 64-bit hash (splitmix64).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The rank of item `i` in the order shuffled by `seed`.
pub fn rank(seed: u64, i: usize) -> u64 {
    mix(seed ^ i as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins splitmix64: a changed constant would silently change every
    /// `--shuffle` order.
    #[test]
    fn mix_is_splitmix64() {
        assert_eq!(mix(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rank(5, 3), mix(6));
    }
}
