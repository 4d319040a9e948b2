// Vigie console: charts (inline SVG drawn here, no library), the dose
// history page and the dose analytics page.
'use strict';

(function () {
  var h = V.h;
  var NS = 'http://www.w3.org/2000/svg';
  function s(tag, attrs) {
    var el = document.createElementNS(NS, tag);
    for (var k in attrs || {}) if (attrs[k] !== undefined && attrs[k] !== null) el.setAttribute(k, attrs[k]);
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) c.forEach(function (x) { if (x) el.appendChild(x); });
      else el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  var GREEN = '#1f7a3a', RED = '#b3261e', BLUE = '#0b5394', GREY = '#5f6b77', ORANGE = '#a35200';

  // fixed formats a figure with the regional synthesis's precision.
  var fixed = V.fixed;

  // waterfall draws the match weights of an explanation: one bar per field
  // from the running sum, then the total.
  V.waterfall = function (ex) {
    var fs = (ex && ex.fields || []).filter(function (f) { return f.level !== 'missing' || f.weight; });
    var rows = fs.map(function (f) { return { label: (V.fields[f.field] || f.field) + ' — ' + (V.levels[f.level] || f.level), w: f.weight || 0 }; });
    var total = ex && ex.weight !== undefined ? ex.weight : rows.reduce(function (a, r) { return a + r.w; }, 0);
    var cum = 0, lo = 0, hi = 0;
    rows.forEach(function (r) { r.from = cum; cum += r.w; r.to = cum; lo = Math.min(lo, cum); hi = Math.max(hi, cum); });
    lo = Math.min(lo, total); hi = Math.max(hi, total);
    var W = 780, L = 300, R = 60, rh = 22, H = (rows.length + 1) * rh + 30;
    var span = (hi - lo) || 1;
    var x = function (v) { return L + (v - lo) / span * (W - L - R); };
    var g = [];
    g.push(s('line', { x1: x(0), x2: x(0), y1: 4, y2: H - 22, stroke: GREY, 'stroke-width': 1 }));
    rows.concat([{ label: 'Total', from: 0, to: total, w: total, total: true }]).forEach(function (r, i) {
      var y = 6 + i * rh;
      var a = Math.min(x(r.from), x(r.to)), b = Math.max(x(r.from), x(r.to));
      var col = r.total ? BLUE : r.w >= 0 ? GREEN : RED;
      g.push(s('text', { x: L - 6, y: y + 14, 'text-anchor': 'end', 'font-weight': r.total ? 700 : 400 }, r.label));
      g.push(s('rect', { x: a, y: y + 2, width: Math.max(b - a, 1.5), height: rh - 6, fill: col }));
      g.push(s('text', { x: b + 4, y: y + 14 }, (r.w > 0 ? '+' : '') + V.num(r.w, 1)));
      if (!r.total && i < rows.length) g.push(s('line', { x1: x(r.to), x2: x(r.to), y1: y + rh - 4, y2: y + rh + 2, stroke: GREY }));
    });
    g.push(s('text', { x: x(0), y: H - 8, 'text-anchor': 'middle', fill: GREY }, '0 bit'));
    var desc = rows.map(function (r) { return r.label + ' ' + V.num(r.w, 1); }).join(', ') + ', total ' + V.num(total, 1) + ' bits';
    return s('svg', { class: 'waterfall', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', 'aria-label': 'Cascade des poids : ' + desc },
      s('title', null, 'Cascade des poids : ' + desc), g);
  };

  function dayNum(iso) { var t = Date.parse(iso + 'T00:00:00Z'); return isNaN(t) ? null : t / 86400000; }

  // timeline draws the exams on a time axis, one lane per section, and the
  // cumulative CT dose-length product (CT and the CT part of nuclear
  // medicine) as a step line.
  function timeline(hist) {
    var lanes = [
      ['Radiologie', hist.radiology || [], ORANGE],
      ['Scanographie', hist.ct || [], BLUE],
      ['Méd. nucléaire', hist.nuclearMedicine || [], GREEN],
      ['Mammographie', hist.mammography || [], '#6a3d9a']
    ];
    var all = [];
    lanes.forEach(function (l, i) { l[1].forEach(function (r) { var d = dayNum(r.date); if (d !== null) all.push({ d: d, lane: i, r: r }); }); });
    if (!all.length) return null;
    all.sort(function (a, b) { return a.d - b.d; });
    var d0 = all[0].d, d1 = all[all.length - 1].d;
    var pad = Math.max(15, (d1 - d0) * 0.04);
    d0 -= pad; d1 += pad;
    var W = 740, L = 140, R = 70, T = 14, plotH = 130, laneH = 20, H = T + plotH + 24 + lanes.length * laneH + 10;
    var x = function (d) { return L + (d - d0) / (d1 - d0) * (W - L - R); };
    var cum = 0, pts = [], total;
    all.forEach(function (e) {
      var v = Number(e.r.dlpTotalMgyCm || 0);
      if (e.lane === 1 || e.lane === 2) { pts.push([e.d, cum]); cum += v; pts.push([e.d, cum]); }
    });
    total = cum;
    var top = total > 0 ? total * 1.1 : 1;
    var y = function (v) { return T + plotH - v / top * plotH; };
    var g = [];
    // Axes and year ticks.
    g.push(s('line', { x1: L, x2: W - R, y1: T + plotH, y2: T + plotH, stroke: GREY }));
    g.push(s('line', { x1: L, x2: L, y1: T, y2: T + plotH, stroke: GREY }));
    var y0 = new Date(d0 * 86400000).getUTCFullYear(), y1 = new Date(d1 * 86400000).getUTCFullYear();
    for (var yr = y0; yr <= y1 + 1; yr++) {
      var d = Date.UTC(yr, 0, 1) / 86400000;
      if (d < d0 || d > d1) continue;
      g.push(s('line', { x1: x(d), x2: x(d), y1: T, y2: H - 6, stroke: '#d5dbe1' }));
      g.push(s('text', { x: x(d), y: T + plotH + 16, 'text-anchor': 'middle' }, yr));
    }
    [0, 0.5, 1].forEach(function (f) {
      g.push(s('text', { x: L - 6, y: y(total * f) + 4, 'text-anchor': 'end' }, fixed(total * f, 0)));
    });
    g.push(s('text', { x: 4, y: T + 4 }, 'PDL cumulé'));
    g.push(s('text', { x: 4, y: T + 18 }, '(mGy·cm)'));
    if (pts.length) {
      pts.push([d1, total]);
      var path = 'M' + x(d0) + ',' + y(0) + ' ' + pts.map(function (p) { return 'L' + x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1); }).join(' ');
      g.push(s('path', { d: path, fill: 'none', stroke: BLUE, 'stroke-width': 2.5 }));
      g.push(s('text', { x: W - R + 4, y: y(total) + 4, fill: BLUE }, fixed(total, 1)));
    }
    lanes.forEach(function (l, i) {
      var ly = T + plotH + 30 + i * laneH;
      g.push(s('text', { x: L - 6, y: ly + 4, 'text-anchor': 'end' }, l[0] + ' (' + l[1].length + ')'));
    });
    all.forEach(function (e) {
      var ly = T + plotH + 30 + e.lane * laneH;
      g.push(s('circle', { cx: x(e.d), cy: ly, r: 5, fill: lanes[e.lane][2], stroke: '#fff', 'stroke-width': 1 },
        s('title', null, V.date(e.r.date) + ' — ' + (e.r.procedure || lanes[e.lane][0]))));
    });
    var label = all.length + ' examens du ' + V.date(new Date(all[0].d * 86400000).toISOString().slice(0, 10)) + ' au ' +
      V.date(new Date(all[all.length - 1].d * 86400000).toISOString().slice(0, 10)) + ' ; PDL cumulé ' + fixed(total, 1) + ' mGy·cm';
    return s('svg', { id: 'dose-chart', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', 'aria-label': 'Frise des examens : ' + label,
      'data-cumulative-dlp': total.toFixed(1) }, s('title', null, 'Frise des examens : ' + label), g);
  }

  // Sections of the regional synthesis ("historique dosimétrique"): key in
  // the API, title, row columns [field, heading, decimals] (no decimals:
  // text), and the section's cumulative figures [field of totals, label,
  // decimals].
  var sections = [
    ['radiology', 'Examens de radiologie conventionnelle et interventionnelle', [
      ['dapTotalCgyCm2', 'PDS (cGy·cm²)', 2], ['airKermaTotalMgy', 'Kerma dans l\'air (mGy)', 2], ['fluoroTimeMin', 'Scopie (min)', 1]],
      [['dapTotalCgyCm2', 'PDS total (cGy·cm²)', 2], ['airKermaTotalMgy', 'Kerma dans l\'air total (mGy)', 2], ['fluoroTimeMin', 'Temps total de scopie (min)', 1]]],
    ['ct', 'Examens de scanographie', [['dlpTotalMgyCm', 'PDL (mGy·cm)', 1], ['ctdivolTotalMgy', 'IDSV (mGy)', 2], ['ctdivolMgy', 'IDSV max (mGy)', 2]],
      [['dlpTotalMgyCm', 'PDL total (mGy·cm)', 1], ['ctdivolTotalMgy', 'IDSV total (mGy)', 2]]],
    ['nuclearMedicine', 'Examens de médecine nucléaire', [['radiopharmaceutical', 'Radiopharmaceutique / isotope'], ['activityMbq', 'Activité (MBq)', 0],
      ['dlpTotalMgyCm', 'PDL TDM (mGy·cm)', 1], ['ctCtdivolTotalMgy', 'IDSV TDM (mGy)', 2],
      ['effectiveDoseEstimate', 'Dose efficace (estimation)'], ['organDoseEstimate', 'Organe le plus exposé (estimation)']],
      [['nmActivities', 'Activité totale (MBq)', 0], ['nmCtDlpTotalMgyCm', 'PDL total de la partie TDM (mGy·cm)', 1], ['nmCtCtdivolTotalMgy', 'IDSV total de la partie TDM (mGy)', 2]]],
    ['mammography', 'Examens de mammographie', [['agdTotalMgy', 'DGM totale (mGy)', 2], ['agdRightMgy', 'Sein droit (mGy)', 2], ['agdLeftMgy', 'Sein gauche (mGy)', 2]],
      [['agdTotalMgy', 'Dose glandulaire moyenne cumulée totale (mGy)', 2], ['agdRightMgy', 'Sein droit (mGy)', 2], ['agdLeftMgy', 'Sein gauche (mGy)', 2]]]
  ];
  V.doseSections = sections;

  // figure writes a dose figure the French way; a figure the reports did
  // not give is blank, never 0.
  function figure(v, digits) { return v === undefined || v === null ? '' : fixed(v, digits); }

  var sexes = { F: 'Féminin', M: 'Masculin', O: 'Autre' };
  function patientName(p) {
    if (p.usedName && p.usedName !== p.birthName) return p.usedName + ' (' + (p.sex === 'F' ? 'née' : p.sex === 'M' ? 'né' : 'né·e') + ' ' + (p.birthName || '') + ')';
    return p.birthName || '';
  }

  V.page('dose', 'dose', function (root, id, seq) {
    root.append(h('h1', { class: 'no-print' }, 'Historique dosimétrique'));
    var input = h('input', { id: 'd-identity', autocomplete: 'off', required: true, value: id || '' });
    var form = h('form', { class: 'grid', id: 'dose-form' }, h('div', null, h('label', { for: 'd-identity' }, 'Identité'), input),
      h('div', null, h('button', { type: 'submit', class: 'primary' }, 'Afficher')));
    form.addEventListener('submit', function (ev) { ev.preventDefault(); location.hash = '#/dose/' + encodeURIComponent(input.value.trim()); });
    root.append(form);
    if (!id) { input.focus(); V.ready(); return; }
    V.say('Chargement…');
    V.call('DoseService', 'GetDoseHistory', { identityId: id }, 'care', id).then(function (res) {
      if (!V.current(seq)) return;
      V.say('');
      renderHistory(root, res.history || {});
      V.ready(seq);
    }, V.withBasis(root, id, seq, null));
  }, ['identity']);

  // renderHistory lays the history out as the regional synthesis: the
  // warning first, the patient block, one section per family (newest
  // first, with its cumulative figures). Printed, the page is a table
  // whose header (the patient's identity) Chromium repeats on every sheet.
  function renderHistory(root, hist) {
    var p = hist.patient || {};
    var who = patientName(p) + ' ' + (p.firstNames || '');
    var body = h('div', null);
    body.append(h('h1', { class: 'print-only' }, 'Historique dosimétrique'));
    body.append(h('p', { class: 'buttons no-print' },
      V.state.can.identity ? h('a', { href: '#/identite/' + encodeURIComponent(hist.identityId) }, 'Fiche identité ' + hist.identityId) : null,
      h('button', { type: 'button', id: 'print', onclick: function () { window.print(); } }, 'Imprimer')));
    (hist.warnings || []).forEach(function (w, i) {
      body.append(h('p', { class: 'warning', id: i === 0 ? 'dose-warning' : null }, i === 0 ? h('strong', null, 'Avertissement. ') : null, w));
    });
    body.append(h('dl', { class: 'patient', id: 'dose-patient' },
      h('dt', null, 'Nom'), h('dd', { 'data-field': 'name' }, patientName(p) || '—'),
      h('dt', null, 'Prénom(s)'), h('dd', { 'data-field': 'firstNames' }, p.firstNames || '—'),
      h('dt', null, 'Date de naissance'), h('dd', { 'data-field': 'birthDate' }, V.date(p.birthDate) || '—'),
      h('dt', null, 'Sexe'), h('dd', { 'data-field': 'sex' }, sexes[p.sex] || 'Non renseigné')));
    // The staff of one of the patient's sites (or identity vigilance) may
    // hand the patient a code; a caller who opened the patient with a code
    // or an emergency reason is not offered it (the server refuses it too).
    if (V.state.can.accessCode && !V.state.basis[hist.identityId]) body.append(accessCodeBlock(hist.identityId));
    var chart = timeline(hist);
    if (chart) body.append(h('figure', { class: 'chart no-print' }, chart, h('figcaption', { class: 'legend' },
      'Frise des examens par type et produit dose·longueur (PDL) cumulé des scanners, parties TDM de médecine nucléaire comprises. Les chiffres exacts sont dans les tableaux.')));
    var totals = hist.totals || {};
    sections.forEach(function (sec) {
      var rows = hist[sec[0]] || [];
      var box = h('section', { 'aria-labelledby': 'sec-' + sec[0], 'data-section': sec[0] }, h('h2', { id: 'sec-' + sec[0] }, sec[1]));
      if (!rows.length) { box.append(h('p', { class: 'empty' }, 'Aucun examen transmis.')); body.append(box); return; }
      box.append(h('dl', { class: 'totals' }, sec[3].map(function (t) {
        if (t[0] === 'nmActivities') {
          var as = totals.nmActivities || [];
          return as.map(function (a) {
            return [h('dt', null, t[1] + (a.label ? ' — ' + a.label : '')), h('dd', { 'data-total': t[0], 'data-isotope': a.label || '' }, figure(a.activityMbq, t[2]))];
          });
        }
        return [h('dt', null, t[1]), h('dd', { 'data-total': t[0] }, figure(totals[t[0]], t[2]))];
      })));
      box.append(h('table', null,
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Date'), h('th', { scope: 'col' }, 'Examen'), h('th', { scope: 'col' }, 'Établissement'),
          sec[2].map(function (c) { return h('th', { scope: 'col', class: c[2] !== undefined ? 'num' : null }, c[1]); }))),
        h('tbody', null, rows.map(function (r) {
          return h('tr', { 'data-exam': r.examId }, h('td', null, V.date(r.date)), h('td', null, r.procedure || ''), h('td', { 'data-field': 'site' }, r.site || ''),
            sec[2].map(function (c) {
              if (c[0] === 'radiopharmaceutical' && (r.activities || []).length > 1) {
                return h('td', { 'data-field': c[0] }, r.activities.map(function (a, i) { return [i ? h('br') : null, a.label]; }));
              }
              if (c[0] === 'activityMbq' && (r.activities || []).length > 1) {
                return h('td', { class: 'num', 'data-field': 'activities' }, r.activities.map(function (a, i) { return [i ? h('br') : null, figure(a.activityMbq, 0)]; }));
              }
              return c[2] === undefined ? h('td', { 'data-field': c[0] }, r[c[0]] || '')
                : h('td', { class: 'num', 'data-field': c[0] }, figure(r[c[0]], c[2]));
            }));
        }))));
      body.append(box);
    });
    body.append(h('p', { class: 'legend' }, 'Une case vide : valeur non transmise. Établissements désignés par le registre régional des sites.'));
    var sheet = h('table', { class: 'sheet', id: 'dose-history', 'data-identity': hist.identityId },
      h('thead', null, h('tr', null, h('td', null, h('div', { class: 'running' },
        'Historique dosimétrique — ' + who + ' — né(e) le ' + (V.date(p.birthDate) || '—') + ' — ' + (sexes[p.sex] || 'sexe non renseigné'))))),
      h('tbody', null, h('tr', null, h('td', null, body))));
    root.append(sheet);
  }

  // accessCodeBlock offers to make a patient access code
  // (AccessService.CreateAccessCode) and shows it, with its expiry, in a
  // box that is printed with the history for the patient to pass on.
  function accessCodeBlock(id) {
    var out = h('div', { id: 'access-code-box' });
    var make = h('button', { type: 'button', id: 'access-code-make', onclick: function () {
      V.clearAlert();
      V.say('Génération du code d\'accès…');
      make.disabled = true;
      V.call('AccessService', 'CreateAccessCode', { identityId: id }, 'care').then(function (res) {
        V.say('');
        make.disabled = false;
        out.textContent = '';
        out.append(h('div', { class: 'access-code', id: 'access-code', role: 'status' },
          h('p', { class: 'access-code-title' }, 'Code d\'accès patient'),
          h('p', { class: 'access-code-value', 'data-field': 'code' }, res.code),
          h('p', { 'data-field': 'expires' }, 'Valable jusqu\'au ' + V.time(res.expires) + '.'),
          h('p', null, 'À remettre au patient : il le donne au professionnel de santé d\'un autre établissement qui doit consulter son dossier. ' +
            'Ce code ne sera plus affiché ; un nouveau code peut être généré à tout moment.')));
      }, function (e) { make.disabled = false; V.fail(e); });
    } }, 'Générer un code d\'accès patient');
    return h('div', null, h('p', { class: 'buttons no-print' }, make), out);
  }

  // ---- Analyse de dose ----
  function isoDay(d) { return d.toISOString().slice(0, 10); }

  V.page('analyse', 'analytics', function (root, _, seq) {
    var can = V.state.can;
    root.append(h('h1', null, 'Analyse de dose'));
    if (can.nrd) root.append(nrdSection());
    if (can.alerts) root.append(alertSection(seq));
    else V.ready();
  }, ['nrd', 'alerts']);

  function nrdSection() {
    var now = new Date();
    var site = h('input', { id: 'n-site', autocomplete: 'off', required: true, list: 'sites' });
    var since = h('input', { id: 'n-since', type: 'date', required: true, value: (now.getUTCFullYear() - 3) + '-01-01' });
    var until = h('input', { id: 'n-until', type: 'date', required: true, value: isoDay(now) });
    var device = h('input', { id: 'n-device', autocomplete: 'off' });
    var type = h('input', { id: 'n-type', autocomplete: 'off' });
    var out = h('div', { id: 'nrd' });
    var form = h('form', { class: 'grid', id: 'nrd-form' },
      h('div', null, h('label', { for: 'n-site' }, 'Établissement', h('span', { class: 'hint' }, 'OID du domaine du site')), site),
      h('div', null, h('label', { for: 'n-device' }, 'Appareil', h('span', { class: 'hint' }, 'vide : tous')), device),
      h('div', null, h('label', { for: 'n-type' }, 'Type d\'examen', h('span', { class: 'hint' }, 'vide : tous')), type),
      h('div', null, h('label', { for: 'n-since' }, 'Du'), since),
      h('div', null, h('label', { for: 'n-until' }, 'Au'), until),
      h('div', null, h('button', { type: 'submit', class: 'primary', id: 'n-go' }, 'Évaluer')));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      V.clearAlert();
      V.say('Évaluation NRD…');
      V.call('DoseService', 'EvaluateNrd', { site: site.value.trim(), device: device.value.trim(), examType: type.value.trim(),
        since: since.value, until: until.value }, 'dosimetry').then(function (res) {
        V.say('');
        renderNrd(out, res);
      }, V.fail);
    });
    return h('section', { 'aria-labelledby': 'nrd-title' }, h('h2', { id: 'nrd-title' }, 'Niveaux de référence diagnostiques (NRD)'), form, out);
  }

  // nrdChart draws one row per evaluation, each on its own scale: the
  // median always; the box (quartiles) and whiskers (extremes) when the
  // API gives them (q1, q3, min, max); the NRD and the guide value (VGD)
  // as vertical marks.
  function nrdChart(evs) {
    var W = 780, L = 300, R = 70, rh = 44, H = evs.length * rh + 8;
    var g = [];
    evs.forEach(function (e, i) {
      var y0 = 4 + i * rh, mid = y0 + 20;
      var vals = [e.median, e.nrd, e.guideValue, e.max, e.q3].map(Number).filter(function (v) { return isFinite(v) && v > 0; });
      var top = Math.max.apply(null, vals.concat([1e-9])) * 1.15;
      var x = function (v) { return L + Number(v) / top * (W - L - R); };
      g.push(s('text', { x: L - 8, y: mid - 2, 'text-anchor': 'end', 'font-weight': 600 }, typeText(e) + ' — ' + indicatorText(e.indicator)));
      g.push(s('text', { x: L - 8, y: mid + 12, 'text-anchor': 'end', fill: GREY }, (e.device || '').slice(0, 42)));
      g.push(s('line', { x1: L, x2: W - R, y1: mid + 12, y2: mid + 12, stroke: '#c3cbd3' }));
      if (e.q1 !== undefined && e.q3 !== undefined) {
        if (e.min !== undefined && e.max !== undefined) g.push(s('line', { x1: x(e.min), x2: x(e.max), y1: mid, y2: mid, stroke: GREY }));
        g.push(s('rect', { x: x(e.q1), y: mid - 9, width: Math.max(x(e.q3) - x(e.q1), 1), height: 18, fill: '#dbe7f3', stroke: BLUE }));
      }
      if (e.count > 0) g.push(s('line', { x1: x(e.median), x2: x(e.median), y1: mid - 11, y2: mid + 11, stroke: BLUE, 'stroke-width': 4 }));
      if (e.nrd > 0) g.push(s('line', { x1: x(e.nrd), x2: x(e.nrd), y1: y0 + 2, y2: mid + 14, stroke: RED, 'stroke-width': 2, 'stroke-dasharray': '5 3' }),
        s('text', { x: x(e.nrd) + 3, y: y0 + 10, fill: RED }, 'NRD ' + V.num(e.nrd)));
      if (e.guideValue > 0) g.push(s('line', { x1: x(e.guideValue), x2: x(e.guideValue), y1: y0 + 2, y2: mid + 14, stroke: GREEN, 'stroke-width': 2, 'stroke-dasharray': '2 2' }),
        s('text', { x: x(e.guideValue) - 3, y: y0 + 10, fill: GREEN, 'text-anchor': 'end' }, 'VGD ' + V.num(e.guideValue)));
      g.push(s('text', { x: W - R + 6, y: mid + 4, fill: BLUE }, e.count > 0 ? V.num(e.median) : '—'));
    });
    var label = evs.map(function (e) { return typeText(e) + ' ' + indicatorText(e.indicator) + ' : médiane ' + V.num(e.median) + ' ' + e.unit +
      (e.nrd ? ', NRD ' + V.num(e.nrd) : '') + (e.guideValue ? ', VGD ' + V.num(e.guideValue) : ''); }).join(' ; ');
    return s('svg', { id: 'nrd-chart', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', 'aria-label': label }, s('title', null, label), g);
  }

  // The NRD lists' indicators (dosimetry/nrd.go) and exam types by their
  // French names: the codes stay in data attributes, out of the text.
  var indicators = { pds: 'PDS', ctdivol: 'IDSV (CTDIvol)', dlp: 'PDL', agd: 'DGM', kar: 'Kerma au point de référence',
    fluoro_time: 'Durée de scopie', activity: 'Activité administrée', activity_per_kg: 'Activité par kg' };
  function indicatorText(code) { return indicators[code] || code; }
  function typeText(e) { return e.examTypeLabel || e.examType; }

  function verdict(e) {
    if (!e.count) return 'aucun examen';
    if (!(e.nrd > 0)) return 'pas de NRD pour ce type d\'examen';
    if (e.aboveNrd) return 'médiane au-dessus du NRD';
    if (e.guideValue > 0) return e.aboveGuideValue ? 'entre la VGD et le NRD' : 'sous la VGD';
    return 'sous le NRD';
  }

  function renderNrd(out, res) {
    out.textContent = '';
    var evs = res.evaluations || [];
    if (!evs.length) { out.append(h('p', null, 'Aucun examen évaluable pour ces critères.')); return; }
    out.append(h('figure', { class: 'chart' }, nrdChart(evs), h('figcaption', { class: 'legend' },
      'Par évaluation, sur sa propre échelle : trait bleu, médiane ; tirets rouges, NRD ; pointillés verts, VGD (valeur guide diagnostique).')));
    out.append(h('table', { id: 'nrd-table' },
      h('caption', null, evs.length + ' évaluation(s)' + (res.tableSource ? ' — table : ' + res.tableSource : '')),
      h('thead', null, h('tr', null, ['Type d\'examen', 'Appareil', 'Indicateur', 'Examens', 'Médiane', 'NRD', 'VGD', 'Position', 'Remarques'].map(function (c) {
        return h('th', { scope: 'col' }, c);
      }))),
      h('tbody', null, evs.map(function (e) {
        return h('tr', { class: e.aboveNrd ? 'mismatch' : null },
          h('td', { 'data-exam-type': e.examType }, typeText(e)), h('td', null, (e.siteName ? e.siteName + ' — ' : '') + (e.device || '—')),
          h('td', { 'data-indicator': e.indicator }, indicatorText(e.indicator) + ' (' + e.unit + ')'),
          h('td', { class: 'num' }, (e.count || 0) + ' / ' + (e.required || 0)), h('td', { class: 'num' }, V.num(e.median)),
          h('td', { class: 'num' }, V.num(e.nrd)), h('td', { class: 'num' }, e.guideValue ? V.num(e.guideValue) : '—'),
          h('td', null, verdict(e)), h('td', null, (e.remarks || []).join(' ; ')));
      }))));
  }

  function alertSection(seq) {
    var all = h('input', { id: 'a-all', type: 'checkbox' });
    var list = h('div', { id: 'alerts' });
    var sites = h('datalist', { id: 'sites' });
    function load() {
      V.call('DoseService', 'ListAlerts', { includeAcknowledged: all.checked, pageSize: 200 }, 'dosimetry').then(function (res) {
        if (!V.current(seq)) return;
        var as = res.alerts || [];
        list.textContent = '';
        var seen = {};
        as.forEach(function (a) { if (a.site && !seen[a.site]) { seen[a.site] = 1; sites.append(h('option', { value: a.site })); } });
        if (!as.length) { list.append(h('p', null, 'Aucune alerte.')); V.ready(seq); return; }
        list.append(h('table', { id: 'alerts-table' },
          h('thead', null, h('tr', null, ['Levée le', 'Type', 'Description', 'Établissement', 'Valeur', 'Seuil', 'Patient', 'Suivi'].map(function (c) {
            return h('th', { scope: 'col' }, c);
          }))),
          h('tbody', null, as.map(function (a) {
            var follow = a.acknowledged ? h('td', null, 'Vue le ' + V.time(a.acknowledged) + ' par ' + (a.acknowledgedBy || '?') + (a.comment ? ' : ' + a.comment : ''))
              : h('td', null, h('button', { type: 'button', 'data-action': 'ack', onclick: function () {
                V.askReason('Acquitter l\'alerte', a.message, 'Ce qui a été fait').then(function (comment) {
                  if (!comment) return;
                  V.call('DoseService', 'AcknowledgeAlert', { alertId: a.id, comment: comment }, 'dosimetry').then(function () {
                    V.say('Alerte acquittée.'); load();
                  }, V.fail);
                });
              } }, 'Acquitter'));
            return h('tr', { 'data-alert': a.id }, h('td', null, V.time(a.created)), h('td', null, kindsFr[a.kind] || a.kind), h('td', null, a.message),
              h('td', null, a.siteName || ''), h('td', { class: 'num' }, V.num(a.value) + ' ' + (a.unit || '')), h('td', { class: 'num' }, V.num(a.threshold) + ' ' + (a.unit || '')),
              h('td', null, a.identityId ? h('a', { href: '#/dose/' + encodeURIComponent(a.identityId) }, 'Patient ' + a.identityId) : 'Patient non rapproché'), follow);
          }))));
        V.ready(seq);
      }, V.fail);
    }
    all.addEventListener('change', load);
    load();
    return h('section', { 'aria-labelledby': 'alerts-title' }, h('h2', { id: 'alerts-title' }, 'Alertes'), sites,
      h('p', null, h('label', { for: 'a-all', class: 'inline' }, all, ' Montrer aussi les alertes acquittées')), list);
  }
  var kindsFr = { nrd_exceeded: 'NRD dépassé', air_kerma: 'Kerma au point de référence', dap: 'PDS élevé', ct_dlp: 'PDL élevé',
    ct_ctdivol: 'IDSV élevé', cumulative_dose: 'Dose cumulée', repeat_ct: 'Scanner répété', skin_dose: 'Dose à la peau',
    peak_skin_dose: 'Dose maximale à la peau (estimation)', foetal_dose: 'Dose au fœtus (estimation)',
    identity_shared_study: 'Identitovigilance : examen partagé entre dossiers', identity_sop_conflict: 'Identitovigilance : rapport reçu pour deux dossiers' };
})();
