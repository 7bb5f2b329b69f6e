// sigil static catalog: search and facets in the browser, over the sharded index in search/ (loaded on demand:
// the facet table first, then only the term shards a query needs and the result data of the rules shown).
// Ranks exactly as the server does (sigil_catalog::text): the scores are the server's integers, and the query
// rules below are the same: words AND-ed, each matched exactly and as the prefix of longer terms, else as a
// typo of a term with the same first two characters ("did you mean"), expansions at half score scaled by how
// common they are; "quoted" words exactly only;
// -word excludes; facet:value filters; facet counts per facet ignore that facet's own filter; ties by title.
// Index files are scripts calling SIGIL_LOADED, so the site also works straight from disk (file://).
(function () {
  'use strict';
  var form = document.getElementById('search-form');
  var results = document.getElementById('results');
  var facetsEl = document.getElementById('facets');
  if (!window.URLSearchParams || !window.Map || !window.Set || !Array.from) return;
  var root = document.body.getAttribute('data-root') || '';
  var home = root + 'index.html';
  var box = document.getElementById('q');
  var PER_PAGE = 25, TOP = 8;
  var SORTS = [['relevance', 'Relevance'], ['title', 'Title'], ['newest', 'Newest'], ['modified', 'Updated'], ['level', 'Severity']];
  var RANK = { critical: 0, high: 1, medium: 2, low: 3, informational: 4 };
  var ALIAS = { severity: 'level', has_regression: 'regression', regression_test: 'regression', test: 'regression' };
  var TERM_SRC = '[\\p{Alphabetic}\\p{N}]+';
  var SNIPPET = 240;

  // ---- loading
  var cache = {}, waiting = {};
  window.SIGIL_LOADED = function (name, data) {
    cache[name] = data;
    var list = waiting[name] || [];
    delete waiting[name];
    list.forEach(function (f) { f(data); });
  };
  function load(name, cb) {
    if (Object.prototype.hasOwnProperty.call(cache, name)) return cb(cache[name]);
    if (waiting[name]) { waiting[name].push(cb); return; }
    waiting[name] = [cb];
    var sc = document.createElement('script');
    sc.src = root + 'search/' + name + '.js';
    sc.onerror = function () { window.SIGIL_LOADED(name, null); };
    document.head.appendChild(sc);
  }
  function loadAll(names, cb) {
    var left = names.length, out = {};
    if (!left) return cb(out);
    names.forEach(function (n) { load(n, function (d) { out[n] = d; if (--left === 0) cb(out); }); });
  }

  var meta = null;
  function withMeta(cb) {
    if (meta) return cb(meta);
    load('meta', function (m) {
      if (!m) return;
      if (!m.docFacets) {
        m.docFacets = m.facets.map(function (f, fi) {
          var per = new Array(m.docs);
          for (var i = 0; i < m.docs; i++) per[i] = [];
          m.values[fi].forEach(function (entry) {
            var d = 0;
            // Deltas from the previous doc number; -k: the k next numbers (see static_index::run_length_deltas).
            entry[1].forEach(function (delta) {
              if (delta < 0) { for (var k = 0; k < -delta; k++) { d += 1; per[d].push(entry[0]); } }
              else { d += delta; per[d].push(entry[0]); }
            });
          });
          return per;
        });
      }
      meta = m;
      cb(m);
    });
  }
  // A term shard as {map: term -> flat postings, list: [[term, flat], ...] in term order}.
  function shard(name) {
    var s = cache[name];
    if (!s) return { map: new Map(), list: [] };
    if (Array.isArray(s)) { var m = new Map(); s.forEach(function (e) { m.set(e[0], e[1]); }); s = { map: m, list: s }; cache[name] = s; }
    return s;
  }

  // ---- text
  function termsOf(s) { return (String(s).match(new RegExp(TERM_SRC, 'gu')) || []).map(function (t) { return t.toLowerCase(); }); }
  function shardKey(t) { return Array.from(t).slice(0, 2).join(''); }
  function shardName(t) { var n = meta.shards[shardKey(t)]; return n === undefined ? null : 't/' + n; }
  function lev(a, b) {
    a = Array.from(a); b = Array.from(b);
    var prev = [], cur, i, j;
    for (j = 0; j <= b.length; j++) prev[j] = j;
    for (i = 1; i <= a.length; i++) {
      cur = [i];
      for (j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
    return prev[b.length];
  }
  function df(s, term) { var p = s.map.get(term); return p ? p.length / 2 : 0; }
  function expand(term, exact) {
    var name = shardName(term), s = name ? shard(name) : shard(null), out = [];
    if (s.map.has(term)) out.push([term, 0]);
    if (exact) return { s: s, list: out };
    var n = Array.from(term).length;
    if (n >= 3) {
      var longer = s.list.filter(function (e) { return e[0] !== term && e[0].indexOf(term) === 0; })
        .map(function (e) { return [e[0], e[1].length / 2]; });
      longer.sort(function (a, b) { return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0); });
      longer.slice(0, meta.max_expansions).forEach(function (e) { out.push([e[0], 1]); });
    }
    if (out.length || n < 4) return { s: s, list: out };
    var max = n >= 8 ? 2 : 1, key = shardKey(term), best = Infinity, near = [];
    s.list.forEach(function (e) {
      if (e[0].indexOf(key) !== 0) return;
      var d = lev(term, e[0]);
      if (d > max || d > best) return;
      if (d < best) { best = d; near = []; }
      near.push(e[0]);
    });
    near.forEach(function (t) { out.push([t, 2]); });
    return { s: s, list: out };
  }
  function eachPosting(flat, f) { var doc = 0; for (var k = 0; k < flat.length; k += 2) { doc += flat[k]; f(doc, flat[k + 1]); } }

  function tokens(line) {
    var out = [], re = /(-?)"([^"]*)"?|(\S+)/g, m;
    while ((m = re.exec(line))) {
      if (m[3] !== undefined) out.push({ t: m[3], quoted: false });
      else out.push({ t: (m[1] ? '-' : '') + m[2], quoted: true });
    }
    return out;
  }
  // The query line: words and facet:value filters.
  function parse(line) {
    var words = [], filters = [];
    tokens(line).forEach(function (tok) {
      var i = tok.t.indexOf(':');
      if (!tok.quoted && i > 0) {
        var name = tok.t.slice(0, i).toLowerCase();
        name = ALIAS[name] || name;
        if (meta.facets.indexOf(name) >= 0 && tok.t.length > i + 1) { filters.push([name, tok.t.slice(i + 1)]); return; }
      }
      var neg = tok.t.charAt(0) === '-' && tok.t.length > 1;
      var terms = termsOf(neg ? tok.t.slice(1) : tok.t);
      if (terms.length) words.push({ terms: terms, exact: tok.quoted, neg: neg });
    });
    return { words: words, filters: filters };
  }
  function shardsOf(words) {
    var names = [];
    words.forEach(function (w) { w.terms.forEach(function (t) { var n = shardName(t); if (n && names.indexOf(n) < 0) names.push(n); }); });
    return names;
  }

  // The text part: {scores: Map doc -> score or null, excluded: Set, matched: Set, suggestion}.
  function runText(words) {
    var scores = null, excluded = new Set(), matched = new Set(), anyFuzzy = false, suggestion = [];
    words.forEach(function (w) {
      if (w.neg) {
        var hold = null;
        w.terms.forEach(function (t) {
          var name = shardName(t), set = new Set(), p = name ? shard(name).map.get(t) : null;
          if (p) eachPosting(p, function (doc) { set.add(doc); });
          hold = hold === null ? set : new Set(Array.from(hold).filter(function (d) { return set.has(d); }));
        });
        if (hold) hold.forEach(function (d) { excluded.add(d); });
        return;
      }
      var shown = [];
      w.terms.forEach(function (t) {
        var e = expand(t, w.exact), best = new Map(), fuzzyBest = null, dfRef = 1;
        e.list.forEach(function (x) { dfRef = Math.max(dfRef, df(e.s, x[0])); });
        e.list.forEach(function (x) {
          matched.add(x[0]);
          if (x[1] === 2) { anyFuzzy = true; if (fuzzyBest === null || df(e.s, x[0]) > df(e.s, fuzzyBest)) fuzzyBest = x[0]; }
          var dfe = df(e.s, x[0]);
          eachPosting(e.s.map.get(x[0]), function (doc, score) {
            // Rarer expansions count less (see sigil_catalog::text): floor(score * df / (2 * df_max)).
            var sc = x[1] === 0 ? score : Math.floor(score * dfe / (2 * dfRef));
            var prev = best.get(doc);
            if (prev === undefined || sc > prev) best.set(doc, sc);
          });
        });
        shown.push(fuzzyBest || t);
        if (scores === null) scores = best;
        else {
          var next = new Map();
          scores.forEach(function (s, doc) { var b = best.get(doc); if (b !== undefined) next.set(doc, s + b); });
          scores = next;
        }
      });
      suggestion.push(shown.join(' '));
    });
    return { scores: scores, excluded: excluded, matched: matched, suggestion: anyFuzzy ? suggestion.join(' ') : null };
  }

  // ---- state and URLs
  function state(params) {
    var s = { q: params.get('q') || '', filters: [], sort: params.get('sort') || '', page: Math.max(1, parseInt(params.get('page') || '1', 10) || 1) };
    meta.facets.forEach(function (f) {
      params.getAll(f).forEach(function (v) { v = v.trim(); if (v) s.filters.push([f, v]); });
    });
    return s;
  }
  function qs(s, without, add, page, sort, q) {
    var p = new URLSearchParams(), query = q === undefined ? s.q : q;
    if (query.trim()) p.append('q', query);
    s.filters.forEach(function (x) {
      if (without && without[0] === x[0] && without[1].toLowerCase() === x[1].toLowerCase()) return;
      p.append(x[0], x[1]);
    });
    if (add) p.append(add[0], add[1]);
    var so = sort || s.sort;
    if (so && so !== 'relevance') p.append('sort', so);
    if (page > 1) p.append('page', String(page));
    var str = p.toString();
    return home + (str ? '?' + str : '');
  }

  // ---- search
  function search(s, order) {
    var parsed = parse(s.q), filters = s.filters.concat(parsed.filters), text = runText(parsed.words);
    var want = {};
    filters.forEach(function (f) { (want[f[0]] = want[f[0]] || []).push(f[1].toLowerCase()); });
    var matched = [];
    function consider(doc, score) {
      if (text.excluded.has(doc)) return;
      var failed = 0;
      meta.facets.forEach(function (f, fi) {
        if (!want[f]) return;
        var ok = meta.docFacets[fi][doc].some(function (v) { return want[f].indexOf(String(v).toLowerCase()) >= 0; });
        if (!ok) failed |= 1 << fi;
      });
      matched.push({ doc: doc, score: score, failed: failed });
    }
    if (text.scores === null) for (var d = 0; d < meta.docs; d++) consider(d, 0);
    else text.scores.forEach(function (score, doc) { consider(doc, score); });
    var hits = matched.filter(function (m) { return m.failed === 0; });
    var sort = s.sort || (s.q.trim() ? 'relevance' : 'title');
    hits.sort(function (a, b) {
      if (sort === 'relevance') return b.score - a.score || a.doc - b.doc;
      if (order && order[sort]) return order[sort][a.doc] - order[sort][b.doc];
      return a.doc - b.doc;
    });
    var facets = meta.facets.map(function (f, fi) {
      var counts = new Map();
      matched.forEach(function (m) {
        if (m.failed & ~(1 << fi)) return;
        meta.docFacets[fi][m.doc].forEach(function (v) { counts.set(v, (counts.get(v) || 0) + 1); });
      });
      var sel = want[f] || [];
      var values = [];
      counts.forEach(function (c, v) { values.push({ value: v, count: c, selected: sel.indexOf(v.toLowerCase()) >= 0 }); });
      s.filters.forEach(function (x) {
        if (x[0] === f && !values.some(function (v) { return v.value.toLowerCase() === x[1].toLowerCase(); })) values.push({ value: x[1], count: 0, selected: true });
      });
      values.sort(function (a, b) { return b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0); });
      if (f === 'level') values.sort(function (a, b) { return rank(a.value) - rank(b.value); });
      return { name: f, title: meta.titles[fi], values: values };
    });
    return { hits: hits, facets: facets, sort: sort, matched: text.matched, suggestion: text.suggestion };
  }

  // ---- rendering
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function link(href, cls, text) { var a = el('a', cls, text); a.href = href; return a; }
  function rank(l) { return l && Object.prototype.hasOwnProperty.call(RANK, l.toLowerCase()) ? RANK[l.toLowerCase()] : 5; }
  function label(f, v) { return (meta.labels[f] && meta.labels[f][v]) || v; }

  // Segments [text, marked] of a text, marking its matched terms.
  function highlight(text, matched) {
    var out = [], last = 0, re = new RegExp(TERM_SRC, 'gu'), m;
    function push(t, mark) {
      if (!t) return;
      if (out.length && out[out.length - 1][1] === mark) out[out.length - 1][0] += t; else out.push([t, mark]);
    }
    while ((m = re.exec(text))) {
      if (matched.has(m[0].toLowerCase())) { push(text.slice(last, m.index), false); push(m[0], true); last = m.index + m[0].length; }
    }
    push(text.slice(last), false);
    return out;
  }
  function snippet(texts, matched) {
    for (var i = 0; i < texts.length; i++) {
      var t = texts[i] || '', segs = highlight(t, matched), before = 0, found = false;
      for (var k = 0; k < segs.length; k++) { if (segs[k][1]) { found = true; break; } before += segs[k][0].length; }
      if (found) return windowOf(t, Math.max(0, before - 60), matched);
    }
    return windowOf(texts[0] || '', 0, matched);
  }
  function windowOf(text, start, matched) {
    while (start > 0 && start < text.length && !/\s/.test(text.charAt(start - 1))) start++;
    var end = Math.min(text.length, start + SNIPPET);
    if (end < text.length) { var e = end; while (e > start && !/\s/.test(text.charAt(e))) e--; if (e > start) end = e; }
    var segs = highlight(text.slice(start, end).trim(), matched);
    if (start > 0) segs.unshift(['\u2026 ', false]);
    if (end < text.length) segs.push([' \u2026', false]);
    return segs;
  }
  function appendMarked(parent, segs) {
    segs.forEach(function (x) { parent.appendChild(x[1] ? el('mark', null, x[0]) : document.createTextNode(x[0])); });
  }

  function renderFacets(s, res) {
    facetsEl.textContent = '';
    res.facets.forEach(function (f) {
      if ((f.name === 'source' && meta.sources < 2) || (f.name === 'kind' && f.values.length < 2) || !f.values.length) return;
      var sec = el('section', 'facet'); sec.setAttribute('data-facet', f.name);
      sec.appendChild(el('h2', null, f.title));
      var items = f.values.slice(0, 150).map(function (v) {
        var li = el('li');
        var a = link(v.selected ? qs(s, [f.name, v.value], null, 1) : qs(s, null, [f.name, v.value], 1), v.selected ? 'on' : '');
        if (v.selected) a.setAttribute('aria-current', 'true');
        a.setAttribute('data-value', v.value);
        a.title = label(f.name, v.value);
        a.appendChild(el('span', 'lbl', label(f.name, v.value)));
        a.appendChild(el('span', 'n', v.count));
        li.appendChild(a);
        return { li: li, sel: v.selected };
      });
      var ul = el('ul'); sec.appendChild(ul);
      var more = items.length > TOP + 2 ? items.slice(TOP) : [];
      (more.length ? items.slice(0, TOP) : items).forEach(function (i) { ul.appendChild(i.li); });
      more = more.filter(function (i) { if (i.sel) { ul.appendChild(i.li); return false; } return true; });
      if (more.length) {
        var d = el('details'); d.appendChild(el('summary', null, more.length + ' more'));
        var ul2 = el('ul'); more.forEach(function (i) { ul2.appendChild(i.li); }); d.appendChild(ul2); sec.appendChild(d);
      }
      facetsEl.appendChild(sec);
    });
  }

  function renderResults(s, res, docs) {
    results.textContent = '';
    if (s.filters.length) {
      var af = el('div', 'active-filters');
      s.filters.forEach(function (x) {
        var t = meta.titles[meta.facets.indexOf(x[0])] || x[0];
        var a = link(qs(s, x, null, 1), 'chip', t + ': ' + label(x[0], x[1])); a.title = 'Remove this filter';
        af.appendChild(a);
      });
      af.appendChild(link(home, 'small', 'Clear all'));
      results.appendChild(af);
    }
    var total = res.hits.length, pages = Math.max(1, Math.ceil(total / PER_PAGE)), page = Math.min(s.page, pages);
    var sum = el('div', 'summary'), count = el('span'); count.id = 'result-count';
    count.appendChild(el('strong', null, total));
    count.appendChild(document.createTextNode(' ' + (total === 1 ? 'rule' : 'rules') + (s.q.trim() ? ' for \u201c' + s.q + '\u201d' : '') + (pages > 1 ? ' \u00b7 page ' + page + ' of ' + pages : '')));
    sum.appendChild(count);
    var sorts = el('span', 'sort', 'Sort:');
    SORTS.forEach(function (x) {
      if (x[0] === 'relevance' && !s.q.trim()) return;
      sorts.appendChild(link(qs(s, null, null, 1, x[0]), x[0] === res.sort ? 'on' : '', x[1]));
    });
    sum.appendChild(sorts);
    results.appendChild(sum);
    if (res.suggestion) {
      var dym = el('p', 'did-you-mean'); dym.id = 'did-you-mean';
      dym.appendChild(document.createTextNode('Did you mean '));
      dym.appendChild(link(qs(s, null, null, 1, null, res.suggestion), '', res.suggestion));
      dym.appendChild(document.createTextNode('? Showing the closest matches.'));
      results.appendChild(dym);
    }
    if (!total) {
      var empty = el('div', 'empty panel');
      empty.appendChild(el('p', null, 'No rules match.'));
      var p = el('p', null, 'Try fewer words, remove a filter, or '); p.appendChild(link(home, '', 'start over')); empty.appendChild(p);
      results.appendChild(empty);
      return;
    }
    var ol = el('ol', 'results'), marking = res.matched.size > 0;
    res.hits.slice((page - 1) * PER_PAGE, page * PER_PAGE).forEach(function (h) {
      var chunk = docs['d/' + Math.floor(h.doc / meta.chunk)], r = chunk && chunk[h.doc % meta.chunk];
      if (!r) return;
      var li = el('li', 'result'), title = el('div', 'title'), a = link(root + r.u, '');
      if (marking) appendMarked(a, highlight(r.t, res.matched)); else a.textContent = r.t;
      title.appendChild(a);
      var lvl = r.l && Object.prototype.hasOwnProperty.call(RANK, r.l.toLowerCase()) ? r.l.toLowerCase() : 'none';
      title.appendChild(el('span', 'badge lvl-' + lvl, r.l || 'no level'));
      li.appendChild(title);
      var m = el('div', 'meta');
      if (r.s) m.appendChild(el('span', 'badge st st-' + String(r.s).toLowerCase().replace(/[^a-z0-9-]/g, '-'), r.s));
      m.appendChild(el('span', 'mono', r.ls));
      r.ta.forEach(function (t) { m.appendChild(link(home + '?tactic=' + encodeURIComponent(t[0]), 'chip', t[1])); });
      if (r.d) m.appendChild(el('span', 'nowrap', r.d));
      if (r.k) m.appendChild(el('span', 'chip gray', r.k));
      if (meta.sources > 1) m.appendChild(el('span', 'chip gray', r.src));
      li.appendChild(m);
      if (marking) { var d = el('p', 'desc'); appendMarked(d, snippet([r.x, r.v, r.fp], res.matched)); li.appendChild(d); }
      else if (r.x) li.appendChild(el('p', 'desc', r.x.length > 260 ? r.x.slice(0, 260) + '\u2026' : r.x));
      ol.appendChild(li);
    });
    results.appendChild(ol);
    if (pages > 1) {
      var nav = el('nav', 'pager'); nav.setAttribute('aria-label', 'Pages');
      if (page > 1) nav.appendChild(link(qs(s, null, null, page - 1), '', '\u2039 Prev'));
      var last = 0;
      for (var n = 1; n <= pages; n++) {
        if (n !== 1 && n !== pages && Math.abs(n - page) > 2) continue;
        if (n > last + 1) nav.appendChild(el('span', 'gap', '\u2026'));
        nav.appendChild(n === page ? el('span', 'cur', n) : link(qs(s, null, null, n), '', n));
        last = n;
      }
      if (page < pages) nav.appendChild(link(qs(s, null, null, page + 1), '', 'Next \u203a'));
      results.appendChild(nav);
    }
  }

  var seq = 0;
  function run() {
    withMeta(function () {
      var mine = ++seq;
      var s = state(new URLSearchParams(location.search));
      if (box && box.value !== s.q && document.activeElement !== box) box.value = s.q;
      // Keep the active filters when the form is submitted.
      Array.prototype.forEach.call(form.querySelectorAll('input[type=hidden]'), function (h) { h.remove(); });
      s.filters.concat(s.sort ? [['sort', s.sort]] : []).forEach(function (x) {
        var h = document.createElement('input'); h.type = 'hidden'; h.name = x[0]; h.value = x[1]; form.appendChild(h);
      });
      var needs = shardsOf(parse(s.q).words);
      var sort = s.sort || (s.q.trim() ? 'relevance' : 'title');
      if (sort !== 'relevance' && sort !== 'title') needs.push('order');
      loadAll(needs, function (got) {
        if (mine !== seq) return;
        var res = search(s, got.order);
        var page = Math.min(s.page, Math.max(1, Math.ceil(res.hits.length / PER_PAGE)));
        var chunks = [];
        res.hits.slice((page - 1) * PER_PAGE, page * PER_PAGE).forEach(function (h) {
          var c = 'd/' + Math.floor(h.doc / meta.chunk);
          if (chunks.indexOf(c) < 0) chunks.push(c);
        });
        loadAll(chunks, function (docs) {
          if (mine !== seq) return;
          renderFacets(s, res);
          renderResults(s, res, docs);
          document.documentElement.setAttribute('data-search', 'done');
        });
      });
    });
  }

  // For tests: the ranked doc numbers of a query, as the server's search ranks pages (title order numbers).
  window.SIGIL_RANK = function (q, cb) {
    withMeta(function () {
      var words = parse(q).words;
      loadAll(shardsOf(words), function () {
        cb(search({ q: q, filters: [], sort: '', page: 1 }, null).hits.map(function (h) { return h.doc; }));
      });
    });
  };

  // indicators.html?i=NAME: the rules sharing one indicator (the server answers /indicators?field=…).
  function showIndicator(name) {
    var view = document.getElementById('indicator-view'), def = document.getElementById('indicator-default');
    if (!view || !/^[0-9a-f]{16}$/.test(name)) return;
    withMeta(function () {
      load('i/' + name.charAt(0), function (bucket) {
        var x = bucket && bucket[name];
        view.textContent = '';
        if (!x) { view.appendChild(el('p', 'empty panel', 'No indicator of this catalog has this name.')); view.hidden = false; return; }
        var chunks = [];
        x[4].forEach(function (d) { var c = 'd/' + Math.floor(d / meta.chunk); if (chunks.indexOf(c) < 0) chunks.push(c); });
        loadAll(chunks, function (docs) {
          view.appendChild(el('h1', null, 'Indicator'));
          var head = el('div', 'rule-head');
          [['Field', x[0]], ['Kind', x[1]], ['Value', x[2]], ['Transformations', x[3]], ['Rules', String(x[4].length)]].forEach(function (kv) {
            if (!kv[1]) return;
            var item = el('div', 'item'); item.appendChild(el('span', 'k', kv[0]));
            var v = el('span', 'v mono', kv[1]); if (kv[0] === 'Value') v.id = 'indicator-value';
            item.appendChild(v); head.appendChild(item);
          });
          view.appendChild(head);
          var sec = el('section', 'panel'); sec.id = 'rules'; sec.appendChild(el('h2', null, 'Rules with this indicator'));
          var ul = el('ul', 'rule-links');
          x[4].forEach(function (d) {
            var chunk = docs['d/' + Math.floor(d / meta.chunk)], r = chunk && chunk[d % meta.chunk];
            if (!r) return;
            var li = el('li'), lvl = r.l && Object.prototype.hasOwnProperty.call(RANK, r.l.toLowerCase()) ? r.l.toLowerCase() : 'none';
            li.appendChild(el('span', 'badge lvl-' + lvl, r.l || 'no level'));
            li.appendChild(document.createTextNode(' '));
            li.appendChild(link(root + r.u, '', r.t));
            li.appendChild(document.createTextNode(' '));
            li.appendChild(el('span', 'mono small muted', r.ls));
            ul.appendChild(li);
          });
          sec.appendChild(ul); view.appendChild(sec);
          if (def) def.hidden = true;
          view.hidden = false;
          document.title = 'Indicator ' + x[2] + ' \u00b7 ' + document.title.split(' \u00b7 ').pop();
        });
      });
    });
  }
  var indicator = new URLSearchParams(location.search).get('i');
  if (indicator) showIndicator(indicator);

  if (!form || !results || !facetsEl) return;
  form.setAttribute('action', home);
  if (location.search.length > 1) run();
  var timer = null;
  if (box) box.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var p = new URLSearchParams(location.search);
      if (box.value.trim()) p.set('q', box.value); else p.delete('q');
      p.delete('page');
      var str = p.toString();
      try { history.replaceState(null, '', home + (str ? '?' + str : '')); } catch (e) { /* file:// may refuse */ }
      run();
    }, 160);
  });
})();
