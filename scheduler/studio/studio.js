/* drover Studio: the scheduler's page over its JSON API (docs/http-api.md).
 *
 * Plain JavaScript, no framework, no build step.  Every value from the API
 * is put into the page as text (textContent, attributes), never as HTML.
 * The token lives in sessionStorage (this tab only) and goes with every
 * request as "Authorization: Bearer".  Views follow the URL's hash:
 * #/clusters, #/clusters/NAME, #/jobs, #/jobs/ID.  A view that polls
 * registers its timer in `timers`; leaving the view clears them.
 */
'use strict';

const TOKEN_KEY = 'drover.token';
const POLL_MS = 3000;
const LOG_POLL_MS = 1000;
const timers = [];
let me = null; /* {user, role} */

/* ---- DOM helpers ---------------------------------------------------- */

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

function svg(tag, attrs, ...kids) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const kid of kids) el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  return el;
}

const $ = (sel) => document.querySelector(sel);

function fmtTime(ms) {
  if (!ms || ms <= 0) return '-';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function fmtPredicted(job) {
  if (job.state !== 'queued') return '-';
  if (job.predicted_start === null || job.predicted_start === undefined) return 'unknown';
  const left = Math.round((job.predicted_start - Date.now()) / 1000);
  const when = fmtTime(job.predicted_start);
  if (left <= 0) return when + ' (now)';
  if (left < 3600) return `${when} (in ${Math.floor(left / 60)}m${String(left % 60).padStart(2, '0')}s)`;
  return `${when} (in ${Math.floor(left / 3600)}h${String(Math.floor(left / 60) % 60).padStart(2, '0')}m)`;
}

function stateCell(state) {
  return h('td', {class: 'state-' + state}, state);
}

/* ---- errors and the API --------------------------------------------- */

function showError(msg) {
  const e = $('#error');
  e.textContent = msg;
  e.hidden = !msg;
}

class ApiError extends Error {
  constructor(status, message) {
    super(`HTTP ${status}: ${message}`);
    this.status = status;
  }
}

async function api(method, path, body, token) {
  const tok = token || sessionStorage.getItem(TOKEN_KEY) || '';
  const opts = {method, headers: {Authorization: 'Bearer ' + tok}, cache: 'no-store'};
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch('/api/v1' + path, opts);
  } catch (e) {
    throw new ApiError(0, 'the scheduler cannot be reached (' + e.message + ')');
  }
  let data = null;
  try {
    data = await resp.json();
  } catch (e) {
    throw new ApiError(resp.status, 'the reply is not JSON');
  }
  if (!resp.ok) {
    const err = new ApiError(resp.status, (data && data.error) || resp.statusText);
    if (resp.status === 401 && !token) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin(err.message);
    }
    throw err;
  }
  return data;
}

/* Runs fn; an API error is shown in the banner instead of thrown. */
async function guarded(fn) {
  try {
    await fn();
  } catch (e) {
    showError(e.message);
  }
}

function poll(fn, ms) {
  const run = () => guarded(fn);
  timers.push(setInterval(run, ms));
  return run();
}

function clearTimers() {
  while (timers.length) clearInterval(timers.pop());
}

/* ---- login ------------------------------------------------------------ */

function showLogin(msg) {
  clearTimers();
  me = null;
  $('#nav').hidden = true;
  $('#main').replaceChildren();
  $('#login').hidden = false;
  showError(msg || '');
  $('#token').value = '';
  $('#token').focus();
}

async function login(ev) {
  ev.preventDefault();
  const tok = $('#token').value.trim();
  try {
    me = await api('GET', '/whoami', undefined, tok);
  } catch (e) {
    showError(e.message);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, tok);
  enter();
}

function enter() {
  $('#login').hidden = true;
  $('#nav').hidden = false;
  $('#who').textContent = `${me.user} (${me.role})`;
  showError('');
  route();
}

/* ---- clusters ------------------------------------------------------------ */

const CLUSTER_FORM = [
  ['name', 'Name', 'text', ''],
  ['vm_size', 'VM size', 'text', 'Standard_D2_v2'],
  ['vm_priority', 'Priority', 'select', ['dedicated', 'lowpriority']],
  ['min_nodes', 'Min nodes', 'number', '0'],
  ['max_nodes', 'Max nodes', 'number', '1'],
  ['idle_seconds_before_scaledown', 'Idle seconds before scale-down', 'number', '120'],
  ['identity', 'Identity (system, a user-assigned id, or empty for none)', 'text', ''],
];

