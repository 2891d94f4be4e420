# Title: makemore part 1: the bigram character model, counted
# Source: https://github.com/karpathy/nn-zero-to-hero/blob/master/lectures/makemore/makemore_part1_bigrams.ipynb (cells 0-26)
# Licence: MIT (karpathy/nn-zero-to-hero)
# Changes: names.txt (32,033 names) replaced by its first 100 names (all 26 letters), written to names.txt here; the dict-of-bigrams cells and the plotting cell (plt.imshow of N) dropped; the notebook's displayed cell values printed
# Tolerance: float32
NAMES = (
    "emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail "
    "emily elizabeth mila ella avery sofia camila aria scarlett victoria madison "
    "luna grace chloe penelope layla riley zoey nora lily eleanor hannah lillian "
    "addison aubrey ellie stella natalie zoe leah hazel violet aurora savannah "
    "audrey brooklyn bella claire skylar lucy paisley everly anna caroline nova "
    "genesis emilia kennedy samantha maya willow kinsley naomi aaliyah elena "
    "sarah ariana allison gabriella alice madelyn cora ruby eva serenity autumn "
    "adeline hailey gianna valentina isla eliana quinn nevaeh ivy sadie piper "
    "lydia alexa josephine emery julia delilah arianna vivian kaylee sophie "
    "brielle madeline "
)
open('names.txt', 'w').write('\n'.join(NAMES.split()) + '\n')
words = open('names.txt', 'r').read().splitlines()

import torch

N = torch.zeros((27, 27), dtype=torch.int32)

chars = sorted(list(set(''.join(words))))
stoi = {s:i+1 for i,s in enumerate(chars)}
stoi['.'] = 0
itos = {i:s for s,i in stoi.items()}

for w in words:
  chs = ['.'] + list(w) + ['.']
  for ch1, ch2 in zip(chs, chs[1:]):
    ix1 = stoi[ch1]
    ix2 = stoi[ch2]
    N[ix1, ix2] += 1

print(N[0])

p = N[0].float()
p = p / p.sum()
print(p)

g = torch.Generator().manual_seed(2147483647)
ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
print(itos[ix])

g = torch.Generator().manual_seed(2147483647)
p = torch.rand(3, generator=g)
p = p / p.sum()
print(p)

print(torch.multinomial(p, num_samples=100, replacement=True, generator=g))

P = (N+1).float()
P /= P.sum(1, keepdims=True)

g = torch.Generator().manual_seed(2147483647)

for i in range(5):

  out = []
  ix = 0
  while True:
    p = P[ix]
    ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
    out.append(itos[ix])
    if ix == 0:
      break
  print(''.join(out))

# GOAL: maximize likelihood of the data w.r.t. model parameters (statistical modeling)
# equivalent to maximizing the log likelihood (because log is monotonic)
# equivalent to minimizing the negative log likelihood
# equivalent to minimizing the average negative log likelihood

# log(a*b*c) = log(a) + log(b) + log(c)

log_likelihood = 0.0
n = 0

for w in words:
  chs = ['.'] + list(w) + ['.']
  for ch1, ch2 in zip(chs, chs[1:]):
    ix1 = stoi[ch1]
    ix2 = stoi[ch2]
    prob = P[ix1, ix2]
    logprob = torch.log(prob)
    log_likelihood += logprob
    n += 1

print(f'{log_likelihood=}')
nll = -log_likelihood
print(f'{nll=}')
print(f'{nll/n}')
