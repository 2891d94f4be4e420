"""The lab's notebook, in deepgrad: a 2-4-4-1 sigmoid network learns XOR.

Gradient descent with manual updates (W -= lr * dL/dW), exactly as the lab
writes it in PyTorch, with `torch` replaced by `dg`. Run:

    python examples/lab_xor.py
"""

import deepgrad as dg
import deepgrad.nn.functional as F

X = dg.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dg.float32)
y = dg.tensor([[0], [1], [1], [0]], dtype=dg.float32)

dg.manual_seed(42)
input_size, hidden1, hidden2, output_size = 2, 4, 4, 1

W1 = dg.randn(input_size, hidden1, requires_grad=True)
b1 = dg.zeros(hidden1, requires_grad=True)
W2 = dg.randn(hidden1, hidden2, requires_grad=True)
b2 = dg.zeros(hidden2, requires_grad=True)
W3 = dg.randn(hidden2, output_size, requires_grad=True)
b3 = dg.zeros(output_size, requires_grad=True)

lr = 0.1
epochs = 5000
loss_history = []

for epoch in range(epochs):
    # forward pass: Z = X W + b, then the activation
    z1 = X @ W1 + b1
    a1 = dg.sigmoid(z1)
    z2 = a1 @ W2 + b2
    a2 = dg.sigmoid(z2)
    z3 = a2 @ W3 + b3
    y_pred = dg.sigmoid(z3)

    loss = F.binary_cross_entropy(y_pred, y)
    loss.backward()  # backpropagation: dL/dW for every layer, by the chain rule

    with dg.no_grad():  # gradient descent: W = W - lr * dW
        W1 -= lr * W1.grad
        b1 -= lr * b1.grad
        W2 -= lr * W2.grad
        b2 -= lr * b2.grad
        W3 -= lr * W3.grad
        b3 -= lr * b3.grad

    # zero the gradients: backward() adds to them
    W1.grad.zero_()
    b1.grad.zero_()
    W2.grad.zero_()
    b2.grad.zero_()
    W3.grad.zero_()
    b3.grad.zero_()

    loss_history.append(loss.item())
    if epoch % 500 == 0:
        print(f"Epoch {epoch} - Loss: {loss.item():.4f}")

z1 = X @ W1 + b1
a1 = dg.sigmoid(z1)
z2 = a1 @ W2 + b2
a2 = dg.sigmoid(z2)
z3 = a2 @ W3 + b3
y_pred = dg.sigmoid(z3)
predicted = (y_pred > 0.5).float()

print("Predictions:\n", predicted)
print("Ground Truth:\n", y)
