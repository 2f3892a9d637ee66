//! A small XPath 1.0 subset: the paths locators actually use.
//!
//! Supported: absolute and relative location paths with `/`, `//`, `.` and `..`; name tests and `*`;
//! predicates with positions (`[2]`, `[last()]`, `[position()=2]`), attribute existence and comparison
//! (`@id='x'`, `@id!='x'`), `text()`, `.`, `normalize-space(…)`, `contains(…)`, `starts-with(…)`,
//! `not(…)`, `and`, `or`, `concat(…)` literals, and one parenthesised path with a position
//! (`(//button)[2]`). Evaluated over the page's element arena; text comparisons use the page's
//! whitespace-collapsed text.

use argus_vocabulary::ElementDescriptor;

use crate::page::Dom;

/// A parsed XPath.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct XPath {
    steps: Vec<Step>,
    /// `(path)[n]`: the n-th (1-based) result of the whole path; 0 means `last()`.
    pick: Option<usize>,
    /// The text it was parsed from.
    source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Axis {
    Child,
    Descendant,
    Parent,
    SelfNode,
}

#[derive(Debug, Clone, PartialEq)]
struct Step {
    axis: Axis,
    /// Lowercase tag; `None` for `*`.
    name: Option<String>,
    predicates: Vec<Predicate>,
}

#[derive(Debug, Clone, PartialEq)]
enum Predicate {
    Position(usize),
    Last,
    Test(Expr),
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Exists(Operand),
    Compare(Operand, Comparison, String),
    Position(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Equal,
    NotEqual,
    Contains,
    StartsWith,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Attribute(String),
    Text,
    Dot,
}

impl XPath {
    /// Parses `input`; the error is a human reason.
    pub(crate) fn parse(input: &str) -> Result<XPath, String> {
        let mut parser = Parser { input: input.trim(), pos: 0 };
        let mut path = parser.path()?;
        parser.skip_space();
        if parser.pos != parser.input.len() {
            return Err(format!("unexpected {:?} at offset {}", parser.rest(), parser.pos));
        }
        path.source = input.trim().to_owned();
        Ok(path)
    }

    /// The text it was parsed from.
    pub(crate) fn to_source(&self) -> String {
        self.source.clone()
    }

    /// Arena indices of the matched elements, in document order.
    pub(crate) fn evaluate(&self, dom: &Dom) -> Vec<usize> {
        // `None` is the document node.
        let mut context: Vec<Option<usize>> = vec![None];
        for step in &self.steps {
            let mut next: Vec<Option<usize>> = Vec::new();
            for &node in &context {
                match step.axis {
                    Axis::SelfNode => {
                        if let Some(n) = node
                            && step.accepts(dom, n)
                        {
                            next.extend(step.filter(dom, vec![n]).into_iter().map(Some));
                        }
                    }
                    Axis::Parent => {
                        if let Some(parent) = node.and_then(|n| dom.elements[n].parent)
                            && step.accepts(dom, parent)
                        {
                            next.extend(step.filter(dom, vec![parent]).into_iter().map(Some));
                        }
                    }
                    Axis::Child => {
                        let children =
                            children_of(dom, node).iter().copied().filter(|&c| step.accepts(dom, c));
                        next.extend(step.filter(dom, children.collect()).into_iter().map(Some));
                    }
                    Axis::Descendant => {
                        let mut stack = vec![node];
                        while let Some(current) = stack.pop() {
                            let children = children_of(dom, current);
                            let accepted =
                                children.iter().copied().filter(|&c| step.accepts(dom, c)).collect();
                            next.extend(step.filter(dom, accepted).into_iter().map(Some));
                            stack.extend(children.iter().rev().map(|&c| Some(c)));
                        }
                    }
                }
            }
            next.sort_unstable();
            next.dedup();
            context = next;
        }
        let mut out: Vec<usize> = context.into_iter().flatten().collect();
        if let Some(pick) = self.pick {
            let chosen = if pick == 0 { out.last().copied() } else { out.get(pick - 1).copied() };
            out = chosen.into_iter().collect();
        }
        out
    }

    /// Whether this is one `//tag[…]` step without positions, so it can be tested on a lone descriptor.
    pub(crate) fn is_descriptor_testable(&self) -> bool {
        self.pick.is_none()
            && matches!(self.steps.as_slice(), [step] if step.axis == Axis::Descendant
                && step.predicates.iter().all(|p| matches!(p, Predicate::Test(e) if !e.uses_position())))
    }

