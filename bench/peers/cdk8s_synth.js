// The cdk8s peer of `modelstack render`: the same Kubernetes objects synthesized by cdk8s, one YAML file
// each, so bench/run.py can time a peer's synth beside the render.
//
//     node bench/peers/cdk8s_synth.js MANIFESTS.json OUT [one-chart|chart-per-model]
//
// MANIFESTS.json is what `bench/floors.py prepare` keeps: every object of the render, and beside it
// (*.tree.json) the render's resource tree, from which each object's model is known. An ApiObject per
// object with its explicit name, synthesized with YamlOutputType.FILE_PER_RESOURCE, under one Chart
// (`one-chart`, the default: cdk8s's cheapest shape, the peer figure) or under one Chart per model and one
// for the stack-wide objects (`chart-per-model`: the shape our components have, which cdk8s 2.70.106's
// App.validate makes quadratic in the number of charts).
"use strict";
const fs = require("fs");
const { App, Chart, ApiObject, YamlOutputType } = require("cdk8s");

const [manifestsPath, outdir, shape = "one-chart"] = process.argv.slice(2);
if (!["one-chart", "chart-per-model"].includes(shape)) throw new Error(`unknown shape ${shape}`);
const objects = JSON.parse(fs.readFileSync(manifestsPath, "utf8"));
const tree = JSON.parse(fs.readFileSync(manifestsPath.replace(/\.json$/, ".tree.json"), "utf8"));

// Each object's model: the name of the ServedModel at or above it in the render's tree.
const byUrn = new Map(tree.map((entry) => [entry.urn, entry]));
function modelOf(entry) {
  for (let at = entry; at; at = byUrn.get(at.parent)) {
    if (at.type === "modelstack:index:ServedModel") return at.name;
  }
  return "";
}
const owner = new Map();
for (const entry of tree) {
  if (entry.body) owner.set(objectKey(entry.body), modelOf(entry));
}
function objectKey(body) {
  const meta = body.metadata || {};
  return `${body.apiVersion}/${body.kind}/${meta.namespace || ""}/${meta.name}`;
}

const app = new App({ outdir, yamlOutputType: YamlOutputType.FILE_PER_RESOURCE });
const charts = new Map();
function chartFor(model) {
  const id = shape === "one-chart" ? "stack" : model || "stack";
  if (!charts.has(id)) charts.set(id, new Chart(app, id, { disableResourceNameHashes: true }));
  return charts.get(id);
}
let count = 0;
for (const body of objects) {
  const key = objectKey(body);
  new ApiObject(chartFor(owner.get(key) || ""), key, body);
  count += 1;
}
app.synth();
console.log(`cdk8s: ${count}`);
