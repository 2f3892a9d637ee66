//! The element descriptor: what Argus knows about one DOM element. A locator observation stores the
//! descriptor of the element a working locator matched; a heal compares it with the candidates of the
//! changed page.
//!
//! Field names follow HTML where the field is an HTML attribute (`aria-label`, `data-testid`) and
//! snake_case where it is derived (`text`, `id_xpath`). Deserialisation is tolerant: every field but `tag`
//! is optional, common aliases are accepted and unknown fields are ignored, and text fields also take
//! numbers, booleans and lists of strings (empty strings read as absent; see `lenient`), so descriptors
//! written by other tools load as they are.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod lenient;

/// Position and size of an element in CSS pixels, when the capturing tool knew them.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct BoundingBox {
    /// Left edge.
    #[serde(alias = "left")]
    pub x: f64,
    /// Top edge.
    #[serde(alias = "top")]
    pub y: f64,
    /// Width.
    #[serde(alias = "w")]
    pub width: f64,
    /// Height.
    #[serde(alias = "h")]
    pub height: f64,
}

/// One DOM element, described by its attributes, text, position in the tree and surroundings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ElementDescriptor {
    /// Lowercase tag name (`button`, `input`, …). The only required field.
    #[serde(alias = "tag_name", alias = "tagName")]
    pub tag: String,
    /// The `id` attribute.
    #[serde(default, deserialize_with = "lenient::optional_text", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The `name` attribute.
    #[serde(default, deserialize_with = "lenient::optional_text", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The `class` attribute as written (space-separated tokens).
    #[serde(
        default,
        deserialize_with = "lenient::optional_text",
        skip_serializing_if = "Option::is_none",
        alias = "class_name",
        alias = "className"
    )]
    pub class: Option<String>,
    /// The `type` attribute.
    #[serde(
        default,
        deserialize_with = "lenient::optional_text",
        rename = "type",
        skip_serializing_if = "Option::is_none"
    )]
    pub r#type: Option<String>,
    /// The `href` attribute.
    #[serde(default, deserialize_with = "lenient::optional_text", skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// The `src` attribute.
    #[serde(default, deserialize_with = "lenient::optional_text", skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    /// The `alt` attribute.
    #[serde(default, deserialize_with = "lenient::optional_text", skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
    /// The `title` attribute.
    #[serde(default, deserialize_with = "lenient::optional_text", skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The `placeholder` attribute.
    #[serde(default, deserialize_with = "lenient::optional_text", skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// The `aria-label` attribute.
    #[serde(
        default,
        deserialize_with = "lenient::optional_text",
        rename = "aria-label",
        alias = "aria_label",
        alias = "ariaLabel",
        skip_serializing_if = "Option::is_none"
    )]
    pub aria_label: Option<String>,
    /// The `role` attribute (explicit role only; implicit roles are derived by the healing engine).
    #[serde(default, deserialize_with = "lenient::optional_text", skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The `data-testid` attribute (also read from `data-test-id`, `testid` and `data_testid`).
    #[serde(
        default,
        deserialize_with = "lenient::optional_text",
        rename = "data-testid",
        alias = "data_testid",
        alias = "data-test-id",
        alias = "testid",
        alias = "testId",
        skip_serializing_if = "Option::is_none"
    )]
    pub data_testid: Option<String>,
    /// Every other `data-*` attribute, keyed by its full attribute name (`data-qa`).
    #[serde(default, deserialize_with = "lenient::text_map", skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// The `value` attribute (form controls).
    #[serde(default, deserialize_with = "lenient::optional_text", skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Visible text, whitespace-collapsed.
    #[serde(
        default,
        deserialize_with = "lenient::optional_text",
        alias = "visible_text",
        alias = "innerText",
        alias = "inner_text",
        alias = "visibleText",
        skip_serializing_if = "Option::is_none"
    )]
    pub text: Option<String>,
    /// Absolute indexed XPath (`/html[1]/body[1]/div[2]/button[1]`).
    #[serde(default, deserialize_with = "lenient::optional_text", skip_serializing_if = "Option::is_none")]
    pub xpath: Option<String>,
    /// XPath relative to the nearest ancestor with an id (`//*[@id="cart"]/div[1]/button[1]`).
    #[serde(
        default,
        deserialize_with = "lenient::optional_text",
        alias = "idxpath",
        alias = "id_relative_xpath",
        alias = "idXpath",
        skip_serializing_if = "Option::is_none"
    )]
    pub id_xpath: Option<String>,
    /// Position and size, when known.
    #[serde(default, alias = "bbox", alias = "rect", skip_serializing_if = "Option::is_none")]
    pub bounding_box: Option<BoundingBox>,
    /// The nearest visible text around the element (labels, headings, sibling text).
    #[serde(
        default,
        deserialize_with = "lenient::optional_text",
        alias = "neighbor_text",
        alias = "neighborText",
        alias = "neighbourText",
        alias = "neighbor_texts",
        alias = "neighbour_texts",
        alias = "neighborTexts",
        skip_serializing_if = "Option::is_none"
    )]
    pub neighbour_text: Option<String>,
    /// Any other attributes, by name.
    #[serde(default, deserialize_with = "lenient::text_map", skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl ElementDescriptor {
    /// A descriptor with only a tag.
    pub fn with_tag(tag: impl Into<String>) -> Self {
        Self { tag: tag.into(), ..Self::default() }
    }

    /// The class tokens, in order, without empties.
    pub fn classes(&self) -> impl Iterator<Item = &str> {
        self.class.as_deref().unwrap_or_default().split_ascii_whitespace()
    }

    /// An attribute by its HTML name, looking in the named fields first, then `data`, then `attributes`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        let named = match name {
            "id" => self.id.as_deref(),
            "name" => self.name.as_deref(),
            "class" => self.class.as_deref(),
            "type" => self.r#type.as_deref(),
            "href" => self.href.as_deref(),
            "src" => self.src.as_deref(),
            "alt" => self.alt.as_deref(),
            "title" => self.title.as_deref(),
            "placeholder" => self.placeholder.as_deref(),
            "aria-label" => self.aria_label.as_deref(),
            "role" => self.role.as_deref(),
            "data-testid" => self.data_testid.as_deref(),
            "value" => self.value.as_deref(),
            _ => None,
        };
        named
            .or_else(|| self.data.get(name).map(String::as_str))
            .or_else(|| self.attributes.get(name).map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_descriptor_needs_only_a_tag() {
        let d: ElementDescriptor = serde_json::from_str(r#"{"tag":"button"}"#).expect("tag only");
        assert_eq!(d, ElementDescriptor::with_tag("button"));
        assert!(serde_json::from_str::<ElementDescriptor>(r#"{"id":"x"}"#).is_err());
    }

    #[test]
    fn aliases_and_unknown_fields_are_accepted() {
        let d: ElementDescriptor = serde_json::from_str(
            r#"{"tag":"a","aria_label":"Cart","visible_text":"Cart (2)","idxpath":"//*[@id='nav']/a[1]",
                "neighbor_text":"Shop","is_button":false,"bbox":{"x":1,"y":2,"width":3,"height":4}}"#,
        )
        .expect("aliases");
        assert_eq!(d.aria_label.as_deref(), Some("Cart"));
        assert_eq!(d.text.as_deref(), Some("Cart (2)"));
        assert_eq!(d.id_xpath.as_deref(), Some("//*[@id='nav']/a[1]"));
        assert_eq!(d.neighbour_text.as_deref(), Some("Shop"));
        assert_eq!(d.bounding_box.map(|b| b.width), Some(3.0));
    }

    #[test]
    fn descriptors_from_other_tools_load_despite_their_value_types() {
        let d: ElementDescriptor = serde_json::from_str(
            r#"{"tagName":"INPUT","id":"","value":5,"name":null,"neighbor_texts":["Email","Password"],
                "attributes":{"tabindex":0,"required":true,"empty":""},"rect":{"left":4,"top":8,"w":10,"h":2}}"#,
        )
        .expect("lenient descriptor");
        assert_eq!(d.tag, "INPUT");
        assert_eq!(d.id, None, "an empty id is no id");
        assert_eq!(d.value.as_deref(), Some("5"));
        assert_eq!(d.name, None);
        assert_eq!(d.neighbour_text.as_deref(), Some("Email Password"));
        assert_eq!(d.attributes.get("tabindex").map(String::as_str), Some("0"));
        assert_eq!(d.attributes.get("required").map(String::as_str), Some("true"));
        assert!(!d.attributes.contains_key("empty"));
        assert_eq!(d.bounding_box, Some(BoundingBox { x: 4.0, y: 8.0, width: 10.0, height: 2.0 }));
        assert!(serde_json::from_str::<ElementDescriptor>(r#"{"tag":"a","text":{"nested":1}}"#).is_err());
    }

    #[test]
    fn serialises_with_html_attribute_names() {
        let d = ElementDescriptor {
            aria_label: Some("Pay".into()),
            data_testid: Some("pay".into()),
            r#type: Some("submit".into()),
            ..ElementDescriptor::with_tag("button")
        };
        let json = serde_json::to_value(&d).expect("serialise");
        assert_eq!(json["aria-label"], "Pay");
        assert_eq!(json["data-testid"], "pay");
        assert_eq!(json["type"], "submit");
        assert!(json.get("id").is_none());
    }

    #[test]
    fn attribute_lookup_covers_named_data_and_other() {
        let mut d = ElementDescriptor { id: Some("buy".into()), ..ElementDescriptor::with_tag("button") };
        d.data.insert("data-qa".into(), "buy-now".into());
        d.attributes.insert("form".into(), "checkout".into());
        assert_eq!(d.attribute("id"), Some("buy"));
        assert_eq!(d.attribute("data-qa"), Some("buy-now"));
        assert_eq!(d.attribute("form"), Some("checkout"));
        assert_eq!(d.attribute("href"), None);
        d.class = Some("  btn  btn-primary ".into());
        assert_eq!(d.classes().collect::<Vec<_>>(), ["btn", "btn-primary"]);
    }
}
