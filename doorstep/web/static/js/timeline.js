// The live timeline and the in-progress event page. doorstep.js turns the hub's
// server-sent events into "doorstep:event" (a new event) and "doorstep:event_updated"
// (label, end time, clip or snapshot changed); the timeline adds or updates cards in
// place, and an event page still waiting for its clip reloads once the clip is there.
(function () {
  "use strict";
  var POLL_MS = 4000;

  function badgeText(e) { return e.label + " " + Math.round(e.score * 100) + "%"; }

  function stateText(e) {
    if (!e.end_time) { return "recording"; }
    return e.has_clip ? "" : "clip uploading";
  }

  function timeElement(iso) {
    var t = document.createElement("time");
    t.setAttribute("datetime", iso);
    t.setAttribute("data-format", "datetime");
    t.textContent = iso.slice(0, 16).replace("T", " ") + " UTC";
    if (window.doorstepTime) { t.textContent = window.doorstepTime.format(new Date(iso), "datetime"); }
    return t;
  }

  function snapshotNode(e, cameraName) {
    if (e.has_snapshot) {
      var img = document.createElement("img");
      img.src = "/media/events/" + encodeURIComponent(e.id) + "/snapshot";
      img.alt = "Snapshot: " + e.label + " at " + cameraName;
      return img;
    }
    var div = document.createElement("div");
    div.className = "placeholder";
    div.textContent = "no snapshot";
    return div;
  }

  // Built with DOM calls, never innerHTML: a camera's name is the owner's own text.
  function buildCard(e, cameraName) {
    var li = document.createElement("li");
    li.className = "event-card live-new";
    li.setAttribute("data-event-id", e.id);
    var a = document.createElement("a");
    a.href = "/events/" + encodeURIComponent(e.id);
    a.appendChild(snapshotNode(e, cameraName));
    var badge = document.createElement("span");
    badge.className = "badge " + e.label;
    badge.textContent = badgeText(e);
    a.appendChild(badge);
    var when = document.createElement("span");
    when.className = "when";
    when.appendChild(document.createTextNode(cameraName + " · "));
    when.appendChild(timeElement(e.start_time));
    a.appendChild(when);
    var state = document.createElement("span");
    state.className = "state";
    state.textContent = stateText(e);
    a.appendChild(state);
    li.appendChild(a);
    return li;
  }

  function updateCard(li, e, cameraName) {
    var badge = li.querySelector(".badge");
    if (badge) { badge.className = "badge " + e.label; badge.textContent = badgeText(e); }
    var state = li.querySelector(".state");
    if (state) { state.textContent = stateText(e); }
    var picture = li.querySelector("img, .placeholder");
    if (e.has_snapshot && picture && picture.tagName !== "IMG") {
      picture.replaceWith(snapshotNode(e, cameraName));
    } else if (picture && picture.tagName === "IMG") {
      picture.alt = "Snapshot: " + e.label + " at " + cameraName;
    }
  }

  function passesFilters(list, e) {
    var camera = list.getAttribute("data-camera");
    var label = list.getAttribute("data-label");
    var day = list.getAttribute("data-day");
    if (list.getAttribute("data-live-page") !== "1") { return false; }
    if (camera && camera !== e.camera_id) { return false; }
    var zone = list.getAttribute("data-zone");
    if (label === "motion" && e.label !== "motion") { return false; }
    if (label && label !== "motion" && label !== e.label && (e.labels || []).indexOf(label) < 0) { return false; }
    if (zone && (e.zones || []).indexOf(zone) < 0) { return false; }
    return !(day && e.start_time.slice(0, 10) !== day);  // the filter's day is a UTC day
  }

  function setCount(delta) {
    var count = document.getElementById("event-count");
    if (!count) { return; }
    var total = parseInt(count.getAttribute("data-total") || "0", 10) + delta;
    count.setAttribute("data-total", String(total));
    count.textContent = total + " event" + (total === 1 ? "" : "s");
  }

  var list = document.getElementById("event-list");
  if (list) {
    document.addEventListener("doorstep:event", function (msg) {
      var e = msg.detail.event;
      if (list.querySelector('[data-event-id="' + CSS.escape(e.id) + '"]')) { return; }
      if (!passesFilters(list, e)) { return; }
      var empty = list.querySelector("li.empty");
      if (empty) { empty.remove(); }
      list.insertBefore(buildCard(e, msg.detail.camera_name || ""), list.firstChild);
      setCount(1);
    });
    document.addEventListener("doorstep:event_updated", function (msg) {
      var e = msg.detail.event;
      var li = list.querySelector('[data-event-id="' + CSS.escape(e.id) + '"]');
      if (li) { updateCard(li, e, msg.detail.camera_name || ""); }
    });
  }

  // An event page still waiting for its clip: reload when the clip has arrived,
  // told by the live feed or, if that is down, by asking every few seconds.
  var pending = document.getElementById("clip-pending");
  if (pending) {
    var id = pending.getAttribute("data-event-id");
    var reloading = false;
    var reload = function () { if (!reloading) { reloading = true; window.location.reload(); } };
    document.addEventListener("doorstep:event_updated", function (msg) {
      if (msg.detail.event.id === id && msg.detail.event.has_clip) { reload(); }
    });
    var poll = function () {
      fetch("/events/" + encodeURIComponent(id) + "?format=json", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data && data.event && data.event.has_clip) { reload(); } else { setTimeout(poll, POLL_MS); }
        })
        .catch(function () { setTimeout(poll, POLL_MS); });
    };
    setTimeout(poll, POLL_MS);
  }
})();
