// dsi serve: the page. Plain ES module, no build step, no third-party code. Views are chosen by
// the URL hash (#/, #/run/NAME, #/run/NAME/queries?..., #/compare/A/B) and built as DOM nodes
// (never from HTML strings, so names and paths are always shown as text).

const view = document.getElementById('view');
const crumbs = document.getElementById('crumbs');
const busy = document.getElementById('busy');
let pending = 0;
let generation = 0; // bumped on every navigation, so late answers for an old view are dropped

/** h('div', {class: 'x', onclick: f}, child, 'text', [more]) */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

const enc = encodeURIComponent;
const fmt = (v, d = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '-');
const shortSource = (s) => s.split(/[\\/]/).slice(-2).join('/');

async function api(path, init) {
  pending++;
  busy.hidden = false;
  try {
    const res = await fetch(path, init);
    const type = res.headers.get('content-type') || '';
    const body = type.includes('json') ? await res.json() : await res.text();
    if (!res.ok) throw new Error((body && body.error) || `${res.status} ${res.statusText}`);
    return body;
  } finally {
    if (--pending === 0) busy.hidden = true;
  }
}

function show(...nodes) {
  view.replaceChildren(...nodes);
}

function setCrumbs(...parts) {
  crumbs.replaceChildren(...parts.flatMap((p, i) => [i ? ' / ' : '', p]));
}

const errorBox = (e) => h('p', { class: 'error', role: 'alert' }, e.message || String(e));

// ---------------------------------------------------------------- markdown (eval.md)

/** The subset eval.md uses: headings, tables, bullet lists, paragraphs, **bold**. */
function markdown(text) {
  const out = [];
  const lines = text.split('\n');
  const inline = (s) => {
    const parts = s.split(/\*\*(.+?)\*\*/g);
    return parts.map((p, i) => (i % 2 ? h('strong', {}, p) : p));
  };
  const cells = (line) => line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line.trim()) continue;
    const heading = /^(#{1,3}) (.*)$/.exec(line);
    if (heading) {
      out.push(h(`h${heading[1].length + 1}`, {}, inline(heading[2])));
    } else if (line.startsWith('|')) {
      const rows = [];
      while (i < lines.length && lines[i].startsWith('|')) rows.push(cells(lines[i++]));
      i--;
      const [head, , ...body] = rows;
      out.push(h('table', { class: 'md' }, h('thead', {}, h('tr', {}, head.map((c) => h('th', {}, inline(c))))),
        h('tbody', {}, body.map((r) => h('tr', {}, r.map((c) => h('td', { class: /^[-\d.\[\], ]+$/.test(c) ? 'num' : null }, inline(c))))))));
    } else if (line.startsWith('- ')) {
      const items = [];
      while (i < lines.length && lines[i].startsWith('- ')) items.push(lines[i++].slice(2));
      i--;
      out.push(h('ul', {}, items.map((t) => h('li', {}, inline(t)))));
    } else {
      out.push(h('p', {}, inline(line)));
    }
  }
  return h('div', { class: 'markdown' }, out);
}

// ---------------------------------------------------------------- runs list

async function runsView(gen) {
  setCrumbs('runs');
  const runs = await api('/api/runs');
  if (gen !== generation) return;
  if (!runs.length) return show(h('p', {}, 'No runs yet. ', h('code', {}, 'dsi train --config configs/quickstart.yaml'), ' trains one.'));
  const picked = new Set();
  const compareButton = h('button', { disabled: true, onclick: () => (location.hash = `#/compare/${[...picked].map(enc).join('/')}`) }, 'compare selected');
  const pick = (name) => (ev) => {
    if (ev.target.checked) picked.add(name);
    else picked.delete(name);
    compareButton.disabled = picked.size < 2;
  };
  show(
    h('h1', {}, 'Runs'),
    h('table', { class: 'runs' },
      h('thead', {}, h('tr', {}, ['', 'run', 'status', 'dataset', 'DB size', 'IDs', 'phases', 'IA@1', 'MAP@10', 'R@100', 'eval', ''].map((c) => h('th', {}, c)))),
      h('tbody', {}, runs.map((r) => h('tr', { dataset: { run: r.name } },
        h('td', {}, h('input', { type: 'checkbox', 'aria-label': `select ${r.name}`, onchange: pick(r.name) })),
        h('td', {}, h('a', { href: `#/run/${enc(r.name)}` }, r.name)),
        h('td', {}, r.status),
        h('td', {}, r.dataset),
        h('td', { class: 'num' }, r.db_size),
        h('td', {}, r.ids),
        h('td', {}, r.phases_done),
        h('td', { class: 'num' }, fmt(r.ia1)),
        h('td', { class: 'num' }, fmt(r.map10)),
        h('td', { class: 'num' }, fmt(r.recall100)),
        h('td', {}, r.evaluated ? 'yes' : 'no'),
        h('td', {}, r.checkpoints.indexing ? h('a', { href: `#/run/${enc(r.name)}/queries` }, 'queries') : h('span', { class: 'muted' }, 'no model yet')),
      ))),
    ),
    h('p', { class: 'controls' }, compareButton),
  );
}

