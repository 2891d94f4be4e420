# Title: PyTorch: Control Flow + Weight Sharing (a dynamic network)
# Source: https://pytorch.org/tutorials/beginner/pytorch_with_examples.html (pytorch/tutorials, beginner_source/examples_nn/dynamic_net.py)
# Licence: BSD-3-Clause (pytorch/tutorials)
# Changes: torch.manual_seed(0) and random.seed(0) added so both runs draw the same weights and depths; 30000 -> 3000 iterations, printing every 200
# Tolerance: rtol=1e-4, atol=1e-5 (3000 momentum steps on float32 sums of 2000 points: NumPy sums pairwise, torch in vector lanes, and the drift grows to 2e-5 of the final coefficients, 2e-6 on predictions of size 1)
import math
import random

import torch

torch.manual_seed(0)
random.seed(0)


class DynamicNet(torch.nn.Module):
    def __init__(self):
        """Instantiate five parameters and assign them as members."""
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        """A third, fourth or fifth order polynomial, chosen at random, reusing
        the parameter e for the orders above the third."""
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x ** exp
        return y

    def string(self):
        return f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3 + {self.e.item()} x^4 ? + {self.e.item()} x^5 ?'


# Create Tensors to hold input and outputs.
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# Construct our model by instantiating the class defined above
model = DynamicNet()

# Plain SGD is hard for this strange model: use momentum.
criterion = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
for t in range(3000):
    y_pred = model(x)

    loss = criterion(y_pred, y)
    if t % 200 == 199:
        print(t, loss.item())

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

print(f'Result: {model.string()}')