function field(name, label, type, def) {
  let input;
  if (type === 'select') input = h('select', {name}, def.map((o) => h('option', {value: o}, o)));
  else input = h('input', {name, type, value: def, min: type === 'number' ? 0 : null});
  return h('label', {}, label, input);
}

function formValues(form, numeric) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    const v = el.value.trim();
    if (v === '') continue;
    out[el.name] = numeric.includes(el.name) ? Number(v) : v;
  }
  return out;
}

function clusterForm(onDone) {
  const form = h('form', {id: 'cluster-form', class: 'grid'},
    CLUSTER_FORM.map(([n, l, t, d]) => field(n, l, t, d)),
    h('button', {type: 'submit', class: 'primary', id: 'cluster-create'}, 'Create cluster'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = formValues(form, ['min_nodes', 'max_nodes', 'idle_seconds_before_scaledown']);
    guarded(async () => {
      const c = await api('POST', '/clusters', body);
      showError('');
      form.reset();
      onDone(c);
    });
  });
  return h('div', {class: 'card'}, h('h3', {}, 'New cluster'), form);
}

async function viewClusters(main) {
  const table = h('table', {id: 'clusters'});
  main.append(h('h2', {}, 'Clusters'), table);
  if (me.role === 'admin') main.append(clusterForm(() => refresh()));
  const refresh = async () => {
    const list = await api('GET', '/clusters');
    table.replaceChildren(
      h('tr', {}, ['Name', 'VM size', 'Priority', 'Nodes (current / target)', 'Min-max',
        'Allocation', 'Idle / running / preparing / leaving', 'Errors', 'Why work waits']
        .map((t) => h('th', {}, t))),
      ...list.map((c) => h('tr', {'data-cluster': c.name},
        h('td', {}, h('a', {href: '#/clusters/' + encodeURIComponent(c.name)}, c.name)),
        h('td', {}, c.vm_size), h('td', {}, c.vm_priority),
        h('td', {}, `${c.current_nodes} / ${c.target_nodes}`),
        h('td', {}, `${c.min_nodes}-${c.max_nodes}`),
        stateCell(c.allocation_state),
        h('td', {}, `${c.idle_nodes} / ${c.running_nodes} / ${c.preparing_nodes} / ${c.leaving_nodes}`),
        h('td', {class: 'errors'}, (c.errors || []).join('; ')),
        h('td', {}, c.wait_reason || ''))));
    if (!list.length) table.append(h('tr', {}, h('td', {colspan: 9, class: 'muted'}, 'No clusters yet.')));
  };
  await poll(refresh, POLL_MS);
}

