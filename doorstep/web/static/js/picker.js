// The cameras page's location picker: a click on the map (or dragging the pin) fills in
// the latitude and longitude inputs; typing them moves the pin. Without scripts or tiles
// the inputs still work on their own; with no tile server the map is a plain background.
(function () {
  "use strict";
  var el = document.getElementById("pick-map");
  var lat = document.getElementById("f-latitude"), lon = document.getElementById("f-longitude");
  if (!el || !lat || !lon || !window.L) { if (el) { el.hidden = true; } return; }
  var map = L.map(el, { scrollWheelZoom: false });
  var tiles = el.getAttribute("data-tiles");
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 19, attribution: el.getAttribute("data-attribution") || "" }).addTo(map);
  }
  L.control.scale({ imperial: true, metric: true }).addTo(map);
  var marker = null;

  function typed() {
    var a = parseFloat(lat.value), b = parseFloat(lon.value);
    if (!isFinite(a) || !isFinite(b) || Math.abs(a) > 90 || Math.abs(b) > 180) { return null; }
    return L.latLng(a, b);
  }
  function place(point) {
    if (marker) { marker.setLatLng(point); return; }
    marker = L.marker(point, { draggable: true, title: "Camera location", alt: "Camera location" }).addTo(map);
    marker.on("dragend", function () { set(marker.getLatLng()); });
  }
  function set(point) {
    var p = point.wrap();
    lat.value = p.lat.toFixed(6);
    lon.value = p.lng.toFixed(6);
    place(p);
  }
  function follow() {
    var p = typed();
    if (p) { place(p); map.panTo(p); }
  }
  map.on("click", function (ev) { set(ev.latlng); });
  lat.addEventListener("input", follow);
  lon.addEventListener("input", follow);
  var start = typed();
  map.setView(start || JSON.parse(el.getAttribute("data-centre") || "[51.45, -2.597]"), start ? 17 : 15);
  if (start) { place(start); }
  window.doorstepPicker = {
    map: map,
    pin: function () { return marker ? [marker.getLatLng().lat, marker.getLatLng().lng] : null; }
  };
})();
