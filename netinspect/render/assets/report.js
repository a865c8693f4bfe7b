// netinspect report: reads the model from the JSON block above and draws the totals, a
// treemap of the parameters and the block tree. Plain browser JavaScript, no library, no
// network. Only textContent ever holds the model's text (names come from user specs).
// The tree is virtualized: only the rows in view exist in the DOM, so a model of 12,000
// layers opens as fast as one of 12.
(function () {
  "use strict";
  // How long each step took (ms), for the tests and the benchmark (bench/report_paint.py).
  var timings = window.netinspectTimings = {};
  var started = performance.now();
  var data = JSON.parse(document.getElementById("netinspect-data").textContent);
  timings.parse = performance.now() - started;
  // A row: [parent, depth, name, path, type, args, params, own, module, places, lazy,
  //         tied, shapes, flops]; see netinspect/render/html.py.
  var R = data.rows, n = R.length, ROW = 24;
  var P = 0, DEPTH = 1, NAME = 2, PATH = 3, TYPE = 4, ARGS = 5, PARAMS = 6, OWN = 7,
      MODULE = 8, PLACES = 9, LAZY = 10, TIED = 11, SHAPES = 12, FLOPS = 13;
  var total = data.total || 0;

  var children = [], byModule = {};
  for (var i = 0; i < n; i++) children.push([]);
  for (i = 0; i < n; i++) {
    if (R[i][P] >= 0) children[R[i][P]].push(i);
    (byModule[R[i][MODULE]] = byModule[R[i][MODULE]] || []).push(i);
  }
  // The treemap's area: own elements of the subtree (rows are depth first: children after
  // their parent, so one backward pass sums them).
  var area = new Float64Array(n);
  for (i = n - 1; i >= 0; i--) {
    area[i] += R[i][OWN];
    if (R[i][P] >= 0) area[R[i][P]] += area[i];
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function count(x) { return x.toLocaleString("en-US"); }
  function si(x) {
    if (x === null || x === undefined) return "";
    var units = ["", "K", "M", "G", "T", "P"], v = x, u = 0;
    while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
    return u ? v.toFixed(2) + " " + units[u] : String(x);
  }
  function share(x) {
    if (!total) return "";
    var s = x / total;
    return s > 0 && s < 0.001 ? "<0.1%" : (s * 100).toFixed(1) + "%";
  }

  // -- totals ------------------------------------------------------------------------------
  var totals = document.getElementById("totals");
  data.totals.forEach(function (kv) {
    var box = el("div", "total");
    box.appendChild(el("div", "k", kv[0]));
    box.appendChild(el("div", "v", kv[1]));
    totals.appendChild(box);
  });
  var notes = document.getElementById("notes");
  data.notes.forEach(function (note) { notes.appendChild(el("li", "", note)); });

  // -- highlighting: a row, the other places of its module, and the modules tied to it -----
  // data.ties: for each tensor known by several names, the rows of the modules holding it.
  var tiedTo = {};
  (data.ties || []).forEach(function (group) {
    group.forEach(function (i) { (tiedTo[i] = tiedTo[i] || []).push.apply(tiedTo[i], group); });
  });
  var hiRow = -1, hiOthers = {}, cellOf = {};
  function highlight(index) {
    hiRow = index;
    hiOthers = {};
    var places = [], tied = [];
    if (index >= 0) {
      places = byModule[R[index][MODULE]].filter(function (j) { return j !== index; });
      tied = (tiedTo[index] || []).filter(function (j) {
        return j !== index && places.indexOf(j) < 0;
      });
      places.concat(tied).forEach(function (j) { hiOthers[j] = true; });
    }
    document.querySelectorAll(".cell.hi, .cell.other").forEach(function (c) {
      c.classList.remove("hi", "other");
    });
    if (index >= 0 && cellOf[index]) cellOf[index].classList.add("hi");
    Object.keys(hiOthers).forEach(function (j) { if (cellOf[j]) cellOf[j].classList.add("other"); });
    paintHighlights();
    var status = document.getElementById("status");
    if (index < 0) { status.textContent = ""; return; }
    var r = R[index], text = (r[PATH] || r[NAME]) + ": " + r[TYPE] + ", " + count(r[PARAMS]) +
      " params (" + share(r[PARAMS]) + ")";
    function paths(rows) { return rows.map(function (j) { return R[j][PATH]; }).join(", "); }
    if (places.length) text += "; shared: also at " + paths(places);
    if (tied.length) text += "; a tensor tied with " + paths(tied);
    if (r[LAZY]) text += "; lazy layer";
    status.textContent = text;
  }
  function paintHighlights() {
    rowsBox.querySelectorAll(".row").forEach(function (e) {
      var j = +e.dataset.index;
      e.classList.toggle("hi", j === hiRow);
      e.classList.toggle("other", j !== hiRow && !!hiOthers[j]);
    });
  }

  // -- treemap (squarified: Bruls, Huizing and van Wijk, 2000) -----------------------------
  var MAX_CELLS = 3000, cells = 0;
  function worst(row, side, sum) {
    var max = 0, min = Infinity;
    row.forEach(function (a) { if (a > max) max = a; if (a < min) min = a; });
    var s2 = sum * sum, w2 = side * side;
    return Math.max(w2 * max / s2, s2 / (w2 * min));
  }
  function squarify(items, x, y, w, h) {  // items: [index, area in px]; returns rects
    var out = [], row = [], rowSum = 0;
    items = items.slice();
    function layRow() {
      var horizontal = w >= h, side = horizontal ? h : w, thick = rowSum / side, off = 0;
      row.forEach(function (it) {
        var len = it[1] / thick;
        out.push(horizontal ? [it[0], x, y + off, thick, len] : [it[0], x + off, y, len, thick]);
        off += len;
      });
      if (horizontal) { x += thick; w -= thick; } else { y += thick; h -= thick; }
      row = []; rowSum = 0;
    }
    while (items.length) {
      var it = items[0], side = Math.min(w, h);
      var areas = row.map(function (r) { return r[1]; });
      if (!row.length || worst(areas, side, rowSum) >= worst(areas.concat(it[1]), side, rowSum + it[1])) {
        row.push(it); rowSum += it[1]; items.shift();
      } else layRow();
    }
    if (row.length) layRow();
    return out;
  }
  // Level by level, and a level whole or not at all: where the cells run out, the deeper
  // levels are left out everywhere alike, not the blocks that happened to come last.
  function drawCells(box, index, x, y, w, h) {
    var level = [[index, x, y, w, h]], levels = 0;
    while (level.length && cells + level.length <= MAX_CELLS) {
      var next = [];
      level.forEach(function (at) { drawCell(box, at[0], at[1], at[2], at[3], at[4], next); });
      level = next;
      levels++;
    }
    document.getElementById("mapnote").textContent = level.length
      ? "The map shows " + levels + " levels: the next has " + count(level.length) +
        " modules, more than it can draw. The tree below has every one."
      : "";
  }
  function drawCell(box, index, x, y, w, h, queue) {
    if (w < 3 || h < 3) return;
    cells++;
    var r = R[index], c = el("div", "cell" + (r[LAZY] ? " lazy" : ""));
    c.style.cssText = "left:" + x + "px;top:" + y + "px;width:" + w + "px;height:" + h +
      "px;background:" + colour(r[DEPTH], r[MODULE]);
    c.dataset.index = index;
    if (w > 40 && h > 14) c.textContent = (r[NAME] || r[TYPE]) + " " + r[TYPE];
    c.title = (r[PATH] || r[NAME]) + ": " + r[TYPE] + ", " + count(area[index]) + " params";
    box.appendChild(c);
    cellOf[index] = c;
    var kids = children[index].filter(function (j) { return area[j] > 0; });
    var head = h > 30 && w > 40 ? 14 : 0, pad = 2;
    var iw = w - 2 * pad, ih = h - head - pad;
    if (!kids.length || iw < 3 || ih < 3) return;
    var scale = iw * ih / area[index];
    kids.sort(function (a, b) { return area[b] - area[a]; });
    squarify(kids.map(function (j) { return [j, area[j] * scale]; }), x + pad, y + head, iw, ih)
      .forEach(function (q) { queue.push(q); });
  }
  function colour(depth, module) {
    var hue = (210 + module * 47) % 360;
    return "hsl(" + hue + ", 55%, " + Math.min(88, 62 + depth * 6) + "%)";
  }
  function drawTreemap() {
    var box = document.getElementById("treemap");
    box.textContent = ""; cells = 0; cellOf = {};
    if (!n || area[0] <= 0) {
      box.appendChild(el("div", "cell", "no parameters with a shape to draw"));
      return;
    }
    // Drawn into a fragment, then added at once: one layout for thousands of cells.
    var cellsBox = document.createDocumentFragment();
    drawCells(cellsBox, 0, 0, 0, box.clientWidth, box.clientHeight);
    box.appendChild(cellsBox);
  }
  var treemap = document.getElementById("treemap");
  treemap.addEventListener("mouseover", function (e) {
    var c = e.target.closest(".cell");
    if (c && c.dataset.index) highlight(+c.dataset.index);
  });
  treemap.addEventListener("mouseleave", function () { highlight(-1); });
  treemap.addEventListener("click", function (e) {
    var c = e.target.closest(".cell");
    if (c && c.dataset.index) reveal(+c.dataset.index);
  });

  // -- the tree: collapsible, virtualized, searchable ---------------------------------------
  var expanded = new Uint8Array(n), shown = [], matches = null;
  for (i = 0; i < n; i++) if (R[i][DEPTH] < 2) expanded[i] = 1;
  var treeBox = document.getElementById("tree"), spacer = document.getElementById("spacer");
  var rowsBox = spacer;

  function computeShown() {
    shown = [];
    if (!n) return;
    var stack = [0];
    while (stack.length) {
      var j = stack.pop();
      if (matches && !matches[j]) continue;
      shown.push(j);
      if (expanded[j] || matches) {
        for (var k = children[j].length - 1; k >= 0; k--) stack.push(children[j][k]);
      }
    }
    spacer.style.height = shown.length * ROW + "px";
    document.getElementById("count").textContent = matches
      ? count(matchCount) + " of " + count(n) + " rows match"
      : count(shown.length) + " of " + count(n) + " rows shown";
  }
  function renderRows() {
    var top = treeBox.scrollTop, height = treeBox.clientHeight || 600;
    var first = Math.max(0, Math.floor(top / ROW) - 10);
    var last = Math.min(shown.length, Math.ceil((top + height) / ROW) + 10);
    rowsBox.textContent = "";
    for (var s = first; s < last; s++) rowsBox.appendChild(makeRow(shown[s], s));
    paintHighlights();
  }
  function makeRow(index, slot) {
    var r = R[index], row = el("div", "row grid");
    row.style.top = slot * ROW + "px";
    row.dataset.index = index;
    if (matches && matches[index] === 2) row.classList.add("match");
    var name = el("span", "name");
    name.style.paddingLeft = r[DEPTH] * 14 + "px";
    var toggle = el("span", "toggle", children[index].length ? (expanded[index] || matches ? "\u25be" : "\u25b8") : "");
    name.appendChild(toggle);
    name.appendChild(document.createTextNode(r[NAME]));
    if (r[PLACES] > 1) name.appendChild(el("span", "badge shared", "shared \u00d7" + r[PLACES]));
    if (r[LAZY]) name.appendChild(el("span", "badge lazy", "lazy"));
    if (r[TIED]) name.appendChild(el("span", "badge tied", "tied: " + r[TIED]));
    name.title = r[PATH] || r[NAME];
    row.appendChild(name);
    var type = el("span", "type", r[TYPE]);
    type.title = r[ARGS];
    row.appendChild(type);
    row.appendChild(el("span", "shapes", r[SHAPES]));
    row.appendChild(el("span", "num params", count(r[PARAMS])));
    row.appendChild(el("span", "num share", share(r[PARAMS])));
    row.appendChild(el("span", "num flops", si(r[FLOPS])));
    return row;
  }
  var pending = false;
  treeBox.addEventListener("scroll", function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; renderRows(); });
  });
  spacer.addEventListener("click", function (e) {
    var row = e.target.closest(".row");
    if (!row || !e.target.classList.contains("toggle")) return;
    var j = +row.dataset.index;
    if (!children[j].length || matches) return;
    expanded[j] = expanded[j] ? 0 : 1;
    computeShown(); renderRows();
  });
  spacer.addEventListener("mouseover", function (e) {
    var row = e.target.closest(".row");
    if (row) highlight(+row.dataset.index);
  });
  spacer.addEventListener("mouseleave", function () { highlight(-1); });

  function reveal(index) {  // expand its ancestors and scroll its row into the middle
    for (var j = R[index][P]; j >= 0; j = R[j][P]) expanded[j] = 1;
    computeShown();
    var slot = shown.indexOf(index);
    if (slot >= 0) treeBox.scrollTop = Math.max(0, slot * ROW - treeBox.clientHeight / 2);
    renderRows(); highlight(index);
  }
  function setAll(open) {
    var began = performance.now();
    for (var j = 0; j < n; j++) expanded[j] = open || R[j][DEPTH] < 1 ? 1 : 0;
    computeShown(); renderRows();
    timings.expand = performance.now() - began;
  }
  document.getElementById("expand").addEventListener("click", function () { setAll(true); });
  document.getElementById("collapse").addEventListener("click", function () { setAll(false); });

  // Search: rows whose name, path or type holds the text, with their ancestors to place them.
  var matchCount = 0, timer = 0;
  function search(text) {
    var began = performance.now();
    try { filter(text); } finally { timings.search = performance.now() - began; }
  }
  function filter(text) {
    text = text.trim().toLowerCase();
    if (!text) { matches = null; computeShown(); renderRows(); return; }
    matches = new Uint8Array(n); matchCount = 0;
    for (var j = 0; j < n; j++) {
      var r = R[j];
      if (r[NAME].toLowerCase().indexOf(text) >= 0 || r[PATH].toLowerCase().indexOf(text) >= 0 ||
          r[TYPE].toLowerCase().indexOf(text) >= 0) {
        matches[j] = 2; matchCount++;
        for (var a = r[P]; a >= 0 && !matches[a]; a = R[a][P]) matches[a] = 1;
      }
    }
    treeBox.scrollTop = 0;
    computeShown(); renderRows();
  }
  document.getElementById("search").addEventListener("input", function (e) {
    clearTimeout(timer);
    var text = e.target.value;
    timer = setTimeout(function () { search(text); }, 80);
  });

  var step = performance.now();
  computeShown();
  renderRows();
  timings.tree = performance.now() - step;
  step = performance.now();
  drawTreemap();
  timings.treemap = performance.now() - step;
  var resized = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resized);
    resized = setTimeout(function () { drawTreemap(); renderRows(); }, 100);
  });
  timings.total = performance.now() - started;
  // For tests and the benchmark: when the first full render is done.
  window.netinspectReady = performance.now();
  document.body.dataset.ready = "1";
})();
