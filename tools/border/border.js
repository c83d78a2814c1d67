// Extracts Kazakhstan's outer border from Natural Earth 1:50m (npm package
// world-atlas, public domain), simplifies it with Douglas–Peucker to
// 300–500 points and prints data/kazakhstan.csv (lat,lon, closed ring).
//
//   cd tools/border && npm install --no-save world-atlas@2.0.2 && node border.js ../../data/gazetteer.csv > ../../data/kazakhstan.csv
const topo = require('world-atlas/countries-50m.json');

const {scale, translate} = topo.transform;
const arcs = topo.arcs.map(arc => {
  let x = 0, y = 0;
  return arc.map(([dx, dy]) => {
    x += dx; y += dy;
    return [x * scale[0] + translate[0], y * scale[1] + translate[1]];
  });
});
const geom = topo.objects.countries.geometries.find(g => g.id === '398');
if (!geom) throw new Error('Kazakhstan (398) not found');

function ring(indices) {
  const pts = [];
  for (const i of indices) {
    const a = i < 0 ? arcs[~i].slice().reverse() : arcs[i];
    pts.push(...(pts.length ? a.slice(1) : a));
  }
  return pts;
}
const polys = geom.type === 'Polygon' ? [geom.arcs] : geom.arcs;
let best = null;
for (const p of polys) {
  const r = ring(p[0]);
  if (!best || r.length > best.length) best = r;
}

function perp(p, a, b) {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const len = Math.hypot(dx, dy);
  if (len === 0) return Math.hypot(p[0] - a[0], p[1] - a[1]);
  return Math.abs(dy * p[0] - dx * p[1] + b[0] * a[1] - b[1] * a[0]) / len;
}
function dp(pts, eps) {
  const keep = new Array(pts.length).fill(false);
  keep[0] = keep[pts.length - 1] = true;
  const stack = [[0, pts.length - 1]];
  while (stack.length) {
    const [s, e] = stack.pop();
    let idx = -1, max = 0;
    for (let i = s + 1; i < e; i++) {
      const d = perp(pts[i], pts[s], pts[e]);
      if (d > max) { max = d; idx = i; }
    }
    if (max > eps) { keep[idx] = true; stack.push([s, idx], [idx, e]); }
  }
  return pts.filter((_, i) => keep[i]);
}
const eps = Number(process.env.EPS || 0.03);
let out = dp(best, eps);
const first = out[0], last = out[out.length - 1];
if (first[0] !== last[0] || first[1] !== last[1]) out.push(first);
console.error(`source points ${best.length}, simplified ${out.length} (eps ${eps}°)`);

// Settlements right at the border (Khorgos, Zhibek Zholy, Bautino, ...) can
// fall a km or two outside a 1:50m line. For each settlement of the
// gazetteer outside the ring, add one vertex 0.02° beyond it, next to the
// nearest edge, so the ring bulges just enough to contain it.
function inside([x, y]) {
  let c = false;
  for (let i = 0; i < out.length - 1; i++) {
    const [x1, y1] = out[i], [x2, y2] = out[i + 1];
    if ((y1 > y) !== (y2 > y) && x < (x2 - x1) * (y - y1) / (y2 - y1) + x1) c = !c;
  }
  return c;
}
const gazetteer = process.argv[2];
if (gazetteer) {
  const lines = require('fs').readFileSync(gazetteer, 'utf8').trim().split('\n').slice(1);
  for (const line of lines) {
    const f = line.split(',');
    const p = [Number(f[7]), Number(f[6])], name = f[3];
    if (inside(p)) continue;
    let bi = -1, bd = Infinity, bc = null;
    for (let i = 0; i < out.length - 1; i++) {
      const a = out[i], b = out[i + 1];
      const dx = b[0] - a[0], dy = b[1] - a[1];
      const l = dx * dx + dy * dy;
      const t = l === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l));
      const c = [a[0] + t * dx, a[1] + t * dy];
      const d = Math.hypot(p[0] - c[0], p[1] - c[1]);
      if (d < bd) { bd = d; bi = i; bc = c; }
    }
    const v = [p[0] + (p[0] - bc[0]) / bd * 0.02, p[1] + (p[1] - bc[1]) / bd * 0.02];
    out.splice(bi + 1, 0, v);
    console.error(`${name} (${p[1]}, ${p[0]}) was ${(bd * 111).toFixed(1)} km outside: vertex added`);
    if (!inside(p)) throw new Error(`${name} still outside`);
  }
}
console.log('lat,lon');
for (const [lon, lat] of out) console.log(`${lat.toFixed(4)},${lon.toFixed(4)}`);
