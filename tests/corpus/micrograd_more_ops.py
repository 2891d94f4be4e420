# Title: micrograd's test_more_ops, the PyTorch half
# Source: https://github.com/karpathy/micrograd/blob/master/test/test_engine.py (test_more_ops)
# Licence: MIT (karpathy/micrograd)
# Changes: only the torch half of the test kept (micrograd's Value half and the asserts comparing them dropped); the values the asserts compare printed
# Tolerance: float64
import torch

a = torch.Tensor([-4.0]).double()
b = torch.Tensor([2.0]).double()
a.requires_grad = True
b.requires_grad = True
c = a + b
d = a * b + b**3
c = c + c + 1
c = c + 1 + c + (-a)
d = d + d * 2 + (b + a).relu()
d = d + 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g = g + 10.0 / f
g.backward()
apt, bpt, gpt = a, b, g

print(gpt.data.item())
print(apt.grad.item())
print(bpt.grad.item())
