// Maps: read-only request areas, and the officer's drawing tool with live area limits.
// Tiles come from a configurable URL; with none (or offline) the map still shows the
// area, markers and a scale bar on a plain background.
(function () {
  "use strict";
  if (!window.L) { return; }
  var SQ_M_PER_SQ_MI = 2589988.110336;
  var R = 6371008.8;

  function baseMap(el) {
    var map = L.map(el, { scrollWheelZoom: false });
    var tiles = el.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, { maxZoom: 19, attribution: el.getAttribute("data-attribution") || "" }).addTo(map);
    }
    L.control.scale({ imperial: true, metric: true }).addTo(map);
    return map;
  }

  // Equal-area (local sinusoidal) projection: exact enough for areas under a square mile.
  function areaSqMi(latlngs) {
    if (latlngs.length < 3) { return 0; }
    var lat0 = latlngs.reduce(function (s, p) { return s + p.lat; }, 0) / latlngs.length;
    var sum = 0;
    for (var i = 0; i < latlngs.length; i++) {
      var a = latlngs[i], b = latlngs[(i + 1) % latlngs.length];
      var ax = R * a.lng * Math.PI / 180 * Math.cos(a.lat * Math.PI / 180), ay = R * a.lat * Math.PI / 180;
      var bx = R * b.lng * Math.PI / 180 * Math.cos(b.lat * Math.PI / 180), by = R * b.lat * Math.PI / 180;
      sum += ax * by - bx * ay;
    }
    return Math.abs(sum) / 2 / SQ_M_PER_SQ_MI;
  }

  function toLatLngs(geojson) {
    return (geojson.coordinates[0] || []).map(function (c) { return L.latLng(c[1], c[0]); });
  }

  document.querySelectorAll(".map[data-area]").forEach(function (el) {
    var map = baseMap(el);
    var area = JSON.parse(el.getAttribute("data-area"));
    var shape = L.polygon(toLatLngs(area), { color: "#0b5fff" }).addTo(map);
    var markers = JSON.parse(el.getAttribute("data-markers") || "[]");
    markers.forEach(function (m) {
      // Names are typed by owners: a popup given a string renders it as HTML, so give it text.
      var label = document.createElement("span");
      label.textContent = m.name;
      L.marker([m.lat, m.lon], { title: m.name, alt: m.name }).addTo(map).bindPopup(label);
    });
    map.fitBounds(shape.getBounds(), { padding: [20, 20] });
  });

  var drawEl = document.getElementById("draw-map");
  if (!drawEl) { return; }
  var map = baseMap(drawEl);
  var centre = JSON.parse(drawEl.getAttribute("data-centre") || "[51.45, -2.597]");
  map.setView(centre, 16);
  var minSq = parseFloat(drawEl.getAttribute("data-min")), maxSq = parseFloat(drawEl.getAttribute("data-max"));
  var input = document.getElementById("f-area");
  var readout = document.getElementById("area-readout");
  var modeSel = document.getElementById("draw-mode");
  var radiusInput = document.getElementById("draw-radius");
  var points = [], layer = null, circleCentre = null;

  function show(sq) {
    var ok = sq >= minSq && sq <= maxSq;
    readout.textContent = sq ? sq.toFixed(3) + " sq mi (allowed " + minSq + " to " + maxSq + ")" + (ok ? "" : sq < minSq ? ": too small, draw a larger area" : ": too large, draw a smaller area") : "Draw an area: allowed " + minSq + " to " + maxSq + " sq mi";
    readout.className = "limits " + (sq ? (ok ? "good" : "bad") : "");
  }
  function redraw() {
    if (layer) { map.removeLayer(layer); layer = null; }
    if (modeSel.value === "circle") {
      if (!circleCentre) { input.value = ""; show(0); return; }
      var r = parseFloat(radiusInput.value) || 0;
      layer = L.circle(circleCentre, { radius: r, color: "#0b5fff" }).addTo(map);
      input.value = JSON.stringify({ type: "Circle", center: [circleCentre.lng, circleCentre.lat], radius_m: r });
      show(Math.PI * r * r / SQ_M_PER_SQ_MI);
      return;
    }
    if (points.length) { layer = (points.length > 2 ? L.polygon(points) : L.polyline(points)).addTo(map); }
    if (points.length > 2) {
      var ring = points.map(function (p) { return [p.lng, p.lat]; });
      ring.push(ring[0]);
      input.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
      show(areaSqMi(points));
    } else { input.value = ""; show(0); }
  }
  map.on("click", function (ev) {
    if (modeSel.value === "circle") { circleCentre = ev.latlng; } else { points.push(ev.latlng); }
    redraw();
  });
  modeSel.addEventListener("change", function () {
    document.getElementById("radius-field").hidden = modeSel.value !== "circle"; redraw();
  });
  radiusInput.addEventListener("input", redraw);
  document.getElementById("draw-undo").addEventListener("click", function () { points.pop(); redraw(); });
  document.getElementById("draw-clear").addEventListener("click", function () { points = []; circleCentre = null; redraw(); });
  document.getElementById("radius-field").hidden = modeSel.value !== "circle";
  if (input.value) {
    try {
      var prev = JSON.parse(input.value);
      if (prev.type === "Polygon") { points = toLatLngs(prev).slice(0, -1); }
      if (prev.type === "Circle") { modeSel.value = "circle"; circleCentre = L.latLng(prev.center[1], prev.center[0]); radiusInput.value = prev.radius_m; }
    } catch (e) { /* keep the map empty */ }
  }
  redraw();
  window.doorstepMap = { map: map, clickAt: function (lat, lng) { map.fire("click", { latlng: L.latLng(lat, lng) }); } };
})();
