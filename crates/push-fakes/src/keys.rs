//! Fresh keys for the fakes, written as the providers hand them out.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A P-256 key: its PKCS#8 PEM (an APNs `.p8`, a VAPID key) and its uncompressed public point.
pub struct EcKey {
    pub pem: String,
    pub public_point: Vec<u8>,
}

pub fn ec_key() -> EcKey {
    let document =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).expect("a P-256 key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, document.as_ref()).expect("its own key");
    EcKey { pem: pem("PRIVATE KEY", document.as_ref()), public_point: pair.public_key().as_ref().to_vec() }
}

/// An RSA key: its PKCS#8 PEM (a service account's `private_key`) and its public key (PKCS#1
/// DER).
pub struct RsaKey {
    pub pem: String,
    pub public_der: Vec<u8>,
}

pub fn rsa_key() -> RsaKey {
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("an RSA key");
    let private = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).expect("PKCS#8");
    RsaKey { pem: pem("PRIVATE KEY", private.as_ref()), public_der: pair.public_key().as_ref().to_vec() }
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|line| std::str::from_utf8(line).unwrap_or_default()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}
