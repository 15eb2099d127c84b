//! A JSON writer that produces the bytes Go's `encoding/json` produces, so that Go and wasm
//! replicas write identical Lease bodies (field order is the caller's; strings escaped as Go does).

use crate::prelude::*;

/// Appends JSON text to a string, Go-style.
#[derive(Debug, Default)]
pub struct GoJson {
    out: String,
    /// Whether the next value in the current object needs a comma before it.
    needs_comma: Vec<bool>,
}

impl GoJson {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.out
    }

    /// Opens an object, as a value or after a key.
    pub fn begin_object(&mut self) -> &mut Self {
        self.out.push('{');
        self.needs_comma.push(false);
        self
    }

    /// Closes the innermost object.
    pub fn end_object(&mut self) -> &mut Self {
        self.out.push('}');
        self.needs_comma.pop();
        self
    }

    /// Writes `"key":` inside the current object.
    pub fn key(&mut self, key: &str) -> &mut Self {
        if let Some(needs) = self.needs_comma.last_mut() {
            if *needs {
                self.out.push(',');
            }
            *needs = true;
        }
        self.string(key);
        self.out.push(':');
        self
    }

    /// Writes a string value with Go's escaping (HTML-safe, `\u2028`/`\u2029` escaped).
    pub fn string(&mut self, s: &str) -> &mut Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\u{8}' => self.out.push_str("\\b"),
                '\u{c}' => self.out.push_str("\\f"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                '\u{2028}' => self.out.push_str("\\u2028"),
                '\u{2029}' => self.out.push_str("\\u2029"),
                c if (c as u32) < 0x20 || c == '<' || c == '>' || c == '&' => {
                    let b = c as u8;
                    self.out.push_str("\\u00");
                    self.out.push(HEX[usize::from(b >> 4)] as char);
                    self.out.push(HEX[usize::from(b & 0xf)] as char);
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
        self
    }

    /// Writes a string, or `null` for `None`.
    pub fn string_or_null(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.string(s),
            None => self.null(),
        }
    }

    /// Writes an integer.
    pub fn int(&mut self, n: i64) -> &mut Self {
        self.out.push_str(&n.to_string());
        self
    }

    /// Writes `null`.
    pub fn null(&mut self) -> &mut Self {
        self.out.push_str("null");
        self
    }
}

/// `s` as a JSON string literal: how error messages quote values (control characters escaped).
pub fn quoted(s: &str) -> String {
    let mut w = GoJson::new();
    w.string(s);
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go_string(s: &str) -> String {
        let mut w = GoJson::new();
        w.string(s);
        w.finish()
    }

    #[test]
    fn escapes_like_go_encoding_json() {
        // Expected values are what Go 1.22+ `json.Marshal(s)` prints (checked with go1.19.8,
        // which differs only in writing \b and \f as \u0008 and \u000c).
        assert_eq!(go_string("plain"), r#""plain""#);
        assert_eq!(go_string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_string("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(go_string("\u{0}\u{1f}"), r#""\u0000\u001f""#);
        assert_eq!(go_string("<a&b>"), r#""\u003ca\u0026b\u003e""#);
        assert_eq!(go_string("x\u{2028}y\u{2029}"), r#""x\u2028y\u2029""#);
        assert_eq!(go_string("ünïcødé ✓ \u{7f} /"), "\"ünïcødé ✓ \u{7f} /\"");
    }

    #[test]
    fn quoted_escapes_control_characters() {
        assert_eq!(quoted("a\nb\"c"), r#""a\nb\"c""#);
    }

    #[test]
    fn objects_get_commas_between_members_only() {
        let mut w = GoJson::new();
        w.begin_object();
        w.key("a").int(-1);
        w.key("b").begin_object().end_object();
        w.key("c").begin_object();
        w.key("d").null();
        w.end_object();
        w.key("e").string_or_null(None);
        w.end_object();
        assert_eq!(w.finish(), r#"{"a":-1,"b":{},"c":{"d":null},"e":null}"#);
    }
}
