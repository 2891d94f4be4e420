// The playground page: the form, the WebSocket to this tab's training session,
// and drawing each frame the session sends (at most once per animation frame).

import { DEFAULTS, LAB, fromQuery, toQuery } from "./config.js";
import {
  boundaryImage, drawChart, drawPlane, drawWeights, neuronImage, planePoint, weightAt,
} from "./draw.js";
import { renderInspector, renderRace } from "./panels.js";

const $ = (id) => document.getElementById(id);
const NEURON_GRID = 24;
const GRAD_COLOURS = ["#08306b", "#2171b5", "#4292c6", "#6baed6", "#9ecae1", "#c6dbef", "#deebf7"];

const state = {
  config: fromQuery(location.search),
  inUse: null, // the configuration of the run the server trains (ready's)
  refused: {}, // field -> the server's line: the form's value not applied
  code: null, // the last "Copy as code" answer: python, command, data_file
  options: null,
  session: null,
  data: null,
  network: null,
  frame: null,
  dirty: false,
  history: {},
  framesDrawn: 0,
  fps: 0,
  positions: [],
  inspected: null,
  socket: null,
  race: { runs: [], id: 0 },
};

// what each race starts with, and how its values are read
const RACES = {
  lr: { values: "0.01,0.1,0.5,1,2", read: Number },
  optimizer: { values: "sgd,adam,rmsprop,adagrad", read: String },
  batch_size: { values: "1,32,full", read: (v) => (v === "full" ? v : Number(v)) },
};
window.playground = state; // for the browser tests and the curious

// -- messages ----------------------------------------------------------------------
function send(message) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(message));
  }
}

function showError(message) {
  $("error").textContent = message || "";
  $("error").hidden = !message;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  state.socket = socket;
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    const handler = HANDLERS[message.type];
    if (handler) handler(message);
  };
  socket.onclose = () => {
    if (!$("error").textContent) showError("The connection to the server closed; reload the page.");
  };
}

const HANDLERS = {
  hello(message) {
    state.session = message.session;
    state.options = message;
    fillChoices(message);
    writeForm();
    sendConfig();
  },
  ready(message) {
    showError("");
    markRefused({});
    state.inUse = message.config;
    state.data = message.data;
    state.network = message.network;
    state.history = {};
    state.frame = null;
    $("lab-log").textContent = "";
    $("log-title").textContent = `Training log: ${message.data.name}, every ${message.log_every} `
      + `epoch${message.log_every === 1 ? "" : "s"} (Keras' lines, as deepgrad train prints them)`;
    $("inspector").hidden = true;
    state.inspected = null;
    if (message.config.dataset === "csv") {
      state.config.target = message.config.target;
      state.config.file = message.config.file;
      updateUrl();
    }
    describe(message);
    buildNetwork();
  },
  frame(message) {
    for (const [key, values] of Object.entries(message.history)) {
      (state.history[key] ||= []).push(...values);
    }
    if (message.log.length) {
      $("lab-log").textContent += message.log.join("\n") + "\n";
    }
    state.frame = message;
    state.dirty = true;
    updateNumbers(message);
    if (state.inspected && message.state !== "playing" && message.epoch !== state.inspected.epoch) {
      inspect(state.inspected.layer, state.inspected.unit, state.inspected.weight);
    }
  },
  inspect(message) {
    state.inspected = {
      layer: message.layer, unit: message.unit, weight: message.weight ? message.weight.index : null,
      epoch: message.epoch,
    };
    renderInspector($("inspector"), message, state.config.lr);
  },
  code(message) {
    state.code = message;
    $("code-text").textContent = message.python;
    // a line break may fall between two words of the command, never inside one
    // (not even after the hyphens of --seed); the box's text stays the command
    $("code-command").replaceChildren(...message.command.split(" ").flatMap((word, i) => {
      const span = document.createElement("span");
      span.className = "word";
      span.textContent = word;
      return i ? [" ", span] : [span];
    }));
    $("code-data-note").hidden = !message.data_file;
    $("code-data-note").textContent = message.data_file
      ? `It reads the data from ${message.data_file}: save it first with the page's "data CSV" link.`
      : "";
    $("copy-status").textContent = "";
    if (!$("code-dialog").open) $("code-dialog").showModal();
  },
  "race-run"(message) {
    // one finished run of a race: draw what has finished so far (of this race)
    if (message.id !== state.race.id) return;
    state.race.runs[message.index] = message;
    renderRace($("race-chart"), $("race-legend"), {
      runs: state.race.runs.filter(Boolean), running: message.of - state.race.runs.filter(Boolean).length,
    });
  },
  race(message) {
    if (message.id !== state.race.id) return;
    state.race.runs = message.runs;
    renderRace($("race-chart"), $("race-legend"), message);
  },
  error(message) {
    showError(message.message);
    if (message.fields) markRefused(message.fields);
  },
  closed(message) {
    showError(message.message);
  },
};

