// The few things the pages do in the browser: domain search and 全部, the span presets, the
// live report status, photo limits before upload, and printing. The pages work without it.
(function () {
  "use strict";
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  var all = $("#all-domains");
  if (all) {
    var boxes = $$("input[name=domains]");
    all.addEventListener("change", function () {
      if (all.checked) boxes.forEach(function (b) { b.checked = false; });
    });
    boxes.forEach(function (b) {
      b.addEventListener("change", function () {
        all.checked = !boxes.some(function (x) { return x.checked; });
      });
    });
    var search = $("#domain-search");
    search.addEventListener("input", function () {
      var q = search.value.trim();
      var shown = 0;
      $$("[data-group]").forEach(function (group) {
        var visible = 0;
        $$(".chip", group).forEach(function (chip) {
          var hit = !q || chip.textContent.indexOf(q) >= 0 || chip.dataset.domain.indexOf(q) >= 0;
          chip.hidden = !hit;
          if (hit) visible++;
        });
        group.hidden = visible === 0;
        shown += visible;
      });
      $("#domain-none").hidden = shown > 0;
    });
  }

  var dates = $("#custom-dates");
  if (dates) {
    var spans = $$("input[name=span]");
    var sync = function () {
      var custom = spans.some(function (r) { return r.checked && r.value === "custom"; });
      dates.hidden = !custom;
      $("#from").required = custom;
    };
    spans.forEach(function (r) { r.addEventListener("change", sync); });
    sync();
  }

  var status = $("[data-poll]");
  if (status) {
    var poll = function () {
      fetch(status.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) {
          if (!body) return setTimeout(poll, 3000);
          $("[data-status-label]").textContent = body.status_label;
          if (body.status === "ready" || body.status === "failed") location.reload();
          else setTimeout(poll, 1500);
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 1000);
  }

  var images = $("#images");
  if (images) {
    images.addEventListener("change", function () {
      var max = +images.dataset.maxCount, maxBytes = +images.dataset.maxBytes;
      var files = Array.prototype.slice.call(images.files);
      var problem = "";
      if (files.length > max) problem = "最多上传 " + max + " 张图片，请重新选择。";
      files.forEach(function (f) {
        if (!problem && f.size > maxBytes) problem = "图片“" + f.name + "”超过 " + (maxBytes / 1048576) + " MB，请压缩后重新选择。";
        if (!problem && !/^image\/(jpeg|png)$/.test(f.type)) problem = "“" + f.name + "”不是 JPG 或 PNG 图片。";
      });
      var box = $("#image-error");
      box.textContent = problem;
      box.hidden = !problem;
      if (problem) images.value = "";
      var list = $("#image-list");
      list.textContent = "";
      if (!problem) files.forEach(function (f) {
        var li = document.createElement("li");
        li.textContent = f.name + "（" + Math.ceil(f.size / 1024) + " KB）";
        list.appendChild(li);
      });
    });
  }

  $$("[data-print]").forEach(function (b) { b.addEventListener("click", function () { window.print(); }); });
})();
