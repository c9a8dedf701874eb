// lib.js — what every spillwatch page shares: the REST client (with the shifter's token, asked for
// once and kept for the browser session), number formats, flag badges (colour and word), a tiny DOM
// builder that only ever inserts text, the navigation bar, and the staleness indicator.
// Data from the server is inserted with textContent, never as HTML.

export const FLAGS = ['GOOD', 'WARN', 'BAD', 'UNKNOWN', 'EXCLUDED'];
const TOKEN_KEY = 'spillwatch-token';

// el('td', {class: 'x', title: 't'}, 'text', child, ...): attributes and text only.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export const $ = (id) => document.getElementById(id);

export function setText(id, text) {
  const e = typeof id === 'string' ? $(id) : id;
  if (e && e.textContent !== text) e.textContent = text;
}

// Numbers people read: significant digits without exponent notation. 3.1e6 -> "3.10 M",
// 1000 -> "1000", 0.0339 -> "0.0339", 2e-6 -> "2.00×10⁻⁶"; null -> "—".
const SUPER = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };
export function fmt(v, digits = 3) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  // the suffix of the value as rounded: 999999 is "1.00 M", not "1000 k"
  const scales = [[1e3, ' k'], [1e6, ' M'], [1e9, ' G'], [1e12, ' T']];
  if (a >= 1e4) {
    for (let i = 0; i < scales.length; i++) {
      const [k, suffix] = scales[i];
      const m = Number((v / k).toPrecision(digits));
      if (Math.abs(m) < 1000 || i === scales.length - 1)
        return (Math.abs(m) < 10 ** digits ? m.toPrecision(digits) : m.toFixed(0)) + suffix;
    }
  }
  if (Number.isInteger(v)) return String(v);
  if (a < 1e-4) {
    const [m, e] = v.toExponential(digits - 1).split('e');
    return `${m}×10${String(Number(e)).replace(/./g, c => SUPER[c])}`;
  }
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(a)));
  return v.toFixed(Math.min(decimals, 20));
}

// A value with its unit: fmtUnit(0.41, 'GeV') -> "0.410 GeV"; a fraction unit shows as percent.
export function fmtUnit(v, unit, digits = 3) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (unit === '%' || unit === 'fraction') return fmt(100 * v, digits) + ' %';
  return fmt(v, digits) + (unit ? ' ' + unit : '');
}

// A signed offset: fmtSigned(0.034, 'GeV/c') -> "+0.0340 GeV/c".
export function fmtSigned(v, unit, digits = 3) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return (v > 0 ? '+' : v < 0 ? '−' : '±') + fmtUnit(Math.abs(v), unit, digits);
}

// Time: one format everywhere, 24-hour ISO (2026-12-02 03:14:07) in the display zone, which the
// server's config names (GET /api/v1/display, display.timezone; the server's own zone by default).
// The header shows the zone once; fmtTime(t, {zone: true}) appends it where a time stands alone.
export const display = { timezone: Intl.DateTimeFormat().resolvedOptions().timeZone, kiosk: null, from: 'browser' };
let parts = null;
function setZone(tz) {
  try {
    parts = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit',
      day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'shortOffset' });
    display.timezone = tz;
    return true;
  } catch (e) {
    return false;
  }
}
setZone(display.timezone);
try {
  const resp = await fetch('/api/v1/display', { cache: 'no-store', headers: sessionStorage.getItem('spillwatch-token')
    ? { Authorization: 'Bearer ' + sessionStorage.getItem('spillwatch-token') } : {} });
  if (resp.ok) {
    const d = await resp.json();
    if (d.timezone && setZone(d.timezone)) display.from = 'server';
    display.kiosk = d.kiosk || null;
  }
} catch (e) {
  /* the page's own requests show the connection state; times stay in the browser's zone */
}

function wall(unix) {
  const o = {};
  for (const p of parts.formatToParts(new Date(unix * 1000))) o[p.type] = p.value;
  const off = (o.timeZoneName || '').replace(/^GMT/, 'UTC') || 'UTC';
  return { date: `${o.year}-${o.month}-${o.day}`, time: `${o.hour}:${o.minute}:${o.second}`,
           minute: `${o.hour}:${o.minute}`, offset: off === 'UTC' ? 'UTC+0' : off };
}

// The zone as the header shows it: "Europe/Zurich (UTC+1)".
export function zoneLabel(unix = Date.now() / 1000) {
  return `${display.timezone} (${wall(unix).offset})`;
}

export function fmtTime(unix, { zone = false, seconds = true } = {}) {
  if (!Number.isFinite(unix)) return '—';
  const w = wall(unix);
  return `${w.date} ${seconds ? w.time : w.minute}${zone ? ' ' + w.offset : ''}`;
}

// Time of day only (a chart axis, a status line): "03:14:07".
export function fmtClock(unix) {
  return Number.isFinite(unix) ? wall(unix).time : '—';
}

// "2026-12-02 03:14" (seconds optional) in the display zone -> Unix seconds, or NaN.
export function parseTime(text) {
  const m = /^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?\s*$/.exec(text || '');
  if (!m) return NaN;
  const [y, mo, d, h, mi, s] = m.slice(1).map(x => Number(x || 0));
  const naive = Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
  // The zone's offset at that wall time: guess, then correct once (exact except inside a DST jump).
  let t = naive;
  for (let i = 0; i < 2; i++) {
    const w = wall(t);
    const [wy, wmo, wd] = w.date.split('-').map(Number);
    const [wh, wmi, ws] = w.time.split(':').map(Number);
    t += naive - Date.UTC(wy, wmo - 1, wd, wh, wmi, ws) / 1000;
  }
  return t;
}

