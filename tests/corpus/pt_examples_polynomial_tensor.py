# Title: PyTorch: Tensors (a third-order polynomial fitted to sin(x), gradients by hand)
# Source: https://pytorch.org/tutorials/beginner/pytorch_with_examples.html (pytorch/tutorials, beginner_source/examples_tensor/polynomial_tensor.py)
# Licence: BSD-3-Clause (pytorch/tutorials)
# Changes: torch.manual_seed(0) added so both runs draw the same weights (torch 2.13 seeds its generator at random when it starts); the CPU device line
# Tolerance: rtol=1e-4, atol=1e-6 (grad_d sums 2000 float32 terms of size up to 60 that cancel to about 5: the order of summation, pairwise in NumPy and in vector lanes in torch, moves it by 3e-5 of its size)
import math

import torch

torch.manual_seed(0)

dtype = torch.float
device = torch.device("cpu")

# Create random input and output data
x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

# Randomly initialize weights
a = torch.randn((), device=device, dtype=dtype)
b = torch.randn((), device=device, dtype=dtype)
c = torch.randn((), device=device, dtype=dtype)
d = torch.randn((), device=device, dtype=dtype)

learning_rate = 1e-6
for t in range(2000):
    # Forward pass: compute predicted y
    y_pred = a + b * x + c * x ** 2 + d * x ** 3

    # Compute and print loss
    loss = (y_pred - y).pow(2).sum().item()
    if t % 100 == 99:
        print(t, loss)

    # Backprop to compute gradients of a, b, c, d with respect to loss
    grad_y_pred = 2.0 * (y_pred - y)
    grad_a = grad_y_pred.sum()
    grad_b = (grad_y_pred * x).sum()
    grad_c = (grad_y_pred * x ** 2).sum()
    grad_d = (grad_y_pred * x ** 3).sum()

    # Update weights using gradient descent
    a -= learning_rate * grad_a
    b -= learning_rate * grad_b
    c -= learning_rate * grad_c
    d -= learning_rate * grad_d


print(f'Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3')
