//! YAML documents → rule model. The builder reports only what stops it from building the model (structure and
//! types: a map where a string belongs, an unknown modifier, a condition that does not parse, a malformed
//! correlation); every other finding (status, dates, tags, unused identifiers, regexes, ...) is a check of the
//! linter in `sigil_check`, which reads the model together with the YAML nodes kept in [`crate::ParsedFile`].

use sigil_diagnostics::{Diagnostic, Fix, Position, Span};

use crate::codes;
use crate::condition::{Condition, parse_expr};
use crate::model::*;
use crate::modifiers::{self, Modifier, check_chain};
use crate::yaml::{Node, NodeValue};

/// Builds documents and reports what is wrong with them. `source` is the file text, used to place positions
/// inside quoted scalars exactly.
pub(crate) struct Builder<'a> {
    pub source: &'a str,
    pub diagnostics: Vec<Diagnostic>,
}

const META_KEYS: &[&str] = &[
    "title",
    "id",
    "name",
    "related",
    "taxonomy",
    "status",
    "description",
    "license",
    "author",
    "references",
    "date",
    "modified",
    "tags",
    "level",
    "fields",
    "falsepositives",
    "scope",
];

impl Builder<'_> {
    fn error(&mut self, code: sigil_diagnostics::Code, pos: Position, msg: impl Into<String>) {
        self.diagnostics.push(Diagnostic::error(code, pos, msg));
    }

    /// Position of the character `offset` characters into the scalar written at `pos`, skipping an opening
    /// quote. Exact for single-line plain and quoted scalars, which is what keys and conditions are.
    fn inner_pos(&self, pos: Position, offset: usize) -> Position {
        let line = self.source.lines().nth(pos.line.saturating_sub(1) as usize).unwrap_or("");
        let quote = line.chars().nth(pos.column.saturating_sub(1) as usize);
        let skip = usize::from(matches!(quote, Some('\'' | '"')));
        pos.shifted(offset + skip)
    }

    pub(crate) fn document(&mut self, node: &Node) -> Option<Document> {
        let Some(map) = node.as_map() else {
            self.error(codes::NOT_A_RULE, node.pos, format!("a Sigma document must be a map, found {}", node.kind()));
            return None;
        };
        let has = |k: &str| map.iter().any(|(key, _)| key.as_str() == Some(k));
        if has("correlation") {
            self.correlation(node).map(Document::Correlation)
        } else if has("filter") {
            self.filter(node).map(Document::Filter)
        } else {
            self.rule(node).map(Document::Rule)
        }
    }

    fn rule(&mut self, node: &Node) -> Option<Rule> {
        let meta = self.meta(node, &["logsource", "detection"]);
        let logsource = match node.get("logsource") {
            Some(ls) => self.logsource(ls),
            None => {
                self.error(codes::MISSING_FIELD, node.pos, "missing required attribute 'logsource'");
                Logsource::default()
            }
        };
        let detection = match node.get("detection") {
            Some(d) => self.detection(d, "detection"),
            None => {
                self.error(codes::MISSING_FIELD, node.pos, "missing required attribute 'detection'");
                Detection::default()
            }
        };
        Some(Rule { meta, logsource, detection })
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            NodeValue::String(s) => Some(s.clone()),
            // Numbers and booleans in free-text attributes are read as text, like YAML 1.1 loaders do.
            NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_) => node.scalar_text(),
            NodeValue::Null => None,
            _ => {
                self.error(codes::WRONG_TYPE, node.pos, format!("'{what}' must be a string, found {}", node.kind()));
                None
            }
        }
    }

    fn string_list(&mut self, node: &Node, what: &str) -> Vec<(String, Position)> {
        match &node.value {
            NodeValue::Seq(items) => items
                .iter()
                .filter_map(|i| {
                    if matches!(i.value, NodeValue::Seq(_) | NodeValue::Map(_)) {
                        self.error(
                            codes::WRONG_TYPE,
                            i.pos,
                            format!("items of '{what}' must be strings, found {}", i.kind()),
                        );
                        None
                    } else {
                        i.scalar_text().map(|s| (s, i.pos))
                    }
                })
                .collect(),
            NodeValue::Null => vec![],
            NodeValue::Map(_) => {
                self.error(codes::WRONG_TYPE, node.pos, format!("'{what}' must be a list of strings, found a map"));
                vec![]
            }
            _ => node.scalar_text().map(|s| vec![(s, node.pos)]).unwrap_or_default(),
        }
    }

    fn meta(&mut self, node: &Node, own_keys: &[&str]) -> Meta {
        let mut meta = Meta { pos: node.pos, ..Meta::default() };
        match node.get("title") {
            Some(t) => meta.title = self.string(t, "title").unwrap_or_default(),
            None => self.error(codes::MISSING_FIELD, node.pos, "missing required attribute 'title'"),
        }
        if let Some(n) = node.get("id")
            && let Some(id) = self.string(n, "id")
        {
            meta.id = Some(id);
            meta.id_pos = n.pos;
        }
        if let Some(n) = node.get("name") {
            meta.name = self.string(n, "name");
            meta.name_pos = n.pos;
        }
        meta.taxonomy = node.get("taxonomy").and_then(|n| self.string(n, "taxonomy"));
        meta.description = node.get("description").and_then(|n| self.string(n, "description"));
        meta.license = node.get("license").and_then(|n| self.string(n, "license"));
        meta.author = node.get("author").and_then(|n| match &n.value {
            // Some rules list several authors; join them as the specification's comma-separated form.
            NodeValue::Seq(_) => {
                Some(self.string_list(n, "author").into_iter().map(|(s, _)| s).collect::<Vec<_>>().join(", "))
            }
            _ => self.string(n, "author"),
        });
        if let Some(n) = node.get("status")
            && let Some(s) = self.string(n, "status")
        {
            meta.status = Status::from_name(&s);
        }
        if let Some(n) = node.get("level")
            && let Some(s) = self.string(n, "level")
        {
            meta.level = Level::from_name(&s);
        }
        for key in ["date", "modified"] {
            if let Some(n) = node.get(key)
                && let Some(s) = self.string(n, key)
            {
                if key == "date" { meta.date = Some(s) } else { meta.modified = Some(s) }
            }
        }
        if let Some(n) = node.get("references") {
            meta.references = self.string_list(n, "references").into_iter().map(|(s, _)| s).collect();
        }
        if let Some(n) = node.get("fields") {
            meta.fields = self.string_list(n, "fields").into_iter().map(|(s, _)| s).collect();
        }
        if let Some(n) = node.get("falsepositives") {
            meta.falsepositives = self.string_list(n, "falsepositives").into_iter().map(|(s, _)| s).collect();
        }
        if let Some(n) = node.get("scope") {
            meta.scope = self.string_list(n, "scope").into_iter().map(|(s, _)| s).collect();
        }
        if let Some(n) = node.get("tags") {
            let tags = self.string_list(n, "tags");
            meta.tags = Self::tags(tags);
        }
        if let Some(n) = node.get("related") {
            meta.related = self.related(n);
        }
        for (k, v) in node.as_map().unwrap_or(&[]) {
            let Some(key) = k.as_str() else { continue };
            if !META_KEYS.contains(&key) && !own_keys.contains(&key) {
                meta.custom.push((key.to_string(), v.to_json()));
            }
        }
        meta
    }

    /// Tags of the form `namespace.name`, each once; the linter reports malformed and duplicate tags.
    fn tags(tags: Vec<(String, Position)>) -> Vec<Tag> {
        let mut out: Vec<Tag> = Vec::with_capacity(tags.len());
        for (text, pos) in tags {
            let Some((namespace, name)) = text.split_once('.') else { continue };
            if out.iter().any(|t| t.namespace == namespace && t.name == name) {
                continue;
            }
            out.push(Tag { namespace: namespace.to_string(), name: name.to_string(), pos });
        }
        out
    }

    fn related(&mut self, node: &Node) -> Vec<Related> {
        let Some(items) = node.as_seq() else {
            self.error(codes::WRONG_TYPE, node.pos, format!("'related' must be a list, found {}", node.kind()));
            return vec![];
        };
        let mut out = Vec::new();
        for item in items {
            // Entries without id or with an unknown type are left out; the linter reports them.
            let (Some(id), Some(kind)) = (item.get("id"), item.get("type")) else { continue };
            let id_text = id.scalar_text().unwrap_or_default();
            let kind_text = kind.scalar_text().unwrap_or_default();
            if let Some(k) = RelationKind::from_name(&kind_text) {
                out.push(Related { id: id_text, kind: k });
            }
        }
        out
    }

    fn logsource(&mut self, node: &Node) -> Logsource {
        let mut ls = Logsource { pos: node.pos, ..Logsource::default() };
        let Some(map) = node.as_map() else {
            self.error(codes::WRONG_TYPE, node.pos, format!("'logsource' must be a map, found {}", node.kind()));
            return ls;
        };
        for (k, v) in map {
            let Some(key) = k.as_str() else { continue };
            let Some(value) = self.string(v, key) else { continue };
            match key {
                "category" => ls.category = Some(value),
                "product" => ls.product = Some(value),
                "service" => ls.service = Some(value),
                "definition" => ls.definition = Some(value),
                _ => ls.custom.push((key.to_string(), value)),
            }
        }
        ls
    }

    /// Parses a detection map (`detection:` of a rule, or `filter:` without its `rules` key).
    fn detection(&mut self, node: &Node, what: &str) -> Detection {
        let mut det = Detection { pos: node.pos, ..Detection::default() };
        let Some(map) = node.as_map() else {
            self.error(codes::WRONG_TYPE, node.pos, format!("'{what}' must be a map, found {}", node.kind()));
            return det;
        };
        let mut condition_nodes: Vec<&Node> = Vec::new();
        for (k, v) in map {
            let Some(name) = k.as_str() else {
                self.error(codes::BAD_SEARCH, k.pos, "search identifier names must be strings");
                continue;
            };
            match name {
                "condition" => match &v.value {
                    NodeValue::Seq(items) => condition_nodes.extend(items.iter()),
                    _ => condition_nodes.push(v),
                },
                "rules" if what == "filter" => {}
                "timeframe" => det.timeframe = self.string(v, "timeframe"),
                _ => {
                    if name.is_empty() {
                        self.error(codes::BAD_SEARCH, k.pos, "search identifier name is empty");
                        continue;
                    }
                    if let Some(body) = self.search_body(v, name) {
                        det.searches.push(Search { name: name.to_string(), body, pos: k.pos });
                    }
                }
            }
        }
        for c in condition_nodes {
            let Some(text) = c.as_str() else {
                self.error(codes::WRONG_TYPE, c.pos, format!("a condition must be a string, found {}", c.kind()));
                continue;
            };
            match parse_expr(text) {
                Ok(expr) => {
                    det.conditions.push(Condition { text: text.to_string(), expr, pos: c.pos });
                }
                Err(e) => {
                    let code = if e.message.contains("Sigma 1") {
                        codes::OBSOLETE_AGGREGATION
                    } else {
                        codes::CONDITION_SYNTAX
                    };
                    let mut d = Diagnostic::error(code, self.inner_pos(c.pos, e.offset), e.message);
                    d.help = e.help;
                    self.diagnostics.push(d);
                }
            }
        }
        det
    }

    fn search_body(&mut self, node: &Node, name: &str) -> Option<SearchBody> {
        match &node.value {
            NodeValue::Map(entries) => {
                if entries.is_empty() {
                    self.error(codes::BAD_SEARCH, node.pos, format!("search identifier '{name}' is empty"));
                    return None;
                }
                Some(SearchBody::AllOf(self.field_items(entries)))
            }
            NodeValue::Seq(items) => {
                if items.is_empty() {
                    self.error(codes::BAD_SEARCH, node.pos, format!("search identifier '{name}' is an empty list"));
                    return None;
                }
                let maps = items.iter().filter(|i| matches!(i.value, NodeValue::Map(_))).count();
                if maps == items.len() {
                    let groups = items
                        .iter()
                        .filter_map(|i| {
                            let entries = i.as_map()?;
                            if entries.is_empty() {
                                self.error(codes::BAD_SEARCH, i.pos, "empty map in a list of maps");
                                return None;
                            }
                            Some(self.field_items(entries))
                        })
                        .collect();
                    Some(SearchBody::AnyOf(groups))
                } else if maps == 0 {
                    let values = self.values(node, &[]);
                    Some(SearchBody::Keywords(FieldItem { field: None, modifiers: vec![], values, pos: node.pos }))
                } else {
                    self.error(
                        codes::BAD_SEARCH,
                        node.pos,
                        format!("search identifier '{name}' mixes maps and plain values in one list"),
                    );
                    None
                }
            }
            NodeValue::Null => {
                self.error(codes::BAD_SEARCH, node.pos, format!("search identifier '{name}' is empty"));
                None
            }
            _ => {
                let values = self.values(node, &[]);
                Some(SearchBody::Keywords(FieldItem { field: None, modifiers: vec![], values, pos: node.pos }))
            }
        }
    }

    fn field_items(&mut self, entries: &[(Node, Node)]) -> Vec<FieldItem> {
        let mut items = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let Some(key) = k.scalar_text() else {
                self.error(codes::BAD_SEARCH, k.pos, "field names must be strings");
                continue;
            };
            let mut parts = key.split('|');
            let field = parts.next().unwrap_or_default();
            let mut modifiers = Vec::new();
            let mut offset = field.chars().count() + 1;
            let mut bad = false;
            for m in parts {
                match Modifier::from_name(m) {
                    Some(m) => modifiers.push(m),
                    None => {
                        let pos = self.inner_pos(k.pos, offset);
                        let mut d = Diagnostic::error(codes::UNKNOWN_MODIFIER, pos, format!("unknown modifier '{m}'"));
                        // The modifier's bytes, when the key is written literally (plain or quoted without escapes).
                        let span = sigil_diagnostics::LineIndex::new(self.source)
                            .offset(pos)
                            .map(|start| Span::new(start, start + m.len()))
                            .filter(|sp| sp.slice(self.source) == Some(m));
                        if let Some(span) = span {
                            d = d.with_span(span);
                        }
                        if let Some(s) = modifiers::suggest(m) {
                            d = d.with_help(format!("did you mean '{s}'?"));
                            if let (Some(span), Some(unique)) = (span, modifiers::suggest_unique(m)) {
                                d = d.with_fix(Fix::replace(format!("replace '{m}' with '{unique}'"), span, unique));
                            }
                        }
                        self.diagnostics.push(d);
                        bad = true;
                    }
                }
                offset += m.chars().count() + 1;
            }
            if bad {
                continue;
            }
            if let Err(e) = check_chain(&modifiers) {
                // Point at the offending modifier inside the key.
                let before: usize = key.split('|').take(e.index + 1).map(|p| p.chars().count() + 1).sum::<usize>();
                self.error(codes::INVALID_MODIFIER_CHAIN, self.inner_pos(k.pos, before), e.message);
                continue;
            }
            let field = if field.is_empty() { None } else { Some(field.to_string()) };
            if field.is_none() && modifiers.iter().any(|m| matches!(m, Modifier::Exists | Modifier::FieldRef)) {
                self.error(codes::INVALID_MODIFIER_CHAIN, k.pos, "'exists' and 'fieldref' need a field name");
                continue;
            }
            let values = self.values(v, &modifiers);
            items.push(FieldItem { field, modifiers, values, pos: k.pos });
        }
        items
    }

    /// Reads the value(s) of a field item and checks them against what the modifier chain expects.
    fn values(&mut self, node: &Node, modifiers: &[Modifier]) -> Vec<Value> {
        let nodes: Vec<&Node> = match &node.value {
            NodeValue::Seq(items) if items.is_empty() => {
                // pySigma reads `Field: []` as null.
                return vec![Value { kind: ValueKind::Null, pos: node.pos }];
            }
            NodeValue::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let expand = modifiers.contains(&Modifier::Expand);
        let mut out = Vec::with_capacity(nodes.len());
        for n in nodes {
            let kind = match &n.value {
                NodeValue::Null => ValueKind::Null,
                NodeValue::Bool(b) => ValueKind::Bool(*b),
                NodeValue::Int(i) => ValueKind::Int(*i),
                NodeValue::Float(f) => ValueKind::Float(*f),
                NodeValue::String(s) => ValueKind::String(SigmaString::parse(s, expand)),
                NodeValue::Seq(_) | NodeValue::Map(_) => {
                    self.error(codes::BAD_SEARCH, n.pos, format!("a value must be a scalar, found {}", n.kind()));
                    continue;
                }
            };
            out.push(Value { kind, pos: n.pos });
        }
        out
    }

    fn correlation(&mut self, node: &Node) -> Option<CorrelationRule> {
        let meta = self.meta(node, &["correlation"]);
        let c = node.get("correlation")?;
        if c.as_map().is_none() {
            self.error(codes::WRONG_TYPE, c.pos, format!("'correlation' must be a map, found {}", c.kind()));
            return None;
        }
        let kind = match c.get("type") {
            Some(t) => {
                let text = t.scalar_text().unwrap_or_default();
                let k = CorrelationType::from_name(&text);
                if k.is_none() {
                    self.diagnostics.push(
                        Diagnostic::error(codes::BAD_CORRELATION, t.pos, format!("unknown correlation type '{text}'"))
                            .with_help("use event_count, value_count, temporal, temporal_ordered, value_sum, value_avg or value_percentile"),
                    );
                }
                k
            }
            None => {
                self.error(codes::BAD_CORRELATION, c.pos, "correlation has no 'type'");
                None
            }
        };
        let rules = match c.get("rules") {
            Some(r) => self.string_list(r, "rules"),
            None => {
                self.error(codes::BAD_CORRELATION, c.pos, "correlation has no 'rules'");
                vec![]
            }
        };
        let group_by = c
            .get("group-by")
            .map(|g| self.string_list(g, "group-by"))
            .unwrap_or_default()
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        let timespan = match c.get("timespan").or_else(|| c.get("timeframe")) {
            Some(t) => {
                let text = t.scalar_text().unwrap_or_default();
                let ts = Timespan::parse(&text);
                if ts.is_none() {
                    self.diagnostics.push(
                        Diagnostic::error(
                            codes::BAD_CORRELATION,
                            t.pos,
                            format!("timespan '{text}' is not <number><unit>"),
                        )
                        .with_help("units: s, m, h, d (e.g. 5m)"),
                    );
                }
                ts
            }
            None => {
                self.error(codes::BAD_CORRELATION, c.pos, "correlation has no 'timespan'");
                None
            }
        };
        let condition = c.get("condition").and_then(|n| self.correlation_condition(n, kind));
        if condition.is_none() && kind.is_some_and(|k| !k.is_temporal()) && c.get("condition").is_none() {
            self.error(codes::BAD_CORRELATION, c.pos, "correlation of this type needs a 'condition'");
        }
        if let (Some(k), Some(cond)) = (kind, &condition)
            && k.needs_field()
            && cond.field.is_none()
        {
            self.error(codes::BAD_CORRELATION, cond.pos, format!("a {} condition needs 'field'", k.as_str()));
        }
        let aliases = c.get("aliases").map(|a| self.aliases(a)).unwrap_or_default();
        let generate = match c.get("generate") {
            Some(Node { value: NodeValue::Bool(b), .. }) => *b,
            Some(other) => {
                self.error(codes::BAD_CORRELATION, other.pos, "'generate' must be true or false");
                false
            }
            None => false,
        };
        Some(CorrelationRule {
            meta,
            correlation: Correlation {
                kind: kind.unwrap_or(CorrelationType::EventCount),
                rules,
                group_by,
                timespan,
                condition,
                aliases,
                generate,
                pos: c.pos,
            },
        })
    }

    fn correlation_condition(&mut self, node: &Node, kind: Option<CorrelationType>) -> Option<CorrelationCondition> {
        let mut cond = CorrelationCondition { pos: node.pos, ..CorrelationCondition::default() };
        if let Some(text) = node.as_str() {
            if !kind.is_some_and(CorrelationType::is_temporal) {
                self.error(codes::BAD_CORRELATION, node.pos, "only temporal correlations take a condition expression");
                return None;
            }
            if let Err(e) = parse_expr(text) {
                self.error(codes::BAD_CORRELATION, self.inner_pos(node.pos, e.offset), e.message);
                return None;
            }
            cond.expression = Some(text.to_string());
            return Some(cond);
        }
        let Some(map) = node.as_map() else {
            self.error(codes::BAD_CORRELATION, node.pos, format!("condition must be a map, found {}", node.kind()));
            return None;
        };
        for (k, v) in map {
            let key = k.as_str().unwrap_or_default();
            if let Some(op) = crate::model::CmpOp::from_name(key) {
                match &v.value {
                    NodeValue::Int(i) => cond.comparisons.push((op, *i as f64)),
                    NodeValue::Float(f) => cond.comparisons.push((op, *f)),
                    _ => {
                        self.error(codes::BAD_CORRELATION, v.pos, format!("'{key}' takes a number, found {}", v.kind()))
                    }
                }
            } else if key == "field" {
                cond.field = self.string(v, "field");
            } else if key == "percentile" {
                cond.percentile = v.scalar_text().and_then(|s| s.parse().ok());
            } else {
                self.error(codes::BAD_CORRELATION, k.pos, format!("unknown condition key '{key}'"));
            }
        }
        match cond.comparisons.len() {
            0 => self.error(codes::BAD_CORRELATION, node.pos, "condition needs one of gt, gte, lt, lte, eq, neq"),
            1 | 2 => {}
            _ => self.error(codes::BAD_CORRELATION, node.pos, "condition has more than two comparisons"),
        }
        Some(cond)
    }

    fn aliases(&mut self, node: &Node) -> Vec<Alias> {
        let Some(map) = node.as_map() else {
            self.error(codes::BAD_CORRELATION, node.pos, "'aliases' must be a map");
            return vec![];
        };
        map.iter()
            .filter_map(|(k, v)| {
                let name = k.scalar_text()?;
                let Some(fields) = v.as_map() else {
                    self.error(codes::BAD_CORRELATION, v.pos, format!("alias '{name}' must map rule names to fields"));
                    return None;
                };
                let fields = fields.iter().filter_map(|(r, f)| Some((r.scalar_text()?, f.scalar_text()?))).collect();
                Some(Alias { name, fields })
            })
            .collect()
    }

    fn filter(&mut self, node: &Node) -> Option<FilterRule> {
        let meta = self.meta(node, &["logsource", "filter"]);
        let logsource = match node.get("logsource") {
            Some(ls) => self.logsource(ls),
            None => {
                self.error(codes::MISSING_FIELD, node.pos, "missing required attribute 'logsource'");
                Logsource::default()
            }
        };
        let f = node.get("filter")?;
        let rules = match f.get("rules") {
            Some(r) if r.as_str() == Some("any") => vec![],
            Some(r) => self.string_list(r, "rules"),
            None => {
                self.error(codes::BAD_FILTER, f.pos, "filter has no 'rules' (use 'any' for every rule)");
                vec![]
            }
        };
        let detection = self.detection(f, "filter");
        Some(FilterRule { meta, logsource, rules, detection })
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

/// `8-4-4-4-12` hexadecimal digits, as the JSON schema's `format: uuid`.
pub fn is_uuid(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok() && s.len() == 36
}

/// `YYYY-MM-DD` with month 01-12 and day 01-31 (the JSON schema's pattern), and a real calendar day.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).filter(|p| all_digits(p)).and_then(|p| p.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else { return false };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// Parses a `cidr` value: a network (`10.0.0.0/8`, `fe80::/10`) or a single address.
pub fn parse_network(s: &str) -> Option<ipnet::IpNet> {
    s.parse::<ipnet::IpNet>().ok().or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

/// The largest compiled regex accepted. Unicode classes make `\w{1,64}` (SigmaHQ uses it) a few MiB; the limit
/// bounds memory for hostile patterns while keeping such rules.
pub const REGEX_SIZE_LIMIT: usize = 32 << 20;

/// Compiles a `re` value with its flag modifiers, as the engine will.
///
/// # Errors
/// The regex crate's error (syntax, or the compiled size over [`REGEX_SIZE_LIMIT`]).
pub fn compile_regex(pattern: &str, modifiers: &[Modifier]) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(modifiers.contains(&Modifier::ReIgnoreCase))
        .multi_line(modifiers.contains(&Modifier::ReMultiline))
        .dot_matches_new_line(modifiers.contains(&Modifier::ReDotAll))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// Checks a `re` value as [`compile_regex`] would build it, failing exactly when that fails and with the same
/// error text, but without building the regex when building cannot fail: the pattern is parsed with the regex
/// crate's own parser and options (a syntax error is its error, word for word), and only a pattern whose
/// compiled form could come near [`REGEX_SIZE_LIMIT`] is built to find out. The engine builds each regex when
/// it is first used.
///
/// # Errors
/// The regex crate's error, as `compile_regex(..)` would give it (a syntax error as [`regex::Error::Syntax`] with
/// the same text).
pub fn check_regex(pattern: &str, modifiers: &[Modifier]) -> Result<(), regex::Error> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(modifiers.contains(&Modifier::ReIgnoreCase))
        .multi_line(modifiers.contains(&Modifier::ReMultiline))
        .dot_matches_new_line(modifiers.contains(&Modifier::ReDotAll))
        .build()
        .parse(pattern)
        .map_err(|e| regex::Error::Syntax(e.to_string()))?;
    if nfa_units(&hir).saturating_mul(BYTES_PER_UNIT) <= REGEX_SIZE_LIMIT as u64 / BOUND_MARGIN {
        return Ok(());
    }
    compile_regex(pattern, modifiers).map(drop)
}

/// Bytes of compiled program per unit of [`nfa_units`], generously: a unit is one state of the regex crate's
/// Thompson NFA with one byte-range transition (a few dozen bytes).
const BYTES_PER_UNIT: u64 = 64;
/// How far below the size limit a pattern's bound must stay to be accepted without building it.
const BOUND_MARGIN: u64 = 4;

/// An upper bound of the states of a pattern's compiled program: every literal byte and every byte range of the
/// UTF-8 sequences of its classes, with repetitions multiplied out (`x{2,5}` compiles to five copies of `x`).
/// It over-counts (the compiler shares common suffixes); only its being an upper bound matters.
fn nfa_units(hir: &regex_syntax::hir::Hir) -> u64 {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(l) => l.0.len() as u64 + 1,
        HirKind::Class(Class::Unicode(c)) => c
            .ranges()
            .iter()
            .map(|r| 4 * regex_syntax::utf8::Utf8Sequences::new(r.start(), r.end()).count() as u64)
            .fold(1, u64::saturating_add),
        HirKind::Class(Class::Bytes(c)) => c.ranges().len() as u64 + 1,
        HirKind::Repetition(r) => {
            let copies = r.max.unwrap_or(r.min.saturating_add(1)).max(r.min).max(1);
            nfa_units(&r.sub).saturating_mul(u64::from(copies)).saturating_add(1)
        }
        HirKind::Capture(c) => nfa_units(&c.sub).saturating_add(2),
        HirKind::Concat(hs) | HirKind::Alternation(hs) => {
            hs.iter().map(nfa_units).fold(hs.len() as u64 + 1, u64::saturating_add)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(is_date("2024-09-22"));
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2023-02-29"));
        assert!(!is_date("2024/09/22"));
        assert!(!is_date("2024-1-01"));
        assert!(!is_date("2024-13-01"));
        assert!(!is_date("2024-00-01"));
        assert!(!is_date("２０２４-01-01"));
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("74a2b202-73e0-4693-9a3a-9d36146d0775"));
        assert!(!is_uuid("74a2b20273e046939a3a9d36146d0775"));
        assert!(!is_uuid("not-a-uuid"));
    }

    /// `check_regex` accepts and rejects what `compile_regex` does, with the same text, on both sides of the
    /// bound under which it does not build the regex.
    #[test]
    fn check_regex_agrees_with_building() {
        let cases: &[(&str, &[Modifier])] = &[
            (r"\\(?:cmd|powershell)\.exe$", &[]),
            ("a(b", &[]),
            ("[z-a]", &[]),
            (r"\p{NoSuchClass}", &[]),
            (r"(?-u:\xFF)", &[]),
            ("(?i)ünïcödé+", &[Modifier::ReIgnoreCase]),
            (r"^.*\n", &[Modifier::ReMultiline, Modifier::ReDotAll]),
            (r"\w{1,64}", &[]),
            (r"\w{1,64}", &[Modifier::ReIgnoreCase]),
            // Far over the limit: reported through the build the bound cannot skip.
            (r"(\w{1,100}){1,100}", &[]),
            // A million bytes of literal: over the bound, yet the regex crate builds it (a literal search).
            ("(a{1000}){1000}", &[]),
            ("a{1001}", &[]),
        ];
        for (pattern, modifiers) in cases {
            let built = compile_regex(pattern, modifiers).map(drop).map_err(|e| e.to_string());
            assert_eq!(check_regex(pattern, modifiers).map_err(|e| e.to_string()), built, "{pattern} {modifiers:?}");
        }
        let too_big = check_regex(r"(\w{1,100}){1,100}", &[]).unwrap_err().to_string();
        assert!(too_big.contains("size limit"), "the size limit is still enforced: {too_big}");
        assert!(check_regex("a(b", &[]).is_err());
    }

    #[test]
    fn networks() {
        assert!(parse_network("10.0.0.0/8").is_some());
        assert!(parse_network("fe80::/10").is_some());
        assert!(parse_network("127.0.0.1").is_some());
        assert!(parse_network("10.0.0.0/33").is_none());
        assert!(parse_network("hello").is_none());
    }
}
