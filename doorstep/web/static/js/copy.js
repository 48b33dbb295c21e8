// Copy buttons: a button with data-copy="text" puts the text on the clipboard and says so.
// The buttons start hidden and are shown here, so a page without scripts offers none.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var label = button.textContent;
      navigator.clipboard.writeText(button.dataset.copy).then(
        function () { button.textContent = "Copied"; },
        function () { button.textContent = "Select and copy it"; }
      ).finally(function () {
        setTimeout(function () { button.textContent = label; }, 2000);
      });
    });
  });
})();
