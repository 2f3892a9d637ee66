//! ARIA roles and accessible names, simplified from the HTML-AAM and accname specifications to what
//! locators (`getByRole('button', { name: 'Pay' })`) need.

use argus_vocabulary::ElementDescriptor;

/// The effective role: the first token of an explicit `role`, else the implicit role of the tag.
pub(crate) fn role_of(descriptor: &ElementDescriptor) -> Option<&str> {
    if let Some(explicit) = descriptor.role.as_deref().and_then(|r| r.split_ascii_whitespace().next()) {
        return Some(explicit);
    }
    implicit_role(descriptor)
}

fn implicit_role(descriptor: &ElementDescriptor) -> Option<&'static str> {
    let tag = descriptor.tag.as_str();
    let input_type = descriptor.r#type.as_deref().map(str::trim).unwrap_or("text").to_ascii_lowercase();
    Some(match tag {
        "button" => "button",
        "a" | "area" if descriptor.href.is_some() => "link",
        "input" => {
            match input_type.as_str() {
                "button" | "submit" | "reset" | "image" => "button",
                "checkbox" => "checkbox",
                "radio" => "radio",
                "range" => "slider",
                "number" => "spinbutton",
                "search" => "searchbox",
                "hidden" => return None,
                "email" | "tel" | "text" | "url" | "password" | "" => {
                    if descriptor.attribute("list").is_some() { "combobox" } else { "textbox" }
                }
                _ => return None,
            }
        }
        "textarea" => "textbox",
        "select" => {
            let multiple = descriptor.attribute("multiple").is_some();
            let size = descriptor.attribute("size").and_then(|s| s.trim().parse::<u32>().ok()).unwrap_or(0);
            if multiple || size > 1 { "listbox" } else { "combobox" }
        }
        "option" => "option",
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => "heading",
        "img" => {
            if descriptor.alt.as_deref() == Some("") {
                "presentation"
            } else {
                "img"
            }
        }
        "ul" | "ol" | "menu" => "list",
        "li" => "listitem",
        "nav" => "navigation",
        "main" => "main",
        "header" => "banner",
        "footer" => "contentinfo",
        "aside" => "complementary",
        "form" => "form",
        "table" => "table",
        "tr" => "row",
        "td" => "cell",
        "th" => "columnheader",
        "dialog" => "dialog",
        "article" => "article",
        "section" if descriptor.aria_label.is_some() => "region",
        "hr" => "separator",
        "progress" => "progressbar",
        "meter" => "meter",
        "summary" => "button",
        "fieldset" => "group",
        "output" => "status",
        _ => return None,
    })
}

/// Whether an element with this role takes its accessible name from its content.
pub(crate) fn name_from_content(role: Option<&str>) -> bool {
    matches!(
        role,
        Some(
            "button"
                | "link"
                | "heading"
                | "cell"
                | "columnheader"
                | "rowheader"
                | "option"
                | "menuitem"
                | "tab"
                | "treeitem"
                | "tooltip"
                | "checkbox"
                | "radio"
                | "switch"
        )
    )
}

/// Accessible name from the descriptor alone (and the label text, when known): `aria-label`, the label,
/// the value of button-like inputs, `alt`, the content for name-from-content roles, then `title` and
/// `placeholder`.
pub(crate) fn accessible_name(descriptor: &ElementDescriptor, label: Option<&str>) -> Option<String> {
    let non_empty = |value: Option<&str>| value.map(str::trim).filter(|v| !v.is_empty()).map(collapse);
    if let Some(name) = non_empty(descriptor.aria_label.as_deref()) {
        return Some(name);
    }
    let tag = descriptor.tag.as_str();
    let input_type = descriptor.r#type.as_deref().unwrap_or("").trim().to_ascii_lowercase();
    if matches!(tag, "input" | "select" | "textarea")
        && let Some(name) = non_empty(label)
    {
        return Some(name);
    }
    if tag == "input" {
        match input_type.as_str() {
            "submit" => return non_empty(descriptor.value.as_deref()).or_else(|| Some("Submit".to_owned())),
            "reset" => return non_empty(descriptor.value.as_deref()).or_else(|| Some("Reset".to_owned())),
            "button" => {
                if let Some(name) = non_empty(descriptor.value.as_deref()) {
                    return Some(name);
                }
            }
            "image" => {
                if let Some(name) = non_empty(descriptor.alt.as_deref()) {
                    return Some(name);
                }
            }
            _ => {}
        }
    }
    if matches!(tag, "img" | "area")
        && let Some(name) = non_empty(descriptor.alt.as_deref())
    {
        return Some(name);
    }
    if name_from_content(role_of(descriptor))
        && let Some(name) = non_empty(descriptor.text.as_deref())
    {
        return Some(name);
    }
    if let Some(name) = non_empty(label) {
        return Some(name);
    }
    non_empty(descriptor.title.as_deref()).or_else(|| non_empty(descriptor.placeholder.as_deref()))
}

fn collapse(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submit_input_is_a_button_named_by_its_value() {
        let d = ElementDescriptor {
            r#type: Some("submit".into()),
            value: Some("Place order".into()),
            ..ElementDescriptor::with_tag("input")
        };
        assert_eq!(role_of(&d), Some("button"));
        assert_eq!(accessible_name(&d, None).as_deref(), Some("Place order"));
    }

    #[test]
    fn explicit_role_wins_and_aria_label_names() {
        let d = ElementDescriptor {
            role: Some("tab".into()),
            aria_label: Some("  Reviews ".into()),
            text: Some("Reviews (3)".into()),
            ..ElementDescriptor::with_tag("div")
        };
        assert_eq!(role_of(&d), Some("tab"));
        assert_eq!(accessible_name(&d, None).as_deref(), Some("Reviews"));
    }

    #[test]
    fn input_is_named_by_its_label_before_placeholder() {
        let d = ElementDescriptor {
            placeholder: Some("you@example.com".into()),
            ..ElementDescriptor::with_tag("input")
        };
        assert_eq!(role_of(&d), Some("textbox"));
        assert_eq!(accessible_name(&d, Some("Email")).as_deref(), Some("Email"));
        assert_eq!(accessible_name(&d, None).as_deref(), Some("you@example.com"));
    }
}