// -- the form ----------------------------------------------------------------------
// where a refused field's mark goes, for the fields that are not an input of that id
const FIELD_NODES = { hidden: "layers-text", points: "clear-points", file: "csv-upload" };

// The fields the server refused (a config's other fields still apply): each
// marked, with its line under it, until a config without them is in use. An
// unknown key (from a hand-written URL) is dropped so that it is not sent again.
function markRefused(fields) {
  document.querySelectorAll(".refusal").forEach((node) => node.remove());
  document.querySelectorAll(".refused").forEach((node) => node.classList.remove("refused"));
  document.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
  state.refused = fields;
  for (const [name, line] of Object.entries(fields)) {
    if (!(name in DEFAULTS)) {
      delete state.config[name];
      updateUrl();
      continue;
    }
    const field = $(FIELD_NODES[name] || name);
    if (!field) continue;
    field.setAttribute("aria-invalid", "true");
    const holder = field.closest("label, .layers-bar") || field.parentElement;
    holder.classList.add("refused");
    const note = document.createElement("small");
    note.className = "refusal";
    note.dataset.testid = `refused-${name}`;
    note.textContent = line;
    holder.appendChild(note);
  }
}

function options(select, values, labels = values) {
  select.innerHTML = values.map((v, i) => `<option value="${v}">${labels[i]}</option>`).join("");
}

function fillChoices(message) {
  options($("dataset"), message.datasets.map((d) => d.name), message.datasets.map((d) => d.label));
  options($("activation"), message.activations);
  options($("init"), message.inits);
  options($("loss"), ["auto", ...message.losses]);
  options($("optimizer"), Object.keys(message.optimizers));
  options($("speed"), message.speeds.map(String),
    message.speeds.map((s) => (s === 0 ? "max" : `${s} epoch${s === 1 ? "" : "s"}/s`)));
  $("speed").value = "0";
}

const FIELDS = ["dataset", "samples", "noise", "data_seed", "test_ratio", "activation",
  "init", "loss", "optimizer", "lr", "momentum", "weight_decay", "l1", "dropout", "epochs",
  "seed", "standardize"];

function writeForm() {
  const config = state.config;
  for (const key of FIELDS) $(key).value = config[key];
  $("batch_size").value = config.batch_size;
  $("batchnorm").checked = Boolean(config.batchnorm);
  $("nesterov").checked = Boolean(config.nesterov);
  const kind = datasetKind();
  $("generated-options").hidden = !["generated", "function"].includes(kind);
  $("custom-options").hidden = kind !== "custom";
  $("target-label").hidden = kind !== "csv";
  drawSizes();
}

// the form into state.config; false (and the error shown) for a batch size
// that is not a number, which keeps the one the run has
function readForm() {
  const config = state.config;
  for (const key of FIELDS) {
    const input = $(key);
    config[key] = input.type === "number" ? Number(input.value) : input.value;
  }
  config.batchnorm = $("batchnorm").checked;
  config.nesterov = $("nesterov").checked;
  if (!$("target-label").hidden && $("target").value) config.target = $("target").value;
  const batch = $("batch_size").value.trim();
  const size = batch === "full" || batch === "" ? "full" : Number(batch);
  if (Number.isNaN(size)) {
    showError(`batch size: expected a whole number >= 1 or 'full', received '${batch}'`);
    return false;
  }
  config.batch_size = size;
  return true;
}

function datasetKind() {
  const entry = state.options?.datasets.find((d) => d.name === state.config.dataset);
  return entry ? entry.kind : "gate";
}

function updateUrl() {
  history.replaceState(null, "", `?${toQuery(state.config)}`);
}

function sendConfig() {
  updateUrl();
  const config = { ...state.config };
  if (datasetKind() !== "custom") config.points = [];
  if (datasetKind() !== "csv") { config.target = null; config.file = null; }
  send({ type: "config", config });
}

