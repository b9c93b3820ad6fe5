// socioagent web app: a scene on a Leaflet map, a chat box, the answer's features drawn with popups.
// The page's state is kept in window.socio (tests and bench/bench_web.py read it):
//   status: starting | ready | loading | asking | drawn | error
//   drawn: features drawn for the last answer; lastMs: question submitted -> features drawn (ms), of which
//   lastTiming.requestMs until the answer arrived and lastTiming.drawMs to draw it (two animation frames)
"use strict";

const socio = (window.socio = {
  status: "starting", scene: null, answer: null, drawn: 0, lastMs: null, error: null, asked: 0,
});

const $ = (id) => document.getElementById(id);
let map = null;
let imageLayers = {};
let featureLayer = null;
let layerControl = null;
let sceneZoom = 0;

function setStatus(status) {
  socio.status = status;
  document.body.dataset.status = status;
}

async function api(path, options = {}) {
  const init = { headers: { Accept: "application/json" }, ...options };
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
    delete init.json;
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let doc = null;
  try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = { detail: text }; }
  if (!r.ok) {
    const detail = doc ? (doc.error ?? doc.detail ?? r.statusText) : r.statusText;
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return doc;
}

function message(kind, text) {
  const li = document.createElement("li");
  li.className = kind;
  li.textContent = text;
  $("messages").appendChild(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

// -- the map -------------------------------------------------------------------------------------------

function toLatLng(view) {
  // pixels: image x right, y down -> CRS.Simple lat = -y, lng = x; lonlat: GeoJSON's own [lon, lat]
  return view === "pixels" ? (c) => L.latLng(-c[1], c[0]) : (c) => L.latLng(c[1], c[0]);
}

function boundsOf(info) {
  const [minx, miny, maxx, maxy] = info.bounds;
  return info.view === "pixels"
    ? L.latLngBounds([[-maxy, minx], [-miny, maxx]])
    : L.latLngBounds([[miny, minx], [maxy, maxx]]);
}

function showScene(info) {
  if (map) map.remove();
  const options = info.view === "pixels" ? { crs: L.CRS.Simple, minZoom: -4, maxZoom: 4, zoomSnap: 0.25 } : { zoomSnap: 0.25 };
  map = L.map("map", { ...options, attributionControl: false });
  const bounds = boundsOf(info);
  imageLayers = {};
  for (const [name, url] of Object.entries(info.layers)) {
    imageLayers[name === "sat" ? "satellite" : "map"] = L.imageOverlay(url, bounds, { interactive: false });
  }
  imageLayers.satellite.addTo(map);
  featureLayer = null;
  layerControl = L.control.layers(imageLayers, {}, { collapsed: false }).addTo(map);
  map.fitBounds(bounds, { animate: false });
  sceneZoom = map.getZoom();
  socio.scene = info;
  socio.drawn = 0;
  const crs = info.crs ? `${info.crs}, shown in lon/lat` : "no georeferencing, shown in image pixels";
  const what = info.kind === "raster" ? "raster footprint, map rendered from its vectors; " : "";
  $("scene-info").textContent = `${info.name}: ${info.width}x${info.height} px (${what}${crs}); ${info.layer_features} map features`;
}

function fmt(value, digits) {
  return typeof value === "number" ? value.toFixed(digits) : String(value);
}

function popupHtml(props) {
  const rows = [];
  const add = (label, value) => {
    if (value === undefined || value === null || value === "") return;
    const tr = document.createElement("tr");
    const th = document.createElement("td");
    const td = document.createElement("td");
    th.textContent = label;
    td.textContent = value;
    tr.append(th, td);
    rows.push(tr);
  };
  add("name", props.name);
  add("class", props.class);
  add("score", props.score !== undefined ? fmt(props.score, 2) : undefined);
  if (typeof props.distance_m === "number") {
    add("distance", props.distance_m >= 1000 ? `${fmt(props.distance_m / 1000, 2)} km` : `${fmt(props.distance_m, 0)} m`);
  }
  add("area", typeof props.area_m2 === "number" ? `${fmt(props.area_m2, 0)} m²` : undefined);
  const table = document.createElement("table");
  table.className = "popup";
  table.append(...rows);
  return table;
}

function drawFeatures(answer) {
  if (featureLayer) {
    layerControl.removeLayer(featureLayer);
    featureLayer.remove();
  }
  let count = 0;
  featureLayer = L.geoJSON(answer.features, {
    coordsToLatLng: toLatLng(answer.view),
    style: () => ({ color: "#ff6b00", weight: 2, fillOpacity: 0.25 }),
    pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 6, color: "#ff6b00", fillOpacity: 0.8 }),
    onEachFeature: (f, layer) => {
      count += 1;
      layer.bindPopup(popupHtml(f.properties || {}));
    },
  }).addTo(map);
  layerControl.addOverlay(featureLayer, "answer");
  if (count > 0) map.fitBounds(featureLayer.getBounds(), { maxZoom: sceneZoom + 2, padding: [20, 20], animate: false });
  return count;
}

