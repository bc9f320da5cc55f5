// /api/v1/docs: corrections to the markup Swagger UI renders, so the page passes axe (issue 22)
// without editing the vendored bundle. Swagger UI re-renders parts of the page as operations
// and schemas open and close, so a MutationObserver applies them to whatever it adds:
//
// - nested-interactive: with deep linking, an operation's path is a link inside the button
//   that opens the operation. The link only changes the address, which Swagger UI already
//   does when the button opens it; without its href it is no longer a second control inside
//   the button (the address still follows the open operation).
// - heading-order: Swagger UI names the page with an h1 and starts its sections at h3 (tags,
//   h4 for schemas and an operation's parts). Each of its headings below the h1 is announced
//   one level up (aria-level), so the outline goes 1, 2, 3 without a gap. Headings written in
//   the API's own descriptions (rendered Markdown) keep their level.
// - select-name, label: a parameter's input, select or text box is named after the parameter
//   (its row says which), the request body's text box "Request body".
// - button-name: the copy button of a curl command and the dialog's close button have only an
//   icon; they get the name their title or purpose gives them.
// - label-content-name-mismatch: the dialog's "Authorize" button is named "Apply credentials";
//   its name now starts with the text it shows.
// - landmark-unique: every operation's response table is a live region; each is named after
//   its operation (method and path), so they can be told apart.
(function () {
  "use strict";

  var root = document.getElementById("swagger-ui");
  if (!root || !window.MutationObserver) {
    return;
  }

  function unnamed(element) {
    return !element.hasAttribute("aria-label") && !element.hasAttribute("aria-labelledby") &&
      !element.getAttribute("title") && !(element.id && document.querySelector(
        "label[for='" + element.id + "']")) && !element.closest("label");
  }

  function operationName(element) {
    var block = element.closest(".opblock");
    if (!block) {
      return "";
    }
    var method = block.querySelector(".opblock-summary-method");
    var path = block.querySelector(".opblock-summary-path");
    return [method && method.textContent, path && path.getAttribute("data-path")]
      .filter(Boolean).join(" ");
  }

  function fix(scope) {
    var controls = scope.querySelectorAll("input, select, textarea");
    for (var k = 0; k < controls.length; k += 1) {
      var control = controls[k];
      if (control.type === "hidden" || !unnamed(control)) {
        continue;
      }
      var row = control.closest("tr[data-param-name]");
      if (row) {
        control.setAttribute("aria-label", row.getAttribute("data-param-name"));
      } else if (control.classList.contains("body-param__text")) {
        control.setAttribute("aria-label", "Request body");
      }
    }
    var buttons = scope.querySelectorAll(".copy-to-clipboard button, button.close-modal");
    for (var m = 0; m < buttons.length; m += 1) {
      if (!buttons[m].textContent.trim() && unnamed(buttons[m])) {
        buttons[m].setAttribute("aria-label", buttons[m].classList.contains("close-modal") ?
          "Close" : "Copy to clipboard");
      }
    }
    var labelled = scope.querySelectorAll("button[aria-label]");
    for (var n = 0; n < labelled.length; n += 1) {
      var text = labelled[n].textContent.trim();
      var label = labelled[n].getAttribute("aria-label");
      if (text && label.toLowerCase().indexOf(text.toLowerCase()) !== 0) {
        labelled[n].setAttribute("aria-label", text + " (" + label + ")");
      }
    }
    var regions = scope.querySelectorAll("table.responses-table[role='region']");
    for (var r = 0; r < regions.length; r += 1) {
      if (!regions[r].hasAttribute("aria-label")) {
        regions[r].setAttribute("aria-label", "Responses: " + operationName(regions[r]));
      }
    }
    var links = scope.querySelectorAll(".opblock-summary-control a[href]");
    for (var i = 0; i < links.length; i += 1) {
      links[i].removeAttribute("href");
    }
    var headings = scope.querySelectorAll("h3, h4, h5, h6");
    for (var j = 0; j < headings.length; j += 1) {
      var heading = headings[j];
      if (!heading.hasAttribute("aria-level") && !heading.closest(".renderedMarkdown")) {
        heading.setAttribute("aria-level", String(Number(heading.tagName.charAt(1)) - 1));
      }
    }
  }

  new MutationObserver(function () {
    fix(root);
  }).observe(root, {childList: true, subtree: true});
  fix(root);
})();
