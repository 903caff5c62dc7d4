// The diffcompare page: live preview of the parse, the comparison table, the explanation with
// its graph, a plot over a range and "check my answer". Plain JS, no build step, nothing from a
// CDN; state lives in the URL. Drawings (SVG, PNG) are shown as <img> data: URLs, so nothing
// inside them can run.
"use strict";

const $ = (id) => document.getElementById(id);
const ADVANCED = ["shape", "hessian", "jvp", "vjp", "samples", "fd", "range"];
const FIELDS = ["expr", "at", "wrt", "order", "dtype", "lang", "formula", ...ADVANCED];
const DEFAULTS = { order: "1", dtype: "float64", lang: "en", samples: "5", fd: "auto" };
const MATHML = "http://www.w3.org/1998/Math/MathML";
const LABELS = {
  symbolic: "symbolic (SymPy)",
  autograd: "autograd (reverse mode)",
  forward: "forward mode",
  finite_difference: "finite differences",
};

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    data = { message: `the server answered ${response.status} without JSON` };
  }
  return { ok: response.ok, status: response.status, data };
}

// "x=2,y=3; x=1,y=[1,2]" -> [{x: 2, y: 3}, {x: 1, y: [1, 2]}]; throws with a readable message.
function parsePoints(text) {
  const points = [];
  for (const chunk of text.split(";")) {
    if (!chunk.trim()) continue;
    const point = {};
    for (const item of splitTop(chunk)) {
      const eq = item.indexOf("=");
      if (eq < 1) throw new Error(`points: expected name=number, got "${item.trim()}"`);
      const name = item.slice(0, eq).trim();
      let value;
      try {
        value = JSON.parse(item.slice(eq + 1).trim());
      } catch (e) {
        throw new Error(`points: "${item.slice(eq + 1).trim()}" is not a number or [list]`);
      }
      point[name] = value;
    }
    points.push(point);
  }
  return points;
}

// "x=3,W=2x3" -> {x: [3], W: [2, 3]}
function parseShapes(text) {
  const shapes = {};
  for (const item of splitTop(text)) {
    const m = /^\s*([A-Za-z_]\w*)\s*=\s*(\d+(?:\s*x\s*\d+)*)\s*$/.exec(item);
    if (!m) throw new Error(`shapes: expected name=3 or name=2x3, got "${item.trim()}"`);
    shapes[m[1]] = m[2].split("x").map(Number);
  }
  return shapes;
}

// "1, 0, -2" -> [1, 0, -2]
function parseNumbers(label, text) {
  return text.split(",").map((item) => {
    const value = Number(item.trim());
    if (!item.trim() || !Number.isFinite(value)) throw new Error(`${label}: "${item.trim()}" is not a number`);
    return value;
  });
}

// "-1:5" (or "x=-1:5") -> [-1, 5]
function parseRange(text) {
  const parts = text.replace(/^\s*[A-Za-z_]\w*\s*=/, "").split(":").map((p) => Number(p.trim()));
  if (parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[0] < parts[1])) {
    throw new Error(`plot range: expected low:high with low < high, e.g. -3:3, got "${text.trim()}"`);
  }
  return parts;
}

// The compare request the form describes; throws with a readable message.
function compareRequest() {
  const body = { expr: $("expr").value, order: Number($("order").value) || 1, dtype: $("dtype").value };
  const wrt = $("wrt").value.trim();
  if (wrt) body.wrt = wrt.split(",").map((s) => s.trim());
  const points = parsePoints($("at").value);
  if (points.length) body.at = points;
  if ($("shape").value.trim()) body.shapes = parseShapes($("shape").value);
  if ($("hessian").checked) body.hessian = true;
  if ($("jvp").value.trim()) body.jvp = parseNumbers("JVP direction", $("jvp").value);
  if ($("vjp").value.trim()) body.vjp = parseNumbers("VJP cotangent", $("vjp").value);
  const samples = Number($("samples").value);
  if (!Number.isInteger(samples) || samples < 1 || samples > 1000) {
    throw new Error("samples: a whole number from 1 to 1000");
  }
  if (samples !== 5) body.samples = samples;
  if ($("fd").value !== "auto") body.fd = $("fd").value;
  if ($("range").value.trim()) parseRange($("range").value); // refuse a bad range up front
  return body;
}

