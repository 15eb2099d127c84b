//! JSON text as Go's `encoding/json` writes it, so that Go and wasm replicas send identical
//! Lease bodies: serde_json serialises, then the escapes Go adds and serde_json does not
//! (`<`, `>`, `&`, U+2028, U+2029) are applied.
//!
//! serde_json already escapes `"`, `\` and control characters exactly as Go 1.22+ does (`\b`,
//! `\f`, `\n`, `\r`, `\t`, else `\u00xx`). The extra escapes are applied to the whole text, which
//! is exact: outside strings serde_json writes only ASCII punctuation, digits and literals, so
//! these characters can only stand inside a string. (A custom `serde_json::ser::Formatter` would
//! do the same, but that module exists only with serde_json's `std` feature, and the component
//! is `no_std`.)

use crate::prelude::*;

use serde::Serialize;

/// `value` as JSON text, escaped as Go's `json.Marshal` escapes it.
///
/// # Errors
/// Whatever `value`'s `Serialize` refuses (e.g. a time outside the years 0000-9999).
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let text = serde_json::to_string(value)?;
    Ok(go_escape(&text).into_bytes())
}

/// JSON text with Go's HTML-safe and line-separator escapes added.
fn go_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// `s` as a JSON string literal: how error messages quote values (control characters escaped).
pub fn quoted(s: &str) -> String {
    to_vec(s)
        .ok()
        .and_then(|v| String::from_utf8(v).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go_string(s: &str) -> String {
        String::from_utf8(to_vec(s).unwrap()).unwrap()
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
    fn keys_and_nested_values_are_escaped_too() {
        let mut map = alloc::collections::BTreeMap::new();
        map.insert("a<b", vec![Some("&"), None]);
        assert_eq!(
            String::from_utf8(to_vec(&map).unwrap()).unwrap(),
            r#"{"a\u003cb":["\u0026",null]}"#
        );
    }
}
