// The query editor: CodeMirror when it loaded (a plain textarea otherwise),
// Ctrl+Enter to run, results with entity links and labels, errors at their
// position, a permalink (#query=…), and CSV/JSON downloads. Needs static/links.js.
(function () {
  "use strict";
  const BASE = "https://w3id.org/hos-kg/";
  const textarea = document.getElementById("query");
  const form = document.getElementById("editor-form");
  const status = document.getElementById("status");
  const results = document.getElementById("results");
  const asserted = document.getElementById("asserted");
  const lang = document.documentElement.lang || "en";
  let cm = null;
  if (window.CodeMirror) {
    cm = window.CodeMirror.fromTextArea(textarea, {
      mode: "application/sparql-query", lineNumbers: true, viewportMargin: Infinity,
      extraKeys: { "Ctrl-Enter": run, "Cmd-Enter": run },
    });
  } else {
    textarea.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "Enter") { e.preventDefault(); run(); }
    });
  }
  const getText = () => (cm ? cm.getValue() : textarea.value);
  const setText = (t) => (cm ? cm.setValue(t) : (textarea.value = t));

  const names = JSON.parse(document.getElementById("example-names").textContent);
  const texts = JSON.parse(document.getElementById("example-texts").textContent);
  document.getElementById("examples").addEventListener("change", (e) => {
    const i = names.indexOf(e.target.value);
    if (i >= 0) setText(texts[i].split("\n").filter((l) => !l.startsWith("#+")).join("\n").trim());
  });

  function localPath(iri) {
    if (iri.startsWith(BASE + "id/")) return "/id/" + iri.slice(BASE.length + 3);
    if (iri.startsWith(BASE + "ontology#")) return "/ontology/" + iri.slice(BASE.length + 9);
    return iri;
  }
  function params() {
    const p = new URLSearchParams({ query: getText() });
    if (asserted.checked) p.set("infer", "false");
    return p;
  }
  function updateLinks() {
    const p = params();
    document.getElementById("permalink").href = "#" + p.toString();
    for (const fmt of ["csv", "json"]) {
      const q = new URLSearchParams(p); q.set("format", fmt);
      document.getElementById("download-" + fmt).href = "/sparql?" + q.toString();
    }
  }
  let marked = null;
  function showError(message) {
    status.textContent = message;
    status.className = "error";
    const m = /line (\d+), column (\d+)/.exec(message);
    if (m && cm) {
      marked = cm.addLineClass(Number(m[1]) - 1, "background", "error-line");
      cm.setCursor({ line: Number(m[1]) - 1, ch: Math.max(0, Number(m[2]) - 1) });
    }
  }
  async function labels(iris) {
    if (!iris.length) return {};
    const values = iris.slice(0, 200).map((i) => "<" + i + ">").join(" ");
    const q = `SELECT ?x ?l WHERE { VALUES ?x { ${values} } ?x rdfs:label ?l FILTER(LANGMATCHES(LANG(?l), "${lang}")) }`;
    const r = await fetch("/sparql", { method: "POST", body: new URLSearchParams({ query: q }),
      headers: { Accept: "application/sparql-results+json" } });
    const out = {};
    if (r.ok) for (const b of (await r.json()).results.bindings) out[b.x.value] = b.l.value;
    return out;
  }
  function cell(term, names) {
    const td = document.createElement("td");
    if (!term) return td;
    if (term.type === "uri") {
      const href = localPath(term.value);
      // javascript:, data: and other IRIs are shown, not linked (static/links.js).
      const el = document.createElement(window.kgLinks.linkable(href) ? "a" : "span");
      if (el.tagName === "A") el.href = href;
      el.textContent = names[term.value] || term.value;
      el.title = term.value;
      td.appendChild(el);
    } else {
      td.textContent = term.value;
      if (term["xml:lang"]) td.lang = term["xml:lang"];
    }
    return td;
  }
  async function run() {
    if (marked && cm) { cm.removeLineClass(marked, "background", "error-line"); marked = null; }
    updateLinks();
    history.replaceState(null, "", "#" + params().toString());
    status.textContent = "…";
    status.className = "";
    results.replaceChildren();
    const r = await fetch("/sparql", { method: "POST", body: params(),
      headers: { Accept: "application/sparql-results+json, text/turtle;q=0.9" } });
    if (!r.ok) { showError((await r.json()).error); return; }
    if (!(r.headers.get("Content-Type") || "").includes("json")) {
      const pre = document.createElement("pre"); pre.textContent = await r.text(); results.appendChild(pre);
      status.textContent = ""; return;
    }
    const data = await r.json();
    if ("boolean" in data) { status.textContent = String(data.boolean); return; }
    const vars = data.head.vars;
    const rows = data.results.bindings;
    const iris = [...new Set(rows.flatMap((b) => vars.map((v) => b[v]).filter((t) => t && t.type === "uri").map((t) => t.value)))];
    const names = await labels(iris);
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    for (const v of vars) { const th = document.createElement("th"); th.scope = "col"; th.textContent = v; head.appendChild(th); }
    const body = table.createTBody();
    for (const b of rows) { const tr = body.insertRow(); for (const v of vars) tr.appendChild(cell(b[v], names)); }
    results.appendChild(table);
    const cut = r.headers.get("X-Result-Truncated") ? " (cut at the row limit)" : "";
    status.textContent = rows.length + " row(s)" + cut;
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  asserted.addEventListener("change", updateLinks);
  if (location.hash.length > 1) {
    const p = new URLSearchParams(location.hash.slice(1));
    if (p.get("query")) { setText(p.get("query")); asserted.checked = p.get("infer") === "false"; run(); }
  }
  updateLinks();
})();
