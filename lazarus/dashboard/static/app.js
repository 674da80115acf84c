/* Lazarus dashboard: polls /api/state and redraws. No framework, no network beyond this server. */
"use strict";

(function () {
  const COLORS = ["#2b6cb0", "#c05621", "#2f855a", "#9b2c2c", "#6b46c1", "#b7791f", "#2c7a7b", "#97266d"];
  let pollMs = 2000;
  let lastOk = null;

  // ---- small helpers -------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fill(tbody, rows, columns, emptyText) {
    tbody.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { class: "empty", colspan: columns, text: emptyText }))]));
  }

  function num(v, digits) {
    if (v === null || v === undefined) return "–";
    return Number(v).toLocaleString(undefined, { maximumFractionDigits: digits === undefined ? 0 : digits });
  }

  function metric(v) {
    if (v === null || v === undefined) return "–";
    return Math.abs(v) >= 100 ? num(v, 1) : Number(v).toFixed(4);
  }

  function signed(v) {
    if (v === null || v === undefined) return "–";
    return (v > 0 ? "+" : "") + Number(v).toFixed(4);
  }

  function duration(s) {
    if (s === null || s === undefined) return "–";
    s = Math.max(0, s);
    if (s < 60) return s < 10 ? s.toFixed(1) + " s" : Math.round(s) + " s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + " m " + Math.round(s % 60) + " s";
    const h = Math.floor(m / 60);
    if (h < 48) return h + " h " + (m % 60) + " m";
    return Math.floor(h / 24) + " d " + (h % 24) + " h";
  }

  function clock(epoch) {
    if (!epoch) return "–";
    return new Date(epoch * 1000).toLocaleTimeString([], { hour12: false });
  }

  function stamp(epoch) {
    if (!epoch) return "–";
    const d = new Date(epoch * 1000);
    return d.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + clock(epoch);
  }

  function stateClass(state) {
    if (state.startsWith("waiting")) return "state-waiting";
    return "state-" + state.replace(/[^a-z]/g, "");
  }

  // ---- charts --------------------------------------------------------------------------------

  const common = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
  };

  const lagChart = new Chart(document.getElementById("lag-chart"), {
    type: "line",
    data: { labels: [], datasets: [] },
    options: {
      ...common,
      interaction: { mode: "index", intersect: false },
      elements: { point: { radius: 0 }, line: { borderWidth: 2, tension: 0.2 } },
      scales: {
        x: { ticks: { maxTicksLimit: 8, maxRotation: 0 } },
        y: { beginAtZero: true, title: { display: true, text: "messages" } },
      },
    },
  });

  const throughputChart = new Chart(document.getElementById("throughput-chart"), {
    type: "bar",
    data: { labels: [], datasets: [{ label: "events/s", data: [], backgroundColor: COLORS[0] }] },
    options: {
      ...common,
      indexAxis: "y",
      plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, title: { display: true, text: "events/s" } } },
    },
  });

  const modelCharts = {};  // model -> its quality chart, kept across redraws (one per canvas)
  window.lazarusCharts = { lag: lagChart, throughput: throughputChart, models: modelCharts };

  // null when a sample is fresh, else how old it is ("37 s old"): lazarus/lag_text.py's rule.
  function staleness(sampledAt, state) {
    if (!sampledAt) return "no sample yet";
    const age = state.now - sampledAt;
    return age <= (state.stale_after_s || 5) ? null : duration(age) + " old";
  }

  function drawLag(lag, state) {
    const series = lag.series;
    lagChart.data.labels = series.at.map(clock);
    const names = Object.keys(series.groups);
    lagChart.data.datasets = names.map((name, i) => ({
      label: name,
      data: series.groups[name],
      borderColor: COLORS[i % COLORS.length],
      backgroundColor: COLORS[i % COLORS.length],
      spanGaps: true,
    }));
    lagChart.update();

    const rows = lag.groups.map((g) => {
      const known = g.lag !== null && g.lag !== undefined;
      const old = known ? staleness(g.sampled_at, state) : null;
      const lower = g.exact === false;  // a log end not read in time: the lag is a lower bound
      const unknownAge = known && (g.lag > 0 || lower) && (g.max_age_s === null || g.max_age_s === undefined);
      const note = [g.error, g.note].filter(Boolean).join(" · ");
      return el("tr", { "data-group": g.group, class: old ? "stale" : null },
        el("td", { text: g.group }),
        el("td", { class: "num lag", text: (lower ? "≥" : "") + num(g.lag) + (old ? " · " + old : "") }),
        el("td", { class: "num", text: unknownAge ? "age unknown" : duration(g.max_age_s) }),
        el("td", { class: g.error ? "bad" : "details", text: note }));
    });
    fill(document.querySelector("#lag-table tbody"), rows, 4, "no lag sample yet");
  }

  function drawThroughput(throughput) {
    throughputChart.data.labels = throughput.map((t) => t.role + (t.instances > 1 ? " ×" + t.instances : ""));
    throughputChart.data.datasets[0].data = throughput.map((t) => t.events_per_s === null ? 0 : Math.round(t.events_per_s * 10) / 10);
    throughputChart.data.datasets[0].backgroundColor = throughput.map((_, i) => COLORS[i % COLORS.length]);
    throughputChart.update();
  }

  // ---- tables --------------------------------------------------------------------------------

  function drawRoles(roles) {
    const rows = roles.map((r) => {
      const details = Object.entries(r.details)
        .filter(([k]) => k !== "metrics_url")
        .map(([k, v]) => k + " " + v).join(" · ");
      const metricsUrl = r.details.metrics_url;
      return el("tr", { "data-role": r.role, "data-instance": r.instance },
        el("td", { text: r.role }),
        el("td", { text: r.instance, title: "pid " + r.pid + " on " + r.host }),
        el("td", { class: stateClass(r.state), text: r.state }),
        el("td", { class: "num", text: num(r.events_per_s, 1) }),
        el("td", { class: "num", text: num(r.events) }),
        el("td", { class: "num model-version", text: r.model_version === null ? "–" : "v" + r.model_version }),
        el("td", { class: "num" + (r.dead_lettered ? " bad" : ""), text: num(r.dead_lettered) }),
        el("td", { class: "num", text: duration(r.beat_age_s) + " ago" }),
        el("td", { class: "details" }, details,
          metricsUrl ? el("span", {}, details ? " · " : "", el("a", { href: metricsUrl, text: "metrics" })) : null));
    });
    fill(document.querySelector("#roles tbody"), rows, 9, "no role is sending heartbeats");
  }

  function drawDeadLetters(deadLetters) {
    const rows = deadLetters.map((d) =>
      el("tr", { "data-role": d.role },
        el("td", { text: d.role }),
        el("td", { class: "num" + (d.dead_lettered ? " bad" : ""), text: num(d.dead_lettered) })));
    fill(document.querySelector("#dead-letters tbody"), rows, 2, "no role is sending heartbeats");
  }

  function fact(label, value, attrs) {
    return el("span", { class: "fact" }, el("span", { class: "label", text: label }),
      el("span", Object.assign({ class: "value", text: value }, attrs || {})));
  }

  const WORSE_BY = "served worse by: how much worse the served scores are than the trainer's own " +
    "predictions on the same events (the decoupling cost); positive when serving a snapshot loses, " +
    "for every metric (prequential − served where bigger is better, served − prequential where smaller is)";

  function servedOverall(q) {
    const metrics = Object.keys(q.served).filter((n) => q.served[n] !== null)
      .map((n) => n + " " + metric(q.served[n]) + " (worse by " + signed(q.served_worse_by[n]) + ")");
    return (metrics.length ? metrics.join(", ") : "–") + " over " + num(q.n) + " honest scores; " +
      num(q.learned_before_served + q.position_unknown) + " not judged";
  }

  // ---- a model's lifecycle (lazarus/lifecycle_view.py shapes it; the page only draws) ---------

  const HELD = "held: no automatic promotion until an operator promotes a line";  // lazarus/lifecycle_health.py
  const BETTER_BY = "how much better the challenger is than the champion (the baseline row: the " +
    "version served than the baseline), in the judged metric's unit, with its confidence interval";

  // 3 significant digits, as Python's "%.3g" (lazarus/lifecycle_text.py): 0.038, -0.01, +0.021
  function g3(v, withSign) {
    if (v === null || v === undefined) return "–";
    const x = parseFloat(Number(v).toPrecision(3));
    return (withSign && x >= 0 ? "+" : "") + String(x);
  }

  function betterBy(cmp) {
    if (!cmp || cmp.difference === null || cmp.difference === undefined) return "–";
    const level = cmp.confidence ? g3(cmp.confidence * 100) + "% " : "";
    return g3(cmp.difference, true) + " (" + level + "CI " + g3(cmp.low, true) + ".." + g3(cmp.high, true) + ")";
  }

  function judged(events, minEvents) {
    if (events === null || events === undefined) return "–";
    return minEvents ? num(events) + " of " + num(minEvents) : num(events);
  }

  function verdict(state, reason, prefix) {
    if (!state) return "not judged yet";
    return (prefix || "") + state + (reason ? ": " + reason : "");
  }

  function versionText(v) {
    return v === null || v === undefined ? "–" : "v" + v;
  }

  function ago(at, now) {
    return at ? stamp(at) + " (" + duration(now - at) + " ago)" : "–";
  }

  function lifecycleRow(line, as, version, judgedText, betterText, verdictText, state) {
    return el("tr", { "data-line": line, "data-as": as, class: state ? "verdict-" + state : null },
      el("td", { text: line }), el("td", { text: as }),
      el("td", { class: "num", text: versionText(version) }),
      el("td", { class: "num", text: judgedText }),
      el("td", { class: "num", text: betterText }),
      el("td", { class: "details", text: verdictText }));
  }

  function drawLifecycle(life, now) {
    const rows = [lifecycleRow(life.champion.line, "champion", life.champion.version, "", "", "serving")];
    for (const c of life.challengers) {
      rows.push(lifecycleRow(c.line, "challenger", c.version, judged(c.events, c.min_events),
        betterBy(c.comparison), verdict(c.state, c.reason), c.state));
    }
    const base = life.baseline, guard = life.guard;
    if (base || guard) {
      const g = guard || {};
      rows.push(lifecycleRow(base ? base.line : "–", "baseline", base ? base.version : null,
        guard ? judged(g.events, g.min_events) : "–", betterBy(g.comparison), verdict(g.state, g.reason, "guard "), g.state));
    }
    const table = el("table", { class: "lifecycle" },
      el("thead", {}, el("tr", {},
        el("th", { text: "line" }), el("th", { text: "as" }), el("th", { class: "num", text: "version" }),
        el("th", { class: "num", text: "judged", title: "honest paired events judged, of the policy's minimum" }),
        el("th", { class: "num", text: "better by", title: BETTER_BY }),
        el("th", { text: "verdict" }))),
      el("tbody", {}, ...rows));
    const drift = life.last_drift, action = life.last_action;
    return el("div", { class: "lifecycle" },
      el("h3", { text: "Lifecycle" + (life.metric ? " · judged by " + life.metric : "") +
        (life.judged_at ? " · " + duration(now - life.judged_at) + " ago" : " · not judged yet") }),
      el("div", { class: "scroll" }, table),
      life.challengers.length ? null : el("p", { class: "note no-challengers", text: "no challengers" }),
      life.held ? el("p", { class: "held bad", text: HELD }) : null,
      el("p", { class: "last-drift" }, el("span", { class: "label", text: "last drift: " }),
        drift ? ago(drift.at, now) + " on " + (drift.line || "?") + ": " + drift.summary + "; " + drift.did : "none yet"),
      el("p", { class: "last-action" }, el("span", { class: "label", text: "last automatic action: " }),
        action ? action.kind + " " + (action.line || "?") + (action.version === null ? "" : " v" + action.version) +
          ", " + ago(action.at, now) : "none yet"),
      action ? el("p", { class: "evidence details", text: "evidence: " + action.summary +
        (action.reason ? " · reason: " + action.reason : "") }) : null);
  }

  // ---- a model's quality over its versions, with the last drift and action marked ------------

  // Vertical lines at given x values (epoch s): options.plugins.lazarusMarkers.marks.
  const markersPlugin = {
    id: "lazarusMarkers",
    afterDatasetsDraw(chart, args, opts) {
      const { ctx, chartArea: area, scales } = chart;
      ((opts && opts.marks) || []).forEach((mark, i) => {
        const px = scales.x.getPixelForValue(mark.at);
        if (!(px >= area.left - 1 && px <= area.right + 1)) return;
        ctx.save();
        ctx.strokeStyle = ctx.fillStyle = mark.color;
        ctx.lineWidth = 2;
        ctx.setLineDash([5, 4]);
        ctx.beginPath(); ctx.moveTo(px, area.top); ctx.lineTo(px, area.bottom); ctx.stroke();
        ctx.font = "12px system-ui, sans-serif";
        const width = ctx.measureText(mark.label).width;
        // labels stack, so marks at nearly the same time stay readable
        ctx.fillText(mark.label, Math.max(area.left, Math.min(px + 4, area.right - width)), area.top + 12 + 14 * i);
        ctx.restore();
      });
    },
  };

  const MARK_COLORS = { drift: "#c0392b", promote: "#b7791f", rollback: "#6b46c1" };

  function qualitySeries(m, metricName) {
    const rolling = m.versions.some((v) => v.rolling[metricName] !== null && v.rolling[metricName] !== undefined);
    const points = (pick) => m.versions.filter((v) => v.created_at && pick(v) !== null && pick(v) !== undefined)
      .map((v) => ({ x: v.created_at, y: pick(v), version: v.version })).sort((a, b) => a.x - b.x);
    return [
      { label: m.model + (rolling ? " prequential (recent)" : " prequential"),
        data: points((v) => (rolling ? v.rolling : v.prequential)[metricName]) },
      { label: m.model + " served", data: points((v) => (v.served_n > 0 ? v.served[metricName] : null)) },
    ];
  }

  function qualityMarks(life) {
    const marks = [];
    if (life && life.last_drift && life.last_drift.at) {
      marks.push({ kind: "drift", at: life.last_drift.at, color: MARK_COLORS.drift,
        label: "drift (" + (life.last_drift.source || "?") + ")" });
    }
    if (life && life.last_action && life.last_action.at) {
      const kind = life.last_action.kind;
      marks.push({ kind: kind, at: life.last_action.at, color: MARK_COLORS[kind] || "#2c7a7b", label: kind });
    }
    return marks;
  }

  function drawQuality(m, models) {
    const life = m.lifecycle;
    const metricName = (life && life.metric && m.metrics.includes(life.metric)) ? life.metric : m.metrics[0];
    let entry = modelCharts[m.model];
    if (!entry) {
      const canvas = el("canvas", { "aria-label": "quality of " + m.model + " over its versions" });
      const box = el("div", { class: "chart quality-chart", "data-model": m.model }, canvas);
      const chart = new Chart(canvas, {
        type: "line",
        data: { datasets: [] },
        plugins: [markersPlugin],
        options: {
          ...common,
          parsing: false,
          elements: { point: { radius: 3 }, line: { borderWidth: 2, tension: 0 } },
          interaction: { mode: "nearest", intersect: false },
          scales: {
            x: { type: "linear", ticks: { maxTicksLimit: 6, maxRotation: 0, callback: (v) => clock(v) } },
            y: { title: { display: true, text: "" } },
          },
          plugins: { ...common.plugins, lazarusMarkers: { marks: [] },
            tooltip: { callbacks: { title: (items) => items.length ? "v" + items[0].raw.version + " · " + stamp(items[0].raw.x) : "" } } },
        },
      });
      entry = modelCharts[m.model] = { box, chart };
    }
    const lines = [m, ...models.filter((o) => o.line_of === m.model)];
    const datasets = lines.flatMap((line) => qualitySeries(line, metricName)).filter((d) => d.data.length);
    datasets.forEach((d, i) => Object.assign(d, { borderColor: COLORS[i % COLORS.length], backgroundColor: COLORS[i % COLORS.length] }));
    const marks = qualityMarks(life);
    const xs = [...datasets.flatMap((d) => d.data.map((p) => p.x)), ...marks.map((k) => k.at)];
    const chart = entry.chart;
    chart.data.datasets = datasets;
    chart.options.plugins.lazarusMarkers.marks = marks;
    const pad = xs.length ? Math.max(1, 0.05 * (Math.max(...xs) - Math.min(...xs))) : 0;
    chart.options.scales.x.min = xs.length ? Math.min(...xs) - pad : undefined;
    chart.options.scales.x.max = xs.length ? Math.max(...xs) + pad : undefined;
    chart.options.scales.y.title.text = metricName || "";
    chart.update();
    return entry.box;
  }

  function drawModel(m, state) {
    const head = el("div", { class: "model-head" },
      el("h2", { text: m.model }),
      fact("current", m.current ? "v" + m.current : "none", { "data-current": m.current || "" , class: "value current-version" }),
      fact("latest", m.latest ? "v" + m.latest : "none"),
      fact("pinned", m.pinned ? "v" + m.pinned + " (rolled back: publishes do not move current)" : "no"),
      fact("staleness", duration(m.staleness_s), { title: "age of the current version: " + stamp(m.created_at) }),
      fact("served by", m.served_by.length
        ? m.served_by.map((s) => (s.version === null ? "waiting" : "v" + s.version)).join(", ") + " (" + m.served_by.length + " scorer" + (m.served_by.length > 1 ? "s" : "") + ")"
        : "no scorer"),
      m.served_overall ? fact("served, all versions", servedOverall(m.served_overall),
        { class: "value served-overall", title: WORSE_BY }) : null,
      m.line_of ? fact("line of", m.line_of, { class: "value line-of" }) : null);

    const timeline = el("ol", { class: "timeline" }, ...m.timeline.map((t) =>
      el("li", { class: t.action },
        el("div", {}, el("strong", { text: t.action + " " + (t.line ? t.line + (t.version ? " v" + t.version : "") : "v" + t.version) }),
          t.previous ? " (from v" + t.previous + ")" : "", t.previous_line ? " (from " + t.previous_line + ")" : "",
          " by " + (t.actor || "?")),
        el("div", { class: "when", text: stamp(t.at) + (t.reason ? " — " + t.reason : "") }),
        t.evidence ? el("div", { class: "when evidence", text: "evidence: " + t.evidence }) : null)));

    const names = m.metrics;
    const groupRow = el("tr", { class: "group" },
      el("th", { colspan: 6 }),
      ...names.map((n) => el("th", { colspan: 4, class: "first-of-metric", text: n })));
    const headRow = el("tr", {},
      el("th", { text: "version" }), el("th", { text: "created" }), el("th", { class: "num", text: "learned" }),
      el("th", { class: "num", text: "scorers" }),
      el("th", { class: "num", text: "served n", title: "honest scores: served before this version had learned their event" }),
      el("th", { class: "num", text: "not judged", title: "scores of events this version had already learned, or of unknown position (an older trainer)" }),
      ...names.flatMap(() => [
        el("th", { class: "num first-of-metric", text: "prequential", title: "the trainer's test-then-train metric since the start" }),
        el("th", { class: "num", text: "served", title: "on the scores this version published" }),
        el("th", { class: "num", text: "preq. on served", title: "the trainer's prequential metric on exactly the served events" }),
        el("th", { class: "num", text: "worse by", title: WORSE_BY }),
      ]));
    const body = m.versions.map((v) => {
      const served = v.served_n > 0;
      return el("tr", { class: v.current ? "current" : "", "data-version": v.version },
        el("td", { class: "nowrap" }, "v" + v.version, v.current ? " ● current" : "", v.pinned ? " (pinned)" : "", v.stored ? "" : " (trimmed)"),
        el("td", { class: "nowrap", text: stamp(v.created_at) }),
        el("td", { class: "num", text: num(v.n_learned) }),
        el("td", { class: "num", text: num(v.scorers) }),
        el("td", { class: "num", text: served ? num(v.served_n) : "–" }),
        el("td", { class: "num not-judged", text: num(v.learned_before_served + v.position_unknown),
          title: num(v.learned_before_served) + " learned before served, " + num(v.position_unknown) + " of unknown position" }),
        ...names.flatMap((n) => [
          el("td", { class: "num first-of-metric", text: metric(v.prequential[n]) }),
          el("td", { class: "num", text: served ? metric(v.served[n]) : "–" }),
          el("td", { class: "num", text: served ? metric(v.served_prequential[n]) : "–" }),
          el("td", { class: "num", text: served ? signed(v.served_worse_by[n]) : "–" }),
        ]));
    });
    const table = el("table", { class: "versions" }, el("thead", {}, groupRow, headRow), el("tbody"));
    fill(table.querySelector("tbody"), body, 6 + 4 * names.length, "no stored version");

    return el("section", { class: "card", "data-model": m.model, id: "model-" + m.model },
      head,
      m.lifecycle ? drawLifecycle(m.lifecycle, state.now) : null,
      m.line_of ? null : el("h3", {}, "Quality over versions ",
        el("span", { class: "muted", text: "each version at its creation, its lines beside it; the last drift and automatic action marked" })),
      m.line_of ? null : drawQuality(m, state.models),
      el("h3", { text: "Versions" }),
      m.quality_note ? el("p", { class: "note quality-note", text: m.quality_note }) : null,
      el("div", { class: "scroll" }, table),
      el("h3", { text: "Timeline of current" }),
      m.timeline.length ? timeline : el("p", { class: "note", text: "no move of current recorded" }));
  }

  function drawModels(models, state) {
    const box = document.getElementById("models");
    if (!models.length) {
      box.replaceChildren(el("section", { class: "card" }, el("h2", { text: "Models" }),
        el("p", { class: "note", text: "no model has been published yet (is a trainer running?)" })));
      return;
    }
    box.replaceChildren(...models.map((m) => drawModel(m, state)));
    for (const name of Object.keys(modelCharts)) {  // a model no longer in the registry
      if (!models.some((m) => m.model === name)) { modelCharts[name].chart.destroy(); delete modelCharts[name]; }
    }
  }

  // ---- status --------------------------------------------------------------------------------

  function drawStatus(state, failure) {
    const pill = document.getElementById("status");
    const problems = document.getElementById("problems");
    const lines = [];
    if (failure) lines.push("the dashboard server does not answer: " + failure);
    if (state) {
      for (const [name, src] of Object.entries(state.sources)) {
        if (src.error) lines.push(name + ": " + src.error);
      }
    }
    problems.replaceChildren(...lines.map((t) => el("p", { text: t })));
    problems.hidden = lines.length === 0;
    // Never "live" over stale figures: a source whose last sample is too old says how old.
    const stale = state ? Object.entries(state.sources)
      .map(([name, src]) => [name, staleness(src.sampled_at, state)])
      .filter(([, old]) => old) : [];
    if (failure) {
      pill.className = "pill pill-bad";
      pill.textContent = "disconnected" + (lastOk ? " since " + clock(lastOk / 1000) : "");
    } else if (lines.length) {
      pill.className = "pill pill-warn";
      pill.textContent = "degraded · updated " + clock(state.now);
    } else if (stale.length) {
      pill.className = "pill pill-warn";
      pill.textContent = "stale · " + stale.map(([name, old]) => name + " " + old).join(", ");
    } else {
      pill.className = "pill pill-ok";
      pill.textContent = "live · updated " + clock(state.now);
    }
  }

  // ---- health at a glance (lazarus/health.py judges; the page only draws) ----------------------

  function drawHealth(health) {
    const box = document.getElementById("health");
    if (!health) return;
    box.className = "health health-" + health.state;
    box.dataset.state = health.state;
    const n = health.reasons.length;
    document.getElementById("health-state").textContent =
      "health: " + health.state + (n ? " · " + n + " reason" + (n > 1 ? "s" : "") : "");
    document.getElementById("health-reasons").replaceChildren(...health.reasons.map((r) =>
      el("li", { class: "reason reason-" + r.state, "data-code": r.code, text: r.text })));
  }

  // ---- the loop ------------------------------------------------------------------------------

  function draw(state) {
    window.lazarusState = state;
    document.getElementById("namespace").textContent =
      "Redis keys " + state.redis_key_prefix + ":* · topics " + (state.topic_prefix || "(no prefix)");
    document.getElementById("interval").textContent = state.interval;
    drawLag(state.lag, state);
    drawThroughput(state.throughput);
    drawRoles(state.roles);
    drawDeadLetters(state.dead_letters);
    drawModels(state.models, state);
    drawHealth(state.health);
    drawStatus(state, null);
  }

  async function poll() {
    try {
      const response = await fetch("/api/state", { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const state = await response.json();
      lastOk = Date.now();
      pollMs = Math.min(5000, Math.max(1000, state.interval * 1000));
      draw(state);
    } catch (err) {
      drawStatus(window.lazarusState || null, err.message || String(err));
    } finally {
      setTimeout(poll, pollMs);
    }
  }

  poll();
})();
