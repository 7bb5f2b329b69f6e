// sigil static catalog: search and facets in the browser, over search-index.js.
// Matches like the server: words AND-ed, "phrases", -exclusions, facet:value; facet counts per facet ignore
// that facet's own filter. Without JavaScript the rule list is still browsable page by page.
(function () {
  'use strict';
  var form = document.getElementById('search-form');
  var results = document.getElementById('results');
  var facetsEl = document.getElementById('facets');
  if (!form || !results || !facetsEl || !window.URLSearchParams) return;
  var root = document.body.getAttribute('data-root') || '';
  var home = root + 'index.html';
  var box = document.getElementById('q');
  var PER_PAGE = 25, TOP = 8;
  var SORTS = [['relevance', 'Relevance'], ['title', 'Title'], ['newest', 'Newest'], ['modified', 'Updated'], ['level', 'Severity']];
  var RANK = { critical: 0, high: 1, medium: 2, low: 3, informational: 4 };
  var ALIAS = { severity: 'level', has_regression: 'regression', regression_test: 'regression', test: 'regression' };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function link(href, cls, text) { var a = el('a', cls, text); a.href = href; return a; }
  function rank(l) { return l && RANK.hasOwnProperty(l.toLowerCase()) ? RANK[l.toLowerCase()] : 5; }

  function tokens(line) {
    var out = [], re = /(-?)"([^"]*)"?|(\S+)/g, m;
    while ((m = re.exec(line))) {
      if (m[3] !== undefined) out.push({ t: m[3], quoted: false });
      else out.push({ t: (m[1] ? '-' : '') + m[2], quoted: true });
    }
    return out;
  }

  function state(params, idx) {
    var s = { q: params.get('q') || '', filters: [], sort: params.get('sort') || '', page: Math.max(1, parseInt(params.get('page') || '1', 10) || 1) };
    idx.facets.forEach(function (f) {
      params.getAll(f).forEach(function (v) { v = v.trim(); if (v) s.filters.push([f, v]); });
    });
    return s;
  }

  function qs(s, without, add, page, sort) {
    var p = new URLSearchParams();
    if (s.q.trim()) p.append('q', s.q);
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

  function search(idx, s) {
    var terms = [], filters = s.filters.slice();
    tokens(s.q).forEach(function (tok) {
      var i = tok.t.indexOf(':');
      if (!tok.quoted && i > 0) {
        var name = tok.t.slice(0, i).toLowerCase();
        name = ALIAS[name] || name;
        if (idx.facets.indexOf(name) >= 0 && tok.t.length > i + 1) { filters.push([name, tok.t.slice(i + 1)]); return; }
      }
      var neg = tok.t.charAt(0) === '-' && tok.t.length > 1;
      var text = (neg ? tok.t.slice(1) : tok.t).toLowerCase();
      if (text) terms.push({ text: text, neg: neg });
    });
    var want = {};
    filters.forEach(function (f) { (want[f[0]] = want[f[0]] || []).push(f[1].toLowerCase()); });
    var matched = [];
    idx.rules.forEach(function (r) {
      var score = 0, title = r.t.toLowerCase();
      for (var i = 0; i < terms.length; i++) {
        var found = r.h.indexOf(terms[i].text) >= 0;
        if (terms[i].neg) { if (found) return; continue; }
        if (!found) return;
        score += r.i === terms[i].text ? 100 : title.indexOf(terms[i].text) === 0 ? 12 : title.indexOf(terms[i].text) > 0 ? 10 : 1;
      }
      var failed = 0;
      idx.facets.forEach(function (f, fi) {
        if (!want[f]) return;
        var ok = r.f[fi].some(function (v) { return want[f].indexOf(String(v).toLowerCase()) >= 0; });
        if (!ok) failed |= 1 << fi;
      });
      matched.push({ r: r, score: score, failed: failed });
    });
    var hits = matched.filter(function (m) { return m.failed === 0; });
    var sort = s.sort || (s.q.trim() ? 'relevance' : 'title');
    var cmpTitle = function (a, b) { return a.r.t.toLowerCase() < b.r.t.toLowerCase() ? -1 : a.r.t.toLowerCase() > b.r.t.toLowerCase() ? 1 : 0; };
    var cmpDesc = function (x, y) { return x === y ? 0 : (x || '') < (y || '') ? 1 : -1; };
    hits.sort(function (a, b) {
      if (sort === 'newest') return cmpDesc(a.r.d, b.r.d) || cmpTitle(a, b);
      if (sort === 'modified') return cmpDesc(a.r.m || a.r.d, b.r.m || b.r.d) || cmpTitle(a, b);
      if (sort === 'level') return rank(a.r.l) - rank(b.r.l) || cmpTitle(a, b);
      if (sort === 'relevance') return b.score - a.score || cmpTitle(a, b);
      return cmpTitle(a, b);
    });
    var facets = idx.facets.map(function (f, fi) {
      var counts = {};
      matched.forEach(function (m) {
        if (m.failed & ~(1 << fi)) return;
        m.r.f[fi].forEach(function (v) { counts[v] = (counts[v] || 0) + 1; });
      });
      var sel = want[f] || [];
      var values = Object.keys(counts).map(function (v) { return { value: v, count: counts[v], selected: sel.indexOf(v.toLowerCase()) >= 0 }; });
      s.filters.forEach(function (x) {
        if (x[0] === f && !values.some(function (v) { return v.value.toLowerCase() === x[1].toLowerCase(); })) values.push({ value: x[1], count: 0, selected: true });
      });
      values.sort(function (a, b) { return b.count - a.count || (a.value < b.value ? -1 : 1); });
      if (f === 'level') values.sort(function (a, b) { return rank(a.value) - rank(b.value); });
      return { name: f, title: idx.titles[fi], values: values };
    });
    return { hits: hits, facets: facets, sort: sort };
  }

  function label(idx, f, v) { return (idx.labels[f] && idx.labels[f][v]) || v; }

  function renderFacets(idx, s, res) {
    facetsEl.textContent = '';
    res.facets.forEach(function (f) {
      if ((f.name === 'source' && idx.sources < 2) || (f.name === 'kind' && f.values.length < 2) || !f.values.length) return;
      var sec = el('section', 'facet'); sec.setAttribute('data-facet', f.name);
      sec.appendChild(el('h3', null, f.title));
      var items = f.values.slice(0, 150).map(function (v) {
        var li = el('li');
        var a = link(v.selected ? qs(s, [f.name, v.value], null, 1) : qs(s, null, [f.name, v.value], 1), v.selected ? 'on' : '');
        a.setAttribute('data-value', v.value);
        a.title = label(idx, f.name, v.value);
        a.appendChild(el('span', 'lbl', label(idx, f.name, v.value)));
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

  function renderResults(idx, s, res) {
    results.textContent = '';
    if (s.filters.length) {
      var af = el('div', 'active-filters');
      s.filters.forEach(function (x) {
        var t = idx.titles[idx.facets.indexOf(x[0])] || x[0];
        var a = link(qs(s, x, null, 1), 'chip', t + ': ' + label(idx, x[0], x[1])); a.title = 'Remove this filter';
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
    if (!total) {
      var empty = el('div', 'empty panel');
      empty.appendChild(el('p', null, 'No rules match.'));
      var p = el('p', null, 'Try fewer words, remove a filter, or '); p.appendChild(link(home, '', 'start over')); empty.appendChild(p);
      results.appendChild(empty);
      return;
    }
    var ol = el('ol', 'results');
    res.hits.slice((page - 1) * PER_PAGE, page * PER_PAGE).forEach(function (h) {
      var r = h.r, li = el('li', 'result'), title = el('div', 'title');
      title.appendChild(link(root + r.u, '', r.t));
      var lvl = r.l && RANK.hasOwnProperty(r.l.toLowerCase()) ? r.l.toLowerCase() : 'none';
      title.appendChild(el('span', 'badge lvl-' + lvl, r.l || 'no level'));
      li.appendChild(title);
      var meta = el('div', 'meta');
      if (r.s) meta.appendChild(el('span', 'badge st st-' + String(r.s).toLowerCase().replace(/[^a-z0-9-]/g, '-'), r.s));
      meta.appendChild(el('span', 'mono', r.ls));
      r.ta.forEach(function (t) { meta.appendChild(link(home + '?tactic=' + encodeURIComponent(t[0]), 'chip', t[1])); });
      if (r.m || r.d) meta.appendChild(el('span', 'nowrap', r.m || r.d));
      if (r.k) meta.appendChild(el('span', 'chip gray', r.k));
      if (idx.sources > 1) meta.appendChild(el('span', 'chip gray', r.src));
      li.appendChild(meta);
      if (r.x) li.appendChild(el('p', 'desc', r.x));
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

  function run(idx) {
    if (!idx) return;
    var s = state(new URLSearchParams(location.search), idx);
    if (box && box.value !== s.q) box.value = s.q;
    // Keep the active filters when the form is submitted.
    Array.prototype.forEach.call(form.querySelectorAll('input[type=hidden]'), function (h) { h.remove(); });
    s.filters.concat(s.sort ? [['sort', s.sort]] : []).forEach(function (x) {
      var h = document.createElement('input'); h.type = 'hidden'; h.name = x[0]; h.value = x[1]; form.appendChild(h);
    });
    var res = search(idx, s);
    renderFacets(idx, s, res);
    renderResults(idx, s, res);
  }

  function load(cb) {
    if (window.SIGIL_INDEX) return cb(window.SIGIL_INDEX);
    var sc = document.createElement('script');
    sc.src = root + 'search-index.js';
    sc.onload = function () { cb(window.SIGIL_INDEX); };
    document.head.appendChild(sc);
  }

  form.setAttribute('action', home);
  if (location.search.length > 1) load(run);
  var timer = null;
  if (box) box.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      load(function (idx) {
        var p = new URLSearchParams(location.search);
        if (box.value.trim()) p.set('q', box.value); else p.delete('q');
        p.delete('page');
        var str = p.toString();
        try { history.replaceState(null, '', home + (str ? '?' + str : '')); } catch (e) { /* file:// may refuse */ }
        run(idx);
      });
    }, 160);
  });
})();
