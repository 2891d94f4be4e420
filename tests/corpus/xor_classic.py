# Title: XOR with PyTorch (the classic two-unit network, lin1/lin2, weights_init, MSELoss, SGD with momentum, Variable)
# Source: https://github.com/SamKG/NN-SAT-Verifier/blob/master/xor/main.py (a copy of the widely shared "XOR with PyTorch" example)
# Licence: none stated in the repository (a short educational example, quoted here as a test input)
# Changes: torch.manual_seed(0) and np.random.seed(0) added so both runs draw the same weights and samples; 1000 -> 50 epochs: one sample a step with momentum on a two-unit ReLU network is chaotic in float32 (products computed in float64 and rounded back move the weights past 1e-5 by epoch 100 and to another solution by epoch 300; by epoch 50 they stay within a seventh of the tolerance)
# Tolerance: float32
import torch
from torch.autograd import Variable
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import numpy as np

torch.manual_seed(0)
np.random.seed(0)

X = torch.Tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
Y = torch.Tensor([0, 1, 1, 0]).view(-1, 1)


class XOR(nn.Module):
    def __init__(self, input_dim=2, output_dim=1):
        super(XOR, self).__init__()
        self.lin1 = nn.Linear(input_dim, 2)
        self.lin2 = nn.Linear(2, output_dim)

    def forward(self, x):
        x = self.lin1(x)
        x = F.relu(x)
        x = self.lin2(x)
        return x


model = XOR()


def weights_init(model):
    for m in model.modules():
        if isinstance(m, nn.Linear):
            # initialize the weight tensor, here we use a normal distribution
            m.weight.data.normal_(0, 1)


weights_init(model)

loss_func = nn.MSELoss()
optimizer = optim.SGD(model.parameters(), lr=0.02, momentum=0.9)

epochs = 50
steps = X.size(0)
for i in range(epochs):
    for j in range(steps):
        data_point = np.random.randint(X.size(0))
        x_var = Variable(X[data_point], requires_grad=False)
        y_var = Variable(Y[data_point], requires_grad=False)

        optimizer.zero_grad()
        y_hat = model(x_var)
        loss = loss_func.forward(y_hat, y_var)
        loss.backward()
        optimizer.step()

    if i % 500 == 0:
        print(f"Epoch: {i}, Loss: {loss.data.numpy()}, ")
