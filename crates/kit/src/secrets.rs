//! Random credentials and their stored form. Credentials are high-entropy random strings, so a
//! SHA-256 digest is a safe stored form (no salt or slow hash needed), and comparisons of digests
//! run in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `bytes` of OS randomness, base64url-encoded.
pub fn random_token(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    getrandom::fill(&mut buf).expect("the operating system's random source is unavailable");
    buf
}

/// A credential with a recognisable prefix (`ck_`, `cs_`, …), so a leaked one is easy to spot.
pub fn new_credential(prefix: &str) -> String {
    format!("{prefix}_{}", random_token(32))
}

/// The stored form of a credential: hex SHA-256.
pub fn digest(secret: &str) -> String {
    let hash = Sha256::digest(secret.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// Does `secret` match the stored `expected_digest`? Constant time in the digest.
pub fn verify(secret: &str, expected_digest: &str) -> bool {
    digest(secret).as_bytes().ct_eq(expected_digest.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_verify_against_their_digest_only() {
        let secret = new_credential("cs");
        assert!(secret.starts_with("cs_") && secret.len() > 40);
        let stored = digest(&secret);
        assert_ne!(stored, secret);
        assert!(verify(&secret, &stored));
        assert!(!verify("cs_wrong", &stored));
        assert_ne!(new_credential("cs"), secret);
    }
}
