# Title: micrograd's test_sanity_check, the PyTorch half
# Source: https://github.com/karpathy/micrograd/blob/master/test/test_engine.py (test_sanity_check)
# Licence: MIT (karpathy/micrograd)
# Changes: only the torch half of the test kept (micrograd's Value half and the asserts comparing them dropped); the values the asserts compare printed
# Tolerance: float64
import torch

x = torch.Tensor([-4.0]).double()
x.requires_grad = True
z = 2 * x + 2 + x
q = z.relu() + z * x
h = (z * z).relu()
y = h + q + q * x
y.backward()
xpt, ypt = x, y

print(ypt.data.item())
print(xpt.grad.item())