// ---------------------------------------------------------------- one run

async function runView(gen, name) {
  setCrumbs(h('a', { href: '#/' }, 'runs'), name);
  const r = await api(`/api/runs/${enc(name)}`);
  if (gen !== generation) return;
  const training = Object.entries(r.training || {});
  show(
    h('h1', {}, `Run ${r.name}`),
    h('p', {}, `${r.status} · ${r.dataset} · DB size ${r.db_size} · ${r.ids} IDs · phases ${r.phases_done} · ${r.epochs} epochs logged`),
    r.checkpoints.indexing ? h('p', {}, h('a', { href: `#/run/${enc(name)}/queries`, class: 'browse' }, 'Browse queries and what each model retrieves →')) : h('p', { class: 'muted' }, 'No indexing checkpoint yet: nothing to query.'),
    h('h2', {}, 'Evaluation (eval.md)'),
    r.evalMarkdown ? markdown(r.evalMarkdown) : h('p', { class: 'muted' }, 'Not evaluated yet: ', h('code', {}, `dsi eval --run ${r.name}`)),
    h('h2', {}, 'Training curves'),
    r.plots.length ? h('div', { class: 'plots' }, r.plots.map((p) => h('div', {}, h('img', { src: `/api/runs/${enc(name)}/plots/${enc(p)}`, alt: p })))) : h('p', { class: 'muted' }, 'No plots yet.'),
    training.length ? h('details', {}, h('summary', {}, 'final training metrics'), h('table', {}, h('tbody', {}, training.map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', { class: 'num' }, fmt(v, 4))))))) : null,
    h('details', {}, h('summary', {}, 'config'), h('pre', {}, JSON.stringify(r.config, null, 2))),
    r.record ? h('details', {}, h('summary', {}, 'run.json'), h('pre', {}, JSON.stringify(r.record, null, 2))) : null,
  );
}

// ---------------------------------------------------------------- query browser

let browsing = null; // the query browser on screen: {name, list key, results element}

async function queriesView(gen, name, params) {
  const listKey = JSON.stringify([name, params.get('set'), params.get('sort'), params.get('k')]);
  if (browsing && browsing.listKey === listKey && document.body.contains(browsing.results)) {
    // Only the selected query changed: keep the list (and its scroll position), redraw the results.
    const selected = params.get('q');
    for (const b of document.querySelectorAll('.qthumb')) b.classList.toggle('selected', b.dataset.key === selected);
    if (selected) await showResults(gen, name, selected, browsing.k, browsing.results);
    return;
  }
  browsing = null;
  setCrumbs(h('a', { href: '#/' }, 'runs'), h('a', { href: `#/run/${enc(name)}` }, name), 'queries');
  const set = params.get('set') || 'test';
  const sort = params.get('sort') || '';
  const k = params.get('k') || '';
  const selected = params.get('q');
  const go = (changes) => {
    // From the URL as it is now: the selected query may have changed since this view was drawn.
    const next = new URLSearchParams(location.hash.split('?')[1] || '');
    for (const [key, v] of Object.entries(changes)) (v ? next.set(key, v) : next.delete(key));
    location.hash = `#/run/${enc(name)}/queries?${next}`;
  };

  const results = h('section', { class: 'results', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Pick a query on the left, or drop an image file.'));
  const list = h('div', { class: 'querylist' }, h('p', { class: 'muted' }, sort ? 'ranking every query of the set to sort them…' : 'opening the run (checkpoints, corpus)…'));
  show(h('h1', {}, `Queries of ${name}`), h('div', { class: 'browser' }, h('aside', {}, h('div', { class: 'controls', id: 'controls' }), list), results));

  let data;
  try {
    data = await api(`/api/runs/${enc(name)}/queries?set=${enc(set)}${k ? `&k=${enc(k)}` : ''}${sort ? `&sort=${enc(sort)}` : ''}`);
  } catch (e) {
    if (gen === generation) list.replaceChildren(errorBox(e));
    return;
  }
  if (gen !== generation) return;
  browsing = { listKey, results, k: data.k };
  const setLabels = { test: 'test queries', all: 'all corpus queries', folder: 'evaluated folder (--queries)' };
  const select = (label, value, options, onchange) =>
    h('label', {}, `${label} `, h('select', { onchange: (ev) => onchange(ev.target.value) }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))));
  document.getElementById('controls').replaceChildren(
    select('set', set, data.sets.map((s) => [s, setLabels[s] || s]), (v) => go({ set: v, q: null })),
    select('K', String(data.k), [5, 10, 20, 50].filter((n) => n <= data.indexed).concat(data.k).filter((v, i, a) => a.indexOf(v) === i).sort((a, b) => a - b).map((n) => [String(n), String(n)]), (v) => go({ k: v })),
    select('sort', sort, [['', 'as listed'], ...data.models.map((m) => [m.kind, `worst AP@K first: ${m.label}`])], (v) => go({ sort: v })),
  );
  const drop = uploadZone(name, data.classNames, (key) => go({ q: key }));
  const thumbs = data.queries.map((q) => {
    const ap = sort ? q.ap[sort] : undefined;
    return h('button', {
      class: `qthumb${q.key === selected ? ' selected' : ''}`,
      title: `${q.key} · ${(q.class_names ?? q.classes).join(', ') || 'class unknown'} · ${q.split}${ap !== undefined ? ` · AP@${data.k} ${fmt(ap)}` : ''}`,
      dataset: { key: q.key },
      onclick: () => go({ q: q.key }),
    }, h('img', { src: `/api/runs/${enc(name)}/image?key=${enc(q.key)}`, alt: q.key, loading: 'lazy' }), ap !== undefined ? h('span', { class: 'ap' }, fmt(ap, 2)) : null);
  });
  list.replaceChildren(...thumbs);
  list.before(drop);
  if (data.notes.length) list.after(h('div', { class: 'note' }, data.notes.map((n) => h('p', {}, n))));
  if (selected) await showResults(gen, name, selected, data.k, results);
}

function uploadZone(run, classNames, onUploaded) {
  const status = h('div', { class: 'upload-status' });
  const classSelect = h('select', { 'aria-label': 'class of the uploaded image' }, h('option', { value: '' }, 'class unknown'), classNames.map((c) => h('option', { value: c }, c)));
  const input = h('input', { type: 'file', accept: 'image/*', onchange: () => input.files[0] && send(input.files[0]) });
  const zone = h('div', { class: 'dropzone' }, h('div', {}, 'Drop an image here, or ', input), h('div', {}, 'its class (for relevance): ', classSelect), status);
  async function send(file) {
    status.replaceChildren(h('span', { class: 'muted' }, `uploading ${file.name}…`));
    try {
      const c = classSelect.value;
      const r = await api(`/api/runs/${enc(run)}/upload${c ? `?class=${enc(c)}` : ''}`, { method: 'POST', body: file, headers: { 'Content-Type': 'application/octet-stream' } });
      status.replaceChildren();
      onUploaded(r.key);
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  }
  zone.addEventListener('dragover', (ev) => { ev.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (ev) => {
    ev.preventDefault();
    zone.classList.remove('over');
    const file = ev.dataTransfer.files[0];
    if (file) send(file);
  });
  return zone;
}

async function showResults(gen, run, key, k, target) {
  target.replaceChildren(h('p', { class: 'muted' }, 'ranking…'));
  let r;
  try {
    r = await api(`/api/runs/${enc(run)}/results?key=${enc(key)}&k=${enc(k)}`);
  } catch (e) {
    if (gen === generation) target.replaceChildren(errorBox(e));
    return;
  }
  if (gen !== generation) return;
  const img = (k2) => `/api/runs/${enc(run)}/image?key=${enc(k2)}`;
  const known = r.query.classes.length > 0;
  target.replaceChildren(
    h('div', { class: 'query-head' },
      h('img', { src: img(r.query.key), alt: 'query' }),
      h('div', {},
        h('div', {}, h('strong', {}, 'query '), r.query.key, ' · ', r.query.split),
        h('div', {}, known ? `class ${(r.query.class_names ?? r.query.classes).join(', ')} · ${r.query.relevant} relevant indexed images` : 'class unknown: no relevance marked'),
        r.query.label !== 'upload' ? h('div', { class: 'muted' }, shortSource(r.query.label)) : null,
        known ? h('div', { class: 'legend muted' }, h('span', { class: 'ok' }), 'same class', h('span', { class: 'bad' }), 'other class') : null,
      )),
    h('div', { class: 'models' }, r.models.map((m) => h('section', { class: 'model', dataset: { kind: m.kind } },
      h('h3', {}, m.label),
      h('div', { class: 'score' }, `AP@${r.k} ${fmt(m.ap)} · P@${r.k} ${fmt(m.precision)}`),
      m.error ? errorBox(new Error(m.error)) : h('ol', { class: 'grid' }, m.hits.map((t) => h('li', {
        class: `tile ${t.relevant === true ? 'relevant' : t.relevant === false ? 'irrelevant' : 'unknown'}`,
        title: shortSource(t.source),
      },
        h('img', { src: img(`row:${t.row}`), alt: `rank ${t.rank}` }),
        h('div', { class: 'caption' },
          h('div', {}, h('strong', {}, `#${t.rank}`), ` ID ${t.id}`),
          h('div', { class: 'muted' }, `score ${fmt(t.score, 3)}`),
          h('div', { class: 'muted' }, (t.class_names ?? t.classes).join(', '))),
      ))),
    ))),
  );
}

// ---------------------------------------------------------------- compare

async function compareView(gen, names) {
  setCrumbs(h('a', { href: '#/' }, 'runs'), `compare ${names.join(' vs ')}`);
  const c = await api(`/api/compare?runs=${names.map(enc).join(',')}`);
  if (gen !== generation) return;
  const table = (rows, first) => h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, first), c.runs.map((r) => h('th', {}, h('a', { href: `#/run/${enc(r)}` }, r))))),
    h('tbody', {}, rows.map(([k, vals]) => h('tr', {}, h('td', {}, k), vals.map((v) => h('td', { class: typeof v === 'number' ? 'num' : null }, typeof v === 'number' ? fmt(v, 4) : v === null ? '-' : JSON.stringify(v)))))));
  const diff = Object.entries(c.config_diff);
  show(
    h('h1', {}, `Compare ${c.runs.join(' vs ')}`),
    h('h2', {}, 'Config keys that differ'),
    diff.length ? table(diff, 'key') : h('p', { class: 'muted' }, 'The configs are identical.'),
    h('h2', {}, 'Training curves, overlaid'),
    h('img', { class: 'plots', src: `/api/compare/curves.svg?runs=${c.runs.map(enc).join(',')}`, alt: 'overlaid training curves' }),
    h('h2', {}, 'Metrics'),
    table(Object.entries(c.metrics), 'metric'),
    h('h2', {}, 'Each run\'s curves'),
    h('div', { class: 'compare-plots plots' }, c.plots.map((p) => h('div', {}, h('h3', {}, p.run), p.plots.map((f) => h('img', { src: `/api/runs/${enc(p.run)}/plots/${enc(f)}`, alt: `${p.run} ${f}` }))))),
  );
}

// ---------------------------------------------------------------- routing

async function route() {
  const gen = ++generation;
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, search = ''] = hash.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(search);
  try {
    if (parts.length === 0) await runsView(gen);
    else if (parts[0] === 'run' && parts.length === 2) await runView(gen, parts[1]);
    else if (parts[0] === 'run' && parts[2] === 'queries') await queriesView(gen, parts[1], params);
    else if (parts[0] === 'compare' && parts.length >= 3) await compareView(gen, parts.slice(1));
    else show(h('p', {}, 'Nothing here. ', h('a', { href: '#/' }, 'All runs')));
  } catch (e) {
    if (gen === generation) show(errorBox(e));
  }
}

window.addEventListener('hashchange', route);
route();