function onFormChange(event) {
  const previous = state.config.dataset;
  if (!readForm()) { writeForm(); return; }
  if (event.target.id === "dataset" && state.config.dataset !== previous) {
    const entry = state.options.datasets.find((d) => d.name === state.config.dataset);
    state.config.loss = "auto"; // other data may be another task: the loss follows it
    if (entry.kind === "gate") state.config.test_ratio = 0;
    else if (state.config.test_ratio === 0) state.config.test_ratio = 0.2;
    if (["generated", "function"].includes(entry.kind)) state.config.noise = entry.noise;
    if (entry.kind === "csv" && !state.config.file) $("csv-upload").click();
  }
  if (event.target.id === "optimizer") {
    state.config.lr = state.options.optimizers[state.config.optimizer];
  }
  writeForm();
  sendConfig();
}

function drawSizes() {
  const hidden = state.config.hidden;
  $("layers-text").textContent = `${hidden.length} hidden layer${hidden.length === 1 ? "" : "s"}`;
  // above each hidden column of the drawing (columns: inputs, hidden..., outputs)
  const width = $("network").getBoundingClientRect().width;
  const x = (l) => 12 + (l * (width - 54)) / (hidden.length + 1);
  $("layer-sizes").innerHTML = hidden.map((size, i) => `<div class="size" style="left:${x(i + 1) - 18}px">
      <button data-layer="${i}" data-change="-1" title="Remove a neuron">&minus;</button>
      <span>${size}</span>
      <button data-layer="${i}" data-change="1" title="Add a neuron">+</button></div>`).join("");
}

function changeLayers(change) {
  const hidden = state.config.hidden;
  if (change > 0 && hidden.length < 6) hidden.push(hidden.length ? hidden[hidden.length - 1] : 4);
  if (change < 0 && hidden.length) hidden.pop();
  drawSizes();
  sendConfig();
}

// -- what the run is ---------------------------------------------------------------
function describe(message) {
  const { data, network } = message;
  const classes = data.class_names ? `${data.class_names.length} classes` : "regression";
  $("data-summary").textContent = `${data.points.length} points (${data.n_train} train, ${data.n_test} test), ` +
    `${data.feature_names.length} features, ${classes}` +
    (data.projected ? `; drawn on ${data.axes.join(" × ")}` : "");
  $("network-summary").textContent = `${network.widths.join("-")} network, ${network.parameters} parameters, ` +
    `loss ${network.loss}, init ${network.init}, standardize ${network.standardize ? "on" : "off"}`;
  if (state.config.dataset === "csv" && state.upload) {
    options($("target"), state.upload.columns);
    $("target").value = message.config.target;
  }
}

function buildNetwork() {
  const container = $("network");
  container.querySelectorAll(".neuron, .input-label").forEach((node) => node.remove());
  const widths = state.network.widths;
  const box = container.getBoundingClientRect();
  const size = 30;
  const columns = widths.length;
  state.positions = widths.map((width, l) => {
    const shown = l === 0 && width > 16 ? 0 : width;
    const x = 12 + (l * (box.width - size - 24)) / Math.max(1, columns - 1);
    const gap = Math.min(42, (box.height - 40) / Math.max(1, shown));
    const top = 30 + (box.height - 30 - gap * shown) / 2;
    return Array.from({ length: shown }, (_, j) => ({ x, y: top + j * gap, size }));
  });
  state.positions.forEach((layer, l) => layer.forEach((position, j) => {
    const node = document.createElement("canvas");
    node.className = "neuron";
    node.width = node.height = NEURON_GRID;
    node.style.left = `${position.x}px`;
    node.style.top = `${position.y}px`;
    node.dataset.layer = l;
    node.dataset.unit = j;
    if (l === 0) {
      node.title = state.data.projected ? state.data.feature_names[j] : `input ${state.data.feature_names[j]}`;
      if (!state.data.projected) drawInputRamp(node, j);
    } else {
      node.title = `layer ${l}, neuron ${j}: click to inspect backprop here`;
      node.addEventListener("click", () => inspect(l, j));
    }
    container.appendChild(node);
  }));
  if (widths[0] > 16) {
    const label = document.createElement("span");
    label.className = "input-label";
    label.style.left = "6px";
    label.style.top = `${box.height / 2}px`;
    label.textContent = `${widths[0]} inputs`;
    container.appendChild(label);
  }
}

// an input neuron's map is its own feature across the plane
function drawInputRamp(node, feature) {
  const values = new Uint8Array(NEURON_GRID * NEURON_GRID);
  for (let r = 0; r < NEURON_GRID; r++) {
    for (let c = 0; c < NEURON_GRID; c++) {
      values[r * NEURON_GRID + c] = Math.round(255 * (feature === 0 ? c : NEURON_GRID - 1 - r) / (NEURON_GRID - 1));
    }
  }
  const encoded = btoa(String.fromCharCode(...values));
  node.getContext("2d").drawImage(neuronImage(encoded, NEURON_GRID), 0, 0);
}

