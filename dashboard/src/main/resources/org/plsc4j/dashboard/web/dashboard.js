// plsc4j job dashboard: polls /api/state once a second and redraws; charts are hand-drawn SVG
// (no library, nothing fetched from the internet). The token comes from the URL fragment
// (#token=...), which the browser never sends to the server, and goes out as a Bearer header.
(function () {
  'use strict';
  const SVG = 'http://www.w3.org/2000/svg';
  const COLORS = ['#3d7be0', '#e0703d', '#2f9e5a', '#9c4fd6', '#c9a227', '#d6457a', '#1fa3a8', '#7a8699'];
  const state = { token: null, train: [], since: 0, timer: null, busy: false };

  function tokenFromUrl() {
    const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem('plsc4j-token', decodeURIComponent(m[1]));
    }
    return sessionStorage.getItem('plsc4j-token');
  }

  function el(tag, attrs, text) {
    const e = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'color') {
        e.style.color = v; // through the CSSOM: the page's Content-Security-Policy forbids inline style attributes
      } else {
        e.setAttribute(k, v);
      }
    }
    if (text !== undefined) {
      e.textContent = text;
    }
    return e;
  }

  function fmtDuration(s) {
    if (s === null || s === undefined || !isFinite(s)) {
      return '–';
    }
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${sec}s` : `${sec}s`;
  }

  function fmt(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) {
      return '–';
    }
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) {
      return v.toExponential(2);
    }
    return v.toFixed(digits === undefined ? (a >= 100 ? 0 : a >= 10 ? 1 : 3) : digits);
  }

  function colorOf(rank) {
    return COLORS[rank % COLORS.length];
  }

  // ---------------------------------------------------------------- summary
  function renderJob(s) {
    const j = s.job;
    document.getElementById('job-id').textContent = j.id;
    const badge = document.getElementById('job-state');
    badge.textContent = j.state;
    badge.className = 'badge ' + j.state;
    document.getElementById('job-message').textContent = j.message || '';
    document.getElementById('job-generation').textContent = j.generation;
    document.getElementById('job-world').textContent = j.world_size;
    document.getElementById('job-restarts').textContent =
      j.max_restarts === null || j.max_restarts === undefined ? j.restarts : `${j.restarts} / ${j.max_restarts}`;
    const total = j.total_steps;
    document.getElementById('job-step').textContent =
      j.step === undefined ? '–' : total ? `${j.step} / ${total}` : `${j.step}`;
    document.getElementById('job-elapsed').textContent = fmtDuration(j.elapsed_s);
    document.getElementById('job-eta').textContent = j.state === 'finished' ? 'done' : fmtDuration(j.eta_s);
    const pct = total ? Math.min(100, 100 * j.step / total) : j.state === 'finished' ? 100 : 0;
    document.getElementById('progress-bar').style.width = pct + '%';
    document.getElementById('classes').textContent = j.num_classes ? `[0, ${j.num_classes})` : '';
  }

  // ---------------------------------------------------------------- class ranges
  function renderRanges(s) {
    const svg = document.getElementById('ranges');
    svg.replaceChildren();
    const c = s.job.num_classes;
    const ranked = s.workers.filter(w => w.rank !== null && w.rank !== undefined && w.class_end !== undefined);
    if (!c) {
      return;
    }
    const width = svg.clientWidth || 800;
    const scale = x => 1 + (width - 2) * x / c;
    for (const w of ranked) {
      const g = el('svg:g', { class: 'range', 'data-rank': w.rank, 'data-worker': w.id,
        'data-class-start': w.class_start, 'data-class-end': w.class_end });
      const x0 = scale(w.class_start), x1 = scale(w.class_end);
      g.appendChild(el('svg:rect', { x: x0, y: 2, width: Math.max(1, x1 - x0 - 1), height: 24, rx: 3,
        fill: colorOf(w.rank) }));
      g.appendChild(el('svg:title', {}, `rank ${w.rank} · ${w.id} · classes [${w.class_start}, ${w.class_end})`));
      if (x1 - x0 > 70) {
        g.appendChild(el('svg:text', { x: x0 + 6, y: 18 },
          w.id === `rank ${w.rank}` ? w.id : `rank ${w.rank} · ${w.id}`));
      }
      svg.appendChild(g);
    }
    for (const x of [0, c]) {
      svg.appendChild(el('svg:text', { x: x === 0 ? 1 : width - 1, y: 40, 'text-anchor': x === 0 ? 'start' : 'end' },
        String(x)));
    }
    for (const w of ranked) {
      if (w.class_start > 0) {
        svg.appendChild(el('svg:text', { x: scale(w.class_start), y: 40, 'text-anchor': 'middle' },
          String(w.class_start)));
      }
    }
  }

  // ---------------------------------------------------------------- workers
  function renderWorkers(s) {
    const body = document.querySelector('#workers tbody');
    body.replaceChildren();
    for (const w of s.workers) {
      const tr = el('tr', { class: w.state, 'data-worker': w.id, 'data-state': w.state });
      const hasRange = w.rank !== null && w.rank !== undefined && w.class_end !== undefined;
      if (hasRange) {
        tr.setAttribute('data-rank', w.rank);
        tr.setAttribute('data-class-start', w.class_start);
        tr.setAttribute('data-class-end', w.class_end);
      }
      const classes = hasRange ? `[${w.class_start}, ${w.class_end})`
        : w.last_class_end !== undefined ? `(was [${w.last_class_start}, ${w.last_class_end}))` : '–';
      const cells = [w.id, w.host || '–', hasRange ? w.rank : '–', classes, w.device || '–',
        w.step === undefined ? '–' : w.step, fmt(w.steps_per_sec, 2),
        w.flush_version === undefined || w.flush_version < 0 ? '–' : w.flush_version];
      cells.forEach((v, i) => {
        const td = el('td', {}, String(v));
        if (i === 0 && hasRange) {
          td.prepend(el('span', { color: colorOf(w.rank) }, '■ '));
        }
        tr.appendChild(td);
      });
      const st = el('td', { class: 'state' });
      st.appendChild(el('span', { class: 'badge ' + w.state }, w.state));
      tr.appendChild(st);
      const m = el('td');
      if (w.metrics_url) {
        m.appendChild(el('code', {}, w.metrics_url));
      } else {
        m.textContent = '–';
      }
      tr.appendChild(m);
      body.appendChild(tr);
    }
  }

  // ---------------------------------------------------------------- charts
  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) {
      hi = lo + 1;
    }
    const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map(f => f * mag).find(st => st >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) {
      out.push(v);
    }
    return out;
  }

  function chart(id, title, series, markers, xr) {
    let box = document.getElementById('box-' + id);
    if (!box) {
      box = el('div', { class: 'chart', id: 'box-' + id });
      box.appendChild(el('div', { class: 'title' }, title));
      box.appendChild(el('svg:svg', { id: 'chart-' + id, viewBox: '0 0 420 170', preserveAspectRatio: 'none' }));
      box.appendChild(el('div', { class: 'legend' }));
      document.getElementById('charts').appendChild(box);
    }
    const svg = box.querySelector('svg');
    svg.replaceChildren();
    const W = 420, H = 170, L = 46, R = 8, T = 8, B = 22;
    const pts = series.flatMap(s => s.points);
    svg.setAttribute('data-points', String(series.length ? series[0].points.length : 0));
    if (!pts.length) {
      svg.appendChild(el('svg:text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'no data yet'));
      return;
    }
    // every chart spans the same time range (the job's so far), so generation markers line up
    let x0 = xr[0], x1 = xr[1];
    let y0 = Math.min(...pts.map(p => p[1])), y1 = Math.max(...pts.map(p => p[1]));
    if (x1 === x0) {
      x1 = x0 + 1;
    }
    if (y1 === y0) {
      y0 -= Math.abs(y0) * 0.05 + 1e-6;
      y1 += Math.abs(y1) * 0.05 + 1e-6;
    }
    const pad = (y1 - y0) * 0.05;
    y0 -= pad;
    y1 += pad;
    const sx = x => L + (W - L - R) * (x - x0) / (x1 - x0);
    const sy = y => T + (H - T - B) * (1 - (y - y0) / (y1 - y0));
    for (const v of niceTicks(y0, y1, 4)) {
      svg.appendChild(el('svg:line', { class: 'grid', x1: L, x2: W - R, y1: sy(v), y2: sy(v) }));
      svg.appendChild(el('svg:text', { x: L - 4, y: sy(v) + 3, 'text-anchor': 'end' }, fmt(v)));
    }
    for (const v of niceTicks(x0, x1, 5)) {
      svg.appendChild(el('svg:text', { x: sx(v), y: H - 6, 'text-anchor': 'middle' }, fmtDuration(v)));
    }
    svg.appendChild(el('svg:line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }));
    svg.appendChild(el('svg:line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
    for (const m of markers) {
      if (m.x < x0) {
        continue;
      }
      const g = el('svg:g', { class: 'gen-marker', 'data-generation': m.number });
      g.appendChild(el('svg:line', { class: 'gen', x1: sx(m.x), x2: sx(m.x), y1: T, y2: H - B }));
      g.appendChild(el('svg:text', { class: 'gen-label', x: sx(m.x) + 3, y: T + 9 }, 'g' + m.number));
      g.appendChild(el('svg:title', {}, m.text));
      svg.appendChild(g);
    }
    series.forEach((s, i) => {
      if (!s.points.length) {
        return;
      }
      const d = s.points.map((p, k) => (k ? 'L' : 'M') + sx(p[0]).toFixed(1) + ' ' + sy(p[1]).toFixed(1)).join(' ');
      svg.appendChild(el('svg:path', { d, fill: 'none', stroke: s.color || COLORS[i], 'stroke-width': 1.6,
        'vector-effect': 'non-scaling-stroke', class: 'series', 'data-series': s.name }));
      if (s.points.length < 40 || s.dots) {
        for (const p of s.points) {
          svg.appendChild(el('svg:circle', { cx: sx(p[0]), cy: sy(p[1]), r: 2, fill: s.color || COLORS[i] }));
        }
      }
    });
    const legend = box.querySelector('.legend');
    legend.replaceChildren(...series.map((s, i) => el('span', { color: s.color || COLORS[i] },
      '— ' + s.name + (s.points.length ? ' ' + fmt(s.points[s.points.length - 1][1]) : ''))));
  }

  function renderCharts(s) {
    const t0 = s.job.started_ms || (state.train.length ? state.train[0].t_ms : s.now_ms);
    const x = p => (p.t_ms - t0) / 1000;
    const markers = (s.generations || []).filter(g => g.t_ms).map(g => ({ x: (g.t_ms - t0) / 1000,
      number: g.number, text: g.text }));
    const xs = state.train.map(x).concat((s.eval || []).map(x), markers.map(m => m.x));
    const xr = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
    const series = (name, field, color) => ({ name, color,
      points: state.train.filter(p => p[field] !== undefined && p[field] !== null).map(p => [x(p), p[field]]) });
    chart('loss', 'loss', [series('loss', 'loss', COLORS[0])], markers, xr);
    chart('lr', 'learning rate', [series('lr', 'lr', COLORS[1])], markers, xr);
    chart('sps', 'samples / s', [series('samples/s', 'samples_per_sec', COLORS[2])], markers, xr);
    if (state.train.some(p => p.acc1 !== undefined)) {
      chart('acc', 'training accuracy (calc_acc)', [series('acc1', 'acc1', COLORS[3]),
        series('acc5', 'acc5', COLORS[4])], markers, xr);
    }
    if (state.train.some(p => p.loss_scale !== undefined)) {
      chart('scale', 'loss scale (use_fp16)', [series('loss scale', 'loss_scale', COLORS[5])], markers, xr);
    }
    if (s.eval && s.eval.length) {
      const names = [...new Set(s.eval.flatMap(e => Object.keys(e.accuracy)))];
      chart('val', 'val_targets accuracy (per evaluation)', names.map((n, i) => ({ name: n, color: COLORS[(i + 3) % 8],
        dots: true, points: s.eval.filter(e => e.accuracy[n] !== undefined).map(e => [x(e), e.accuracy[n]]) })),
      markers, xr);
    }
  }

  // ---------------------------------------------------------------- events
  function renderEvents(s) {
    const list = document.getElementById('events');
    list.replaceChildren();
    const evs = (s.events || []).slice().reverse();
    for (const e of evs) {
      const li = el('li', { class: e.kind + (e.error ? ' error' : ''), 'data-kind': e.kind });
      const t = e.t_ms ? new Date(e.t_ms).toLocaleTimeString() : '';
      li.appendChild(el('span', { class: 'muted' }, t + ' '));
      li.appendChild(el('span', { class: 'kind' }, e.kind));
      li.appendChild(document.createTextNode(' ' + e.text));
      list.appendChild(li);
    }
    list.setAttribute('start', String(evs.length));
  }

  // ---------------------------------------------------------------- polling
  async function poll() {
    if (state.busy) {
      return;
    }
    state.busy = true;
    try {
      await pollOnce();
    } finally {
      state.busy = false;
    }
  }

  async function pollOnce() {
    let r;
    try {
      r = await fetch('api/state?since=' + state.since, { headers: { Authorization: 'Bearer ' + state.token },
        cache: 'no-store' });
    } catch (e) {
      document.getElementById('updated').textContent = 'cannot reach the dashboard: ' + e;
      return;
    }
    if (r.status === 401) {
      askToken('the token was refused');
      return;
    }
    if (!r.ok) {
      document.getElementById('updated').textContent = 'error ' + r.status + ': ' + (await r.text());
      return;
    }
    const s = await r.json();
    if (s.curves_source !== state.source) {
      // the points now come from elsewhere (metrics.jsonl became readable): start the curves over
      const usable = state.source === undefined || s.train.offset === 0;
      state.source = s.curves_source;
      state.train = [];
      state.since = 0;
      if (!usable) {
        return;
      }
    }
    if (s.train.offset === 0 && state.since !== 0) {
      state.train = [];
    }
    state.train = state.train.slice(0, s.train.offset).concat(s.train.points);
    state.since = s.train.total;
    renderJob(s);
    renderRanges(s);
    renderWorkers(s);
    renderCharts(s);
    renderEvents(s);
    document.body.setAttribute('data-polls', String(Number(document.body.getAttribute('data-polls') || 0) + 1));
    document.getElementById('updated').textContent = 'last update ' + new Date().toLocaleTimeString()
      + ' · source ' + s.source;
  }

  function askToken(why) {
    clearInterval(state.timer);
    state.timer = null;
    document.getElementById('auth').hidden = false;
    document.getElementById('auth-error').textContent = why || '';
  }

  function begin() {
    state.token = tokenFromUrl();
    if (!state.token) {
      askToken('this dashboard needs the job token (or the dashboard token): open it as …/#token=<token>');
      return;
    }
    document.getElementById('auth').hidden = true;
    poll();
    state.timer = setInterval(poll, 1000);
  }

  document.getElementById('auth-form').addEventListener('submit', ev => {
    ev.preventDefault();
    sessionStorage.setItem('plsc4j-token', document.getElementById('auth-token').value);
    state.since = 0;
    state.train = [];
    begin();
  });
  begin();
}());
