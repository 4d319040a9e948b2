// Vigie console: the core. Calls the Connect API with its JSON protocol,
// keeps the API token in sessionStorage (and nothing else: no patient data
// is ever stored in the browser), learns the caller's role from what the API
// allows, and routes between the pages on the URL's fragment, which the
// browser never sends to the server.
'use strict';

var V = (function () {
  var TOKEN = 'vigie.token';
  var state = { token: sessionStorage.getItem(TOKEN) || '', can: null, pages: {}, basis: {} };

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
  function ApiError(code, message) {
    this.code = code; this.message = message;
    // The field a refusal concerns ("access_basis: …"): the pages react
    // to it without showing it.
    var m = /^([a-z_]+): /.exec(message || '');
    this.field = m ? m[1] : '';
  }
  // needsBasis: the caller has no care relationship with the patient yet.
  function needsBasis(e) { return e instanceof ApiError && e.code === 'permission_denied' && e.field === 'access_basis'; }
  // basisRefused: the code or the reason given was not accepted.
  function basisRefused(e) {
    return e instanceof ApiError && ((e.code === 'permission_denied' && e.field === 'access_code') ||
      (e.code === 'invalid_argument' && e.field === 'break_glass'));
  }

  // call sends one unary Connect call: POST /vigie.v1.<Service>/<Method>
  // with the request message as protobuf JSON.
  // patient, when given, is the identity id whose access basis (a code
  // the patient gave, or an emergency reason) goes with the call.
  function call(service, method, body, purpose, patient) {
    var headers = { 'Content-Type': 'application/json', 'Connect-Protocol-Version': '1' };
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    if (purpose) headers['X-Purpose'] = purpose;
    var b = patient && state.basis[patient];
    if (b && b.code) headers['X-Access-Code'] = b.code;
    if (b && b.reason) headers['X-Break-Glass'] = encodeURIComponent(b.reason);
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

  // learnRoles asks the server who the token belongs to and which
  // procedures its role may call (SessionService.WhoAmI); the pages shown
  // follow from those procedures.
  function learnRoles() {
    return call('SessionService', 'WhoAmI', {}).then(function (me) {
      var procs = {};
      (me.procedures || []).forEach(function (p) { procs[p] = true; });
      function may(service, method) { return !!procs['/vigie.v1.' + service + '/' + method]; }
      var can = {
        identity: may('IdentityService', 'GetIdentity'),
        review: may('IdentityService', 'ListReviews'),
        nrd: may('DoseService', 'EvaluateNrd'),
        dose: may('DoseService', 'GetDoseHistory'),
        alerts: may('DoseService', 'ListAlerts'),
        accessCode: may('AccessService', 'CreateAccessCode'),
        admin: may('AdminService', 'ListApiKeys'),
        feed: may('IngestService', 'SubmitDicom')
      };
      can.analytics = can.nrd || can.alerts;
      state.me = { name: me.name || '', role: me.role || '' };
      return can;
    });
  }
  var roleNames = {
    vigilance: 'Identitovigilance', regional_vigilance: 'Identitovigilance régionale', physicist: 'Physique médicale', clinician: 'Clinicien',
    ingest: 'Ingestion', admin: 'Administration'
  };
  function roleLabel() {
    var me = state.me || {};
    var r = roleNames[me.role] || 'Aucun accès aux pages';
    return me.name ? me.name + ' — ' + r : r;
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN);
    state.token = ''; state.can = null; state.me = null; state.basis = {};
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
    document.getElementById('role-label').textContent = roleLabel();
    document.getElementById('whoami').hidden = false;
  }

  // firstPage names the page a role lands on: "" when it has none (an
  // ingest key, which feeds the ledger and reads nothing).
  function firstPage(can) {
    return can.review ? 'revue' : can.identity ? 'recherche' : can.analytics ? 'analyse' : can.dose ? 'dose' : can.admin ? 'administration' : '';
  }

  // signedIn keeps a verified token and opens the first page the role
  // may use.
  function signedIn(can) {
    state.can = can;
    sessionStorage.setItem(TOKEN, state.token);
    showNav();
    say('');
    location.hash = '#/' + (firstPage(can) || 'accueil');
  }
  function signInFailed(e) { state.token = ''; state.can = null; state.me = null; fail(e); }

  var oidcFailures = {
    etat: 'la réponse du fournisseur d\'identité ne correspond à aucune connexion en cours dans ce navigateur (délai dépassé ?)',
    refus: 'le fournisseur d\'identité a refusé la connexion',
    echange: 'le serveur n\'a pas pu obtenir le jeton auprès du fournisseur d\'identité',
    jeton: 'le jeton du fournisseur d\'identité n\'est pas valable pour Vigie',
    droits: 'le compte n\'a pas de rôle Vigie attribué'
  };

  // signInPage offers the token form, and the identity provider's
  // sign-in when the server has one (GET /auth/config). arg carries the
  // provider's way back: "oidc/<handle>" to collect the token the server
  // obtained, "echec/<reason>" when it failed.
  function signInPage(root, arg) {
    var parts = (arg || '').split('/');
    if (parts[0] === 'oidc' && parts[1]) {
      root.append(h('h1', null, 'Connexion'));
      say('Connexion par le fournisseur d\'identité…');
      // The handle is good once: take it out of the address at once.
      history.replaceState(null, '', '#/connexion');
      fetch('/auth/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ handle: parts[1] }),
        cache: 'no-store', credentials: 'omit' }).then(function (r) {
        if (!r.ok) throw new ApiError('unauthenticated', 'connexion expirée ou déjà utilisée, recommencez');
        return r.json();
      }).then(function (j) {
        state.token = j.token || '';
        return learnRoles();
      }).then(signedIn, function (e) { state.token = ''; state.can = null; state.me = null; route(); fail(e); });
      return;
    }
    var input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
    var form = h('form', { id: 'signin-form', class: 'grid', onsubmit: function (ev) {
      ev.preventDefault();
      clearAlert();
      state.token = input.value.trim();
      if (!state.token) return;
      say('Vérification du jeton…');
      learnRoles().then(signedIn, signInFailed);
    } },
      h('div', null, h('label', { for: 'token' }, 'Jeton d\'accès (clé d\'API)',
        h('span', { class: 'hint' }, 'Collez le jeton fourni par l\'administrateur. Il est gardé pour cet onglet seulement.')), input),
      h('div', null, h('button', { type: 'submit', id: 'signin', class: 'primary' }, 'Se connecter')));
    var oidc = h('div', { id: 'oidc-signin', hidden: true });
    root.append(h('h1', null, 'Connexion'), oidc, form);
    if (parts[0] === 'echec') {
      history.replaceState(null, '', '#/connexion');
      fail(new ApiError('unauthenticated', oidcFailures[parts[1]] || 'la connexion par le fournisseur d\'identité a échoué'));
    }
    fetch('/auth/config', { cache: 'no-store', credentials: 'omit' }).then(function (r) { return r.ok ? r.json() : {}; }).then(function (c) {
      if (c.oidc) {
        oidc.append(h('p', null, h('a', { id: 'oidc-login', class: 'button primary', href: c.login },
          'Se connecter avec le fournisseur d\'identité de l\'établissement')),
          h('p', { class: 'note' }, 'Ou, pour un compte technique, avec un jeton d\'accès :'));
        oidc.hidden = false;
      }
    }, function () {}).then(function () { ready(); });
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
    if (!state.token || !state.can) { document.title = 'Connexion — Vigie'; signInPage(root, name === 'connexion' ? arg : ''); return; }
    var p = state.pages[name];
    if (!p || !state.can[p.needs]) {
      var first = firstPage(state.can);
      if (first && name !== first && state.pages[first]) { location.replace('#/' + first); return; }
      if (state.can.feed) {
        // An ingest key: say what it is for rather than show an empty
        // console.
        root.append(h('h1', null, 'Jeton d\'alimentation'),
          h('p', null, 'Ce jeton sert aux flux automatiques qui alimentent Vigie (appels à l\'API, envoi d\'examens en STOW-RS, flux d\'identités) : il n\'ouvre pas la console.'),
          h('p', null, 'Pour consulter des patients, des historiques de dose ou administrer Vigie, connectez-vous avec votre propre compte.'));
      } else {
        root.append(h('h1', null, 'Aucune page'), h('p', null, 'Ce jeton ne donne accès à aucune page de la console.'));
      }
      ready();
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
    ins: 'INS', household: 'Foyer (adresse, téléphone)', residence: 'Résidence', phone: 'Téléphone', email: 'Courriel'
  };
  var levels = {
    exact: 'identique', variant: 'variante', compound: 'nom composé', cross: 'croisé', swapped: 'inversé', typo: 'faute de frappe',
    phonetic: 'phonétique', similar: 'proche', different: 'différent', placeholder: 'date fictive', day_month_swap: 'jour et mois inversés',
    one_part_off: 'une partie diffère', partial: 'partielle', same: 'identique', same_department: 'même département',
    same_address: 'même adresse', same_postal_code: 'même code postal', missing: 'absent',
    same_address_and_phone: 'même adresse et même téléphone', same_address_other_phone: 'même adresse, autre téléphone',
    same_phone: 'même téléphone', near: 'presque identique'
  };
  // rules says in French what each hard rule of the matcher means.
  var rules = {
    different_ins: 'INS différents', ins_conflict: 'même INS sur des traits incompatibles : collision possible',
    ins_mismatch: 'INS incohérent avec son propre dossier : non utilisé', no_auto_link: 'identité douteuse, fictive ou anonyme : jamais liée automatiquement',
    first_name_conflict: 'deux prénoms réels différents (ou un prénom inconnu dans un même foyer) : frères et sœurs, jumeaux ?', birth_date_conflict: 'dates de naissance d\'une autre personne (une génération d\'écart : parent et enfant ; quelques années dans un même foyer : frère ou sœur ?)',
    sex_first_name: 'sexe et prénom différents : frère et sœur ?', possible_twins: 'même nom et même date de naissance, prénoms seulement proches : jumeaux possibles',
    twins: 'même nom et même date de naissance, prénoms différents : jumeaux',
    other_first_names: 'les prénoms suivants diffèrent tous', household_homonyms: 'sans date de naissance, et deux personnes du même foyer portent ces noms (père et fils ?) : à trancher',
    household_no_date: 'aucune date de naissance pour les distinguer, relié par le seul foyer (un fils portant le prénom de son père ?) : à trancher',
    split_identity: 'le dossier correspond à deux identités qui se correspondent entre elles : une même personne scindée en deux ? fusion à trancher',
    local_id: 'l\'identité porte l\'identifiant local donné', qualified_ins: 'l\'identité porte l\'INS donné, qualifié'
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
    if (x.text) {
      var code = x.text.replace(/^rule /, '');
      return 'règle : ' + (rules[code] || code);
    }
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
      state.can = { identity: true, review: true, nrd: true, dose: true, alerts: true, analytics: true, admin: true, guess: true };
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

  // basisForm offers a clinician without a care relationship the two
  // ways in: the code the patient gave, or an emergency access with its
  // reason; then() runs once one is given (kept in memory only, for this
  // patient, until the page is closed).
  function basisForm(root, id, then, refused) {
    var codeIn = h('input', { id: 'basis-code', autocomplete: 'off', spellcheck: 'false' });
    var reasonIn = h('textarea', { id: 'basis-reason', rows: 3, minlength: 15, maxlength: 500 });
    var codeForm = h('form', { id: 'basis-code-form', class: 'grid', onsubmit: function (ev) {
      ev.preventDefault();
      if (!codeIn.value.trim()) { codeIn.setCustomValidity('Saisissez le code remis par le patient.'); codeIn.reportValidity(); return; }
      state.basis[id] = { code: codeIn.value.trim() };
      then();
    } },
      h('label', { for: 'basis-code' }, 'Code patient'), codeIn,
      h('button', { type: 'submit', id: 'basis-code-submit' }, 'Valider le code'));
    codeIn.oninput = function () { codeIn.setCustomValidity(''); };
    var glassForm = h('form', { id: 'basis-glass-form', class: 'grid', onsubmit: function (ev) {
      ev.preventDefault();
      var r = reasonIn.value.trim();
      if (r.length < 15) { reasonIn.setCustomValidity('Indiquez le motif de l\'accès en urgence (15 caractères au moins).'); reasonIn.reportValidity(); return; }
      state.basis[id] = { reason: r };
      then();
    } },
      h('label', { for: 'basis-reason' }, 'Motif de l\'accès en urgence'), reasonIn,
      h('button', { type: 'submit', id: 'basis-glass-submit', class: 'danger' }, 'Accéder en urgence (bris de glace)'));
    reasonIn.oninput = function () { reasonIn.setCustomValidity(''); };
    root.textContent = '';
    root.append(h('section', { id: 'basis', 'aria-labelledby': 'basis-title' },
      h('h1', { id: 'basis-title', tabindex: '-1' }, 'Accès à ce patient'),
      h('p', null, 'Ce patient n\'a pas de dossier dans votre établissement. Pour consulter ses données, saisissez le code que le patient vous a remis, ou déclarez un accès en urgence.'),
      refused ? h('p', { class: 'alert', role: 'alert', id: 'basis-refused' }, 'Le code ou le motif n\'a pas été accepté : vérifiez-le.') : null,
      h('h2', null, 'Code patient'), codeForm,
      h('h2', null, 'Accès en urgence (bris de glace)'),
      h('p', null, 'L\'accès est tracé et signalé immédiatement à l\'identitovigilance de l\'établissement du patient.'),
      glassForm));
    root.querySelector('#basis-title').focus();
    say('');
    ready();
  }
  // withBasis runs load() and, when the patient needs a basis, offers the
  // form and runs load() again once it is given.
  function withBasis(root, id, seq, load) {
    return function (e) {
      if (!current(seq)) return;
      if (needsBasis(e) || basisRefused(e)) {
        var refused = basisRefused(e);
        delete state.basis[id];
        basisForm(root, id, function () { clearAlert(); if (load) load(); else route(); }, refused);
        return;
      }
      fail(e);
    };
  }

  return {
    needsBasis: needsBasis, withBasis: withBasis,
    h: h, call: call, say: say, ready: ready, fail: fail, clearAlert: clearAlert, page: page, current: current, askReason: askReason,
    roleNames: roleNames, num: num, fixed: fixed, date: date, time: time, isoDate: isoDate, grade: grade, fields: fields, levels: levels, reason: reason,
    reasonText: reasonText, ruleText: function (code) { return rules[code]; }, sexes: sexes, fullName: fullName, state: state, errorText: errorText, route: route
  };
})();
