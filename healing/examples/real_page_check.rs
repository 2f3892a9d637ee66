//! Measures the engine on real page structure, for which no recorded version pairs exist: every
//! interactive element of a real page is described by the engine on the page as given, then relocated
//! in new versions derived from it by mutations that keep the expected element exactly known.
//!
//! Run with `cargo run -p argus-healing --release --example real_page_check -- PAGE.html ...`; add
//! `--misses N` to print up to N wrong heals and top-1 misses per page and mutation.
//!
//! - Targets: `a`, `button`, `input` (but not `type=hidden`), `select`, `textarea` and elements with
//!   `role=button`/`role=link`, hidden or not. Reference: the engine's own descriptor of the target on the
//!   old page (`Reference::Observed`).
//! - New versions (each parsed once; only `relocate` is timed):
//!   a. unchanged (the HTML as given);
//!   b. every class token replaced by a hashed token (CSS-modules-style redesign);
//!   c. a `<div>` wrapped around the whole body content (every absolute XPath changes);
//!   d. every `id` attribute removed;
//!   e. b + c + d;
//!   f1. the first text of every link upper-cased; f2. one word appended to it; f3. f1 and f2 on
//!   alternate links (so a link and its copy elsewhere on the page can end up edited differently);
//!   g. the element children of every `ul`/`ol` reversed (reordered menus and lists);
//!   h. e + f3 + g.
//!
//!   Versions b–h transform the parsed document and serialise it again. The expected element is found
//!   exactly: every element of the parsed old page is numbered with a marker attribute before the
//!   mutation, the marked tree is parsed to read which candidate carries which number, and the same tree
//!   without markers is the page the engine sees (both parses must agree on every candidate's tag).
//! - Old references come from the HTML as given; a marked copy of it (checked the same way) gives their
//!   numbers.
//! - Ambiguous: another candidate of the new page has the expected element's descriptor apart from its
//!   XPaths (which always differ between two elements of one page) and the same visibility. Only a
//!   position can tell such twins apart, so abstaining counts as right; they are reported separately.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use argus_healing::{CandidatePage, EngineConfig, PageLimits, Reference, Relocation, relocate};
use argus_vocabulary::ElementDescriptor;
use ego_tree::NodeId;
use scraper::node::Element;
use scraper::{Html, Node, StrTendril};

const THRESHOLDS: [f64; 3] = [0.5, 0.7, 0.9];
/// Attribute numbering the elements of the old page in the marked twins of each version.
const MARKER: &str = "data-real-page-check";

/// One way of deriving a new version from the old page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mutation {
    Unchanged,
    HashedClasses,
    Wrapper,
    NoIds,
    Combined,
    LinkCase,
    LinkWord,
    LinkMixed,
    ListsReversed,
    Everything,
}

impl Mutation {
    const ALL: [Mutation; 10] = [
        Mutation::Unchanged,
        Mutation::HashedClasses,
        Mutation::Wrapper,
        Mutation::NoIds,
        Mutation::Combined,
        Mutation::LinkCase,
        Mutation::LinkWord,
        Mutation::LinkMixed,
        Mutation::ListsReversed,
        Mutation::Everything,
    ];

    fn label(self) -> &'static str {
        match self {
            Mutation::Unchanged => "a. unchanged",
            Mutation::HashedClasses => "b. hashed classes",
            Mutation::Wrapper => "c. wrapper div",
            Mutation::NoIds => "d. ids removed",
            Mutation::Combined => "e. b + c + d",
            Mutation::LinkCase => "f1. link text upper-cased",
            Mutation::LinkWord => "f2. link text + one word",
            Mutation::LinkMixed => "f3. link text f1/f2 alternately",
            Mutation::ListsReversed => "g. list items reversed",
            Mutation::Everything => "h. e + f3 + g",
        }
    }
}

/// Results of one page (or all pages) under one mutation.
#[derive(Default)]
struct Tally {
    n: usize,
    top1: usize,
    wrong: usize,
    abstained: usize,
    answered: [usize; 3],
    correct: [usize; 3],
    ambiguous: usize,
    ambiguous_expected: usize,
    ambiguous_wrong: usize,
    ambiguous_abstained: usize,
    times: Vec<Duration>,
}

