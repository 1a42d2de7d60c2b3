// The world map (map.html): Natural Earth's countries (world-atlas, countries-110m.json) drawn with
// d3-geo and topojson-client, each shaded by its number of visits and trips (the page's #map-data,
// matched to the map's features on the server: kg/web/worldmap.py) and linked to its country page.
// Without script the page still lists every country with its counts.
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const figure = document.getElementById("worldmap");
  const data = JSON.parse(document.getElementById("map-data").textContent);
  const WIDTH = 960, HEIGHT = 500;
  const max = Math.max(1, ...Object.values(data.features).map((f) => f.total));

  function el(name, attrs) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }

  // From pale to dark blue on a logarithmic scale: 1 visit and 300 both stay readable.
  function shade(n) {
    if (!n) return "#eaeef2";
    const t = Math.log(1 + n) / Math.log(1 + max);
    const from = [198, 219, 239], to = [8, 48, 107];
    const c = from.map((f, i) => Math.round(f + (to[i] - f) * t));
    return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
  }

  fetch(figure.dataset.atlas)
    .then((r) => {
      if (!r.ok) throw new Error(`${r.status} for ${figure.dataset.atlas}`);
      return r.json();
    })
    .then((world) => {
      const countries = topojson.feature(world, world.objects.countries).features;
      const projection = d3.geoEqualEarth().fitSize([WIDTH, HEIGHT], { type: "Sphere" });
      const path = d3.geoPath(projection);
      const svg = el("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "worldmap-svg", role: "group" });
      svg.setAttribute("aria-label", figure.getAttribute("aria-label"));
      svg.appendChild(el("path", { d: path({ type: "Sphere" }), fill: "#f6f8fa", stroke: "#d0d7de" }));
      for (const feature of countries) {
        const name = feature.properties.name;
        const ours = data.features[name];
        const shape = el("path", { d: path(feature), fill: shade(ours ? ours.total : 0), stroke: "#fff" });
        shape.setAttribute("stroke-width", "0.5");
        const title = el("title");
        title.textContent = ours
          ? ours.countries.map((c) => `${c.label}: ${c.total}`).join("; ")
          : name;
        const href = ours && ours.countries[0].href;
        const holder = href && kgLinks.linkable(href) ? el("a", { href: href, class: "country" }) : el("g");
        holder.dataset.feature = name;
        holder.append(title, shape);
        svg.appendChild(holder);
      }
      figure.replaceChildren(svg);
    })
    .catch((e) => {
      const p = document.createElement("p");
      p.className = "error";
      p.textContent = String(e);
      figure.replaceChildren(p);
    });
})();
