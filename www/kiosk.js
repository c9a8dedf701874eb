// kiosk.js — kiosk mode, for a wall screen: any page opened with ?kiosk=1 (lib.js header() loads
// this module then) shows no navigation, larger type (kiosk.css), and moves on to the next page of
// display.kiosk.pages every display.kiosk.seconds (GET /api/v1/display; config display.kiosk_pages,
// display.kiosk_seconds), keeping ?kiosk=1. A page not in the list goes to the first one.
import { display, el } from '/lib.js';

const DEFAULT = { pages: ['/'], seconds: 30 };
const { pages, seconds } = display.kiosk && display.kiosk.pages && display.kiosk.pages.length ? display.kiosk : DEFAULT;

document.documentElement.classList.add('kiosk');
document.body.classList.add('kiosk');
document.head.append(el('link', { rel: 'stylesheet', href: '/kiosk.css' }));

const here = pages.findIndex(p => {
  const u = new URL(p, location.origin);
  return u.pathname === location.pathname && [...u.searchParams].every(([k, v]) => new URLSearchParams(location.search).get(k) === v);
});
const next = pages[(here + 1) % pages.length];
if (pages.length > 1 || here < 0) {
  const url = new URL(next, location.origin);
  url.searchParams.set('kiosk', '1');
  document.body.dataset.kioskNext = url.pathname + url.search;
  const conn = document.querySelector('header .conn');
  const left = el('span', { id: 'kiosk-next' });
  if (conn) conn.append(' · ', left);
  const until = Date.now() + seconds * 1000;
  const tick = () => {
    const s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    left.textContent = `kiosk: next ${url.pathname} in ${s} s`;
    if (s === 0) location.assign(url.pathname + url.search);
    else setTimeout(tick, 1000);
  };
  tick();
}
