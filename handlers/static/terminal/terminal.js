// The self-service terminal: an idle timer that ends the visit, and an on-screen keyboard
// typing into the field last focused. The pages work without it (the visit also expires on
// the server).
(function () {
  "use strict";
  var body = document.body;
  var idleMs = 1000 * parseInt(body.getAttribute("data-idle-seconds") || "60", 10);
  var idleUrl = body.getAttribute("data-idle-url");
  var timer = null;
  function restart() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () {
      document.querySelectorAll("input").forEach(function (i) { i.value = ""; });
      body.setAttribute("data-leaving", "");  // no other script may navigate after this
      window.location.replace(idleUrl);
    }, idleMs);
  }
  ["pointerdown", "keydown", "input", "touchstart"].forEach(function (type) {
    document.addEventListener(type, restart, { passive: true });
  });
  restart();

  var target = document.querySelector("[data-card-reader]") || document.querySelector("[data-osk]");
  document.querySelectorAll("[data-osk]").forEach(function (input) {
    input.addEventListener("focus", function () { target = input; });
  });
  document.querySelectorAll(".osk-key").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!target) { return; }
      var key = button.getAttribute("data-key");
      if (key === "back") { target.value = target.value.slice(0, -1); }
      else if (key === "clear") { target.value = ""; }
      else if (target.value.length < (target.maxLength > 0 ? target.maxLength : 64)) { target.value += key; }
      target.focus();
    });
  });
})();
