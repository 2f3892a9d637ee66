//! Writes the benchmark corpus: `healing/corpus/cases.jsonl` (training split),
//! `healing/corpus/heldout.jsonl` (held-out split: other page templates, other vocabularies, other seeds)
//! and `healing/corpus/stress.jsonl` (held-out templates, every case changed by 2–5 mutations, more
//! sparse and Similo-style records), in the `argus locate` format with `expected` answers. Only the
//! training split is ever used for fitting.
//!
//! Run with `cargo run -p argus-healing --release --example make_corpus [-- OUT_DIR]`. Deterministic: a
//! fixed seed, no clock, no network; the same build writes the same bytes.
//!
//! Each case: a page written like a real site (header and nav, then two or three sections drawn from the
//! split's templates, then a footer, with hidden mobile duplicates), one target element in it, and a
//! redesigned copy of the page with realistic changes (class renames or hashing, new wrappers, sibling
//! reorders, copy changes, generated ids, moved sections, removed attributes, element type changes,
//! added look-alikes, inserted banners). The reference is the target's descriptor in the old page (or,
//! for some cases, only the locator a test would have used); the answer is the target's index in the new
//! page, or `null` when the target was removed or duplicated beyond telling apart. A third of the cases
//! give `candidates` (descriptors of the new page's interactive and text elements) instead of `html`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use argus_healing::{CandidatePage, PageLimits, describe};
use argus_vocabulary::ElementDescriptor;
use serde_json::{Value, json};

/// Marks the target while the pages are analysed; removed from everything the corpus contains.
const MARKER: &str = "data-corpus-target";

/// Cases per split.
const TRAIN_CASES: usize = 1200;
const HELDOUT_CASES: usize = 600;
const STRESS_CASES: usize = 600;

// ---------------------------------------------------------------------------------------------------
// Deterministic randomness.

/// SplitMix64: tiny, good enough for test data, and stable across platforms.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn word(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }
    fn range(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }
    fn hash(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut out: String = (0..len).map(|_| ALPHABET[self.below(ALPHABET.len())] as char).collect();
        // Hashes mix letters and digits, which is what makes them look generated.
        out.replace_range(1..2, &self.below(10).to_string());
        out.replace_range(3..4, &self.below(10).to_string());
        out
    }
}

// ---------------------------------------------------------------------------------------------------
// A small DOM to build and mutate pages.

#[derive(Clone, Debug)]
enum Node {
    El(El),
    Text(String),
}

#[derive(Clone, Debug)]
struct El {
    tag: String,
    attrs: Vec<(String, String)>,
    kids: Vec<Node>,
    target: bool,
}

impl El {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    fn set(&mut self, name: &str, value: &str) {
        match self.attrs.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.to_owned(),
            None => self.attrs.push((name.to_owned(), value.to_owned())),
        }
    }
    fn remove(&mut self, name: &str) {
        self.attrs.retain(|(n, _)| n != name);
    }
    fn text(&self) -> String {
        let mut out = String::new();
        collect_text(&self.kids, &mut out);
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }
    fn set_text(&mut self, text: &str) {
        // Keep element children (icons), replace the text nodes with one.
        self.kids.retain(|k| matches!(k, Node::El(_)));
        self.kids.push(Node::Text(text.to_owned()));
    }
}

fn collect_text(kids: &[Node], out: &mut String) {
    for kid in kids {
        match kid {
            Node::Text(t) => {
                out.push(' ');
                out.push_str(t);
            }
            Node::El(e) => collect_text(&e.kids, out),
        }
    }
}

fn el(tag: &str, attrs: &[(&str, &str)], kids: Vec<Node>) -> Node {
    Node::El(El {
        tag: tag.to_owned(),
        attrs: attrs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
        kids,
        target: false,
    })
}

/// A form field: `div.field` holding a `label` for `id` and the `input` with that id and `attrs`.
fn labelled_field(id: &str, label: &str, attrs: &[(&str, &str)]) -> Node {
    let input_attrs: Vec<(&str, &str)> = std::iter::once(("id", id)).chain(attrs.iter().copied()).collect();
    el(
        "div",
        &[("class", "field")],
        vec![el("label", &[("for", id)], vec![t(label)]), el("input", &input_attrs, vec![])],
    )
}

fn t(text: &str) -> Node {
    Node::Text(text.to_owned())
}

const VOID: [&str; 4] = ["input", "img", "br", "hr"];

fn render(node: &Node, out: &mut String) {
    match node {
        Node::Text(text) => out.push_str(&text.replace('&', "&amp;").replace('<', "&lt;")),
        Node::El(e) => {
            let _ = write!(out, "<{}", e.tag);
            for (name, value) in &e.attrs {
                let _ = write!(out, " {name}=\"{}\"", value.replace('&', "&amp;").replace('"', "&quot;"));
            }
            if e.target {
                let _ = write!(out, " {MARKER}=\"1\"");
            }
            out.push('>');
            if VOID.contains(&e.tag.as_str()) {
                return;
            }
            for kid in &e.kids {
                render(kid, out);
            }
            let _ = write!(out, "</{}>", e.tag);
        }
    }
}

/// Visits every element, depth first, with its path of child indices.
fn walk<'a>(node: &'a El, path: &mut Vec<usize>, visit: &mut dyn FnMut(&'a El, &[usize])) {
    visit(node, path);
    for (i, kid) in node.kids.iter().enumerate() {
        if let Node::El(e) = kid {
            path.push(i);
            walk(e, path, visit);
            path.pop();
        }
    }
}

fn at_mut<'a>(root: &'a mut El, path: &[usize]) -> &'a mut El {
    let mut current = root;
    for &i in path {
        current = match &mut current.kids[i] {
            Node::El(e) => e,
            Node::Text(_) => unreachable!("paths only lead through elements"),
        };
    }
    current
}

fn find_target(root: &El) -> Option<Vec<usize>> {
    let mut found = None;
    walk(root, &mut Vec::new(), &mut |e, path| {
        if e.target && found.is_none() {
            found = Some(path.to_vec());
        }
    });
    found
}

fn each_mut(node: &mut El, f: &mut dyn FnMut(&mut El)) {
    f(node);
    for kid in &mut node.kids {
        if let Node::El(e) = kid {
            each_mut(e, f);
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Vocabularies and class styles.

struct Vocab {
    brand: &'static [&'static str],
    products: &'static [&'static str],
    adjectives: &'static [&'static str],
    people: &'static [&'static str],
    topics: &'static [&'static str],
    nav: &'static [&'static str],
}

const TRAIN_VOCAB: Vocab = Vocab {
    brand: &["Northwind", "Acme Supply", "Linen & Co", "Brightside"],
    products: &[
        "Linen Shirt",
        "Canvas Tote",
        "Wool Scarf",
        "Denim Jacket",
        "Leather Belt",
        "Cotton Tee",
        "Rain Coat",
        "Silk Tie",
        "Trail Sneakers",
        "Knit Beanie",
        "Chino Pants",
        "Summer Dress",
    ],
    adjectives: &["Classic", "Organic", "Slim", "Vintage", "Everyday", "Premium", "Relaxed"],
    people: &[
        "Ada Lovelace",
        "Grace Hopper",
        "Alan Turing",
        "Linus Torvalds",
        "Barbara Liskov",
        "Ken Thompson",
        "Margaret Hamilton",
        "Dennis Ritchie",
    ],
    topics: &[
        "Release notes",
        "Spring collection",
        "Care guide",
        "Sizing tips",
        "Our story",
        "Sustainability",
    ],
    nav: &["Home", "Shop", "New in", "Sale", "About", "Journal", "Contact", "Stores"],
};

