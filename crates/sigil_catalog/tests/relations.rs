//! Pages link to each other: related rules, correlations, filters; several sources count separately.

use sigil_catalog::{Catalog, CatalogOptions, CoverageGap, Facet, IndicatorKey, Kind, RuleKind, SearchQuery};

const BASE: &str = r"
title: Whoami as SYSTEM
id: 11111111-1111-4111-8111-111111111111
name: whoami_system
status: test
level: high
author: Alice, Bob
tags: [attack.discovery, attack.t1033]
logsource: {product: windows, category: process_creation}
detection:
    selection:
        Image|endswith: '\whoami.exe'
        User|contains: 'SYSTEM'
    filter_main_admin:
        - ParentImage: 'C:\Windows\explorer.exe'
        - ParentImage|startswith: 'C:\Program Files\'
    condition: selection and not 1 of filter_main_*
";

const RELATED: &str = r"
title: Whoami Renamed
id: 22222222-2222-4222-8222-222222222222
related:
    - id: 11111111-1111-4111-8111-111111111111
      type: derived
    - id: 99999999-9999-4999-8999-999999999999
      type: obsolete
status: experimental
logsource: {product: windows, category: process_creation}
detection:
    selection:
        OriginalFileName: 'whoami.exe'
        Image: '*\WHOAMI.EXE'
    condition: selection
";

const CORRELATION_AND_FILTERS: &str = r"
title: Many Whoami
id: 33333333-3333-4333-8333-333333333333
correlation:
    type: value_count
    rules:
        - whoami_system
        - no_such_rule
    group-by: [Computer]
    timespan: 1h
    condition:
        gte: 3
        field: User
level: high
---
title: Ignore Backup Agent
id: 44444444-4444-4444-8444-444444444444
logsource: {product: windows, category: process_creation}
filter:
    rules:
        - 11111111-1111-4111-8111-111111111111
    selection:
        ParentImage|endswith: '\backup.exe'
    condition: not selection
---
title: Ignore Everything From Scanner
id: 55555555-5555-4555-8555-555555555555
logsource: {product: windows}
filter:
    rules: any
    selection:
        Computer: 'scanner01'
    condition: not selection
";

const OTHER_SOURCE: &str = r"
title: Whoami Anywhere
id: 11111111-1111-4111-8111-111111111111
tags: [attack.t1033]
logsource: {product: linux, category: process_creation}
detection:
    selection:
        Image|endswith: '/whoami'
    k:
        - 'whoami'
    condition: selection or k
";

