//! Times parsing, relocation and synthesis on a generated page of about 5 000 elements.
//! Run with `cargo run --release -p argus-healing --example relocate_bench`.

use std::time::Instant;

use argus_healing::{CandidatePage, EngineConfig, PageLimits, Reference, describe, relocate};

fn page(n_cards: usize, renamed: bool) -> String {
    let mut html = String::from("<html><body><main id=\"grid\">");
    for i in 0..n_cards {
        let class = if renamed { format!("card css-{i}x9y8") } else { "product-card".to_owned() };
        html.push_str(&format!(
            "<div class=\"{class}\"><img src=\"/img/{i}.jpg\" alt=\"Product {i}\"><h3>Product number {i}</h3>\
             <p class=\"price\">${i}.00</p><button class=\"btn add\" data-testid=\"add\">Add to cart</button></div>"
        ));
    }
    html.push_str("</main></body></html>");
    html
}

fn main() {
    let (v1, v2) = (page(1_000, false), page(1_000, true));
    let limits = PageLimits::default();
    let started = Instant::now();
    let old = CandidatePage::parse(&v1, &limits).expect("v1 parses");
    let new = CandidatePage::parse(&v2, &limits).expect("v2 parses");
    println!("parse both: {:?} ({} candidates each)", started.elapsed() / 2, new.candidates().len());
    let reference = describe(&old, "#grid > div:nth-of-type(700) > button").expect("parses").expect("one");
    let config = EngineConfig::default();
    let rounds = 20;
    let started = Instant::now();
    let mut relocation = None;
    for _ in 0..rounds {
        relocation = Some(relocate(&Reference::Observed(reference.clone()), &new, &config));
    }
    let relocation = relocation.expect("ran");
    println!(
        "relocate (score + synthesis): {:?} per call; choice {:?} confidence {:.2} css {:?}",
        started.elapsed() / rounds,
        relocation.choice,
        relocation.confidence,
        relocation.selector.map(|s| s.css)
    );
}
