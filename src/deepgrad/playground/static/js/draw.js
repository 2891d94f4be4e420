// Drawing on canvases: the decision boundary and its points, neuron heat maps,
// the network's weights, and line charts. Pure functions of what the server sent.

const NEGATIVE = [245, 147, 34]; // orange: class 0, negative values
const POSITIVE = [8, 119, 189]; // blue: class 1, positive values
const WHITE = [255, 255, 255];
export const CLASS_COLOURS = [NEGATIVE, POSITIVE, [46, 160, 67], [142, 68, 173],
  [214, 39, 40], [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34],
  [23, 190, 207]];

function mix(a, b, t) {
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t));
}

// -1..1 -> orange..white..blue
function diverging(value) {
  return value < 0 ? mix(WHITE, NEGATIVE, Math.min(1, -value))
    : mix(WHITE, POSITIVE, Math.min(1, value));
}

export function decode(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function imageOf(size, colourAt) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const context = canvas.getContext("2d");
  const image = context.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const [r, g, b] = colourAt(i);
    image.data.set([r, g, b, 255], i * 4);
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

// the boundary as a small image: binary p, multiclass (class, confidence), regression
export function boundaryImage(boundary, nClasses) {
  const values = decode(boundary.values);
  if (boundary.kind === "multiclass") {
    const classes = decode(boundary.classes);
    const floor = 1 / nClasses;
    return imageOf(boundary.size, (i) => {
      const confidence = (values[i] / 255 - floor) / (1 - floor);
      return mix(WHITE, CLASS_COLOURS[classes[i] % CLASS_COLOURS.length],
        0.15 + 0.6 * Math.max(0, confidence));
    });
  }
  return imageOf(boundary.size, (i) => diverging((values[i] / 127.5 - 1) * 0.6));
}

export function neuronImage(base64, size) {
  const values = decode(base64);
  return imageOf(size, (i) => diverging(values[i] / 127.5 - 1));
}

// the plane: the boundary image stretched over it, then the points
export function drawPlane(canvas, image, data, showTest) {
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  if (image) {
    context.imageSmoothingEnabled = true;
    context.drawImage(image, 0, 0, width, height);
  }
  if (!data) return;
  const [xmin, xmax, ymin, ymax] = data.extent;
  data.points.forEach(([x, y], i) => {
    const isTest = data.test[i] === 1;
    if (isTest && !showTest) return;
    const px = ((x - xmin) / (xmax - xmin)) * width;
    const py = ((ymax - y) / (ymax - ymin)) * height;
    const colour = data.task === "regression"
      ? diverging(data.labels[i] * 2 - 1)
      : CLASS_COLOURS[data.labels[i] % CLASS_COLOURS.length];
    context.beginPath();
    context.arc(px, py, data.points.length > 600 ? 2.5 : 4, 0, 2 * Math.PI);
    context.fillStyle = isTest ? "#fff" : `rgb(${colour})`;
    context.strokeStyle = isTest ? `rgb(${colour})` : "#333";
    context.lineWidth = isTest ? 2 : 0.8;
    context.fill();
    context.stroke();
  });
}

// plane coordinates of a click on the canvas
export function planePoint(canvas, event, extent) {
  const box = canvas.getBoundingClientRect();
  const [xmin, xmax, ymin, ymax] = extent;
  const u = (event.clientX - box.left) / box.width;
  const v = (event.clientY - box.top) / box.height;
  return [xmin + u * (xmax - xmin), ymax - v * (ymax - ymin)];
}

// weights as lines: colour by sign, width by magnitude
export function drawWeights(canvas, positions, weights) {
  const box = canvas.getBoundingClientRect();
  canvas.width = box.width;
  canvas.height = box.height;
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  weights.forEach((layer, l) => {
    const from = positions[l];
    const to = positions[l + 1];
    if (!from || !to) return;
    layer.weight.forEach((row, j) => {
      row.forEach((w, i) => {
        if (!from[i] || !to[j]) return;
        context.beginPath();
        context.moveTo(from[i].x + from[i].size, from[i].y + from[i].size / 2);
        context.lineTo(to[j].x, to[j].y + to[j].size / 2);
        context.strokeStyle = `rgba(${w < 0 ? NEGATIVE : POSITIVE}, 0.75)`;
        context.lineWidth = Math.max(0.3, Math.min(6, Math.abs(w) * 1.5));
        context.stroke();
      });
    });
  });
}

// the weight line nearest to (x, y), within `reach` pixels: {layer, unit, weight}
// (layer counted from 1, as W1; unit j and weight i of W[j, i]), or null
export function weightAt(positions, weights, x, y, reach = 5) {
  let best = null;
  let bestDistance = reach;
  weights.forEach((layer, l) => {
    const from = positions[l];
    const to = positions[l + 1];
    if (!from || !to) return;
    layer.weight.forEach((row, j) => row.forEach((_, i) => {
      if (!from[i] || !to[j]) return;
      const ax = from[i].x + from[i].size;
      const ay = from[i].y + from[i].size / 2;
      const bx = to[j].x;
      const by = to[j].y + to[j].size / 2;
      const length = (bx - ax) ** 2 + (by - ay) ** 2;
      const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / length));
      const distance = Math.hypot(x - ax - t * (bx - ax), y - ay - t * (by - ay));
      if (distance < bestDistance) {
        bestDistance = distance;
        best = { layer: l + 1, unit: j, weight: i };
      }
    }));
  });
  return best;
}

// line charts: series = [{values, colour, dash}], log-scale y when asked
export function drawChart(canvas, series, { log = false, marks = [] } = {}) {
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  const pad = 28;
  context.clearRect(0, 0, width, height);
  const transform = log ? Math.log10 : (v) => v;
  let low = Infinity;
  let high = -Infinity;
  for (const s of series) {
    for (const v of s.values) {
      if (v === null || !isFinite(v) || (log && v <= 0)) continue;
      low = Math.min(low, transform(v));
      high = Math.max(high, transform(v));
    }
  }
  if (low === Infinity) return;
  if (!log) low = Math.min(0, low);
  if (high === low) high = low + 1;
  const length = Math.max(...series.map((s) => s.values.length));
  const x = (i) => pad + (i / Math.max(1, length - 1)) * (width - pad - 6);
  const y = (v) => height - 14 - ((transform(v) - low) / (high - low)) * (height - 22);
  context.strokeStyle = "#ccc";
  context.strokeRect(pad, 4, width - pad - 6, height - 18);
  context.fillStyle = "#666";
  context.font = "10px sans-serif";
  context.fillText(log ? `1e${high.toFixed(0)}` : high.toPrecision(2), 1, 12);
  context.fillText(log ? `1e${low.toFixed(0)}` : low.toPrecision(2), 1, height - 14);
  context.fillText(String(length), width - 30, height - 2);
  for (const s of series) {
    const step = Math.max(1, Math.floor(s.values.length / (width * 2)));
    context.beginPath();
    context.setLineDash(s.dash ? [4, 3] : []);
    context.strokeStyle = s.colour;
    context.lineWidth = 1.5;
    let drawing = false;
    for (let i = 0; i < s.values.length; i += step) {
      const v = s.values[i];
      if (v === null || !isFinite(v) || (log && v <= 0)) { drawing = false; continue; }
      if (drawing) context.lineTo(x(i), y(v)); else context.moveTo(x(i), y(v));
      drawing = true;
    }
    context.stroke();
  }
  context.setLineDash([]);
  for (const mark of marks) {
    context.fillStyle = mark.colour;
    context.fillText("✕ " + mark.text, x(mark.index) - 4, 16);
  }
}
