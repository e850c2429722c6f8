// Live progress on the dashboard: each entry still being worked on follows its Server-Sent Events stream
// (GET /watchlist/{id}/events, the session cookie authenticates it) and its row moves without a reload.
// Without JavaScript the pages read the same, only not live. No framework, no build step.
"use strict";
(function () {
  // Browsers open at most six connections per host over HTTP/1.1: follow four rows at a time, the rest after.
  var MAX_STREAMS = 4;
  var open = 0;
  var waiting = [];

  function finished(status, refreshing) { return status !== "processing" && !refreshing; }

  function apply(element, data) {
    element.setAttribute("data-status", data.status);
    var status = element.querySelector("[data-role=status]");
    if (status) { status.textContent = data.status; status.className = "status status-" + data.status; }
    var stage = element.querySelector("[data-role=stage]");
    if (stage) { stage.textContent = data.stage; }
    var progress = element.querySelector("[data-role=progress]");
    if (progress) { progress.value = data.progress; progress.textContent = data.progress + "%"; }
  }

  // Once an entry is done, the server renders its row again (health score, last commit): one source of markup.
  function refreshRow(row, id) {
    fetch("/watchlist/" + encodeURIComponent(id) + "/row", { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var template = document.createElement("template");
        template.innerHTML = html.trim();
        var fresh = template.content.querySelector("tr");
        if (fresh && row.parentNode) { row.parentNode.replaceChild(fresh, row); }
      })
      .catch(function () { /* the page still shows the status; a reload brings the rest */ });
  }

  function follow(element, onDone) {
    var id = element.getAttribute("data-entry-id");
    open += 1;
    var source = new EventSource("/watchlist/" + encodeURIComponent(id) + "/events");
    var closed = false;
    function close() {
      if (closed) { return; }
      closed = true;
      source.close();
      open -= 1;
      var next = waiting.shift();
      if (next) { follow(next.element, next.onDone); }
    }
    // A dropped connection is retried by the browser itself; a refused one (the session ended, the entry is gone)
    // closes the stream for good: give its slot to the next row rather than hold it.
    source.addEventListener("error", function () { if (source.readyState === EventSource.CLOSED) { close(); } });
    source.addEventListener("status", function (event) {
      var data = JSON.parse(event.data);
      apply(element, data);
      if (finished(data.status, data.refreshing)) { close(); onDone(element, id); }
    });
    source.addEventListener("deleted", function () { close(); element.remove(); });
  }

  function start(element, onDone) {
    if (open < MAX_STREAMS) { follow(element, onDone); } else { waiting.push({ element: element, onDone: onDone }); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var rows = document.querySelectorAll("#watchlist tr[data-entry-id]");
    Array.prototype.forEach.call(rows, function (row) {
      if (finished(row.getAttribute("data-status"), row.hasAttribute("data-refreshing"))) { return; }
      start(row, refreshRow);
    });
    var state = document.querySelector("#state[data-live]");
    if (state) {
      // The repository page: when the run ends, load the page again for the new report and charts.
      // (Without the query: a notice such as "A re-check is under way" belongs to the moment of the form.)
      start(state, function () { window.location.replace(window.location.pathname); });
    }
  });
})();
