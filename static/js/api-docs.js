// Starts Swagger UI on /api/v1/docs (a file, not an inline script: the shop's CSP allows
// scripts from the shop itself only). The document's URL comes from the page.
(function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
})();
