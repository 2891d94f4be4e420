# Title: The course lab's notebook: a 2-4-4-1 sigmoid network learns XOR with manual gradient-descent updates
# Source: course-lab/L6.ipynb (lab 6, "Implement gradient descent & backpropagation in deep neural networks", as transcribed in the project's seed notes; examples/lab_xor.py is its deepgrad version)
# Licence: none stated (the course lab's own notebook, the project's seed)
# Changes: the first hidden layers' forward lines, cut off in the transcription, written as the visible third layer's (z = a @ W + b, torch.sigmoid); the transcription's typo in y (tensor([0], [1], [1], [0]) -> tensor([[0], [1], [1], [0]])) fixed; the loss figure (plt) dropped
# Tolerance: rtol=1e-4, atol=1e-5 (float32 over 5000 full-batch steps; products computed in float64 and rounded back move the hidden pre-activations to 0.6 of the float32 default, too close to it)
import torch
import torch.nn.functional as F

X = torch.tensor([[0, 0],
                  [0, 1],
                  [1, 0],
                  [1, 1]], dtype=torch.float32)
y = torch.tensor([[0], [1], [1], [0]], dtype=torch.float32)

torch.manual_seed(42)
input_size = 2
hidden1 = 4
hidden2 = 4
output_size = 1

W1 = torch.randn(input_size, hidden1, requires_grad=True)
b1 = torch.zeros(hidden1, requires_grad=True)

W2 = torch.randn(hidden1, hidden2, requires_grad=True)
b2 = torch.zeros(hidden2, requires_grad=True)

W3 = torch.randn(hidden2, output_size, requires_grad=True)
b3 = torch.zeros(output_size, requires_grad=True)

lr = 0.1
epochs = 5000

loss_history = []

for epoch in range(epochs):
    z1 = X @ W1 + b1
    a1 = torch.sigmoid(z1)

    z2 = a1 @ W2 + b2
    a2 = torch.sigmoid(z2)

    z3 = a2 @ W3 + b3
    y_pred = torch.sigmoid(z3)
    loss = F.binary_cross_entropy(y_pred, y)
    loss.backward()

    with torch.no_grad():
        W1 -= lr * W1.grad
        b1 -= lr * b1.grad

        W2 -= lr * W2.grad
        b2 -= lr * b2.grad

        W3 -= lr * W3.grad
        b3 -= lr * b3.grad

    # Zero the gradients
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
a1 = torch.sigmoid(z1)
z2 = a1 @ W2 + b2
a2 = torch.sigmoid(z2)
z3 = a2 @ W3 + b3
y_pred = torch.sigmoid(z3)
predicted = (y_pred > 0.5).float()

print("Predictions:\n", predicted)
print("Ground Truth:\n", y)
