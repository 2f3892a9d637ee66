//! Tolerant readers for descriptor fields written by other tools.
//!
//! Capture tools disagree on types more than on names: a `value` or `id` may arrive as a number, Similo-style
//! records carry neighbour text as a list of strings, and empty strings often stand for "absent". These
//! readers accept those shapes instead of rejecting the whole descriptor: strings as they are, numbers and
//! booleans as their text, lists of scalars joined by a space, and `null`, empty or blank strings and empty
//! lists as absent. Objects are still an error: nothing sensible can be read from them.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;

/// An optional text field: string, number, boolean or a list of them (joined by a space); absent when null,
/// empty or blank.
pub(super) fn optional_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    deserializer.deserialize_any(TextVisitor)
}

/// A map of attribute names to values, each value read like [`optional_text`]; entries without a value are
/// dropped.
pub(super) fn text_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    struct MapVisitor;

    impl<'de> Visitor<'de> for MapVisitor {
        type Value = BTreeMap<String, String>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("a map of attribute names to text")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((key, value)) = map.next_entry::<String, Scalar>()? {
                if let Some(value) = value.0 {
                    out.insert(key, value);
                }
            }
            Ok(out)
        }
    }

    deserializer.deserialize_any(MapVisitor)
}

/// One value read like [`optional_text`].
struct Scalar(Option<String>);

impl<'de> de::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor).map(Scalar)
    }
}

struct TextVisitor;

fn present(text: String) -> Option<String> {
    if text.trim().is_empty() { None } else { Some(text) }
}

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Option<String>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("text, a number, a boolean or a list of them")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(present(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(present(value))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut parts: Vec<String> = Vec::new();
        while let Some(Scalar(part)) = seq.next_element::<Scalar>()? {
            parts.extend(part);
        }
        Ok(present(parts.join(" ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Holder {
        #[serde(default, deserialize_with = "optional_text")]
        text: Option<String>,
        #[serde(default, deserialize_with = "text_map")]
        map: BTreeMap<String, String>,
    }

    fn text(json: &str) -> Option<String> {
        serde_json::from_str::<Holder>(&format!(r#"{{"text": {json}}}"#)).expect("reads").text
    }

    #[test]
    fn scalars_lists_and_blanks_read_as_text_or_absent() {
        assert_eq!(text(r#""Buy""#).as_deref(), Some("Buy"));
        assert_eq!(text("42").as_deref(), Some("42"));
        assert_eq!(text("1.5").as_deref(), Some("1.5"));
        assert_eq!(text("true").as_deref(), Some("true"));
        assert_eq!(text(r#"["Home", "Shop", 3]"#).as_deref(), Some("Home Shop 3"));
        assert_eq!(text("null"), None);
        assert_eq!(text(r#""   ""#), None);
        assert_eq!(text("[]"), None);
        assert!(serde_json::from_str::<Holder>(r#"{"text": {"nested": 1}}"#).is_err());
    }

    #[test]
    fn map_values_are_read_leniently_and_empty_ones_dropped() {
        let holder: Holder =
            serde_json::from_str(r#"{"map": {"data-qa": "pay", "tabindex": 0, "hidden": null, "x": ""}}"#)
                .expect("reads");
        assert_eq!(holder.map.get("data-qa").map(String::as_str), Some("pay"));
        assert_eq!(holder.map.get("tabindex").map(String::as_str), Some("0"));
        assert_eq!(holder.map.len(), 2);
    }
}
