// The run's configuration: its defaults, the lab's preset, and the URL that holds it.
// Keys are the server's (deepgrad.playground.config.RunConfig), which are
// `deepgrad train`'s options.

export const DEFAULTS = {
  dataset: "xor", samples: 200, noise: 0.1, data_seed: 0, test_ratio: 0,
  points: [], target: null, file: null,
  hidden: [4, 4], activation: "sigmoid", init: "auto", dropout: 0, batchnorm: false,
  loss: "auto", optimizer: "sgd", lr: 0.1, momentum: 0, nesterov: false, weight_decay: 0, l1: 0,
  batch_size: "full", epochs: 5000, seed: 42, standardize: "auto",
};

// The lab: 2-4-4-1 sigmoid, BCE, SGD lr 0.1, full batch, N(0, 1) weights, seed 42
export const LAB = {
  ...DEFAULTS, dataset: "xor", hidden: [4, 4], activation: "sigmoid", init: "normal",
  loss: "bce", optimizer: "sgd", lr: 0.1, batch_size: "full", seed: 42, epochs: 5000,
  test_ratio: 0, momentum: 0, nesterov: false, weight_decay: 0, l1: 0, dropout: 0, batchnorm: false,
};

const NUMBERS = ["samples", "noise", "data_seed", "test_ratio", "dropout", "lr",
  "momentum", "weight_decay", "l1", "epochs", "seed"];

// config -> query string: every option, readable (hidden=8,8; points=x:y:c;...)
export function toQuery(config) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(config)) {
    if (value === null || value === undefined) continue;
    if (key === "hidden") params.set(key, value.join(",") || "none");
    else if (key === "points") {
      if (value.length) params.set(key, value.map((p) => p.join(":")).join(";"));
    } else params.set(key, String(value));
  }
  return params.toString();
}

// query string -> config (unknown keys are left to the server to refuse)
export function fromQuery(search) {
  const params = new URLSearchParams(search);
  const config = { ...DEFAULTS };
  for (const [key, text] of params.entries()) {
    if (key === "hidden") {
      config.hidden = text === "none" || text === "" ? [] : text.split(",").map(Number);
    } else if (key === "points") {
      config.points = text.split(";").filter(Boolean).map((p) => p.split(":").map(Number));
    } else if (key === "batchnorm" || key === "nesterov") {
      config[key] = text === "true";
    } else if (NUMBERS.includes(key)) {
      config[key] = Number(text);
    } else if (key === "batch_size") {
      config.batch_size = text === "full" ? "full" : Number(text);
    } else {
      config[key] = text;
    }
  }
  return config;
}
