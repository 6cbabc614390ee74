/* dispatchwise supervisor board. Plain JS, no build step; charts by the vendored uPlot.
 *
 * Live state comes from the service's JSON endpoints (/v1/queues, /v1/agents, /v1/alerts, /v1/kpis),
 * refreshed on every event of the SSE stream /dashboard/events (= /v1/events behind a session cookie opened
 * by POST /dashboard/session, because EventSource cannot send headers) and polled every 2 s whenever the stream is not open. Forecast, coverage,
 * shifts and simulation come from /dashboard/panels/<name>: today's published plan (with each agent's adherence
 * on the shifts) or, when nothing is published, the files the demo writes, labelled with their own date. Scorecards, targets and
 * overdue improvement-plan actions come from /v1/scorecards, /v1/targets, /v1/plans and /v1/plans/alerts,
 * refreshed every 10 s and shortly after every task event.
 */
(function () {
  "use strict";

  var STORAGE_KEY = "dispatchwise.key";
  var QUADRANTS = [
    // row-major under the axes: columns urgent | not urgent, rows important | not important
    { q: "Q1", title: "Do now", sub: "urgent · important" },
    { q: "Q2", title: "Schedule", sub: "not urgent · important" },
    { q: "Q3", title: "Delegate", sub: "urgent · not important" },
    { q: "Q4", title: "Defer", sub: "not urgent · not important" },
  ];
  var PANEL_NODES = { forecast_today: "forecast", coverage_today: "coverage", shifts_today: "gantt", simulation: "simulation" };
  // Shown when /v1/kpis carries no targets of its own (a "targets" object with the same shape).
  var DEFAULT_TARGETS = { service_level: { min: 0.8 }, asa_s: { max: 60 }, abandonment: { max: 0.05 },
    occupancy: { min: 0.75, max: 0.85 } };

  var state = { key: null, es: null, sseOpen: false, lastLive: 0, lastSlow: 0, refreshTimer: null,
    panels: {}, sources: {}, charts: {}, alerts: [], tz: null, inflight: false, pending: false,
    lastPerf: 0, perfInflight: false, perfPending: false, perfTimer: null, openCards: {} };

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function empty(node, text) { clear(node).appendChild(el("div", "empty", text || "no data yet")); }
  function num(v) { var n = Number(v); return v === null || v === undefined || v === "" || isNaN(n) ? null : n; }
  function pct(v) { return v === null ? "—" : (v * 100).toFixed(1) + " %"; }
  function secs(v) { return v === null ? "—" : v < 100 ? v.toFixed(1) + " s" : Math.round(v) + " s"; }
  function age(seconds) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) return "—";
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) return seconds + "s";
    var m = Math.floor(seconds / 60), s = seconds % 60;
    if (m < 60) return m + "m " + (s < 10 ? "0" : "") + s + "s";
    return Math.floor(m / 60) + "h " + (m % 60) + "m";
  }
  function clockText(date, tz, withSeconds) {
    var opts = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: tz || undefined };
    if (withSeconds !== false) opts.second = "2-digit";
    try { return date.toLocaleTimeString("en-GB", opts); } catch (e) { return date.toISOString().slice(11, 19); }
  }

  // ---- auth -------------------------------------------------------------------------------
  function storedKey() { return sessionStorage.getItem(STORAGE_KEY) || localStorage.getItem(STORAGE_KEY); }
  function storeKey(key, remember) {
    sessionStorage.setItem(STORAGE_KEY, key);
    if (remember) localStorage.setItem(STORAGE_KEY, key); else localStorage.removeItem(STORAGE_KEY);
  }
  function forgetKey() { sessionStorage.removeItem(STORAGE_KEY); localStorage.removeItem(STORAGE_KEY); }

  function api(path, key) {
    return fetch(path, { headers: { Authorization: "Bearer " + (key || state.key), Accept: "application/json" },
      cache: "no-store" }).then(function (resp) {
      if (resp.status === 401 || resp.status === 403) {
        var err = new Error(resp.status === 401 ? "the key was not accepted" : "this key is not a supervisor key");
        err.auth = true;
        throw err;
      }
      if (!resp.ok) {
        return resp.json().catch(function () { return {}; }).then(function (body) {
          throw new Error(path + ": " + (body.detail || body.message || resp.status + " " + resp.statusText));
        });
      }
      return resp.json();
    });
  }

  function showLogin(message) {
    stopLive();
    state.key = null;
    $("board").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("login-key").value = "";
    $("login-key").focus();
  }

  function signIn(key, remember) {
    $("login-error").textContent = "";
    $("login-submit").disabled = true;
    // The dashboard's own panel endpoint needs the supervisor role, so it is the check.
    return api("/dashboard/panels/simulation", key).then(function () {
      storeKey(key, remember);
      state.key = key;
      $("login").hidden = true;
      $("board").hidden = false;
      startLive();
    }).catch(function (err) {
      if (err.auth) forgetKey();
      $("login-error").textContent = "Sign-in failed: " + err.message;
    }).finally(function () { $("login-submit").disabled = false; });
  }

  // ---- view models of the service's JSON ----------------------------------------------------
  function listOf(body, names) {
    if (Array.isArray(body)) return body;
    for (var i = 0; i < names.length; i++) if (body && Array.isArray(body[names[i]])) return body[names[i]];
    return [];
  }

  // /v1/queues: [{skill, depth, by_quadrant: {Q1..Q4: n}, oldest_age_s, overdue, predicted_breach, ...}]
  function queueBoard(body) {
    var quads = { Q1: 0, Q2: 0, Q3: 0, Q4: 0 }, perQuadSkills = { Q1: {}, Q2: {}, Q3: {}, Q4: {} };
    var skills = listOf(body, ["skills"]).map(function (r) {
      var q = {};
      ["Q1", "Q2", "Q3", "Q4"].forEach(function (name) {
        q[name] = num((r.by_quadrant || {})[name]) || 0;
        quads[name] += q[name];
        if (q[name]) perQuadSkills[name][r.skill] = q[name];
      });
      return { skill: r.skill, depth: num(r.depth) || 0, q: q, oldest: num(r.oldest_age_s), overdue: num(r.overdue),
        breach: num(r.predicted_breach) };
    });
    var total = skills.reduce(function (a, s) { return a + s.depth; }, 0);
    return { total: total, quads: quads, perQuadSkills: perQuadSkills, skills: skills };
  }

  // One tile per KPI of /v1/kpis; a target is {min} or {max} or a {min, max} band.
  function kpiView(body) {
    var k = body || {}, targets = k.targets || {};
    function target(name) { return targets[name] || DEFAULT_TARGETS[name]; }
    return [
      { id: "service_level", label: "Service level", value: num(k.service_level), target: target("service_level"), fmt: pct },
      { id: "asa_s", label: "Average speed of answer", value: num(k.asa_s), target: target("asa_s"), fmt: secs },
      { id: "abandonment", label: "Abandonment", value: num(k.abandonment_rate), target: target("abandonment"), fmt: pct },
      { id: "occupancy", label: "Occupancy", value: num(k.occupancy), target: target("occupancy"), fmt: pct },
    ];
  }

  function targetText(t, fmt) {
    if (t.min !== undefined && t.max !== undefined) return fmt(t.min) + " – " + fmt(t.max);
    return t.min !== undefined ? "≥ " + fmt(t.min) : "≤ " + fmt(t.max);
  }

  function renderKpis(body, label) {
    var box = clear($("kpis"));
    kpiView(body).forEach(function (k) {
      var t = k.target;
      var met = k.value === null ? null : (t.min === undefined || k.value >= t.min) && (t.max === undefined || k.value <= t.max);
      var tile = el("div", "kpi" + (met === true ? " met" : met === false ? " missed" : ""));
      tile.dataset.kpi = k.id;
      tile.appendChild(el("div", "label", k.label));
      tile.appendChild(el("div", "value", k.fmt(k.value)));
      var tgt = el("div", "target", "target " + targetText(t, k.fmt));
      if (met !== null) tgt.appendChild(el("span", "verdict", met ? "✓ met" : "✗ missed"));
      tile.appendChild(tgt);
      box.appendChild(tile);
    });
    var counts = body && num(body.tasks) !== null ? " · " + body.tasks + " tasks, " + (body.answered || 0) + " answered" : "";
    $("kpi-window").textContent = (label || "") + counts;
  }

  function renderQueues(body) {
    var board = queueBoard(body);
    $("queue-total").textContent = String(board.total);
    var matrix = clear($("matrix"));
    QUADRANTS.forEach(function (def) {
      var cell = el("div", "quad " + def.q);
      cell.dataset.quadrant = def.q;
      var head = el("div", "head");
      head.appendChild(el("b", null, def.q + " · " + def.title));
      head.appendChild(el("span", null, def.sub));
      cell.appendChild(head);
      cell.appendChild(el("div", "count", board.quads[def.q]));
      var chips = el("div", "chips");
      Object.keys(board.perQuadSkills[def.q]).sort().forEach(function (skill) {
        chips.appendChild(el("span", "chip", skill + " " + board.perQuadSkills[def.q][skill]));
      });
      cell.appendChild(chips);
      matrix.appendChild(cell);
    });
    var skills = clear($("skills"));
    board.skills.forEach(function (s) {
      var card = el("div", "skill" + (s.breach || s.overdue ? " breach" : ""));
      card.dataset.skill = s.skill;
      var depth = el("b", null, s.depth);
      depth.dataset.testid = "skill-depth";
      card.appendChild(depth);
      card.appendChild(document.createTextNode(s.skill));
      var meta = [];
      if (s.oldest !== null) meta.push("oldest " + age(s.oldest));
      if (s.overdue) meta.push(s.overdue + " overdue");
      if (s.breach) meta.push(s.breach + " predicted breach" + (s.breach === 1 ? "" : "es"));
      if (meta.length) card.appendChild(el("div", "muted", meta.join(" · ")));
      var bar = el("div", "bar4");
      ["Q1", "Q2", "Q3", "Q4"].forEach(function (q) {
        if (!s.q[q] || !s.depth) return;
        var part = el("span", q);
        part.style.width = (100 * s.q[q] / s.depth) + "%";
        part.title = q + ": " + s.q[q];
        bar.appendChild(part);
      });
      card.appendChild(bar);
      skills.appendChild(card);
    });
  }

  function renderAgents(body) {
    var agents = listOf(body, ["agents", "items"]);
    var box = clear($("agents"));
    if (!agents.length) { empty(box, "no agents registered"); $("agent-summary").textContent = ""; return; }
    var order = { busy: 0, available: 1 };
    agents = agents.slice().sort(function (a, b) {
      var oa = order[a.status] !== undefined ? order[a.status] : 2, ob = order[b.status] !== undefined ? order[b.status] : 2;
      return oa - ob || String(a.name || a.id).localeCompare(String(b.name || b.id));
    });
    var counts = {};
    agents.forEach(function (a) {
      var active = num(a.active_tasks) || 0, cap = num(a.capacity) || 1;
      var status = a.status || "offline";
      if (status === "available" && active > 0) status = "busy";
      counts[status] = (counts[status] || 0) + 1;
      var card = el("div", "agent");
      var top = el("div", "top");
      top.appendChild(el("span", "name", a.name || a.id));
      top.appendChild(el("span", "status " + status, status));
      card.appendChild(top);
      var load = el("div", "load"), fill = el("span", active >= cap ? "full" : "");
      fill.style.width = Math.min(100, 100 * (num(a.load) !== null ? num(a.load) : active / cap)) + "%";
      load.appendChild(fill);
      card.appendChild(load);
      var tasks = a.tasks || [];
      card.appendChild(el("div", "tasks", active + "/" + cap + (tasks.length ? " · " + tasks.join(", ") : " · no tasks")));
      box.appendChild(card);
    });
    $("agent-summary").textContent = Object.keys(counts).sort().map(function (k) { return counts[k] + " " + k; }).join(" · ");
  }

  function renderAlerts(body) {
    var since = startOfToday().getTime();
    state.alerts = listOf(body, ["alerts", "items"]).filter(function (a) {
      var raised = a.raised_at ? Date.parse(a.raised_at) : NaN;
      return isNaN(raised) || raised >= since;
    });
    drawAlerts();
  }

  function drawAlerts() {
    var box = clear($("alerts"));
    $("alert-count").textContent = String(state.alerts.length);
    if (!state.alerts.length) { empty(box, "no SLA alerts today"); return; }
    var now = Date.now();
    state.alerts.forEach(function (a) {
      var level = a.level || "alert";
      var row = el("div", "alert-row " + level);
      row.appendChild(el("div", "sev " + level));
      var mid = el("div");
      var what = el("div", "what");
      what.appendChild(el("span", "level " + level, level));
      what.appendChild(document.createTextNode(" " + (a.kind ? a.kind + " SLA" : "SLA") + " · task " + (a.task_id || "?") +
        (a.skill ? " · " + a.skill : "")));
      mid.appendChild(what);
      var who = "owner " + (a.owner || "unassigned");
      if (a.agent_id && a.owner !== "agent:" + a.agent_id) who += " · agent " + a.agent_id;
      mid.appendChild(el("div", "who", who));
      if (a.message) mid.title = a.message;
      row.appendChild(mid);
      var raised = a.raised_at ? Date.parse(a.raised_at) : NaN;
      row.appendChild(el("div", "age", isNaN(raised) ? "—" : age((now - raised) / 1000)));
      box.appendChild(row);
    });
  }

  function destroyChart(name) { if (state.charts[name]) { state.charts[name].destroy(); delete state.charts[name]; } }

  function tzDate(tz) {
    return function (ts) { try { return uPlot.tzDate(new Date(ts * 1e3), tz); } catch (e) { return new Date(ts * 1e3); } };
  }

  function timeAxis(tz) {  // 24-hour clock labels at the site, like the Gantt chart
    return { values: function (u, splits) { return splits.map(function (ts) { return hhmm(new Date(ts * 1e3), tz); }); } };
  }

  function chartWidth(node) { return Math.max(320, node.clientWidth || node.parentNode.clientWidth - 36); }

  // "today · published plan" for the live plan; a file panel says which day it holds, which need not be today.
  function panelWhen(name, panel, fallback) {
    if (!panel) return fallback;
    if (state.sources[name] === "published plan") return "today · published plan";
    return (panel.date ? panel.date + " · " : "") + "from file (nothing published)";
  }

  function renderForecast(panel) {
    var node = $("forecast"), select = $("forecast-queue");
    destroyChart("forecast");
    $("forecast-when").textContent = panelWhen("forecast_today", panel, "today");
    if (!panel) { empty(node); select.hidden = true; return; }
    var queues = Object.keys(panel.queues || {}).sort();
    if (!queues.length) { empty(node); select.hidden = true; return; }
    var chosen = select.value;
    clear(select);
    [["__all__", "all queues"]].concat(queues.map(function (q) { return [q, q]; })).forEach(function (o) {
      var opt = el("option", null, o[1]); opt.value = o[0]; select.appendChild(opt);
    });
    select.hidden = queues.length < 2;
    select.value = queues.indexOf(chosen) >= 0 ? chosen : "__all__";
    var picked = select.value === "__all__" ? queues : [select.value];
    var xs = panel.period_start.map(function (t) { return Date.parse(t) / 1000; });
    function sum(field) {
      var any = false;
      var out = xs.map(function (_, i) {
        var total = null;
        picked.forEach(function (q) {
          var arr = panel.queues[q][field];
          if (!arr || arr[i] === null || arr[i] === undefined) return;
          total = (total || 0) + arr[i];
          any = true;
        });
        return total;
      });
      return any ? out : null;
    }
    var forecast = sum("forecast"), actual = sum("actual"), lower = sum("lower"), upper = sum("upper");
    var reforecast = sum("reforecast");
    var data = [xs, forecast], series = [{}, { label: "forecast", stroke: "#2f6fd1", width: 2, dash: [6, 4] }];
    var bands = [];
    if (lower && upper) {
      data.push(upper, lower);
      series.push({ label: "80 % interval", stroke: "rgba(47,111,209,.25)", width: 1 },
        { label: "80 % lower", stroke: "rgba(47,111,209,.25)", width: 1 });
      bands.push({ series: [2, 3], fill: "rgba(47,111,209,.10)" });
    }
    if (actual) {
      data.push(actual);
      series.push({ label: "actual", stroke: "#d9480f", width: 2.5, spanGaps: false });
    }
    if (reforecast) {
      data.push(reforecast);
      series.push({ label: "reforecast", stroke: "#7b3fc4", width: 2, dash: [2, 3], spanGaps: false });
    }
    clear(node);
    state.charts.forecast = new uPlot({
      width: chartWidth(node), height: 250, tzDate: tzDate(panel.timezone), bands: bands, series: series,
      axes: [timeAxis(panel.timezone), { label: "contacts / " + (panel.period_minutes || 15) + " min", size: 56 }],
      legend: { live: false }, cursor: { drag: { x: false, y: false } },
    }, data, node);
    if (lower && upper) {  // one legend entry for the band
      Array.prototype.forEach.call(node.querySelectorAll(".u-legend .u-series"), function (row) {
        if (row.textContent.indexOf("80 % lower") >= 0) row.style.display = "none";
      });
    }
  }

  function renderCoverage(panel) {
    var node = $("coverage");
    destroyChart("coverage");
    $("coverage-when").textContent = panelWhen("coverage_today", panel, "agents on the floor");
    if (!panel || !panel.period_start || !panel.period_start.length) { empty(node); return; }
    var xs = panel.period_start.map(function (t) { return Date.parse(t) / 1000; });
    var stepped = uPlot.paths.stepped({ align: 1 });
    clear(node);
    state.charts.coverage = new uPlot({
      width: chartWidth(node), height: 250, tzDate: tzDate(panel.timezone),
      series: [{},
        { label: "scheduled", stroke: "#198a45", fill: "rgba(25,138,69,.14)", width: 2, paths: stepped },
        { label: "required", stroke: "#cc3b2f", width: 2, dash: [5, 3], paths: stepped }],
      axes: [timeAxis(panel.timezone), { label: "agents", size: 50 }],
      legend: { live: false }, cursor: { drag: { x: false, y: false } },
    }, [xs, panel.scheduled, panel.required], node);
    var short = panel.required.reduce(function (n, r, i) { return n + (panel.scheduled[i] < r ? 1 : 0); }, 0);
    var note = el("div", "muted", short ? short + " of " + xs.length + " periods under-covered" : "every period covered");
    node.appendChild(note);
  }

  function hhmm(date, tz) {
    try { return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: tz || undefined }); }
    catch (e) { return date.toISOString().slice(11, 16); }
  }

  function renderShifts(panel) {
    var node = clear($("gantt"));
    var live = state.sources.shifts_today === "published plan";
    $("shift-title").textContent = !panel || live ? "Today's shifts" : "Shifts of " + panel.date;
    if (!panel || !panel.shifts || !panel.shifts.length) { empty(node); $("shift-summary").textContent = ""; return; }
    var palette = {};
    panel.shifts.forEach(function (s) {
      var skill = (s.skills && s.skills[0]) || "";
      if (!(skill in palette)) palette[skill] = Object.keys(palette).length % 6;
    });
    var shifts = panel.shifts.map(function (s) {
      return { who: s.agent_name || s.agent_id, start: Date.parse(s.start), end: Date.parse(s.end), skills: s.skills || [],
        colour: palette[(s.skills && s.skills[0]) || ""], adherence: s.adherence || null,
        breaks: (s.breaks || []).map(function (b) { return [Date.parse(b.start), Date.parse(b.end)]; }) };
    }).sort(function (a, b) { return a.start - b.start || a.end - b.end || a.who.localeCompare(b.who); });
    var t0 = Math.min.apply(null, shifts.map(function (s) { return s.start; }));
    var t1 = Math.max.apply(null, shifts.map(function (s) { return s.end; }));
    var hour = 3600e3;
    t0 = Math.floor(t0 / hour) * hour; t1 = Math.ceil(t1 / hour) * hour;
    function x(t) { return (100 * (t - t0) / (t1 - t0)) + "%"; }
    var axisRow = el("div", "g-row g-axis");
    axisRow.appendChild(el("div", "who muted", shifts.length + " shifts"));
    var axis = el("div", "g-track");
    var step = (t1 - t0) / hour > 12 ? 2 : 1;
    for (var t = t0; t <= t1; t += step * hour) {
      var tick = el("span", "g-tick", hhmm(new Date(t), panel.timezone));
      tick.style.left = x(t);
      axis.appendChild(tick);
    }
    axisRow.appendChild(axis);
    node.appendChild(axisRow);
    var body = el("div", "g-body");
    shifts.forEach(function (s) {
      var adh = s.adherence, out = adh && !adh.in_adherence;
      var row = el("div", "g-row" + (out ? " g-out" : ""));
      var who = el("div", "who");
      if (adh) {
        var dot = el("span", "g-adh " + (out ? "out" : "in"));
        dot.dataset.adherence = out ? "out" : "in";
        dot.title = (out ? "out of adherence" : "in adherence") + ": scheduled " + adh.scheduled + ", " + adh.status +
          (out && adh.out_since ? " since " + hhmm(new Date(Date.parse(adh.out_since)), panel.timezone) : "");
        who.appendChild(dot);
        who.title = dot.title;
      }
      who.appendChild(document.createTextNode(s.who));
      row.dataset.agent = s.who;
      row.appendChild(who);
      var track = el("div", "g-track");
      var bar = el("div", "g-bar c" + s.colour + (out ? " out" : ""));
      bar.style.left = x(s.start);
      bar.style.width = (100 * (s.end - s.start) / (t1 - t0)) + "%";
      bar.title = s.who + ": " + hhmm(new Date(s.start), panel.timezone) + "–" + hhmm(new Date(s.end), panel.timezone) +
        (s.skills.length ? " · " + s.skills.join(", ") : "") + (adh ? " · " + who.title : "");
      track.appendChild(bar);
      s.breaks.forEach(function (b) {
        var br = el("div", "g-break");
        br.style.left = x(b[0]);
        br.style.width = (100 * (b[1] - b[0]) / (t1 - t0)) + "%";
        br.title = "break " + hhmm(new Date(b[0]), panel.timezone) + "–" + hhmm(new Date(b[1]), panel.timezone);
        track.appendChild(br);
      });
      for (var g = t0 + hour; g < t1; g += hour) {
        var line = el("div", "g-grid"); line.style.left = x(g); track.appendChild(line);
      }
      row.appendChild(track);
      body.appendChild(row);
    });
    var now = Date.now();
    if (now > t0 && now < t1) {
      var nowLine = el("div", "g-now");
      nowLine.style.left = "calc(130px + (100% - 130px) * " + ((now - t0) / (t1 - t0)) + ")";
      nowLine.title = "now";
      body.appendChild(nowLine);
    }
    node.appendChild(body);
    var legend = el("div", "g-legend");
    Object.keys(palette).forEach(function (skill) {
      var item = el("span"); item.appendChild(el("i", "c" + palette[skill]));
      item.appendChild(document.createTextNode(skill ? skill : "no skill listed"));
      legend.appendChild(item);
    });
    var brk = el("span"); brk.appendChild(el("i", "brk")); brk.appendChild(document.createTextNode("break"));
    legend.appendChild(brk);
    var judged = shifts.filter(function (s) { return s.adherence; });
    var outCount = judged.filter(function (s) { return !s.adherence.in_adherence; }).length;
    if (judged.length) {
      [["in", "in adherence"], ["out", "out of adherence"]].forEach(function (p) {
        var item = el("span"); item.appendChild(el("i", "g-adh " + p[0])); item.appendChild(document.createTextNode(p[1]));
        legend.appendChild(item);
      });
    }
    node.appendChild(legend);
    var hours = shifts.reduce(function (h, s) {
      var br = s.breaks.reduce(function (b, p) { return b + (p[1] - p[0]); }, 0);
      return h + (s.end - s.start - br) / hour;
    }, 0);
    $("shift-summary").textContent = hours.toFixed(0) + " paid hours" +  // the title names the day
      (judged.length ? " · " + outCount + " of " + judged.length + " agents out of adherence" : "");
  }

  // ---- live A/B experiment: per arm KPIs and B − A with 95% intervals -------------------------
  function renderAbtest(body) {
    var node = clear($("abtest"));
    if (!body || !body.running) {
      node.appendChild(el("div", "empty", "no experiment running (PUT /v1/abtest starts one)"));
      $("abtest-summary").textContent = "";
      return;
    }
    var exp = body.experiment || {};
    $("abtest-summary").textContent = (exp.name || "") + " · split by " + (exp.unit || "task") + " · " +
      (body.tasks || 0) + " tasks" + (body.note ? " · " + body.note : "");
    var kpis = [
      { id: "service_level", label: "SL", fmt: pct }, { id: "asa_s", label: "ASA", fmt: secs },
      { id: "abandonment", label: "Aband.", fmt: pct }, { id: "fcr", label: "FCR", fmt: pct },
      { id: "satisfaction", label: "CSAT", fmt: function (v) { return v === null ? "—" : v.toFixed(2); } },
    ];
    var table = el("table", "sim"), head = el("tr");
    ["arm", "policy", "n"].concat(kpis.map(function (k) { return k.label; })).forEach(function (h) {
      head.appendChild(el("th", null, h));
    });
    table.appendChild(el("thead")).appendChild(head);
    var tbody = el("tbody");
    ["A", "B"].forEach(function (arm) {
      var a = (body.arms || {})[arm];
      if (!a) return;
      var tr = el("tr");
      [arm, a.policy, String(a.n)].forEach(function (v) { tr.appendChild(el("td", null, v)); });
      kpis.forEach(function (k) { tr.appendChild(el("td", null, k.fmt(num(a[k.id])))); });
      tbody.appendChild(tr);
    });
    var diff = el("tr");
    ["B − A (95% CI)", "", ""].forEach(function (v) { diff.appendChild(el("td", null, v)); });
    var byKpi = {};
    (body.differences || []).forEach(function (d) { byKpi[d.kpi] = d; });
    kpis.forEach(function (k) {
      var d = byKpi[k.id];
      var scale = k.fmt === pct ? 100 : 1, unit = k.fmt === pct ? " pt" : "";
      var td = el("td", d && d.significant ? "delta better" : null);
      if (d && num(d.b_minus_a) !== null) {
        td.textContent = (d.b_minus_a * scale).toFixed(1) + unit;
        if (num(d.ci95_low) !== null) {
          td.appendChild(el("span", "ci", "[" + (d.ci95_low * scale).toFixed(1) + ", " + (d.ci95_high * scale).toFixed(1) + "]"));
        }
      } else td.textContent = "—";
      diff.appendChild(td);
    });
    tbody.appendChild(diff);
    table.appendChild(tbody);
    node.appendChild(table);
  }

  function renderSimulation(panel) {
    var node = clear($("simulation"));
    if (!panel || !panel.scenarios || !panel.scenarios.length) { empty(node); $("simulation-summary").textContent = ""; return; }
    var base = panel.scenarios.filter(function (s) { return s.name === panel.baseline; })[0] || panel.scenarios[0];
    var cols = [
      { id: "service_level", label: "SL", fmt: pct, higher: true, scale: 100, unit: " pt" },
      { id: "asa_s", label: "ASA", fmt: secs, higher: false, scale: 1, unit: " s" },
      { id: "abandonment", label: "Aband.", fmt: pct, higher: false, scale: 100, unit: " pt" },
      { id: "occupancy", label: "Occ.", fmt: pct, higher: null, scale: 100, unit: " pt" },
    ];
    var table = el("table", "sim"), head = el("tr");
    head.appendChild(el("th", null, "scenario"));
    cols.forEach(function (c) { head.appendChild(el("th", null, c.label)); });
    table.appendChild(el("thead")).appendChild(head);
    var tbody = el("tbody");
    panel.scenarios.forEach(function (s) {
      var tr = el("tr");
      tr.appendChild(el("td", null, s.name + (s === base ? " (base)" : "")));
      cols.forEach(function (c) {
        var td = el("td", null, c.fmt(num(s[c.id])));
        var ci = s.ci95 && s.ci95[c.id];
        if (ci) td.appendChild(el("span", "ci", "[" + c.fmt(ci[0]) + ", " + c.fmt(ci[1]) + "]"));
        if (s !== base && num(s[c.id]) !== null && num(base[c.id]) !== null) {
          var d = (num(s[c.id]) - num(base[c.id])) * c.scale;
          if (Math.abs(d) >= 0.05) {
            var better = c.higher === null ? null : c.higher ? d > 0 : d < 0;
            td.appendChild(el("span", "delta " + (better === null ? "" : better ? "better" : "worse"), (d > 0 ? "+" : "") + d.toFixed(1) + c.unit));
          }
        }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    node.appendChild(table);
    $("simulation-summary").textContent = (panel.replications ? panel.replications + " replications" : "") ;
  }

  // ---- performance management: scorecards, targets, overdue plan actions ---------------------
  // /v1/scorecards?level=&from=: {dimensions: [{metric, target, weight, higher_is_better}],
  //   cards: [{key, composite, metrics: {handled, asa_s, sla, sla_n, fcr, fcr_n, satisfaction, satisfaction_n, ...},
  //            components: [{metric, value, target, higher_is_better, weight, score, points, sample, counted}],
  //            explain}]}
  // /v1/targets: [{id, kpi, level, scope, value, owner, deadline, status: {actual, achievement_rate, met, trend,
  //   on_track, days_left, overdue, ...}}]; /v1/plans: [{id, target_id, title, owner, actions: [{id, description,
  //   owner, due, done_at, overdue}]}]; /v1/plans/alerts: [{plan_id, action_id, owner, due, raised_at, ...}]
  var KPI_LABELS = { tasks: "Tasks", handled: "Volume handled", answered: "Answered", asa_s: "ASA",
    sla: "SLA attainment", sla_Q1: "SLA Q1", sla_Q2: "SLA Q2", sla_Q3: "SLA Q3", sla_Q4: "SLA Q4",
    aht_s: "AHT", forecast_aht_s: "Forecast AHT", aht_vs_forecast: "AHT vs forecast", fcr: "First-contact resolution",
    abandonment: "Abandonment", abandoned: "Abandoned", complaint_rate: "Complaint rate",
    satisfaction: "Satisfaction (4–5 of 5)", satisfaction_mean: "Mean satisfaction", occupancy: "Occupancy",
    adherence: "Adherence", sla_n: "SLA sample", fcr_n: "FCR sample", satisfaction_n: "Ratings", handled_s: "Handled time" };
  var RATE_KPIS = { sla: 1, sla_Q1: 1, sla_Q2: 1, sla_Q3: 1, sla_Q4: 1, fcr: 1, abandonment: 1, complaint_rate: 1,
    satisfaction: 1, occupancy: 1, adherence: 1 };
  var SECOND_KPIS = { asa_s: 1, aht_s: 1, forecast_aht_s: 1, handled_s: 1 };
  var LOWER_IS_BETTER = { asa_s: 1, aht_s: 1, aht_vs_forecast: 1, abandonment: 1, abandoned: 1, complaint_rate: 1 };
  var DIM_COLOURS = ["#2f6fd1", "#0f9d8a", "#8e5cd6", "#d9730d", "#5f7d95", "#c2417a", "#198a45", "#b58900", "#7a1c5c"];
  var TREND_MARKS = { improving: "↗ improving", worsening: "↘ worsening", flat: "→ flat", unknown: "no trend yet" };

  function dur(v) { return v === null ? "—" : v < 100 ? v.toFixed(1) + " s" : age(v); }
  function kpiLabel(kpi) { return KPI_LABELS[kpi] || kpi; }
  function kpiValue(kpi, v) {
    v = num(v);
    if (v === null) return "—";
    if (RATE_KPIS[kpi]) return pct(v);
    if (SECOND_KPIS[kpi]) return dur(v);
    if (kpi === "aht_vs_forecast") return v.toFixed(2) + "×";
    if (kpi === "satisfaction_mean") return v.toFixed(2) + " / 5";
    return String(Math.round(v * 100) / 100);
  }
  function dateText(iso) {
    var t = Date.parse(iso);
    if (isNaN(t)) return iso || "—";
    try { return new Date(t).toLocaleDateString("en-CA", { timeZone: state.tz || undefined }); }
    catch (e) { return new Date(t).toISOString().slice(0, 10); }
  }
  function days(d) { d = Math.abs(d); return d < 1 ? Math.round(d * 24) + " h" : Math.round(d) + " d"; }

  function scorecardFrom(win) {
    if (win === "7d" || win === "30d") return new Date(Date.now() - (win === "7d" ? 7 : 30) * 86400e3);
    return startOfToday();
  }

  // met / missed against the scored dimension's target (null when not scored or no value)
  function verdict(dim, value) {
    if (!dim || value === null) return null;
    return dim.higher_is_better ? value >= dim.target : value <= dim.target;
  }

  function metricCell(card, dims, metric, sampleOf) {
    var value = num(card.metrics[metric]), td = el("td", null, kpiValue(metric, value));
    td.dataset.metric = metric;
    var ok = verdict(dims[metric], value);
    if (ok !== null) {
      td.className = ok ? "met" : "missed";
      td.title = kpiLabel(metric) + " target " + (dims[metric].higher_is_better ? "≥ " : "≤ ") +
        kpiValue(metric, dims[metric].target);
    }
    if (sampleOf) {
      var n = num(card.metrics[sampleOf]);
      td.appendChild(el("span", "n", "n " + (n === null ? 0 : n)));
    }
    return td;
  }

  function compositeBreakdown(card, dimOrder) {
    var table = el("table", "parts"), head = el("tr");
    ["dimension", "value", "target", "score", "weight", "points", "n"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    table.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    (card.components || []).forEach(function (c) {
      var tr = el("tr", c.counted ? "" : "uncounted");
      var name = el("td");
      var swatch = el("i", "sw");
      swatch.style.background = DIM_COLOURS[dimOrder[c.metric] % DIM_COLOURS.length];
      name.appendChild(swatch);
      name.appendChild(document.createTextNode(kpiLabel(c.metric)));
      tr.appendChild(name);
      tr.appendChild(el("td", null, kpiValue(c.metric, c.value)));
      tr.appendChild(el("td", null, (c.higher_is_better ? "≥ " : "≤ ") + kpiValue(c.metric, c.target)));
      tr.appendChild(el("td", null, num(c.score) === null ? "—" : num(c.score).toFixed(2)));
      tr.appendChild(el("td", null, num(c.weight).toFixed(2)));
      tr.appendChild(el("td", null, c.counted ? num(c.points).toFixed(1) : "not counted"));
      tr.appendChild(el("td", null, num(c.sample) === null ? "—" : String(num(c.sample))));
      body.appendChild(tr);
    });
    table.appendChild(body);
    var foot = el("tfoot"), total = el("tr");
    total.appendChild(el("td", null, "composite"));
    total.appendChild(el("td", null, "Σ points, each = 100 × weight ÷ Σ counted weights × score"));
    total.lastChild.colSpan = 4;
    total.appendChild(el("td", null, num(card.composite) === null ? "—" : num(card.composite).toFixed(1)));
    total.appendChild(el("td"));
    foot.appendChild(total);
    table.appendChild(foot);
    return table;
  }

  function renderScorecards(body, level) {
    var node = clear($("scorecards"));
    var cards = (body && body.cards) || [];
    $("scorecard-summary").textContent = cards.length ? cards.length + " " + level + (cards.length === 1 ? "" : "s") : "";
    if (!cards.length) { empty(node, "no data yet"); return; }
    var dims = {}, dimOrder = {};
    (body.dimensions || []).forEach(function (d, i) { dims[d.metric] = d; dimOrder[d.metric] = i; });
    var table = el("table", "score"), head = el("tr");
    [level, "handled", "ASA", "SLA", "FCR", "satisfaction", "composite"].forEach(function (h) {
      head.appendChild(el("th", null, h));
    });
    table.appendChild(el("thead")).appendChild(head);
    var tbody = el("tbody");
    cards.slice().sort(function (a, b) {
      return (num(b.composite) === null ? -1 : num(b.composite)) - (num(a.composite) === null ? -1 : num(a.composite)) ||
        String(a.key).localeCompare(String(b.key));
    }).forEach(function (card) {
      var id = level + ":" + card.key;
      var tr = el("tr", "card-row");
      tr.dataset.key = card.key;
      tr.appendChild(el("td", "key", card.key));
      tr.appendChild(metricCell(card, dims, "handled"));
      tr.appendChild(metricCell(card, dims, "asa_s", "answered"));
      tr.appendChild(metricCell(card, dims, "sla", "sla_n"));
      tr.appendChild(metricCell(card, dims, "fcr", "fcr_n"));
      tr.appendChild(metricCell(card, dims, "satisfaction", "satisfaction_n"));
      var td = el("td", "composite");
      var open = !!state.openCards[id];
      var button = el("button", "comp-toggle", (num(card.composite) === null ? "—" : num(card.composite).toFixed(1)) +
        (open ? " ▾" : " ▸"));
      button.type = "button";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.title = card.explain || "";
      button.dataset.testid = "composite";
      var bar = el("div", "comp-bar");
      (card.components || []).forEach(function (c) {
        if (!c.counted || !(num(c.points) > 0)) return;
        var part = el("span");
        part.style.width = Math.min(100, num(c.points)) + "%";
        part.style.background = DIM_COLOURS[dimOrder[c.metric] % DIM_COLOURS.length];
        part.title = kpiLabel(c.metric) + ": " + num(c.points).toFixed(1) + " points";
        bar.appendChild(part);
      });
      td.appendChild(button);
      td.appendChild(bar);
      tr.appendChild(td);
      tbody.appendChild(tr);
      var detail = el("tr", "parts-row");
      detail.hidden = !open;
      var cell = el("td");
      cell.colSpan = 7;
      cell.appendChild(compositeBreakdown(card, dimOrder));
      detail.appendChild(cell);
      tbody.appendChild(detail);
      button.addEventListener("click", function () {
        state.openCards[id] = !state.openCards[id];
        detail.hidden = !state.openCards[id];
        button.setAttribute("aria-expanded", state.openCards[id] ? "true" : "false");
        button.textContent = button.textContent.slice(0, -2) + (state.openCards[id] ? " ▾" : " ▸");
      });
    });
    table.appendChild(tbody);
    node.appendChild(table);
  }

  function targetState(s) {
    if (!s) return { cls: "idle", text: "not measured" };
    if (s.overdue) return { cls: "bad", text: "overdue" };
    if (s.met) return { cls: "ok", text: "met" };
    if (num(s.actual) === null) return { cls: "idle", text: "no data yet" };
    if (s.on_track) return { cls: "ok", text: "on track" };
    return { cls: "warn", text: "off track" };
  }

  function renderTargets(list) {
    var node = clear($("targets"));
    list = Array.isArray(list) ? list : [];
    $("target-count").textContent = String(list.length);
    if (!list.length) { empty(node, "no targets set"); $("target-summary").textContent = ""; return; }
    var tally = {};
    list.slice().sort(function (a, b) { return Date.parse(a.deadline) - Date.parse(b.deadline); }).forEach(function (t) {
      var s = t.status || null, st = targetState(s);
      tally[st.text] = (tally[st.text] || 0) + 1;
      var row = el("div", "target-row " + st.cls);
      row.dataset.targetId = t.id;
      var main = el("div", "t-main");
      var what = el("div", "t-what");
      what.appendChild(el("b", null, kpiLabel(t.kpi) + " " + (LOWER_IS_BETTER[t.kpi] ? "≤ " : "≥ ") + kpiValue(t.kpi, t.value)));
      what.appendChild(document.createTextNode(" · " + t.level + " " + t.scope));
      main.appendChild(what);
      var left = s && num(s.days_left) !== null ? (s.days_left >= 0 ? " (" + days(s.days_left) + " left)" : " (passed)") : "";
      main.appendChild(el("div", "t-who", "owner " + t.owner + " · due " + dateText(t.deadline) + left));
      if (t.description) main.title = t.description;
      row.appendChild(main);
      var side = el("div", "t-score");
      var rate = s ? num(s.achievement_rate) : null;
      var line = el("div", "t-rate");
      line.appendChild(el("span", "muted", "actual " + kpiValue(t.kpi, s ? s.actual : null) + " · "));
      var achieved = el("b", null, rate === null ? "—" : Math.round(rate * 100) + " %");
      achieved.dataset.testid = "achievement";
      line.appendChild(achieved);
      line.appendChild(el("span", "muted", " achieved"));
      side.appendChild(line);
      var bar = el("div", "t-bar"), fill = el("span");
      fill.style.width = (rate === null ? 0 : Math.min(100, rate * 100)) + "%";
      bar.appendChild(fill);
      side.appendChild(bar);
      var tags = el("div", "t-tags");
      var trend = (s && s.trend) || "unknown";
      tags.appendChild(el("span", "trend " + trend, TREND_MARKS[trend] || trend));
      tags.appendChild(el("span", "tstatus " + st.cls, st.text));
      side.appendChild(tags);
      row.appendChild(side);
      node.appendChild(row);
    });
    $("target-summary").textContent = Object.keys(tally).sort().map(function (k) { return tally[k] + " " + k; }).join(" · ");
  }

  function renderPlanActions(plans, alerts) {
    var node = clear($("plan-actions"));
    var alerted = {};
    (Array.isArray(alerts) ? alerts : []).forEach(function (a) { alerted[a.plan_id + ":" + a.action_id] = a; });
    var rows = [];
    (Array.isArray(plans) ? plans : []).forEach(function (p) {
      (p.actions || []).forEach(function (a) { if (a.overdue && !a.done_at) rows.push({ plan: p, action: a }); });
    });
    rows.sort(function (x, y) { return Date.parse(x.action.due) - Date.parse(y.action.due); });
    $("action-count").textContent = String(rows.length);
    if (!rows.length) {
      empty(node, (plans && plans.length ? plans.length + " plan" + (plans.length === 1 ? "" : "s") + ", " : "") +
        "no overdue actions");
      return;
    }
    var now = Date.now();
    rows.forEach(function (r) {
      var row = el("div", "action-row");
      row.dataset.actionId = r.plan.id + ":" + r.action.id;
      var mid = el("div");
      mid.appendChild(el("div", "what", r.action.description));
      var who = "owner " + r.action.owner + " · due " + dateText(r.action.due) + " · plan " + r.plan.title +
        " (target " + r.plan.target_id + ")";
      mid.appendChild(el("div", "who", who));
      row.appendChild(mid);
      var late = el("div", "late", days((now - Date.parse(r.action.due)) / 86400e3) + " late");
      if (alerted[r.plan.id + ":" + r.action.id]) late.appendChild(el("span", "alerted", "owner alerted"));
      row.appendChild(late);
      node.appendChild(row);
    });
  }

  function panelFailed(node, err) {
    if (err && err.auth) throw err;  // signs out via showError
    clear(node).appendChild(el("div", "empty error", "cannot show this panel: " + (err ? err.message : "unknown error")));
  }

  function refreshPerf() {
    if (!state.key) return Promise.resolve();
    if (state.perfInflight) { state.perfPending = true; return Promise.resolve(); }
    state.perfInflight = true;
    state.perfPending = false;
    state.lastPerf = Date.now();
    var level = $("scorecard-level").value || "team";
    var from = scorecardFrom($("scorecard-window").value);
    var cards = api("/v1/scorecards?level=" + encodeURIComponent(level) + "&from=" + encodeURIComponent(from.toISOString()))
      .then(function (body) {
        var key = JSON.stringify([level, body]);
        if (state.panels.scorecards === key) return;
        state.panels.scorecards = key;
        renderScorecards(body, level);
      }, function (err) { state.panels.scorecards = null; panelFailed($("scorecards"), err); });
    var targets = api("/v1/targets").then(function (list) {
      var key = JSON.stringify(list);
      if (state.panels.targets === key) return;
      state.panels.targets = key;
      renderTargets(list);
    }, function (err) { state.panels.targets = null; panelFailed($("targets"), err); });
    var actions = Promise.all([api("/v1/plans"), api("/v1/plans/alerts")]).then(function (both) {
      var key = JSON.stringify(both);
      if (state.panels.actions === key) return;
      state.panels.actions = key;
      renderPlanActions(both[0], both[1]);
    }, function (err) { state.panels.actions = null; panelFailed($("plan-actions"), err); });
    return Promise.all([cards, targets, actions]).catch(showError).finally(function () {
      state.perfInflight = false;
      if (state.perfPending) schedulePerf();
    });
  }

  // Task events (completions, new tasks) change the scorecards: refresh soon, but at most once per PERF_MIN_GAP_MS,
  // because every scorecard request replays the whole audit trail on the server.
  var PERF_MIN_GAP_MS = 3000;
  function schedulePerf() {
    if (state.perfTimer) return;
    var wait = Math.max(500, PERF_MIN_GAP_MS - (Date.now() - state.lastPerf));
    state.perfTimer = setTimeout(function () { state.perfTimer = null; refreshPerf(); }, wait);
  }

  // ---- data flow -------------------------------------------------------------------------------
  // Midnight of today at the site (the panels' timezone), else in the browser's timezone.
  function startOfToday() {
    var now = new Date();
    if (state.tz) {
      try {
        var parts = {};
        new Intl.DateTimeFormat("en-US", { timeZone: state.tz, hour12: false, hour: "numeric", minute: "numeric",
          second: "numeric" }).formatToParts(now).forEach(function (p) { parts[p.type] = Number(p.value); });
        var elapsed = ((parts.hour % 24) * 3600 + parts.minute * 60 + parts.second) * 1000 + now.getMilliseconds();
        return new Date(now.getTime() - elapsed);
      } catch (e) { /* unknown timezone: fall back to the browser's */ }
    }
    now.setHours(0, 0, 0, 0);
    return now;
  }

  function showError(err) {
    if (err && err.auth) { forgetKey(); showLogin("Signed out: " + err.message); return; }
    var banner = $("board-error");
    banner.textContent = err ? String(err.message || err) : "";
    banner.hidden = !err;
  }

  function refreshLive() {
    if (!state.key) return Promise.resolve();
    if (state.inflight) { state.pending = true; return Promise.resolve(); }  // run again when this one lands
    state.inflight = true;
    state.pending = false;
    return Promise.all([
      api("/v1/queues").then(renderQueues),
      api("/v1/agents").then(renderAgents),
      api("/v1/alerts").then(renderAlerts),
    ]).then(function () {
      state.lastLive = Date.now();
      $("updated").textContent = "updated " + clockText(new Date(), state.tz);
      showError(null);
    }).catch(showError).finally(function () {
      state.inflight = false;
      if (state.pending) scheduleRefresh();
    });
  }

  function refreshKpis() {
    var from = startOfToday(), to = new Date();
    var label = "since " + clockText(from, state.tz, false) + (state.tz ? " " + state.tz : "");
    return api("/v1/kpis?from=" + encodeURIComponent(from.toISOString()) + "&to=" + encodeURIComponent(to.toISOString()))
      .then(function (body) { renderKpis(body, label); });
  }

  function paintClock() { $("clock").textContent = clockText(new Date(), state.tz); }

  function refreshSlow() {
    if (!state.key) return Promise.resolve();
    state.lastSlow = Date.now();
    var kpis = refreshKpis();
    var panels = ["forecast_today", "coverage_today", "shifts_today", "simulation"].map(function (name) {
      return api("/dashboard/panels/" + name).then(function (body) {
        var data = body ? body.data : null;
        var key = JSON.stringify([data, body && body.error]);
        if (state.panels[name] === key) return;
        state.panels[name] = key;
        state.sources[name] = body ? body.source : null;
        if (data && data.timezone && data.timezone !== state.tz) {
          state.tz = data.timezone;  // the site's day: repaint the clock, re-ask today's KPIs
          paintClock();
          refreshKpis().catch(showError);
        }
        if (body && body.error) {
          var node = $(PANEL_NODES[name]);
          clear(node).appendChild(el("div", "empty error", "cannot show this panel: " + body.error));
          return;
        }
        ({ forecast_today: renderForecast, coverage_today: renderCoverage, shifts_today: renderShifts,
          simulation: renderSimulation })[name](data);
      });
    });
    var abtest = api("/v1/abtest/current").then(renderAbtest);
    return Promise.all([kpis, abtest].concat(panels)).catch(showError);
  }

  function scheduleRefresh() {
    if (state.refreshTimer) return;
    state.refreshTimer = setTimeout(function () { state.refreshTimer = null; refreshLive(); }, 250);
  }

  function setLive(mode) {
    var node = $("live");
    node.className = "live " + (mode === "live" ? "on" : mode === "polling" ? "poll" : "off");
    $("live-text").textContent = mode === "live" ? "live" : mode === "polling" ? "polling every 2 s" : mode;
  }

  function openStream() {
    if (typeof EventSource === "undefined") { setLive("polling"); return; }
    // EventSource cannot send headers and a key in a URL leaks into logs: open a session (HttpOnly cookie) first
    var generation = state.streamGen = (state.streamGen || 0) + 1;
    fetch("/dashboard/session", { method: "POST", headers: { Authorization: "Bearer " + state.key },
                                  credentials: "same-origin" }).then(function (resp) {
      if (generation !== state.streamGen || state.es) return;  // signed out or restarted meanwhile
      if (!resp.ok) { setLive("polling"); return; }
      attachStream(new EventSource("/dashboard/events"));
    }, function () { setLive("polling"); });
  }

  function attachStream(es) {
    state.es = es;
    es.onopen = function () { state.sseOpen = true; setLive("live"); scheduleRefresh(); };
    es.onmessage = scheduleRefresh;
    ["task", "alert", "offer", "agent"].forEach(function (type) { es.addEventListener(type, scheduleRefresh); });
    es.addEventListener("task", schedulePerf);
    es.onerror = function () {
      state.sseOpen = false;
      setLive("polling");
      if (es.readyState === EventSource.CLOSED) state.es = null;
    };
  }

  var ticker = null;
  function startLive() {
    stopLive();
    setLive("connecting");
    refreshLive();
    refreshSlow();
    refreshPerf();
    openStream();
    ticker = setInterval(function () {
      var now = Date.now();
      paintClock();
      if (!state.sseOpen && now - state.lastLive >= 2000) refreshLive();
      else if (now - state.lastLive >= 15000) refreshLive();
      if (now - state.lastSlow >= 10000) refreshSlow();
      if (now - state.lastPerf >= 10000) refreshPerf();
      drawAlertsAges();
    }, 1000);
  }

  function drawAlertsAges() {
    var rows = document.querySelectorAll("#alerts .alert-row .age");
    var now = Date.now();
    state.alerts.forEach(function (a, i) {
      var raised = a.raised_at ? Date.parse(a.raised_at) : NaN;
      if (rows[i] && !isNaN(raised)) rows[i].textContent = age((now - raised) / 1000);
    });
  }

  function stopLive() {
    state.streamGen = (state.streamGen || 0) + 1;
    if (state.es) { state.es.close(); state.es = null; }
    state.sseOpen = false;
    if (ticker) { clearInterval(ticker); ticker = null; }
    if (state.perfTimer) { clearTimeout(state.perfTimer); state.perfTimer = null; }
    state.panels = {};
  }

  window.addEventListener("resize", function () {
    Object.keys(state.charts).forEach(function (name) {
      var chart = state.charts[name];
      chart.setSize({ width: chartWidth(chart.root.parentNode), height: 250 });
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    $("login-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      signIn($("login-key").value.trim(), $("login-remember").checked);
    });
    $("logout").addEventListener("click", function () { forgetKey(); showLogin(""); });
    $("forecast-queue").addEventListener("change", function () {
      var cached = state.panels.forecast_today;
      renderForecast(cached ? JSON.parse(cached)[0] : null);
    });
    ["scorecard-level", "scorecard-window"].forEach(function (id) {
      $(id).addEventListener("change", function () { state.panels.scorecards = null; refreshPerf(); });
    });
    $("clock").textContent = clockText(new Date(), null);
    var key = storedKey();
    if (key) signIn(key, !!localStorage.getItem(STORAGE_KEY)); else showLogin("");
  });
})();