    /// Tests a one-step path against a descriptor (see [`XPath::is_descriptor_testable`]).
    pub(crate) fn matches_descriptor(&self, descriptor: &ElementDescriptor) -> bool {
        let Some(step) = self.steps.first() else { return false };
        if step.name.as_deref().is_some_and(|name| name != descriptor.tag) {
            return false;
        }
        step.predicates.iter().all(|predicate| match predicate {
            Predicate::Test(expr) => expr.test_with(&|operand| match operand {
                Operand::Attribute(name) => descriptor.attribute(name).map(|v| vec![v.to_owned()]),
                Operand::Text | Operand::Dot => Some(vec![descriptor.text.clone().unwrap_or_default()]),
            }),
            _ => false,
        })
    }

    /// The expected element: the tag and attribute/text equalities of the last step.
    pub(crate) fn expectation(&self) -> (Option<String>, Vec<(String, String)>, Option<String>) {
        let Some(step) = self.steps.last() else { return (None, Vec::new(), None) };
        let mut attributes = Vec::new();
        let mut text = None;
        for predicate in &step.predicates {
            if let Predicate::Test(expr) = predicate {
                expr.collect_equalities(&mut attributes, &mut text);
            }
        }
        (step.name.clone(), attributes, text)
    }

    /// Whether the path is a chain of `name[index]` child steps from the root (`/html[1]/body[1]/…`) or
    /// from an id anchor (`//*[@id='x']/div[1]/…`), the two shapes descriptors store.
    pub(crate) fn is_positional_chain(&self) -> bool {
        let Some((first, rest)) = self.steps.split_first() else { return false };
        let rest_positional = rest.iter().all(|s| {
            s.axis == Axis::Child
                && s.name.is_some()
                && s.predicates.iter().all(|p| matches!(p, Predicate::Position(_)))
        });
        let first_ok = match first.axis {
            Axis::Child => first.name.is_some(),
            Axis::Descendant => first.name.is_none() && first.anchor_id().is_some(),
            _ => false,
        };
        self.pick.is_none() && first_ok && rest_positional
    }

    /// Whether the first step is `//*[@id=…]`.
    pub(crate) fn starts_at_id(&self) -> bool {
        self.steps.first().is_some_and(|s| s.axis == Axis::Descendant && s.anchor_id().is_some())
    }
}

fn children_of(dom: &Dom, node: Option<usize>) -> &[usize] {
    match node {
        Some(n) => &dom.elements[n].children,
        None => &dom.roots,
    }
}

impl Step {
    fn accepts(&self, dom: &Dom, element: usize) -> bool {
        self.name.as_deref().is_none_or(|name| *dom.elements[element].tag == *name)
    }

    /// Applies the predicates in order; positions count within the list left by the previous predicate.
    fn filter(&self, dom: &Dom, mut nodes: Vec<usize>) -> Vec<usize> {
        for predicate in &self.predicates {
            let size = nodes.len();
            nodes = nodes
                .into_iter()
                .enumerate()
                .filter(|(i, node)| match predicate {
                    Predicate::Position(n) => i + 1 == *n,
                    Predicate::Last => i + 1 == size,
                    Predicate::Test(expr) => expr.test(dom, *node, i + 1),
                })
                .map(|(_, node)| node)
                .collect();
        }
        nodes
    }

    fn anchor_id(&self) -> Option<&str> {
        match self.predicates.as_slice() {
            [Predicate::Test(Expr::Compare(Operand::Attribute(name), Comparison::Equal, value))]
                if name == "id" =>
            {
                Some(value)
            }
            _ => None,
        }
    }
}

impl Expr {
    fn uses_position(&self) -> bool {
        match self {
            Expr::Position(_) => true,
            Expr::Or(all) | Expr::And(all) => all.iter().any(Expr::uses_position),
            Expr::Not(inner) => inner.uses_position(),
            _ => false,
        }
    }

    fn test(&self, dom: &Dom, element: usize, position: usize) -> bool {
        if let Expr::Position(n) = self {
            return position == *n;
        }
        self.test_with(&|operand| {
            let node = &dom.elements[element];
            match operand {
                Operand::Attribute(name) => node.attribute(name).map(|v| vec![v.to_owned()]),
                Operand::Text => Some(
                    node.direct_text.iter().map(|&(start, end)| dom.text[start..end].to_owned()).collect(),
                ),
                Operand::Dot => Some(vec![dom.element_text(element).to_owned()]),
            }
        })
    }