impl Tally {
    fn add(&mut self, expected: usize, ambiguous: bool, relocation: &Relocation, elapsed: Duration) {
        self.times.push(elapsed);
        if ambiguous {
            self.ambiguous += 1;
            match relocation.choice {
                None => self.ambiguous_abstained += 1,
                Some(choice) if choice == expected => self.ambiguous_expected += 1,
                Some(_) => self.ambiguous_wrong += 1,
            }
            return;
        }
        self.n += 1;
        if relocation.ranked.first().map(|r| r.index) == Some(expected) {
            self.top1 += 1;
        }
        match relocation.choice {
            None => self.abstained += 1,
            Some(choice) if choice != expected => self.wrong += 1,
            Some(_) => {}
        }
        for (i, threshold) in THRESHOLDS.iter().enumerate() {
            if relocation.choice.is_some() && relocation.confidence >= *threshold {
                self.answered[i] += 1;
                if relocation.choice == Some(expected) {
                    self.correct[i] += 1;
                }
            }
        }
    }

    fn merge(&mut self, other: &Tally) {
        self.n += other.n;
        self.top1 += other.top1;
        self.wrong += other.wrong;
        self.abstained += other.abstained;
        for i in 0..THRESHOLDS.len() {
            self.answered[i] += other.answered[i];
            self.correct[i] += other.correct[i];
        }
        self.ambiguous += other.ambiguous;
        self.ambiguous_expected += other.ambiguous_expected;
        self.ambiguous_wrong += other.ambiguous_wrong;
        self.ambiguous_abstained += other.ambiguous_abstained;
        self.times.extend_from_slice(&other.times);
    }

    /// A markdown table row: targets, top-1, wrong heals, abstentions, precision / coverage at each
    /// threshold, relocation time (mean / p95), ambiguous cases.
    fn row(&self, page: &str, mutation: &str) -> String {
        let pct = |a: usize, b: usize| {
            if b == 0 { "–".to_owned() } else { format!("{:.1}", 100.0 * a as f64 / b as f64) }
        };
        let mut out = format!(
            "| {page} | {mutation} | {} | {} | {} | {} |",
            self.n,
            pct(self.top1, self.n),
            pct(self.wrong, self.n),
            pct(self.abstained, self.n)
        );
        for i in 0..THRESHOLDS.len() {
            out.push_str(&format!(
                " {} / {} |",
                pct(self.correct[i], self.answered[i]),
                pct(self.answered[i], self.n)
            ));
        }
        let mut times: Vec<f64> = self.times.iter().map(|t| t.as_secs_f64() * 1e3).collect();
        times.sort_by(f64::total_cmp);
        let mean = if times.is_empty() { f64::NAN } else { times.iter().sum::<f64>() / times.len() as f64 };
        let p95 = times.get((times.len() * 95 / 100).min(times.len().saturating_sub(1))).copied();
        out.push_str(&format!(" {mean:.2} / {:.2} |", p95.unwrap_or(f64::NAN)));
        out.push_str(&format!(
            " {} ({} expected, {} other, {} abstained) |",
            self.ambiguous, self.ambiguous_expected, self.ambiguous_wrong, self.ambiguous_abstained
        ));
        out
    }
}

fn is_target(descriptor: &ElementDescriptor) -> bool {
    let role = descriptor.role.as_deref().map(|r| r.trim().to_ascii_lowercase());
    match descriptor.tag.as_str() {
        "input" => !descriptor.r#type.as_deref().is_some_and(|t| t.trim().eq_ignore_ascii_case("hidden")),
        "a" | "button" | "select" | "textarea" => true,
        _ => matches!(role.as_deref(), Some("button" | "link")),
    }
}

/// A stable, opaque replacement for a class token (FNV-1a), like a CSS-modules build would produce.
fn hashed_token(token: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in token.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("css-{:06x}", hash & 0x00ff_ffff)
}

/// An empty `div` carrying the marker attribute: scraper builds element and attribute names from html5ever
/// atoms it does not export, so new elements and attributes are cloned from this parsed fragment.
struct Template {
    div: Element,
}

impl Template {
    fn new() -> Result<Template, String> {
        let fragment = Html::parse_fragment(&format!("<div {MARKER}=\"0\"></div>"));
        let div = fragment
            .tree
            .nodes()
            .find_map(|node| node.value().as_element().filter(|element| element.name() == "div").cloned())
            .ok_or("no div in the template fragment")?;
        if div.attrs.len() != 1 {
            return Err("the template div does not carry exactly the marker".into());
        }
        Ok(Template { div })
    }

    fn empty_div(&self) -> Element {
        let mut div = self.div.clone();
        div.attrs.clear();
        div
    }

    fn add_marker(&self, element: &mut Element, k: usize) {
        if let Some(mut attribute) = self.div.attrs.first().cloned() {
            attribute.1 = StrTendril::from_slice(&k.to_string());
            element.attrs.push(attribute);
        }
    }
}

