// localsection web app: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // <select data-autosubmit>: submit its form on change (the form's own button stays for no-JS use).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
      el.form.requestSubmit();
    }
  });

  // <form data-confirm="question">: ask before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // Close the user menu with Escape or a click elsewhere, returning focus to its toggle.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.usermenu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.usermenu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
})();

// web-polish: a running timer ticks (the header's badge on every page, the task page's timer section); the
// server renders the elapsed time, so without this file it simply stands still.
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
