// checktext.js — a check's result in words for the explorer's check table: the value with its unit
// as the comparison that judged it ("+0.043 GeV/c from baseline 159.1 GeV/c (good within ±1.6,
// warn ±4.8)", "0.050 GeV = 2.1 % of nominal 2.40 GeV (good 80–120 %)", "7.9 % (good 0–20 %)"),
// and what judged it (the provenance the server stored with the verdict, docs/api.md).
// Pure functions of GET /api/v1/runs/{run}/spills/{spill} check entries and GET /api/v1/checks.
import { fmt } from '/lib.js';

// fmt without trailing zeros after the point: 1.60 -> "1.6", "3.10 M" -> "3.1 M".
export function num(v, digits = 3) {
  const s = fmt(v, digits).replace(/^-/, '−');
  return s.includes('.') && !s.includes('×') ? s.replace(/\.?0+(?=$| )/, '') : s;
}
const unitNum = (v, unit, digits = 3) => {
  if (unit === '%' || unit === 'fraction') return `${num(100 * v, digits)} %`;
  return `${num(v, digits)}${unit ? ' ' + unit : ''}`;
};
const signed = (v, unit, digits = 3) => (v > 0 ? '+' : v < 0 ? '−' : '±') + unitNum(Math.abs(v), unit, digits);
// v with d decimals; signed: "+0.03", "−0.03", "0.00" when it rounds to zero.
function fixed(v, d, sign) {
  const a = Math.abs(v).toFixed(d);
  if (Number(a) === 0) return a;
  return (v < 0 ? '−' : sign ? '+' : '') + a;
}
const pct = (r) => `${num(100 * r, 3)} %`;
const close = (a, b) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));

// The layer whose numbers the table shows: the one that made a non-GOOD state, else the stability
// window when it judged, else the physical one (what the server's reason names first).
export function judgingLayer(c) {
  const p = c.provenance || {};
  const ph = p.physical || null, st = p.stability || null;
  const stab = st && st.state !== 'EXCLUDED' && !(st.source && st.source.kind === 'learning') ? st : null;
  if (p.layer === 'physical' && ph) return { name: 'physical', l: ph };
  if (p.layer === 'stability' && st) return { name: 'stability', l: st };
  if (stab) return { name: 'stability', l: stab };
  if (ph) return { name: 'physical', l: ph };
  if (st) return { name: 'stability', l: st };
  return null;
}

// How the layer compared: the profile's word (GET /api/v1/checks), else read off the windows.
function compareOf(layer, c, def) {
  if (layer.name === 'physical') {
    if (def && def.physical && def.physical.compare) return def.physical.compare;
    return layer.l.nominal !== undefined && layer.l.nominal !== null ? 'delta' : 'absolute';
  }
  if (def && def.compare) return def.compare;
  const e = layer.l.expected, g = layer.l.good, rel = c.good;
  if (e === undefined || e === null || !g) return 'absolute';
  if (rel && close(e * rel[0], g[0]) && close(e * rel[1], g[1])) return 'ratio';
  return 'delta';
}

function centreName(layer) {
  if (layer.name === 'physical') return 'nominal';
  const src = layer.l.source || {};
  if (src.kind === 'baseline') return 'baseline';
  if (src.kind === 'peers') return 'the median of its peers';
  if (src.kind === 'reference_run') return `reference run ${src.run}`;
  if (src.kind === 'rolling_median') return 'the rolling median';
  return 'the reference';
}

function windowText(kind, lo, hi, e, unit) {
  if (kind === 'delta') {
    const a = lo - e, b = hi - e;
    if (close(a, -b)) return `within ±${num(Math.abs(b), 3)}${unit ? ' ' + unit : ''}`;
    return `${signed(a, '', 3)} to ${signed(b, unit, 3)}`;
  }
  if (kind === 'ratio') return `${num(100 * lo / e, 3)}–${pct(hi / e)}`;
  if (close(lo, hi)) return unitNum(lo, unit);
  const bare = unit === '%' || unit === 'fraction' ? num(100 * lo, 3) : num(lo, 3);
  return `${bare}–${unitNum(hi, unit)}`;
}

