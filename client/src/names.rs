//! Lease names for domains, and the DNS-1123 rules Kubernetes applies to names and namespaces.

use crate::prelude::*;

use sha2::{Digest, Sha256};

/// The prefix of every per-domain lock lease.
pub const DOMAIN_LEASE_PREFIX: &str = "cert-lock-";

/// `cert-lock-` and the lowercase hex of the first 8 bytes of SHA-256 of `domain`'s bytes,
/// exactly as given (no normalisation), as the Go original computes it.
pub fn lease_name_for_domain(domain: &str) -> String {
    let digest = Sha256::digest(domain.as_bytes());
    let mut name = String::with_capacity(DOMAIN_LEASE_PREFIX.len() + 16);
    name.push_str(DOMAIN_LEASE_PREFIX);
    for byte in &digest[..8] {
        name.push_str(&format!("{byte:02x}"));
    }
    name
}

/// Why a name is not a DNS-1123 subdomain or label (Kubernetes' own wording).
pub fn dns1123_subdomain_error(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("must not be empty".into());
    }
    if name.len() > 253 {
        return Some(format!(
            "must be no more than 253 characters (has {})",
            name.len()
        ));
    }
    if !name.split('.').all(is_label_shape) {
        return Some(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \
             '-' or '.', and must start and end with an alphanumeric character"
                .into(),
        );
    }
    None
}

/// Why a namespace is not a DNS-1123 label (Kubernetes' own wording).
pub fn dns1123_label_error(label: &str) -> Option<String> {
    if label.is_empty() {
        return Some("must not be empty".into());
    }
    if label.len() > 63 {
        return Some(format!(
            "must be no more than 63 characters (has {})",
            label.len()
        ));
    }
    if !is_label_shape(label) {
        return Some(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \
             '-', and must start and end with an alphanumeric character"
                .into(),
        );
    }
    None
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn is_label_shape(s: &str) -> bool {
    let bytes = s.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            alnum(first) && alnum(last) && bytes.iter().all(|b| alnum(b) || *b == b'-')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHA-256 computed independently of the `sha2` crate (FIPS 180-4), for the name tests.
    fn reference_sha256(message: &[u8]) -> [u8; 32] {
        const K: [u32; 64] = [
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
            0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
            0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
            0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
            0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
            0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
            0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
            0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
            0xc67178f2,
        ];
        let mut h: [u32; 8] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
            0x5be0cd19,
        ];
        let mut data = message.to_vec();
        data.push(0x80);
        while data.len() % 64 != 56 {
            data.push(0);
        }
        data.extend_from_slice(&((message.len() as u64) * 8).to_be_bytes());
        for block in data.chunks(64) {
            let mut w = [0u32; 64];
            for i in 0..16 {
                w[i] = u32::from_be_bytes(block[i * 4..i * 4 + 4].try_into().unwrap());
            }
            for i in 16..64 {
                let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
                let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16]
                    .wrapping_add(s0)
                    .wrapping_add(w[i - 7])
                    .wrapping_add(s1);
            }
            let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
            for i in 0..64 {
                let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
                let ch = (e & f) ^ (!e & g);
                let t1 = hh
                    .wrapping_add(s1)
                    .wrapping_add(ch)
                    .wrapping_add(K[i])
                    .wrapping_add(w[i]);
                let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
                let maj = (a & b) ^ (a & c) ^ (b & c);
                let t2 = s0.wrapping_add(maj);
                (hh, g, f, e, d, c, b, a) =
                    (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
            }
            for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
                *x = x.wrapping_add(y);
            }
        }
        let mut out = [0u8; 32];
        for (i, word) in h.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    #[test]
    fn reference_sha256_is_right() {
        // FIPS 180-2 appendix B.1 and the empty-message digest.
        let hex = |d: [u8; 32]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(reference_sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(reference_sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn example_com_matches_the_documented_name() {
        assert_eq!(
            lease_name_for_domain("example.com"),
            "cert-lock-a379a6f6eeafb9a5"
        );
    }

    #[test]
    fn names_match_an_independent_sha256() {
        for domain in [
            "example.com",
            "EXAMPLE.com",
            "example.com.",
            "*.example.org",
            "xn--bcher-kva.example",
            "bücher.example",
            "",
            "a",
        ] {
            let digest = reference_sha256(domain.as_bytes());
            let expected = format!(
                "cert-lock-{}",
                digest[..8]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            );
            assert_eq!(lease_name_for_domain(domain), expected, "{domain:?}");
        }
    }

    #[test]
    fn domains_are_not_normalised() {
        assert_ne!(
            lease_name_for_domain("Example.com"),
            lease_name_for_domain("example.com")
        );
        assert_ne!(
            lease_name_for_domain("example.com."),
            lease_name_for_domain("example.com")
        );
    }

    #[test]
    fn domain_lease_names_are_valid_labels() {
        for domain in ["example.com", "", "x".repeat(1000).as_str()] {
            let name = lease_name_for_domain(domain);
            assert_eq!(name.len(), 26);
            assert_eq!(dns1123_label_error(&name), None);
        }
    }

    #[test]
    fn subdomain_rules() {
        for good in [
            "a",
            "0",
            "a-b",
            "a.b",
            "cert-lock-a379a6f6eeafb9a5",
            &"a".repeat(253),
        ] {
            assert_eq!(dns1123_subdomain_error(good), None, "{good}");
        }
        for bad in [
            "",
            "../x",
            "a?b",
            "A",
            "-a",
            "a-",
            "a..b",
            ".a",
            "a.",
            "a/b",
            "a b",
            "a%2Fb",
            "ä",
            &"a".repeat(254),
        ] {
            assert!(dns1123_subdomain_error(bad).is_some(), "{bad}");
        }
        assert!(
            dns1123_subdomain_error(&"a".repeat(254))
                .unwrap()
                .contains("253")
        );
    }

    #[test]
    fn label_rules() {
        for good in ["default", "kube-system", "a", &"a".repeat(63)] {
            assert_eq!(dns1123_label_error(good), None, "{good}");
        }
        for bad in ["", "a.b", "Default", "-a", "a-", "a/b", &"a".repeat(64)] {
            assert!(dns1123_label_error(bad).is_some(), "{bad}");
        }
    }
}
