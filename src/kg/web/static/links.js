// The one rule for links that the pages' scripts write (its server-side twin is
// is_linkable in kg/web/safety.py; tests/test_safety.py checks they agree).
// An IRI in a query's answer is anyone's input: <javascript:alert(1)> is a valid
// IRI. Only http(s) IRIs and the site's own paths (/x, ?x, #x) become links.
(function (root) {
  "use strict";
  const SCHEMES = new Set(["http", "https"]);
  // Read the scheme the way the browser will (WHATWG URL standard): C0 controls and
  // spaces dropped at either end, tabs and newlines anywhere ("java\tscript:" runs).
  function linkable(href) {
    if (typeof href !== "string") return false;
    const url = href.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "").replace(/[\t\n\r]/g, "");
    const scheme = /^([A-Za-z][A-Za-z0-9+.\-]*):/.exec(url);
    if (scheme) return SCHEMES.has(scheme[1].toLowerCase());
    // "//host" and "/\host" are another site without a scheme: not our own paths.
    return /^[/?#]/.test(url) && !/^\/[/\\]/.test(url);
  }
  root.kgLinks = Object.freeze({ linkable });
})(globalThis);
