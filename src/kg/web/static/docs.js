// Starts Swagger UI on /api/docs. A file, not an inline <script>: the pages'
// Content-Security-Policy (kg/web/safety.py) runs scripts from this origin only.
(function () {
  "use strict";
  window.SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    // No badge from validator.swagger.io: it would send our spec's URL to a third
    // party, and the CSP blocks its image anyway (a console error on every load).
    validatorUrl: null,
  });
})();
