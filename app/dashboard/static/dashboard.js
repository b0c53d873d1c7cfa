// vidgen review dashboard: live board, review keyboard shortcuts, small form helpers.
// Hand-written, no dependencies. Every action is a plain form POST carrying its CSRF field,
// so the pages keep working without this script; it only makes them quicker to use.
(function () {
  "use strict";

  var POLL_MS = 3000;

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  // ---- Board: poll the lanes fragment and swap it in when it changed --------------------
  function liveBoard(board) {
    var url = board.getAttribute("data-poll");
    var stamp = document.getElementById("board-updated");
    var last = board.innerHTML;
    var busy = false;

    function focusKey() {
      var el = document.activeElement;
      if (!el || !board.contains(el)) return null;
      var card = el.closest("[data-task-id]");
      return card ? card.getAttribute("data-task-id") : null;
    }

    function tick() {
      if (busy || document.hidden) return;
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (response.redirected && response.url.indexOf("/sign-in") !== -1) {
            window.location.reload(); // session expired: let the page send us to sign-in
            return null;
          }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html === null) return;
          if (html !== last) {
            var keep = focusKey();
            board.innerHTML = html;
            last = board.innerHTML;
            if (keep) {
              var link = board.querySelector('[data-task-id="' + keep + '"] a');
              if (link) link.focus();
            }
          }
          if (stamp) stamp.textContent = "Updated " + new Date().toISOString().substring(11, 19) + " UTC";
        })
        .catch(function () { /* network blip: try again next tick */ })
        .then(function () { busy = false; });
    }

    window.setInterval(tick, POLL_MS);
  }

  // ---- Review page: shortcuts and the notes a rejection needs ----------------------------
  function reviewPage(form) {
    var notes = document.getElementById("notes");
    var hint = document.getElementById("notes-hint");
    var approve = document.getElementById("approve-btn");
    var reject = document.getElementById("reject-btn");
    var submitted = false;

    function needNotes() {
      if (notes && notes.value.trim()) return false;
      if (hint) hint.hidden = false;
      if (notes) notes.focus();
      return true;
    }

    if (reject) {
      reject.addEventListener("click", function (event) {
        if (needNotes()) event.preventDefault();
      });
    }
    form.addEventListener("submit", function (event) {
      if (submitted) event.preventDefault(); // one decision per page
      submitted = true;
    });

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      var key = event.key;
      if (key === "a" && approve) {
        event.preventDefault();
        approve.click();
      } else if (key === "r" && reject) {
        event.preventDefault();
        if (!needNotes()) reject.click();
      } else if (key === "j" || key === "k") {
        var link = document.getElementById(key === "j" ? "next-task" : "prev-task");
        if (link) {
          event.preventDefault();
          window.location.assign(link.href);
        }
      }
    });
  }

  // ---- Forms that ask first (cancel) --------------------------------------------------------
  function confirmForms() {
    document.querySelectorAll("form.confirm").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm") || "Are you sure?")) {
          event.preventDefault();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var board = document.getElementById("board");
    if (board && board.hasAttribute("data-poll")) liveBoard(board);
    var review = document.getElementById("review-form");
    if (review) reviewPage(review);
    confirmForms();
  });
})();
