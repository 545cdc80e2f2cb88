// Live updates for pages that have them; every page works without this script.
// The server sends rendered, escaped HTML fragments; they are parsed, never eval'ed.
(function () {
  "use strict";
  function follow(el, onEvent) {
    if (!window.EventSource) return;
    var src = new EventSource(el.getAttribute("data-live"));
    src.addEventListener("row", function (e) { onEvent(e.data); });
    window.addEventListener("pagehide", function () { src.close(); });
  }
  function fragment(html, wrapper) {
    var t = document.createElement("template");
    t.innerHTML = wrapper ? "<table><tbody>" + html + "</tbody></table>" : html;
    return wrapper ? t.content.querySelector("tr") : t.content.firstElementChild;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var list = document.getElementById("incident-list");
    if (list && list.getAttribute("data-live")) {
      var body = list.tBodies[0];
      follow(list, function (html) {
        var row = fragment(html, true);
        if (!row || body.querySelector('tr[data-id="' + row.getAttribute("data-id") + '"]')) return;
        var empty = body.querySelector("td[colspan]");
        if (empty) empty.parentNode.remove();
        row.classList.add("new");
        body.insertBefore(row, body.firstChild);
      });
    }
    var tl = document.getElementById("timeline");
    if (tl && tl.getAttribute("data-live")) {
      follow(tl, function (html) {
        var li = fragment(html, false);
        if (!li || tl.querySelector('li[data-id="' + li.getAttribute("data-id") + '"]')) return;
        li.classList.add("new");
        tl.appendChild(li);
      });
    }
  });
})();
