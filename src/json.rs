//! A small, strict JSON reader for server responses: a value tree with numbers kept as text
//! (no floating point), a nesting limit so hostile bodies cannot exhaust the stack, and errors
//! that say where the text went wrong. Writing is `go_json`'s job.

use crate::prelude::*;

/// A parsed JSON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, as written (validated against the JSON grammar).
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object's members in document order (a repeated key: the last one wins).
    Object(Vec<(String, Value)>),
}

/// How deep arrays and objects may nest (serde_json's default limit).
pub const MAX_DEPTH: usize = 128;

impl Value {
    /// The member `key` of an object (`None` for absent, or when `self` is not an object).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// Parses one JSON document (surrounding whitespace allowed, nothing else).
///
/// # Errors
/// What is wrong and at which byte offset.
pub fn parse(text: &[u8]) -> Result<Value, String> {
    let mut p = Parser { text, pos: 0 };
    let value = p.value(0)?;
    p.skip_ws();
    if p.pos != text.len() {
        return Err(p.fail("unexpected text after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn fail(&self, what: &str) -> String {
        format!("{what} at byte {}", self.pos)
    }

    fn skip_ws(&mut self) {
        while matches!(self.text.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.peek() == Some(byte);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, String> {
        if self.text[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.fail("invalid literal"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        self.skip_ws();
        match self.peek() {
            None => Err(self.fail("unexpected end of input")),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[' | b'{') if depth >= MAX_DEPTH => Err(self.fail("nesting too deep")),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        self.skip_ws();
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.fail("expected , or ] in array"));
                        }
                    }
                }
                Ok(Value::Array(items))
            }
            Some(b'{') => {
                self.pos += 1;
                let mut members = Vec::new();
                self.skip_ws();
                if !self.eat(b'}') {
                    loop {
                        self.skip_ws();
                        if self.peek() != Some(b'"') {
                            return Err(self.fail("expected a string key in object"));
                        }
                        let key = self.string()?;
                        self.skip_ws();
                        if !self.eat(b':') {
                            return Err(self.fail("expected : in object"));
                        }
                        members.push((key, self.value(depth + 1)?));
                        self.skip_ws();
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.fail("expected , or } in object"));
                        }
                    }
                }
                Ok(Value::Object(members))
            }
            Some(_) => Err(self.fail("unexpected character")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<Value, String> {
        let start = self.pos;
        self.eat(b'-');
        if self.eat(b'0') {
            if matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.fail("leading zero in number"));
            }
        } else if self.digits() == 0 {
            return Err(self.fail("invalid number"));
        }
        if self.eat(b'.') && self.digits() == 0 {
            return Err(self.fail("invalid number"));
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return Err(self.fail("invalid number"));
            }
        }
        Ok(Value::Number(
            String::from_utf8_lossy(&self.text[start..self.pos]).into_owned(),
        ))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.fail("short \\u escape"))?;
        let mut n = 0;
        for d in digits {
            let v = (*d as char)
                .to_digit(16)
                .ok_or_else(|| self.fail("invalid \\u escape"))?;
            n = n * 16 + v;
        }
        self.pos += 4;
        Ok(n)
    }

    /// A string; invalid UTF-8 and lone surrogates become U+FFFD, as Go's decoder does.
    fn string(&mut self) -> Result<String, String> {
        self.pos += 1; // the opening quote
        let mut bytes = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(self.fail("unterminated string"));
            };
            self.pos += 1;
            match b {
                b'"' => return Ok(String::from_utf8_lossy(&bytes).into_owned()),
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.fail("unterminated escape"));
                    };
                    self.pos += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(self.fail("invalid escape")),
                    };
                    let mut buf = [0; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0..0x20 => return Err(self.fail("control character in string")),
                _ => bytes.push(b),
            }
        }
    }

    fn unicode_escape(&mut self) -> Result<char, String> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) && self.text[self.pos..].starts_with(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let second = self.hex4()?;
            if (0xDC00..0xE000).contains(&second) {
                let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{fffd}'));
            }
            self.pos = save;
        }
        Ok(char::from_u32(first).unwrap_or('\u{fffd}'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::String(text.into())
    }

    #[test]
    fn parses_every_kind_of_value() {
        let v = parse(br#" {"a": [1, -2.5e+3, 0, true, false, null], "b": {"c": "d"}, "e": {}} "#)
            .unwrap();
        assert_eq!(
            v.get("a"),
            Some(&Value::Array(vec![
                Value::Number("1".into()),
                Value::Number("-2.5e+3".into()),
                Value::Number("0".into()),
                Value::Bool(true),
                Value::Bool(false),
                Value::Null
            ]))
        );
        assert_eq!(v.get("b").and_then(|b| b.get("c")), Some(&s("d")));
        assert_eq!(v.get("e"), Some(&Value::Object(vec![])));
        assert_eq!(v.get("z"), None);
        assert_eq!(parse(b"[]").unwrap(), Value::Array(vec![]));
    }

    #[test]
    fn unescapes_strings_as_go_does() {
        assert_eq!(
            parse(br#""a\"b\\c\/d\b\f\n\r\t""#).unwrap(),
            s("a\"b\\c/d\u{8}\u{c}\n\r\t")
        );
        assert_eq!(parse(br#""\u003c\u00e9\u2028""#).unwrap(), s("<é\u{2028}"));
        assert_eq!(parse(br#""\ud83d\ude00""#).unwrap(), s("😀"));
        assert_eq!(parse(br#""\ud83d x""#).unwrap(), s("\u{fffd} x"));
        assert_eq!(parse(br#""\ude00""#).unwrap(), s("\u{fffd}"));
        assert_eq!(parse(b"\"caf\xc3\xa9 \xff\"").unwrap(), s("café \u{fffd}"));
    }

    #[test]
    fn the_last_of_repeated_keys_wins() {
        assert_eq!(
            parse(br#"{"k":1,"k":2}"#).unwrap().get("k"),
            Some(&Value::Number("2".into()))
        );
    }

    #[test]
    fn rejects_malformed_text_with_a_position() {
        let bad: &[&[u8]] = &[
            b"",
            b" ",
            b"{",
            b"[1,]",
            b"{\"a\"}",
            b"{\"a\":1,}",
            b"{a:1}",
            b"nul",
            b"tru",
            b"01",
            b"1.",
            b"-",
            b"1e",
            b"+1",
            b".5",
            b"\"abc",
            b"\"\\x\"",
            b"\"\\u12\"",
            b"\"a\nb\"",
            b"[1 2]",
            b"{} {}",
            b"<html>",
        ];
        for text in bad {
            let err = parse(text).unwrap_err();
            assert!(
                err.contains("at byte"),
                "{:?}: {err}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let deep = "[".repeat(1_000_000);
        assert!(
            parse(deep.as_bytes())
                .unwrap_err()
                .starts_with("nesting too deep")
        );
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let over = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse(over.as_bytes()).is_err());
    }
}
