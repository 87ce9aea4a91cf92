// Display board: show "connection lost" instead of silently freezing.
// htmx polls the board's content; any failed, timed-out or stalled poll
// shows the banner until a poll succeeds again.
(function () {
  "use strict";
  var lastOk = Date.now();
  var STALE_MS = 20000;

  function banner() { return document.getElementById("connection-lost"); }
  function show() { var b = banner(); if (b) { b.hidden = false; } }
  function hide() { var b = banner(); if (b) { b.hidden = true; } }

  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    if (event.detail.successful || (xhr && xhr.status === 304)) {
      lastOk = Date.now();
      hide();
    } else {
      show();
    }
  });
  ["htmx:sendError", "htmx:timeout", "htmx:responseError"].forEach(function (name) {
    document.addEventListener(name, show);
  });
  window.addEventListener("offline", show);
  setInterval(function () {
    if (Date.now() - lastOk > STALE_MS) { show(); }
  }, 5000);
})();
