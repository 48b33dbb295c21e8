// Doorstep service worker (served at /sw.js, scope /): shows Web Push messages while no
// Doorstep page is open, and opens the right page when one is tapped (docs/reach.md).
// It caches nothing and handles no fetch: pages always come from the hub.
"use strict";

var ICON = "/static/icons/icon-192.png";
var BADGE = "/static/icons/badge-96.png";

// A message from the hub: {type, title, body, url, image, id, tag}. Only same-origin
// paths are opened, so a message can never send the user to another site.
function notificationFor(data) {
  var options = {
    body: data.body || "",
    icon: ICON,
    badge: BADGE,
    tag: data.tag || data.id || undefined,
    renotify: Boolean(data.tag),
    requireInteraction: data.type === "emergency_access",
    timestamp: Date.now(),
    data: { url: sameOriginPath(data.url), id: data.id || null, type: data.type || null },
  };
  if (data.image) { options.image = sameOriginPath(data.image); }
  return { title: data.title || "Doorstep", options: options };
}

function sameOriginPath(url) {
  try {
    var target = new URL(url || "/", self.location.origin);
    return target.origin === self.location.origin ? target.href : self.location.origin + "/";
  } catch (e) {
    return self.location.origin + "/";
  }
}

function showPush(data) {
  var n = notificationFor(data);
  return self.registration.showNotification(n.title, n.options);
}

// Like a native app, a tap brings Doorstep forward at the right page: a window already
// there is focused, else an open Doorstep window is taken to it, else a new one opens.
// Called from notificationclick, which is what lets a worker focus and open windows.
function openTarget(url) {
  url = sameOriginPath(url);
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].url === url) { return focusQuietly(list[i]); }
    }
    return navigateOne(list, 0, url);
  });
}

// Only windows this worker controls can be navigated; try each, then open a new one.
function navigateOne(list, i, url) {
  if (i >= list.length) { return self.clients.openWindow(url); }
  return list[i].navigate(url).then(function (client) {
    return client ? focusQuietly(client) : navigateOne(list, i + 1, url);
  }, function () { return navigateOne(list, i + 1, url); });
}

function focusQuietly(client) {
  return client.focus().catch(function () { return client; });
}

self.doorstep = { notificationFor: notificationFor, showPush: showPush, openTarget: openTarget };

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("push", function (event) {
  var data = {};
  if (event.data) {
    try { data = event.data.json(); } catch (e) { data = { body: event.data.text() }; }
  }
  event.waitUntil(showPush(data));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(openTarget(event.notification.data && event.notification.data.url));
});
