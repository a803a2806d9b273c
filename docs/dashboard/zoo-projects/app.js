/* detaudit dashboard: reads window.DETAUDIT_DATA (written by detaudit/dashboard) and draws the
   views. Every piece of report text goes through esc() before it reaches innerHTML. */
(function () {
  "use strict";
  var D = window.DETAUDIT_DATA;
  var SEV = ["", "info", "warning", "error"];
  var RANK = {info: 1, warning: 2, error: 3};
  var TIERS = ["static", "build", "checkpoint", "optimizer", "forward", "train", "run"];
  var state = {path: "", base: "", code: "", sev: "", sort: "worst", desc: true, cell: null};
  var app = document.getElementById("app");

  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function where(f) { return f.file ? f.file + (f.line ? ":" + f.line : "") : ""; }
  function sevBadge(rank) { return rank ? '<span class="sev s' + rank + '">' + SEV[rank] + "</span>" : ""; }
  function ruleHref(code) {
    var r = D.rules[code];
    if (D.rule_pages && r && r.doc) return D.rule_pages + encodeURIComponent(code) + ".html";
    return r && r.url ? r.url : "";
  }
  function ruleLink(code) {
    var href = ruleHref(code);
    return href ? '<a class="code" href="' + esc(href) + '">' + esc(code) + "</a>" : '<span class="code">' + esc(code) + "</span>";
  }
  function configLink(id) {
    var c = D.configs[id];
    return c ? '<a href="#/config/' + id + '">' + esc(c.path) + "</a>" : "?";
  }
  function fmtInt(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }

  /* --- derived data, once ------------------------------------------------------------------- */
  D.configs.forEach(function (c) {
    c.count = {}; c.codes = {}; c.files = {}; c.worstAll = 0;
    c.findings.forEach(function (f) {
      c.count[f.group] = (c.count[f.group] || 0) + 1;
      c.codes[f.code] = 1;
      if (f.file) c.files[f.file] = 1;
      c.worstAll = Math.max(c.worstAll, RANK[f.sev] || 0);
    });
    c.search = c.path.toLowerCase();
  });
  var allCodes = Object.keys(D.configs.reduce(function (acc, c) {
    Object.keys(c.codes).forEach(function (k) { acc[k] = 1; }); return acc;
  }, {})).sort();
  var baseFiles = Object.keys(D.impact.reduce(function (acc, s) { acc[s.file] = 1; return acc; }, {})).sort();

  /* --- header ------------------------------------------------------------------------------- */
  function header(active) {
    var tabs = [["matrix", "Quality gate"], ["impact", "Base-file impact"], ["rules", "Rules"], ["diff", "New / fixed"]];
    var nav = tabs.map(function (t) {
      return '<a class="tab' + (t[0] === active ? " on" : "") + '" href="#/' + t[0] + '" id="tab-' + t[0] + '">' + t[1] + "</a>";
    }).join("");
    var src = D.sources.filter(function (s) { return !s.error; }).map(function (s) {
      return esc(s.path.split("/").pop()) + " (" + s.configs + (s.tier ? ", " + esc(s.tier) + " tier" : "") +
        (D.versions.length > 1 ? ", detaudit " + esc(s.tool_version || "?") : "") + ")";
    }).join(", ");
    var errs = D.errors.length ? '<div class="errors" id="load-errors"><b>' + D.errors.length +
      " file(s) not shown:</b><ul>" + D.errors.map(function (e) { return "<li>" + esc(e) + "</li>"; }).join("") +
      "</ul></div>" : "";
    var versions = D.versions.length > 1 ? '<div class="note" id="versions">These reports come from detaudit ' +
      D.versions.map(esc).join(", ") + ": rules and messages may differ between them.</div>" : "";
    return '<header><h1>' + esc(D.title) + '</h1><nav>' + nav + '</nav><div class="meta">' + fmtInt(D.configs.length) +
      " configs from " + (src || "no report") + "</div>" + errs + versions + "</header>";
  }

  /* --- 1. quality gate matrix --------------------------------------------------------------- */
  function matches(c) {
    if (state.path && c.search.indexOf(state.path.toLowerCase()) < 0) return false;
    if (state.base && !c.files[state.base]) return false;
    if (state.code && !c.codes[state.code]) return false;
    if (state.sev === "clean") return c.findings.length === 0;
    if (state.sev && c.worstAll < RANK[state.sev]) return false;
    return true;
  }
  function sortKey(c) {
    if (state.sort === "path") return c.path;
    if (state.sort === "findings") return c.findings.length;
    if (state.sort === "worst") return c.worstAll * 100000 + c.findings.length;
    return (c.worst[state.sort] || 0) * 100000 + (c.count[state.sort] || 0);
  }
  function rowsHtml(list) {
    var out = [];
    for (var i = 0; i < list.length; i++) {
      var c = list[i];
      var cells = D.groups.map(function (g) {
        var w = c.worst[g] || 0;
        return '<td class="cell s' + w + '" data-g="' + esc(g) + '">' + (c.count[g] || "") + "</td>";
      }).join("");
      out.push('<tr class="row" data-id="' + c.id + '"><td class="path"><a href="#/config/' + c.id + '">' + esc(c.path) +
        "</a></td><td>" + (c.worstAll ? sevBadge(c.worstAll) : c.errors.length ? '<span class="quiet">error</span>' : '<span class="quiet">clean</span>') + '</td><td class="num">' + c.findings.length + "</td>" + cells + "</tr>");
    }
    return out.join("");
  }
  function options(list, current, empty) {
    return '<option value="">' + empty + "</option>" + list.map(function (v) {
      return '<option value="' + esc(v) + '"' + (v === current ? " selected" : "") + ">" + esc(v) + "</option>";
    }).join("");
  }
  function matrix() {
    var heads = [["path", "config"], ["worst", "worst"], ["findings", "findings"]].concat(D.groups.map(function (g) { return [g, g]; }));
    var th = heads.map(function (h) {
      var arrow = state.sort === h[0] ? (state.desc ? " ▾" : " ▴") : "";
      var cls = h[0] === "path" ? ' class="path"' : D.groups.indexOf(h[0]) >= 0 ? ' class="g"' : "";
      return '<th data-sort="' + esc(h[0]) + '"' + cls + ">" + esc(h[1]) + arrow + "</th>";
    }).join("");
    var tally = [0, 0, 0, 0];
    D.configs.forEach(function (c) { tally[c.worstAll] += 1; });
    app.innerHTML = header("matrix") +
      '<section class="summary" id="summary"><span class="sev s3">' + tally[3] + ' with errors</span> <span class="sev s2">' +
      tally[2] + ' with warnings</span> <span class="sev s1">' + tally[1] + ' with notes</span> <span class="sev ok">' + tally[0] +
      " clean</span> — rows are configs, columns rule groups; a cell is the group's worst severity and its count. " +
      "Click a cell for its findings, a config for its page.</section>" +
      '<section class="controls"><input id="f-path" type="search" placeholder="folder or config path" value="' + esc(state.path) + '">' +
      '<select id="f-base">' + options(baseFiles, state.base, "any base file") + "</select>" +
      '<select id="f-code">' + options(allCodes, state.code, "any code") + "</select>" +
      '<select id="f-sev">' + [["", "any severity"], ["error", "error"], ["warning", "warning or worse"],
        ["info", "any finding"], ["clean", "no findings"]].map(function (o) {
        return '<option value="' + o[0] + '"' + (o[0] === state.sev ? " selected" : "") + ">" + o[1] + "</option>";
      }).join("") + '</select> <span id="shown"></span></section>' +
      '<div class="split"><div class="scroll"><table id="matrix" style="width:' + (518 + 48 * D.groups.length) + 'px"><colgroup><col style="width:380px"><col style="width:72px"><col style="width:66px">' +
      D.groups.map(function () { return '<col style="width:48px">'; }).join("") + "</colgroup><thead><tr>" + th + '</tr></thead><tbody></tbody></table></div>' +
      '<aside id="cell-findings" class="panel hidden"></aside></div>';
    fillMatrix();
    ["f-path", "f-base", "f-code", "f-sev"].forEach(function (id) {
      var el = document.getElementById(id);
      el.addEventListener(id === "f-path" ? "input" : "change", function () {
        state[id.slice(2)] = el.value; fillMatrix();
        history.replaceState(null, "", matrixHref(state));   // the filtered view can be linked to
      });
    });
    document.querySelector("#matrix thead").addEventListener("click", function (ev) {
      var th = ev.target.closest("th"); if (!th) return;
      var key = th.getAttribute("data-sort");
      if (state.sort === key) state.desc = !state.desc; else { state.sort = key; state.desc = key !== "path"; }
      matrix();
    });
    document.querySelector("#matrix tbody").addEventListener("click", function (ev) {
      var td = ev.target.closest("td.cell"); if (!td) return;
      showCell(+td.parentNode.getAttribute("data-id"), td.getAttribute("data-g"));
    });
    if (state.cell) showCell(state.cell[0], state.cell[1]);
  }
  function fillMatrix() {
    var list = D.configs.filter(matches);
    list.sort(function (a, b) {
      var x = sortKey(a), y = sortKey(b);
      var r = x < y ? -1 : x > y ? 1 : (a.path < b.path ? -1 : 1);
      return state.desc ? -r : r;
    });
    document.querySelector("#matrix tbody").innerHTML = rowsHtml(list);
    document.getElementById("shown").textContent = list.length + " of " + D.configs.length + " configs";
  }
  function findingsTable(list, withConfig) {
    if (!list.length) return '<p class="quiet">No findings.</p>';
    return '<table class="findings"><thead><tr>' + (withConfig ? "<th>config</th>" : "") +
      "<th>code</th><th>severity</th><th>key</th><th>where</th><th>message and fix</th></tr></thead><tbody>" +
      list.map(function (f) {
        return '<tr class="finding">' + (withConfig ? "<td>" + configLink(f.config) + "</td>" : "") + "<td>" + ruleLink(f.code) +
          (f.name ? '<div class="quiet">' + esc(f.name) + "</div>" : "") + "</td><td>" + sevBadge(RANK[f.sev]) +
          "</td><td>" + (f.key || f.mod ? "<code>" + esc(f.key || f.mod) + "</code>" : "") + "</td><td>" + (where(f) ? "<code>" + esc(where(f)) + "</code>" : "") + "</td>" +
          '<td><div class="msg">' + esc(f.msg) + "</div>" + (f.fix ? '<div class="fix">Fix: ' + esc(f.fix) + "</div>" : "") +
          (f.triage ? '<div class="quiet">' + esc(f.triage) + "</div>" : "") +
          (f.ev ? '<details><summary>evidence</summary><pre>' + esc(f.ev) + "</pre></details>" : "") + "</td></tr>";
      }).join("") + "</tbody></table>";
  }
  function findingCards(list) {
    if (!list.length) return '<p class="quiet">No findings.</p>';
    return list.map(function (f) {
      return '<div class="finding card">' + sevBadge(RANK[f.sev]) + " " + ruleLink(f.code) + (f.name ? ' <span class="quiet">' + esc(f.name) + "</span>" : "") +
        (f.key || f.mod ? '<div>key <code>' + esc(f.key || f.mod) + "</code></div>" : "") +
        (where(f) ? '<div>at <code>' + esc(where(f)) + "</code></div>" : "") + '<div class="msg">' + esc(f.msg) + "</div>" +
        (f.fix ? '<div class="fix">Fix: ' + esc(f.fix) + "</div>" : "") + "</div>";
    }).join("");
  }
  function showCell(id, group) {
    var c = D.configs[id], panel = document.getElementById("cell-findings");
    if (!c || !panel) return;
    state.cell = [id, group];
    var prev = document.querySelector("td.cell.picked");
    if (prev) prev.classList.remove("picked");
    var td = document.querySelector('#matrix tr.row[data-id="' + id + '"] td.cell[data-g="' + group.replace(/["\\]/g, "") + '"]');
    if (td) td.classList.add("picked");
    var list = c.findings.filter(function (f) { return f.group === group; });
    panel.className = "panel";
    panel.innerHTML = '<button class="close" id="close-panel">×</button><h2>' + esc(group) + "</h2><p>" + configLink(id) +
      '</p><div class="cards">' + findingCards(list) + "</div>";
    var scroll = document.querySelector(".scroll");
    scroll.classList.add("open");
    if (td) {   // keep the clicked cell in view above the panel
      var box = td.getBoundingClientRect(), area = scroll.getBoundingClientRect();
      if (box.bottom > area.bottom || box.top < area.top + 100) scroll.scrollTop += box.top - area.top - 100;
    }
    document.getElementById("close-panel").onclick = function () {
      state.cell = null; panel.className = "panel hidden"; scroll.classList.remove("open");
    };
  }

  /* --- 2. base-file impact ------------------------------------------------------------------ */
  function impact() {
    var rows = D.impact.map(function (s, i) {
      var codes = Object.keys(s.codes).map(function (c) { return ruleLink(c) + (s.codes[c] > 1 ? " ×" + s.codes[c] : ""); }).join(" ");
      return '<tr class="spot"><td>' + sevBadge(s.sev) + "</td><td>Fix <code>" + esc(where(s)) + "</code> and <b>" +
        s.configs.length + "</b> config" + (s.configs.length === 1 ? "" : "s") + " clear " + s.findings + " finding" +
        (s.findings === 1 ? "" : "s") + '<div class="quiet">' + esc(s.msg) + "</div>" +
        (s.fix ? '<div class="fix">Fix: ' + esc(s.fix) + "</div>" : "") + "</td><td>" + codes + "</td><td>" +
        s.keys.map(function (k) { return "<code>" + esc(k) + "</code>"; }).join("<br>") +
        '</td><td><a href="' + esc(matrixHref({base: s.file})) + '">in the matrix</a><details data-spot="' + i +
        '"><summary>configs</summary><div class="list"></div></details></td></tr>';
    }).join("");
    app.innerHTML = header("impact") + '<section><p>Findings whose value is set in a base file, by the file and line ' +
      "that own it: one edit there clears them in every config that inherits it.</p>" +
      (rows ? '<table id="impact"><thead><tr><th></th><th>where</th><th>codes</th><th>keys</th><th></th></tr></thead><tbody>' +
        rows + "</tbody></table>" : '<p class="quiet">No finding is owned by a base file.</p>') + "</section>";
    app.querySelectorAll("details[data-spot]").forEach(function (d) {
      d.addEventListener("toggle", function () {
        var box = d.querySelector(".list");
        if (d.open && !box.innerHTML) box.innerHTML = D.impact[+d.getAttribute("data-spot")].configs.map(configLink).join("<br>");
      });
    });
  }

  /* --- 3. one config ------------------------------------------------------------------------ */
  function moduleBars(model) {
    if (!model || !model.modules.length) return '<p class="quiet">This report has no module table (the model was not built, or the report does not carry it).</p>';
    var mods = model.modules, max = 1, rowH = 26, labelW = 230, barW = 420;
    mods.forEach(function (m) { max = Math.max(max, m.params); });
    var h = mods.length * rowH + 30, out = [];
    out.push('<svg id="module-bars" class="bars" width="' + (labelW + barW + 190) + '" height="' + h + '" role="img" aria-label="trainable and frozen parameters per module">');
    mods.forEach(function (m, i) {
      var y = i * rowH + 4, w = Math.max(2, barW * m.params / max), tw = m.params ? w * m.trainable / m.params : 0;
      out.push('<g class="bar" data-module="' + esc(m.path) + '"><title>' + esc(m.path + " (" + m.type + "): " + fmtInt(m.trainable) +
        " of " + fmtInt(m.params) + " parameters trainable; " + m.bn_train + " BatchNorm layer(s) in train mode; mode " + m.mode) + "</title>" +
        '<text x="' + (labelW - 6) + '" y="' + (y + 15) + '" text-anchor="end"' + (m.path.indexOf(".") >= 0 ? ' class="sub"' : "") + ">" + esc(m.path) + "</text>" +
        '<rect class="frozen" x="' + labelW + '" y="' + y + '" width="' + w.toFixed(1) + '" height="18"></rect>' +
        '<rect class="trainable" x="' + labelW + '" y="' + y + '" width="' + tw.toFixed(1) + '" height="18"></rect>' +
        '<text x="' + (labelW + w + 6).toFixed(1) + '" y="' + (y + 15) + '">' + fmtInt(m.params) +
        (m.bn_train ? ' · <tspan class="bn">' + m.bn_train + " BN train</tspan>" : "") + "</text></g>");
    });
    var ly = mods.length * rowH + 12;
    out.push('<rect class="trainable" x="' + labelW + '" y="' + ly + '" width="12" height="12"></rect><text x="' + (labelW + 16) + '" y="' + (ly + 11) +
      '">trainable</text><rect class="frozen" x="' + (labelW + 90) + '" y="' + ly + '" width="12" height="12"></rect><text x="' + (labelW + 106) +
      '" y="' + (ly + 11) + '">frozen</text><text class="bn" x="' + (labelW + 170) + '" y="' + (ly + 11) + '">BN train = BatchNorm layers in train mode</text></svg>');
    return '<p>' + fmtInt(model.trainable) + " of " + fmtInt(model.total) + " parameters trainable.</p>" + out.join("");
  }
  function timeline(c) {
    var tiers = TIERS.filter(function (t) { return c.tiers[t]; });
    if (!tiers.length) return '<p class="quiet">No tiers recorded.</p>';
    var total = 0;
    tiers.forEach(function (t) { total += Math.max(c.timings[t] || 0, 0); });
    var width = 800, minW = 82, free = width - minW * tiers.length, x = 0, out = [];
    out.push('<svg id="timeline" class="timeline" width="' + width + '" height="46" role="img" aria-label="tiers">');
    tiers.forEach(function (t) {
      var s = c.timings[t] || 0, w = minW + (total ? free * s / total : free / tiers.length), st = c.tiers[t];
      out.push('<g class="tier ' + esc(st) + '"><title>' + esc(t + ": " + st + (c.timings[t] !== undefined ? ", " + s.toFixed(2) + " s" : "")) +
        '</title><rect x="' + x.toFixed(1) + '" y="2" width="' + (w - 2).toFixed(1) + '" height="40" rx="3"></rect><text x="' + (x + 6).toFixed(1) +
        '" y="19">' + esc(t) + '</text><text x="' + (x + 6).toFixed(1) + '" y="35" class="small">' + esc(st) +
        (c.timings[t] !== undefined ? " · " + s.toFixed(1) + " s" : "") + "</text></g>");
      x += w;
    });
    out.push("</svg>");
    return out.join("");
  }
  function runPart(run) {
    if (!run) return "";
    var stages = Object.keys(run.stages).map(function (k) {
      var v = run.stages[k], ok = v.indexOf("ok") === 0;
      return '<li class="stage ' + (ok ? "ok" : "bad") + '"><b>' + esc(k) + "</b> " + esc(v) + "</li>";
    }).join("");
    var skipped = Object.keys(run.skipped).map(function (k) { return '<li class="stage"><b>' + esc(k) + "</b> skipped: " + esc(run.skipped[k]) + "</li>"; }).join("");
    var changes = run.changes === null ? '<p class="quiet">This report does not carry what the run changed in its private copy.</p>' : run.changes.length ? '<table class="changes"><thead><tr><th>key</th><th>changed in the private copy because</th></tr></thead><tbody>' +
      run.changes.map(function (ch) {
        return "<tr><td><code>" + esc(ch.key) + "</code>" + (ch.value ? " = <code>" + esc(ch.value) + "</code>" : "") + "</td><td>" + esc(ch.why) + "</td></tr>";
      }).join("") + "</tbody></table>" : '<p class="quiet">The run tier recorded no change to its private copy.</p>';
    return '<h2>Run tier</h2><ol class="stages" id="run-stages">' + stages + skipped + "</ol>" +
      (run.seconds !== undefined ? "<p>" + run.seconds.toFixed(1) + " s</p>" : "") + changes;
  }
  function configView(id) {
    var c = D.configs[id];
    if (!c) { app.innerHTML = header("") + '<p class="errors">No config ' + esc(id) + " in this dashboard.</p>"; return; }
    var src = D.sources[c.src];
    app.innerHTML = header("") + '<section id="config"><h2 class="path">' + esc(c.path) + "</h2><p>" + esc(c.status) +
      (c.reason ? " — " + esc(c.reason) : "") + (src ? ' · from <span class="quiet">' + esc(src.path) + "</span>" : "") + "</p>" +
      c.errors.map(function (e) { return '<p class="errors">' + esc(e) + "</p>"; }).join("") +
      "<h2>Findings</h2>" + findingsTable(c.findings, false) +
      (c.suppressed.length ? "<h2>Suppressed here</h2>" + findingsTable(c.suppressed, false) : "") +
      "<h2>Modules</h2>" + moduleBars(c.model) + "<h2>Tiers</h2>" + timeline(c) + runPart(c.run) + sheets(c) + "</section>";
  }

  function sheets(c) {
    if (!c.sheets || !c.sheets.length) return "";
    return '<h2>What the model sees</h2><p class="quiet">Samples drawn through the config\'s own pipelines ' +
      "(<code>detaudit data</code>), one contact sheet per split.</p>" + c.sheets.map(function (s) {
        return '<figure class="sheet"><figcaption>' + esc(s.split) + '</figcaption><img src="' + esc(s.src) +
          '" alt="contact sheet of the ' + esc(s.split) + ' split" style="max-width:100%"></figure>';
      }).join("");
  }

  /* --- 4. rules ----------------------------------------------------------------------------- */
  function rulesView() {
    var count = {}, configs = {}, supp = {}, oldest = {}, now = Date.now() / 1000;
    D.configs.forEach(function (c) {
      var seen = {};
      c.findings.forEach(function (f) { count[f.code] = (count[f.code] || 0) + 1; seen[f.code] = 1; });
      Object.keys(seen).forEach(function (k) { configs[k] = (configs[k] || 0) + 1; });
    });
    D.suppressions.forEach(function (s) {
      supp[s.code] = (supp[s.code] || 0) + 1;
      if (s.since && (!oldest[s.code] || s.since < oldest[s.code])) oldest[s.code] = s.since;
    });
    function age(t) { if (!t) return ""; var d = Math.floor((now - t) / 86400); return d < 1 ? "today" : d + " days"; }
    var codes = Object.keys(D.rules).sort(function (a, b) { return (count[b] || 0) - (count[a] || 0) || (a < b ? -1 : 1); });
    var rows = codes.map(function (code) {
      var r = D.rules[code];
      return '<tr class="rule" data-code="' + esc(code) + '"><td>' + ruleLink(code) + "</td><td>" + esc(r.name) + "</td><td>" + esc(r.group) +
        "</td><td>" + esc(r.severity) + '</td><td class="num">' + (count[code] || "") + '</td><td class="num">' +
        (configs[code] ? '<a href="' + esc(matrixHref({code: code})) + '">' + configs[code] + "</a>" : "") +
        '</td><td class="num">' + (supp[code] || "") + "</td><td>" + age(oldest[code]) + "</td><td>" + esc(r.summary) + "</td></tr>";
    }).join("");
    var sl = D.suppressions.length ? '<h2>Suppressions</h2><table class="difflist" id="suppressions"><thead><tr><th>code</th><th>config</th><th>key</th><th>where</th><th>first seen</th></tr></thead><tbody>' +
      D.suppressions.map(function (s) {
        return "<tr><td>" + ruleLink(s.code) + "</td><td>" + configLink(s.config) + "</td><td><code>" + esc(s.key || "") + "</code></td><td><code>" +
          esc(where(s)) + "</code></td><td>" + (s.since ? esc(new Date(s.since * 1000).toISOString().slice(0, 10)) + " (" + age(s.since) + ")" : "") + "</td></tr>";
      }).join("") + "</tbody></table>" : '<p class="quiet">No finding is suppressed by a <code># detaudit: ignore[...]</code> comment in these reports.</p>';
    app.innerHTML = header("rules") + '<section><table id="rules"><thead><tr><th>code</th><th>name</th><th>group</th><th>severity</th><th>findings</th>' +
      "<th>configs</th><th>suppressed</th><th>oldest suppression</th><th>summary</th></tr></thead><tbody>" + rows + "</tbody></table>" + sl + "</section>";
  }

  /* --- 5. new / fixed / unchanged ----------------------------------------------------------- */
  function diffView() {
    var d = D.diff;
    if (!d) {
      app.innerHTML = header("diff") + '<section><p class="quiet">No baseline given. Build the dashboard with ' +
        "<code>detaudit dashboard REPORT.json --baseline EARLIER.json -o DIR</code> (an earlier report or a " +
        "<code>--write-baseline</code> file) to see what is new, fixed and unchanged.</p></section>";
      return;
    }
    function list(items, id, fixed) {
      if (!items.length) return '<p class="quiet" id="' + id + '">None.</p>';
      var shown = items.slice(0, 500);
      return '<table class="difflist" id="' + id + '"><thead><tr><th>config</th><th>code</th><th>severity</th><th>key</th><th>message</th></tr></thead><tbody>' +
        shown.map(function (f) {
          return "<tr><td>" + (fixed ? esc(f.config) + (f.audited ? "" : ' <span class="quiet">(not in these reports)</span>') : configLink(f.config)) +
            "</td><td>" + ruleLink(f.code) + "</td><td>" + sevBadge(RANK[f.sev]) + "</td><td>" + (f.key || f.mod ? "<code>" + esc(f.key || f.mod) + "</code>" : "") +
            "</td><td>" + esc(f.msg) + "</td></tr>";
        }).join("") + "</tbody></table>" + (items.length > shown.length ? '<p class="quiet">and ' + (items.length - shown.length) + " more</p>" : "");
    }
    app.innerHTML = header("diff") + '<section><p>Against <code>' + esc(d.baseline) + "</code> (" + esc(d.kind) + "), by fingerprint: " +
      'rule, config, key path and module path, so moved lines do not count as changes.</p><div class="counts">' +
      '<span class="sev s3" id="n-new">' + d.new.length + ' new</span> <span class="sev ok" id="n-fixed">' + d.fixed.length +
      ' fixed</span> <span class="sev s1" id="n-unchanged">' + d.unchanged.length + " unchanged</span></div>" +
      "<h2>New</h2>" + list(d.new, "diff-new") + "<h2>Fixed</h2>" + list(d.fixed, "diff-fixed", true) +
      "<details><summary>Unchanged (" + d.unchanged.length + ")</summary>" + list(d.unchanged, "diff-unchanged") + "</details></section>";
  }

  var FILTERS = ["path", "base", "code", "sev"];
  function matrixHref(filters) {
    var q = new URLSearchParams();
    FILTERS.forEach(function (k) { if (filters[k]) q.set(k, filters[k]); });
    var text = q.toString();
    return "#/matrix" + (text ? "?" + text : "");
  }
  function route() {
    var parts = location.hash.replace(/^#\/?/, "").split("?");
    var h = parts[0].split("/");
    if ((h[0] === "matrix" || h[0] === "") && parts[1] !== undefined) {   // a link that sets the filters
      var q = new URLSearchParams(parts.slice(1).join("?"));
      FILTERS.forEach(function (k) { state[k] = q.get(k) || ""; });
      state.cell = null;
    }
    if (h[0] === "config") configView(+h[1]);
    else if (h[0] === "impact") impact();
    else if (h[0] === "rules") rulesView();
    else if (h[0] === "diff") diffView();
    else matrix();
    window.scrollTo(0, 0);
  }
  window.addEventListener("hashchange", route);
  route();
  document.body.setAttribute("data-ready", "1");
  window.DETAUDIT_READY_MS = performance.now();
})();