function splitTop(text) {
  const parts = [];
  let depth = 0, start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "[") depth++;
    else if (c === "]") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.filter((p) => p.trim());
}

function showError(data, status, what) {
  const box = $("error");
  box.hidden = false;
  box.textContent = "";
  const head = document.createElement("strong");
  head.textContent = status ? `${what} refused (${status}): ` : `${what} refused: `;
  box.append(head, document.createTextNode(data.message || "unknown error"));
  if (data.column && what === "Expression") {
    const text = $("expr").value;
    const pre = document.createElement("pre");
    pre.textContent = `${text}\n${" ".repeat(Math.max(0, data.column - 1))}^`;
    box.append(pre);
  }
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

function fmt(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toPrecision(6);
  return String(value);
}

// -- live preview -------------------------------------------------------------------------

let previewTimer = null;
let previewSeq = 0;

function schedulePreview() {
  clearTimeout(previewTimer);
  $("preview").classList.add("stale"); // what is shown is of an older text until the answer
  previewTimer = setTimeout(preview, 250);
}

async function preview() {
  const text = $("expr").value;
  const seq = ++previewSeq;
  const math = $("preview-math"), status = $("preview-status");
  if (!text.trim()) {
    $("preview").classList.remove("stale");
    math.textContent = "";
    status.textContent = "";
    return;
  }
  const request = { expr: text };
  try {
    if ($("shape").value.trim()) request.shapes = parseShapes($("shape").value);
  } catch (e) {
    // the shapes box says so when the form is sent; preview as scalars meanwhile
  }
  const { ok, status: code, data } = await post("/v1/parse", request);
  if (seq !== previewSeq) return; // a newer keystroke won
  $("preview").classList.remove("stale");
  if (ok) {
    // MathML from SymPy's printer, built from the parsed expression (names are [A-Za-z0-9_]).
    math.innerHTML = `<math xmlns="${MATHML}" display="block">${data.mathml}</math>`;
    status.textContent = `read as ${data.parsed} · variables: ${data.variables.join(", ") || "none"}`;
    status.className = "muted";
  } else {
    math.textContent = "";
    status.textContent = `${data.message || "refused"} (${code})`;
    status.className = "bad";
  }
}

// -- state in the URL ---------------------------------------------------------------------

function fieldValue(name) {
  const box = $(name);
  return box.type === "checkbox" ? (box.checked ? "1" : "") : box.value;
}

function saveState() {
  const query = new URLSearchParams();
  for (const name of FIELDS) {
    const value = fieldValue(name);
    if (value && value !== DEFAULTS[name]) query.set(name, value);
  }
  history.replaceState(null, "", `${location.pathname}?${query}`);
}

function loadState() {
  const query = new URLSearchParams(location.search);
  for (const name of FIELDS) {
    if (!query.has(name)) continue;
    if ($(name).type === "checkbox") $(name).checked = query.get(name) === "1";
    else $(name).value = query.get(name);
  }
  if (ADVANCED.some((name) => query.has(name))) $("more").open = true;
  return query.has("expr");
}

// -- compare ------------------------------------------------------------------------------

let compareSeq = 0; // answers to an older comparison are dropped

async function runCompare(event) {
  if (event) event.preventDefault();
  clearError();
  clearTimeout(previewTimer);
  preview();
  saveState();
  const seq = ++compareSeq;
  let body;
  try {
    body = compareRequest();
  } catch (e) {
    showError({ message: e.message }, null, "Options");
    return;
  }
  $("compare").disabled = true;
  $("compare").textContent = "Comparing…";
  let answer;
  try {
    answer = await post("/v1/compare", body);
  } finally {
    $("compare").disabled = false;
    $("compare").textContent = "Compare";
  }
  if (seq !== compareSeq) return;
  if (!answer.ok) {
    $("result").hidden = true;
    const what = answer.data.error === "parse" ? "Expression" : "Comparison";
    showError(answer.data, answer.status, what);
    return;
  }
  showReport(answer.data);
  $("explain").textContent = "Explaining…";
  $("dot").textContent = "";
  $("graph-block").hidden = true;
  $("plot-section").hidden = true;
  await Promise.all([runExplain(answer.data, body, seq), runPlot(answer.data, body, seq)]);
}

function showReport(report) {
  $("result").hidden = false;
  const verdict = $("verdict");
  verdict.textContent = `Verdict: ${report.verdict}`;
  verdict.className = `verdict ${report.verdict}`;
  const counts = Object.entries(report.counts).filter(([, n]) => n).map(([v, n]) => `${n} ${v}`);
  $("summary").textContent =
    `${report.kind} of ${report.parsed} by ${report.wrt.join(", ")} (${report.dtype}, ` +
    `finite differences: ${report.fd_scheme}) at ${report.points.length} point(s): ${counts.join(", ")}.`;
  $("derivative").textContent = Object.entries(report.derivative)
    .map(([entry, formula]) => `∂/∂${entry}: ${formula}`).join("\n");
  const body = $("table").tBodies[0];
  body.textContent = "";
  for (const point of report.points) {
    const at = Object.entries(point.at).map(([n, v]) => `${n}=${fmt(v)}`).join(", ");
    const rows = [["reference", { value: point.reference }], ...Object.entries(point.methods)];
    rows.forEach(([name, m], i) => {
      const tr = body.insertRow();
      if (i === 0) {
        const th = document.createElement("th");
        th.scope = "rowgroup";
        th.rowSpan = rows.length;
        th.textContent = `${at}\n${point.verdict}`;
        th.className = `verdict-cell ${point.verdict}`;
        tr.append(th);
      }
      const label = name === "reference" ? "reference (50 digits)" : (LABELS[name] || name);
      const cells = [label, entries(m.value), entries(m.abs_error), entries(m.bound)];
      for (const text of cells) tr.insertCell().textContent = text;
      const okCell = tr.insertCell();
      if (name !== "reference") {
        okCell.textContent = m.ok ? "✓ yes" : `✗ ${m.status}`;
        okCell.className = m.ok ? "good" : "bad";
      }
      tr.insertCell().textContent = name === "reference" ? (point.reason || "") : (m.note || "");
    });
  }
}

function entries(values) {
  if (!values) return "";
  const items = Object.entries(values);
  if (items.length === 1) return fmt(items[0][1]);
  return items.map(([k, v]) => `${k}: ${fmt(v)}`).join("\n");
}

async function runExplain(report, request, seq) {
  const first = report.points[0];
  if (!first || report.order !== 1 || request.hessian || request.jvp || request.vjp) {
    $("explain").textContent = "The step-by-step explanation covers gradients (first derivatives).";
    return;
  }
  const point = { ...(request.at ? request.at[0] : first.at) };
  const base = { expr: report.expression, at: point, lang: $("lang").value };
  if (request.wrt) base.wrt = request.wrt;
  if (request.shapes) base.shapes = request.shapes;
  const [text, svg] = await Promise.all([
    post("/v1/explain", { ...base, format: "text" }),
    post("/v1/explain", { ...base, format: "svg" }),
  ]);
  if (seq !== compareSeq) return;
  $("explain").textContent = text.ok ? text.data.text : `No explanation: ${text.data.message}`;
  if (svg.ok) {
    $("graph").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg.data.text)}`;
    $("graph").hidden = false;
    $("graph-caption").textContent = "Drawn by Graphviz; inputs at the bottom, the output at the top.";
    $("graph-block").hidden = false;
    $("dot").textContent = svg.data.dot;
    return;
  }
  // No Graphviz on the server (503), or no graph: the DOT source is still worth showing.
  const dot = await post("/v1/explain", { ...base, format: "dot" });
  if (seq !== compareSeq) return;
  $("dot").textContent = dot.ok ? dot.data.text : "";
  $("graph").removeAttribute("src");
  $("graph").hidden = true;
  $("graph-caption").textContent = `No drawing (${svg.status}): ${svg.data.message}`;
  $("graph-block").hidden = false;
}

// The range to plot: the "Plot range" box, else the points' span widened by 3 each side.
function plotRange(report, name) {
  if ($("range").value.trim()) return parseRange($("range").value);
  const xs = report.points.map((p) => p.at[name]).filter(Number.isFinite);
  if (!xs.length) return [-3, 3];
  const lo = Math.min(...xs), hi = Math.max(...xs);
  const pad = Math.max(3, (hi - lo) / 4);
  return [lo - pad, hi + pad];
}

async function runPlot(report, request, seq) {
  // The sweep's figure is of a first derivative in one scalar variable.
  if (report.variables.length !== 1 || request.shapes || report.order !== 1 || request.hessian
      || request.jvp || request.vjp) return;
  const name = report.variables[0];
  const [lo, hi] = plotRange(report, name);
  const body = { expr: report.expression, domain: { [name]: [lo, hi] }, dtype: report.dtype, format: "png" };
  if (request.fd) body.fd = request.fd;
  $("plot-section").hidden = false;
  $("plot").hidden = true;
  $("plot-status").className = "muted";
  $("plot-status").textContent = `Drawing ${name} from ${fmt(lo)} to ${fmt(hi)}…`;
  const { ok, status, data } = await post("/v1/plot", body);
  if (seq !== compareSeq) return;
  if (!ok) {
    $("plot-status").className = "bad";
    $("plot-status").textContent = `No plot (${status}): ${data.message}`;
    return;
  }
  const counts = Object.entries(data.counts).filter(([, n]) => n).map(([v, n]) => `${n} ${v}`);
  $("plot-status").textContent = `${data.points} points of ${name} from ${fmt(lo)} to ${fmt(hi)}: ` +
    `${data.verdict} (${counts.join(", ")} at the points judged against the reference).`;
  $("plot").src = `data:${data.media_type};base64,${data.image}`;
  $("plot").hidden = false;
}

// -- check my answer ----------------------------------------------------------------------

async function runCheck(event) {
  event.preventDefault();
  saveState();
  const out = $("check-result");
  const body = { expr: $("expr").value, formula: $("formula").value };
  const wrt = $("wrt").value.trim();
  if (wrt) body.wrt = wrt;
  out.className = "";
  out.textContent = "Checking…";
  const { ok, status, data } = await post("/v1/check", body);
  if (!ok) {
    out.textContent = `Refused (${status}): ${data.message}`;
    out.className = "bad";
    return;
  }
  const mark = { correct: "✓ Correct", incorrect: "✗ Not the derivative", undetermined: "? Undetermined" };
  out.textContent = `${mark[data.verdict]} — ${data.message}. SymPy's derivative: ${data.derivative}`;
  out.className = data.verdict === "correct" ? "good" : "bad";
}

document.addEventListener("DOMContentLoaded", () => {
  $("expr").addEventListener("input", schedulePreview);
  $("compare-form").addEventListener("submit", runCompare);
  $("check-form").addEventListener("submit", runCheck);
  for (const id of ["graph", "plot"]) {
    const zoom = () => $(id).classList.toggle("full");
    $(id).addEventListener("click", zoom);
    $(id).addEventListener("keydown", (e) => { if (e.key === "Enter") zoom(); });
  }
  if (loadState()) {
    preview();
    runCompare(null);
  }
  $("expr").focus();
});
