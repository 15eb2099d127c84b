//! Go flavour for JSON: encoding the way Go's `json.Encoder` does (HTML-safe escapes, a trailing
//! newline), the syntax errors Go's `encoding/json` reports, and Go's `%q` quoting.

use serde_json::Value;

/// Serializes `v` like Go's `json.NewEncoder(w).Encode(v)`, without the trailing newline
/// (serde_json plus Go's HTML-safe escapes, as the component writes its own bodies).
pub(crate) fn to_string(v: &Value) -> String {
    kube_lease_client::go_json::to_vec(v)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_default()
}

/// A response body: [`to_string`] plus the newline Go's encoder appends.
pub(crate) fn to_body(v: &Value) -> Vec<u8> {
    let mut s = to_string(v);
    s.push('\n');
    s.into_bytes()
}

/// Go's `strconv.Quote` (close enough: printable Unicode is kept, controls are escaped).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The word Go's `UnmarshalTypeError` uses for a JSON value ("string", "number", ...).
pub(crate) fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks `data` the way Go's `encoding/json` scanner does, returning its error text.
pub(crate) fn check_syntax(data: &[u8]) -> Result<(), String> {
    Scanner { data, pos: 0 }.document()
}

/// Go's `quoteChar`: how the scanner shows an offending byte.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_owned(),
        b'"' => "'\"'".to_owned(),
        c if c.is_ascii() => {
            let q = quote(&(c as char).to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
        c => format!("'\\x{c:02x}'"),
    }
}

/// A recursive-descent validator producing Go's scanner messages.
struct Scanner<'a> {
    data: &'a [u8],
    pos: usize,
}

/// Where an unexpected byte was met (Go's scanner step names).
const BEGIN_VALUE: &str = "looking for beginning of value";

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn err(&self, c: u8, context: &str) -> String {
        format!("invalid character {} {context}", quote_char(c))
    }

    fn eof() -> String {
        "unexpected end of JSON input".to_owned()
    }

    fn next_or_eof(&mut self) -> Result<u8, String> {
        let c = self.peek().ok_or_else(Self::eof)?;
        Ok(c)
    }

    fn document(&mut self) -> Result<(), String> {
        self.skip_ws();
        self.value()?;
        self.skip_ws();
        match self.peek() {
            None => Ok(()),
            Some(c) => Err(self.err(c, "after top-level value")),
        }
    }

    fn value(&mut self) -> Result<(), String> {
        let c = self.next_or_eof()?;
        match c {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string(),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            c => Err(self.err(c, BEGIN_VALUE)),
        }
    }

    fn object(&mut self) -> Result<(), String> {
        self.pos += 1;
        self.skip_ws();
        let c = self.next_or_eof()?;
        if c == b'}' {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            let c = self.next_or_eof()?;
            if c != b'"' {
                return Err(self.err(c, "looking for beginning of object key string"));
            }
            self.string()?;
            self.skip_ws();
            let c = self.next_or_eof()?;
            if c != b':' {
                return Err(self.err(c, "after object key"));
            }
            self.pos += 1;
            self.skip_ws();
            self.value()?;
            self.skip_ws();
            let c = self.next_or_eof()?;
            match c {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Ok(());
                }
                c => return Err(self.err(c, "after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> Result<(), String> {
        self.pos += 1;
        self.skip_ws();
        let c = self.next_or_eof()?;
        if c == b']' {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            self.value()?;
            self.skip_ws();
            let c = self.next_or_eof()?;
            match c {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Ok(());
                }
                c => return Err(self.err(c, "after array element")),
            }
        }
    }

    fn string(&mut self) -> Result<(), String> {
        self.pos += 1;
        loop {
            let c = self.next_or_eof()?;
            self.pos += 1;
            match c {
                b'"' => return Ok(()),
                b'\\' => {
                    let e = self.next_or_eof()?;
                    self.pos += 1;
                    match e {
                        b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => {}
                        b'u' => {
                            for _ in 0..4 {
                                let h = self.next_or_eof()?;
                                if !h.is_ascii_hexdigit() {
                                    return Err(self.err(h, "in \\u hexadecimal character escape"));
                                }
                                self.pos += 1;
                            }
                        }
                        e => return Err(self.err(e, "in string escape code")),
                    }
                }
                c if c < 0x20 => return Err(self.err(c, "in string literal")),
                _ => {}
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<(), String> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
            let c = self.next_or_eof()?;
            if !c.is_ascii_digit() {
                return Err(self.err(c, "in numeric literal"));
            }
        }
        if self.peek() == Some(b'0') {
            self.pos += 1;
        } else {
            self.digits();
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let c = self.next_or_eof()?;
            if !c.is_ascii_digit() {
                return Err(self.err(c, "after decimal point in numeric literal"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            let c = self.next_or_eof()?;
            if !c.is_ascii_digit() {
                return Err(self.err(c, "in exponent of numeric literal"));
            }
            self.digits();
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), String> {
        let name = std::str::from_utf8(word).unwrap_or_default();
        self.pos += 1;
        for &expected in &word[1..] {
            let c = self.next_or_eof()?;
            if c != expected {
                let context = format!("in literal {name} (expecting {})", quote_char(expected));
                return Err(self.err(c, &context));
            }
            self.pos += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn syntax_errors_read_like_go() {
        assert_eq!(
            check_syntax(b"{").unwrap_err(),
            "unexpected end of JSON input"
        );
        assert_eq!(
            check_syntax(b"{x").unwrap_err(),
            "invalid character 'x' looking for beginning of object key string"
        );
        assert_eq!(
            check_syntax(b"not json").unwrap_err(),
            "invalid character 'o' in literal null (expecting 'u')"
        );
        assert_eq!(
            check_syntax(b"hello").unwrap_err(),
            "invalid character 'h' looking for beginning of value"
        );
        assert_eq!(
            check_syntax(b"{\"a\":1,}").unwrap_err(),
            "invalid character '}' looking for beginning of object key string"
        );
        assert_eq!(
            check_syntax(b"{\"a\" 1}").unwrap_err(),
            "invalid character '1' after object key"
        );
        assert_eq!(
            check_syntax(b"{} x").unwrap_err(),
            "invalid character 'x' after top-level value"
        );
        assert!(check_syntax(b" {\"a\":[1,-2.5e3,true,null,\"\\u00e9\"]} ").is_ok());
    }

    #[test]
    fn encodes_html_safe_with_newline() {
        let v = serde_json::json!({"a": "<&>"});
        assert_eq!(to_body(&v), b"{\"a\":\"\\u003c\\u0026\\u003e\"}\n");
    }
}
