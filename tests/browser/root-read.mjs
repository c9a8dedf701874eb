// One ROOT-JSON export read by ROOT's own JavaScript reader, in a process of its own (jsroot keeps
// per-type caches): node root-read.mjs FILE OPTION [SVG_OUT]. FILE holds the text spillwatch
// served for ?format=root; OPTION is the draw option (hist, colz). Prints one JSON line: what
// jsroot parsed (type, name, cells), the statistics its painter computes as ROOT does (entries,
// mean, RMS from fTsumw*), every cell content through jsroot's own getBinContent, the axis labels,
// and the SVG that makeSVG drew (its size and whether it holds the title and the labels).
// Used by root_export.mjs and make-root-svg.mjs.
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, makeSVG, draw, cleanup, settings, _loadJSDOM } from 'jsroot';

const [file, option, svgOut] = process.argv.slice(2);
const text = readFileSync(file, 'utf8');
const obj = parse(text);
if (!obj || !obj._typename) throw new Error('jsroot.parse gave no object');
settings.Latex = 0; // titles as plain text: no MathJax in a test

const out = { typename: obj._typename, name: obj.fName, title: obj.fTitle, ncells: obj.fNcells };
const two = obj._typename.startsWith('TH2');
const nx = obj.fXaxis.fNbins, ny = two ? obj.fYaxis.fNbins : 0;
out.nx = nx;
out.ny = ny;
out.cells = [];
for (let iy = 0; iy <= (two ? ny + 1 : 0); iy++)
  for (let ix = 0; ix <= nx + 1; ix++) out.cells.push(two ? obj.getBinContent(ix, iy) : obj.getBinContent(ix));
out.arrayLength = obj.fArray.length;
out.labels = obj.fXaxis.fLabels ? obj.fXaxis.fLabels.arr.map(s => [s.fUniqueID, s.fString]) : null;
out.xtitle = obj.fXaxis.fTitle;

// The painter's statistics (what the stat box shows), from a real draw into jsdom.
const dom = await _loadJSDOM();
const div = dom.body.append('div').attr('width', 800).attr('height', 600)
  .style('width', '800px').style('height', '600px').property('_batch_mode', true);
const painter = await draw(div.node(), obj, option);
const stat = painter.countStat();
out.stat = { entries: stat.entries, meanx: stat.meanx, rmsx: stat.rmsx, meany: stat.meany, rmsy: stat.rmsy,
  integral: stat.integral };
cleanup(div.node());

const svg = await makeSVG({ object: obj, option, width: 800, height: 600 });
out.svgBytes = svg.length;
out.svgPaths = (svg.match(/<path/g) || []).length;
out.svgHasTitle = svg.includes(obj.fTitle.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
out.svgLabels = out.labels ? out.labels.map(([, s]) => svg.includes('>' + s + '<')) : null;
if (svgOut) writeFileSync(svgOut, svg);
console.log(JSON.stringify(out));