fn element_ids(document: &Html) -> Vec<NodeId> {
    document.tree.nodes().filter(|node| node.value().is_element()).map(|node| node.id()).collect()
}

/// Calls `change` on every element of the document.
fn for_each_element(document: &mut Html, mut change: impl FnMut(&mut Element)) {
    for id in element_ids(document) {
        if let Some(mut node) = document.tree.get_mut(id)
            && let Node::Element(element) = node.value()
        {
            change(element);
        }
    }
}

/// Numbers every element with a marker attribute, so the new version of each can be found exactly.
fn mark(document: &mut Html, template: &Template) {
    let mut k = 0usize;
    for_each_element(document, |element| {
        template.add_marker(element, k);
        k += 1;
    });
}

fn unmark(document: &mut Html) {
    for_each_element(document, |element| element.attrs.retain(|(name, _)| &*name.local != MARKER));
}

fn hash_classes(document: &mut Html) {
    for_each_element(document, |element| {
        for (name, value) in element.attrs.iter_mut() {
            if &*name.local == "class" {
                let hashed: Vec<String> = value.split_ascii_whitespace().map(hashed_token).collect();
                *value = StrTendril::from_slice(&hashed.join(" "));
            }
        }
    });
}

fn remove_ids(document: &mut Html) {
    for_each_element(document, |element| element.attrs.retain(|(name, _)| &*name.local != "id"));
}

fn wrap_body(document: &mut Html, template: &Template) -> Result<(), String> {
    let body = document
        .tree
        .nodes()
        .find(|node| node.value().as_element().is_some_and(|element| element.name() == "body"))
        .ok_or("no body element")?
        .id();
    let wrapper = document.tree.orphan(Node::Element(template.empty_div())).id();
    document.tree.get_mut(wrapper).ok_or("wrapper vanished")?.reparent_from_id_append(body);
    document.tree.get_mut(body).ok_or("body vanished")?.append_id(wrapper);
    Ok(())
}

/// How a link's first text changes.
#[derive(Clone, Copy)]
enum LinkEdit {
    UpperCase,
    AppendWord,
    Alternate,
}

fn change_link_texts(document: &mut Html, edit: LinkEdit) {
    let links: Vec<NodeId> = document
        .tree
        .nodes()
        .filter(|node| node.value().as_element().is_some_and(|element| element.name() == "a"))
        .map(|node| node.id())
        .collect();
    let mut changes = Vec::new();
    for (k, link) in links.into_iter().enumerate() {
        let Some(node) = document.tree.get(link) else { continue };
        let first_text = node.descendants().find_map(|d| match d.value() {
            Node::Text(text) if !text.trim().is_empty() => Some((d.id(), (**text).to_owned())),
            _ => None,
        });
        let Some((text_id, text)) = first_text else { continue };
        let upper = match edit {
            LinkEdit::UpperCase => true,
            LinkEdit::AppendWord => false,
            LinkEdit::Alternate => k % 2 == 0,
        };
        let changed = if upper {
            text.to_uppercase()
        } else {
            // Keep trailing whitespace (pretty-printed pages end text nodes with a newline).
            let trimmed = text.trim_end();
            format!("{trimmed} now{}", &text[trimmed.len()..])
        };
        changes.push((text_id, changed));
    }
    for (text_id, changed) in changes {
        if let Some(mut node) = document.tree.get_mut(text_id)
            && let Node::Text(text) = node.value()
        {
            text.text = StrTendril::from_slice(&changed);
        }
    }
}

/// Reverses the element children of every `ul` and `ol` (a reordered menu or list).
fn reverse_lists(document: &mut Html) {
    let lists: Vec<NodeId> = document
        .tree
        .nodes()
        .filter(|node| node.value().as_element().is_some_and(|element| matches!(element.name(), "ul" | "ol")))
        .map(|node| node.id())
        .collect();
    for list in lists {
        let Some(node) = document.tree.get(list) else { continue };
        let items: Vec<NodeId> =
            node.children().filter(|child| child.value().is_element()).map(|child| child.id()).collect();
        // Detach the items, then append them back in reverse order (text nodes stay where they were, before).
        for &item in &items {
            if let Some(mut item) = document.tree.get_mut(item) {
                item.detach();
            }
        }
        for &item in items.iter().rev() {
            if let Some(mut list) = document.tree.get_mut(list) {
                list.append_id(item);
            }
        }
    }
}

