// Times in the viewer's own zone. The server renders <time datetime="<UTC ISO>"
// data-format="..."> with UTC text (what a page without scripts shows); this rewrites
// the text in the browser's zone with the zone's short name, e.g. "2026-11-23 10:05 EST".
// It also fills the sign-in and sign-up forms' hidden zone field, so the hub can store
// the zone for emails and reports.
(function () {
  "use strict";
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  var formatters = {};

  function formatter(withSeconds) {
    var key = withSeconds ? "s" : "m";
    if (!formatters[key]) {
      var options = {
        year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short",
      };
      if (withSeconds) { options.second = "2-digit"; }
      formatters[key] = new Intl.DateTimeFormat(undefined, options);
    }
    return formatters[key];
  }

  // kind: datetime | datetime-seconds | time | time-seconds | date
  function format(date, kind) {
    kind = kind || "datetime";
    var parts = {};
    formatter(kind.indexOf("seconds") >= 0).formatToParts(date).forEach(function (p) { parts[p.type] = p.value; });
    var day = parts.year + "-" + parts.month + "-" + parts.day;
    var time = parts.hour + ":" + parts.minute + (parts.second ? ":" + parts.second : "");
    if (kind === "date") { return day; }
    if (kind.indexOf("time") === 0) { return time + " " + parts.timeZoneName; }
    return day + " " + time + " " + parts.timeZoneName;
  }

  function localise(root) {
    var nodes = (root || document).querySelectorAll("time[datetime]");
    Array.prototype.forEach.call(nodes, function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) { return; }
      el.textContent = format(date, el.getAttribute("data-format"));
      el.setAttribute("data-local", "1");
    });
  }

  window.doorstepTime = { format: format, localise: localise, zone: zone };
  Array.prototype.forEach.call(document.querySelectorAll("input[data-browser-zone]"), function (el) {
    el.value = zone;
  });
  localise(document);
})();