fn catalog() -> Catalog {
    let set = sigil_rule::load_texts(
        &[
            ("team/base.yml", BASE),
            ("team/related.yml", RELATED),
            ("team/corr.yml", CORRELATION_AND_FILTERS),
            ("hayabusa/other.yml", OTHER_SOURCE),
        ],
        &sigil_rule::LoadOptions::default(),
    );
    let sources = [
        sigil_catalog::SourceSpec::new("team", vec!["team".into()]),
        sigil_catalog::SourceSpec::new("hayabusa", vec!["hayabusa".into()]),
    ];
    Catalog::from_rule_set(&set, &sources, &CatalogOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn related_rules_resolve_to_titles() {
    let c = catalog();
    let p = c.by_key("22222222-2222-4222-8222-222222222222").unwrap();
    assert_eq!(p.related.len(), 2);
    assert_eq!(p.related[0].title.as_deref(), Some("Whoami as SYSTEM"));
    assert_eq!(p.related[0].kind, "derived");
    assert_eq!(p.related[1].title, None);
}

#[test]
fn correlations_and_filters_link_both_ways() {
    let c = catalog();
    let corr = c.by_key("33333333-3333-4333-8333-333333333333").unwrap();
    assert_eq!(corr.kind, RuleKind::Correlation);
    let info = corr.correlation.as_ref().unwrap();
    assert_eq!(info.kind, "value_count");
    assert_eq!(info.rules[0].title.as_deref(), Some("Whoami as SYSTEM"));
    assert_eq!(info.rules[1].title, None);
    assert_eq!(info.group_by, ["Computer"]);
    assert_eq!((info.timespan.as_deref(), info.timespan_seconds), (Some("1h"), Some(3600)));
    assert_eq!(info.condition.as_deref(), Some("distinct User >= 3"));
    // A correlation fires on what its rules fire on.
    assert_eq!(corr.events.iter().map(|e| e.event_id).collect::<Vec<_>>(), [1, 4688]);

    let base = c.by_key("11111111-1111-4111-8111-111111111111").unwrap();
    assert_eq!(base.source, "team");
    assert_eq!(base.correlated_by[0].title.as_deref(), Some("Many Whoami"));
    let filters: Vec<&str> = base.filtered_by.iter().filter_map(|l| l.title.as_deref()).collect();
    assert_eq!(filters, ["Ignore Backup Agent", "Ignore Everything From Scanner"]);

    let named = c.by_key("44444444-4444-4444-8444-444444444444").unwrap();
    assert_eq!(named.kind, RuleKind::Filter);
    let f = named.filter.as_ref().unwrap();
    assert!(!f.any);
    assert_eq!(f.applies_to.len(), 1);
    assert_eq!(named.stages[1].join, ["not selection"]);
    assert!(named.indicators[0].excluded);

    let any = c.by_key("55555555-5555-4555-8555-555555555555").unwrap();
    let f = any.filter.as_ref().unwrap();
    assert!(f.any);
    // Every windows rule (the linux one is not contained by `product: windows`).
    assert_eq!(f.applies_to.len(), 2);
}

#[test]
fn stages_join_and_indicators() {
    let c = catalog();
    let base = c.by_key("11111111-1111-4111-8111-111111111111").unwrap();
    assert_eq!(base.stages[0].text, "selection and not 1 of filter_main_*");
    assert_eq!(base.stages[2].join, ["not 1 of filter_main_*"]);
    assert_eq!(base.stages[2].logic.as_deref(), Some("or"));
    let rows: Vec<(&str, Kind, &str, bool)> =
        base.indicators.iter().map(|i| (i.field.as_deref().unwrap(), i.kind, i.value.as_str(), i.excluded)).collect();
    assert_eq!(
        rows,
        [
            ("Image", Kind::EndsWith, r"\whoami.exe", false),
            ("ParentImage", Kind::Equals, r"C:\Windows\explorer.exe", true),
            ("ParentImage", Kind::StartsWith, r"C:\Program Files\", true),
            ("User", Kind::Match, "SYSTEM", false),
        ]
    );
    // `Image: '*\WHOAMI.EXE'` in the related rule is the same indicator as `Image|endswith: '\whoami.exe'`.
    let image = &base.indicators[0];
    assert_eq!(image.corpus_count, 1);
    assert_eq!(image.corpus_by_source.label(), "team 1");
    let key = IndicatorKey::parse(Some("Image"), &["endswith"], r"\whoami.exe").unwrap();
    assert_eq!(c.by_indicator(&key).len(), 2);
    // Filters' fields decide their coverage; the logsource-only filter reads every event with a Computer.
    let named = c.by_key("44444444-4444-4444-8444-444444444444").unwrap();
    assert_eq!(named.events.iter().map(|e| e.event_id).collect::<Vec<_>>(), [1, 4688]);
}

#[test]
fn sources_keys_and_non_windows_rules() {
    let c = catalog();
    assert_eq!(
        c.sources().iter().map(|s| (s.name.as_str(), s.pages)).collect::<Vec<_>>(),
        [("team", 5), ("hayabusa", 1)]
    );
    // The id is shared by two sources: the second page gets a derived key.
    let both = c.by_id("11111111-1111-4111-8111-111111111111");
    assert_eq!(both.len(), 2);
    assert_eq!(both[1].key, "11111111-1111-4111-8111-111111111111-hayabusa");
    let other = both[1];
    assert!(other.events.is_empty());
    assert_eq!(other.coverage.gap, Some(CoverageGap::NotWindows));
    assert!(other.coverage.note.as_deref().unwrap().contains("linux / process_creation"));
    assert_eq!(other.attack[0].tactic, "Discovery");
    assert!(other.attack[0].techniques[0].inferred_tactic);
    let kw = other.indicators.iter().find(|i| i.kind == Kind::Keyword).unwrap();
    assert_eq!((kw.field.as_deref(), kw.value.as_str()), (None, "whoami"));
    let (found, _) = c.resolve("11111111-1111-4111-8111-111111111111");
    assert_eq!(found.len(), 2);
}

#[test]
fn search_facets_by_author_source_and_kind() {
    let c = catalog();
    let r = c.search(&SearchQuery::default().filter(Facet::Author, "bob"));
    assert_eq!(r.hits.iter().map(|h| h.title.as_str()).collect::<Vec<_>>(), ["Whoami as SYSTEM"]);
    let r = c.search(&SearchQuery::new("whoami").filter(Facet::Source, "hayabusa"));
    assert_eq!(r.total, 1);
    let source = r.facets.iter().find(|f| f.facet == Facet::Source).unwrap();
    let team = source.values.iter().find(|v| v.value == "team").unwrap();
    assert!(team.count >= 3 && !team.selected);
    let r = c.search(&SearchQuery::parse("kind:filter"));
    assert_eq!(r.total, 2);
    let r = c.search(&SearchQuery::parse("technique:T1033"));
    assert_eq!(r.total, 2);
    let tech = r.facets.iter().find(|f| f.facet == Facet::Technique).unwrap();
    assert_eq!(tech.values[0].label, "T1033 System Owner/User Discovery");
    // Exact id first.
    let r = c.search(&SearchQuery::new("22222222-2222-4222-8222-222222222222 whoami"));
    assert_eq!(r.hits[0].key, "22222222-2222-4222-8222-222222222222");
}

#[test]
fn a_catalog_can_be_shared_between_threads() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<Catalog>();
}

#[test]
fn correlation_conditions_read_naturally_and_chains_link() {
    let chain = r"
title: Big Upload
id: 55555555-5555-4555-8555-555555555555
name: big_upload
correlation:
    type: value_sum
    rules: [whoami_system]
    group-by: [User]
    timespan: 1h
    condition: {gt: 1000000, field: BytesSent}
---
title: Slow Start
id: 66666666-6666-4666-8666-666666666666
correlation:
    type: value_percentile
    rules: [whoami_system]
    timespan: 1d
    condition: {gte: 5, field: Duration, percentile: 92}
---
title: Upload Then Whoami
id: 77777777-7777-4777-8777-777777777777
correlation:
    type: temporal_ordered
    rules: [big_upload, whoami_system]
    group-by: [User]
    timespan: 10m
";
    let set = sigil_rule::load_texts(
        &[("team/base.yml", BASE), ("team/chain.yml", chain)],
        &sigil_rule::LoadOptions::default(),
    );
    let sources = [sigil_catalog::SourceSpec::new("team", vec!["team".into()])];
    let c = Catalog::from_rule_set(&set, &sources, &CatalogOptions::default()).unwrap();
    let cond = |key: &str| c.by_key(key).unwrap().correlation.as_ref().unwrap().condition.clone();
    assert_eq!(cond("55555555-5555-4555-8555-555555555555").as_deref(), Some("sum of BytesSent > 1000000"));
    assert_eq!(cond("66666666-6666-4666-8666-666666666666").as_deref(), Some("92nd percentile of Duration >= 5"));
    assert_eq!(cond("77777777-7777-4777-8777-777777777777").as_deref(), Some("all 2 rules, in order"));
    // The outer correlation links the inner one by title; the inner one lists the outer one as its user.
    let outer = c.by_key("77777777-7777-4777-8777-777777777777").unwrap();
    let titles: Vec<_> = outer.correlation.as_ref().unwrap().rules.iter().map(|r| r.title.as_deref()).collect();
    assert_eq!(titles, [Some("Big Upload"), Some("Whoami as SYSTEM")]);
    let inner = c.by_key("55555555-5555-4555-8555-555555555555").unwrap();
    assert_eq!(inner.correlated_by[0].title.as_deref(), Some("Upload Then Whoami"));
    let base = c.by_key("11111111-1111-4111-8111-111111111111").unwrap();
    assert_eq!(base.correlated_by.len(), 3);
}

#[test]
fn record_kinds_list_the_rules_and_the_fields_they_read() {
    const WEB: &str = r"
title: Passwd Traversal
id: 71111111-2222-4333-8444-555555555555
logsource: {category: webserver}
detection:
    sel:
        cs-uri-query|contains: '/etc/passwd'
        c-useragent|contains: 'curl'
    condition: sel
";
    const WEB2: &str = r"
title: Admin Probe
id: 72111111-2222-4333-8444-555555555555
logsource: {category: webserver}
detection:
    sel:
        cs-uri-query|contains: '/admin'
        sc-status: 200
    condition: sel
";
    const TRAIL: &str = r"
title: IAM User Created
id: 73111111-2222-4333-8444-555555555555
logsource: {product: aws, service: cloudtrail}
detection:
    sel:
        eventSource: iam.amazonaws.com
        eventName: CreateUser
    condition: sel
";
    let set = sigil_rule::load_texts(
        &[("r/web.yml", WEB), ("r/web2.yml", WEB2), ("r/trail.yml", TRAIL), ("r/base.yml", BASE)],
        &sigil_rule::LoadOptions::default(),
    );
    let sources = [sigil_catalog::SourceSpec::new("r", vec!["r".into()])];
    let c = Catalog::from_rule_set(&set, &sources, &CatalogOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let web = c.record_kind_page("web.access").unwrap();
    assert_eq!(web.rule_count, 2);
    assert!(web.logsources.iter().any(|l| l == "webserver"), "{:?}", web.logsources);
    let fields: Vec<(&str, usize)> = web.fields.iter().map(|f| (f.name.as_str(), f.rules)).collect();
    // Sigma names reach the event fields through the route's mapping (`cs-uri-query` reads `cs-uri`).
    assert_eq!(fields, [("cs-uri", 2), ("cs-user-agent", 1), ("sc-status", 1)]);
    assert!(web.fields.iter().all(|f| f.ty.is_empty()));
    let trail = c.record_kind_page("aws.cloudtrail").unwrap();
    assert_eq!(trail.rules.iter().map(|r| r.title.as_deref()).collect::<Vec<_>>(), [Some("IAM User Created")]);
    assert_eq!(trail.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["eventName", "eventSource"]);
    // Kinds no rule reaches are listed with no rules; the Windows rule is on none.
    let kinds = c.record_kinds();
    let audit = kinds.iter().find(|k| k.kind == "linux.auditd").unwrap();
    assert_eq!((audit.rule_count, audit.fields.len()), (0, 0));
    assert!(kinds.iter().all(|k| k.rules.iter().all(|r| r.title.as_deref() != Some("Whoami as SYSTEM"))));
}
