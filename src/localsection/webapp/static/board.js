// localsection board: drag a card to another column to change its status (HTML5 drag and drop). The "Move to"
// list on each card does the same without a mouse or JavaScript. After a move the board is fetched again.
(function () {
  "use strict";
  var board = null;
  var dragged = null;

  function reload() {
    var src = board.getAttribute("data-live-src");
    return fetch(src, { credentials: "same-origin" })
      .then(function (resp) { return resp.ok ? resp.text() : null; })
      .then(function (html) { if (html !== null) board.innerHTML = html; });
  }

  function move(taskId, tagId) {
    var body = new URLSearchParams();
    body.set("csrf", board.getAttribute("data-csrf"));
    body.set("group", board.getAttribute("data-group"));
    body.set("tag", tagId);
    body.set("quiet", "1");
    board.setAttribute("aria-busy", "true");
    return fetch(board.getAttribute("data-move-url") + taskId + "/move", {
      method: "POST", credentials: "same-origin", body: body, redirect: "manual"
    }).then(reload).finally(function () { board.removeAttribute("aria-busy"); });
  }

  function column(el) { return el && el.closest ? el.closest(".board-column") : null; }

  document.addEventListener("DOMContentLoaded", function () {
    board = document.getElementById("board");
    if (!board) return;
    board.addEventListener("dragstart", function (event) {
      var card = event.target.closest(".board-card");
      if (!card) return;
      dragged = card;
      card.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.getAttribute("data-task"));
    });
    board.addEventListener("dragend", function () {
      if (dragged) dragged.classList.remove("dragging");
      dragged = null;
      board.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
    });
    board.addEventListener("dragover", function (event) {
      var col = column(event.target);
      if (!col || !dragged) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      board.querySelectorAll(".drop-target").forEach(function (c) { if (c !== col) c.classList.remove("drop-target"); });
      col.classList.add("drop-target");
    });
    board.addEventListener("drop", function (event) {
      var col = column(event.target);
      if (!col || !dragged) return;
      event.preventDefault();
      var taskId = event.dataTransfer.getData("text/plain") || dragged.getAttribute("data-task");
      if (column(dragged) === col) return;
      col.querySelector(".board-cards").appendChild(dragged); // at once; the reload confirms it
      move(taskId, col.getAttribute("data-tag"));
    });
  });
})();
