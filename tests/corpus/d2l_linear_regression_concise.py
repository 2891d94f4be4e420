# Title: Dive into Deep Learning 3.3: Concise Implementation of Linear Regression
# Source: https://classic.d2l.ai/chapter_linear-networks/linear-regression-concise.html (d2l-ai/d2l-en, release 0.17, chapter_linear-networks/linear-regression-concise.md, PyTorch tab)
# Licence: MIT-0 (d2l-ai/d2l-en LICENSE-SAMPLECODE, the book's code)
# Changes: torch.manual_seed(0) added so both runs draw the same data, minibatches and weights; d2l.synthetic_data (the book's @save function of section 3.2) inlined and called without the d2l. prefix; the notebook's displayed values printed
# Tolerance: float32
import numpy as np
import torch
from torch.utils import data

torch.manual_seed(0)

def synthetic_data(w, b, num_examples):  #@save
    """Generate y = Xw + b + noise."""
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))

true_w = torch.tensor([2, -3.4])
true_b = 4.2
features, labels = synthetic_data(true_w, true_b, 1000)

def load_array(data_arrays, batch_size, is_train=True):  #@save
    """Construct a PyTorch data iterator."""
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)

batch_size = 10
data_iter = load_array((features, labels), batch_size)

print(next(iter(data_iter)))

# `nn` is an abbreviation for neural networks
from torch import nn

net = nn.Sequential(nn.Linear(2, 1))

net[0].weight.data.normal_(0, 0.01)
net[0].bias.data.fill_(0)

loss = nn.MSELoss()

trainer = torch.optim.SGD(net.parameters(), lr=0.03)

num_epochs = 3
for epoch in range(num_epochs):
    for X, y in data_iter:
        l = loss(net(X) ,y)
        trainer.zero_grad()
        l.backward()
        trainer.step()
    l = loss(net(features), labels)
    print(f'epoch {epoch + 1}, loss {l:f}')

w = net[0].weight.data
print('error in estimating w:', true_w - w.reshape(true_w.shape))
b = net[0].bias.data
print('error in estimating b:', true_b - b)
