"use strict";
// The findings table: data embedded once as compact JSON (#gavel-data), filtered and sorted in
// memory, rendered one page at a time; the filter state lives in the URL hash, so a link or a
// reload shows the same view.
(function () {
  var data = JSON.parse(document.getElementById("gavel-data").textContent);
  var PAGE = 100;
  var ST = data.statuses, SEV = data.severities, P = data.policies, S = data.subjects, M = data.messages;
  var all = data.findings;
  var tbody = document.querySelector("#results tbody");
  var shown = document.getElementById("shown");
  var subject = document.getElementById("f-subject");
  var framework = document.getElementById("f-framework");
  var text = document.getElementById("f-text");
  var sortSel = document.getElementById("f-sort");
  var state = { page: 0, sort: "status", desc: false };
  var current = [];

  function esc(v) {
    return String(v).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function boxes(name) {
    return Array.prototype.slice.call(document.querySelectorAll("input[name=" + name + "]"));
  }
  function checked(name) {
    var out = {};
    boxes(name).forEach(function (b) { out[b.value] = b.checked; });
    return out;
  }
  function frameworksOf(f) {
    var p = P[f[2]];
    return f.length > 8 && f[8] ? f[8].concat(p[4]) : p[3].concat(p[4]);
  }
  var keys = {
    status: function (f) { return [f[0], f[1], S[f[3]][0], P[f[2]][0]]; },
    severity: function (f) { return [f[1], f[0], S[f[3]][0], P[f[2]][0]]; },
    subject: function (f) { return [S[f[3]][0], f[0], f[1], P[f[2]][0]]; },
    policy: function (f) { return [P[f[2]][0], f[0], f[1], S[f[3]][0]]; },
    finding: function (f) { return [M[f[4]], f[0], S[f[3]][0]]; }
  };
  function compare(a, b) {
    for (var i = 0; i < a.length; i++) {
      if (a[i] < b[i]) return -1;
      if (a[i] > b[i]) return 1;
    }
    return 0;
  }

  // Each sort order is computed once and kept: a filter click then only walks the findings.
  var orders = {};
  function ordered(name) {
    if (!orders[name]) {
      var key = keys[name] || keys.status;
      var decorated = all.map(function (f) { return [key(f), f]; });
      decorated.sort(function (a, b) { return compare(a[0], b[0]); });
      orders[name] = decorated.map(function (d) { return d[1]; });
    }
    return orders[name];
  }

  function filter() {
    var statuses = checked("status"), severities = checked("severity");
    var subj = subject.value.trim().toLowerCase(), fw = framework.value, q = text.value.trim().toLowerCase();
    var out = [], source = ordered(state.sort);
    for (var i = 0; i < source.length; i++) {
      var f = source[i];
      if (!statuses[ST[f[0]]] || !severities[SEV[f[1]]]) continue;
      if (subj && S[f[3]][0].toLowerCase().indexOf(subj) === -1) continue;
      if (fw && frameworksOf(f).indexOf(fw) === -1) continue;
      if (q) {
        var hay = (M[f[4]] + " " + P[f[2]][0] + " " + P[f[2]][1] + " " + S[f[3]][0]).toLowerCase();
        if (hay.indexOf(q) === -1) continue;
      }
      out.push(f);
    }
    current = state.desc ? out.reverse() : out;
  }

  function row(f, index) {
    var p = P[f[2]], s = S[f[3]];
    return '<tr class="finding" data-index="' + index + '" data-status="' + ST[f[0]] + '" data-severity="' +
      SEV[f[1]] + '" data-subject="' + esc(s[0]) + '"><td><span class="badge ' + ST[f[0]] + '">' + ST[f[0]] +
      '</span></td><td class="sev ' + SEV[f[1]] + '">' + SEV[f[1]] + "</td><td>" + esc(s[0]) + "</td><td><code>" +
      esc(p[0]) + '</code></td><td><button type="button" class="expand" aria-expanded="false">' + esc(M[f[4]]) +
      "</button></td></tr>";
  }

  function detail(f) {
    var p = P[f[2]], s = S[f[3]], out = ["<dl class=\"body\">"];
    out.push("<dt>policy</dt><dd><code>" + esc(p[0]) + "</code>: " + esc(p[1]) + "</dd>");
    if (s[1]) out.push("<dt>source</dt><dd><code>" + esc(s[1]) + "</code></dd>");
    if (f[7] && f[7].length) out.push("<dt>lineage path</dt><dd>" + f[7].map(pathSvg).join("") + "</dd>");
    if (f[5] !== undefined && f[5] !== null) {
      out.push("<dt>evidence</dt><dd><pre>" + esc(JSON.stringify(f[5], null, 2)) + "</pre></dd>");
    }
    if (p[2]) out.push("<dt>remediation</dt><dd>" + esc(p[2]) + "</dd>");
    var fws = f.length > 8 && f[8] ? f[8] : p[3];
    if (fws.length) out.push("<dt>frameworks</dt><dd>" + esc(fws.join(", ")) + "</dd>");
    if (f[6]) {
      var w = f[6];
      out.push("<dt>waiver</dt><dd>" + esc((w.id || "") + " " + (w.reason || "")) + " (owner " + esc(w.owner || "?") +
        ", approver " + esc(w.approver || "?") + ", expires " + esc(w.expires || "?") + ")</dd>");
    }
    out.push("</dl>");
    return out.join("");
  }

  // The path from source (first, red) to subject (last, blue): left to right when it fits, else
  // top to bottom (a phone).
  function pathSvg(nodes) {
    var ch = 7.2, pad = 10, h = 28, gap = 34, vgap = 22;
    var widths = nodes.map(function (n) { return Math.round(String(n).length * ch + 2 * pad); });
    var sum = widths.reduce(function (a, b) { return a + b; }, 0), widest = Math.max.apply(null, widths);
    var room = Math.min(640, tbody.clientWidth - 40 || 640);
    var across = sum + gap * (nodes.length - 1) + 4 <= room;
    var width = across ? sum + gap * (nodes.length - 1) + 4 : widest + 4;
    var height = across ? h + 4 : nodes.length * h + (nodes.length - 1) * vgap + 4;
    var out = ['<div class="lineage"><svg xmlns="http://www.w3.org/2000/svg" role="img" width="' + width +
      '" height="' + height + '" viewBox="0 0 ' + width + " " + height +
      '" font-family="ui-monospace,monospace" font-size="12"><title>' + esc(nodes.join(" -> ")) + "</title>"];
    var x = across ? 2 : 2 + (widest - widths[0]) / 2, y = 2;
    for (var i = 0; i < nodes.length; i++) {
      var w = widths[i], last = i === nodes.length - 1;
      var fill = i === 0 ? "#ffebee" : last ? "#e3f2fd" : "#f5f5f5";
      var stroke = i === 0 ? "#c62828" : last ? "#1565c0" : "#9e9e9e";
      out.push('<rect x="' + x + '" y="' + y + '" width="' + w + '" height="' + h + '" rx="5" fill="' + fill +
        '" stroke="' + stroke + '"/><text x="' + (x + w / 2).toFixed(1) + '" y="' + (y + h / 2 + 4) +
        '" text-anchor="middle">' + esc(nodes[i]) + "</text>");
      if (last) break;
      if (across) {
        x += w;
        var mid = y + h / 2;
        out.push('<line x1="' + (x + 2) + '" y1="' + mid + '" x2="' + (x + gap - 8) + '" y2="' + mid +
          '" stroke="#616161" stroke-width="1.5"/><polygon points="' + (x + gap - 2) + "," + mid + " " +
          (x + gap - 9) + "," + (mid - 4) + " " + (x + gap - 9) + "," + (mid + 4) + '" fill="#616161"/>');
        x += gap;
      } else {
        var cx = 2 + widest / 2, top = y + h;
        x = 2 + (widest - widths[i + 1]) / 2;
        out.push('<line x1="' + cx + '" y1="' + (top + 2) + '" x2="' + cx + '" y2="' + (top + vgap - 7) +
          '" stroke="#616161" stroke-width="1.5"/><polygon points="' + cx + "," + (top + vgap - 1) + " " +
          (cx - 4) + "," + (top + vgap - 8) + " " + (cx + 4) + "," + (top + vgap - 8) + '" fill="#616161"/>');
        y = top + vgap;
      }
    }
    out.push("</svg></div>");
    return out.join("");
  }

  function paint() {
    var pages = Math.max(1, Math.ceil(current.length / PAGE));
    if (state.page >= pages) state.page = pages - 1;
    var start = state.page * PAGE, html = [];
    for (var i = start; i < Math.min(current.length, start + PAGE); i++) html.push(row(current[i], i));
    tbody.innerHTML = html.join("");
    var hidden = ["pass", "skip"].filter(function (s) { return !checked("status")[s]; });
    shown.textContent = "Showing " + current.length + " of " + all.length + " findings" +
      (hidden.length ? " (" + hidden.join(" and ") + " hidden: tick them to show)" : "");
    document.getElementById("page").textContent = current.length ?
      "page " + (state.page + 1) + " of " + pages + " (" + (start + 1) + "–" + Math.min(current.length, start + PAGE) + ")" : "";
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
    document.querySelectorAll("button.sort").forEach(function (b) {
      b.setAttribute("aria-sort", b.dataset.sort === state.sort ? (state.desc ? "descending" : "ascending") : "none");
    });
    sortSel.value = state.sort;
  }

  function save() {
    var params = [];
    var st = boxes("status").filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    var sv = boxes("severity").filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    params.push("status=" + st.join(","), "severity=" + sv.join(","));
    if (subject.value) params.push("subject=" + encodeURIComponent(subject.value));
    if (framework.value) params.push("framework=" + encodeURIComponent(framework.value));
    if (text.value) params.push("q=" + encodeURIComponent(text.value));
    params.push("sort=" + (state.desc ? "-" : "") + state.sort);
    if (state.page) params.push("page=" + (state.page + 1));
    history.replaceState(null, "", "#" + params.join("&"));
  }

  function load() {
    var hash = location.hash.replace(/^#/, "");
    if (!hash) return;
    var params = {};
    hash.split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) params[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
    });
    ["status", "severity"].forEach(function (name) {
      if (params[name] === undefined) return;
      var on = params[name].split(",");
      boxes(name).forEach(function (b) { b.checked = on.indexOf(b.value) !== -1; });
    });
    subject.value = params.subject || "";
    framework.value = params.framework || "";
    text.value = params.q || "";
    var sort = params.sort || "status";
    state.desc = sort.charAt(0) === "-";
    state.sort = keys[sort.replace(/^-/, "")] ? sort.replace(/^-/, "") : "status";
    state.page = Math.max(0, (parseInt(params.page, 10) || 1) - 1);
  }

  function update(keepPage) {
    if (!keepPage) state.page = 0;
    filter();
    paint();
    save();
  }

  document.querySelectorAll("#filters input, #filters select:not(#f-sort)").forEach(function (el) {
    el.addEventListener(el.type === "search" ? "input" : "change", function () { update(false); });
  });
  sortSel.addEventListener("change", function () { state.sort = sortSel.value; state.desc = false; update(false); });
  document.querySelectorAll("button.sort").forEach(function (b) {
    b.addEventListener("click", function () {
      state.desc = state.sort === b.dataset.sort ? !state.desc : false;
      state.sort = b.dataset.sort;
      update(false);
    });
  });
  document.getElementById("prev").addEventListener("click", function () { state.page--; paint(); save(); });
  document.getElementById("next").addEventListener("click", function () { state.page++; paint(); save(); });
  document.getElementById("f-reset").addEventListener("click", function () {
    boxes("status").forEach(function (b) { b.checked = b.value !== "pass" && b.value !== "skip"; });
    boxes("severity").forEach(function (b) { b.checked = true; });
    subject.value = ""; framework.value = ""; text.value = "";
    state.sort = "status"; state.desc = false;
    update(false);
  });
  tbody.addEventListener("click", function (event) {
    var button = event.target.closest("button.expand");
    if (!button) return;
    var tr = button.closest("tr");
    var open = tr.nextElementSibling && tr.nextElementSibling.classList.contains("detail");
    if (open) {
      tr.parentNode.removeChild(tr.nextElementSibling);
      button.setAttribute("aria-expanded", "false");
      return;
    }
    var detailRow = document.createElement("tr");
    detailRow.className = "detail";
    detailRow.innerHTML = '<td colspan="5">' + detail(current[+tr.dataset.index]) + "</td>";
    tr.parentNode.insertBefore(detailRow, tr.nextSibling);
    button.setAttribute("aria-expanded", "true");
  });
  document.querySelectorAll("tr.control").forEach(function (r) {
    r.addEventListener("click", function () {
      framework.value = r.dataset.control;
      update(false);
      document.getElementById("findings").scrollIntoView();
    });
  });
  window.addEventListener("hashchange", function () { load(); filter(); paint(); });
  load();
  filter();
  paint();
})();
