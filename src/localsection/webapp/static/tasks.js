// localsection task list: collapsible subtasks. Without this file every subtask is shown.
(function () {
  "use strict";
  function setUp(scope) {
    scope.querySelectorAll("button[data-toggle-children]").forEach(function (button) {
      button.hidden = false;
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-toggle-children]") : null;
    if (!button) return;
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    document.querySelectorAll('tr[data-child-of="' + button.getAttribute("data-toggle-children") + '"]')
      .forEach(function (row) { row.hidden = !open; });
  });
  document.addEventListener("live:updated", function (event) { setUp(event.target); });
  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
})();
