//! Deterministic pseudo-randomness keyed by (seed, object, index).
//!
//! The simulator never stores generated objects: every value is recomputed from its index, so a
//! site with a million issues costs no more memory than one with ten. A stateless hash
//! (SplitMix64) gives the same value for the same inputs on every run and every machine.

/// SplitMix64 finaliser: a well-mixed 64-bit hash of `x`.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A value derived from a seed, a purpose tag and an index; `tag` keeps independent
/// attributes of the same object (its priority, its assignee, …) uncorrelated.
pub fn pick(seed: u64, tag: u64, index: u64) -> u64 {
    mix(seed ^ mix(tag.wrapping_mul(0x100_0000_01B3) ^ mix(index)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_is_deterministic_and_tag_sensitive() {
        assert_eq!(pick(7, 1, 42), pick(7, 1, 42));
        assert_ne!(pick(7, 1, 42), pick(7, 2, 42));
        assert_ne!(pick(7, 1, 42), pick(8, 1, 42));
    }
}
