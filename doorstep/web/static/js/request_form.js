// The officer's request form: every problem is listed at once, before anything is sent
// and before an area is drawn ("Draw the area on the map" is one of them). The server
// checks the same rules again (doorstep/web/views/officer.py) and lists its findings in
// the same places, so a page without this script behaves the same after a round trip.
(function () {
  "use strict";
  var form = document.getElementById("request-form");
  if (!form) { return; }
  var summary = document.getElementById("form-errors");
  var minWindow = parseFloat(form.getAttribute("data-min-window")) || 15;
  var maxWindow = parseFloat(form.getAttribute("data-max-window")) || 720;
  var maxAgeDays = parseFloat(form.getAttribute("data-max-age")) || 30;

  function value(name) {
    var el = document.getElementById("f-" + name);
    return el ? el.value.trim() : "";
  }

  // `datetime-local` carries no zone; the form labels its fields UTC.
  function utcMillis(text) {
    if (!text) { return NaN; }
    return Date.parse(text.length === 16 ? text + ":00Z" : text + "Z");
  }

  function human(minutes) {
    return minutes >= 60 && minutes % 60 === 0 ? minutes / 60 + " h" : Math.round(minutes) + " min";
  }

  function check() {
    var errors = {};
    if (!value("case_number")) { errors.case_number = "Give your agency's case number."; }
    else if (!/[A-Za-z0-9]/.test(value("case_number"))) { errors.case_number = "The case number has no letters or digits."; }
    if (value("reason").length < 10) { errors.reason = "Say what happened and why this footage may help (at least 10 characters)."; }
    if (value("contact").length < 3) { errors.contact = "Give a contact for owners (at least 3 characters)."; }
    var start = utcMillis(value("start_time")), end = utcMillis(value("end_time"));
    if (isNaN(start)) { errors.start_time = "Give the window's start (UTC)."; }
    if (isNaN(end)) { errors.end_time = "Give the window's end (UTC)."; }
    if (!isNaN(start) && !isNaN(end)) {
      var minutes = (end - start) / 60000;
      if (minutes <= 0) { errors.end_time = "The window ends before it starts: swap start and end."; }
      else if (minutes < minWindow) { errors.end_time = "The window is " + human(minutes) + " long; the minimum is " + human(minWindow) + ": widen it."; }
      else if (minutes > maxWindow) { errors.end_time = "The window is " + human(minutes) + " long; the maximum is " + human(maxWindow) + ": narrow it."; }
      else if (end > Date.now()) { errors.end_time = "The window has not ended yet: requests can only cover the past."; }
      if (start < Date.now() - maxAgeDays * 86400000) { errors.start_time = "The window starts more than " + maxAgeDays + " days ago."; }
    }
    var emergency = document.getElementById("f-emergency");
    if (emergency && emergency.checked && value("justification").length < 20) {
      errors.justification = "An emergency request needs a justification of at least 20 characters: describe the imminent danger.";
    }
    var drawn = window.doorstepMap;
    if (!value("area")) { errors.area = "Draw the area on the map."; }
    else if (drawn) {
      var sq = drawn.areaSqMi();
      if (sq < drawn.limits.min) { errors.area = "The area is too small (" + sq.toFixed(3) + " sq mi): draw a larger area, at least " + drawn.limits.min + " sq mi."; }
      if (sq > drawn.limits.max) { errors.area = "The area is too large (" + sq.toFixed(3) + " sq mi): draw a smaller area, at most " + drawn.limits.max + " sq mi."; }
    }
    return errors;
  }

  function showField(name, message) {
    var input = document.getElementById("f-" + name);
    if (!input) { return; }
    var box = input.closest(".field");
    var old = document.getElementById("e-" + name);
    if (old) { old.remove(); }
    var hint = document.getElementById("h-" + name);
    box.classList.toggle("invalid", !!message);
    if (!message) {
      input.removeAttribute("aria-invalid");
      if (hint) { hint.hidden = false; input.setAttribute("aria-describedby", hint.id); } else { input.removeAttribute("aria-describedby"); }
      return;
    }
    var p = document.createElement("p");
    p.className = "error";
    p.id = "e-" + name;
    p.textContent = message;
    if (hint) { hint.hidden = true; }
    box.appendChild(p);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", p.id);
  }

  function showSummary(errors) {
    var names = Object.keys(errors);
    summary.textContent = "";
    summary.hidden = !names.length;
    if (!names.length) { return; }
    var head = document.createElement("p");
    head.className = "error";
    head.textContent = "Please fix " + names.length + " problem" + (names.length === 1 ? "" : "s") + ":";
    var list = document.createElement("ul");
    names.forEach(function (name) {
      var item = document.createElement("li"), link = document.createElement("a");
      link.href = "#f-" + name;
      link.textContent = errors[name];
      item.appendChild(link);
      list.appendChild(item);
    });
    summary.appendChild(head);
    summary.appendChild(list);
  }

  var checked = false;  // after the first try, fields re-check as they change
  function run() {
    var errors = check();
    ["incident_type", "case_number", "reason", "contact", "start_time", "end_time", "justification", "area"].forEach(function (name) {
      showField(name, errors[name]);
    });
    showSummary(errors);
    return errors;
  }

  form.addEventListener("submit", function (ev) {
    checked = true;
    if (Object.keys(run()).length) {
      ev.preventDefault();
      summary.focus();
    }
  });
  form.addEventListener("input", function () { if (checked) { run(); } });
  form.addEventListener("change", function () { if (checked) { run(); } });
  document.addEventListener("doorstep:area", function () { if (checked) { run(); } });
})();
