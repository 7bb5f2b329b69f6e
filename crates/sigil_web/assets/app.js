// sigil catalog: small enhancements. Every page works without this file.
(function () {
  'use strict';
  var form = document.getElementById('search-form');
  var q = document.getElementById('q');
  document.documentElement.classList.add('js');

  // The navigation collapses behind a button on narrow screens (CSS shows the button only there).
  var top = document.getElementById('top');
  var toggle = top && top.querySelector('.menu-toggle');
  if (toggle) toggle.addEventListener('click', function () {
    var open = top.classList.toggle('nav-open');
    toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
  });

  // Filters start collapsed below the results on narrow screens, open beside them on wide ones.
  var filters = document.getElementById('filters');
  if (filters && window.matchMedia && window.matchMedia('(max-width: 900px)').matches) filters.open = false;

  // "/" focuses the search box.
  document.addEventListener('keydown', function (e) {
    var tag = (e.target && e.target.tagName) || '';
    if (e.key !== '/' || /^(INPUT|TEXTAREA|SELECT)$/.test(tag)) return;
    var box = q || document.getElementById('top-q');
    if (box) { e.preventDefault(); box.focus(); box.select(); }
  });

  // Copy buttons (the rule body).
  Array.prototype.forEach.call(document.querySelectorAll('button[data-copy]'), function (b) {
    var src = document.getElementById(b.getAttribute('data-copy'));
    if (!src || !navigator.clipboard) return;
    b.hidden = false;
    b.addEventListener('click', function () {
      navigator.clipboard.writeText(src.textContent).then(function () {
        b.textContent = 'Copied';
        setTimeout(function () { b.textContent = 'Copy'; }, 1500);
      });
    });
  });

  // The rule page's "try an event" box: POST the pasted event, show the explanation. Everything from the event or
  // the rule is put on the page as text (textContent), never as markup.
  (function () {
    var ef = document.getElementById('explain-form');
    var out = document.getElementById('explain-result');
    if (!ef || !out || !window.fetch) return;
    function el(tag, cls, text) {
      var e = document.createElement(tag);
      if (cls) e.className = cls;
      if (text !== undefined && text !== null) e.textContent = String(text);
      return e;
    }
    function show(r) {
      out.textContent = '';
      if (r.error) { out.appendChild(el('p', 'explain-error', r.error.message)); return; }
      out.appendChild(el('p', r.matched ? 'explain-verdict match' : 'explain-verdict miss',
        r.matched ? 'The rule matches this event.' : 'The rule does not match this event.'));
      if (r.routing) out.appendChild(el('p', 'small muted', r.routing.status === 'routed' ? 'Routed: ' + r.routing.detail : r.routing.detail));
      (r.selections || []).forEach(function (s) {
        var d = el('div', 'explain-selection');
        d.appendChild(el('p', 'mono', s.selection + (s.matched ? ' — matched' : ' — did not match')));
        var ul = el('ul', 'explain-items');
        (s.items || []).forEach(function (i) {
          var li = el('li', i.matched ? 'ok' : 'fail');
          var key = (i.field === null ? 'keywords' : i.field) + (i.modifiers.length ? '|' + i.modifiers.join('|') : '');
          li.appendChild(el('span', 'mono', (i.matched ? '✓ ' : '✗ ') + key + ': '));
          li.appendChild(el('code', null, i.matched_value));
          li.appendChild(el('span', 'muted', ' ← ' + (i.note || (i.event_value === null ? '(no value)' : 'event: '))));
          if (!i.note && i.event_value !== null) li.appendChild(el('code', null, i.event_value));
          ul.appendChild(li);
        });
        d.appendChild(ul);
        out.appendChild(d);
      });
      (r.removed_by || []).forEach(function (f) { out.appendChild(el('p', 'small', 'Removed by filter: ' + f)); });
    }
    ef.addEventListener('submit', function (e) {
      e.preventDefault();
      var text = document.getElementById('explain-event').value;
      out.textContent = 'Explaining…';
      fetch(ef.getAttribute('data-api'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: text })
        .then(function (r) { return r.json(); })
        .then(show)
        .catch(function () { out.textContent = 'The server did not answer.'; });
    });
  })();

  // Live search on the server: results and facets refresh as you type; the URL stays shareable.
  if (document.body.getAttribute('data-mode') !== 'server') return;
  if (!form || !q || !window.fetch || !window.DOMParser || !window.URLSearchParams) return;
  var timer = null, seq = 0;
  function refresh() {
    var params = new URLSearchParams(new FormData(form));
    if (!params.get('q')) params.delete('q');
    var qs = params.toString();
    var url = form.getAttribute('action') + (qs ? '?' + qs : '');
    var mine = ++seq;
    fetch(url, { headers: { Accept: 'text/html' } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        if (mine !== seq) return;
        var doc = new DOMParser().parseFromString(html, 'text/html');
        ['results', 'facets'].forEach(function (id) {
          var fresh = doc.getElementById(id), old = document.getElementById(id);
          if (fresh && old) old.replaceWith(fresh);
        });
        document.title = doc.title;
        history.replaceState(null, '', url);
      })
      .catch(function () { /* keep the current results; submitting the form still works */ });
  }
  q.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 160);
  });
})();
