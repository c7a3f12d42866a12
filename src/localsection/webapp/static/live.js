// localsection live updates: ONE EventSource for the topics of the elements on the page. An element with
// data-live-topic="task:34" (a comma list is allowed) and data-live-src="<url of an HTML fragment>" gets its
// contents replaced by that fragment when a matching change arrives (debounced). Without this file pages
// simply do not update live.
(function () {
  "use strict";
  if (!window.EventSource || !window.fetch) return;
  var script = document.currentScript;
  var root = script ? script.src.replace(/\/static\/live\.js.*$/, "") : "";
  var DEBOUNCE = 300;

  function elements() { return Array.prototype.slice.call(document.querySelectorAll("[data-live-topic][data-live-src]")); }
  function topicsOf(el) { return el.getAttribute("data-live-topic").split(",").map(function (t) { return t.trim(); }); }

  function refresh(el) {
    if (el._liveTimer) clearTimeout(el._liveTimer);
    el._liveTimer = setTimeout(function () {
      el._liveTimer = null;
      if (el.contains(document.activeElement) && document.activeElement.matches("input, textarea, select")) {
        el._livePending = true; // do not pull a field from under the person typing; refresh when they leave it
        return;
      }
      fetch(el.getAttribute("data-live-src"), { credentials: "same-origin", headers: { "X-Live": "1" } })
        .then(function (resp) { return resp.ok ? resp.text() : null; })
        .then(function (html) {
          if (html === null) return;
          el.innerHTML = html;
          el.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
        })
        .catch(function () {});
    }, DEBOUNCE);
  }

  document.addEventListener("focusout", function (event) {
    elements().forEach(function (el) {
      if (el._livePending && el.contains(event.target)) { el._livePending = false; refresh(el); }
    });
  });

  function start() {
    var all = {};
    elements().forEach(function (el) { topicsOf(el).forEach(function (t) { all[t] = true; }); });
    var topics = Object.keys(all);
    if (!topics.length) return;
    var source = new EventSource(root + "/live?topics=" + encodeURIComponent(topics.join(",")));
    source.addEventListener("change", function (event) {
      var change;
      try { change = JSON.parse(event.data); } catch (e) { return; }
      elements().forEach(function (el) {
        if (topicsOf(el).indexOf(change.topic) >= 0) refresh(el);
      });
    });
    // "on" once the stream is open (the server has registered it): from then on no change is missed
    source.addEventListener("open", function () { document.documentElement.setAttribute("data-live", "on"); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
