// The inspector (backprop at one neuron or one weight, from deepgrad.explain) and
// the race of learning rates, optimizers or batch sizes (deepgrad.sweep), rendered
// from the server's answers.

import { CLASS_COLOURS, drawChart } from "./draw.js";

function escape(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function numbers(values) {
  return values.map((v) => Number(v).toPrecision(4)).join(", ");
}

function check(residual, limit) {
  if (residual === null || residual === undefined) return "<span>-</span>";
  const shown = residual === 0 ? "0" : residual.toExponential(0);
  return residual <= limit ? `<span class="ok">ok ${shown}</span>`
    : `<span class="fail">FAIL ${shown}</span>`;
}

export function renderInspector(panel, answer, lr) {
  const rows = answer.quantities.map((q) => {
    const more = q.count > q.values.length ? ", …" : "";
    return `<tr data-key="${q.key}"><td><code>${escape(q.symbol)}</code></td>
      <td><code>${escape(q.formula)}</code></td>
      <td class="values">[${numbers(q.values)}${more}]</td>
      <td>${check(q.residual, 1e-3)}</td></tr>`;
  }).join("");
  const checks = answer.gradcheck.map((row) => `<tr><td>${escape(row.symbol)}</td>
      <td>${row.backprop_norm.toPrecision(6)}</td><td>${row.numeric_norm.toPrecision(6)}</td>
      <td class="${row.ok ? "ok" : "fail"}">${row.rel_error.toExponential(2)}</td></tr>`).join("");
  const dW = answer.quantities.find((q) => q.key === "dW");
  const weight = answer.weight;
  const weightPart = weight ? `<section data-testid="weight-detail" class="weight">
    <h3>Weight <code>${escape(weight.symbol)}</code> = ${weight.value.toPrecision(6)}</h3>
    <p><code>${escape(weight.formula)}</code></p>
    <p>terms for the first samples: [${numbers(weight.terms)}${weight.count > weight.terms.length ? ", …" : ""}]
      (${weight.count} terms)</p>
    <table><tr><th>sum of the terms</th><th>backprop</th><th>numeric (float64)</th></tr>
      <tr><td>${weight.sum.toPrecision(6)}</td><td data-testid="weight-grad">${weight.backprop.toPrecision(6)}</td>
      <td>${weight.numeric.toPrecision(6)}</td></tr></table>
    <p class="hint">Plain SGD at lr ${lr} would change it by −lr × dL/dW =
      ${(-lr * weight.backprop).toPrecision(4)}.</p>
  </section>` : "";
  panel.innerHTML = `
    <button class="close" title="Close">×</button>
    <h3>Layer ${answer.layer}, neuron ${answer.unit}${answer.activation ? ` (${escape(answer.activation)})` : ""}</h3>
    <p>${escape(answer.loss_name)} L = ${answer.loss.toPrecision(6)} after epoch ${answer.epoch},
      on ${escape(answer.batch_note)} (N = ${answer.samples}); values for the first samples.</p>
    ${weightPart}
    <table><tr><th>quantity</th><th>chain rule</th><th>values</th><th>check</th></tr>${rows}</table>
    <p>Incoming weights W${answer.layer}[${answer.unit}, :] = [${numbers(answer.weights)}]</p>
    <h3>Numeric check (float64, central differences)</h3>
    ${answer.gradcheck_note ? `<p>${escape(answer.gradcheck_note)}</p>` : `<table>
      <tr><th>parameter</th><th>||backprop||</th><th>||numeric||</th><th>rel. error</th></tr>${checks}</table>`}
    <p class="hint">Every number comes from deepgrad.explain.trace, the code behind
      <code>deepgrad explain</code>: the engine's own gradients (retain_grad on each Z and A),
      each checked against its chain-rule formula.</p>`;
  panel.dataset.dw = JSON.stringify(dW ? dW.values : []);
  panel.dataset.layer = answer.layer;
  panel.dataset.unit = answer.unit;
  panel.hidden = false;
}

export function renderRace(canvas, legend, answer) {
  const colours = answer.runs.map((_, i) => `rgb(${CLASS_COLOURS[(i + 1) % CLASS_COLOURS.length]})`);
  const marks = [];
  answer.runs.forEach((run, i) => {
    if (run.diverged) marks.push({ index: run.loss.length - 1, colour: colours[i], text: "diverged" });
  });
  drawChart(canvas, answer.runs.map((run, i) => ({ values: run.loss, colour: colours[i] })),
    { log: true, marks });
  const outcome = (run) => (run.diverged ? "diverged"
    : `loss ${run.final_loss === null ? "-" : run.final_loss.toPrecision(3)}`);
  // a race still running has no epochs yet, only how many runs are left
  const tail = answer.epochs === undefined ? ` (${answer.running} still training…)`
    : ` (${answer.epochs} epochs each${answer.note ? `; ${escape(answer.note)}` : ""})`;
  legend.innerHTML = answer.runs.map((run, i) => `<span style="color:${colours[i]}">`
    + `■ ${escape(run.label)}: ${outcome(run)}</span>`).join(" · ") + tail;
}
