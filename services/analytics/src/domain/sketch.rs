//! Distinct users of a bucket, as a mergeable sketch: distinct counts do not add up (a week's
//! active users are not the sum of its days'), but sketches merge.
//!
//! The sketch is Cloudflare's `cardinality-estimator`: it keeps the users' hashes exactly up to
//! [`EXACT_UP_TO`] distinct users, then becomes a HyperLogLog++ sketch with 2^14 registers,
//! whose standard error is 1.04 / √16384 ≈ [`STANDARD_ERROR`] (Heule, Nunkesser and Hall, 2013).
//! A sketch is at most 12 KiB in memory, and 16 KiB stored.

use cardinality_estimator::CardinalityEstimator;

/// Up to this many distinct users, a count is exact (two users' 32-bit encoded hashes
/// colliding aside: about 1 chance in 4,000 at 128 users).
pub const EXACT_UP_TO: usize = 128;
/// The relative standard error of a count past [`EXACT_UP_TO`].
pub const STANDARD_ERROR: f64 = 0.0081;

type Estimator = CardinalityEstimator<str, wyhash::WyHash, 14, 6>;

/// A stored sketch that does not decode.
#[derive(Debug, thiserror::Error)]
#[error("a distinct-users sketch does not decode: {0}")]
pub struct SketchError(String);

/// The distinct users of some buckets.
#[derive(Default)]
pub struct DistinctUsers(Estimator);

impl DistinctUsers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, user_id: &str) {
        self.0.insert(user_id);
    }

    /// Adds every user of `other`.
    pub fn merge(&mut self, other: &Self) {
        self.0.merge(&other.0);
    }

    /// How many distinct users: exact up to [`EXACT_UP_TO`], within [`STANDARD_ERROR`] past it.
    pub fn count(&self) -> i64 {
        i64::try_from(self.0.estimate()).unwrap_or(i64::MAX)
    }

    /// The stored form (postcard).
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing a plain tuple of integers into memory cannot fail.
        postcard::to_allocvec(&self.0).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SketchError> {
        postcard::from_bytes(bytes).map(Self).map_err(|error| SketchError(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(range: std::ops::Range<usize>) -> DistinctUsers {
        let mut sketch = DistinctUsers::new();
        for n in range {
            sketch.insert(&format!("user-{n}"));
        }
        sketch
    }

    #[test]
    fn small_sets_count_exactly_and_merge_as_unions() {
        let mut monday = users(0..60);
        let tuesday = users(40..100);
        assert_eq!((monday.count(), tuesday.count()), (60, 60));
        monday.merge(&tuesday);
        assert_eq!(monday.count(), 100);
        monday.insert("user-5");
        assert_eq!(monday.count(), 100);
    }

    #[test]
    fn large_sets_stay_within_the_stated_error() {
        let mut week = DistinctUsers::new();
        for day in 0..7 {
            // Overlapping days: 20,000 distinct users in all.
            week.merge(&users(day * 2_500..day * 2_500 + 5_000));
        }
        let error = (week.count() as f64 - 20_000.0).abs() / 20_000.0;
        assert!(error < 3.0 * STANDARD_ERROR, "estimate {} is off by {error}", week.count());
    }

    #[test]
    fn a_sketch_survives_storage_at_every_size() {
        for n in [0, 1, 2, 50, 128, 129, 5_000] {
            let sketch = users(0..n);
            let bytes = sketch.to_bytes();
            let mut restored = DistinctUsers::from_bytes(&bytes).unwrap();
            assert_eq!(restored.count(), sketch.count(), "{n} users");
            restored.merge(&users(0..n));
            assert_eq!(restored.count(), sketch.count(), "{n} users merged with themselves");
        }
        assert!(users(0..100_000).to_bytes().len() <= 16 * 1024, "{} bytes", users(0..100_000).to_bytes().len());
        assert!(DistinctUsers::from_bytes(b"\xff\xff").is_err());
    }
}
