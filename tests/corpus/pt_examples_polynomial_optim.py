# Title: PyTorch: optim
# Source: https://pytorch.org/tutorials/beginner/pytorch_with_examples.html (pytorch/tutorials, beginner_source/examples_nn/polynomial_optim.py)
# Licence: BSD-3-Clause (pytorch/tutorials)
# Changes: torch.manual_seed(0) added so both runs start from the same weights; 2000 -> 1000 iterations: near its minimum RMSprop's steps (lr * g / sqrt(v)) follow the sign of gradients that are mostly rounding, so the end of the run is chaotic in float32 (products computed in float64 and rounded back move the weights by 4e-2 at 2000 iterations, past 1e-5 by 1400, and by a seventh of the tolerance at 1000)
# Tolerance: float32
import math

import torch

torch.manual_seed(0)

# Create Tensors to hold input and outputs.
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# Prepare the input tensor (x, x^2, x^3).
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

# Use the nn package to define our model and loss function.
model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1)
)
loss_fn = torch.nn.MSELoss(reduction='sum')

# Use the optim package to define an Optimizer that will update the weights of
# the model for us. Here we will use RMSprop.
learning_rate = 1e-3
optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)
for t in range(1000):
    y_pred = model(xx)

    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


linear_layer = model[0]
print(f'Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + {linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3')
