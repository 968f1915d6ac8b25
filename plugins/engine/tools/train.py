"""Train the VGG-style QNN of pipelines/engine-fashion-mnist.toml on Fashion-MNIST with the
paper's quantizer Q_T (T = 6, straight-through gradient) and save its weights as safetensors
under PyTorch's module names, ready for snnergy's engine.

    /usr/bin/python3 plugins/engine/tools/train.py --epochs 2 --out pipelines/weights/fmnist-vgg-t6.safetensors

Deterministic for a given seed and thread count (CPU). Prints the QNN's test accuracy.
"""

import argparse
import time

import torch
import torch.nn.functional as F

from snn_torch import fashion_mnist, save_safetensors, state_for_engine, vgg_layers

p = argparse.ArgumentParser()
p.add_argument("--epochs", type=int, default=2)
p.add_argument("--T", type=int, default=6)
p.add_argument("--batch", type=int, default=128)
p.add_argument("--lr", type=float, default=2e-3)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--out", required=True)
a = p.parse_args()

torch.manual_seed(a.seed)
torch.set_num_threads(a.threads)
xtr, ytr = fashion_mnist("train")
xte, yte = fashion_mnist("test")
model = vgg_layers(1, 28, T=a.T)
params = list(model.features.parameters()) + list(model.classifier.parameters())
opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=5e-4)
steps = a.epochs * (len(xtr) // a.batch)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps)
start = time.time()
for epoch in range(a.epochs):
    model.features.train()
    perm = torch.randperm(len(xtr))
    total = 0.0
    for i in range(len(xtr) // a.batch):
        idx = perm[i * a.batch : (i + 1) * a.batch]
        loss = F.cross_entropy(model.forward(xtr[idx]), ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item()
    model.features.eval()
    with torch.no_grad():
        correct = sum(
            (model.forward(xte[j : j + 1000]).argmax(1) == yte[j : j + 1000]).sum().item()
            for j in range(0, len(xte), 1000)
        )
    print(
        f"epoch {epoch + 1}: loss {total / (len(xtr) // a.batch):.4f}, "
        f"QNN test accuracy {correct / len(xte):.4f}, {time.time() - start:.0f} s",
        flush=True,
    )
save_safetensors(a.out, state_for_engine(model), {"network": "fmnist-vgg", "timesteps": str(a.T)})
print(f"weights written to {a.out}")
