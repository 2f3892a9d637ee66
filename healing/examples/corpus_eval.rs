//! Evaluates the engine on the corpus written by `make_corpus`, broken down by split, reference kind,
//! page form and mutation, so accuracy work can see where the misses are.
//!
//! Run with `cargo run -p argus-healing --release --example corpus_eval [-- CASES.jsonl ...]`
//! (default: `healing/corpus/cases.jsonl` and `healing/corpus/heldout.jsonl`). Add `--misses N` to
//! print the first N wrong or missed cases of each file, `--rank-misses N` to print the first N cases
//! whose best-ranked candidate is not the expected one (reference, expected and chosen descriptors), and
//! `--hand-ranking` to rank with the hand weights instead of the learned model.

use std::collections::BTreeMap;
use std::time::Instant;

use argus_healing::{EngineConfig, RankingModel, Relocation, relocate};

#[path = "support/corpus_case.rs"]
mod corpus_case;
use corpus_case::read_case;

#[derive(Default)]
struct Tally {
    n: usize,
    n_element: usize,
    top1: usize,
    wrong: usize,
    abstained: usize,
    answered: [usize; 3],
    correct: [usize; 3],
}

const THRESHOLDS: [f64; 3] = [0.5, 0.7, 0.9];

impl Tally {
    fn add(&mut self, expected: Option<usize>, relocation: &Relocation) {
        self.n += 1;
        if expected.is_some() {
            self.n_element += 1;
            if relocation.ranked.first().map(|r| r.index) == expected {
                self.top1 += 1;
            }
        }
        match relocation.choice {
            None => self.abstained += 1,
            Some(choice) if Some(choice) != expected => self.wrong += 1,
            Some(_) => {}
        }
        for (i, threshold) in THRESHOLDS.iter().enumerate() {
            if relocation.choice.is_some() && relocation.confidence >= *threshold {
                self.answered[i] += 1;
                if relocation.choice == expected {
                    self.correct[i] += 1;
                }
            }
        }
    }

    fn line(&self) -> String {
        let pct = |a: usize, b: usize| if b == 0 { f64::NAN } else { 100.0 * a as f64 / b as f64 };
        let mut out = format!(
            "n {:5}  top1 {:5.1}  wrong {:5.1}  abstain {:5.1}",
            self.n,
            pct(self.top1, self.n_element),
            pct(self.wrong, self.n),
            pct(self.abstained, self.n)
        );
        for (i, threshold) in THRESHOLDS.iter().enumerate() {
            out.push_str(&format!(
                "  p@{:.1} {:5.1}/c {:5.1}",
                threshold,
                pct(self.correct[i], self.answered[i]),
                pct(self.answered[i], self.n)
            ));
        }
        out
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut misses = 0usize;
    if let Some(at) = args.iter().position(|a| a == "--misses") {
        misses = args.get(at + 1).and_then(|n| n.parse().ok()).unwrap_or(10);
        args.drain(at..(at + 2).min(args.len()));
    }
    let mut rank_misses = 0usize;
    if let Some(at) = args.iter().position(|a| a == "--rank-misses") {
        rank_misses = args.get(at + 1).and_then(|n| n.parse().ok()).unwrap_or(10);
        args.drain(at..(at + 2).min(args.len()));
    }
    if args.is_empty() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus");
        args = vec![format!("{dir}/cases.jsonl"), format!("{dir}/heldout.jsonl")];
    }
    let hand_ranking = args.iter().any(|a| a == "--hand-ranking");
    args.retain(|a| a != "--hand-ranking");
    let config = EngineConfig {
        ranking_model: if hand_ranking { RankingModel::Hand } else { RankingModel::Learned },
        ..EngineConfig::default()
    };
    for path in args {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        let mut total = Tally::default();
        let mut by_tag: BTreeMap<String, Tally> = BTreeMap::new();
        let mut printed = 0;
        let mut rank_printed = 0;
        let mut elapsed = std::time::Duration::ZERO;
        for line in text.lines() {
            let started = Instant::now();
            let Some(case) = read_case(line) else {
                eprintln!("unreadable case");
                continue;
            };
            let relocation = relocate(&case.reference, &case.page, &config);
            elapsed += started.elapsed();
            total.add(case.expected, &relocation);
            if let Some(expected) = case.expected {
                // A candidate identical to the expected one (every descriptor field and visibility): no
                // information in the case separates them, so even a perfect engine is right 1 time in k.
                let candidates = case.page.candidates();
                let twins = candidates
                    .iter()
                    .enumerate()
                    .filter(|(i, c)| {
                        *i != expected
                            && c.visible == candidates[expected].visible
                            && c.descriptor == candidates[expected].descriptor
                    })
                    .count();
                let key = if twins == 0 { "twins:none" } else { "twins:identical-candidates" };
                by_tag.entry(key.to_owned()).or_default().add(case.expected, &relocation);
            }
            for tag in &case.tags {
                by_tag.entry(tag.clone()).or_default().add(case.expected, &relocation);
            }
            let best = relocation.ranked.first().map(|r| r.index);
            if rank_printed < rank_misses && case.expected.is_some() && best != case.expected {
                rank_printed += 1;
                let compact = |d: &argus_vocabulary::ElementDescriptor| {
                    let mut v = serde_json::to_value(d).unwrap_or_default();
                    if let Some(map) = v.as_object_mut() {
                        map.retain(|_, value| !value.is_null());
                    }
                    v.to_string()
                };
                let score_of =
                    |i: usize| relocation.ranked.iter().find(|r| r.index == i).map_or(f64::NAN, |r| r.score);
                let reference = match &case.reference {
                    argus_healing::Reference::Observed(d) => compact(d),
                    argus_healing::Reference::LocatorOnly(l) => format!("locator {l}"),
                };
                println!("RANK-MISS {} {:?} conf {:.2}", case.id, case.tags, relocation.confidence);
                println!("   ref  {reference}");
                if let Some(e) = case.expected {
                    let c = &case.page.candidates()[e];
                    println!(
                        "   want {e} score {:.3} vis {} {}",
                        score_of(e),
                        c.visible,
                        compact(&c.descriptor)
                    );
                }
                if let Some(b) = best {
                    let c = &case.page.candidates()[b];
                    println!(
                        "   got  {b} score {:.3} vis {} {}",
                        score_of(b),
                        c.visible,
                        compact(&c.descriptor)
                    );
                }
            }
            if printed < misses && relocation.choice.is_some() && relocation.choice != case.expected {
                printed += 1;
                let show = |i: Option<usize>| {
                    i.map_or("none".to_owned(), |i| {
                        let d = &case.page.candidates()[i].descriptor;
                        format!("{i} <{}> {:?} {:?}", d.tag, d.text, d.class)
                    })
                };
                println!(
                    "MISS {} {:?} expected {} got {} conf {:.2}\n   {}",
                    case.id,
                    case.tags,
                    show(case.expected),
                    show(relocation.choice),
                    relocation.confidence,
                    relocation.rationale
                );
            }
        }
        println!("== {path}");
        println!("{:28} {}", "all", total.line());
        println!(
            "{:28} {:.2} ms per case (parse + relocate)",
            "time",
            elapsed.as_secs_f64() * 1e3 / total.n as f64
        );
        for (tag, tally) in &by_tag {
            println!("{tag:28} {}", tally.line());
        }
    }
}
