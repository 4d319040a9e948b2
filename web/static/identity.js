// Vigie console: identity pages (search, identity record, review queue).
'use strict';

(function () {
  var h = V.h;

  // traitCells lists an identity's golden traits, each tagged with the
  // matcher field it belongs to, for highlighting.
  function traitItems(g) {
    g = g || {};
    return [
      ['name', 'Nom', [g.birthName, g.usedName && g.usedName !== g.birthName ? '(usage ' + g.usedName + ')' : ''].join(' ').trim()],
      ['first_name', 'Prénoms', g.firstNames || g.firstName],
      ['birth_date', 'Né(e) le', V.date(g.birthDate)],
      ['sex', 'Sexe', V.sexes[g.sex] || g.sex],
      ['birth_place', 'Lieu de naissance', g.birthPlace],
      ['ins', 'INS', g.ins],
      ['residence', 'Résidence', [g.postalCode, g.city].filter(Boolean).join(' ')]
    ];
  }

  // weights maps each field named in reasons to its weight.
  function weights(reasons) {
    var w = {};
    (reasons || []).forEach(function (r) { var x = V.reason(r); if (x.field) w[x.field] = x.weight; });
    return w;
  }

  function traitList(g, w) {
    return h('ul', { class: 'traits' }, traitItems(g).filter(function (t) { return t[2]; }).map(function (t) {
      var cls = '', mark = '';
      if (w && w[t[0]] > 0) { cls = 'match'; mark = '✓ '; }
      else if (w && w[t[0]] < 0) { cls = 'mismatch'; mark = '✗ '; }
      var title = w && w[t[0]] !== undefined ? (w[t[0]] > 0 ? 'concorde' : 'diffère') : null;
      return h('li', { class: cls, 'data-field': t[0], title: title }, mark, h('span', { class: 'label' }, t[1] + ' : '), t[2]);
    }));
  }

  // ---- Recherche ----
  V.page('recherche', 'identity', function (root) {
    function field(id, label, hint, attrs) {
      var a = Object.assign({ id: id, name: id, autocomplete: 'off' }, attrs || {});
      return h('div', null, h('label', { for: id }, label, hint ? h('span', { class: 'hint' }, hint) : null), h('input', a));
    }
    var sex = h('select', { id: 's-sex', name: 's-sex' }, h('option', { value: '' }, '—'),
      h('option', { value: 'F' }, 'Féminin'), h('option', { value: 'M' }, 'Masculin'), h('option', { value: 'U' }, 'Inconnu'));
    var out = h('section', { id: 'results', 'aria-labelledby': 'results-title' });
    var form = h('form', { id: 'search-form', class: 'grid', role: 'search' },
      field('s-ins', 'INS', 'NIR ou NIA, 15 caractères', { inputmode: 'numeric', maxlength: '15' }),
      h('fieldset', { class: 'pair' }, h('legend', null, 'IPP'),
        field('s-authority', 'Domaine (OID de l\'établissement)'), field('s-localid', 'Identifiant local')),
      field('s-name', 'Nom', 'de naissance ou d\'usage'),
      field('s-first', 'Prénoms', 'séparés par des espaces'),
      field('s-birth', 'Date de naissance', 'JJ/MM/AAAA, MM/AAAA ou AAAA'),
      h('div', null, h('label', { for: 's-sex' }, 'Sexe'), sex),
      field('s-place', 'Lieu de naissance', 'code INSEE de la commune ou du pays'),
      field('s-postal', 'Code postal', null, { inputmode: 'numeric', maxlength: '5' }),
      h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary', id: 's-go' }, 'Rechercher'),
        h('button', { type: 'reset' }, 'Effacer')));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      V.clearAlert();
      var val = function (id) { return document.getElementById(id).value.trim(); };
      var req = { ins: val('s-ins').replace(/\s+/g, ''), limit: 20, traits: {
        name: val('s-name'), firstNames: val('s-first'), birthDate: V.isoDate(val('s-birth')), sex: sex.value,
        birthPlace: val('s-place'), postalCode: val('s-postal') } };
      if (val('s-authority') || val('s-localid')) req.localIds = [{ authority: val('s-authority'), localId: val('s-localid') }];
      V.say('Recherche…');
      var t0 = performance.now();
      V.call('IdentityService', 'SearchIdentities', req, 'care').then(function (res) {
        var rs = res.results || [];
        out.textContent = '';
        out.append(h('h2', { id: 'results-title', tabindex: '-1' }, rs.length ? rs.length + ' résultat' + (rs.length > 1 ? 's' : '') : 'Aucun résultat'));
        out.append(h('ol', { class: 'results' }, rs.map(function (r, i) {
          if (r.restricted) {
            // No care relationship yet: what is needed to choose only.
            return h('li', { class: 'result restricted', 'data-identity': r.identityId },
              h('h3', null, (i + 1) + '. ', h('a', { href: '#/identite/' + encodeURIComponent(r.identityId) }, V.fullName(r.golden)), ' ',
                V.grade(r.grade)),
              h('p', null, (r.golden && r.golden.sex ? (V.sexes[r.golden.sex] || '') + ', ' : '') +
                (r.birthYear ? 'né(e) en ' + r.birthYear : 'année de naissance inconnue')),
              h('p', null, 'Connu(e) de : ' + ((r.siteNames || []).join(', ') || '—')),
              h('p', { class: 'note' }, 'Accès restreint : pas de dossier dans votre établissement. La fiche demande le code du patient ou un motif d\'urgence.'));
          }
          var w = weights(r.reasons);
          return h('li', { class: 'result', 'data-identity': r.identityId },
            h('h3', null, (i + 1) + '. ', h('a', { href: '#/identite/' + encodeURIComponent(r.identityId) }, V.fullName(r.golden)), ' ',
              V.grade(r.grade), ' ', h('span', { class: 'note' }, 'probabilité ' + V.num(100 * (r.probability || 0), 1) + ' %')),
            traitList(r.golden, w),
            r.notice ? h('p', { class: 'warning' }, repairedText) : null,
            h('p', { class: 'reasons' }, 'Raisons : ', (r.reasons || []).map(V.reasonText).join(' ; ') || '—'),
            h('p', { class: 'note' }, 'Identité ' + r.identityId + ' — ' + (r.sources || []).length + ' dossier(s) source'));
        })));
        V.say('Recherche faite en ' + Math.round(performance.now() - t0) + ' ms.');
        out.querySelector('h2').focus();
      }, V.fail);
    });
    root.append(h('h1', null, 'Recherche d\'identité'), form, out);
    document.getElementById('s-ins').focus();
    V.ready();
  });

  // ---- Actions shared by the identity page and the review queue ----

  // act asks for a reason, calls the API and reports; then() runs after
  // success with the response.
  function act(title, what, service, method, build, then) {
    return V.askReason(title, what).then(function (reason) {
      if (!reason) return;
      V.clearAlert();
      V.say(title + '…');
      return V.call(service, method, build(reason), 'vigilance').then(function (res) {
        V.say(title + ' : fait.');
        if (then) then(res);
      }, V.fail);
    });
  }
  V.act = act;

  var kinds = {
    create: 'Création', auto_link: 'Rattachement automatique', link: 'Rattachement manuel', unlink: 'Détachement', merge: 'Fusion',
    unmerge: 'Défusion', distinct: 'Personnes distinctes', attributes: 'Attributs', update: 'Nouvelle version d\'un dossier',
    review: 'Mise en revue', decide: 'Décision de revue'
  };
  // keyText names a source record as staff know it: its establishment by
  // name (the server's, from the site registry) and the IPP; never the
  // authority's OID.
  function keyText(k) { return siteOf(k) + ' — IPP ' + k.localId; }
  function siteOf(k) { return k.site || 'Établissement non référencé'; }
  function sameKey(a, b) { return a.authority === b.authority && a.localId === b.localId; }

  // repairedText says in French what the API's notice of repaired text
  // (rpc/text.go) says in English: stored bytes that are not UTF-8.
  var repairedText = 'Certains caractères enregistrés pour cette identité ne sont pas lisibles (flux dans un autre encodage ?) : ' +
    'ils sont affichés « \uFFFD ». Corriger le dossier source.';

  // The system's own reasons and actor, stored in English in the index's
  // events, said in French; a person's reason is shown as typed.
  var reasons = {
    'automatic link': 'rattachement automatique (score du rapprochement)',
    'automatic link of an updated record': 'rattachement automatique d\'un dossier mis à jour',
    'same person': 'même personne'
  };
  function actorText(a) {
    if (!a) return '?';
    if (a === 'system') return 'Vigie (décision automatique)';
    if (a === 'demo') return 'données de démonstration';
    return a;
  }

  // ---- Fiche identité ----
  V.page('identite', 'identity', function (root, id, seq) {
    if (!id) { location.replace('#/recherche'); return; }
    function load() {
      V.say('Chargement…');
      V.call('IdentityService', 'GetIdentity', { identityId: id }, 'care', id).then(function (res) {
        if (!V.current(seq)) return;
        V.say('');
        root.textContent = '';
        render(root, res.identity || {}, id);
        V.ready(seq);
      }, V.withBasis(root, id, seq, load));
    }
    load();
  }, ['review', 'dose']);

  // The INS's assigning authorities (matcher/ins.go), by name.
  var insKinds = { '1.2.250.1.213.1.4.8': 'NIR', '1.2.250.1.213.1.4.9': 'NIA',
    '1.2.250.1.213.1.4.10': 'NIR de test', '1.2.250.1.213.1.4.11': 'NIR de démonstration' };
  var statuses = { PROV: 'provisoire', RECUP: 'récupérée', VALI: 'validée', QUAL: 'qualifiée' };
  var attributes = { DOUT: 'douteuse (DOUT)', FICT: 'fictive (FICT)', ANOM: 'anonyme (ANOM)',
    HOMD: 'homonyme détecté (HOMD)', HOMA: 'homonyme avéré (HOMA)', CACH: 'masquée (CACH)',
    OPPO: 'opposition du patient (OPPO)', COLP: 'collision potentielle (COLP)', COLV: 'collision avérée (COLV)' };

  function render(root, ident, asked) {
    var g = ident.golden || {};
    var can = V.state.can;
    var reload = function () { V.route(); };
    root.append(h('h1', null, V.fullName(g), ' ', h('span', { class: 'note' }, 'identité ' + ident.id)));
    if (ident.mergedIntoIdentityId || ident.id !== asked) {
      root.append(h('p', { class: 'warning' }, 'L\'identité ' + asked + ' a été fusionnée dans ' + ident.id + ' : c\'est elle qui est affichée.'));
    }
    if (ident.notice) root.append(h('p', { class: 'warning', id: 'text-notice' }, repairedText));
    var links = h('p', { class: 'buttons' });
    if (can.dose) links.append(h('a', { href: '#/dose/' + encodeURIComponent(ident.id), id: 'to-dose' }, 'Historique de dose'));
    root.append(links);

    // Golden view.
    var rows = [
      ['Nom de naissance', g.birthName], ['Nom d\'usage', g.usedName], ['Prénoms', g.firstNames], ['Premier prénom', g.firstName],
      ['Date de naissance', V.date(g.birthDate)], ['Sexe', V.sexes[g.sex] || g.sex], ['Lieu de naissance', g.birthPlace],
      ['INS', g.ins ? g.ins + (g.insOid ? ' (' + (insKinds[g.insOid] || 'domaine non reconnu') + ')' : '') : ''],
      ['Statut de l\'identité', g.status ? (statuses[g.status] || g.status) + ' (' + g.status + ')' : ''],
      ['Adresse', [g.address, g.postalCode, g.city].filter(Boolean).join(', ')], ['Téléphone', g.phone],
      ['Attributs', (ident.attributes || []).map(function (a) { return attributes[a] || a; }).join(', ')]
    ];
    root.append(h('section', { 'aria-labelledby': 'golden-title' }, h('h2', { id: 'golden-title' }, 'Vue consolidée'),
      h('table', { id: 'golden' }, h('tbody', null, rows.map(function (r) { return h('tr', null, h('th', { scope: 'row' }, r[0]), h('td', null, r[1] || '—')); })))));

    // Sources side by side. Per-source traits show when the API gives
    // them (an Identity.records list of SourceRecord); otherwise the keys.
    var srcs = ident.sources || [];
    var recs = ident.records || [];
    var sec = h('section', { 'aria-labelledby': 'sources-title' }, h('h2', { id: 'sources-title' }, 'Dossiers sources (' + srcs.length + ')'));
    var traitRows = [['birthName', 'Nom de naissance'], ['usedName', 'Nom d\'usage'], ['firstNames', 'Prénoms'], ['birthDate', 'Date de naissance'],
      ['sex', 'Sexe'], ['birthPlace', 'Lieu de naissance'], ['ins', 'INS'], ['status', 'Statut'], ['postalCode', 'Code postal'], ['city', 'Ville'], ['phone', 'Téléphone']];
    var head = h('tr', null, h('th', { scope: 'col' }, 'Trait'), srcs.map(function (k) {
      return h('th', { scope: 'col', 'data-authority': k.authority, 'data-local-id': k.localId }, siteOf(k), h('br'), 'IPP ' + k.localId);
    }));
    var body = h('tbody');
    if (recs.length) {
      traitRows.forEach(function (t) {
        var vals = srcs.map(function (k) { var r = recs.find(function (x) { return sameKey(x, k); }) || {}; return r[t[0]] || ''; });
        var differs = vals.filter(Boolean).some(function (v, _, a) { return v !== a[0]; });
        body.append(h('tr', { class: differs ? 'diff' : null }, h('th', { scope: 'row' }, t[1], differs ? ' (diffère)' : ''),
          vals.map(function (v) { return h('td', null, v || '—'); })));
      });
    } else {
      body.append(h('tr', null, h('th', { scope: 'row' }, 'Établissement'), srcs.map(function (k) { return h('td', null, siteOf(k)); })));
    }
    if (can.review) {
      body.append(h('tr', { class: 'no-print' }, h('th', { scope: 'row' }, 'Actions'), srcs.map(function (k) {
        return h('td', null, h('button', { type: 'button', class: 'danger', 'data-action': 'unlink', onclick: function () {
          act('Détacher le dossier', 'Le dossier ' + keyText(k) + ' formera une identité à lui seul.', 'IdentityService', 'Unlink',
            function (reason) { return { record: { authority: k.authority, localId: k.localId }, reason: reason }; }, reload);
        } }, 'Détacher'));
      })));
    }
    sec.append(h('table', { id: 'sources' }, h('thead', null, head), body));
    if (!recs.length) sec.append(h('p', { class: 'note' }, 'Les traits de chaque dossier source ne sont pas fournis par l\'API : seule la vue consolidée est affichée.'));
    root.append(sec);

    if (can.review) root.append(correctionForms(ident, reload));

    // History.
    var evs = (ident.events || []).slice().reverse();
    root.append(h('section', { 'aria-labelledby': 'events-title' }, h('h2', { id: 'events-title' }, 'Historique (' + evs.length + ' évènements, le plus récent en premier)'),
      h('ol', { class: 'events', id: 'events' }, evs.map(function (e) { return eventItem(e, ident, reload); }))));
  }

  function eventItem(e, ident, reload) {
    var can = V.state.can;
    var li = h('li', { class: 'kind-' + e.kind, 'data-event': e.id, 'data-kind': e.kind },
      h('strong', null, kinds[e.kind] || e.kind), ' ',
      h('span', { class: 'meta' }, V.time(e.time) + ' — par ' + actorText(e.actor) + (e.score ? ' — probabilité ' + V.num(100 * e.score, 1) + ' %' : '')),
      e.reason ? h('div', null, 'Motif : ', reasons[e.reason] || e.reason) : null,
      (e.records || []).length ? h('div', { class: 'meta' }, 'Dossiers : ' + e.records.map(keyText).join(' ; ')) : null,
      (e.identityIds || []).length ? h('div', { class: 'meta' }, 'Identités : ', e.identityIds.map(function (x, i) {
        return [i ? ', ' : '', x === ident.id ? x : h('a', { href: '#/identite/' + encodeURIComponent(x) }, x)];
      })) : null);
    if (!can.review) return li;
    var ids = e.identityIds || [];
    var undo = null;
    if (e.kind === 'merge') {
      undo = h('button', { type: 'button', class: 'danger', 'data-action': 'unmerge', onclick: function () {
        act('Défusionner', 'Annule la fusion ' + e.id + ' : les deux identités redeviennent distinctes.', 'IdentityService', 'Unmerge',
          function (reason) { return { mergeEventId: e.id, reason: reason }; }, reload);
      } }, 'Défusionner');
    } else if (e.kind === 'unmerge' && ids.length === 2) {
      undo = h('button', { type: 'button', 'data-action': 'merge', onclick: function () {
        act('Refusionner', 'Fusionne à nouveau ' + ids[1] + ' dans ' + ids[0] + '.', 'IdentityService', 'Merge',
          function (reason) { return { survivorIdentityId: ids[0], mergedIdentityId: ids[1], reason: reason }; }, reload);
      } }, 'Refusionner');
    } else if ((e.kind === 'link' || e.kind === 'auto_link') && (e.records || []).length === 1 &&
      (ident.sources || []).some(function (k) { return sameKey(k, e.records[0]); })) {
      var k = e.records[0];
      undo = h('button', { type: 'button', 'data-action': 'unlink', onclick: function () {
        act('Annuler le rattachement', 'Détache le dossier ' + keyText(k) + '.', 'IdentityService', 'Unlink',
          function (reason) { return { record: { authority: k.authority, localId: k.localId }, reason: reason }; }, reload);
      } }, 'Annuler (détacher)');
    } else if (e.kind === 'unlink' && (e.records || []).length === 1 &&
      !(ident.sources || []).some(function (k) { return sameKey(k, e.records[0]); })) {
      var r = e.records[0];
      undo = h('button', { type: 'button', 'data-action': 'link', onclick: function () {
        act('Annuler le détachement', 'Rattache à nouveau le dossier ' + keyText(r) + ' à l\'identité ' + ident.id + '.', 'IdentityService', 'Link',
          function (reason) { return { record: { authority: r.authority, localId: r.localId }, targetIdentityId: ident.id, reason: reason }; }, reload);
      } }, 'Annuler (rattacher)');
    }
    if (undo) li.append(h('div', { class: 'buttons no-print' }, undo));
    return li;
  }

  // correctionForms: link a record into this identity, merge another
  // identity into it.
  function correctionForms(ident, reload) {
    var la = h('input', { id: 'l-authority', autocomplete: 'off', required: true });
    var ll = h('input', { id: 'l-localid', autocomplete: 'off', required: true });
    var mi = h('input', { id: 'm-identity', autocomplete: 'off', required: true });
    var link = h('form', { class: 'grid', id: 'link-form' }, h('div', null, h('label', { for: 'l-authority' }, 'Domaine du dossier (OID)'), la),
      h('div', null, h('label', { for: 'l-localid' }, 'IPP du dossier'), ll),
      h('div', null, h('button', { type: 'submit' }, 'Rattacher à cette identité')));
    link.addEventListener('submit', function (ev) {
      ev.preventDefault();
      act('Rattacher un dossier', 'Le dossier ' + ll.value + ' (' + la.value + ') rejoindra l\'identité ' + ident.id + '.', 'IdentityService', 'Link',
        function (reason) { return { record: { authority: la.value.trim(), localId: ll.value.trim() }, targetIdentityId: ident.id, reason: reason }; }, reload);
    });
    var merge = h('form', { class: 'grid', id: 'merge-form' }, h('div', null, h('label', { for: 'm-identity' }, 'Identité à fusionner dans celle-ci'), mi),
      h('div', null, h('button', { type: 'submit' }, 'Fusionner ici')));
    merge.addEventListener('submit', function (ev) {
      ev.preventDefault();
      act('Fusionner', 'Les dossiers de ' + mi.value + ' rejoindront ' + ident.id + ', qui subsiste.', 'IdentityService', 'Merge',
        function (reason) { return { survivorIdentityId: ident.id, mergedIdentityId: mi.value.trim(), reason: reason }; }, reload);
    });
    return h('section', { class: 'no-print', 'aria-labelledby': 'fix-title' }, h('h2', { id: 'fix-title' }, 'Corrections'), link, h('p'), merge);
  }

  // ---- File de revue ----
  // The queue comes ten pairs at a time: each pair is a table and a chart,
  // and an old PC takes a while to lay out many.
  var REVIEW_PAGE = 10;
  V.page('revue', 'review', function (root, _, seq) {
    root.append(h('h1', null, 'File de revue'), h('p', { class: 'note' }, 'Paires en attente, la plus urgente (probabilité la plus haute) en premier.'));
    var list = h('div', { id: 'reviews' });
    var more = h('button', { type: 'button', id: 'more-reviews', hidden: true }, 'Afficher les paires suivantes');
    root.append(list, h('p', { class: 'no-print' }, more));
    var shown = 0, token = '';
    function load() {
      V.say('Chargement de la file…');
      more.disabled = true;
      V.call('IdentityService', 'ListReviews', { pageSize: REVIEW_PAGE, pageToken: token }, 'vigilance').then(function (res) {
        if (!V.current(seq)) return;
        var rs = res.reviews || [];
        rs.forEach(function (r) { list.append(reviewItem(r, shown++)); });
        token = res.nextPageToken || '';
        more.hidden = !token;
        more.disabled = false;
        V.say(shown ? shown + ' paire(s) affichée(s)' + (token ? ' ; il en reste d\'autres.' : '.') : 'La file est vide.');
        V.ready(seq);
      }, V.fail);
    }
    more.addEventListener('click', load);
    load();
  });

  var compared = [
    ['name', 'Nom', function (g) { return [g.birthName, g.usedName].filter(Boolean).join(' / '); }],
    ['first_name', 'Prénoms', function (g) { return g.firstNames || g.firstName; }],
    ['birth_date', 'Date de naissance', function (g) { return V.date(g.birthDate); }],
    ['sex', 'Sexe', function (g) { return V.sexes[g.sex] || g.sex; }],
    ['birth_place', 'Lieu de naissance', function (g) { return g.birthPlace; }],
    ['ins', 'INS', function (g) { return g.ins; }],
    ['residence', 'Résidence', function (g) { return [g.postalCode, g.city].filter(Boolean).join(' '); }],
    ['phone', 'Téléphone', function (g) { return g.phone; }]
  ];

  function reviewItem(r, i) {
    var c = (r.candidates || [])[0] || {};
    var rec = r.record || {};
    var ex = c.explanation || {};
    var byField = {};
    (ex.fields || []).forEach(function (f) { byField[f.field] = f; });
    var titleId = 'rv-' + r.id;
    var table = h('table', { class: 'compare' },
      h('caption', null, 'Comparaison champ par champ'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Champ'), h('th', { scope: 'col' }, 'Dossier en revue'),
        h('th', { scope: 'col' }, 'Identité candidate'), h('th', { scope: 'col' }, 'Niveau'), h('th', { scope: 'col', class: 'num' }, 'Poids (bits)'))),
      h('tbody', null, compared.map(function (f) {
        var e = byField[f[0]];
        var cls = e ? (e.weight > 0 ? 'match' : e.weight < 0 ? 'mismatch' : '') : '';
        return h('tr', { class: cls || null }, h('th', { scope: 'row' }, f[1]), h('td', null, f[2](rec) || '—'), h('td', null, f[2](c.golden || {}) || '—'),
          h('td', null, e ? (V.levels[e.level] || e.level) : '—'), h('td', { class: 'num' }, e ? (e.weight > 0 ? '+' : '') + V.num(e.weight, 1) : '—'));
      })));
    var reload = function () { V.route(); };
    var recKey = { authority: rec.authority, localId: rec.localId };
    var who = 'dossier ' + keyText({ site: r.site, localId: rec.localId }) + ' et identité ' + c.identityId;
    function btn(action, label, title, cls, service, method, build, then) {
      return h('button', { type: 'button', class: cls || null, 'data-action': action, onclick: function () {
        act(title, who, service, method, build, then || reload);
      } }, label);
    }
    var buttons = h('div', { class: 'buttons' },
      btn('same', 'Même personne', 'Même personne', 'primary', 'IdentityService', 'DecideReview', function (reason) {
        return { reviewId: r.id, outcome: 'REVIEW_OUTCOME_LINK', targetIdentityId: c.identityId, reason: reason }; }),
      btn('different', 'Personnes différentes', 'Personnes différentes', null, 'IdentityService', 'DecideReview', function (reason) {
        return { reviewId: r.id, outcome: 'REVIEW_OUTCOME_DISTINCT', reason: reason }; }),
      btn('skip', 'Passer', 'Passer (garder séparé pour l\'instant)', null, 'IdentityService', 'DecideReview', function (reason) {
        return { reviewId: r.id, outcome: 'REVIEW_OUTCOME_KEEP_SEPARATE', reason: reason }; }),
      btn('merge', 'Fusionner', 'Fusionner ' + r.identityId + ' dans ' + c.identityId, null, 'IdentityService', 'Merge', function (reason) {
        return { survivorIdentityId: c.identityId, mergedIdentityId: r.identityId, reason: reason }; }, function () {
        location.hash = '#/identite/' + encodeURIComponent(c.identityId);
      }),
      btn('link', 'Rattacher le dossier', 'Rattacher le dossier au candidat', null, 'IdentityService', 'Link', function (reason) {
        return { record: recKey, targetIdentityId: c.identityId, reason: reason }; }),
      btn('unlink', 'Détacher le dossier', 'Détacher le dossier de son identité', 'danger', 'IdentityService', 'Unlink', function (reason) {
        return { record: recKey, reason: reason }; }));
    return h('article', { class: 'review', 'data-review': r.id, 'aria-labelledby': titleId },
      h('header', null, h('h2', { id: titleId }, 'Paire ' + (i + 1)), V.grade(c.grade),
        h('span', null, 'probabilité ' + V.num(100 * (c.probability || 0), 1) + ' %'), h('span', { class: 'note' }, 'en file depuis le ' + V.time(r.created))),
      h('div', { class: 'cols' },
        h('div', { class: 'card' }, h('h3', null, 'Dossier en revue'), h('p', null, V.fullName(rec)),
          h('p', { class: 'note', 'data-field': 'site' }, 'IPP ' + rec.localId + ' — ' + siteOf(r)), h('p', null, 'Identité provisoire : ',
            h('a', { href: '#/identite/' + encodeURIComponent(r.identityId) }, r.identityId))),
        h('div', { class: 'card' }, h('h3', null, 'Identité candidate'), h('p', null, V.fullName(c.golden)),
          h('p', null, h('a', { href: '#/identite/' + encodeURIComponent(c.identityId) }, 'Identité ' + c.identityId)))),
      table,
      h('figure', { class: 'chart' }, V.waterfall(ex), h('figcaption', { class: 'legend' },
        'Cascade des poids : chaque champ ajoute (vert, vers la droite) ou retire (rouge, vers la gauche) des bits ; la dernière barre est le total (' +
        V.num(ex.weight || 0, 1) + ' bits).')),
      (ex.rules || []).length ? h('ul', null, ex.rules.map(function (x) { return h('li', { class: 'warning', 'data-rule': x.code }, 'Règle : ' + (V.ruleText(x.code) || x.message || x.code)); })) : null,
      buttons);
  }
})();
