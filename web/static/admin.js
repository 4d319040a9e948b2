// Vigie console: the administration page (admin role). API keys and the
// site registry, nothing of any patient. Keys' secrets are never listed by
// the API; their ids and the sites' OIDs stay out of the text shown:
// establishments are named, keys are told apart by their holder.
'use strict';

(function () {
  var h = V.h;

  var roles = {
    ingest: 'Alimentation (flux)', clinician: 'Clinicien', vigilance: 'Identitovigilance',
    regional_vigilance: 'Identitovigilance régionale', physicist: 'Physique médicale', admin: 'Administration'
  };
  var origins = { admin: 'administration', feed: 'proposé par un flux d\'identités' };

  V.page('administration', 'admin', function (root, _, seq) {
    root.append(h('h1', null, 'Administration'),
      h('p', { class: 'note' }, 'Clés d\'accès à Vigie et établissements membres. Cette page ne montre aucune donnée de patient.'));
    var keysBox = h('section', { id: 'admin-keys', 'aria-labelledby': 'admin-keys-title' }, h('h2', { id: 'admin-keys-title' }, 'Clés d\'accès'));
    var sitesBox = h('section', { id: 'admin-sites', 'aria-labelledby': 'admin-sites-title' }, h('h2', { id: 'admin-sites-title' }, 'Établissements'));
    root.append(keysBox, sitesBox);
    V.say('Chargement…');
    load(seq, keysBox, sitesBox);
  });

  // load reads the sites and the keys (revoked and expired ones too) and
  // draws both tables.
  function load(seq, keysBox, sitesBox) {
    Promise.all([V.call('AdminService', 'ListSites', {}), V.call('AdminService', 'ListApiKeys', { includeInactive: true })]).then(function (r) {
      if (!V.current(seq)) return;
      var sites = r[0].sites || [];
      var byAuthority = {};
      sites.forEach(function (s) { byAuthority[s.authority] = s.name; });
      var again = function () { V.clearAlert(); load(seq, keysBox, sitesBox); };
      fill(keysBox, keyTable(r[1].keys || [], byAuthority, again));
      fill(sitesBox, siteTable(sites, again), h('h3', null, 'Ajouter un établissement'), addSiteForm(again));
      V.say('');
      V.ready(seq);
    }, function (e) { if (V.current(seq)) { V.fail(e); V.ready(seq); } });
  }

  // fill replaces a section's content after its heading.
  function fill(box) {
    while (box.children.length > 1) box.removeChild(box.lastChild);
    for (var i = 1; i < arguments.length; i++) box.append(arguments[i]);
  }

  function keyState(k, now) {
    if (k.revoked) return { text: 'révoquée', detail: 'le ' + V.time(k.revoked), live: false };
    if (k.expires && new Date(k.expires) <= now) return { text: 'expirée', live: false };
    if (k.pending) return { text: 'en attente d\'approbation', detail: k.createdBy ? 'créée par ' + k.createdBy : '', live: true, pending: true };
    return { text: 'active', detail: k.approvedBy ? 'approuvée par ' + k.approvedBy : '', live: true };
  }

  function keySites(k, byAuthority) {
    var a = k.authorities || [];
    if (!a.length) return k.role === 'regional_vigilance' ? 'toute la région' : '—';
    // Unregistered sites are counted, not listed: they have no name to
    // show, and their OIDs are not shown.
    var named = a.filter(function (x) { return byAuthority[x]; }).map(function (x) { return byAuthority[x]; });
    var other = a.length - named.length;
    if (other) named.push(other === 1 ? (named.length ? '1 établissement non référencé' : 'Établissement non référencé') : other + ' établissements non référencés');
    return named.join(', ');
  }

  function keyTable(keys, byAuthority, again) {
    if (!keys.length) return h('p', { class: 'empty' }, 'Aucune clé.');
    var me = (V.state.me || {}).name || '';
    var now = new Date();
    // Pending keys first: they wait for someone.
    keys = keys.slice().sort(function (a, b) { return (b.pending && !b.revoked ? 1 : 0) - (a.pending && !a.revoked ? 1 : 0); });
    var rows = keys.map(function (k) {
      var st = keyState(k, now);
      var actions = [];
      var own = k.name === me || k.createdBy === me;
      if (st.pending) {
        if (own) actions.push(h('span', { class: 'note' }, 'à approuver par une autre personne'));
        else actions.push(h('button', { type: 'button', class: 'primary', 'data-action': 'approve', onclick: function (ev) {
          ev.target.disabled = true;
          V.say('Approbation…');
          V.call('AdminService', 'ApproveApiKey', { id: k.id }).then(again, function (e) { ev.target.disabled = false; V.fail(e); });
        } }, 'Approuver'));
      }
      if (st.live && k.name !== me) {
        // Two clicks: the first asks for confirmation.
        actions.push(h('button', { type: 'button', class: 'danger', 'data-action': 'revoke', onclick: function (ev) {
          var b = ev.target;
          if (!b.dataset.confirm) { b.dataset.confirm = '1'; b.textContent = 'Confirmer la révocation'; return; }
          b.disabled = true;
          V.say('Révocation…');
          V.call('AdminService', 'RevokeApiKey', { id: k.id }).then(again, function (e) { b.disabled = false; V.fail(e); });
        } }, 'Révoquer'));
      }
      if (k.name === me) actions.push(h('span', { class: 'note' }, 'votre clé'));
      return h('tr', { 'data-key': k.id, 'data-state': st.pending ? 'pending' : st.live ? 'active' : 'inactive' },
        h('td', null, k.name),
        h('td', null, roles[k.role] || 'Rôle inconnu'),
        h('td', null, keySites(k, byAuthority)),
        h('td', null, V.time(k.created)),
        h('td', null, V.time(k.expires)),
        h('td', { 'data-field': 'state' }, st.text, st.detail ? h('span', { class: 'hint' }, st.detail) : null),
        h('td', null, actions));
    });
    return h('table', { id: 'keys-table' },
      h('caption', null, 'Clés d\'API, des plus anciennes aux plus récentes (les clés en attente d\'abord)'),
      h('thead', null, h('tr', null, ['Titulaire', 'Rôle', 'Établissements', 'Créée le', 'Expire le', 'État', 'Actions'].map(function (x) {
        return h('th', { scope: 'col' }, x);
      }))),
      h('tbody', null, rows));
  }

  function siteTable(sites, again) {
    if (!sites.length) return h('p', { class: 'empty' }, 'Aucun établissement enregistré.');
    var rows = sites.map(function (s) {
      var nameCell = h('td', { 'data-field': 'name' }, s.name);
      var rename = h('button', { type: 'button', 'data-action': 'rename', onclick: function () {
        var input = h('input', { 'aria-label': 'Nouveau nom de ' + s.name, value: s.name, required: true, maxlength: 200 });
        var form = h('form', { class: 'rename', onsubmit: function (ev) {
          ev.preventDefault();
          var n = input.value.trim();
          if (!n) { input.setCustomValidity('Le nom est obligatoire.'); input.reportValidity(); return; }
          V.say('Enregistrement…');
          V.call('AdminService', 'RenameSite', { authority: s.authority, name: n }).then(again, V.fail);
        } }, input, h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Enregistrer'),
          h('button', { type: 'button', onclick: again }, 'Annuler')));
        input.oninput = function () { input.setCustomValidity(''); };
        nameCell.textContent = '';
        nameCell.append(form);
        rename.hidden = true;
        input.focus();
      } }, 'Renommer');
      return h('tr', null, nameCell, h('td', null, s.joined ? V.date(s.joined) : '—'), h('td', null, origins[s.source] || '—'), h('td', null, rename));
    });
    return h('table', { id: 'sites-table' },
      h('caption', null, 'Établissements membres, par nom'),
      h('thead', null, h('tr', null, ['Nom', 'Membre depuis le', 'Nommé par', 'Actions'].map(function (x) { return h('th', { scope: 'col' }, x); }))),
      h('tbody', null, rows));
  }

  function addSiteForm(again) {
    var name = h('input', { id: 'site-name', autocomplete: 'off', required: true, maxlength: 200 });
    var oid = h('input', { id: 'site-oid', autocomplete: 'off', required: true, spellcheck: 'false' });
    return h('form', { id: 'site-add', class: 'grid', onsubmit: function (ev) {
      ev.preventDefault();
      V.clearAlert();
      V.say('Ajout de l\'établissement…');
      V.call('AdminService', 'AddSite', { site: { name: name.value.trim(), authority: oid.value.trim() } }).then(again, V.fail);
    } },
      h('div', null, h('label', { for: 'site-name' }, 'Nom de l\'établissement'), name),
      h('div', null, h('label', { for: 'site-oid' }, 'Identifiant du domaine patient',
        h('span', { class: 'hint' }, 'l\'OID sous lequel l\'établissement numérote ses patients, fourni par lui')), oid),
      h('div', null, h('button', { type: 'submit', class: 'primary', id: 'site-add-go' }, 'Ajouter l\'établissement')));
  }
})();
