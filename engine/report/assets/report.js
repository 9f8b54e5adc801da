"use strict";
(function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll("#findings tbody tr.finding"));
  var shown = document.getElementById("shown");
  var subject = document.getElementById("f-subject");
  var framework = document.getElementById("f-framework");
  var text = document.getElementById("f-text");
  function checked(name) {
    var out = {};
    document.querySelectorAll("input[name=" + name + "]").forEach(function (box) { out[box.value] = box.checked; });
    return out;
  }
  function apply() {
    var statuses = checked("status"), severities = checked("severity");
    var subj = subject.value.trim().toLowerCase(), fw = framework.value, q = text.value.trim().toLowerCase();
    var count = 0;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i], d = r.dataset;
      var ok = statuses[d.status] && severities[d.severity] &&
        (!subj || d.subject.toLowerCase().indexOf(subj) !== -1) &&
        (!fw || ("|" + d.frameworks + "|").indexOf("|" + fw + "|") !== -1) &&
        (!q || r.textContent.toLowerCase().indexOf(q) !== -1);
      r.hidden = !ok;
      if (ok) count++;
    }
    shown.textContent = "Showing " + count + " of " + rows.length + " findings";
  }
  document.querySelectorAll("#filters input, #filters select").forEach(function (el) {
    el.addEventListener(el.type === "search" ? "input" : "change", apply);
  });
  document.getElementById("f-reset").addEventListener("click", function () {
    document.querySelectorAll("#filters input[type=checkbox]").forEach(function (box) { box.checked = true; });
    subject.value = ""; framework.value = ""; text.value = ""; apply();
  });
  document.querySelectorAll("tr.control").forEach(function (row) {
    row.addEventListener("click", function () {
      framework.value = row.dataset.control; apply();
      document.getElementById("findings").scrollIntoView();
    });
  });
  apply();
})();
