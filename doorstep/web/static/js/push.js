// Doorstep as an installable app: registers the service worker (/sw.js) on every page,
// and wires the "Turn on notifications on this device" button where a page has one
// (#push-device): ask permission, subscribe with the hub's VAPID key, send the
// subscription to the hub; "Turn off" removes it from the browser and the hub.
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) { return; }
  var registered = navigator.serviceWorker.register("/sw.js", { scope: "/" });
  registered.catch(function (err) { console.warn("Doorstep service worker:", err); });
  var current = registered.then(function (reg) {
    return reg.pushManager ? reg.pushManager.getSubscription() : null;
  }).catch(function () { return null; });
  // With push on, the service worker shows each notification: open pages don't add theirs.
  current.then(function (subscription) {
    if (window.doorstep) { window.doorstep.pushOn = !!subscription; }
  });

  // Signing out ends this device's push too: the next person on this browser must not see
  // the last one's notifications (the hub forgets the device; the browser unsubscribes).
  var logout = document.querySelector('form[action="/logout"]');
  if (logout) {
    logout.addEventListener("submit", function (ev) {
      if (logout.getAttribute("data-push-ended")) { return; }
      ev.preventDefault();
      var done = function () { logout.setAttribute("data-push-ended", "1"); logout.submit(); };
      current.then(function (subscription) {
        if (!subscription) { return null; }
        var endpoint = subscription.endpoint;
        return fetch("/push/subscriptions", {
          method: "DELETE",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": window.doorstep.csrf },
          body: JSON.stringify({ endpoint: endpoint }),
        }).then(function () { return subscription.unsubscribe(); });
      }).catch(function () { return null; }).then(done, done);
    });
  }

  var box = document.getElementById("push-device");
  if (!box) { return; }
  var status = box.querySelector("[data-push-status]");
  var enable = box.querySelector("[data-push-enable]");
  var disable = box.querySelector("[data-push-disable]");

  // The site's button style sets display, which beats the hidden attribute: set both.
  function shown(el, on) {
    el.hidden = !on;
    el.style.display = on ? "" : "none";
  }

  function show(text, on) {
    status.textContent = text;
    shown(enable, !on);
    shown(disable, Boolean(on));
  }

  function keyBytes(base64url) {
    var text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4));
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) { bytes[i] = text.charCodeAt(i); }
    return bytes;
  }

  function send(method, body) {
    return fetch("/push/subscriptions", {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": window.doorstep.csrf },
      body: JSON.stringify(body),
    }).then(function (r) {
      if (!r.ok && r.status !== 404) {
        return r.json().then(function (d) { throw new Error(d.detail || r.statusText); });
      }
      return r;
    });
  }

  function turnOn() {
    enable.disabled = true;
    show("Asking your browser…", false);
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") { throw new Error("notifications are blocked for this site in your browser"); }
      return Promise.all([navigator.serviceWorker.ready, fetch("/api/v1/push/vapid-public-key").then(function (r) { return r.json(); })]);
    }).then(function (both) {
      return both[0].pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(both[1].public_key) });
    }).then(function (subscription) {
      return send("POST", subscription.toJSON());
    }).then(function () {
      show("Notifications are on for this device.", true);
    }).catch(function (err) {
      show("Could not turn notifications on: " + err.message, false);
    }).then(function () { enable.disabled = false; });
  }

  function turnOff() {
    disable.disabled = true;
    navigator.serviceWorker.ready.then(function (reg) {
      return reg.pushManager.getSubscription();
    }).then(function (subscription) {
      if (!subscription) { return null; }
      var endpoint = subscription.endpoint;
      return subscription.unsubscribe().then(function () { return send("DELETE", { endpoint: endpoint }); });
    }).then(function () {
      show("Notifications are off for this device.", false);
    }).catch(function (err) {
      show("Could not turn notifications off: " + err.message, true);
    }).then(function () { disable.disabled = false; });
  }

  if (!("PushManager" in window) || !("Notification" in window)) {
    show("This browser cannot receive push notifications (on an iPhone, add Doorstep to the home screen first).", false);
    shown(enable, false);
    box.hidden = false;
    return;
  }
  enable.addEventListener("click", turnOn);
  disable.addEventListener("click", turnOff);
  show(status.textContent, false);
  box.hidden = false;
  registered.then(function (reg) { return reg.pushManager.getSubscription(); }).then(function (subscription) {
    if (subscription && Notification.permission === "granted") {
      show("Notifications are on for this device.", true);
    } else if (Notification.permission === "denied") {
      show("Notifications are blocked for this site in your browser's settings.", false);
    } else {
      show("Notifications are off for this device.", false);
    }
  }).catch(function () { show("Notifications are off for this device.", false); });
})();
