// The task page (web-taskpage): the running timer ticks. The page works without this file.
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function show(seconds) {
    return pad(Math.floor(seconds / 3600)) + ":" + pad(Math.floor(seconds % 3600 / 60)) + ":" + pad(seconds % 60);
  }
  var loaded = Date.now();
  function tick() {
    var elapsed = Math.floor((Date.now() - loaded) / 1000);
    document.querySelectorAll("[data-timer-elapsed]").forEach(function (el) {
      if (!el.dataset.timerBase) {  // a section refreshed by live.js brings its own starting value
        el.dataset.timerBase = String(parseInt(el.dataset.timerElapsed, 10) - elapsed);
      }
      el.textContent = show(parseInt(el.dataset.timerBase, 10) + elapsed);
    });
  }
  setInterval(tick, 1000);
})();
