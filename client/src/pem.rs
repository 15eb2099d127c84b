//! Recognising a PEM certificate bundle (the cluster CA) without a crypto library: at least
//! one `CERTIFICATE` block whose base64 decodes to a DER SEQUENCE.

use crate::prelude::*;

/// Whether `bytes` holds at least one well-formed PEM `CERTIFICATE` block.
pub fn has_certificate(bytes: &[u8]) -> bool {
    let Ok(text) = core::str::from_utf8(bytes) else {
        return false;
    };
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let Some(end) = after.find(END) else {
            return false;
        };
        if decode_base64(&after[..end]).is_some_and(|der| der.len() > 2 && der[0] == 0x30) {
            return true;
        }
        rest = &after[end + END.len()..];
    }
    false
}

/// Standard base64 with padding, whitespace ignored; `None` on any other character.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits, mut padding) = (0u32, 0u32, 0usize);
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            _ => return None,
        };
        if padding > 0 {
            return None;
        }
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    (padding <= 2).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate-shaped PEM block (DER SEQUENCE header, truncated body): the check
    /// looks at framing only; the host's TLS stack parses the certificate for real.
    const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBYjCCAQigAwIBAgIUNvjA3L+7wZ4zN7mTqXm0a3TxjS4wCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRa3ViZS1sZWFzZSB0ZXN0IENBMCAXDTc1MDEwMTAwMDAwMFoY
DzQwOTYwMTAxMDAwMDAwWjAcMRowGAYDVQQDDBFrdWJlLWxlYXNlIHRlc3QgQ0Ew
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQ1Lq8v0u3X2cG1y8Bv3gU2xwXH3Z8y
-----END CERTIFICATE-----
";

    #[test]
    fn accepts_certificate_blocks() {
        assert!(has_certificate(CA.as_bytes()));
        let bundle = format!(
            "# cluster CA\n-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n{CA}"
        );
        assert!(has_certificate(bundle.as_bytes()));
    }

    #[test]
    fn rejects_what_is_not_a_certificate() {
        let key_only = CA.replace("CERTIFICATE", "PRIVATE KEY");
        let not_der = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
        let bad_base64 = "-----BEGIN CERTIFICATE-----\nMIIB$$$\n-----END CERTIFICATE-----\n";
        let unterminated = "-----BEGIN CERTIFICATE-----\nMIIBYjCCAQig\n";
        for bad in [
            "",
            "garbage",
            key_only.as_str(),
            not_der,
            bad_base64,
            unterminated,
        ] {
            assert!(!has_certificate(bad.as_bytes()), "{bad}");
        }
        assert!(!has_certificate(b"\xff\xfe"));
    }

    #[test]
    fn base64_decodes_standard_text() {
        assert_eq!(decode_base64("aGVsbG8gd29ybGQ=").unwrap(), b"hello world");
        assert_eq!(decode_base64("aGk=\n").unwrap(), b"hi");
        assert_eq!(decode_base64("a=b"), None);
        assert_eq!(decode_base64("a-b"), None);
    }
}
