// dialtone console: the live regions. A page with data-live-feed listens to the server's
// event stream and replaces each region (data-live-region="name") with the HTML the
// server sends for it: the rendering stays on the server, the page never reloads.
(function () {
  "use strict";
  function start() {
    var feed = document.querySelector("[data-live-feed]");
    if (!feed || !window.EventSource) { return; }
    var source = new EventSource(feed.getAttribute("data-live-feed"));
    source.addEventListener("regions", function (event) {
      var regions = JSON.parse(event.data);
      Object.keys(regions).forEach(function (name) {
        var region = document.querySelector('[data-live-region="' + name + '"]');
        if (region) { region.innerHTML = regions[name]; }
      });
      document.documentElement.setAttribute("data-live-updated", String(Date.now()));
    });
    source.addEventListener("error", function () {
      // Signed out (401) or the server went away: the browser retries on its own; after
      // a sign-out the page itself goes to the sign-in form on the next reload.
      document.documentElement.setAttribute("data-live-state", "retrying");
    });
    source.addEventListener("open", function () {
      document.documentElement.setAttribute("data-live-state", "open");
    });
  }
  // Forms that ask first (data-confirm): a destructive action is confirmed.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else { start(); }
})();