export function fmtAgo(unix) {
  if (!Number.isFinite(unix)) return '—';
  const s = Math.max(0, Date.now() / 1000 - unix);
  if (s < 90) return `${s.toFixed(0)} s ago`;
  if (s < 5400) return `${(s / 60).toFixed(0)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}

// Spill numbers as runs: [1, 2, 3, 5, 7, 8] -> [[1, 3], [5, 5], [7, 8]] (any order, repeats once).
export function spans(list) {
  const out = [];
  for (const s of [...list].sort((a, b) => a - b)) {
    const last = out[out.length - 1];
    if (last && s === last[1] + 1) last[1] = s;
    else if (!last || s !== last[1]) out.push([s, s]);
  }
  return out;
}

// ... as text: "1–3, 5, 7–8".
export const spanText = (list) => spans(list).map(([a, b]) => (a === b ? String(a) : `${a}–${b}`)).join(', ');

// A flag in colour *and* in words (colour-blind safe: the word and a shape carry it too).
export function flagBadge(flag) {
  const f = FLAGS.includes(flag) ? flag : 'UNKNOWN';
  return el('span', { class: 'badge ' + f, title: f }, f);
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// fetch JSON; a write refused with 401/403 asks the shifter for a token once, keeps it for this
// browser session, and tries again.
export async function api(path, { method = 'GET', body, retried = false } = {}) {
  const headers = {};
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(path, { method, headers, cache: 'no-store',
                                   body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  const type = resp.headers.get('Content-Type') || '';
  if (type.includes('json')) data = await resp.json();
  if ((resp.status === 401 || resp.status === 403) && !retried) {
    const given = window.prompt(
      (resp.status === 401 ? 'This action needs a shifter token.' : 'This token lacks the role for this action.') +
      '\nToken (kept for this browser session only):');
    if (given) {
      sessionStorage.setItem(TOKEN_KEY, given.trim());
      return api(path, { method, body, retried: true });
    }
  }
  if (!resp.ok) throw new ApiError(resp.status, (data && data.error) || `${resp.status} ${resp.statusText}`, data);
  return data;
}

const PAGES = [['/', 'overview'], ['/run.html', 'run'], ['/explorer.html', 'histograms'], ['/alarms.html', 'alarms'], ['/shift.html', 'shift summary']];

// The header: title, navigation, connection state. current: the page's path. With ?kiosk=1 in
// the URL the navigation goes and kiosk.js takes over (a wall screen).
export function header(current, subtitle) {
  const nav = el('nav', {}, PAGES.map(([href, name]) =>
    el('a', { href, class: href === current ? 'here' : null, 'aria-current': href === current ? 'page' : null }, name)));
  const h = el('header', {},
    el('h1', {}, 'spillwatch ', el('span', { class: 'sub' }, subtitle)), nav,
    el('div', { class: 'conn' }, el('span', { id: 'conn' }, 'connecting…'), ' · ',
      el('span', { id: 'tz', title: display.from === 'server' ? 'display zone (config display.timezone)'
        : 'the browser\'s zone (the server did not say)' }, 'times ' + zoneLabel())));
  document.body.prepend(h, el('div', { id: 'banner', class: 'banner', hidden: true }));
  if (new URLSearchParams(location.search).get('kiosk') === '1') { // a wall screen: kiosk.js
    nav.style.display = 'none';
    import('/kiosk.js');
  }
}

// Marks the page fresh after a successful update, or stale (grey, with the age of the data) when
// updates fail or stop. Call fresh() after each good update; the check runs by itself.
export function staleness(maxAgeS = 6) {
  let last = null;
  let error = '';
  const tick = () => {
    const age = last === null ? null : (Date.now() - last) / 1000;
    const stale = error !== '' || age === null || age > maxAgeS;
    document.body.classList.toggle('stale', stale && last !== null);
    const banner = $('banner');
    if (banner) {
      banner.hidden = !(stale && last !== null);
      setText(banner, error ? `server unreachable (${error}) — data below is ${age.toFixed(0)} s old`
        : `no update for ${age === null ? '—' : age.toFixed(0)} s — data below may be stale`);
    }
    if (last !== null && !stale) setText('conn', 'updated ' + fmtClock(last / 1000));
    else if (last !== null) setText('conn', `stale: ${age.toFixed(0)} s old`);
  };
  setInterval(tick, 1000);
  return {
    fresh() {
      last = Date.now();
      error = '';
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
      tick();
    },
    failed(e) {
      error = e.message || String(e);
      tick();
    },
  };
}

// Runs fn now and every ms milliseconds (never two at once).
export function every(ms, fn) {
  let busy = false;
  const run = async () => {
    if (busy) return;
    busy = true;
    try { await fn(); } finally { busy = false; }
  };
  run();
  return setInterval(run, ms);
}

// Shows a transient message under a form: ok (green) or error (red), as text.
export function say(target, text, ok = true) {
  const e = typeof target === 'string' ? $(target) : target;
  e.className = 'msg ' + (ok ? 'ok' : 'err');
  e.textContent = text;
}