// The value column: what was measured, against what, and the window it had to be in.
export function valueText(c, def) {
  const unit = c.unit || (def && def.unit) || '';
  if (c.raw === null || c.raw === undefined || !Number.isFinite(c.raw)) {
    const why = (c.reason || '').replace(/^\S+ \[[^\]]*\]: /, '');
    return why ? `no value: ${why}` : 'no value';
  }
  const layer = judgingLayer(c);
  if (!layer) return unitNum(c.raw, unit, 4);
  const kind = compareOf(layer, c, def);
  const e = layer.name === 'physical' ? layer.l.nominal : layer.l.expected;
  const g = layer.l.good, w = layer.l.warn;
  const hasCentre = e !== undefined && e !== null && Number.isFinite(e);
  let head;
  let k = hasCentre ? kind : 'absolute';
  if (k === 'ratio' && e === 0) k = 'absolute';
  if (k === 'delta') {
    // offset and centre to the resolution of the window (a hundredth of its half-width): ±1.6 GeV/c
    // gives "+0.03 GeV/c from baseline 159.13 GeV/c", never 7.5×10⁻⁵
    const half = g ? Math.max(Math.abs(g[0] - e), Math.abs(g[1] - e)) : w ? Math.max(Math.abs(w[0] - e), Math.abs(w[1] - e)) : 0;
    const d = half > 0 ? Math.min(8, Math.max(0, 2 - Math.floor(Math.log10(half)))) : null;
    const u = unit ? ' ' + unit : '';
    head = d === null ? `${signed(c.raw - e, unit, 2)} from ${centreName(layer)} ${unitNum(e, unit, 4)}`
      : `${fixed(c.raw - e, d, true)}${u} from ${centreName(layer)} ${layer.name === 'physical' ? num(e, 4) : fixed(e, d, false)}${u}`;
  }
  else if (k === 'ratio') head = `${unitNum(c.raw, unit, 3)} = ${pct(c.raw / e)} of ${centreName(layer)} ${unitNum(e, unit, 3)}`;
  else head = unitNum(c.raw, unit, 3);
  const parts = [];
  if (g) parts.push('good ' + windowText(k, g[0], g[1], e, unit));
  if (w) parts.push('warn ' + windowText(k, w[0], w[1], e, unit));
  return parts.length ? `${head} (${parts.join(', ')})` : head;
}

// The "judged by" column.
export function judgedBy(c) {
  const layer = judgingLayer(c);
  if (!layer) return '—';
  const p = c.provenance || {};
  const st = p.stability || {};
  const src = st.source || {};
  let from;
  if (layer.name === 'physical') {
    const ph = layer.l;
    from = 'physical window';
    if (ph.nominal !== undefined && ph.nominal !== null) from += ` around ${num(ph.nominal, 4)} (${ph.nominal_from || 'profile'})`;
    if (src.kind === 'learning') from += `; baseline ${src.text || 'learning'}`;
  } else if (src.kind === 'baseline') {
    from = `baseline: ${src.text}${src.carried ? ' (carried over)' : ''}`;
  } else if (src.kind === 'learning') {
    from = src.text || 'baseline learning';
  } else if (src.kind === 'peers') {
    from = `median of ${src.used} peers`;
  } else if (src.kind === 'reference_run') {
    from = `reference run ${src.run}`;
  } else if (src.kind === 'rolling_median') {
    from = 'rolling median';
  } else if (src.kind === 'fixed') {
    from = 'fixed reference';
  } else {
    from = 'absolute limits';
  }
  const z = layer.l.z;
  if (z !== undefined && z !== null && Number.isFinite(z)) from += ` · ${num(z, 3)} σ`;
  return from;
}