// a neuron, or with `weight` one of its incoming weights W[unit, weight]
function inspect(layer, unit, weight = null) {
  state.inspected = { layer, unit, weight, epoch: null };
  document.querySelectorAll(".neuron.selected").forEach((n) => n.classList.remove("selected"));
  document.querySelector(`.neuron[data-layer="${layer}"][data-unit="${unit}"]`)?.classList.add("selected");
  send(weight === null ? { type: "inspect", layer, unit } : { type: "inspect", layer, unit, weight });
}

// -- each frame ----------------------------------------------------------------------
function last(values) {
  return values && values.length ? values[values.length - 1] : null;
}

function plain(value) {
  return value === null || value === undefined ? "" : String(Number(value.toPrecision(6)));
}

function updateNumbers(frame) {
  $("epoch").textContent = String(frame.epoch);
  $("train-loss").textContent = plain(last(state.history.loss));
  $("test-loss").textContent = plain(last(state.history.val_loss));
  const accuracy = last(state.history.accuracy);
  $("accuracy").textContent = accuracy === null ? "" : accuracy.toFixed(3);
  const testAccuracy = last(state.history.val_accuracy);
  $("test-accuracy").textContent = testAccuracy === null ? "" : testAccuracy.toFixed(3);
  $("play").classList.toggle("active", frame.state === "playing");
  $("pause").classList.toggle("active", frame.state !== "playing");
  if (frame.state === "finished" && frame.stopped_reason) {
    $("data-summary").dataset.stopped = frame.stopped_reason;
  }
}

function draw() {
  const frame = state.frame;
  if (!frame || !state.data) return;
  const nClasses = state.data.class_names ? state.data.class_names.length : 0;
  drawPlane($("boundary"), boundaryImage(frame.boundary, nClasses), state.data, true);
  frame.neurons.forEach((layer, l) => layer.forEach((map, j) => {
    const node = document.querySelector(`.neuron[data-layer="${l + 1}"][data-unit="${j}"]`);
    if (node) node.getContext("2d").drawImage(neuronImage(map, NEURON_GRID), 0, 0);
  }));
  drawWeights($("network-lines"), state.positions, frame.weights);
  const history = state.history;
  drawChart($("loss-chart"), [
    { values: history.loss || [], colour: "#333" },
    { values: history.val_loss || [], colour: "#f59322", dash: true },
  ]);
  const gradients = Object.keys(history).filter((k) => k.startsWith("grad"));
  drawChart($("gradient-flow"), gradients.map((key, i) => ({
    values: history[key], colour: GRAD_COLOURS[i % GRAD_COLOURS.length],
  })), { log: true });
  state.framesDrawn += 1;
}

function animate() {
  if (state.dirty) {
    state.dirty = false;
    draw();
  }
  requestAnimationFrame(animate);
}

function countFrames() {
  let previous = state.framesDrawn;
  setInterval(() => {
    state.fps = state.framesDrawn - previous;
    previous = state.framesDrawn;
    $("fps").textContent = String(state.fps);
  }, 1000);
}

// -- files -------------------------------------------------------------------------
async function upload(file) {
  if (!file || !state.session) return;
  const response = await fetch(
    `/api/sessions/${state.session}/upload?filename=${encodeURIComponent(file.name)}`,
    { method: "POST", body: file },
  );
  const answer = await response.json();
  if (!response.ok) {
    showError(answer.detail);
    return;
  }
  state.upload = answer;
  options($("target"), answer.columns);
  $("target").value = answer.target;
  Object.assign(state.config, {
    dataset: "csv", file: answer.filename, target: answer.target, loss: "auto",
  });
  writeForm();
  sendConfig();
}

// one of the code answer's texts into the clipboard; where the browser refuses
// (a page served over plain http to another machine), the text is selected instead
async function copy(key, what, shown) {
  try {
    await navigator.clipboard.writeText(state.code[key]);
    $("copy-status").textContent = `${what} is in the clipboard.`;
  } catch {
    window.getSelection().selectAllChildren(shown);
    $("copy-status").textContent = `The browser keeps the clipboard closed here: ${what.toLowerCase()} is selected, press Ctrl+C.`;
  }
}

