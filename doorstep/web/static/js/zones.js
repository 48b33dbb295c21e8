// Zone and privacy-mask editor: polygons in relative coordinates over the latest snapshot.
(function () {
  "use strict";
  var editor = document.getElementById("zone-editor");
  if (!editor) { return; }
  var svg = editor.querySelector("svg");
  var status = document.getElementById("zone-status");
  var kind = document.getElementById("zone-kind");
  var config = JSON.parse(editor.getAttribute("data-config") || "{}");
  var shapes = { zones: config.zones || [], masks: config.masks || [] };
  var current = [];

  function pts(poly) { return poly.map(function (p) { return p[0].toFixed(4) + "," + p[1].toFixed(4); }).join(" "); }
  function draw() {
    svg.innerHTML = "";
    ["zones", "masks"].forEach(function (k) {
      shapes[k].forEach(function (poly) {
        var el = document.createElementNS("http://www.w3.org/2000/svg", "polygon");
        el.setAttribute("points", pts(poly)); el.setAttribute("class", k); svg.appendChild(el);
      });
    });
    if (current.length) {
      var line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
      line.setAttribute("points", pts(current)); svg.appendChild(line);
    }
    status.textContent = shapes.zones.length + " zone(s), " + shapes.masks.length + " mask(s)" + (current.length ? ", drawing " + current.length + " point(s)" : "");
  }
  editor.addEventListener("click", function (ev) {
    var r = editor.getBoundingClientRect();
    var x = Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width));
    var y = Math.min(1, Math.max(0, (ev.clientY - r.top) / r.height));
    current.push([+x.toFixed(4), +y.toFixed(4)]); draw();
  });
  document.getElementById("zone-finish").addEventListener("click", function () {
    if (current.length < 3) { status.textContent = "A polygon needs at least 3 points."; return; }
    shapes[kind.value].push(current); current = []; draw();
  });
  document.getElementById("zone-undo").addEventListener("click", function () { current.pop(); draw(); });
  document.getElementById("zone-clear").addEventListener("click", function () { shapes = { zones: [], masks: [] }; current = []; draw(); });
  document.getElementById("zone-save").addEventListener("click", function () {
    window.doorstep.postJSON("/cameras/" + editor.getAttribute("data-camera") + "/zones", shapes)
      .then(function () { status.textContent = "Saved. The agent applies them when it next starts."; })
      .catch(function (err) { status.textContent = "Not saved: " + err.message; });
  });
  draw();
})();