/* A line chart of series [{label, color, points: [[t, v|null], ...]}]. */
function lineChart(id, title, series, yMax, unit) {
  const W = 520, H = 200, L = 40, R = 10, T = 10, B = 24;
  const all = series.flatMap((s) => s.points);
  const t0 = Math.min(...all.map((p) => p[0])), t1 = Math.max(...all.map((p) => p[0]));
  const vmax = yMax || Math.max(1, ...all.map((p) => p[1] || 0));
  const x = (t) => L + (t1 > t0 ? (t - t0) / (t1 - t0) : 1) * (W - L - R);
  const y = (v) => T + (1 - v / vmax) * (H - T - B);
  const el = svg('svg', {class: 'chart', id, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title});
  el.append(svg('line', {class: 'axis', x1: L, y1: y(0), x2: W - R, y2: y(0)}));
  el.append(svg('line', {class: 'axis', x1: L, y1: T, x2: L, y2: y(0)}));
  el.append(svg('text', {x: 2, y: T + 8}, `${Math.round(vmax)}${unit}`));
  el.append(svg('text', {x: 2, y: y(0)}, `0${unit}`));
  const hm = (t) => new Date(t).toISOString().slice(11, 16);
  el.append(svg('text', {x: L, y: H - 6}, hm(t0)));
  el.append(svg('text', {x: W - R - 30, y: H - 6}, hm(t1)));
  for (const s of series) {
    const pts = s.points.filter((p) => p[1] !== null);
    if (!pts.length) continue;
    if (pts.length === 1) {
      el.append(svg('circle', {cx: x(pts[0][0]), cy: y(pts[0][1]), r: 3, fill: s.color, 'data-series': s.label}));
      continue;
    }
    el.append(svg('polyline', {fill: 'none', stroke: s.color, 'stroke-width': 2, 'data-series': s.label,
      points: pts.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ')}));
  }
  const legend = h('div', {class: 'legend'}, series.map((s) => {
    const sw = h('i');
    sw.style.background = s.color;
    return h('span', {}, sw, s.label);
  }));
  return h('div', {class: 'card'}, h('h3', {}, title), el, legend);
}

const STATE_COLORS = {idle: '#1a7f37', running: '#0b63c5', preparing: '#bf8700',
  leaving: '#8250df', draining: '#cf222e', drained: '#6e7781', unknown: '#57606a'};

function historyCharts(hist) {
  const s = hist.samples;
  const nodeSeries = [{label: 'total', color: '#1b1f24', points: s.map((x) => [x.ts, x.total_nodes])}];
  for (const st of Object.keys(STATE_COLORS))
    if (s.some((x) => x.nodes[st]))
      nodeSeries.push({label: st, color: STATE_COLORS[st], points: s.map((x) => [x.ts, x.nodes[st]])});
  const gpuSeries = [
    {label: 'GPU utilization', color: '#0b63c5', points: s.map((x) => [x.ts, x.gpu_utilization])},
    {label: 'GPU memory', color: '#bf8700', points: s.map((x) => [x.ts, x.gpu_memory_utilization])},
  ];
  const span = (s[s.length - 1].ts - s[0].ts) / 60000;
  const last = span >= 90 ? `${(span / 60).toFixed(1)} h` : `${Math.max(1, Math.round(span))} min`;
  return h('div', {class: 'charts'},
    lineChart('chart-nodes', `Nodes by state (last ${last})`, nodeSeries, 0, ''),
    s.some((x) => x.gpus)
      ? lineChart('chart-gpu', `GPU utilization (last ${last})`, gpuSeries, 100, '%')
      : h('div', {class: 'card', id: 'chart-gpu'}, h('h3', {}, 'GPU utilization'),
        h('p', {class: 'muted'}, 'This cluster has no GPUs.')));
}

function gpuList(n) {
  if (!n.gpus || !n.gpus.length) return '-';
  return h('div', {class: 'gpu'}, n.gpus.map((g) => h('div', {},
    `#${g.index} ${g.name || ''}: ${g.utilization_gpu}% util, ` +
    `${Math.round((g.memory_used_mb || 0))}/${Math.round(g.memory_total_mb || 0)} MB, ` +
    `${g.temperature_c}°C${g.healthy === false ? ', unhealthy' : ''}`)));
}

async function viewCluster(main, name) {
  const info = h('div', {class: 'card', id: 'cluster-info'});
  const charts = h('div', {id: 'charts'});
  const nodes = h('table', {id: 'nodes'});
  const events = h('table', {id: 'events'});
  main.append(h('h2', {}, 'Cluster ', name), info, charts,
    h('h3', {}, 'Nodes'), nodes, h('h3', {}, 'Recent events'), events);
  const q = encodeURIComponent(name);
  const refresh = async () => {
    const [c, ns, evs, hist] = await Promise.all([
      api('GET', '/clusters/' + q), api('GET', '/nodes?cluster=' + q),
      api('GET', `/clusters/${q}/events?limit=20`), api('GET', `/clusters/${q}/history`)]);
    const kv = [['VM size', c.vm_size], ['Priority', c.vm_priority], ['Location', c.location],
      ['Provider', c.provider], ['Nodes current / target', `${c.current_nodes} / ${c.target_nodes}`],
      ['Min / max nodes', `${c.min_nodes} / ${c.max_nodes}`],
      ['Idle seconds before scale-down', c.idle_seconds_before_scaledown],
      ['Allocation state', c.allocation_state], ['Identity', c.identity || 'none'],
      ['Errors', (c.errors || []).join('; ') || 'none'], ['Why work waits', c.wait_reason || '-']];
    info.replaceChildren(h('dl', {class: 'kv'}, kv.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
    charts.replaceChildren(historyCharts(hist));
    nodes.replaceChildren(
      h('tr', {}, ['Name', 'State', 'CPUs used', 'Memory used (MB)', 'GPUs', 'Reason'].map((t) => h('th', {}, t))),
      ...ns.map((n) => h('tr', {'data-node': n.name}, h('td', {}, n.name), stateCell(n.state),
        h('td', {}, `${n.cpus_used}/${n.cpus}`), h('td', {}, `${n.memory_used_mb}/${n.memory_mb}`),
        h('td', {}, gpuList(n)), h('td', {}, n.reason || ''))));
    events.replaceChildren(
      h('tr', {}, ['Time', 'Kind', 'Message'].map((t) => h('th', {}, t))),
      ...evs.map((e) => h('tr', {}, h('td', {}, fmtTime(e.ts)), h('td', {}, e.kind), h('td', {}, e.message))));
  };
  await poll(refresh, POLL_MS);
}

/* ---- jobs ------------------------------------------------------------------ */

/* "sh -c 'echo hi'" -> ["sh", "-c", "echo hi"]: words, with '...' and "..." */
function splitCommand(s) {
  const out = [];
  let cur = null, quote = null;
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      if (cur === null) cur = '';
    } else if (/\s/.test(ch)) {
      if (cur !== null) out.push(cur);
      cur = null;
    } else {
      cur = (cur || '') + ch;
    }
  }
  if (quote) throw new Error('unbalanced quote in the command');
  if (cur !== null) out.push(cur);
  return out;
}

/* A word as splitCommand reads it back: quoted when it has to be. */
function quoteWord(w) {
  if (w !== '' && !/[\s'"]/.test(w)) return w;
  return w.includes("'") ? '"' + w + '"' : "'" + w + "'";
}

const JOB_NUMERIC = ['cpus', 'memory_mb', 'gpus', 'node_count', 'priority', 'time_limit_s', 'max_retries'];

function jobForm(clusters, onDone) {
  const form = h('form', {id: 'job-form', class: 'grid'},
    h('label', {}, 'Cluster', h('select', {name: 'cluster'}, clusters.map((c) => h('option', {value: c.name}, c.name)))),
    field('name', 'Name', 'text', ''),
    h('label', {}, 'Command', h('input', {name: 'command', type: 'text', required: true, placeholder: "sh -c 'echo hello'"})),
    field('cpus', 'CPUs', 'number', '1'), field('memory_mb', 'Memory (MB)', 'number', ''),
    field('gpus', 'GPUs', 'number', ''), field('node_count', 'Nodes', 'number', '1'),
    field('priority', 'Priority', 'number', ''), field('time_limit_s', 'Time limit (s)', 'number', ''),
    field('image', 'Image (docker)', 'text', ''),
    h('button', {type: 'submit', class: 'primary', id: 'job-submit'}, 'Submit job'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(async () => {
      const body = formValues(form, JOB_NUMERIC);
      body.command = splitCommand(body.command || '');
      const r = await api('POST', '/jobs', body);
      showError('');
      onDone(r.id);
    });
  });
  return h('div', {class: 'card'}, h('h3', {}, 'Submit a job'), form);
}

function cancelButton(job, after) {
  if (!['queued', 'starting', 'running'].includes(job.state)) return null;
  return h('button', {type: 'button', class: 'danger cancel', 'data-cancel': job.id,
    onclick: () => guarded(async () => {
      await api('POST', `/jobs/${job.id}/cancel`);
      showError('');
      await after();
    })}, 'Cancel');
}

const JOB_STATES = ['', 'queued', 'starting', 'running', 'succeeded', 'failed', 'canceled', 'timeout'];

async function viewJobs(main) {
  const formBox = h('div');
  const table = h('table', {id: 'jobs'});
  const more = h('p', {class: 'muted'});
  const clusters = await api('GET', '/clusters');
  const fCluster = h('select', {id: 'filter-cluster'}, h('option', {value: ''}, 'all clusters'),
    clusters.map((c) => h('option', {value: c.name}, c.name)));
  const fState = h('select', {id: 'filter-state'}, JOB_STATES.map((st) => h('option', {value: st}, st || 'all states')));
  const filters = h('div', {class: 'filters'}, 'Show ', fCluster, ' ', fState);
  main.append(h('h2', {}, 'Jobs'), formBox, filters, table, more);
  formBox.append(jobForm(clusters, (id) => { location.hash = '#/jobs/' + id; }));
  const refresh = async () => {
    /* one page of the API (1,000 jobs, oldest first): a queue of 100,000
     * is read through the filters, not every 3 s */
    let q = '/jobs?limit=1000';
    if (fCluster.value) q += '&cluster=' + encodeURIComponent(fCluster.value);
    if (fState.value) q += '&state=' + encodeURIComponent(fState.value);
    const page = await api('GET', q);
    const list = page.jobs.slice().reverse(); /* newest first */
    table.replaceChildren(
      h('tr', {}, ['ID', 'Name', 'Cluster', 'Owner', 'State', 'Reason', 'Predicted start', 'Submitted', '']
        .map((t) => h('th', {}, t))),
      ...list.map((j) => h('tr', {'data-job': j.id},
        h('td', {}, h('a', {href: '#/jobs/' + j.id}, j.id)), h('td', {}, j.name), h('td', {}, j.cluster),
        h('td', {}, j.owner), stateCell(j.state), h('td', {}, j.reason),
        h('td', {class: 'predicted'}, fmtPredicted(j)), h('td', {}, fmtTime(j.submitted_at)),
        h('td', {}, cancelButton(j, refresh)))));
    more.textContent = page.more ? 'Only the first 1,000 of these jobs are shown: choose a cluster or a state.' : '';
  };
  fCluster.addEventListener('change', () => guarded(refresh));
  fState.addEventListener('change', () => guarded(refresh));
  await poll(refresh, POLL_MS);
}

async function viewJob(main, id) {
  const info = h('div', {class: 'card', id: 'job-info'});
  const logs = h('pre', {id: 'logs'});
  const actions = h('div', {id: 'job-actions'});
  main.append(h('h2', {}, 'Job ', id), actions, info, h('h3', {}, 'Output (live)'), logs);
  let offset = 0, eof = false;
  const refresh = async () => {
    const j = await api('GET', '/jobs/' + id);
    const kv = [['Name', j.name], ['Cluster', j.cluster], ['Owner', j.owner], ['State', j.state],
      ['Reason', j.reason || '-'], ['Predicted start', fmtPredicted(j)],
      ['Exit code', ['succeeded', 'failed'].includes(j.state) ? j.exit_code : '-'],
      ['Attempts', j.attempts], ['Nodes', (j.nodes || []).join(', ') || '-'],
      ['Command', (j.command || []).map(quoteWord).join(' ')], ['CPUs / memory MB / GPUs', `${j.cpus} / ${j.memory_mb} / ${j.gpus}`],
      ['Time limit', j.time_limit_s ? j.time_limit_s + ' s' : 'none'],
      ['Submitted', fmtTime(j.submitted_at)], ['Started', fmtTime(j.started_at)], ['Ended', fmtTime(j.ended_at)]];
    info.replaceChildren(h('dl', {class: 'kv'}, kv.map(([k, v]) => [h('dt', {}, k), h('dd', {'data-key': k}, v)])));
    info.dataset.state = j.state;
    actions.replaceChildren(cancelButton(j, refresh) || '');
  };
  const tail = async () => {
    if (eof) return;
    for (let i = 0; i < 16; i++) { /* drain what is there, 64 KiB a read */
      const l = await api('GET', `/jobs/${id}/logs?offset=${offset}`);
      if (l.data) logs.append(document.createTextNode(l.data));
      const grew = l.next_offset !== offset;
      offset = l.next_offset;
      if (l.eof && ['succeeded', 'failed', 'canceled', 'timeout'].includes(l.state)) eof = true;
      if (!grew || eof) break;
    }
    logs.dataset.eof = eof ? '1' : '0';
  };
  await poll(refresh, POLL_MS);
  await poll(tail, LOG_POLL_MS);
}

/* ---- routing ------------------------------------------------------------------ */

async function route() {
  if (!me) return;
  clearTimers();
  showError('');
  const main = $('#main');
  main.replaceChildren();
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  await guarded(async () => {
    if (parts[0] === 'clusters' && parts[1]) await viewCluster(main, parts[1]);
    else if (parts[0] === 'jobs' && parts[1]) await viewJob(main, parts[1]);
    else if (parts[0] === 'jobs') await viewJobs(main);
    else await viewClusters(main);
  });
}

async function start() {
  $('#login-form').addEventListener('submit', login);
  $('#logout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin('');
    location.hash = '#/clusters'; /* the next user starts from the top */
  });
  window.addEventListener('hashchange', route);
  if (!sessionStorage.getItem(TOKEN_KEY)) {
    showLogin('');
    return;
  }
  try {
    me = await api('GET', '/whoami');
  } catch (e) {
    if (e.status !== 401) showLogin(e.message);
    return;
  }
  enter();
}

start();