fn apply(document: &mut Html, mutation: Mutation, template: &Template) -> Result<(), String> {
    match mutation {
        Mutation::Unchanged => {}
        Mutation::HashedClasses => hash_classes(document),
        Mutation::Wrapper => wrap_body(document, template)?,
        Mutation::NoIds => remove_ids(document),
        Mutation::Combined => {
            hash_classes(document);
            remove_ids(document);
            wrap_body(document, template)?;
        }
        Mutation::LinkCase => change_link_texts(document, LinkEdit::UpperCase),
        Mutation::LinkWord => change_link_texts(document, LinkEdit::AppendWord),
        Mutation::LinkMixed => change_link_texts(document, LinkEdit::Alternate),
        Mutation::ListsReversed => reverse_lists(document),
        Mutation::Everything => {
            hash_classes(document);
            remove_ids(document);
            wrap_body(document, template)?;
            change_link_texts(document, LinkEdit::Alternate);
            reverse_lists(document);
        }
    }
    Ok(())
}

/// A parsed page and, for each of its candidates, the marker of the element it came from.
struct Version {
    page: CandidatePage,
    markers: Vec<Option<usize>>,
}

/// Builds one version of `html`: the page to relocate in (no markers; the HTML as given when unchanged)
/// and the marker of every candidate, read from a marked twin of the same tree. The two parses must have
/// the same candidate tags position by position, or the mapping is refused.
fn version(
    html: &str,
    mutation: Mutation,
    template: &Template,
    limits: &PageLimits,
) -> Result<Version, String> {
    let mut document = Html::parse_document(html);
    mark(&mut document, template);
    apply(&mut document, mutation, template)?;
    let marked = CandidatePage::parse(&document.html(), limits).map_err(|e| e.to_string())?;
    let page = if mutation == Mutation::Unchanged {
        CandidatePage::parse(html, limits)
    } else {
        unmark(&mut document);
        CandidatePage::parse(&document.html(), limits)
    }
    .map_err(|e| e.to_string())?;
    let (with, without) = (marked.candidates(), page.candidates());
    if with.len() != without.len() {
        return Err(format!("{} marked candidates, {} unmarked", with.len(), without.len()));
    }
    if let Some(i) = with.iter().zip(without).position(|(a, b)| a.descriptor.tag != b.descriptor.tag) {
        return Err(format!("marked and unmarked candidates differ at {i}"));
    }
    let markers =
        with.iter().map(|c| c.descriptor.data.get(MARKER).and_then(|k| k.parse::<usize>().ok())).collect();
    Ok(Version { page, markers })
}

/// How many candidates share each (descriptor apart from XPaths, visibility) key.
fn twin_keys(page: &CandidatePage) -> (Vec<String>, HashMap<String, usize>) {
    let keys: Vec<String> = page
        .candidates()
        .iter()
        .map(|c| {
            let mut d = c.descriptor.clone();
            d.xpath = None;
            d.id_xpath = None;
            format!("{}{}", c.visible, serde_json::to_string(&d).unwrap_or_default())
        })
        .collect();
    let mut counts = HashMap::new();
    for key in &keys {
        *counts.entry(key.clone()).or_insert(0) += 1;
    }
    (keys, counts)
}

