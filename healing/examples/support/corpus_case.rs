//! Reading corpus cases (shared by the corpus examples; not an example itself).

use argus_healing::{CandidatePage, PageLimits, Reference};
use argus_vocabulary::ElementDescriptor;
use serde_json::Value;

/// One case of the corpus, read.
#[allow(dead_code)]
pub struct Case {
    pub id: String,
    pub reference: Reference,
    pub page: CandidatePage,
    pub expected: Option<usize>,
    pub tags: Vec<String>,
}

pub fn read_case(line: &str) -> Option<Case> {
    let value: Value = serde_json::from_str(line).ok()?;
    let reference = match (value.get("old"), value.get("locator")) {
        (Some(old), _) if !old.is_null() => Reference::Observed(serde_json::from_value(old.clone()).ok()?),
        (_, Some(Value::String(locator))) => Reference::LocatorOnly(locator.clone()),
        _ => return None,
    };
    let (page, form) = match (value.get("candidates"), value.get("html")) {
        (Some(Value::Array(candidates)), _) => {
            let descriptors = candidates
                .iter()
                .map(|c| {
                    let visible = c.get("visible").and_then(Value::as_bool).unwrap_or(true);
                    serde_json::from_value::<ElementDescriptor>(c.clone()).ok().map(|d| (d, visible))
                })
                .collect::<Option<Vec<_>>>()?;
            let sparse = candidates.first().is_some_and(|c| c.get("xpath").is_none());
            (
                CandidatePage::from_descriptors_with_visibility(descriptors),
                if sparse { "candidates-sparse" } else { "candidates" },
            )
        }
        (_, Some(Value::String(html))) => (CandidatePage::parse(html, &PageLimits::default()).ok()?, "html"),
        _ => return None,
    };
    let form = value.get("detail").and_then(Value::as_str).unwrap_or(form);
    let expected = value.get("expected").and_then(Value::as_u64).map(|n| n as usize);
    let mut tags = vec![
        format!("form:{form}"),
        format!(
            "reference:{}",
            if matches!(reference, Reference::Observed(_)) { "observed" } else { "locator" }
        ),
        format!("style:{}", value.get("style").and_then(Value::as_str).unwrap_or("?")),
        format!("expected:{}", if expected.is_some() { "element" } else { "abstain" }),
    ];
    if let Some(Value::Array(mutations)) = value.get("mutations") {
        tags.extend(mutations.iter().filter_map(Value::as_str).map(|m| format!("mutation:{m}")));
    }
    let id = value.get("id").and_then(Value::as_str).unwrap_or("?").to_owned();
    Some(Case { id, reference, page, expected, tags })
}
