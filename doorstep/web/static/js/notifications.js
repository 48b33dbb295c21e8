// The header's unread count, kept live: the page renders the number, and each
// notification that arrives over the live feed (doorstep.js) adds one.
(function () {
  "use strict";
  var badge = document.getElementById("unread-badge");
  if (!badge) { return; }

  function show(count) {
    badge.setAttribute("data-unread", String(count));
    badge.textContent = String(count);
    badge.hidden = count === 0;
    var link = document.getElementById("notes-link");
    if (link) { link.setAttribute("aria-label", "Notifications, " + count + " unread"); }
  }

  document.addEventListener("doorstep:notification", function () {
    show((parseInt(badge.getAttribute("data-unread"), 10) || 0) + 1);
    var summary = document.getElementById("notes-summary");
    if (summary && !document.getElementById("notes-new")) {
      var link = document.createElement("a");
      link.id = "notes-new";
      link.href = "/notifications";
      link.textContent = "New notifications: show them";
      summary.appendChild(document.createTextNode(" "));
      summary.appendChild(link);
    }
  });
})();
