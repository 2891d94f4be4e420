# Title: makemore part 2: the MLP character model (Bengio et al. 2003)
# Source: https://github.com/karpathy/nn-zero-to-hero/blob/master/lectures/makemore/makemore_part2_mlp.ipynb
# Licence: MIT (karpathy/nn-zero-to-hero)
# Changes: torch.manual_seed(42) added (the minibatches come from the global generator); names.txt (32,033 names) replaced by its first 100 names (all 26 letters), written to names.txt here; 200000 -> 1000 steps, the learning-rate decay moved from step 100000 to step 500 with them; the plotting cells (loss curve, embedding scatter) dropped; the notebook's displayed cell values printed; Y -> Y[:32] in the cell written for the lecture's first 32 examples (prob has a row per example of the whole set here)
# Tolerance: rtol=1e-3, atol=1e-2 (float32 with a saturated tanh layer and logits up to 40: products computed in float64 and rounded back move the weights by 3e-4, the last tanh outputs by 9e-4 and the logits by 2e-3 over the 1000 steps; tolerance ten times that)
import torch
import torch.nn.functional as F

torch.manual_seed(42)

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
# read in all the words
words = open('names.txt', 'r').read().splitlines()
print(words[:8])
print(len(words))

# build the vocabulary of characters and mappings to/from integers
chars = sorted(list(set(''.join(words))))
stoi = {s:i+1 for i,s in enumerate(chars)}
stoi['.'] = 0
itos = {i:s for s,i in stoi.items()}
print(itos)

# build the dataset

block_size = 3 # context length: how many characters do we take to predict the next one?
X, Y = [], []
for w in words:

  #print(w)
  context = [0] * block_size
  for ch in w + '.':
    ix = stoi[ch]
    X.append(context)
    Y.append(ix)
    #print(''.join(itos[i] for i in context), '--->', itos[ix])
    context = context[1:] + [ix] # crop and append

X = torch.tensor(X)
Y = torch.tensor(Y)
print(X.shape, X.dtype, Y.shape, Y.dtype)

# build the dataset
block_size = 3 # context length: how many characters do we take to predict the next one?

def build_dataset(words):
  X, Y = [], []
  for w in words:

    #print(w)
    context = [0] * block_size
    for ch in w + '.':
      ix = stoi[ch]
      X.append(context)
      Y.append(ix)
      #print(''.join(itos[i] for i in context), '--->', itos[ix])
      context = context[1:] + [ix] # crop and append

  X = torch.tensor(X)
  Y = torch.tensor(Y)
  print(X.shape, Y.shape)
  return X, Y

import random
random.seed(42)
random.shuffle(words)
n1 = int(0.8*len(words))
n2 = int(0.9*len(words))

Xtr, Ytr = build_dataset(words[:n1])
Xdev, Ydev = build_dataset(words[n1:n2])
Xte, Yte = build_dataset(words[n2:])

C = torch.randn((27, 2))
emb = C[X]
print(emb.shape)
W1 = torch.randn((6, 100))
b1 = torch.randn(100)
h = torch.tanh(emb.view(-1, 6) @ W1 + b1)
print(h)
print(h.shape)
W2 = torch.randn((100, 27))
b2 = torch.randn(27)
logits = h @ W2 + b2
print(logits.shape)
counts = logits.exp()
prob = counts / counts.sum(1, keepdims=True)
print(prob.shape)
loss = -prob[torch.arange(32), Y[:32]].log().mean()
print(loss)

# ------------ now made respectable :) ---------------
print(Xtr.shape, Ytr.shape) # dataset

g = torch.Generator().manual_seed(2147483647) # for reproducibility
C = torch.randn((27, 10), generator=g)
W1 = torch.randn((30, 200), generator=g)
b1 = torch.randn(200, generator=g)
W2 = torch.randn((200, 27), generator=g)
b2 = torch.randn(27, generator=g)
parameters = [C, W1, b1, W2, b2]
print(sum(p.nelement() for p in parameters)) # number of parameters in total
for p in parameters:
  p.requires_grad = True

lre = torch.linspace(-3, 0, 1000)
lrs = 10**lre

lri = []
lossi = []
stepi = []

for i in range(1000):

  # minibatch construct
  ix = torch.randint(0, Xtr.shape[0], (32,))

  # forward pass
  emb = C[Xtr[ix]] # (32, 3, 10)
  h = torch.tanh(emb.view(-1, 30) @ W1 + b1) # (32, 200)
  logits = h @ W2 + b2 # (32, 27)
  loss = F.cross_entropy(logits, Ytr[ix])
  #print(loss.item())

  # backward pass
  for p in parameters:
    p.grad = None
  loss.backward()

  # update
  #lr = lrs[i]
  lr = 0.1 if i < 500 else 0.01
  for p in parameters:
    p.data += -lr * p.grad

  # track stats
  #lri.append(lre[i])
  stepi.append(i)
  lossi.append(loss.log10().item())

emb = C[Xtr] # (32, 3, 2)
h = torch.tanh(emb.view(-1, 30) @ W1 + b1) # (32, 100)
logits = h @ W2 + b2 # (32, 27)
loss = F.cross_entropy(logits, Ytr)
print(loss)

emb = C[Xdev] # (32, 3, 2)
h = torch.tanh(emb.view(-1, 30) @ W1 + b1) # (32, 100)
logits = h @ W2 + b2 # (32, 27)
loss = F.cross_entropy(logits, Ydev)
print(loss)

context = [0] * block_size
print(C[torch.tensor([context])].shape)

# sample from the model
g = torch.Generator().manual_seed(2147483647 + 10)

for _ in range(20):

    out = []
    context = [0] * block_size # initialize with all ...
    while True:
      emb = C[torch.tensor([context])] # (1,block_size,d)
      h = torch.tanh(emb.view(1, -1) @ W1 + b1)
      logits = h @ W2 + b2
      probs = F.softmax(logits, dim=1)
      ix = torch.multinomial(probs, num_samples=1, generator=g).item()
      context = context[1:] + [ix]
      out.append(ix)
      if ix == 0:
        break

    print(''.join(itos[i] for i in out))
