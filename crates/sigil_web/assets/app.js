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