    /// Evaluates with `values(operand)` giving the operand's string values (`None` when absent).
    fn test_with(&self, values: &dyn Fn(&Operand) -> Option<Vec<String>>) -> bool {
        match self {
            Expr::Or(all) => all.iter().any(|e| e.test_with(values)),
            Expr::And(all) => all.iter().all(|e| e.test_with(values)),
            Expr::Not(inner) => !inner.test_with(values),
            Expr::Exists(operand) => values(operand).is_some_and(|v| !v.is_empty()),
            Expr::Position(_) => false,
            Expr::Compare(operand, comparison, literal) => {
                let found = values(operand).unwrap_or_default();
                let literal = collapse(literal);
                let hit = |value: &String| {
                    let value = collapse(value);
                    match comparison {
                        Comparison::Equal | Comparison::NotEqual => value == literal,
                        Comparison::Contains => value.contains(&literal),
                        Comparison::StartsWith => value.starts_with(&literal),
                    }
                };
                match comparison {
                    Comparison::NotEqual => found.iter().any(|v| !hit(v)),
                    _ => found.iter().any(hit),
                }
            }
        }
    }

    fn collect_equalities(&self, attributes: &mut Vec<(String, String)>, text: &mut Option<String>) {
        match self {
            Expr::And(all) => all.iter().for_each(|e| e.collect_equalities(attributes, text)),
            Expr::Compare(operand, Comparison::Equal | Comparison::Contains, value) => match operand {
                Operand::Attribute(name) => attributes.push((name.clone(), value.clone())),
                Operand::Text | Operand::Dot => *text = Some(value.clone()),
            },
            _ => {}
        }
    }
}

/// Whitespace-collapsed and trimmed (XPath comparisons here ignore layout whitespace).
fn collapse(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Parser<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.input.len() - trimmed.len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), String> {
        if self.eat(token) { Ok(()) } else { Err(format!("expected {token:?} at offset {}", self.pos)) }
    }

    fn path(&mut self) -> Result<XPath, String> {
        self.skip_space();
        if self.eat("(") {
            let inner = self.path()?;
            self.expect(")")?;
            self.expect("[")?;
            let pick = if self.eat("last()") { 0 } else { self.number()? };
            self.expect("]")?;
            if inner.pick.is_some() {
                return Err("nested parenthesised paths are not supported".into());
            }
            if pick == 0 && !self.rest().is_empty() {
                return Err("steps after a parenthesised path are not supported".into());
            }
            return Ok(XPath { steps: inner.steps, pick: Some(pick), source: String::new() });
        }
        let mut steps = Vec::new();
        let mut first = true;
        loop {
            self.skip_space();
            let axis = if self.eat("//") {
                Axis::Descendant
            } else if self.eat("/") {
                Axis::Child
            } else if first {
                // A relative path: `./div`, `.//a`, or a bare `div` (child of the document).
                if self.eat(".//") {
                    Axis::Descendant
                } else {
                    self.eat("./");
                    Axis::Child
                }
            } else {
                break;
            };
            first = false;
            steps.push(self.step(axis)?);
        }
        if steps.is_empty() {
            return Err("empty path".into());
        }
        Ok(XPath { steps, pick: None, source: String::new() })
    }

    fn step(&mut self, axis: Axis) -> Result<Step, String> {
        self.skip_space();
        if self.eat("..") {
            return Ok(Step { axis: Axis::Parent, name: None, predicates: Vec::new() });
        }
        if self.rest().starts_with('.') && !self.rest().starts_with("./") {
            self.pos += 1;
            return Ok(Step { axis: Axis::SelfNode, name: None, predicates: self.predicates()? });
        }
        let axis = if self.eat("descendant::") {
            Axis::Descendant
        } else {
            self.eat("child::");
            axis
        };
        let name = if self.eat("*") {
            None
        } else {
            let name = self.name();
            if name.is_empty() {
                return Err(format!("expected an element name at offset {}", self.pos));
            }
            Some(name.to_ascii_lowercase())
        };
        Ok(Step { axis, name, predicates: self.predicates()? })
    }