async function download(kind, filename) {
  const response = await fetch(`/api/sessions/${state.session}/${kind}`);
  if (!response.ok) {
    showError((await response.json()).detail);
    return;
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = filename;
  link.click();
  URL.revokeObjectURL(link.href);
}

// -- wiring ------------------------------------------------------------------------
function wire() {
  document.querySelectorAll("#data-panel select, #data-panel input:not([type=file]), .grid-form input, .grid-form select")
    .forEach((input) => {
      if (["click-class", "target", "race-option", "race-values"].includes(input.id)) return;
      input.addEventListener("change", onFormChange);
    });
  $("target").addEventListener("change", () => {
    Object.assign(state.config, { target: $("target").value, loss: "auto" });
    writeForm();
    sendConfig();
  });
  $("play").addEventListener("click", () => send({ type: "play" }));
  $("pause").addEventListener("click", () => send({ type: "pause" }));
  $("step").addEventListener("click", () => send({ type: "step", unit: "epoch" }));
  $("step-batch").addEventListener("click", () => send({ type: "step", unit: "batch" }));
  $("reset").addEventListener("click", () => send({ type: "reset" }));
  $("speed").addEventListener("change", () => send({ type: "speed", value: Number($("speed").value) }));
  $("add-layer").addEventListener("click", () => changeLayers(1));
  $("remove-layer").addEventListener("click", () => changeLayers(-1));
  $("layer-sizes").addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const hidden = state.config.hidden;
    const i = Number(button.dataset.layer);
    hidden[i] = Math.max(1, Math.min(32, hidden[i] + Number(button.dataset.change)));
    drawSizes();
    sendConfig();
  });
  $("preset-lab").addEventListener("click", () => {
    state.config = { ...LAB, hidden: [...LAB.hidden], points: [] };
    writeForm();
    sendConfig();
  });
  $("csv-upload").addEventListener("change", (event) => upload(event.target.files[0]));
  $("copy-code").addEventListener("click", () => send({ type: "code" }));
  $("copy-python").addEventListener("click", () => copy("python", "The Python", $("code-text")));
  $("copy-command").addEventListener("click", () => copy("command", "The command", $("code-command")));
  $("code-close").addEventListener("click", () => $("code-dialog").close());
  $("code-dialog").addEventListener("click", (event) => {
    if (event.target === $("code-dialog")) $("code-dialog").close(); // the backdrop
  });
  $("download-model").addEventListener("click", (e) => { e.preventDefault(); download("model", "playground-model.dg"); });
  $("download-history").addEventListener("click", (e) => { e.preventDefault(); download("history.csv", "playground-history.csv"); });
  $("download-data").addEventListener("click", (e) => { e.preventDefault(); download("data.csv", "playground-data.csv"); });
  $("race-option").addEventListener("change", () => {
    $("race-values").value = RACES[$("race-option").value].values;
  });
  $("race").addEventListener("click", () => {
    const option = $("race-option").value;
    const texts = $("race-values").value.split(",").map((v) => v.trim()).filter(Boolean);
    const values = texts.map(RACES[option].read);
    const bad = texts.filter((_, i) => Number.isNaN(values[i]));
    if (bad.length) {
      showError(`race: not numbers: ${bad.join(", ")}`);
      return;
    }
    state.race = { runs: [], id: state.race.id + 1 };
    $("race-legend").textContent = `racing ${values.length} runs…`;
    send({ type: "race", option, values, id: state.race.id });
  });
  $("network-lines").addEventListener("click", (event) => {
    if (!state.frame) return;
    const box = $("network-lines").getBoundingClientRect();
    const hit = weightAt(state.positions, state.frame.weights, event.clientX - box.left, event.clientY - box.top);
    if (hit) inspect(hit.layer, hit.unit, hit.weight);
  });
  $("inspector").addEventListener("click", (event) => {
    if (event.target.classList.contains("close")) {
      $("inspector").hidden = true;
      state.inspected = null;
    }
  });
  const addPoint = (event, label) => {
    if (datasetKind() !== "custom") return;
    event.preventDefault();
    const extent = state.data && state.config.points.length >= 4 ? state.data.extent : [-2, 2, -2, 2];
    const [x, y] = planePoint($("boundary"), event, extent);
    state.config.points.push([Number(x.toFixed(3)), Number(y.toFixed(3)), label]);
    drawPlane($("boundary"), null, {
      extent, points: state.config.points, labels: state.config.points.map((p) => p[2]),
      test: state.config.points.map(() => 0), task: "binary",
    }, true);
    sendConfig();
  };
  $("boundary").addEventListener("click", (e) => addPoint(e, Number($("click-class").value)));
  $("boundary").addEventListener("contextmenu", (e) => addPoint(e, 1));
  $("clear-points").addEventListener("click", () => { state.config.points = []; sendConfig(); });
  window.addEventListener("resize", () => { if (state.network) { buildNetwork(); state.dirty = true; } });
}

wire();
connect();
countFrames();
requestAnimationFrame(animate);
