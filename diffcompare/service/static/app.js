// The diffcompare page: live preview of the parse, the comparison table, the explanation and
// "check my answer". Plain JS, no build step, nothing from a CDN; state lives in the URL.
"use strict";

const $ = (id) => document.getElementById(id);
const FIELDS = ["expr", "at", "wrt", "order", "dtype", "lang", "formula"];
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
  head.textContent = `${what} refused (${status}): `;
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
  const { ok, status: code, data } = await post("/v1/parse", { expr: text });
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

function saveState() {
  const query = new URLSearchParams();
  for (const name of FIELDS) {
    const value = $(name).value;
    if (value && !(name === "order" && value === "1") && !(name === "dtype" && value === "float64")
        && !(name === "lang" && value === "en")) query.set(name, value);
  }
  history.replaceState(null, "", `${location.pathname}?${query}`);
}

function loadState() {
  const query = new URLSearchParams(location.search);
  for (const name of FIELDS) if (query.has(name)) $(name).value = query.get(name);
  return query.has("expr");
}

// -- compare ------------------------------------------------------------------------------

async function runCompare(event) {
  if (event) event.preventDefault();
  clearError();
  clearTimeout(previewTimer);
  preview();
  saveState();
  const body = { expr: $("expr").value, order: Number($("order").value) || 1, dtype: $("dtype").value };
  const wrt = $("wrt").value.trim();
  if (wrt) body.wrt = wrt.split(",").map((s) => s.trim());
  try {
    const points = parsePoints($("at").value);
    if (points.length) body.at = points;
  } catch (e) {
    showError({ message: e.message }, "page", "Points");
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
  if (!answer.ok) {
    $("result").hidden = true;
    showError(answer.data, answer.status, "Expression");
    return;
  }
  showReport(answer.data);
  $("explain").textContent = "Explaining…";
  $("dot").textContent = "";
  await runExplain(answer.data, body);
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

async function runExplain(report, request) {
  const point = {};
  const first = report.points[0];
  if (!first || report.order !== 1) {
    $("explain").textContent = "The step-by-step explanation covers first derivatives.";
    $("dot").textContent = "";
    return;
  }
  if (request.at) Object.assign(point, request.at[0]);
  else Object.assign(point, first.at);
  const base = { expr: report.expression, at: point, lang: $("lang").value };
  if (request.wrt) base.wrt = request.wrt;
  const [text, dot] = await Promise.all([
    post("/v1/explain", { ...base, format: "text" }),
    post("/v1/explain", { ...base, format: "dot" }),
  ]);
  $("explain").textContent = text.ok ? text.data.text : `No explanation: ${text.data.message}`;
  $("dot").textContent = dot.ok ? dot.data.text : "";
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
  if (loadState()) {
    preview();
    runCompare(null);
  }
  $("expr").focus();
});