    fn predicates(&mut self) -> Result<Vec<Predicate>, String> {
        let mut predicates = Vec::new();
        while self.eat("[") {
            self.skip_space();
            let predicate = if let Ok(n) = self.peek_number() {
                self.number()?;
                Predicate::Position(n)
            } else if self.eat("last()") {
                Predicate::Last
            } else {
                Predicate::Test(self.or_expr()?)
            };
            self.expect("]")?;
            predicates.push(predicate);
        }
        Ok(predicates)
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        let mut all = vec![self.and_expr()?];
        while self.eat_keyword("or") {
            all.push(self.and_expr()?);
        }
        Ok(if all.len() == 1 { all.remove(0) } else { Expr::Or(all) })
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut all = vec![self.primary()?];
        while self.eat_keyword("and") {
            all.push(self.primary()?);
        }
        Ok(if all.len() == 1 { all.remove(0) } else { Expr::And(all) })
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        self.skip_space();
        let rest = self.rest();
        if rest.starts_with(keyword)
            && rest[keyword.len()..].starts_with(|c: char| c.is_whitespace() || c == '(')
        {
            self.pos += keyword.len();
            true
        } else {
            false
        }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        self.skip_space();
        if self.eat("not(") {
            let inner = self.or_expr()?;
            self.expect(")")?;
            return Ok(Expr::Not(Box::new(inner)));
        }
        for (function, comparison) in
            [("contains(", Comparison::Contains), ("starts-with(", Comparison::StartsWith)]
        {
            if self.eat(function) {
                let operand = self.operand()?;
                self.expect(",")?;
                let literal = self.literal()?;
                self.expect(")")?;
                return Ok(Expr::Compare(operand, comparison, literal));
            }
        }
        if self.eat("position()") {
            self.expect("=")?;
            return Ok(Expr::Position(self.number()?));
        }
        if self.eat("(") {
            let inner = self.or_expr()?;
            self.expect(")")?;
            return Ok(inner);
        }
        let operand = self.operand()?;
        if self.eat("!=") {
            return Ok(Expr::Compare(operand, Comparison::NotEqual, self.literal()?));
        }
        if self.eat("=") {
            return Ok(Expr::Compare(operand, Comparison::Equal, self.literal()?));
        }
        Ok(Expr::Exists(operand))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_space();
        if self.eat("normalize-space(") {
            let inner = if self.eat(")") {
                Operand::Dot
            } else {
                let inner = self.operand()?;
                self.expect(")")?;
                inner
            };
            return Ok(inner);
        }
        if self.eat("@") {
            let name = self.name();
            if name.is_empty() {
                return Err(format!("expected an attribute name at offset {}", self.pos));
            }
            return Ok(Operand::Attribute(name.to_ascii_lowercase()));
        }
        if self.eat("text()") {
            return Ok(Operand::Text);
        }
        if self.eat("string()") || self.eat(".") {
            return Ok(Operand::Dot);
        }
        Err(format!("unsupported expression at offset {}: {:?}", self.pos, self.rest()))
    }

    fn literal(&mut self) -> Result<String, String> {
        self.skip_space();
        if self.eat("concat(") {
            let mut out = self.literal()?;
            while self.eat(",") {
                out.push_str(&self.literal()?);
            }
            self.expect(")")?;
            return Ok(out);
        }
        let rest = self.rest();
        let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"');
        let Some(quote) = quote else {
            return Err(format!("expected a string literal at offset {}", self.pos));
        };
        let body = &rest[1..];
        let end = body.find(quote).ok_or_else(|| "unterminated string literal".to_owned())?;
        self.pos += end + 2;
        Ok(body[..end].to_owned())
    }

    fn name(&mut self) -> &'a str {
        let rest = self.rest();
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')))
            .unwrap_or(rest.len());
        self.pos += end;
        &rest[..end]
    }

    fn peek_number(&self) -> Result<usize, String> {
        let rest = self.rest().trim_start();
        let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        rest[..end].parse::<usize>().map_err(|e| e.to_string())
    }

    fn number(&mut self) -> Result<usize, String> {
        self.skip_space();
        let n = self.peek_number()?;
        let rest = self.rest();
        let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        self.pos += end;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_common_shapes() {
        for ok in [
            "/html[1]/body[1]/div[2]/a[1]",
            "//button[@data-testid='pay']",
            "//*[@id=\"cart\"]/div[1]/button[1]",
            "//a[contains(@href, '/products') and not(@hidden)]",
            "(//button)[2]",
            "//button[normalize-space()='Place order']",
            "//input[@name=concat('a', \"'\", 'b')]",
            "//li[last()]/a",
            "//div[@class='x']//span[text()='y' or @title='z']",
        ] {
            assert!(XPath::parse(ok).is_ok(), "{ok} should parse: {:?}", XPath::parse(ok));
        }
        for bad in ["", "//", "//button[", "//button[@id=unquoted]", "//a[following-sibling::b]"] {
            assert!(XPath::parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn concat_literals_join() {
        let path = XPath::parse("//input[@name=concat('a', \"'\", 'b')]").expect("parse");
        let (_, attributes, _) = path.expectation();
        assert_eq!(attributes, [("name".to_owned(), "a'b".to_owned())]);
    }
}
