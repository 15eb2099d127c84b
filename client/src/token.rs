//! The bearer token: read from its file on every request, trimmed, checked, never printed.

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

#[cfg(test)]
mod tests {
    use super::*;

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
