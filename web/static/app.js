// Vigie console: the core. Calls the Connect API with its JSON protocol,
// keeps the API token in sessionStorage (and nothing else: no patient data
// is ever stored in the browser), learns the caller's role from what the API
// allows, and routes between the pages on the URL's fragment, which the
// browser never sends to the server.
'use strict';

var V = (function () {
  var TOKEN = 'vigie.token';
  var state = { token: sessionStorage.getItem(TOKEN) || '', can: null, pages: {} };

  // h builds an element: h('td', {class: 'num'}, 'text', child...). Text is
  // always set as text, never parsed as HTML.
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : v);
      }
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, c) {
    if (c === undefined || c === null || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { append(el, x); }); return; }
    el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }

  // ApiError is a Connect error: code (invalid_argument, not_found,
  // permission_denied, unauthenticated, ...) and message.
  function ApiError(code, message) { this.code = code; this.message = message; }

  // call sends one unary Connect call: POST /vigie.v1.<Service>/<Method>
  // with the request message as protobuf JSON.
  function call(service, method, body, purpose) {
    var headers = { 'Content-Type': 'application/json', 'Connect-Protocol-Version': '1' };
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    if (purpose) headers['X-Purpose'] = purpose;
    return fetch('/vigie.v1.' + service + '/' + method, {
      method: 'POST', headers: headers, body: JSON.stringify(body || {}), cache: 'no-store', credentials: 'omit'
    }).then(function (r) {
      return r.text().then(function (t) {
        var j = {};
        try { j = t ? JSON.parse(t) : {}; } catch (e) { j = {}; }
        if (!r.ok) throw new ApiError(j.code || 'unknown', j.message || ('HTTP ' + r.status));
        return j;
      });
    }, function () { throw new ApiError('unavailable', 'le serveur ne répond pas'); });
  }

  var codes = {
    invalid_argument: 'Requête invalide', not_found: 'Introuvable', permission_denied: 'Accès refusé',
    unauthenticated: 'Jeton refusé ou expiré', failed_precondition: 'Action impossible dans l\'état actuel',
    unavailable: 'Service indisponible', internal: 'Erreur interne du serveur'
  };
  function errorText(e) {
    if (e instanceof ApiError) return (codes[e.code] || e.code) + ' : ' + e.message;
    return String(e && e.message || e);
  }

  function say(msg) { document.getElementById('status').textContent = msg || ''; }
  function fail(e) {
    if (e instanceof ApiError && e.code === 'unauthenticated' && state.token) signOut();
    var box = document.getElementById('alert');
    box.textContent = errorText(e);
    box.hidden = false;
    say('');
  }
  function clearAlert() { var b = document.getElementById('alert'); b.hidden = true; b.textContent = ''; }

  // Role probes: one call per distinctive capability, with a request the
  // handler refuses as invalid after the role check: invalid_argument
  // means the role may call it, permission_denied that it may not; nothing
  // is read. ListReviews is for vigilance only, EvaluateNrd for physicists
  // only, GetIdentity for clinicians and vigilance; the dose history follows
  // (clinician, vigilance, physicist), and so do alerts (vigilance,
  // physicist). Three calls, in parallel.
  var probes = {
    identity: ['IdentityService', 'GetIdentity', {}],
    review: ['IdentityService', 'ListReviews', { pageSize: 1000000 }],
    nrd: ['DoseService', 'EvaluateNrd', {}]
  };
  function learnRoles() {
    var names = Object.keys(probes);
    return Promise.all(names.map(function (n) {
      var p = probes[n];
      return call(p[0], p[1], p[2]).then(function () { return true; }, function (e) {
        if (e.code === 'unauthenticated') throw e;
        return e.code !== 'permission_denied';
      });
    })).then(function (ok) {
      var can = {};
      names.forEach(function (n, i) { can[n] = ok[i]; });
      can.dose = can.identity || can.nrd;
      can.alerts = can.review || can.nrd;
      can.analytics = can.nrd || can.alerts;
      return can;
    });
  }
  function roleLabel(can) {
    if (can.review) return 'Identitovigilance';
    if (can.nrd) return 'Physique médicale';
    if (can.identity) return 'Clinicien';
    if (can.dose) return 'Lecture de dose';
    return 'Aucun accès aux pages';
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN);
    state.token = ''; state.can = null;
    document.getElementById('nav').hidden = true;
    document.getElementById('whoami').hidden = true;
    // No hashchange event: the route is drawn now, and an error shown
    // after it stays.
    history.replaceState(null, '', '#/connexion');
    route();
  }

  function showNav() {
    var nav = document.getElementById('nav');
    nav.querySelectorAll('li[data-needs]').forEach(function (li) { li.hidden = !state.can[li.getAttribute('data-needs')]; });
    nav.hidden = false;
    document.getElementById('role-label').textContent = roleLabel(state.can);
    document.getElementById('whoami').hidden = false;
  }

  function signInPage(root) {
    var input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
    var form = h('form', { id: 'signin-form', class: 'grid', onsubmit: function (ev) {
      ev.preventDefault();
      clearAlert();
      state.token = input.value.trim();
      if (!state.token) return;
      say('Vérification du jeton…');
      learnRoles().then(function (can) {
        state.can = can;
        sessionStorage.setItem(TOKEN, state.token);
        showNav();
        say('');
        location.hash = can.review ? '#/revue' : can.identity ? '#/recherche' : can.analytics ? '#/analyse' : '#/dose';
      }, function (e) { state.token = ''; state.can = null; fail(e); });
    } },
      h('div', null, h('label', { for: 'token' }, 'Jeton d\'accès (clé d\'API)',
        h('span', { class: 'hint' }, 'Collez le jeton fourni par l\'administrateur. Il est gardé pour cet onglet seulement.')), input),
      h('div', null, h('button', { type: 'submit', id: 'signin', class: 'primary' }, 'Se connecter')));
    ready();
    root.append(h('h1', null, 'Connexion'), form,
      h('p', { class: 'note' }, 'La connexion par le fournisseur d\'identité de l\'établissement (OpenID Connect) n\'est pas encore proposée par cette console : utilisez un jeton.'));
    input.focus();
  }

  // Pages register with V.page(name, needs, render(root, arg, seq), uses):
  // needs is the capability that shows the page, uses the others its
  // content depends on.
  function page(name, needs, render, uses) { state.pages[name] = { needs: needs, render: render, uses: uses || [] }; }

  var seq = 0;
  function route() {
    var hash = location.hash.replace(/^#\/?/, '');
    var parts = hash.split('/');
    var name = parts[0] || '';
    var arg = decodeURIComponent(parts.slice(1).join('/'));
    var root = document.getElementById('page');
    root.textContent = '';
    clearAlert();
    say('');
    seq++;
    delete document.body.dataset.ready;
    document.querySelectorAll('#nav a').forEach(function (a) {
      if (a.getAttribute('href') === '#/' + name) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    });
    if (!state.token || !state.can) { document.title = 'Connexion — Vigie'; signInPage(root); return; }
    var p = state.pages[name];
    if (!p || !state.can[p.needs]) {
      var first = state.can.review ? 'revue' : state.can.identity ? 'recherche' : state.can.analytics ? 'analyse' : 'dose';
      if (name !== first && state.pages[first]) { location.replace('#/' + first); return; }
      root.append(h('h1', null, 'Aucune page'), h('p', null, 'Ce jeton ne donne accès à aucune page de la console.'));
      return;
    }
    p.render(root, arg, seq);
    var main = document.getElementById('main');
    if (document.activeElement === document.body || !main.contains(document.activeElement)) main.focus({ preventScroll: true });
  }
  // ready marks the page as loaded (its data shown), with the time since
  // the document started loading: what the load-time measurement reads.
  function ready(s) {
    if (s !== undefined && s !== seq) return;
    if (state.can && state.can.guess) { state.pendingReady = true; return; }
    document.body.dataset.ready = String(Math.round(performance.now()));
  }
  // current reports whether the page that started an asynchronous load is
  // still the one shown.
  function current(s) { return s === seq; }

  // askReason opens the reason dialog; resolves with the reason, or null
  // when cancelled.
  function askReason(title, what, label) {
    var dlg = document.getElementById('reason-dialog');
    var ta = document.getElementById('reason');
    document.querySelector('label[for="reason"]').textContent = label || 'Motif (obligatoire, conservé dans l\'historique)';
    document.getElementById('reason-title').textContent = title;
    document.getElementById('reason-what').textContent = what || '';
    ta.value = '';
    return new Promise(function (resolve) {
      var form = document.getElementById('reason-form');
      var cancel = document.getElementById('reason-cancel');
      function done(v) {
        form.removeEventListener('submit', onSubmit);
        cancel.removeEventListener('click', onCancel);
        dlg.removeEventListener('cancel', onCancel);
        if (dlg.open) dlg.close();
        resolve(v);
      }
      function onSubmit(ev) {
        ev.preventDefault();
        var v = ta.value.trim();
        if (!v) { ta.setCustomValidity('Un motif est obligatoire.'); ta.reportValidity(); return; }
        ta.setCustomValidity('');
        done(v);
      }
      function onCancel(ev) { if (ev) ev.preventDefault(); done(null); }
      form.addEventListener('submit', onSubmit);
      cancel.addEventListener('click', onCancel);
      dlg.addEventListener('cancel', onCancel);
      ta.oninput = function () { ta.setCustomValidity(''); };
      dlg.showModal();
      ta.focus();
    });
  }

  // Formatting. Intl formatters are costly to build (an old PC notices
  // hundreds of them on a page): one per precision, kept.
  var formats = {};
  function formatter(min, max) {
    var k = min + ':' + max;
    return formats[k] || (formats[k] = new Intl.NumberFormat('fr-FR', { minimumFractionDigits: min, maximumFractionDigits: max }));
  }
  function num(v, digits) {
    if (v === undefined || v === null || v === '') return '—';
    var n = Number(v);
    if (!isFinite(n)) return '—';
    return formatter(0, digits === undefined ? 2 : digits).format(n);
  }
  // fixed formats with exactly digits decimals.
  function fixed(v, digits) {
    if (v === undefined || v === null) return '—';
    var n = Number(v);
    if (!isFinite(n)) return '—';
    return formatter(digits, digits).format(n);
  }
  var dateTime = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'short', timeStyle: 'short' });
  function date(iso) {
    if (!iso) return '';
    var m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(iso);
    if (!m) return iso;
    if (!m[2]) return m[1];
    if (!m[3]) return m[2] + '/' + m[1];
    return m[3] + '/' + m[2] + '/' + m[1];
  }
  function time(ts) {
    if (!ts) return '';
    var d = new Date(ts);
    if (isNaN(d)) return ts;
    return dateTime.format(d);
  }
  // isoDate accepts AAAA-MM-JJ, JJ/MM/AAAA, MM/AAAA and AAAA.
  function isoDate(s) {
    s = (s || '').trim();
    var m = /^(\d{1,2})[\/.](\d{1,2})[\/.](\d{4})$/.exec(s);
    if (m) return m[3] + '-' + ('0' + m[2]).slice(-2) + '-' + ('0' + m[1]).slice(-2);
    m = /^(\d{1,2})[\/.](\d{4})$/.exec(s);
    if (m) return m[2] + '-' + ('0' + m[1]).slice(-2);
    return s;
  }
  var grades = {
    GRADE_CERTAIN: ['certain', 'grade-certain'], GRADE_PROBABLE: ['probable', 'grade-probable'],
    GRADE_POSSIBLE: ['possible', 'grade-possible'], GRADE_CERTAINLY_NOT: ['exclu', 'grade-no']
  };
  function grade(g) {
    var x = grades[g] || ['non gradé', 'grade-possible'];
    return h('span', { class: 'grade ' + x[1] }, x[0]);
  }
  var fields = {
    name: 'Nom', first_name: 'Prénoms', birth_date: 'Date de naissance', sex: 'Sexe', birth_place: 'Lieu de naissance',
    ins: 'INS', residence: 'Résidence', phone: 'Téléphone'
  };
  var levels = {
    exact: 'identique', variant: 'variante', compound: 'nom composé', cross: 'croisé', swapped: 'inversé', typo: 'faute de frappe',
    phonetic: 'phonétique', similar: 'proche', different: 'différent', placeholder: 'date fictive', day_month_swap: 'jour et mois inversés',
    one_part_off: 'une partie diffère', partial: 'partielle', same: 'identique', same_department: 'même département',
    same_address: 'même adresse', same_postal_code: 'même code postal', missing: 'absent'
  };
  // reason parses "field level +w" into {field, level, weight}; other
  // reasons come back as {text}.
  function reason(r) {
    var m = /^(\S+) (\S+) ([+-]?\d+(?:\.\d+)?)$/.exec(r);
    if (!m || !fields[m[1]]) return { text: r };
    return { field: m[1], level: m[2], weight: Number(m[3]) };
  }
  function reasonText(r) {
    var x = reason(r);
    if (x.text) return x.text.replace(/^rule /, 'règle : ');
    return fields[x.field] + ' ' + (levels[x.level] || x.level) + ' (' + (x.weight > 0 ? '+' : '') + num(x.weight, 1) + ')';
  }
  var sexes = { M: 'Masculin', F: 'Féminin', U: 'Inconnu' };
  // fullName writes a name as French identity vigilance does: family
  // names in capitals, first names capitalised.
  function fullName(g) {
    if (!g) return '';
    var up = function (x) { return (x || '').toLocaleUpperCase('fr-FR'); };
    var n = up(g.birthName);
    if (g.usedName && up(g.usedName) !== n) n += (n ? ' (usage : ' + up(g.usedName) + ')' : up(g.usedName));
    return (n + ' ' + capital(g.firstNames || g.firstName)).trim() || '(sans nom)';
  }
  function capital(x) {
    return (x || '').toLocaleLowerCase('fr-FR').replace(/(^|[\s-])(\S)/g, function (m, a, b) { return a + b.toLocaleUpperCase('fr-FR'); });
  }

  window.addEventListener('hashchange', route);
  document.addEventListener('DOMContentLoaded', function () {
    document.getElementById('signout').addEventListener('click', signOut);
    if (!state.token) { route(); return; }
    // A page reloaded with a token: show it at once, while the role is
    // learned in parallel; the menu appears, or the page is left for an
    // allowed one, when the role is known.
    var hash = location.hash.replace(/^#\/?/, '').split('/')[0];
    if (state.pages[hash]) {
      state.can = { identity: true, review: true, nrd: true, dose: true, alerts: true, analytics: true, guess: true };
      route();
    } else {
      say('Vérification du jeton…');
    }
    learnRoles().then(function (can) {
      var p = state.pages[hash];
      var stay = state.can && state.can.guess && p && can[p.needs] && p.uses.every(function (u) { return can[u]; });
      state.can = can;
      showNav();
      if (!stay) route();
      else if (state.pendingReady) ready();
      state.pendingReady = false;
    }, function (e) {
      sessionStorage.removeItem(TOKEN); state.token = ''; state.can = null; route(); fail(e);
    });
  });

  return {
    h: h, call: call, say: say, ready: ready, fail: fail, clearAlert: clearAlert, page: page, current: current, askReason: askReason,
    num: num, fixed: fixed, date: date, time: time, isoDate: isoDate, grade: grade, fields: fields, levels: levels, reason: reason,
    reasonText: reasonText, sexes: sexes, fullName: fullName, state: state, errorText: errorText, route: route
  };
})();
