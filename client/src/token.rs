//! The bearer token: read from its file, trimmed, checked, never printed; kept for at most a
//! minute (as client-go's cached file token source does), and read again at once after a 401.

use crate::prelude::*;

use core::fmt;

use crate::error::Error;

/// A bearer token. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// The token held in a file's bytes: surrounding whitespace trimmed (kubelet writes no
    /// newline, humans do), and it must be non-empty visible ASCII to fit an HTTP header.
    ///
    /// # Errors
    /// `Config` naming `path` (never the contents) when the file is empty or holds anything else.
    pub fn from_file_contents(path: &str, bytes: &[u8]) -> Result<Self, Error> {
        let text = core::str::from_utf8(bytes)
            .map_err(|_| Error::Config(format!("token file {path} is not text")))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(Error::Config(format!("token file {path} is empty")));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Config(format!(
                "token file {path} holds characters a bearer token cannot contain"
            )));
        }
        Ok(Self(token.to_owned()))
    }

    /// The `Authorization` header value.
    pub fn header_value(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// The raw token, for scrubbing it out of anything a server echoes back.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

/// How long a token read from its file is used before the file is read again: client-go's
/// period. Bound service-account tokens are refreshed by the kubelet well before they expire
/// (at 80 % of their life, an hour or more), so a minute-old copy is still valid.
pub const TOKEN_MAX_AGE_NS: u64 = 60 * 1_000_000_000;

/// A token as last read from its file, and when (monotonic nanoseconds).
#[derive(Clone, Debug)]
pub struct CachedToken {
    /// The token read.
    pub token: Token,
    /// When it was read.
    pub read_at_ns: u64,
}

impl CachedToken {
    /// Whether it may still be used at `now_ns` instead of reading the file again.
    pub fn usable_at(&self, now_ns: u64) -> bool {
        now_ns >= self.read_at_ns && now_ns - self.read_at_ns < TOKEN_MAX_AGE_NS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_token_is_used_for_under_a_minute_and_never_from_the_future() {
        let cached = CachedToken {
            token: Token::from_file_contents(PATH, b"t").unwrap(),
            read_at_ns: 5_000,
        };
        assert!(cached.usable_at(5_000));
        assert!(cached.usable_at(5_000 + TOKEN_MAX_AGE_NS - 1));
        assert!(!cached.usable_at(5_000 + TOKEN_MAX_AGE_NS));
        assert!(
            !cached.usable_at(4_999),
            "a clock that went back reads the file"
        );
    }

    const PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

    #[test]
    fn trims_surrounding_whitespace() {
        for raw in [
            "abc.def-ghi_1",
            "abc.def-ghi_1\n",
            "  abc.def-ghi_1\r\n\t",
            "\u{a0}abc.def-ghi_1 ",
        ] {
            let t = Token::from_file_contents(PATH, raw.as_bytes()).unwrap();
            assert_eq!(t.header_value(), "Bearer abc.def-ghi_1", "{raw:?}");
        }
    }

    #[test]
    fn empty_and_garbage_files_are_config_errors_naming_the_file_not_the_token() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "is empty"),
            (b" \n\t ", "is empty"),
            (b"hun ter2", "cannot contain"),
            (b"hunter2\nsecond-line", "cannot contain"),
            (b"hunter2\x00", "cannot contain"),
            ("hünter2".as_bytes(), "cannot contain"),
            (b"\xff\xfehunter2", "not text"),
        ];
        for (raw, want) in cases {
            let err = Token::from_file_contents(PATH, raw).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, Error::Config(_)), "{text}");
            assert!(text.contains(PATH) && text.contains(want), "{text}");
            assert!(
                !text.contains("hunter2") && !text.contains("hun ter2"),
                "{text}"
            );
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let t = Token::from_file_contents(PATH, b"hunter2").unwrap();
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert_eq!(format!("{:?}", Some(&t)), "Some(Token(<redacted>))");
        assert_eq!(t.secret(), "hunter2");
    }
}
