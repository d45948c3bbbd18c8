/* visframe /map: every post on a deck.gl (WebGL2) scatter, linked to the coding store.
 *
 * Data: /map/meta.json + /map/points.bin (float32 x,y | float32 probability | uint16 cluster code),
 * other colourings as /map/colour/KEY.bin (uint16 codes) + .json (categories). Hover and click find
 * the nearest point on the CPU (a uniform grid over the positions), so the GPU only draws. Zoomed in
 * on a big map, only the points near the view are handed to the GPU. Zoomed in until at most
 * meta.thumb_cap points are visible, those points are drawn as thumbnails (/map/tile/ID, fetched
 * for the visible points only, packed into one atlas per view). Zoomed out on a big map (more than
 * OVERVIEW_CAP points in view), the points are drawn as one image instead: the page rasterises its
 * own arrays at the view's resolution and deck.gl shows it as a BitmapLayer (the overview). Box and
 * lasso selections are made on the server (POST /map/selection, CSRF header) and come back as point
 * numbers.
 * The view lives in the URL fragment: #c=colouring&h=hidden,codes&s=selection&q=search&m=meaning&v=x,y,zoom.
 * Every text from the data goes into the page with textContent, never as HTML.
 */
(() => {
  'use strict';
  const app = document.getElementById('map-app');
  if (!app) return;
  const $ = (id) => document.getElementById(id);
  const status = $('map-status');
  if (!window.deck) { status.textContent = 'the map library did not load'; return; }
  const {Deck, OrthographicView, ScatterplotLayer, IconLayer, BitmapLayer} = window.deck;
  const csrf = app.dataset.csrf;
  const PALETTE = [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
    [140, 86, 75], [227, 119, 194], [188, 189, 34], [23, 190, 207], [174, 199, 232], [255, 187, 120],
    [152, 223, 138], [255, 152, 150], [197, 176, 213], [196, 156, 148], [247, 182, 210], [219, 219, 141],
    [158, 218, 229], [57, 59, 121], [99, 121, 57], [140, 109, 49], [132, 60, 57], [123, 65, 115], [82, 84, 163]];
  const GREY = [175, 175, 175];
  // Categories that are "none of them": noise, the rest, posts without the value, images without text
  // or whose text is in no message topic (map_data.py's labels).
  const GREY_LABELS = new Set(['noise', 'other', '(none)', 'not read', 'text in no topic', 'no text',
    'no text or no topic']);
  const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const G = 256; // grid cells per side for hover, click and visible-point queries
  const CULL_MIN = 50000; // maps with fewer points always draw every point
  const TILE = 96; // px of a /map/tile image
  const TILE_CACHE = 1500; // decoded tiles kept for panning back and forth
  // Past this many points in view, the points are drawn as one rasterised image (the overview). In
  // software WebGL (SwiftShader, Chromium without a GPU) a frame costs about 20-45 us a point: 50,000
  // points about 1-2 s; an image of the view 0.05 s, after 0.2 s to rasterise 1,000,000 points
  // (benchmarks/bench_map.py). 50,000 is CULL_MIN: maps that were always drawn whole stay as they
  // were, and a whole map of 100,000 shows in under 3 s. `?overview_cap=N` in the page's URL sets
  // another cap (the tests, the benchmark).
  const OVERVIEW_CAP = Number(new URLSearchParams(location.search).get('overview_cap')) || 50000;
  const OVERVIEW_MARGIN = 0.25; // the overview image reaches this share of the view past each edge
  const OVERVIEW_MAX_PX = 4096; // ... in at most this many pixels a side (a safe WebGL texture size)
  const S = {n: 0, xy: null, prob: null, bounds: null, colouring: 'cluster', cats: {}, codes: {}, hidden: new Set(),
    selection: null, selMask: null, selIdx: null, search: '', searchMode: 'words', searchMask: null, mode: 'pan', view: null,
    colours: null, thumbs: [], idCache: new Map(), pointCache: new Map(), meta: null, baseZoom: 0,
    overview: false, raster: null};
  const metrics = {ready: false};
  window.__map = metrics;
  let deckgl = null;
  let renderWaiters = [];

  const getJSON = async (url) => {
    const r = await fetch(url, {credentials: 'same-origin'});
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return r.json();
  };
  const getBuffer = async (url) => {
    const r = await fetch(url, {credentials: 'same-origin'});
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return r.arrayBuffer();
  };
  const post = (url, body) => fetch(url, {method: 'POST', credentials: 'same-origin',
    headers: {'content-type': 'application/json', 'x-csrf-token': csrf}, body: JSON.stringify(body)});
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  };

  // -- the grid index -------------------------------------------------------------------------
  let grid = null;
  function buildGrid() {
    const [x0, y0, x1, y1] = S.bounds;
    const cw = (x1 - x0) / G || 1, ch = (y1 - y0) / G || 1;
    const start = new Uint32Array(G * G + 1), order = new Uint32Array(S.n), cell = new Uint32Array(S.n);
    for (let i = 0; i < S.n; i++) {
      const cx = Math.min(G - 1, Math.max(0, Math.floor((S.xy[2 * i] - x0) / cw)));
      const cy = Math.min(G - 1, Math.max(0, Math.floor((S.xy[2 * i + 1] - y0) / ch)));
      cell[i] = cy * G + cx;
      start[cell[i] + 1]++;
    }
    for (let c = 0; c < G * G; c++) start[c + 1] += start[c];
    const cursor = start.slice(0, G * G);
    for (let i = 0; i < S.n; i++) order[cursor[cell[i]]++] = i;
    grid = {x0, y0, cw, ch, start, order};
  }
  const cellRange = (a, b, origin, size) => [Math.max(0, Math.floor((a - origin) / size)),
    Math.min(G - 1, Math.floor((b - origin) / size))];
  function visible(i) {
    const codes = S.codes[S.colouring];
    return !(codes && S.hidden.has(codes[i]));
  }
  // The points in the box, from the grid; null past `limit`. `keep`: which of them count (default all,
  // hidden categories too: what the GPU draws); pointsIn counts the visible ones only (thumbnails).
  function indicesIn(xa, ya, xb, yb, limit, keep = null) {
    const found = [];
    const [cx0, cx1] = cellRange(xa, xb, grid.x0, grid.cw), [cy0, cy1] = cellRange(ya, yb, grid.y0, grid.ch);
    for (let cy = cy0; cy <= cy1; cy++) {
      for (let cx = cx0; cx <= cx1; cx++) {
        const c = cy * G + cx;
        for (let k = grid.start[c]; k < grid.start[c + 1]; k++) {
          const i = grid.order[k], x = S.xy[2 * i], y = S.xy[2 * i + 1];
          if (x >= xa && x <= xb && y >= ya && y <= yb && (keep === null || keep(i))) {
            found.push(i);
            if (found.length > limit) return null;
          }
        }
      }
    }
    return found;
  }
  const pointsIn = (xa, ya, xb, yb, limit) => indicesIn(xa, ya, xb, yb, limit, visible);
  function nearest(x, y, r) {
    let best = -1, bestD = r * r;
    const [cx0, cx1] = cellRange(x - r, x + r, grid.x0, grid.cw), [cy0, cy1] = cellRange(y - r, y + r, grid.y0, grid.ch);
    for (let cy = cy0; cy <= cy1; cy++) {
      for (let cx = cx0; cx <= cx1; cx++) {
        const c = cy * G + cx;
        for (let k = grid.start[c]; k < grid.start[c + 1]; k++) {
          const i = grid.order[k], dx = S.xy[2 * i] - x, dy = S.xy[2 * i + 1] - y, d = dx * dx + dy * dy;
          if (d <= bestD && visible(i)) { best = i; bestD = d; }
        }
      }
    }
    return best;
  }

  // -- colours --------------------------------------------------------------------------------
  const ramp = (t) => {
    const f = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1), k = Math.min(VIRIDIS.length - 2, Math.floor(f)), u = f - k;
    return VIRIDIS[k].map((v, j) => Math.round(v + (VIRIDIS[k + 1][j] - v) * u));
  };
  function categoryColour(cat, k) {
    const c = cat.categories[k];
    if (GREY_LABELS.has(c.label)) return GREY;
    if (cat.ordered) return ramp(cat.categories.length > 1 ? k / (cat.categories.length - 1) : 0.5);
    return PALETTE[k % PALETTE.length];
  }
  function recolour() {
    const t0 = performance.now();
    const n = S.n, out = S.colours || (S.colours = new Uint8Array(4 * n));
    const dim = S.selMask || S.searchMask;
    const alpha = n > 300000 ? 170 : 220;
    if (S.colouring === 'probability') {
      const lut = new Uint8Array(256 * 3);
      for (let k = 0; k < 256; k++) lut.set(ramp(k / 255), 3 * k);
      for (let i = 0; i < n; i++) {
        const k = 3 * Math.round(Math.min(1, Math.max(0, S.prob[i])) * 255), o = 4 * i;
        out[o] = lut[k]; out[o + 1] = lut[k + 1]; out[o + 2] = lut[k + 2]; out[o + 3] = alpha;
      }
    } else {
      const cat = S.cats[S.colouring], codes = S.codes[S.colouring], m = cat.categories.length;
      const lut = new Uint8Array(4 * m);
      for (let k = 0; k < m; k++) {
        lut.set(categoryColour(cat, k), 4 * k);
        lut[4 * k + 3] = S.hidden.has(k) ? 0 : alpha;
      }
      for (let i = 0; i < n; i++) {
        const k = 4 * codes[i], o = 4 * i;
        out[o] = lut[k]; out[o + 1] = lut[k + 1]; out[o + 2] = lut[k + 2]; out[o + 3] = lut[k + 3];
      }
    }
    if (dim) {
      for (let i = 0; i < n; i++) if (!(S.selMask ? S.selMask[i] : 1) || !(S.searchMask ? S.searchMask[i] : 1)) out[4 * i + 3] = Math.min(out[4 * i + 3], 28);
    }
    setPointData();
    if (S.overview) rasterise();
    metrics.recolourMs = performance.now() - t0;
    redraw();
  }

  // -- what the points layer draws: every point, or (zoomed in on a big map) those near the view --
  // Every drawn point costs vertex work each frame even off screen: at 1,000,000 points a frame took
  // 16-25 s in software WebGL here, and each thumbnail arriving asked for one. Zoomed in, only the
  // points within a view's width around the view are drawn, re-chosen when the view leaves them.
  function viewBounds(margin) {
    const rect = wrap.getBoundingClientRect(), scale = Math.pow(2, S.view.zoom);
    const hx = (rect.width / 2 / scale) * (1 + 2 * margin), hy = (rect.height / 2 / scale) * (1 + 2 * margin);
    const [x, y] = S.view.target;
    return [x - hx, y - hy, x + hx, y + hy];
  }
  function updateCull() {
    if (!grid) return false;
    const view = viewBounds(0);
    // More than OVERVIEW_CAP points in view: one image of them, made again for every settled view.
    if (S.n > OVERVIEW_CAP && !indicesIn(...view, OVERVIEW_CAP)) {
      const entering = !S.overview;
      S.overview = true; S.drawnIdx = null; S.drawnBox = null;
      if (entering) setPointData();
      if (!entering && S.rasterKey === rasterKey()) return false; // the same view, the same canvas
      rasterise();
      return true;
    }
    const left = S.overview;
    S.overview = false; S.raster = null; metrics.overview = false;
    if (left) setPointData(); // every point, until (below) those near the view are chosen
    if (S.n < CULL_MIN) return left;
    const box = S.drawnBox;
    const inside = box && view[0] >= box[0] && view[1] >= box[1] && view[2] <= box[2] && view[3] <= box[3];
    if (inside && S.view.zoom - S.drawnZoom < 1.5) return left;
    // A view's width around the view. On a map past the cap, at most twice the cap: a smaller margin
    // where that holds more (the view itself holds at most OVERVIEW_CAP).
    const big = S.n > OVERVIEW_CAP, limit = big ? 2 * OVERVIEW_CAP : S.n / 4;
    let wanted = viewBounds(1), idx = indicesIn(...wanted, limit);
    for (const margin of big ? [0.5, 0.25, 0] : []) {
      if (idx) break;
      wanted = viewBounds(margin); idx = indicesIn(...wanted, limit);
    }
    if (!idx && !S.drawnIdx) return left;
    S.drawnIdx = idx ? Uint32Array.from(idx) : null;
    S.drawnBox = idx ? wanted : null;
    S.drawnZoom = S.view.zoom;
    setPointData();
    return true;
  }
  function setPointData() {
    // A new data object makes deck.gl upload the arrays; the same object on a pan or zoom does not.
    const sub = S.drawnIdx;
    if (!sub) {
      S.pointData = {length: S.n, attributes: {getPosition: {value: S.xy, size: 2},
        getFillColor: {value: S.colours, size: 4, normalized: true}}};
      metrics.drawnPoints = S.overview ? 0 : S.n; // the overview draws an image, no point
      return;
    }
    const m = sub.length, xy = new Float32Array(2 * m), col = new Uint8Array(4 * m), src = S.colours;
    for (let k = 0; k < m; k++) {
      const i = sub[k];
      xy[2 * k] = S.xy[2 * i]; xy[2 * k + 1] = S.xy[2 * i + 1];
      col[4 * k] = src[4 * i]; col[4 * k + 1] = src[4 * i + 1]; col[4 * k + 2] = src[4 * i + 2]; col[4 * k + 3] = src[4 * i + 3];
    }
    S.pointData = {length: m, attributes: {getPosition: {value: xy, size: 2},
      getFillColor: {value: col, size: 4, normalized: true}}};
    metrics.drawnPoints = m;
  }

  // -- the overview: the points as one image, for views that hold more than OVERVIEW_CAP ----------
  // The image covers the view (plus OVERVIEW_MARGIN each side, cut to the data) at the canvas's own
  // resolution, its pixels on the canvas's pixel grid. Each point is a small antialiased disc of
  // the point layer's radius, blended in point order as the GPU blends the point layer (source
  // alpha over, premultiplied, 8 bits), so the image looks like the points drawn; hidden points
  // (alpha 0) are skipped. Hover, click, box and lasso never read pixels: they use the grid and the
  // server, as for the point layer.
  const SUB = 4; // a point's position within its pixel, in SUB x SUB steps
  function stamps(r) { // per sub-pixel position: pixel offsets and coverage (0-1) of a disc of radius r px
    const reach = Math.ceil(r + 0.5), found = [];
    const smooth = (e0, e1, x) => { const u = Math.min(1, Math.max(0, (x - e0) / (e1 - e0))); return u * u * (3 - 2 * u); };
    for (let q = 0; q < SUB * SUB; q++) {
      const fx = ((q % SUB) + 0.5) / SUB, fy = (Math.floor(q / SUB) + 0.5) / SUB, dx = [], dy = [], cover = [];
      for (let y = -reach; y <= reach; y++) {
        for (let x = -reach; x <= reach; x++) { // the point layer's antialiased edge (deck.gl's smoothedge)
          const w = 1 - smooth(r - 0.5, r + 0.5, Math.hypot(x + 0.5 - fx, y + 0.5 - fy));
          if (w > 0.002) { dx.push(x); dy.push(y); cover.push(w); }
        }
      }
      found.push({dx, dy, cover, m: dx.length});
    }
    return {found, reach};
  }
  function canvasPixels() { // deck.gl's viewport (the canvas's CSS size) and its drawing buffer
    const canvas = $('map-canvas'), dpr = window.devicePixelRatio || 1, box = canvas.getBoundingClientRect();
    const vw = canvas.clientWidth || 1, vh = canvas.clientHeight || 1;
    if (metrics.firstPaintMs) return {vw, vh, bw: canvas.width, bh: canvas.height}; // as the last frame drew
    // Before the first frame sizes it: the device-pixel box Chromium snaps the canvas to (what luma.gl reads).
    return {vw, vh, bw: Math.max(1, Math.round((box.left + box.width) * dpr) - Math.round(box.left * dpr)),
      bh: Math.max(1, Math.round((box.top + box.height) * dpr) - Math.round(box.top * dpr))};
  }
  function canvasKey() {
    const {vw, vh, bw, bh} = canvasPixels();
    return [vw, vh, bw, bh].join(',');
  }
  const rasterKey = () => [S.view.target[0], S.view.target[1], S.view.zoom, canvasKey()].join(',');
  function rasterise() {
    const t0 = performance.now(), {vw, vh, bw, bh} = canvasPixels();
    const [tx, ty] = S.view.target, scale = Math.pow(2, S.view.zoom); // CSS px per data unit
    // The image's pixels are the drawing buffer's, unless the image would pass OVERVIEW_MAX_PX a side.
    const k = Math.min(1, OVERVIEW_MAX_PX / ((1 + 2 * OVERVIEW_MARGIN) * Math.max(bw, bh)));
    const sx = scale * (bw / vw) * k, sy = scale * (bh / vh) * k, r = radius() * (bw / vw) * k;
    const left = tx - vw / 2 / scale, top = ty + vh / 2 / scale; // data coordinates of the canvas's top-left corner
    const [bx0, by0, bx1, by1] = S.bounds;
    const c0 = Math.max(Math.floor(-OVERVIEW_MARGIN * bw * k), Math.floor((bx0 - left) * sx - r - 1));
    const c1 = Math.min(Math.ceil((1 + OVERVIEW_MARGIN) * bw * k), Math.ceil((bx1 - left) * sx + r + 1));
    const r0 = Math.max(Math.floor(-OVERVIEW_MARGIN * bh * k), Math.floor((top - by1) * sy - r - 1));
    const r1 = Math.min(Math.ceil((1 + OVERVIEW_MARGIN) * bh * k), Math.ceil((top - by0) * sy + r + 1));
    S.rasterKey = rasterKey(); S.rasterCanvas = canvasKey();
    if (c1 <= c0 || r1 <= r0) { S.raster = null; return; }
    const w = c1 - c0, h = r1 - r0, image = new ImageData(w, h), d = image.data;
    const {found, reach} = stamps(r), INV = 1 / 255;
    for (const st of found) st.off = Int32Array.from(st.dx, (x, j) => 4 * (st.dy[j] * w + x)); // byte offsets in this image
    const xy = S.xy, col = S.colours, n = S.n;
    const ox = left * sx + c0, oy = top * sy - r0; // column = x * sx - ox, row = oy - y * sy
    for (let i = 0; i < n; i++) {
      const a = col[4 * i + 3];
      if (a === 0) continue;
      const fx = xy[2 * i] * sx - ox, fy = oy - xy[2 * i + 1] * sy, px = Math.floor(fx), py = Math.floor(fy);
      if (px < -reach || py < -reach || px >= w + reach || py >= h + reach) continue;
      const {dx, dy, off, cover, m} = found[Math.floor((fy - py) * SUB) * SUB + Math.floor((fx - px) * SUB)];
      const cr = col[4 * i], cg = col[4 * i + 1], cb = col[4 * i + 2], o0 = 4 * (py * w + px);
      const inner = px >= reach && py >= reach && px < w - reach && py < h - reach;
      for (let j = 0; j < m; j++) {
        if (!inner) {
          const x = px + dx[j], y = py + dy[j];
          if (x < 0 || y < 0 || x >= w || y >= h) continue;
        }
        const o = o0 + off[j], aw = a * cover[j], keep = 255 - aw;
        // Premultiplied "over", 8 bits a channel (Uint8ClampedArray rounds), as the GPU blends.
        d[o] = (d[o] * keep + cr * aw) * INV;
        d[o + 1] = (d[o + 1] * keep + cg * aw) * INV;
        d[o + 2] = (d[o + 2] * keep + cb * aw) * INV;
        d[o + 3] = d[o + 3] * keep * INV + aw;
      }
    }
    for (let o = 0; o < d.length; o += 4) { // ImageData is not premultiplied
      const a = d[o + 3];
      if (a && a < 255) { d[o] = (d[o] * 255) / a; d[o + 1] = (d[o + 1] * 255) / a; d[o + 2] = (d[o + 2] * 255) / a; }
    }
    S.raster = {image, bounds: [left + c0 / sx, top - r1 / sy, left + c1 / sx, top - r0 / sy]};
    metrics.overview = true;
    metrics.rasterMs = performance.now() - t0;
    metrics.rasterPx = [w, h];
  }

  // -- layers ---------------------------------------------------------------------------------
  function radius() {
    const base = S.n > 300000 ? 1.2 : S.n > 30000 ? 2 : 4;
    const zoom = S.view ? S.view.zoom : S.baseZoom;
    return Math.min(10, base * Math.pow(2, Math.max(0, zoom - S.baseZoom) * 0.5));
  }
  function layers() {
    if (S.overview) {
      // Nearest texels: the canvas's drawing buffer may be a fraction of a pixel off its CSS box, and
      // linear filtering would blur the 1:1 image; mipmaps still smooth it while zooming out.
      return S.raster ? [new BitmapLayer({id: 'overview', image: S.raster.image, bounds: S.raster.bounds,
        pickable: false, parameters: {depthTest: false},
        textureParameters: {minFilter: 'nearest', magFilter: 'nearest', mipmapFilter: 'linear'}})] : [];
    }
    const result = [new ScatterplotLayer({
      id: 'points', radiusUnits: 'pixels', getRadius: 1, radiusScale: radius(), stroked: false, data: S.pointData,
      parameters: {depthTest: false}, pickable: false,
    })];
    if (S.thumbs.length) {
      result.push(new IconLayer({
        id: 'thumbs', data: S.thumbs, pickable: false, sizeUnits: 'pixels', getSize: S.thumbSize,
        iconAtlas: S.thumbAtlas, iconMapping: S.thumbMapping, getIcon: (d) => d.id,
        getPosition: (d) => [S.xy[2 * d.i], S.xy[2 * d.i + 1]], parameters: {depthTest: false},
      }));
    }
    return result;
  }
  function redraw() {
    if (deckgl) deckgl.setProps({layers: layers()});
  }
  const nextRender = () => new Promise((resolve) => renderWaiters.push(resolve));
  // Draw now and read one pixel back: that waits until the GPU has drawn the frame (gl.finish does
  // not in Chromium, so a figure timed around it is only the time to queue the draw calls).
  function syncDraw(reason) {
    const t0 = performance.now();
    deckgl.redraw(reason);
    const gl = deckgl.device && deckgl.device.gl;
    if (gl) gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
    return performance.now() - t0;
  }

  // -- thumbnails of the visible points: one atlas per settled view ---------------------------
  // deck.gl's own icon loading packs each image into its atlas as it arrives (a texture copy, a
  // mipmap pass and a frame per image); here the page fetches the visible points' tiles (cached as
  // decoded bitmaps), draws them into one canvas and hands deck.gl that atlas: one upload, one frame.
  const tiles = new Map(); // image_id -> Promise<ImageBitmap | null>, least recently used first
  function tileBitmap(id) {
    let found = tiles.get(id);
    if (found) tiles.delete(id);
    else {
      found = fetch(`/map/tile/${id}`, {credentials: 'same-origin'})
        .then((r) => (r.ok ? r.blob().then((b) => createImageBitmap(b)) : null)).catch(() => null);
    }
    tiles.set(id, found);
    while (tiles.size > TILE_CACHE) {
      const [old, bitmap] = tiles.entries().next().value;
      tiles.delete(old);
      bitmap.then((b) => b && b.close());
    }
    return found;
  }
  let viewTimer = 0, thumbToken = 0;
  function onView() {
    clearTimeout(viewTimer);
    tooltip.hidden = true; hovered = -1;
    metrics.settled = false;
    viewTimer = setTimeout(async () => {
      writeHash();
      if (updateCull()) redraw();
      metrics.settled = true; // overview or points chosen for this view (the tests and the benchmark wait for it)
      const vp = deckgl.getViewports()[0];
      if (!vp) return;
      const token = ++thumbToken, t0 = performance.now();
      const [xa, ya] = vp.unproject([0, vp.height]), [xb, yb] = vp.unproject([vp.width, 0]);
      const cap = S.meta.thumb_cap;
      // Thumbnails once zoomed in past the whole-map view, and only while few enough points show.
      const found = S.view.zoom < S.baseZoom + 0.5 ? null : pointsIn(Math.min(xa, xb), Math.min(ya, yb), Math.max(xa, xb), Math.max(ya, yb), cap);
      if (!found || !found.length) {
        if (S.thumbs.length) { S.thumbs = []; redraw(); }
        return;
      }
      const missing = found.filter((i) => !S.idCache.has(i));
      if (missing.length) {
        const got = await getJSON(`/map/ids.json?idx=${missing.join(',')}`);
        missing.forEach((i, k) => S.idCache.set(i, got.ids[k]));
      }
      const items = found.map((i) => ({i, id: S.idCache.get(i)}));
      const bitmaps = await Promise.all(items.map((d) => tileBitmap(d.id)));
      if (token !== thumbToken) return; // the view moved on meanwhile
      const size = Math.max(28, Math.min(110, Math.sqrt((vp.width * vp.height) / found.length) * 0.7));
      const cell = Math.min(TILE, Math.ceil(size * (window.devicePixelRatio || 1)));
      const unique = [...new Set(items.filter((d, k) => bitmaps[k]).map((d) => d.id))];
      const byId = new Map(items.map((d, k) => [d.id, bitmaps[k]]));
      const cols = Math.max(1, Math.ceil(Math.sqrt(unique.length)));
      const atlas = document.createElement('canvas');
      atlas.width = cols * cell; atlas.height = Math.max(1, Math.ceil(unique.length / cols)) * cell;
      const ctx = atlas.getContext('2d'), mapping = {};
      unique.forEach((id, k) => {
        const x = (k % cols) * cell, y = Math.floor(k / cols) * cell;
        ctx.drawImage(byId.get(id), x, y, cell, cell);
        mapping[id] = {x, y, width: cell, height: cell, mask: false};
      });
      S.thumbs = items.filter((d) => d.id in mapping);
      S.thumbSize = size; S.thumbAtlas = atlas; S.thumbMapping = mapping;
      metrics.thumbnails = S.thumbs.length;
      redraw();
      await nextRender();
      if (token === thumbToken) metrics.thumbsMs = performance.now() - t0; // view settled -> frame issued
    }, 150);
  }

  // -- legend and colourings ------------------------------------------------------------------
  async function setColouring(key, keepHidden) {
    const t0 = performance.now();
    if (key !== 'probability' && !S.cats[key]) {
      const [cat, buf] = await Promise.all([getJSON(`/map/colour/${key}.json`), getBuffer(`/map/colour/${key}.bin`)]);
      S.cats[key] = cat; S.codes[key] = new Uint16Array(buf);
    }
    metrics.colourFetchMs = performance.now() - t0;
    S.colouring = key;
    if (!keepHidden) S.hidden.clear();
    $('map-colour').value = key;
    legend();
    const rendered = nextRender();
    recolour();
    // Draw now and wait for the GPU, so the figure is the redraw, not the frame pacing.
    metrics.drawMs = syncDraw('colour');
    metrics.redrawMs = performance.now() - t0;
    await rendered;
    metrics.presentedMs = performance.now() - t0;
    writeHash();
    return metrics.redrawMs;
  }
  function legend() {
    const list = $('map-legend');
    list.replaceChildren();
    if (S.colouring === 'probability') {
      const li = el('li');
      li.append(el('span', '', '0'), el('span', 'ramp'), el('span', '', '1'));
      list.append(li);
      return;
    }
    const cat = S.cats[S.colouring];
    cat.categories.forEach((c, k) => {
      const li = el('li', S.hidden.has(k) ? 'off' : '');
      const sw = el('span', 'swatch');
      sw.style.background = `rgb(${categoryColour(cat, k).join(',')})`; // CSSOM, allowed by the CSP
      li.dataset.code = String(k);
      li.title = 'click to hide or show';
      li.append(sw, el('span', 'name', c.label), el('span', 'count', c.count.toLocaleString()));
      li.addEventListener('click', () => {
        if (S.hidden.has(k)) S.hidden.delete(k); else S.hidden.add(k);
        li.classList.toggle('off');
        recolour(); writeHash();
      });
      list.append(li);
    });
  }

  // -- hover tooltip and click ----------------------------------------------------------------
  const tooltip = $('map-tooltip');
  let hovered = -1;
  const pointJSON = async (i) => {
    if (!S.pointCache.has(i)) {
      if (S.pointCache.size > 500) S.pointCache.clear();
      S.pointCache.set(i, getJSON(`/map/point/${i}.json`));
    }
    return S.pointCache.get(i);
  };
  function pick(event) {
    const vp = deckgl && deckgl.getViewports()[0];
    if (!vp || !grid) return -1;
    const rect = app.querySelector('#map-wrap').getBoundingClientRect();
    const px = event.clientX - rect.left, py = event.clientY - rect.top;
    const [x, y] = vp.unproject([px, py]), [x2] = vp.unproject([px + 8, py]);
    return nearest(x, y, Math.abs(x2 - x));
  }
  async function hover(event) {
    if (S.mode !== 'pan') return;
    const i = pick(event);
    const rect = $('map-wrap').getBoundingClientRect();
    if (i < 0) { tooltip.hidden = true; hovered = -1; return; }
    tooltip.style.left = `${Math.min(rect.width - 250, event.clientX - rect.left + 14)}px`;
    tooltip.style.top = `${Math.max(0, Math.min(rect.height - 330, event.clientY - rect.top + 14))}px`;
    if (i === hovered) return;
    hovered = i;
    const p = await pointJSON(i);
    if (hovered !== i) return;
    const img = el('img');
    img.src = `/thumb/${p.image_id}`;
    img.alt = '';
    const dl = el('div', 'meta');
    dl.append(el('strong', 'account', p.account || '(no account)'), el('span', '', ` · ${p.posted_at}`));
    tooltip.replaceChildren(img, dl, el('div', 'cluster', `${p.cluster_name} · p=${p.probability.toFixed(3)}`),
      el('div', 'caption', p.caption));
    tooltip.dataset.imageId = p.image_id;
    tooltip.hidden = false;
  }
  async function openPanel(imageId) {
    const panel = $('map-panel');
    const r = await fetch(`/map/panel/${imageId}`, {credentials: 'same-origin'});
    panel.replaceChildren();
    const img = el('img');
    img.src = `/thumb/${imageId}`;
    img.alt = '';
    const holder = el('div');
    holder.innerHTML = await r.text(); // server-rendered, autoescaped Jinja (the cluster pages' panel)
    panel.append(el('h2', '', 'Image'), img, holder);
    panel.hidden = false;
    if (window.htmx) window.htmx.process(holder);
    panel.scrollIntoView({block: 'nearest'});
  }

  // -- box and lasso --------------------------------------------------------------------------
  const wrap = $('map-wrap'), overlay = $('map-overlay'), shape = $('map-shape');
  let drawing = null;
  function setMode(mode) {
    S.mode = mode;
    document.querySelectorAll('.map-modes button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.mode === mode)));
    wrap.classList.toggle('drawing', mode !== 'pan');
    if (deckgl) deckgl.setProps({controller: mode === 'pan'});
    tooltip.hidden = true;
  }
  function local(event) {
    const rect = wrap.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }
  overlay.addEventListener('pointerdown', (event) => {
    if (S.mode === 'pan') return;
    overlay.setPointerCapture(event.pointerId);
    drawing = {start: local(event), points: [local(event)]};
  });
  overlay.addEventListener('pointermove', (event) => {
    if (!drawing) return;
    const p = local(event), last = drawing.points[drawing.points.length - 1];
    if (S.mode === 'box') {
      const [ax, ay] = drawing.start;
      drawing.points = [[ax, ay], [p[0], ay], p, [ax, p[1]]];
    } else if (Math.hypot(p[0] - last[0], p[1] - last[1]) > 3) {
      drawing.points.push(p);
    }
    shape.setAttribute('points', drawing.points.map((q) => q.join(',')).join(' '));
  });
  overlay.addEventListener('pointerup', async () => {
    if (!drawing) return;
    const screen = drawing.points;
    drawing = null;
    shape.setAttribute('points', '');
    if (screen.length < 3) return;
    const vp = deckgl.getViewports()[0];
    const polygon = screen.map((q) => vp.unproject(q).slice(0, 2));
    const r = await post('/map/selection', {polygon, colouring: S.colouring, hidden: [...S.hidden]});
    if (!r.ok) { status.textContent = `selection failed: ${r.status}`; return; }
    const made = await r.json();
    await loadSelection(made.id);
  });

  // -- selection panel ------------------------------------------------------------------------
  async function loadSelection(id) {
    const r = await fetch(`/map/selection/${encodeURIComponent(id)}.json`, {credentials: 'same-origin'});
    if (!r.ok) { // the server says why (another run or store, a changed run): as text, never as HTML
      status.textContent = new DOMParser().parseFromString(await r.text(), 'text/html').body.textContent;
      metrics.selectionError = status.textContent;
      return;
    }
    const summary = await r.json();
    const idx = new Uint32Array(await getBuffer(`/map/selection/${id}.bin`));
    S.selection = id; S.selIdx = idx;
    S.selMask = new Uint8Array(S.n);
    for (const i of idx) S.selMask[i] = 1;
    metrics.selection = summary;
    $('map-selection').hidden = false;
    $('map-selection-count').textContent = `${summary.n_posts.toLocaleString()} posts · ${summary.n_images.toLocaleString()} images`;
    $('map-export-csv').href = `/map/selection/${id}.csv`;
    $('map-export-parquet').href = `/map/selection/${id}.parquet`;
    $('map-code-status').textContent = '';
    const gridEl = $('map-grid');
    gridEl.replaceChildren();
    for (const item of summary.items) {
      const fig = el('figure');
      const img = el('img');
      img.src = `/thumb/${item.image_id}`; img.alt = ''; img.loading = 'lazy';
      fig.dataset.imageId = item.image_id;
      fig.title = item.caption;
      fig.append(img, el('figcaption', '', `${item.account} · ${item.cluster_name}`));
      fig.addEventListener('click', () => openPanel(item.image_id));
      gridEl.append(fig);
    }
    recolour(); writeHash();
  }
  function clearSelection() {
    S.selection = null; S.selMask = null; S.selIdx = null;
    $('map-selection').hidden = true;
    recolour(); writeHash();
  }
  async function codeSelection() {
    const code = $('map-code').value, out = $('map-code-status');
    if (!code) { out.textContent = 'add a code to the codebook first'; return; }
    const r = await post(`/map/selection/${S.selection}/code`, {code_id: Number(code)});
    const text = await r.text();
    if (!r.ok) { out.textContent = new DOMParser().parseFromString(text, 'text/html').body.textContent; return; }
    const done = JSON.parse(text);
    out.textContent = `coded ${done.coded} image(s)`;
    metrics.coded = done;
  }

  // -- search: by words (captions, hashtags, accounts, OCR text) or by meaning ------------------
  // "By meaning" asks the run's own image-text encoder (loaded by the server on first use) to rank
  // the images by similarity to the query; the best images' posts are highlighted (a tenth of the
  // map's posts, at most TOP_K images).
  const TOP_K = 100;
  const serverText = async (r) => new DOMParser().parseFromString(await r.text(), 'text/html').body.textContent;
  async function setSearchMode(mode) {
    const out = $('map-search-count'), select = $('map-search-mode');
    S.searchMode = mode;
    select.value = mode;
    if (mode !== 'meaning') { out.textContent = ''; return true; }
    out.textContent = 'loading the run\u2019s model\u2026';
    const r = await fetch('/map/similar/status.json', {credentials: 'same-origin'});
    const status = r.ok ? await r.json() : {available: false, message: await serverText(r)};
    metrics.similarStatus = status;
    if (!status.available) { // say why, and go back to words: plain search still works
      out.textContent = `search by meaning is not available: ${status.message}`;
      S.searchMode = 'words'; select.value = 'words';
      return false;
    }
    out.textContent = `by meaning, with ${status.model}`;
    return true;
  }
  async function search(q) {
    S.search = q;
    const out = $('map-search-count');
    if (!q) { S.searchMask = null; out.textContent = ''; recolour(); writeHash(); return; }
    const meaning = S.searchMode === 'meaning';
    const k = Math.min(TOP_K, Math.max(1, Math.ceil(S.n / 10)));
    const url = meaning ? `/map/similar.bin?k=${k}&q=${encodeURIComponent(q)}` : `/map/search.bin?q=${encodeURIComponent(q)}`;
    if (meaning) out.textContent = 'ranking\u2026';
    const r = await fetch(url, {credentials: 'same-origin'});
    if (!r.ok) { out.textContent = (await serverText(r)).slice(0, 300); return; }
    const hits = new Uint32Array(await r.arrayBuffer());
    S.searchMask = new Uint8Array(S.n);
    for (const i of hits) S.searchMask[i] = 1;
    metrics.searchHits = hits.length;
    metrics.searchPoints = Array.from(hits);
    out.textContent = meaning
      ? `the ${r.headers.get('x-images')} most similar images (${hits.length.toLocaleString()} posts)`
      : `${hits.length.toLocaleString()} match(es)`;
    recolour(); writeHash();
  }

  // -- the URL holds the view -----------------------------------------------------------------
  function readHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    const v = (p.get('v') || '').split(',').map(Number);
    return {c: p.get('c'), h: (p.get('h') || '').split(',').filter(Boolean).map(Number), s: p.get('s'),
      q: p.get('q') || '', m: p.get('m') || 'words', v: v.length === 3 && v.every(Number.isFinite) ? v : null};
  }
  function writeHash() {
    const p = new URLSearchParams();
    p.set('c', S.colouring);
    if (S.hidden.size) p.set('h', [...S.hidden].join(','));
    if (S.selection) p.set('s', S.selection);
    if (S.search) p.set('q', S.search);
    if (S.searchMode === 'meaning') p.set('m', 'meaning');
    if (S.view) p.set('v', [S.view.target[0], S.view.target[1], S.view.zoom].map((x) => +x.toFixed(4)).join(','));
    history.replaceState(null, '', `#${p}`);
  }

  // -- start ----------------------------------------------------------------------------------
  async function start() {
    const [meta, buf] = await Promise.all([getJSON('/map/meta.json'), getBuffer('/map/points.bin')]);
    metrics.pointsLoadedMs = performance.now();
    const n = meta.n;
    S.meta = meta; S.n = n; S.bounds = meta.bounds;
    S.xy = new Float32Array(buf, 0, 2 * n);
    S.prob = new Float32Array(buf, 8 * n, n);
    S.cats.cluster = meta.cluster;
    S.codes.cluster = new Uint16Array(buf, 12 * n, n);
    const select = $('map-colour');
    for (const c of meta.colourings) {
      const o = el('option', '', c.label);
      o.value = c.key;
      select.append(o);
    }
    const codeSel = $('map-code');
    for (const c of meta.codebook) {
      const o = el('option', '', c.name);
      o.value = String(c.id);
      codeSel.append(o);
    }
    const wanted = readHash();
    const [x0, y0, x1, y1] = S.bounds;
    const rect = wrap.getBoundingClientRect();
    S.baseZoom = Math.log2(0.92 * Math.min(rect.width / ((x1 - x0) || 1), rect.height / ((y1 - y0) || 1)));
    const initialViewState = {target: [(x0 + x1) / 2, (y0 + y1) / 2, 0], zoom: S.baseZoom,
      minZoom: S.baseZoom - 3, maxZoom: S.baseZoom + 16};
    if (wanted.v) Object.assign(initialViewState, {target: [wanted.v[0], wanted.v[1], 0], zoom: wanted.v[2]});
    S.view = initialViewState;
    buildGrid();
    recolourQuietly();
    updateCull(); // a link to a zoomed-in view draws only the points near it from the first frame
    let first = true;
    deckgl = new Deck({
      canvas: 'map-canvas', views: new OrthographicView({id: 'map', flipY: false}), initialViewState,
      controller: true, layers: layers(), useDevicePixels: true,
      onViewStateChange: ({viewState}) => { S.view = viewState; deckgl.setProps({layers: layers()}); onView(); return viewState; },
      onAfterRender: () => {
        if (first) {
          first = false;
          metrics.firstPaintMs = performance.now(); // the first frame's draw calls are issued
          status.textContent = `${n.toLocaleString()} posts`;
        }
        // The drawing buffer came out another size than the overview image was made for: make it again.
        if (S.overview && S.rasterCanvas !== canvasKey()) setTimeout(() => { if (updateCull()) redraw(); }, 0);
        const waiting = renderWaiters; renderWaiters = [];
        waiting.forEach((resolve) => resolve());
      },
      // Draw as soon as the WebGL2 device is ready rather than on the animation loop's next frame.
      onLoad: () => { deckgl.redraw('loaded'); },
      onError: (error) => { status.textContent = `map error: ${error.message}`; },
    });
    // Typed arrays live outside the JS heap: count them so the heap figure is not misread.
    metrics.arrayMB = [buf.byteLength, S.colours.byteLength, grid.start.byteLength, grid.order.byteLength]
      .reduce((a, b) => a + b, 0) / 1e6;
    const canvas = $('map-canvas');
    let down = null;
    let lastMove = null;
    canvas.addEventListener('pointermove', (e) => { // one hover lookup per frame, for the latest position
      if (!lastMove) requestAnimationFrame(() => { const m = lastMove; lastMove = null; hover(m); });
      lastMove = e;
    });
    canvas.addEventListener('pointerleave', () => { tooltip.hidden = true; hovered = -1; });
    canvas.addEventListener('pointerdown', (e) => { down = [e.clientX, e.clientY]; });
    canvas.addEventListener('pointerup', async (e) => {
      if (!down || Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 4 || S.mode !== 'pan') return;
      const i = pick(e);
      if (i >= 0) openPanel((await pointJSON(i)).image_id);
    });
    select.addEventListener('change', () => setColouring(select.value));
    document.querySelectorAll('.map-modes button').forEach((b) => b.addEventListener('click', () => setMode(b.dataset.mode)));
    $('map-search').addEventListener('submit', (e) => { e.preventDefault(); search(e.target.q.value.trim()); });
    $('map-search-mode').addEventListener('change', (e) => { setSearchMode(e.target.value).then(writeHash); });
    window.addEventListener('resize', onView); // a bigger window shows more: re-choose the points drawn
    $('map-clear').addEventListener('click', clearSelection);
    $('map-code-button').addEventListener('click', codeSelection);
    if (wanted.c && wanted.c !== 'cluster' && meta.colourings.some((c) => c.key === wanted.c)) await setColouring(wanted.c, true);
    wanted.h.forEach((k) => S.hidden.add(k));
    if (wanted.h.length) { legend(); recolour(); } else legend();
    if (wanted.m === 'meaning') await setSearchMode('meaning');
    if (wanted.q) { $('map-search').q.value = wanted.q; await search(wanted.q); }
    if (wanted.s) await loadSelection(wanted.s);
    onView();
    metrics.setColouring = setColouring;
    metrics.syncDraw = () => syncDraw('measure');
    metrics.project = (x, y) => { // data -> page coordinates (used by the browser tests)
      const [px, py] = deckgl.getViewports()[0].project([x, y]), rect = wrap.getBoundingClientRect();
      return [rect.left + px, rect.top + py];
    };
    metrics.zoomBy = (dz) => { // zoom about the centre, as the mouse wheel would
      const v = {...S.view, zoom: S.view.zoom + dz, transitionDuration: 0};
      S.view = v; deckgl.setProps({initialViewState: v, layers: layers()}); onView();
    };
    metrics.ready = true;
  }
  function recolourQuietly() { // the first colours, before the Deck exists
    const keep = deckgl; deckgl = null; recolour(); deckgl = keep;
  }

  start().catch((error) => { status.textContent = `the map could not load: ${error.message}`; metrics.error = String(error); });
})();
