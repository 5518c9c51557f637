// Landlord status page: live updates over server-sent events, and arrow keys in the graph.
// No framework and no build step; served as-is by the API (CSP: scripts from 'self' only).
(function () {
  "use strict";
  var body = document.body;
  var path = body.dataset.path;
  if (!path || path === "/ui/login") { return; }
  var live = document.getElementById("live");

  function say(text, stale) {
    if (!live) { return; }
    live.textContent = text;
    live.classList.toggle("stale", !!stale);
  }

  // Keep focus where it was across an update: the same row, link or graph node.
  function focusKey() {
    var el = document.activeElement;
    if (!el || el === body) { return null; }
    return el.getAttribute("data-key") || el.getAttribute("href");
  }
  function refocus(key) {
    if (!key) { return; }
    var main = document.getElementById("main");
    var nodes = main.querySelectorAll("[data-key], a[href]");
    for (var i = 0; i < nodes.length; i++) {
      if (nodes[i].getAttribute("data-key") === key || nodes[i].getAttribute("href") === key) {
        nodes[i].focus();
        return;
      }
    }
  }

  var url = "/ui/stream?path=" + encodeURIComponent(path) +
    "&version=" + encodeURIComponent(body.dataset.version || "0");
  var source = new EventSource(url);
  source.addEventListener("update", function (event) {
    var key = focusKey();
    document.getElementById("main").innerHTML = event.data;
    body.dataset.version = event.lastEventId;
    refocus(key);
    say("live · updated " + new Date().toLocaleTimeString(), false);
  });
  source.addEventListener("signedout", function () {
    source.close();
    window.location.assign("/ui/login");
  });
  source.onopen = function () { say("live", false); };
  source.onerror = function () { say("reconnecting…", true); };

  // In the dependency graph, arrow keys move between nodes (Tab works too).
  document.addEventListener("keydown", function (event) {
    var el = document.activeElement;
    if (!el || !el.classList || !el.classList.contains("node")) { return; }
    var keys = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 };
    var step = keys[event.key];
    if (!step) { return; }
    var nodes = Array.prototype.slice.call(document.querySelectorAll("svg.graph a.node"));
    var at = nodes.indexOf(el);
    if (at < 0) { return; }
    var next = nodes[(at + step + nodes.length) % nodes.length];
    next.focus();
    event.preventDefault();
  });
})();
