//! API tokens: a random secret shown once; only its SHA-256 is stored.
//! The secret has 256 bits of entropy, so a fast hash is safe here (no
//! password-style stretching is needed).

use sha2::{Digest, Sha256};

/// Tokens start with this, so a leaked one is easy to recognise in a scan.
pub const TOKEN_PREFIX: &str = "molt_";

/// A freshly created token: `secret` goes to the user once, the rest to the store.
pub struct IssuedToken {
    pub secret: String,
    pub prefix: String,
    pub sha256: String,
}

pub fn issue_token() -> IssuedToken {
    let secret = format!("{TOKEN_PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()));
    IssuedToken { prefix: secret[..TOKEN_PREFIX.len() + 6].to_string(), sha256: hash_token(&secret), secret }
}

pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hashed() {
        let a = issue_token();
        let b = issue_token();
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.secret.len(), TOKEN_PREFIX.len() + 64);
        assert!(a.secret.starts_with(&a.prefix));
        assert_eq!(hash_token(&a.secret), a.sha256);
        assert!(!a.sha256.contains(&a.secret[TOKEN_PREFIX.len()..]));
    }
}