fn summary(page: &CandidatePage, index: usize) -> String {
    let c = &page.candidates()[index];
    let d = &c.descriptor;
    let short = |s: &Option<String>, n: usize| {
        s.as_deref().map(|s| s.chars().take(n).collect::<String>()).unwrap_or_default()
    };
    format!(
        "{index} <{}> vis={} text={:?} href={:?} id={:?} class={:?} nb={:?} xpath={}",
        d.tag,
        c.visible,
        short(&d.text, 40),
        short(&d.href, 60),
        short(&d.id, 30),
        short(&d.class, 40),
        short(&d.neighbour_text, 50),
        short(&d.xpath, 120)
    )
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut misses = 0usize;
    if let Some(at) = args.iter().position(|a| a == "--misses") {
        misses = args.get(at + 1).and_then(|n| n.parse().ok()).unwrap_or(10);
        args.drain(at..(at + 2).min(args.len()));
    }
    if args.is_empty() {
        eprintln!("usage: real_page_check [--misses N] PAGE.html ...");
        std::process::exit(2);
    }
    let template = match Template::new() {
        Ok(template) => template,
        Err(error) => {
            eprintln!("cannot build the element template: {error}");
            std::process::exit(1);
        }
    };
    let limits = PageLimits::default();
    let config = EngineConfig::default();
    let mut rows = Vec::new();
    let mut pages = Vec::new();
    let mut totals: Vec<Tally> = Mutation::ALL.iter().map(|_| Tally::default()).collect();
    for path in &args {
        let name = std::path::Path::new(path)
            .file_stem()
            .map_or_else(|| path.clone(), |s| s.to_string_lossy().into_owned());
        let html = match std::fs::read_to_string(path) {
            Ok(html) => html,
            Err(error) => {
                eprintln!("skipping {path}: {error}");
                continue;
            }
        };
        let started = Instant::now();
        let old = match CandidatePage::parse(&html, &limits) {
            Ok(page) => page,
            Err(error) => {
                eprintln!("skipping {path}: {error}");
                continue;
            }
        };
        let parse_ms = started.elapsed().as_secs_f64() * 1e3;
        // The old page's markers: the unchanged version is the HTML as given, with markers from its twin.
        let old_markers = match version(&html, Mutation::Unchanged, &template, &limits) {
            Ok(v) => v.markers,
            Err(error) => {
                eprintln!("skipping {path}: cannot mark the page: {error}");
                continue;
            }
        };
        let targets: Vec<usize> = old
            .candidates()
            .iter()
            .enumerate()
            .filter(|(_, c)| is_target(&c.descriptor))
            .map(|(i, _)| i)
            .collect();
        let hidden_targets = targets.iter().filter(|&&i| !old.candidates()[i].visible).count();
        pages.push(format!(
            "| {name} | {:.0} KB | {parse_ms:.1} | {} | {} ({hidden_targets} hidden) |",
            html.len() as f64 / 1024.0,
            old.candidates().len(),
            targets.len()
        ));
        for (m, mutation) in Mutation::ALL.into_iter().enumerate() {
            let new = match version(&html, mutation, &template, &limits) {
                Ok(new) => new,
                Err(error) => {
                    eprintln!("{name} {}: not scored: {error}", mutation.label());
                    continue;
                }
            };
            let new_index: HashMap<usize, usize> =
                new.markers.iter().enumerate().filter_map(|(i, k)| k.map(|k| (k, i))).collect();
            let (keys, counts) = twin_keys(&new.page);
            let mut tally = Tally::default();
            let mut printed = 0;
            for &target in &targets {
                let Some(expected) = old_markers[target].and_then(|k| new_index.get(&k).copied()) else {
                    eprintln!("{name} {}: candidate {target} has no new version", mutation.label());
                    continue;
                };
                let ambiguous = counts.get(&keys[expected]).copied().unwrap_or(0) > 1;
                let reference = Reference::Observed(old.candidates()[target].descriptor.clone());
                let started = Instant::now();
                let relocation = relocate(&reference, &new.page, &config);
                let elapsed = started.elapsed();
                tally.add(expected, ambiguous, &relocation, elapsed);
                let best = relocation.ranked.first().map(|r| r.index);
                let missed = if ambiguous {
                    relocation.choice.is_some_and(|choice| choice != expected)
                } else {
                    best != Some(expected) || relocation.choice != Some(expected)
                };
                if printed < misses && missed {
                    printed += 1;
                    let rank = relocation.ranked.iter().position(|r| r.index == expected);
                    println!(
                        "MISS {name} {} ambiguous={ambiguous} choice={:?} conf={:.2} expected rank={}",
                        mutation.label(),
                        relocation.choice,
                        relocation.confidence,
                        rank.map_or_else(|| ">5".to_owned(), |r| (r + 1).to_string())
                    );
                    println!("   ref  {}", summary(&old, target));
                    println!("   want {}", summary(&new.page, expected));
                    if let Some(best) = best.filter(|&best| best != expected) {
                        println!("   best {}", summary(&new.page, best));
                    }
                    println!("   {}", relocation.rationale);
                }
            }
            rows.push(tally.row(&name, mutation.label()));
            totals[m].merge(&tally);
        }
    }
    println!();
    println!("| page | size | parse (ms) | candidates | targets |");
    println!("|---|---|---|---|---|");
    for page in &pages {
        println!("{page}");
    }
    println!();
    println!(
        "| page | version | targets | top-1 % | wrong-heal % | abstain % | p / c ≥ 0.5 | ≥ 0.7 | ≥ 0.9 | \
         relocate ms (mean / p95) | ambiguous (chose expected, other, abstained) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for row in &rows {
        println!("{row}");
    }
    for (mutation, total) in Mutation::ALL.iter().zip(&totals) {
        println!("{}", total.row("**all**", mutation.label()));
    }
}
