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

// 3.1e6 -> "3.10 M"; null -> "—"
export function fmt(v, digits = 3) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a >= 1e12) return (v / 1e12).toPrecision(digits) + ' T';
  if (a >= 1e9) return (v / 1e9).toPrecision(digits) + ' G';
  if (a >= 1e6) return (v / 1e6).toPrecision(digits) + ' M';
  if (a >= 1e4) return (v / 1e3).toPrecision(digits) + ' k';
  if (Number.isInteger(v)) return String(v);
  return v.toPrecision(digits);
}

export function fmtTime(unix) {
  if (!Number.isFinite(unix)) return '—';
  const d = new Date(unix * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtAgo(unix) {
  if (!Number.isFinite(unix)) return '—';
  const s = Math.max(0, Date.now() / 1000 - unix);
  if (s < 90) return `${s.toFixed(0)} s ago`;
  if (s < 5400) return `${(s / 60).toFixed(0)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}

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

// The header: title, navigation, connection state. current: the page's path.
export function header(current, subtitle) {
  const nav = el('nav', {}, PAGES.map(([href, name]) =>
    el('a', { href, class: href === current ? 'here' : null, 'aria-current': href === current ? 'page' : null }, name)));
  const h = el('header', {},
    el('h1', {}, 'spillwatch ', el('span', { class: 'sub' }, subtitle)), nav,
    el('div', { id: 'conn', class: 'conn' }, 'connecting…'));
  document.body.prepend(h, el('div', { id: 'banner', class: 'banner', hidden: true }));
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
    if (last !== null && !stale) setText('conn', 'updated ' + new Date(last).toLocaleTimeString());
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
