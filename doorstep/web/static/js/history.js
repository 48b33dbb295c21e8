// The history bar: zoom (24 h / 6 h / 1 h buttons, the wheel), pan, the time and the
// event's snapshot under the cursor, and Previous/Next that switch the player without
// reloading. The server already placed every event on the SVG (x = seconds since the
// day's start), so zooming is a change of the viewBox; without scripts the marks and
// the Previous/Next buttons are plain links and a GET form.
(function () {
  "use strict";
  var section = document.getElementById("history");
  var svg = document.getElementById("history-bar");
  if (!section || !svg) { return; }
  var dayStart = new Date(section.getAttribute("data-start")).getTime();
  var length = parseFloat(section.getAttribute("data-length"));
  var MIN_WINDOW = 600, MIN_MARK = 1 / 400, TICKS = 4;
  var marks = Array.prototype.slice.call(svg.querySelectorAll("a.mark"));
  var axis = document.getElementById("axis");
  var hover = document.getElementById("bar-hover");
  var zoom = document.getElementById("zoom");
  var player = document.getElementById("history-player");
  var prev = document.getElementById("prev-event");
  var next = document.getElementById("next-event");
  var view = { start: 0, size: length };
  var clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  var selected = marks.findIndex(function (m) { return m.classList.contains("selected"); });

  function at(seconds) { return new Date(dayStart + seconds * 1000); }
  function num(el, name) { return parseFloat(el.getAttribute(name)); }

  function draw() {
    view.size = Math.max(MIN_WINDOW, Math.min(length, view.size));
    view.start = Math.max(0, Math.min(length - view.size, view.start));
    svg.setAttribute("viewBox", view.start + " 0 " + view.size + " 40");
    marks.forEach(function (m) {  // a short event stays visible at every zoom
      m.querySelector("rect").setAttribute("width", String(Math.max(num(m, "data-width"), view.size * MIN_MARK)));
    });
    axis.textContent = "";
    for (var i = 0; i <= TICKS; i += 1) {
      var span = document.createElement("span");
      span.textContent = clock.format(at(view.start + view.size * i / TICKS));
      axis.appendChild(span);
    }
    Array.prototype.forEach.call(zoom.querySelectorAll("[data-window]"), function (b) {
      b.setAttribute("aria-pressed", String(Math.abs(num(b, "data-window") - view.size) < 1));
    });
  }

  function centreOn(seconds) { view.start = seconds - view.size / 2; }

  function select(index) {
    if (index < 0 || index >= marks.length) { return; }
    selected = index;
    var m = marks[index];
    marks.forEach(function (other) { other.classList.toggle("selected", other === m); });
    var clip = m.getAttribute("data-clip"), snapshot = m.getAttribute("data-snapshot");
    if (snapshot) { player.setAttribute("poster", snapshot); } else { player.removeAttribute("poster"); }
    if (clip) { player.setAttribute("src", clip); } else { player.removeAttribute("src"); }
    player.load();
    var label = document.getElementById("history-label");
    label.textContent = m.getAttribute("data-label");
    label.className = "badge " + m.getAttribute("data-label").split(" ")[0];
    var when = document.getElementById("history-when");
    when.textContent = "";
    var t = document.createElement("time");
    t.setAttribute("datetime", m.getAttribute("data-start"));
    t.setAttribute("data-format", "datetime-seconds");
    when.appendChild(t);
    if (window.doorstepTime) { window.doorstepTime.localise(when); }
    document.getElementById("history-open").href = "/events/" + encodeURIComponent(m.getAttribute("data-id"));
    document.getElementById("history-pending").hidden = Boolean(clip);
    prev.disabled = index === 0;
    next.disabled = index === marks.length - 1;
    prev.value = index > 0 ? marks[index - 1].getAttribute("data-id") : "";
    next.value = index < marks.length - 1 ? marks[index + 1].getAttribute("data-id") : "";
    var offset = num(m, "data-offset");
    if (offset < view.start || offset > view.start + view.size) { centreOn(offset); draw(); }
    history.replaceState(null, "", m.getAttribute("href"));
  }

  function secondsAt(clientX) {
    var box = svg.getBoundingClientRect();
    return view.start + view.size * Math.max(0, Math.min(1, (clientX - box.left) / box.width));
  }

  function markAt(seconds) {
    var slack = view.size / 200;
    var found = null;
    marks.forEach(function (m) {
      var from = num(m, "data-offset"), to = from + Math.max(num(m, "data-width"), view.size * MIN_MARK);
      if (seconds >= from - slack && seconds <= to + slack) { found = m; }
    });
    return found;
  }

  svg.addEventListener("mousemove", function (ev) {
    var seconds = secondsAt(ev.clientX);
    var m = markAt(seconds);
    var img = hover.querySelector("img");
    var text = clock.format(at(seconds));
    if (m) { text += " · " + m.getAttribute("data-label"); }
    hover.querySelector("span").textContent = text;
    var snapshot = m ? m.getAttribute("data-snapshot") : "";
    if (snapshot) { if (img.getAttribute("src") !== snapshot) { img.src = snapshot; } img.hidden = false; } else { img.hidden = true; }
    var box = svg.getBoundingClientRect();
    hover.style.left = Math.max(0, Math.min(box.width - 160, ev.clientX - box.left - 80)) + "px";
    hover.hidden = false;
  });
  svg.addEventListener("mouseleave", function () { hover.hidden = true; });
  svg.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var seconds = secondsAt(ev.clientX);
    var share = (seconds - view.start) / view.size;
    view.size *= ev.deltaY > 0 ? 1.25 : 0.8;
    view.size = Math.max(MIN_WINDOW, Math.min(length, view.size));
    view.start = seconds - share * view.size;  // the time under the cursor stays put
    draw();
  }, { passive: false });

  marks.forEach(function (m, i) {
    m.addEventListener("click", function (ev) { ev.preventDefault(); select(i); });
  });
  if (prev && next) {
    prev.addEventListener("click", function (ev) { ev.preventDefault(); select(selected - 1); });
    next.addEventListener("click", function (ev) { ev.preventDefault(); select(selected + 1); });
  }
  zoom.addEventListener("click", function (ev) {
    var button = ev.target.closest("button");
    if (!button) { return; }
    if (button.hasAttribute("data-window")) {
      var middle = selected >= 0 ? num(marks[selected], "data-offset") : view.start + view.size / 2;
      view.size = num(button, "data-window");
      centreOn(middle);
    } else {
      view.start += num(button, "data-pan") * view.size * 0.75;
    }
    draw();
  });
  zoom.hidden = false;
  draw();
})();
