//! [`detect_format`]: which parser an `auto` report goes to, from its content type and its first bytes.

use crate::{Format, ReportError};
use serde::de::IgnoredAny;
use std::collections::HashMap;

/// The format of a report. A specific content type decides (`application/xml`, `text/xml`,
/// `application/junit+xml` → JUnit; `application/vnd.playwright+json` → Playwright;
/// `application/vnd.argus+json` → Argus); otherwise the content does: XML is JUnit, a JSON object with
/// `suites` is Playwright, one with `events` is an Argus batch.
pub fn detect_format(bytes: &[u8], content_type_hint: Option<&str>) -> Result<Format, ReportError> {
    if let Some(hint) = content_type_hint {
        let essence = hint.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/xml" | "text/xml" | "application/junit+xml" => return Ok(Format::Junit),
            "application/vnd.playwright+json" => return Ok(Format::PlaywrightJson),
            "application/vnd.argus+json" => return Ok(Format::ArgusJson),
            _ => {}
        }
    }
    let text = crate::junit::decode_text(bytes);
    let trimmed = text.trim_start();
    match trimmed.chars().next() {
        None => Err(ReportError::Empty),
        Some('<') => Ok(Format::Junit),
        Some('{') => {
            let keys: HashMap<String, IgnoredAny> =
                serde_json::from_str(trimmed).map_err(|error| ReportError::json(&error))?;
            if keys.contains_key("suites") {
                Ok(Format::PlaywrightJson)
            } else if keys.contains_key("events") {
                Ok(Format::ArgusJson)
            } else {
                Err(ReportError::UndetectedFormat(
                    "a json object with neither \"suites\" (playwright) nor \"events\" (argus)".to_owned(),
                ))
            }
        }
        Some(_) => Err(ReportError::UndetectedFormat("neither xml nor a json object".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides_without_a_specific_content_type() {
        assert_eq!(
            detect_format(b"\xEF\xBB\xBF  <?xml version=\"1.0\"?><testsuites/>", None),
            Ok(Format::Junit)
        );
        assert_eq!(
            detect_format(br#"{"config": {}, "suites": []}"#, Some("application/json")),
            Ok(Format::PlaywrightJson)
        );
        assert_eq!(detect_format(br#"{"events": []}"#, None), Ok(Format::ArgusJson));
        assert!(matches!(detect_format(br#"{"x": 1}"#, None), Err(ReportError::UndetectedFormat(_))));
        assert!(matches!(detect_format(b"\x00\x01garbage", None), Err(ReportError::UndetectedFormat(_))));
        assert_eq!(detect_format(b"  ", None), Err(ReportError::Empty));
    }

    #[test]
    fn a_specific_content_type_wins() {
        assert_eq!(detect_format(b"{}", Some("text/xml; charset=utf-8")), Ok(Format::Junit));
        assert_eq!(detect_format(b"<x/>", Some("application/vnd.argus+json")), Ok(Format::ArgusJson));
    }
}
