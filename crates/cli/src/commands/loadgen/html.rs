//! Just enough HTML reading for the shop's own pages: the forms a shopper submits (with
//! their inputs, as a browser would send them) and the text of an element found by id.
//!
//! The pages are ours and stable, so a scanner over `<form>` and `<input>` tags is
//! enough; a full HTML parser would add a dependency for nothing.

/// One `<form>` of a page, with the inputs between its tags.
#[derive(Debug, Clone, Default)]
pub(crate) struct Form {
    pub(crate) id: Option<String>,
    pub(crate) class: Option<String>,
    pub(crate) action: String,
    pub(crate) inputs: Vec<Input>,
}

/// One `<input>` of a form.
#[derive(Debug, Clone, Default)]
pub(crate) struct Input {
    pub(crate) name: String,
    pub(crate) value: String,
    pub(crate) kind: String,
    pub(crate) checked: bool,
}

impl Form {
    /// The value of the first input named `name`.
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.inputs
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.value.as_str())
    }

    /// The values a radio group offers.
    pub(crate) fn choices(&self, name: &str) -> Vec<&str> {
        self.inputs
            .iter()
            .filter(|i| i.name == name && i.kind == "radio")
            .map(|i| i.value.as_str())
            .collect()
    }

    /// What a browser would send unchanged: every named input, radios only when checked.
    pub(crate) fn fields(&self) -> Vec<(String, String)> {
        self.inputs
            .iter()
            .filter(|i| !i.name.is_empty() && (i.kind != "radio" || i.checked))
            .map(|i| (i.name.clone(), i.value.clone()))
            .collect()
    }

    fn has_class(&self, class: &str) -> bool {
        self.class
            .as_deref()
            .is_some_and(|c| c.split_whitespace().any(|c| c == class))
    }
}

/// The forms of a page, in page order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Page {
    html: String,
    forms: Vec<Form>,
}

impl Page {
    pub(crate) fn parse(html: String) -> Page {
        let forms = forms(&html);
        Page { html, forms }
    }

    pub(crate) fn form_by_id(&self, id: &str) -> Option<&Form> {
        self.forms.iter().find(|f| f.id.as_deref() == Some(id))
    }

    pub(crate) fn forms_by_class(&self, class: &str) -> Vec<&Form> {
        self.forms.iter().filter(|f| f.has_class(class)).collect()
    }

    /// The text directly inside the element with this `id` (up to the next tag).
    pub(crate) fn text_of(&self, id: &str) -> Option<String> {
        let marker = format!("id=\"{id}\"");
        let at = self.html.find(&marker)?;
        let rest = &self.html[at..];
        let start = rest.find('>')? + 1;
        let text = &rest[start..];
        let end = text.find('<').unwrap_or(text.len());
        Some(unescape(text[..end].trim()))
    }
}

fn forms(html: &str) -> Vec<Form> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<form") {
        rest = &rest[start..];
        let Some((attrs, after)) = tag(rest) else {
            break;
        };
        let end = after.find("</form>").unwrap_or(after.len());
        let body = &after[..end];
        out.push(Form {
            id: attr(attrs, "id"),
            class: attr(attrs, "class"),
            action: attr(attrs, "action").unwrap_or_default(),
            inputs: inputs(body),
        });
        rest = &after[end..];
    }
    out
}

fn inputs(body: &str) -> Vec<Input> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("<input") {
        rest = &rest[start..];
        let Some((attrs, after)) = tag(rest) else {
            break;
        };
        out.push(Input {
            name: attr(attrs, "name").unwrap_or_default(),
            value: attr(attrs, "value").unwrap_or_default(),
            kind: attr(attrs, "type").unwrap_or_else(|| "text".to_owned()),
            checked: has_flag(attrs, "checked"),
        });
        rest = after;
    }
    out
}

/// Splits `<name attrs...>rest` into the attribute text and what follows the tag. Escaped
/// attribute values never hold a raw `>`, so the first one ends the tag.
fn tag(s: &str) -> Option<(&str, &str)> {
    let end = s.find('>')?;
    let name_end = s[1..]
        .find(|c: char| c.is_whitespace() || c == '>')
        .map_or(end, |i| i + 1);
    Some((&s[name_end..end], &s[end + 1..]))
}

/// The attributes of a tag as (name, value); a flag has no value.
fn attrs(s: &str) -> Vec<(&str, Option<&str>)> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        rest = &rest[name_end..];
        if let Some(after_eq) = rest.strip_prefix('=') {
            if let Some(quoted) = after_eq.strip_prefix('"') {
                let end = quoted.find('"').unwrap_or(quoted.len());
                out.push((name, Some(&quoted[..end])));
                rest = quoted.get(end + 1..).unwrap_or("");
            } else {
                let end = after_eq.find(char::is_whitespace).unwrap_or(after_eq.len());
                out.push((name, Some(&after_eq[..end])));
                rest = &after_eq[end..];
            }
        } else {
            if !name.is_empty() {
                out.push((name, None));
            }
            // Skip the separator that stopped the name (a space or a self-closing slash).
            rest = rest.get(1..).unwrap_or("");
        }
        rest = rest.trim_start();
    }
    out
}

fn attr(tag: &str, name: &str) -> Option<String> {
    attrs(tag)
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| unescape(v.unwrap_or("")))
}

fn has_flag(tag: &str, name: &str) -> bool {
    attrs(tag).iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// Undoes the escaping the page templates apply to text and attribute values.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const PAGE: &str = r#"<main><p class="muted"><span id="available">42</span> seats left</p>
<form id="tickets-form" method="post" action="/widgets/demo/shop/tickets">
<input type="hidden" name="csrf" value="ab&amp;12">
<input type="hidden" name="event" value="10003">
<td><input id="q_580" type="number" name="q_580" min="0" max="50" value="2"></td>
<input id="q_581" type="number" name="q_581" min="0" max="50" value="0">
</form>
<form class="set-product other" method="post" action="/widgets/demo/shop/basket/products">
<input type="hidden" name="product" value="10000">
</form>
<form id="delivery-form" method="post" action="/d">
<p><input type="radio" id="delivery_1" name="deliveryscenario" value="1" required checked> x</p>
<p><input type="radio" id="delivery_2" name="deliveryscenario" value="2" required> y</p>
</form></main>"#;

    #[test]
    fn reads_forms_inputs_and_text() {
        let page = Page::parse(PAGE.to_owned());
        let tickets = page.form_by_id("tickets-form").unwrap();
        assert_eq!(tickets.action, "/widgets/demo/shop/tickets");
        assert_eq!(tickets.value("csrf"), Some("ab&12"));
        assert_eq!(tickets.value("q_580"), Some("2"));
        assert_eq!(
            tickets.fields(),
            [
                ("csrf".to_owned(), "ab&12".to_owned()),
                ("event".to_owned(), "10003".to_owned()),
                ("q_580".to_owned(), "2".to_owned()),
                ("q_581".to_owned(), "0".to_owned()),
            ]
        );
        assert_eq!(page.forms_by_class("set-product").len(), 1);
        let delivery = page.form_by_id("delivery-form").unwrap();
        assert_eq!(delivery.choices("deliveryscenario"), ["1", "2"]);
        assert_eq!(
            delivery.fields(),
            [("deliveryscenario".to_owned(), "1".to_owned())]
        );
        assert_eq!(page.text_of("available").as_deref(), Some("42"));
        assert_eq!(page.text_of("missing"), None);
    }
}
