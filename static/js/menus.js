/* The header's "More" categories menu (issue 22) is a <details>: it works without this file.
   With it, Escape closes the menu and returns focus to its button, and the menu closes when
   focus or a click moves outside it, as a menu does. */
(function () {
  "use strict";
  document.querySelectorAll("details.category-more").forEach(function (menu) {
    var summary = menu.querySelector("summary");
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.open) {
        menu.open = false;
        summary.focus();
      }
    });
    menu.addEventListener("focusout", function (event) {
      if (menu.open && event.relatedTarget && !menu.contains(event.relatedTarget)) {
        menu.open = false;
      }
    });
    document.addEventListener("click", function (event) {
      if (menu.open && !menu.contains(event.target)) {
        menu.open = false;
      }
    });
  });
})();
