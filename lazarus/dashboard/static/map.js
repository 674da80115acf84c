/* Lazarus dashboard: the site map. Polls /api/sites and draws, per model whose inputs carry a
   location, one dot per site over the vendored world outline (static/vendor/world-110m.json,
   Natural Earth via world-atlas), coloured by the site's latest served score. No network beyond
   this server. */
"use strict";

(function () {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const RAMP = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]; // viridis, low to high
  const CLASS_COLORS = ["#2b6cb0", "#c05621", "#2f855a", "#9b2c2c", "#6b46c1", "#b7791f", "#2c7a7b", "#97266d"];
  const UNSCORED = "#a0aab4";
  const DOT_PX = 5;
  const UNITS = 10; // map units per degree: x = (lon + 180) * 10, y = (90 - lat) * 10
  const TOP = 60, BOTTOM = 1500; // 84° N to 60° S unless a site is further out
  let pollMs = 2000;
  let world = null;
  const maps = new Map(); // model -> {box, svg, land, borders, layer, dots, legend, summary, info}

  // ---- small helpers -------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, String(v));
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return node;
  }

  function clock(epoch) {
    return epoch ? new Date(epoch * 1000).toLocaleTimeString([], { hour12: false }) : "–";
  }

  function stamp(epoch) {
    if (!epoch) return "–";
    const d = new Date(epoch * 1000);
    return d.toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" }) + " " + clock(epoch);
  }

  function ago(seconds) {
    const s = Math.max(0, seconds);
    if (s < 60) return Math.round(s) + " s ago";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 172800) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " d ago";
  }

  // A JSON class as the scores' probabilities key it (Python's str): true -> "True".
  function classText(v) {
    if (v === true) return "True";
    if (v === false) return "False";
    return v === null || v === undefined ? "–" : String(v);
  }

  function project(lat, lon) {
    return [(lon + 180) * UNITS, (90 - lat) * UNITS];
  }

  // ---- colours -------------------------------------------------------------------------------

  function ramp(t) {
    const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
    const i = Math.min(RAMP.length - 2, Math.floor(x));
    const [a, b] = [RAMP[i], RAMP[i + 1]].map((h) => [1, 3, 5].map((j) => parseInt(h.slice(j, j + 2), 16)));
    const f = x - i;
    return "rgb(" + a.map((c, j) => Math.round(c + (b[j] - c) * f)).join(",") + ")";
  }

  function colourOf(scale, site) {
    if (site.model_version === null) return UNSCORED;
    if (scale.kind === "class") {
      const i = scale.classes.indexOf(classText(site.prediction));
      return i < 0 ? UNSCORED : CLASS_COLORS[i % CLASS_COLORS.length];
    }
    if (site.score === null) return UNSCORED;
    const span = scale.max - scale.min;
    return ramp(span > 0 ? (site.score - scale.min) / span : 0.5);
  }

  function scoreText(scale, s) {
    if (s.model_version === null) return "no score yet";
    const predicted = "predicted " + classText(s.prediction);
    if (scale.kind === "probability") {
      return (s.score === null ? scale.label + " –" : scale.label + " " + s.score.toFixed(3)) + " · " + predicted;
    }
    if (scale.kind === "class" && s.score !== null) return predicted + " (p " + s.score.toFixed(3) + ")";
    return predicted;
  }

  function titleOf(scale, s, now) {
    const lines = [s.site, scoreText(scale, s)];
    if (s.model_version !== null) {
      lines.push("model v" + s.model_version + " · scored " + stamp(s.scored_at) + " (" + ago(now - s.scored_at) + ")");
    }
    lines.push("lat " + s.lat.toFixed(4) + ", lon " + s.lon.toFixed(4) + " · last reading " + stamp(s.seen_at));
    return lines.join("\n");
  }

  // ---- one model's map -----------------------------------------------------------------------

  function graticule() {
    const parts = [];
    for (let lon = -150; lon <= 150; lon += 30) parts.push("M" + (lon + 180) * UNITS + ",0V" + 180 * UNITS);
    for (let lat = -60; lat <= 60; lat += 30) parts.push("M0," + (90 - lat) * UNITS + "H" + 360 * UNITS);
    return parts.join("");
  }

  function mapOf(model) {
    let m = maps.get(model);
    if (m) return m;
    const map = svg("svg", { class: "world", viewBox: `0 ${TOP} ${360 * UNITS} ${BOTTOM - TOP}`, role: "img",
      "aria-label": "map of the sites of " + model, preserveAspectRatio: "xMidYMid meet" });
    const land = svg("path", { class: "land", d: world ? world.land : "" });
    const borders = svg("path", { class: "borders", d: world ? world.borders : "" });
    const layer = svg("g", { class: "sites" });
    map.append(svg("rect", { class: "sea", x: 0, y: 0, width: 360 * UNITS, height: 180 * UNITS }),
      svg("path", { class: "graticule", d: graticule() }), land, borders, layer);
    const summary = el("span", { class: "muted summary" });
    const legend = el("div", { class: "legend" });
    const info = el("div", { class: "site-info muted", text: "point at a site for its score" });
    const box = el("div", { class: "site-map", "data-model": model },
      el("h3", {}, model + " ", summary), map, legend, info);
    map.addEventListener("mouseover", (e) => {
      const t = e.target.closest && e.target.closest("circle.site");
      if (t) info.textContent = t.querySelector("title").textContent.replace(/\n/g, " · ");
    });
    m = { box, svg: map, land, borders, layer, dots: new Map(), legend, summary, info };
    maps.set(model, m);
    return m;
  }

  function drawDots(m, model, now) {
    const r = DOT_PX * (360 * UNITS) / (m.svg.clientWidth || 1200);
    const seen = new Set();
    let top = TOP, bottom = BOTTOM;
    for (const s of model.sites) {
      seen.add(s.site);
      let dot = m.dots.get(s.site);
      if (!dot) {
        dot = svg("circle", { class: "site", "data-site": s.site });
        dot.append(svg("title"));
        m.dots.set(s.site, dot);
        m.layer.append(dot);
      }
      const [x, y] = project(s.lat, s.lon);
      top = Math.min(top, y - 4 * r);
      bottom = Math.max(bottom, y + 4 * r);
      dot.setAttribute("cx", x.toFixed(1));
      dot.setAttribute("cy", y.toFixed(1));
      dot.setAttribute("r", r.toFixed(1));
      dot.setAttribute("fill", colourOf(model.scale, s));
      dot.setAttribute("class", s.model_version === null ? "site unscored" : "site scored");
      dot.setAttribute("data-score", s.score === null ? "" : s.score);
      dot.setAttribute("data-version", s.model_version === null ? "" : s.model_version);
      dot.firstChild.textContent = titleOf(model.scale, s, now);
    }
    for (const [site, dot] of m.dots) {
      if (!seen.has(site)) { dot.remove(); m.dots.delete(site); }
    }
    top = Math.max(0, top); bottom = Math.min(180 * UNITS, bottom);
    m.svg.setAttribute("viewBox", `0 ${top.toFixed(0)} ${360 * UNITS} ${(bottom - top).toFixed(0)}`);
  }

  function drawLegend(m, scale) {
    const items = [];
    if (scale.kind === "class") {
      scale.classes.forEach((c, i) => items.push(el("span", {},
        el("span", { class: "swatch", style: "background:" + CLASS_COLORS[i % CLASS_COLORS.length] }), c)));
    } else if (scale.min !== null && scale.max !== null) {
      const fmt = (v) => scale.kind === "probability" ? v.toFixed(1) : Number(v).toPrecision(3);
      items.push(el("span", { class: "scale-label", text: scale.label }),
        el("span", { text: fmt(scale.min) }),
        el("span", { class: "ramp", style: "background:linear-gradient(to right," + RAMP.join(",") + ")" }),
        el("span", { text: fmt(scale.max) }));
    } else {
      items.push(el("span", { class: "scale-label", text: scale.label }));
    }
    items.push(el("span", {}, el("span", { class: "swatch", style: "background:" + UNSCORED }), "no score yet"));
    m.legend.replaceChildren(...items);
  }

  function versions(sites) {
    const counts = new Map();
    for (const s of sites) if (s.model_version !== null) counts.set(s.model_version, (counts.get(s.model_version) || 0) + 1);
    return [...counts].sort((a, b) => b[0] - a[0]).map(([v, n]) => "v" + v + (counts.size > 1 ? " ×" + n : ""));
  }

  function drawModel(model, now) {
    const m = mapOf(model.model);
    const served = versions(model.sites);
    m.summary.textContent = model.sites.length + " site" + (model.sites.length === 1 ? "" : "s") +
      " · " + model.scored + " scored" + (served.length ? " by " + served.join(", ") : "") +
      (model.unplaced ? " · " + model.unplaced + " scored with no location seen yet" : "");
    drawDots(m, model, now);
    drawLegend(m, model.scale);
    return m.box;
  }

  // ---- the page section ----------------------------------------------------------------------

  function draw(data) {
    window.lazarusSites = data;
    const now = data.now || Date.now() / 1000;
    const parts = [];
    if (data.error) parts.push(el("p", { class: "note bad sites-error", text: "site map: " + data.error }));
    const mappable = data.models.filter((m) => m.mappable);
    for (const model of mappable) {
      parts.push(model.sites.length ? drawModel(model, now) : el("p", { class: "note", "data-model": model.model,
        text: model.model + ": " + model.note }));
    }
    for (const model of data.models.filter((m) => !m.mappable)) {
      parts.push(el("p", { class: "note no-map", "data-model": model.model, text: model.model + ": " + model.note }));
    }
    if (!data.models.length) parts.push(el("p", { class: "note", text: "no model to map" }));
    const box = document.getElementById("site-maps");
    // Keep the nodes that stay (a redraw must not reset the map a person is pointing at).
    if (parts.length !== box.childNodes.length || parts.some((p, i) => p !== box.childNodes[i])) {
      box.replaceChildren(...parts);
    }
  }

  async function loadWorld() {
    try {
      const response = await fetch("/static/vendor/world-110m.json");
      if (!response.ok) throw new Error("HTTP " + response.status);
      world = await response.json();
      for (const m of maps.values()) {
        m.land.setAttribute("d", world.land);
        m.borders.setAttribute("d", world.borders);
      }
    } catch (err) {
      console.warn("site map: no world outline:", err);
    }
  }

  async function poll() {
    try {
      const response = await fetch("/api/sites", { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const data = await response.json();
      pollMs = Math.min(5000, Math.max(1000, (data.interval || 2) * 1000));
      draw(data);
    } catch (err) {
      // The status pill (app.js) already says when the server does not answer.
    } finally {
      setTimeout(poll, pollMs);
    }
  }

  loadWorld().then(poll);
})();
