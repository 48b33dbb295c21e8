// Maps: read-only request areas, and the officer's drawing tool with live area limits.
// Tiles come from a configurable URL (DOORSTEP_MAP_TILE_URL). With none, or when the
// tile server cannot be reached (tileerror before any tile loaded), the map draws an
// offline background that still orients: coast and country outlines (Natural Earth via
// npm world-atlas, vendored), a metric grid and the scale bar, under the area and the
// cameras the viewer may see. Place search queries DOORSTEP_GEOCODER_URL when set.
(function () {
  "use strict";
  if (!window.L) { return; }
  var SQ_M_PER_SQ_MI = 2589988.110336;
  var R = 6371008.8;
  var OUTLINES_URL = "/static/vendor/world-atlas/outlines-50m.geojson";
  var GRID_STEPS = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000];
  var outlines = null;

  function baseMap(el) {
    var map = L.map(el, { scrollWheelZoom: false });
    var tiles = el.getAttribute("data-tiles");
    L.control.scale({ imperial: true, metric: true }).addTo(map);
    if (!tiles) { offlineBackground(map, el); return map; }
    var loaded = 0;
    var layer = L.tileLayer(tiles, { maxZoom: 19, attribution: el.getAttribute("data-attribution") || "" });
    layer.on("tileload", function () { loaded++; });
    // Tiles that fail leave holes; the offline background sits under the tile pane, so
    // tiles that do load still cover it.
    layer.on("tileerror", function () { if (!loaded) { offlineBackground(map, el); } });
    layer.addTo(map);
    return map;
  }

  // The offline background: drawn once per map, in a pane under the tiles.
  function offlineBackground(map, el) {
    if (el.getAttribute("data-offline")) { return; }
    el.setAttribute("data-offline", "on");
    el.classList.add("map-offline");
    var pane = map.createPane("offline");
    pane.style.zIndex = 150;  // tiles are 200, shapes and markers above
    var renderer = L.svg({ pane: "offline", padding: 0.5 });
    var grid = L.layerGroup().addTo(map);
    var note = L.control({ position: "bottomleft" });
    note.onAdd = function () {
      var div = L.DomUtil.create("div", "map-offline-note");
      div.id = el.id ? el.id + "-offline-note" : "";
      return div;
    };
    note.addTo(map);
    function drawGrid() {
      if (!map._loaded) { return; }
      grid.clearLayers();
      var b = map.getBounds(), c = map.getCenter();
      var mPerDegLat = Math.PI * R / 180, mPerDegLng = mPerDegLat * Math.max(Math.cos(c.lat * Math.PI / 180), 0.01);
      var width = (b.getEast() - b.getWest()) * mPerDegLng;
      var step = GRID_STEPS[GRID_STEPS.length - 1];
      for (var i = 0; i < GRID_STEPS.length; i++) { if (width / GRID_STEPS[i] <= 8) { step = GRID_STEPS[i]; break; } }
      var dLat = step / mPerDegLat, dLng = step / mPerDegLng;
      var south = Math.max(b.getSouth(), -85), north = Math.min(b.getNorth(), 85);
      var style = { renderer: renderer, pane: "offline", color: "#b8c2cf", weight: 1, interactive: false, className: "map-grid" };
      for (var lat = Math.ceil(south / dLat) * dLat; lat <= north; lat += dLat) {
        L.polyline([[lat, b.getWest()], [lat, b.getEast()]], style).addTo(grid);
      }
      for (var lng = Math.ceil(b.getWest() / dLng) * dLng; lng <= b.getEast(); lng += dLng) {
        L.polyline([[south, lng], [north, lng]], style).addTo(grid);
      }
      var label = step >= 1000 ? step / 1000 + " km" : step + " m";
      var box = note.getContainer();
      if (box) { box.textContent = "Offline map: grid " + label; }
      el.setAttribute("data-grid-m", String(step));
    }
    map.on("moveend zoomend resize", drawGrid);
    map.whenReady(drawGrid);
    if (!outlines) {
      outlines = fetch(OUTLINES_URL, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .catch(function () { return null; });
    }
    outlines.then(function (data) {
      if (!data) { return; }
      L.geoJSON(data, {
        pane: "offline",
        renderer: renderer,
        interactive: false,
        style: function (f) {
          return f.properties.kind === "coast"
            ? { color: "#4f7fb0", weight: 1.5, className: "map-coast" }
            : { color: "#8a93a0", weight: 1, dashArray: "4 3", className: "map-border" };
        },
      }).addTo(map);
      el.setAttribute("data-outlines", String(data.features.length));
    });
    if (map.attributionControl) { map.attributionControl.addAttribution("Outlines: Natural Earth"); }
  }

  // Cameras the viewer may see: names are typed by owners, and a popup given a string
  // renders it as HTML, so give it text.
  function addMarkers(map, el) {
    var markers = JSON.parse(el.getAttribute("data-markers") || "[]");
    markers.forEach(function (m) {
      var label = document.createElement("span");
      label.textContent = m.name;
      L.marker([m.lat, m.lon], { title: m.name, alt: m.name }).addTo(map).bindPopup(label);
    });
  }

  // Place search against a Nominatim-compatible geocoder, straight from the browser
  // (the CSP's connect-src names its origin); the first hit pans the map.
  function placeSearch(map, el) {
    var url = el.getAttribute("data-geocoder");
    var input = document.getElementById("place-search");
    var go = document.getElementById("place-search-go");
    var status = document.getElementById("place-search-status");
    if (!url || !input || !go) { return; }
    function search() {
      var q = input.value.trim();
      if (!q) { status.textContent = "Type a place to find."; return; }
      status.textContent = "Searching…";
      var target = new URL(url, window.location.href);
      target.searchParams.set("q", q);
      target.searchParams.set("format", "json");
      target.searchParams.set("limit", "1");
      fetch(target.toString(), { credentials: "omit", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (hits) {
          if (!hits || !hits.length) { status.textContent = "No place found for “" + q + "”."; return; }
          var hit = hits[0], bb = hit.boundingbox;
          if (bb && bb.length === 4) {
            map.fitBounds([[parseFloat(bb[0]), parseFloat(bb[2])], [parseFloat(bb[1]), parseFloat(bb[3])]], { maxZoom: 17 });
          } else {
            map.setView([parseFloat(hit.lat), parseFloat(hit.lon)], 16);
          }
          status.textContent = "Showing " + (hit.display_name || q) + ".";
        })
        .catch(function () { status.textContent = "Place search is unavailable right now; pan the map instead."; });
    }
    go.addEventListener("click", search);
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { ev.preventDefault(); search(); }  // not the request form's submit
    });
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
    addMarkers(map, el);
    map.fitBounds(shape.getBounds(), { padding: [20, 20] });
  });

  var drawEl = document.getElementById("draw-map");
  if (!drawEl) { return; }
  var centre = JSON.parse(drawEl.getAttribute("data-centre") || "[51.45, -2.597]");
  var map = baseMap(drawEl);
  map.setView(centre, 16);
  addMarkers(map, drawEl);
  placeSearch(map, drawEl);
  var minSq = parseFloat(drawEl.getAttribute("data-min")), maxSq = parseFloat(drawEl.getAttribute("data-max"));
  var input = document.getElementById("f-area");
  var readout = document.getElementById("area-readout");
  var modeSel = document.getElementById("draw-mode");
  var radiusInput = document.getElementById("draw-radius");
  var points = [], layer = null, circleCentre = null, drawnSq = 0;

  function show(sq) {
    drawnSq = sq;
    var ok = sq >= minSq && sq <= maxSq;
    readout.textContent = sq ? sq.toFixed(3) + " sq mi (allowed " + minSq + " to " + maxSq + ")" + (ok ? "" : sq < minSq ? ": too small, draw a larger area" : ": too large, draw a smaller area") : "Draw an area: allowed " + minSq + " to " + maxSq + " sq mi";
    readout.className = "limits " + (sq ? (ok ? "good" : "bad") : "");
    document.dispatchEvent(new CustomEvent("doorstep:area", { detail: { sqMi: sq } }));
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
  window.doorstepMap = {
    map: map,
    clickAt: function (lat, lng) { map.fire("click", { latlng: L.latLng(lat, lng) }); },
    areaSqMi: function () { return drawnSq; },  // what the request form's checks read
    limits: { min: minSq, max: maxSq },
  };
})();