const HELDOUT_VOCAB: Vocab = Vocab {
    brand: &["Voltline", "Skyward Travel", "Quanta Labs", "Harbor Bank"],
    products: &[
        "Noise-cancelling Headphones",
        "USB-C Hub",
        "4K Monitor",
        "Mechanical Keyboard",
        "Travel Adapter",
        "Smart Watch",
        "Portable SSD",
        "Webcam Pro",
        "Flight to Lisbon",
        "Hotel Aurora",
        "City Pass",
    ],
    adjectives: &["Wireless", "Compact", "Pro", "Ultra", "Refurbished", "Flexible", "Business"],
    people: &[
        "Maria Garcia",
        "Chen Wei",
        "Fatima Zahra",
        "John Smith",
        "Priya Patel",
        "Lars Nilsson",
        "Yuki Tanaka",
        "Olu Adeyemi",
    ],
    topics: &["Quarterly report", "Security update", "Travel advisory", "API changes", "Pricing update"],
    nav: &["Dashboard", "Flights", "Deals", "Accounts", "Reports", "Support", "Pricing", "Docs"],
};

/// How a site names its classes.
#[derive(Clone, Copy)]
enum ClassStyle {
    Bootstrap,
    Bem,
    Utility,
    Hashed,
}

/// A class attribute for a role (`button`, `card`, `link`, …) in a page's style.
fn classes(style: ClassStyle, role: &str, rng: &mut Rng) -> String {
    match style {
        ClassStyle::Bootstrap => match role {
            "button" => "btn btn-primary".into(),
            "button2" => "btn btn-outline-secondary".into(),
            "card" => "card h-100".into(),
            "link" => "nav-link".into(),
            "input" => "form-control".into(),
            "title" => "card-title".into(),
            "row" => "row".into(),
            other => other.to_owned(),
        },
        ClassStyle::Bem => format!("{role}__item {role}__item--default"),
        ClassStyle::Utility => match role {
            "button" | "button2" => "px-4 py-2 rounded-md bg-indigo-600 text-white".into(),
            "card" => "rounded-lg shadow p-4".into(),
            "link" => "text-sm font-medium hover:underline".into(),
            "input" => "block w-full border rounded".into(),
            _ => "flex items-center gap-2".into(),
        },
        ClassStyle::Hashed => format!("{}-{} css-{}", role, rng.hash(5), rng.hash(6)),
    }
}

fn slug(text: &str) -> String {
    text.to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

// ---------------------------------------------------------------------------------------------------
// Page sections. Each takes the generation context and returns one section element.

struct Ctx<'a> {
    rng: Rng,
    vocab: &'a Vocab,
    style: ClassStyle,
    /// Whether this site puts `data-testid` on its controls.
    test_ids: bool,
    /// Whether this site gives ids to its controls.
    ids: bool,
    /// Names already on the page.
    used: Vec<String>,
}

impl Ctx<'_> {
    fn class(&mut self, role: &str) -> String {
        classes(self.style, role, &mut self.rng)
    }
    fn testid(&mut self, value: &str) -> String {
        if self.test_ids && self.rng.chance(0.7) { value.to_owned() } else { String::new() }
    }
    fn id(&mut self, value: &str) -> String {
        if self.ids && self.rng.chance(0.6) { value.to_owned() } else { String::new() }
    }
    fn product(&mut self) -> String {
        // A page rarely shows the same product twice; retry a few times before accepting a repeat.
        for _ in 0..20 {
            let adjective = *self.rng.pick(self.vocab.adjectives);
            let product = *self.rng.pick(self.vocab.products);
            let name = format!("{adjective} {product}");
            if !self.used.contains(&name) {
                self.used.push(name.clone());
                return name;
            }
        }
        format!("{} {}", self.rng.pick(self.vocab.adjectives), self.rng.pick(self.vocab.products))
    }
    fn person(&mut self) -> &'static str {
        for _ in 0..20 {
            let person = *self.rng.pick(self.vocab.people);
            if !self.used.iter().any(|u| u == person) {
                self.used.push(person.to_owned());
                return person;
            }
        }
        self.rng.word(self.vocab.people)
    }
    fn price(&mut self) -> String {
        format!("${}.{:02}", self.rng.range(5, 400), self.rng.pick(&[0, 49, 95, 99]))
    }
}

