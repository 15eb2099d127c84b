//! Field readers for serde's `deserialize_with` that name their field in a decode error
//! (`invalid type: integer `7`, expected spec.holderIdentity to be a string at line 1 column
//! 61`), and the `omitempty` tests the writers use.
//!
//! Each reader hands serde_json a visitor that knows its field's path, so the path appears in
//! the "expected …" part of serde's own error, once, with serde_json's position.

use crate::prelude::*;

use core::fmt;
use core::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Error as _, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::{Deserialize, Deserializer};

use crate::go_json::quoted;
use crate::lease::{Entry, Lease};
use crate::micro_time::MicroTime;

/// A string (or `null`) at `path`, or at `path["key"]` inside a map.
#[derive(Clone, Copy)]
struct Text<'a> {
    path: &'a str,
    key: Option<&'a str>,
}

impl<'de> Visitor<'de> for Text<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.key {
            Some(key) => write!(f, "{}[{}] to be a string", self.path, quoted(key)),
            None => write!(f, "{} to be a string", self.path),
        }
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }
}

fn text<'de, D: Deserializer<'de>>(d: D, path: &str) -> Result<Option<String>, D::Error> {
    d.deserialize_option(Text { path, key: None })
}

/// An int32 (or `null`) at `path`, as Go decodes one: an integer literal in range.
struct Int32<'a>(&'a str);

impl<'de> Visitor<'de> for Int32<'_> {
    type Value = Option<i32>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} to be a 32-bit integer", self.0)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_i64(self)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        i32::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i32::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }
}

fn int32<'de, D: Deserializer<'de>>(d: D, path: &str) -> Result<Option<i32>, D::Error> {
    d.deserialize_option(Int32(path))
}

/// A time field: absent, `null` and `""` (Go's zero time) are all "not set".
fn time<'de, D: Deserializer<'de>>(d: D, path: &str) -> Result<Option<MicroTime>, D::Error> {
    match text(d, path)?.as_deref() {
        None | Some("") => Ok(None),
        Some(t) => MicroTime::parse(t)
            .map(Some)
            .map_err(|e| D::Error::custom(format_args!("{path}: {e}"))),
    }
}

/// A `map[string]string` (or `null`) at `path`, sorted by key; a `null` value reads as `""`,
/// as Go reads it.
struct StringMap<'a>(&'a str);

impl<'de> Visitor<'de> for StringMap<'_> {
    type Value = Vec<Entry>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} to be an object of strings", self.0)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries: Vec<Entry> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let seed = Text {
                path: self.0,
                key: Some(&key),
            };
            let value = map.next_value_seed(seed)?.unwrap_or_default();
            entries.push((key, value));
        }
        // A repeated key keeps its last value, as Go's decoder does: reversed, a stable sort
        // puts the last occurrence first, and dedup keeps the first.
        entries.reverse();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|later, first| later.0 == first.0);
        Ok(entries)
    }
}

/// A map value is read with a path-aware [`Text`].
impl<'de> serde::de::DeserializeSeed<'de> for Text<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

fn string_map<'de, D: Deserializer<'de>>(d: D, path: &str) -> Result<Vec<Entry>, D::Error> {
    d.deserialize_option(StringMap(path))
}

/// A LeaseList's `items` (or `null`).
struct Items;

impl<'de> Visitor<'de> for Items {
    type Value = Option<Vec<Lease>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("items to be an array of Leases")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Lease>()? {
            items.push(item);
        }
        Ok(Some(items))
    }
}

/// Reads a LeaseList's `items`.
pub fn items<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Lease>>, D::Error> {
    d.deserialize_option(Items)
}

/// One reader function per field, each naming the field's full path.
macro_rules! readers {
    ($($name:ident -> $ty:ty = $read:ident($path:literal);)*) => {$(
        #[doc = concat!("Reads `", $path, "`.")]
        pub fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
            $read(d, $path)
        }
    )*};
}

readers! {
    kind -> Option<String> = text("kind");
    name -> Option<String> = text("metadata.name");
    namespace -> Option<String> = text("metadata.namespace");
    uid -> Option<String> = text("metadata.uid");
    resource_version -> Option<String> = text("metadata.resourceVersion");
    creation_timestamp -> Option<MicroTime> = time("metadata.creationTimestamp");
    labels -> Vec<Entry> = string_map("metadata.labels");
    annotations -> Vec<Entry> = string_map("metadata.annotations");
    holder_identity -> Option<String> = text("spec.holderIdentity");
    lease_duration_seconds -> Option<i32> = int32("spec.leaseDurationSeconds");
    acquire_time -> Option<MicroTime> = time("spec.acquireTime");
    renew_time -> Option<MicroTime> = time("spec.renewTime");
    lease_transitions -> Option<i32> = int32("spec.leaseTransitions");
    strategy -> Option<String> = text("spec.strategy");
    preferred_holder -> Option<String> = text("spec.preferredHolder");
}

/// What a JSON object must hold, for the error when it is something else.
pub trait Expecting {
    /// E.g. `metadata to be an object`.
    const EXPECTING: &'static str;
}

/// `T` read only from a JSON object: serde_json would also build a struct from an array,
/// field by position, and a Lease is never sent that way.
pub struct ObjectOnly<T>(pub T);

impl<'de, T: Deserialize<'de> + Expecting> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Only<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Expecting> Visitor<'de> for Only<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(T::EXPECTING)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Only(PhantomData)).map(ObjectOnly)
    }
}

/// Go's `omitempty` on a string: absent or empty is not written.
pub fn omit_string<S: AsRef<str>>(value: &Option<S>) -> bool {
    value.as_ref().is_none_or(|v| v.as_ref().is_empty())
}
