// A page waiting for a report: ask its status every 3 seconds (no reload, so nothing the person
// is doing is lost), reload once it changes, and leave for data-poll-gone when it is gone.
(function () {
  "use strict";
  var body = document.body;
  var url = body.getAttribute("data-poll");
  if (!url) { return; }
  var waiting = ["pending", "rendering"];
  // A page that is leaving (the terminal's idle logout) is not reloaded from under its navigation.
  function leaving() { return body.hasAttribute("data-leaving"); }
  function ask() {
    if (leaving()) { return; }
    fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (leaving()) { return null; }
      if (!r.ok) {
        var gone = body.getAttribute("data-poll-gone");
        if (gone) { window.location.replace(gone); }
        return null;
      }
      return r.json();
    }).then(function (data) {
      if (!data) { return; }
      if (waiting.indexOf(data.status) < 0) { window.location.reload(); } else { setTimeout(ask, 3000); }
    }, function () { setTimeout(ask, 3000); });
  }
  setTimeout(ask, 3000);
})();
