// banner.js — the overview's page-wide alert: it stands while a critical alarm fires (GET
// /api/v1/alarms: severity critical, state firing) or the running run's data is stale (no data for
// longer than the run's normal gap, datagap.js), and says which and since when. An optional beep
// (WebAudio, at most once every BEEP_EVERY_S while the alert stands) is off by default; the shifter
// turns it on with the "sound" button, and the choice is kept in localStorage.
import { $, el, fmtTime, setText } from '/lib.js';
import { fmtDuration, gapSentence } from '/datagap.js';

export const BEEP_EVERY_S = 30;
const SOUND_KEY = 'spillwatch-sound';
let alarms = [];
let gap = null;
let audio = null;
let lastBeep = 0;

const soundOn = () => localStorage.getItem(SOUND_KEY) === '1';

function context() {
  if (!audio) {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return null;
    audio = new AC();
  }
  if (audio.state === 'suspended') audio.resume().catch(() => {});
  return audio;
}

// One short two-tone beep.
function beep() {
  const ctx = context();
  document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
  if (!ctx) return;
  const t = ctx.currentTime;
  const gain = ctx.createGain();
  gain.gain.setValueAtTime(0.0001, t);
  gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.5);
  gain.connect(ctx.destination);
  for (const [f, at] of [[880, 0], [660, 0.25]]) {
    const osc = ctx.createOscillator();
    osc.frequency.value = f;
    osc.connect(gain);
    osc.start(t + at);
    osc.stop(t + at + 0.22);
  }
}

function showSound() {
  const b = $('sound');
  if (!b) return;
  const on = soundOn();
  setText(b, on ? 'sound on' : 'sound off');
  b.setAttribute('aria-pressed', String(on));
  b.title = on ? `a beep every ${BEEP_EVERY_S} s while the red alert stands; click to turn off`
    : 'click to beep while the red alert stands (critical alarm firing or data stale)';
  b.classList.toggle('on', on);
}

// The reasons the alert stands now, most urgent first.
function reasons() {
  const out = [];
  if (gap && gap.stale) {
    const g = { ...gap, since: Math.max(gap.since, Date.now() / 1000 - gap.lastData) };
    out.push({ kind: 'stale', since: gap.lastData,
      text: `Data stale: ${gapSentence(g)}; last data ${fmtTime(gap.lastData)}` });
  }
  for (const a of alarms) {
    if (a.severity !== 'critical' || a.state !== 'firing') continue;
    const since = a.starts_at || a.since;
    out.push({ kind: 'alarm', alarm: a.name, since,
      text: `Critical alarm ${a.name} firing since ${fmtTime(since)} (${fmtDuration(Date.now() / 1000 - since)}): ${a.summary || ''}`
        + (a.silenced_by ? ` — notices muted by silence #${a.silenced_by}` : '') });
  }
  return out;
}

function render() {
  const box = $('alert');
  if (!box) return;
  const list = reasons();
  box.hidden = list.length === 0;
  document.body.classList.toggle('alerting', list.length > 0);
  const key = JSON.stringify(list.map(r => [r.kind, r.alarm, r.text]));
  if (box.dataset.key !== key) {
    box.dataset.key = key;
    box.dataset.kinds = [...new Set(list.map(r => r.kind))].join(' ');
    $('alert-list').replaceChildren(...list.map(r => el('li', { dataset: { kind: r.kind, alarm: r.alarm } }, r.text)));
  }
  const now = Date.now() / 1000;
  if (list.length && soundOn() && now - lastBeep >= BEEP_EVERY_S) {
    lastBeep = now;
    beep();
  }
  if (!list.length) lastBeep = 0; // a new alert beeps at once
}

export function setAlarms(a) {
  alarms = a || [];
  render();
}

export function setGap(g) {
  gap = g;
  render();
}

const button = $('sound');
if (button) {
  button.addEventListener('click', () => {
    localStorage.setItem(SOUND_KEY, soundOn() ? '0' : '1');
    if (soundOn()) context(); // the click is the gesture the browser wants before it plays sound
    lastBeep = 0;
    showSound();
    render();
  });
  showSound();
}
// A remembered "on" after a reload: the browser lets the page play only after a first gesture.
document.addEventListener('pointerdown', () => { if (soundOn() && audio) audio.resume().catch(() => {}); });
setInterval(render, 1000);