type Section = fn(&mut Ctx<'_>) -> Node;

fn header_nav(c: &mut Ctx<'_>) -> Node {
    let brand = *c.rng.pick(c.vocab.brand);
    let n = c.rng.range(4, c.vocab.nav.len());
    let links: Vec<Node> = c.vocab.nav[..n]
        .iter()
        .map(|label| {
            let class = c.class("link");
            let id = c.id(&format!("nav-{}", slug(label)));
            el(
                "li",
                &[],
                vec![el(
                    "a",
                    &[("href", &format!("/{}", slug(label))), ("class", &class), ("id", &id)],
                    vec![t(label)],
                )],
            )
        })
        .collect();
    let cart_class = c.class("button2");
    let cart_testid = c.testid("cart-link");
    let search_class = c.class("input");
    // The mobile menu repeats the links, hidden on desktop: a classic source of wrong heals.
    let mut mobile_links = links.clone();
    for link in &mut mobile_links {
        if let Node::El(e) = link {
            each_mut(e, &mut |e| e.remove("id"));
        }
    }
    let mobile =
        el("div", &[("class", "mobile-menu"), ("hidden", "hidden")], vec![el("ul", &[], mobile_links)]);
    el(
        "header",
        &[("class", "site-header")],
        vec![
            el(
                "a",
                &[("href", "/"), ("class", "logo")],
                vec![el("img", &[("src", "/static/logo.svg"), ("alt", brand)], vec![])],
            ),
            el("nav", &[("aria-label", "Main")], vec![el("ul", &[("class", "nav")], links)]),
            el(
                "form",
                &[("role", "search"), ("action", "/search")],
                vec![el(
                    "input",
                    &[("type", "search"), ("name", "q"), ("placeholder", "Search"), ("class", &search_class)],
                    vec![],
                )],
            ),
            el(
                "a",
                &[
                    ("href", "/cart"),
                    ("class", &cart_class),
                    ("data-testid", &cart_testid),
                    ("aria-label", "Cart"),
                ],
                vec![t("Cart (2)")],
            ),
            mobile,
        ],
    )
}

fn header_app(c: &mut Ctx<'_>) -> Node {
    let brand = *c.rng.pick(c.vocab.brand);
    let n = c.rng.range(3, c.vocab.nav.len());
    let links: Vec<Node> = c.vocab.nav[..n]
        .iter()
        .map(|label| {
            let class = c.class("link");
            el(
                "a",
                &[("href", &format!("/app/{}", slug(label))), ("class", &class), ("role", "menuitem")],
                vec![t(label)],
            )
        })
        .collect();
    let bell = c.testid("notifications");
    let profile_id = c.id("profile-menu");
    el(
        "div",
        &[("class", "topbar"), ("role", "banner")],
        vec![
            el("span", &[("class", "brand")], vec![t(brand)]),
            el("div", &[("class", "menu"), ("role", "menubar")], links),
            el(
                "button",
                &[("aria-label", "Notifications"), ("data-testid", &bell), ("class", "icon-button")],
                vec![el("svg", &[("class", "icon")], vec![])],
            ),
            el(
                "button",
                &[("id", &profile_id), ("aria-haspopup", "true"), ("class", "avatar")],
                vec![t("Account")],
            ),
        ],
    )
}

fn login_form(c: &mut Ctx<'_>) -> Node {
    let email_id = c.id("email");
    let password_id = c.id("password");
    let submit_id = c.id("login-btn");
    let submit_testid = c.testid("login-submit");
    let button_class = c.class("button");
    let input_class = c.class("input");
    el(
        "section",
        &[("class", "login")],
        vec![
            el("h2", &[], vec![t("Sign in to your account")]),
            el(
                "form",
                &[("action", "/session"), ("method", "post")],
                vec![
                    labelled_field(
                        if email_id.is_empty() { "f-email" } else { &email_id },
                        "Email address",
                        &[
                            ("type", "email"),
                            ("name", "email"),
                            ("class", &input_class),
                            ("placeholder", "you@example.com"),
                        ],
                    ),
                    labelled_field(
                        if password_id.is_empty() { "f-pass" } else { &password_id },
                        "Password",
                        &[("type", "password"), ("name", "password"), ("class", &input_class)],
                    ),
                    el(
                        "label",
                        &[("class", "remember")],
                        vec![
                            el("input", &[("type", "checkbox"), ("name", "remember")], vec![]),
                            t("Remember me"),
                        ],
                    ),
                    el(
                        "button",
                        &[
                            ("type", "submit"),
                            ("id", &submit_id),
                            ("data-testid", &submit_testid),
                            ("class", &button_class),
                        ],
                        vec![t("Sign in")],
                    ),
                    el("a", &[("href", "/password/reset")], vec![t("Forgot your password?")]),
                    el("a", &[("href", "/signup")], vec![t("Create an account")]),
                ],
            ),
        ],
    )
}

fn product_grid(c: &mut Ctx<'_>) -> Node {
    let n = c.rng.range(4, 12);
    let mut cards = Vec::new();
    for i in 0..n {
        let name = c.product();
        let price = c.price();
        let sku = format!("SKU-{}", 1000 + i * 7 + c.rng.below(5));
        let card_class = c.class("card");
        let button_class = c.class("button");
        let add_testid = c.testid("add-to-cart");
        let title_class = c.class("title");
        let mut kids = vec![
            el(
                "a",
                &[("href", &format!("/products/{}", slug(&name)))],
                vec![el("img", &[("src", &format!("/img/{}.jpg", slug(&name))), ("alt", &name)], vec![])],
            ),
            el(
                "h3",
                &[("class", &title_class)],
                vec![el("a", &[("href", &format!("/products/{}", slug(&name)))], vec![t(&name)])],
            ),
            el("p", &[("class", "price")], vec![t(&price)]),
        ];
        if c.rng.chance(0.3) {
            kids.push(el("span", &[("class", "badge")], vec![t(c.rng.word(&["New", "Sale", "Low stock"]))]));
        }
        kids.push(el(
            "button",
            &[("class", &button_class), ("data-testid", &add_testid), ("type", "button")],
            vec![t("Add to cart")],
        ));
        kids.push(el(
            "button",
            &[("class", "wishlist"), ("aria-label", &format!("Save {name}"))],
            vec![t("♡")],
        ));
        cards.push(el("article", &[("class", &card_class), ("data-sku", &sku)], kids));
    }
    let grid_id = c.id("products");
    el(
        "section",
        &[("id", &grid_id), ("class", "product-grid")],
        vec![el("h2", &[], vec![t("Featured products")]), el("div", &[("class", "grid")], cards)],
    )
}

fn data_table(c: &mut Ctx<'_>) -> Node {
    // No more rows than distinct people: a team list does not show the same person twice.
    let n = c.rng.range(3, 10).min(c.vocab.people.len());
    let mut rows = Vec::new();
    for i in 0..n {
        let person = c.person();
        let email = format!("{}@example.com", slug(person).replace('-', "."));
        let status = *c.rng.pick(&["Active", "Invited", "Suspended"]);
        let edit_testid = c.testid("edit-user");
        rows.push(el(
            "tr",
            &[("data-row", &i.to_string())],
            vec![
                el(
                    "td",
                    &[],
                    vec![el(
                        "input",
                        &[("type", "checkbox"), ("aria-label", &format!("Select {person}"))],
                        vec![],
                    )],
                ),
                el("td", &[("class", "name")], vec![t(person)]),
                el("td", &[], vec![t(&email)]),
                el("td", &[], vec![el("span", &[("class", "status")], vec![t(status)])]),
                el(
                    "td",
                    &[("class", "actions")],
                    vec![
                        el(
                            "button",
                            &[("class", "btn-link"), ("data-testid", &edit_testid)],
                            vec![t("Edit")],
                        ),
                        el("button", &[("class", "btn-link danger")], vec![t("Delete")]),
                    ],
                ),
            ],
        ));
    }
    let invite_id = c.id("invite-user");
    let button_class = c.class("button");
    el(
        "section",
        &[("class", "users")],
        vec![
            el(
                "div",
                &[("class", "toolbar")],
                vec![
                    el("h2", &[], vec![t("Team members")]),
                    el("button", &[("id", &invite_id), ("class", &button_class)], vec![t("Invite member")]),
                    el(
                        "input",
                        &[("type", "search"), ("placeholder", "Filter members"), ("name", "filter")],
                        vec![],
                    ),
                ],
            ),
            el(
                "table",
                &[("class", "table")],
                vec![
                    el(
                        "thead",
                        &[],
                        vec![el(
                            "tr",
                            &[],
                            ["", "Name", "Email", "Status", "Actions"]
                                .iter()
                                .map(|h| el("th", &[], vec![t(h)]))
                                .collect(),
                        )],
                    ),
                    el("tbody", &[], rows),
                ],
            ),
            el(
                "nav",
                &[("class", "pagination"), ("aria-label", "Pagination")],
                vec![
                    el("a", &[("href", "?page=1")], vec![t("Previous")]),
                    el("a", &[("href", "?page=2")], vec![t("Next")]),
                ],
            ),
        ],
    )
}

fn blog_list(c: &mut Ctx<'_>) -> Node {
    let n = c.rng.range(3, 8);
    let mut posts = Vec::new();
    for _ in 0..n {
        let topic = *c.rng.pick(c.vocab.topics);
        let title = format!("{topic}: {}", c.product());
        let author = c.person();
        let href = format!("/blog/{}", slug(&title));
        posts.push(el(
            "article",
            &[("class", "post")],
            vec![
                el("h2", &[], vec![el("a", &[("href", &href)], vec![t(&title)])]),
                el(
                    "p",
                    &[("class", "meta")],
                    vec![
                        t("By "),
                        el("a", &[("href", &format!("/authors/{}", slug(author)))], vec![t(author)]),
                    ],
                ),
                el(
                    "p",
                    &[],
                    vec![t(&format!(
                        "A few notes about {} and why it matters this season.",
                        title.to_lowercase()
                    ))],
                ),
                el("a", &[("href", &href), ("class", "read-more")], vec![t("Read more")]),
            ],
        ));
    }
    el(
        "section",
        &[("class", "blog")],
        vec![el("h1", &[], vec![t("Journal")]), el("div", &[("class", "posts")], posts)],
    )
}

fn newsletter(c: &mut Ctx<'_>) -> Node {
    let id = c.id("subscribe");
    let button_class = c.class("button");
    el(
        "aside",
        &[("class", "newsletter")],
        vec![
            el("h3", &[], vec![t("Stay in the loop")]),
            el(
                "input",
                &[("type", "email"), ("name", "newsletter_email"), ("placeholder", "Your email")],
                vec![],
            ),
            el("button", &[("id", &id), ("class", &button_class)], vec![t("Subscribe")]),
        ],
    )
}

fn footer(c: &mut Ctx<'_>) -> Node {
    let columns =
        [("Help", ["Help center", "Shipping", "Returns"]), ("Company", ["About us", "Careers", "Press"])];
    let mut kids = Vec::new();
    for (heading, links) in columns {
        let items = links
            .iter()
            .map(|l| {
                el("li", &[], vec![el("a", &[("href", &format!("/{}?ref=footer", slug(l)))], vec![t(l)])])
            })
            .collect();
        kids.push(el(
            "div",
            &[("class", "col")],
            vec![el("h4", &[], vec![t(heading)]), el("ul", &[], items)],
        ));
    }
    let brand = *c.rng.pick(c.vocab.brand);
    kids.push(el("p", &[("class", "copyright")], vec![t(&format!("© 2024 {brand}"))]));
    el("footer", &[("class", "site-footer")], kids)
}

// Held-out sections.

fn search_results(c: &mut Ctx<'_>) -> Node {
    let n = c.rng.range(4, 10);
    let mut items = Vec::new();
    for _ in 0..n {
        let title = c.product();
        let url = format!("https://{}.example/{}", slug(c.rng.word(c.vocab.brand)), slug(&title));
        items.push(el(
            "li",
            &[("class", "result")],
            vec![
                el("a", &[("href", &url), ("class", "result-title")], vec![el("h3", &[], vec![t(&title)])]),
                el("cite", &[], vec![t(&url)]),
                el(
                    "p",
                    &[("class", "snippet")],
                    vec![t(&format!("Compare prices for {title}. Free returns."))],
                ),
                el(
                    "a",
                    &[("href", &format!("/cache?u={}", slug(&title))), ("class", "small")],
                    vec![t("Cached")],
                ),
            ],
        ));
    }
    let id = c.id("search-input");
    el(
        "div",
        &[("class", "serp")],
        vec![
            el(
                "form",
                &[("action", "/search")],
                vec![
                    el(
                        "input",
                        &[("id", &id), ("name", "query"), ("type", "text"), ("aria-label", "Search query")],
                        vec![],
                    ),
                    el("button", &[("type", "submit"), ("aria-label", "Search")], vec![t("Go")]),
                ],
            ),
            el("p", &[("class", "count")], vec![t(&format!("About {} results", c.rng.range(100, 9000)))]),
            el("ol", &[("class", "results")], items),
        ],
    )
}

fn dashboard(c: &mut Ctx<'_>) -> Node {
    let stats = [("Revenue", "$48,200"), ("Orders", "1,204"), ("Refunds", "32"), ("Visitors", "18,930")];
    let mut cards = Vec::new();
    for (label, value) in &stats[..c.rng.range(2, 4)] {
        let testid = c.testid(&format!("stat-{}", slug(label)));
        let class = c.class("card");
        cards.push(el(
            "div",
            &[("class", &class), ("data-testid", &testid)],
            vec![
                el("h4", &[], vec![t(label)]),
                el("strong", &[("class", "value")], vec![t(value)]),
                el("a", &[("href", &format!("/reports/{}", slug(label)))], vec![t("View report")]),
            ],
        ));
    }
    let export = c.testid("export-csv");
    let button_class = c.class("button");
    el(
        "main",
        &[("class", "dashboard")],
        vec![
            el(
                "div",
                &[("class", "page-head")],
                vec![
                    el("h1", &[], vec![t("Overview")]),
                    el(
                        "select",
                        &[("name", "range"), ("aria-label", "Date range")],
                        vec![
                            el("option", &[("value", "7")], vec![t("Last 7 days")]),
                            el("option", &[("value", "30")], vec![t("Last 30 days")]),
                        ],
                    ),
                    el(
                        "button",
                        &[("class", &button_class), ("data-testid", &export)],
                        vec![t("Export CSV")],
                    ),
                ],
            ),
            el("div", &[("class", "stats")], cards),
        ],
    )
}

fn pricing(c: &mut Ctx<'_>) -> Node {
    let plans = [("Starter", "$0"), ("Team", "$12"), ("Business", "$49"), ("Enterprise", "Custom")];
    let mut kids = Vec::new();
    for (name, price) in &plans[..c.rng.range(2, 4)] {
        let class = c.class("card");
        let button_class = c.class("button");
        let features: Vec<Node> = ["Unlimited projects", "Priority support", "SSO"]
            .iter()
            .take(c.rng.range(1, 3))
            .map(|f| el("li", &[], vec![t(f)]))
            .collect();
        kids.push(el(
            "div",
            &[("class", &class), ("data-plan", &slug(name))],
            vec![
                el("h3", &[], vec![t(name)]),
                el("p", &[("class", "price")], vec![t(price), el("span", &[], vec![t("/month")])]),
                el("ul", &[], features),
                el(
                    "a",
                    &[("href", &format!("/signup?plan={}", slug(name))), ("class", &button_class)],
                    vec![t("Choose plan")],
                ),
            ],
        ));
    }
    el(
        "section",
        &[("class", "pricing")],
        vec![el("h2", &[], vec![t("Plans for every team")]), el("div", &[("class", "plans")], kids)],
    )
}

fn checkout_form(c: &mut Ctx<'_>) -> Node {
    let fields = [
        ("Full name", "name", "text"),
        ("Street address", "street", "text"),
        ("City", "city", "text"),
        ("Postal code", "zip", "text"),
        ("Phone", "phone", "tel"),
    ];
    let mut kids = vec![el("legend", &[], vec![t("Shipping address")])];
    for (label, name, kind) in fields {
        let id = format!("ship-{name}");
        let class = c.class("input");
        kids.push(el(
            "div",
            &[("class", "form-row")],
            vec![
                el("label", &[("for", &id)], vec![t(label)]),
                el(
                    "input",
                    &[("id", &id), ("name", name), ("type", kind), ("class", &class), ("autocomplete", name)],
                    vec![],
                ),
            ],
        ));
    }
    kids.push(el(
        "div",
        &[("class", "form-row")],
        vec![
            el("label", &[("for", "ship-country")], vec![t("Country")]),
            el(
                "select",
                &[("id", "ship-country"), ("name", "country")],
                vec![el("option", &[], vec![t("Portugal")]), el("option", &[], vec![t("Japan")])],
            ),
        ],
    ));
    let pay_testid = c.testid("place-order");
    let pay_id = c.id("place-order");
    let class = c.class("button");
    el(
        "form",
        &[("class", "checkout"), ("action", "/orders")],
        vec![
            el("fieldset", &[], kids),
            el(
                "button",
                &[("type", "submit"), ("class", &class), ("data-testid", &pay_testid), ("id", &pay_id)],
                vec![t("Place order")],
            ),
            el("a", &[("href", "/cart")], vec![t("Back to cart")]),
        ],
    )
}

fn modal(c: &mut Ctx<'_>) -> Node {
    let confirm = c.testid("confirm-delete");
    let class = c.class("button");
    el(
        "div",
        &[("role", "dialog"), ("aria-modal", "true"), ("aria-labelledby", "dlg-title"), ("class", "modal")],
        vec![
            el("h2", &[("id", "dlg-title")], vec![t("Delete this item?")]),
            el("p", &[], vec![t("This cannot be undone.")]),
            el("button", &[("class", "close"), ("aria-label", "Close")], vec![t("×")]),
            el(
                "div",
                &[("class", "modal-actions")],
                vec![
                    el("button", &[("class", "secondary")], vec![t("Cancel")]),
                    el("button", &[("class", &class), ("data-testid", &confirm)], vec![t("Delete")]),
                ],
            ),
        ],
    )
}

fn comments(c: &mut Ctx<'_>) -> Node {
    let n = c.rng.range(3, 7);
    let mut items = Vec::new();
    for i in 0..n {
        let author = c.person();
        let topic = *c.rng.pick(c.vocab.topics);
        items.push(el(
            "li",
            &[("class", "comment"), ("id", &format!("c{}", 100 + i))],
            vec![
                el("a", &[("href", &format!("/u/{}", slug(author))), ("class", "author")], vec![t(author)]),
                el("time", &[], vec![t(&format!("{} hours ago", i + 1))]),
                el("p", &[], vec![t(&format!("Thoughts on {}: works for me.", topic.to_lowercase()))]),
                el("button", &[("class", "reply")], vec![t("Reply")]),
                el(
                    "button",
                    &[("class", "like"), ("aria-label", "Like")],
                    vec![t(&format!("{}", c.rng.below(40)))],
                ),
            ],
        ));
    }
    let class = c.class("button");
    el(
        "section",
        &[("class", "discussion")],
        vec![
            el("h2", &[], vec![t(&format!("{n} comments"))]),
            el("ul", &[], items),
            el("textarea", &[("name", "comment"), ("placeholder", "Add a comment")], vec![]),
            el("button", &[("class", &class)], vec![t("Post comment")]),
        ],
    )
}

const TRAIN_SECTIONS: [Section; 5] = [login_form, product_grid, data_table, blog_list, newsletter];
const HELDOUT_SECTIONS: [Section; 6] = [search_results, dashboard, pricing, checkout_form, modal, comments];

fn page(c: &mut Ctx<'_>, heldout: bool) -> El {
    let sections: &[Section] = if heldout { &HELDOUT_SECTIONS } else { &TRAIN_SECTIONS };
    // A real page rarely repeats a whole section template (two identical login forms); draw without
    // replacement so that the only indistinguishable targets are the ones the case means to be.
    let mut pool: Vec<Section> = sections.to_vec();
    let mut main = Vec::new();
    for _ in 0..c.rng.range(2, 3).min(pool.len()) {
        let section = pool.remove(c.rng.below(pool.len()));
        main.push(section(c));
    }
    let header = if heldout { header_app(c) } else { header_nav(c) };
    let body = el("body", &[], vec![header, el("main", &[("class", "content")], main), footer(c)]);
    let head = el("head", &[], vec![el("title", &[], vec![t("page")])]);
    match el("html", &[("lang", "en")], vec![head, body]) {
        Node::El(e) => e,
        Node::Text(_) => unreachable!("el builds elements"),
    }
}

// ---------------------------------------------------------------------------------------------------
// Targets and mutations.

/// Elements a test would locate.
fn targetable(e: &El) -> bool {
    match e.tag.as_str() {
        "a" | "button" | "input" | "select" | "textarea" | "img" => true,
        "h1" | "h2" | "h3" | "h4" | "td" | "strong" | "span" | "p" | "li" | "label" | "time" | "cite" => {
            !e.text().is_empty() && e.kids.iter().all(|k| matches!(k, Node::Text(_)))
        }
        _ => false,
    }
}

fn body_path(root: &El) -> Vec<usize> {
    let index = root.kids.iter().position(|k| matches!(k, Node::El(e) if e.tag == "body")).unwrap_or(0);
    vec![index]
}

fn in_hidden(root: &El, path: &[usize]) -> bool {
    let mut current = root;
    for &i in path {
        if current.attr("hidden").is_some() {
            return true;
        }
        current = match &current.kids[i] {
            Node::El(e) => e,
            Node::Text(_) => return false,
        };
    }
    current.attr("hidden").is_some()
}

const SYNONYMS: [(&str, &[&str]); 22] = [
    ("Sign in", &["Log in", "Sign in now", "Continue"]),
    ("Add to cart", &["Add to bag", "Add to basket", "Buy now"]),
    ("Subscribe", &["Sign me up", "Join the newsletter", "Subscribe now"]),
    ("Read more", &["Continue reading", "Read the post", "More"]),
    ("Edit", &["Edit user", "Modify"]),
    ("Delete", &["Remove", "Delete user"]),
    ("Checkout", &["Proceed to checkout", "Check out"]),
    ("Place order", &["Pay now", "Complete purchase", "Place your order"]),
    ("Choose plan", &["Get started", "Select plan", "Start free trial"]),
    ("View report", &["Open report", "Details"]),
    ("Export CSV", &["Download CSV", "Export"]),
    ("Reply", &["Respond", "Reply to comment"]),
    ("Post comment", &["Comment", "Publish"]),
    ("Invite member", &["Invite teammate", "Add member"]),
    ("Cancel", &["Go back", "Keep item"]),
    ("Forgot your password?", &["Reset password", "Forgot password?"]),
    ("Create an account", &["Sign up", "Register"]),
    ("Next", &["Next page", "More results"]),
    ("Previous", &["Prev", "Previous page"]),
    ("Cached", &["Cached copy", "Snapshot"]),
    ("Back to cart", &["Return to cart", "Edit cart"]),
    ("Cart (2)", &["Bag (2)", "Cart · 2 items", "2"]),
];

fn changed_copy(text: &str, rng: &mut Rng) -> String {
    if let Some((_, options)) = SYNONYMS.iter().find(|(from, _)| *from == text) {
        return (*rng.pick(options)).to_owned();
    }
    match rng.below(4) {
        0 => text.to_uppercase(),
        1 => format!("{text} →"),
        2 => text.split_whitespace().rev().collect::<Vec<_>>().join(" "),
        _ => format!("New {text}"),
    }
}

/// Every class token renamed the same way across the page (a redesign or a CSS-in-JS build).
fn rename_classes(root: &mut El, rng: &mut Rng) {
    let mode = rng.below(3);
    let salt = rng.hash(5);
    let mut map: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut local = Rng(rng.next());
    each_mut(root, &mut |e| {
        if let Some(class) = e.attr("class").map(str::to_owned) {
            let renamed: Vec<String> = class
                .split_whitespace()
                .map(|token| {
                    map.entry(token.to_owned())
                        .or_insert_with(|| match mode {
                            0 => format!("css-{}", local.hash(6)),
                            1 => format!("{}_{}__{}", token.replace('-', "_"), "module", salt),
                            _ => format!("ui-{token}"),
                        })
                        .clone()
                })
                .collect();
            e.set("class", &renamed.join(" "));
        }
    });
}

/// Applies one named mutation to the new page; returns false when it does not apply.
fn mutate(name: &str, root: &mut El, rng: &mut Rng) -> bool {
    // Page-wide changes apply whether or not the target survived.
    match name {
        "class-rename" => {
            rename_classes(root, rng);
            return true;
        }
        "banner" => {
            let body = body_path(root);
            let body = at_mut(root, &body);
            let banner = el(
                "div",
                &[("class", "announcement"), ("role", "status")],
                vec![
                    el("p", &[], vec![t("Free shipping on orders over $50")]),
                    el("a", &[("href", "/shipping")], vec![t("Learn more")]),
                    el("button", &[("aria-label", "Dismiss")], vec![t("×")]),
                ],
            );
            body.kids.insert(0, banner);
            return true;
        }
        _ => {}
    }
    let Some(target_path) = find_target(root) else { return false };
    let (parent_path, index) =
        (target_path[..target_path.len() - 1].to_vec(), target_path[target_path.len() - 1]);
    match name {
        "wrap" => {
            // Wrap the target or an ancestor up to three levels up in one or two new containers.
            let up = rng.below(3.min(target_path.len().saturating_sub(2)) + 1);
            let path = &target_path[..target_path.len() - up];
            let (wrap_parent, wrap_index) = (&path[..path.len() - 1], path[path.len() - 1]);
            let parent = at_mut(root, wrap_parent);
            // Table parts and options cannot take a wrapper (the parser would foster-parent it out).
            if matches!(&parent.kids[wrap_index], Node::El(e) if matches!(e.tag.as_str(), "tr" | "td" | "th" | "thead" | "tbody" | "option"))
            {
                return false;
            }
            let mut node = std::mem::replace(&mut parent.kids[wrap_index], t(""));
            for _ in 0..rng.range(1, 2) {
                let class = format!("wrapper-{}", rng.hash(4));
                node = Node::El(El {
                    tag: (*rng.pick(&["div", "div", "span", "section"])).to_owned(),
                    attrs: vec![("class".into(), class)],
                    kids: vec![node],
                    target: false,
                });
            }
            parent.kids[wrap_index] = node;
            true
        }
        "reorder" => {
            // Shuffle the children of the target's parent, or of the list containing its card/row.
            let up = rng.below(3.min(parent_path.len()));
            let path = &parent_path[..parent_path.len() - up];
            let parent = at_mut(root, path);
            if parent.kids.len() < 2 {
                return false;
            }
            for i in (1..parent.kids.len()).rev() {
                let j = rng.below(i + 1);
                parent.kids.swap(i, j);
            }
            true
        }
        "copy" => {
            // Copy changes come from the template: every element with the same tag and text changes.
            let target = at_mut(root, &target_path);
            let (tag, text) = (target.tag.clone(), target.text());
            if text.is_empty() {
                return false;
            }
            let changed = changed_copy(&text, rng);
            each_mut(root, &mut |e| {
                if e.tag == tag && e.text() == text && e.kids.iter().all(|k| matches!(k, Node::Text(_))) {
                    e.set_text(&changed);
                }
            });
            let target = at_mut(root, &target_path);
            if target.text() != changed {
                target.set_text(&changed);
            }
            true
        }
        "generated-id" => {
            let mut any = false;
            each_mut(root, &mut |e| {
                if e.attr("id").is_some() && e.tag != "h2" && (e.target || rng.chance(0.5)) {
                    // Labels keep pointing at their inputs only when both change, so leave `for` targets.
                    if e.tag != "input" && e.tag != "select" {
                        let generated = if rng.chance(0.5) {
                            format!(":r{}:", rng.below(40))
                        } else {
                            format!("{}-{}", e.tag, rng.hash(6))
                        };
                        e.set("id", &generated);
                        any |= e.target;
                    }
                }
            });
            any
        }
        "move-section" => {
            // Move the main-level section that holds the target to another place in main.
            let body = body_path(root);
            if target_path.len() < body.len() + 3 {
                return false;
            }
            let main_path = target_path[..body.len() + 1].to_vec();
            let section_index = target_path[body.len() + 1];
            let main = at_mut(root, &main_path);
            if main.kids.len() < 2 {
                return false;
            }
            let section = main.kids.remove(section_index);
            let to = rng.below(main.kids.len() + 1);
            let to = if to == section_index { (to + 1) % (main.kids.len() + 1) } else { to };
            main.kids.insert(to, section);
            true
        }
        "drop-attributes" => {
            let target = at_mut(root, &target_path);
            let before = target.attrs.len();
            target.attrs.retain(|(n, _)| n == "data-testid" || n == "class" || rng.chance(0.4));
            if let Some(href) = target.attr("href").map(str::to_owned) {
                target.set(
                    "href",
                    &format!("{href}{}utm_source=nav", if href.contains('?') { "&" } else { "?" }),
                );
            }
            target.attrs.len() != before
        }
        "type-change" => {
            // A template change: every element of the target's tag and class changes type.
            let target = at_mut(root, &target_path);
            let (tag, class) = (target.tag.clone(), target.attr("class").map(str::to_owned));
            let text = target.text();
            let changeable = matches!(tag.as_str(), "a" | "button" | "span" | "p" | "strong" | "h2" | "h3")
                || (tag == "input" && target.attr("type") == Some("text"));
            if !changeable {
                return false;
            }
            each_mut(root, &mut |e| {
                let same = e.tag == tag
                    && e.attr("class").map(str::to_owned) == class
                    && (class.is_some() || e.text() == text || e.target);
                if !same {
                    return;
                }
                match e.tag.as_str() {
                    "a" => {
                        e.tag = "button".into();
                        e.remove("href");
                        e.set("type", "button");
                    }
                    "button" => {
                        e.tag = "a".into();
                        e.remove("type");
                        e.set("href", "#");
                        e.set("role", "button");
                    }
                    "span" | "p" | "strong" => e.tag = "div".into(),
                    "h2" => e.tag = "h3".into(),
                    "h3" => e.tag = "h4".into(),
                    "input" if e.attr("type") == Some("text") => e.set("type", "search"),
                    _ => {}
                }
            });
            true
        }
        "lookalike" => {
            // A new sibling that looks like the target: a second call to action with other copy.
            let parent = at_mut(root, &parent_path);
            let Node::El(mut clone) = parent.kids[index].clone() else { return false };
            clone.target = false;
            clear_targets(&mut clone);
            let text = clone.text();
            if !text.is_empty() {
                clone.set_text(&format!(
                    "{} {}",
                    rng.pick(&["Also", "More", "Quick", "Try"]),
                    text.to_lowercase()
                ));
            }
            clone.remove("id");
            // A sibling a team adds is a different control: besides its copy, its name, placeholder,
            // link target, image or label differ (a second email field, another image of the product).
            let variant = *rng.pick(&["secondary", "alt", "quick", "confirm"]);
            for attribute in ["name", "href", "src", "placeholder", "alt", "aria-label", "value", "title"] {
                if let Some(value) = clone.attr(attribute).map(str::to_owned) {
                    let changed = match attribute {
                        "name" => format!("{value}_{variant}"),
                        "href" | "src" => match value.rsplit_once('.') {
                            Some((stem, extension)) if attribute == "src" => {
                                format!("{stem}-{variant}.{extension}")
                            }
                            _ => format!("{}/{variant}", value.trim_end_matches('/')),
                        },
                        _ => format!("{} {value}", capitalise(variant)),
                    };
                    clone.set(attribute, &changed);
                }
            }
            let at = if rng.chance(0.5) { index } else { index + 1 };
            parent.kids.insert(at, Node::El(clone));
            true
        }
        "neighbour-copy" => {
            // The text around the target changes too (a new heading, reworded label).
            let parent = at_mut(root, &parent_path);
            let mut changed = false;
            for (i, kid) in parent.kids.iter_mut().enumerate() {
                if i == index {
                    continue;
                }
                if let Node::El(e) = kid
                    && !e.text().is_empty()
                    && rng.chance(0.6)
                {
                    let text = e.text();
                    if e.kids.iter().all(|k| matches!(k, Node::Text(_))) {
                        e.set_text(&changed_copy(&text, rng));
                        changed = true;
                    }
                }
            }
            changed
        }
        "testid-rename" => {
            let target = at_mut(root, &target_path);
            match target.attr("data-testid").map(str::to_owned) {
                Some(id) => {
                    target.set("data-testid", &format!("{id}-v2"));
                    true
                }
                None => false,
            }
        }
        _ => false,
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn clear_targets(e: &mut El) {
    each_mut(e, &mut |e| e.target = false);
}

const MUTATIONS: [&str; 13] = [
    "class-rename",
    "wrap",
    "reorder",
    "copy",
    "generated-id",
    "move-section",
    "drop-attributes",
    "type-change",
    "lookalike",
    "banner",
    "neighbour-copy",
    "testid-rename",
    "wrap",
];

// ---------------------------------------------------------------------------------------------------
// Cases.

/// Renders `root` and returns the HTML with and without the marker and the target's candidate index.
fn analyse(root: &El) -> Option<(String, CandidatePage, Option<usize>)> {
    let mut html = String::from("<!doctype html>");
    render(&Node::El(root.clone()), &mut html);
    let page = CandidatePage::parse(&html, &PageLimits::default()).ok()?;
    let matched = page.resolve(&format!("[{MARKER}]")).ok()?;
    let clean = html.replace(&format!(" {MARKER}=\"1\""), "");
    Some((clean, page, matched.first().copied().filter(|_| matched.len() == 1)))
}

/// The locator a test would have used for `e`.
fn locator_for(
    e: &El,
    descriptor: &ElementDescriptor,
    old_page: &CandidatePage,
    old_target: usize,
    rng: &mut Rng,
) -> String {
    let mut options = Vec::new();
    if let Some(id) = e.attr("data-testid") {
        options.push(format!("[data-testid=\"{id}\"]"));
        options.push(format!("getByTestId('{id}')"));
    }
    if let Some(id) = e.attr("id") {
        options.push(format!("#{id}"));
    }
    if let Some(name) = e.attr("name") {
        options.push(format!("{}[name='{name}']", e.tag));
    }
    if let Some(placeholder) = e.attr("placeholder") {
        options.push(format!("getByPlaceholder('{placeholder}')"));
    }
    let text = e.text();
    if !text.is_empty() && text.len() < 40 && !text.contains('\'') {
        match e.tag.as_str() {
            "button" => options.push(format!("getByRole('button', {{ name: '{text}' }})")),
            "a" => options.push(format!("getByRole('link', {{ name: '{text}' }})")),
            _ => options.push(format!("text={text}")),
        }
        options.push(format!("//{}[normalize-space()='{text}']", e.tag));
    }
    if let Some(label) = e.attr("aria-label") {
        options.push(format!("{}[aria-label='{label}']", e.tag));
    }
    if options.is_empty()
        && let Some(xpath) = &descriptor.xpath
    {
        options.push(xpath.clone());
    }
    // A test's locator matched exactly its element when it last worked.
    options.retain(|locator| old_page.resolve(locator).is_ok_and(|m| m == [old_target]));
    if options.is_empty() {
        return descriptor.xpath.clone().unwrap_or_else(|| e.tag.clone());
    }
    rng.pick(&options).clone()
}

/// Descriptors of the interactive and text elements of a page (the `candidates` form), with the
/// position of the target among them.
/// How much a recording tool kept of each element.
#[derive(Clone, Copy, PartialEq)]
enum Detail {
    /// Everything the engine's own `describe` records.
    Full,
    /// No paths, no neighbour text (tools that record attributes and text only).
    Sparse,
    /// What Similo-style tools record: tag, id, name, class, href, alt, type, value, text, XPaths and
    /// neighbour text; no test ids, ARIA, placeholder, title or other attributes.
    Similo,
}

impl Detail {
    fn tag(self) -> &'static str {
        match self {
            Detail::Full => "",
            Detail::Sparse => "-sparse",
            Detail::Similo => "-similo",
        }
    }
}

/// Descriptors of the interactive and text elements of a page (the `candidates` form), with the
/// position of the target among them.
fn candidate_list(
    page: &CandidatePage,
    target: Option<usize>,
    detail: Detail,
) -> (Vec<Value>, Option<usize>) {
    let mut out = Vec::new();
    let mut expected = None;
    for (index, candidate) in page.candidates().iter().enumerate() {
        let d = &candidate.descriptor;
        let interactive =
            matches!(d.tag.as_str(), "a" | "button" | "input" | "select" | "textarea" | "img" | "option");
        let texty = d.text.as_deref().is_some_and(|t| !t.is_empty() && t.len() < 80);
        if !(interactive || texty) {
            continue;
        }
        if Some(index) == target {
            expected = Some(out.len());
        }
        let mut value = descriptor_json(d, detail);
        if !candidate.visible {
            value["visible"] = json!(false);
        }
        out.push(value);
    }
    (out, expected)
}

fn descriptor_json(d: &ElementDescriptor, detail: Detail) -> Value {
    let mut d = d.clone();
    d.data.remove(MARKER);
    match detail {
        Detail::Full => {}
        Detail::Sparse => {
            d.xpath = None;
            d.id_xpath = None;
            d.neighbour_text = None;
        }
        Detail::Similo => {
            d.data_testid = None;
            d.data.clear();
            d.attributes.clear();
            d.aria_label = None;
            d.placeholder = None;
            d.title = None;
            d.role = None;
            d.src = None;
        }
    }
    serde_json::to_value(&d).unwrap_or(Value::Null)
}

/// What distinguishes the splits.
struct SplitSpec {
    name: &'static str,
    /// Held-out section templates, header and vocabulary (otherwise the training ones).
    heldout_templates: bool,
    /// Share of cases left unchanged (apart from an abstain outcome).
    unchanged: f64,
    /// Mutations applied to a changed case, inclusive range.
    mutations: (usize, usize),
    /// Share of `candidates` cases recorded sparse, and Similo-style.
    sparse: f64,
    similo: f64,
}

const TRAIN: SplitSpec = SplitSpec {
    name: "train",
    heldout_templates: false,
    unchanged: 0.3,
    mutations: (1, 4),
    sparse: 0.3,
    similo: 0.3,
};
const HELDOUT: SplitSpec = SplitSpec { name: "heldout", heldout_templates: true, ..TRAIN };
/// Harder than the others: every case changed, 2–5 mutations, more sparse and Similo-style records.
const STRESS: SplitSpec = SplitSpec {
    name: "stress",
    heldout_templates: true,
    unchanged: 0.0,
    mutations: (2, 5),
    sparse: 0.35,
    similo: 0.45,
};

fn make_case(spec: &SplitSpec, number: usize, seed: u64) -> Option<Value> {
    let split = spec.name;
    let heldout = spec.heldout_templates;
    let mut rng = Rng(seed);
    let style = *rng.pick(&[ClassStyle::Bootstrap, ClassStyle::Bem, ClassStyle::Utility, ClassStyle::Hashed]);
    let mut ctx = Ctx {
        rng: Rng(rng.next()),
        vocab: if heldout { &HELDOUT_VOCAB } else { &TRAIN_VOCAB },
        style,
        test_ids: rng.chance(0.5),
        ids: rng.chance(0.6),
        used: Vec::new(),
    };
    let mut old = page(&mut ctx, heldout);

    // Pick a visible target.
    let mut targets = Vec::new();
    walk(&old, &mut Vec::new(), &mut |e, path| {
        if targetable(e) {
            targets.push(path.to_vec());
        }
    });
    targets.retain(|path| !in_hidden(&old, path));
    let target_path = rng.pick(&targets).clone();
    at_mut(&mut old, &target_path).target = true;

    // The redesign.
    let mut new = old.clone();
    let outcome = rng.below(100);
    let mut applied: Vec<&str> = Vec::new();
    let mut abstain = false;
    if outcome < 8 {
        // Removed: the element is gone (sometimes its whole card or row with it).
        let path = find_target(&new)?;
        let up = if rng.chance(0.5) { 1 } else { 0 };
        let path = &path[..path.len() - up];
        if path.len() < 3 {
            return None;
        }
        at_mut(&mut new, &path[..path.len() - 1]).kids.remove(path[path.len() - 1]);
        clear_targets(&mut new);
        applied.push(if up == 1 { "removed-container" } else { "removed" });
        abstain = true;
    } else if outcome < 12 {
        // Duplicated with nothing to tell the copies apart: both copies in a new wrapper.
        let path = find_target(&new)?;
        let parent = at_mut(&mut new, &path[..path.len() - 1]);
        let original = parent.kids[path[path.len() - 1]].clone();
        let mut copy = original.clone();
        if let Node::El(e) = &mut copy {
            clear_targets(e);
            e.remove("id");
        }
        let mut first = original;
        if let Node::El(e) = &mut first {
            clear_targets(e);
            e.remove("id");
        }
        parent.kids[path[path.len() - 1]] = el("div", &[("class", "group")], vec![copy, first]);
        applied.push("indistinguishable-duplicate");
        abstain = true;
    }
    let n_mutations =
        if rng.chance(spec.unchanged) { 0 } else { rng.range(spec.mutations.0, spec.mutations.1) };
    for _ in 0..n_mutations {
        let name = *rng.pick(&MUTATIONS);
        if name == "testid-rename" && rng.chance(0.7) {
            continue;
        }
        if mutate(name, &mut new, &mut rng) {
            applied.push(name);
        }
    }
    if applied.is_empty() {
        applied.push("unchanged");
    }

    let (_, old_page, old_target) = analyse(&old)?;
    let old_target = old_target?;
    let (new_html, new_page, new_target) = analyse(&new)?;
    let expected = if abstain { None } else { Some(new_target?) };
    let locator_marker = format!("[{MARKER}]");
    let mut reference = describe(&old_page, &locator_marker).ok()??;
    reference.data.remove(MARKER);
    debug_assert_eq!(old_page.candidates()[old_target].descriptor.tag, reference.tag);

    let form = rng.below(100);
    let mut case = json!({
        "id": format!("{split}-{number:05}"),
        "split": split,
        "mutations": applied,
        "style": match style { ClassStyle::Bootstrap => "bootstrap", ClassStyle::Bem => "bem", ClassStyle::Utility => "utility", ClassStyle::Hashed => "hashed" },
    });
    if form < 15 {
        let old_element = at_mut(&mut old, &target_path).clone();
        case["locator"] = json!(locator_for(&old_element, &reference, &old_page, old_target, &mut rng));
        case["html"] = json!(new_html);
        case["expected"] = json!(expected);
        case["detail"] = json!("locator");
    } else if form < 50 {
        let roll = rng.below(100) as f64 / 100.0;
        let detail = if roll < spec.sparse {
            Detail::Sparse
        } else if roll < spec.sparse + spec.similo {
            Detail::Similo
        } else {
            Detail::Full
        };
        let (candidates, position) = candidate_list(&new_page, expected, detail);
        case["old"] = descriptor_json(&reference, detail);
        case["candidates"] = json!(candidates);
        case["expected"] = json!(if abstain { None } else { Some(position?) });
        case["detail"] = json!(format!("candidates{}", detail.tag()));
    } else {
        // A Similo-style observation of the old element against the engine's own view of the new page.
        let detail = if rng.chance(spec.similo / 2.0) { Detail::Similo } else { Detail::Full };
        case["old"] = descriptor_json(&reference, detail);
        case["html"] = json!(new_html);
        case["expected"] = json!(expected);
        case["detail"] = json!(format!("html{}", detail.tag()));
    }
    Some(case)
}

fn write_split(path: &PathBuf, split: &SplitSpec, n: usize, base_seed: u64) -> std::io::Result<usize> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut written = 0;
    let mut attempt = 0u64;
    while written < n {
        attempt += 1;
        if let Some(case) = make_case(split, written, base_seed.wrapping_mul(1_000_003).wrapping_add(attempt))
        {
            writeln!(out, "{case}")?;
            written += 1;
        }
    }
    out.flush()?;
    Ok(written)
}

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/corpus")));
    std::fs::create_dir_all(&dir)?;
    let train = write_split(&dir.join("cases.jsonl"), &TRAIN, TRAIN_CASES, 17)?;
    let heldout = write_split(&dir.join("heldout.jsonl"), &HELDOUT, HELDOUT_CASES, 90_001)?;
    let stress = write_split(&dir.join("stress.jsonl"), &STRESS, STRESS_CASES, 424_242)?;
    eprintln!("wrote {train} training, {heldout} held-out and {stress} stress cases to {}", dir.display());
    Ok(())
}