// -- scenes --------------------------------------------------------------------------------------------

async function loadScene(request) {
  setStatus("loading");
  try {
    showScene(await api("/api/scenes", { json: request }));
    setStatus("ready");
  } catch (e) {
    fail(e);
  }
}

let entries = [];

function requestFor(entry) {
  return entry.kind === "raster" ? { raster: entry.path, vectors: entry.vectors } : { path: entry.path };
}

async function listScenes() {
  const list = await api("/api/scenes");
  entries = list.scenes;
  const select = $("scene-select");
  select.replaceChildren();
  for (const s of list.scenes) {
    const o = document.createElement("option");
    o.value = s.path;
    o.textContent = `${s.name}${s.kind === "raster" ? " (raster)" : s.georeferenced ? "" : " (pixels)"}`;
    select.appendChild(o);
  }
  return list;
}

function requestForPath(path) {
  const entry = entries.find((e) => e.path === path);
  return entry ? requestFor(entry) : { path };
}

// -- questions -----------------------------------------------------------------------------------------

async function ask(question, mode) {
  if (!socio.scene) throw new Error("load a scene first");
  const t0 = performance.now();
  setStatus("asking");
  message("question", question);
  const answer = await api("/api/ask", { json: { scene_id: socio.scene.scene_id, question, mode } });
  const t1 = performance.now();
  socio.answer = answer;
  socio.drawn = drawFeatures(answer);
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const t2 = performance.now();
  socio.lastMs = t2 - t0;
  socio.lastTiming = { requestMs: t1 - t0, drawMs: t2 - t1 };
  socio.asked += 1;
  message("answer", `${answer.sentence} (${answer.count} feature${answer.count === 1 ? "" : "s"}, ${fmt(answer.seconds, 2)} s)`);
  $("answer-tools").hidden = false;
  $("download-geojson").href = answer.downloads.geojson;
  $("download-gpkg").href = answer.downloads.gpkg;
  $("trace").hidden = true;
  setStatus("drawn");
}

function cell(tr, text, tag = "td") {
  const c = document.createElement(tag);
  c.textContent = text;
  tr.appendChild(c);
}

async function showTrace() {
  const box = $("trace");
  const doc = await api(socio.answer.trace_url);
  const t = doc.trace;
  box.replaceChildren();
  const title = document.createElement("div");
  title.textContent = `${doc.mode}: ${doc.question}`;
  box.appendChild(title);
  if (t.plan) {
    const pre = document.createElement("pre");
    pre.id = "trace-plan";
    pre.textContent = JSON.stringify(t.plan, null, 1);
    box.appendChild(pre);
  }
  const table = document.createElement("table");
  table.id = "trace-stages";
  const head = document.createElement("tr");
  ["stage", "round", "ok", "instances", "seconds"].forEach((h) => cell(head, h, "th"));
  table.appendChild(head);
  for (const s of t.stages || []) {
    const tr = document.createElement("tr");
    cell(tr, s.stage);
    cell(tr, s.round ?? "");
    cell(tr, s.ok === undefined ? "" : s.ok ? "yes" : `no: ${s.failure}`);
    cell(tr, s.instances ?? "");
    cell(tr, s.latency_s !== undefined ? fmt(s.latency_s, 3) : "");
    table.appendChild(tr);
  }
  box.appendChild(table);
  const timings = document.createElement("pre");
  timings.id = "trace-timings";
  timings.textContent = Object.entries(t.timings || {}).map(([k, v]) => `${k}: ${fmt(v, 3)}`).join("\n");
  box.appendChild(timings);
  box.hidden = false;
}

function fail(e) {
  socio.error = e.message;
  message("error", e.message);
  setStatus("error");
}

// -- wiring --------------------------------------------------------------------------------------------

async function start() {
  try {
    const health = await api("/api/health");
    socio.health = health;
    $("backend").textContent = `${health.policy} + ${health.segmenter}${health.chat ? ", chat" : ""}`;
    const list = await listScenes();
    const first = new URLSearchParams(location.search).get("scene") || (list.scenes[0] && list.scenes[0].path);
    if (first) await loadScene(requestForPath(first));
    else setStatus("ready");
  } catch (e) {
    fail(e);
  }
}

$("scene-load").addEventListener("click", () => {
  const path = $("scene-path").value.trim() || $("scene-select").value;
  if (path) loadScene(requestForPath(path));
});
$("ask-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const question = $("question").value.trim();
  if (question) ask(question, $("mode").value).catch(fail);
});
$("show-trace").addEventListener("click", () => showTrace().catch(fail));
start();
