// Doorstep pages: CSRF-aware fetch, toasts, and live events over server-sent events.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');
  window.doorstep = {
    csrf: csrf ? csrf.content : "",
    postJSON: function (url, body) {
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": window.doorstep.csrf },
        body: JSON.stringify(body),
      }).then(function (r) {
        return r.json().then(function (data) { if (!r.ok) { throw new Error(data.detail || r.statusText); } return data; });
      });
    },
    toast: function (html, seconds) {
      var box = document.getElementById("toasts");
      if (!box) { return; }
      var el = document.createElement("div");
      el.className = "toast";
      el.innerHTML = html;
      box.appendChild(el);
      setTimeout(function () { el.remove(); }, (seconds || 8) * 1000);
      return el;
    },
  };

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
  }

  function notifyBrowser(title, body, url) {
    if (!("Notification" in window) || Notification.permission !== "granted") { return; }
    var n = new Notification(title, { body: body });
    n.onclick = function () { window.focus(); if (url) { window.location = url; } };
  }

  var liveUrl = document.body.getAttribute("data-live");
  if (liveUrl && "EventSource" in window) {
    if ("Notification" in window && Notification.permission === "default") {
      document.addEventListener("click", function ask() {
        Notification.requestPermission();
        document.removeEventListener("click", ask);
      });
    }
    var source = new EventSource(liveUrl);
    // The toast names the event as its timeline card does ("person 97%"), and follows
    // the card when the event is updated while the toast is still up.
    var eventLabel = function (e) { return e.label + " " + Math.round(e.score * 100) + "%"; };
    source.addEventListener("event", function (msg) {
      var data = JSON.parse(msg.data);
      var e = data.event;
      var url = "/events/" + e.id;
      // The timeline takes every event; a toast only when the owner's mode notifies.
      if (data.notify !== false) {
        var el = window.doorstep.toast("<span class=\"toast-label\">" + escapeHtml(eventLabel(e)) + "</span> at <strong>" + escapeHtml(data.camera_name) + "</strong> · <a href=\"" + escapeHtml(url) + "\">open</a>");
        if (el) { el.setAttribute("data-event-id", e.id); }
        if (!window.doorstep.pushOn) { notifyBrowser("Doorstep: " + eventLabel(e), data.camera_name, url); }
      }
      document.dispatchEvent(new CustomEvent("doorstep:event", { detail: data }));
    });
    source.addEventListener("event_updated", function (msg) {
      var data = JSON.parse(msg.data);
      var toasts = document.querySelectorAll("#toasts .toast[data-event-id]");
      Array.prototype.forEach.call(toasts, function (el) {
        var label = el.querySelector(".toast-label");
        if (el.getAttribute("data-event-id") === data.event.id && label) { label.textContent = eventLabel(data.event); }
      });
      document.dispatchEvent(new CustomEvent("doorstep:event_updated", { detail: data }));
    });
    source.addEventListener("notification", function (msg) {
      var data = JSON.parse(msg.data);
      // An event's centre entry follows its live toast: one toast per event, and the
      // one that keeps the card's label ("person 97%"), not the label it was made with.
      var about = /^\/events\/([^/?#]+)$/.exec(data.url || "");
      var shown = about && document.querySelector('#toasts .toast[data-event-id="' + CSS.escape(about[1]) + '"]');
      if (shown) { document.dispatchEvent(new CustomEvent("doorstep:notification", { detail: data })); return; }
      window.doorstep.toast(escapeHtml(data.title || "New notification") + (data.url ? " · <a href=\"" + escapeHtml(data.url) + "\">open</a>" : ""), 12);
      if (!window.doorstep.pushOn) { notifyBrowser("Doorstep", data.title || "New notification", data.url); }
      document.dispatchEvent(new CustomEvent("doorstep:notification", { detail: data }));
    });
  }
})();
