#!/usr/bin/python3
"""The plain PyTorch/torchvision training pipeline that issue 3 compares `faceage train` with:
MobileNetV2 @112 (+ 101-bin age head and gender head, DLDL-style soft labels), batch 64, AdamW,
PIL decode + torchvision augmentation (resized crop, flip, colour jitter, grayscale) in ONE
DataLoader worker, channels-last, 2 torch threads, on UTKFace files named by a faceage manifest.
Usage: /usr/bin/python3 bench/train_pipeline_torch.py MANIFEST.csv [steps=30] [workers=1]
Prints the median img/s over the steps after two warm-up steps (data loading included)."""
import csv, os, sys, time, statistics
import torch, torch.nn as nn, torchvision
from torchvision import transforms as T
from PIL import Image

manifest = sys.argv[1]
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 30
workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
torch.set_num_threads(2)
torch.manual_seed(0)
root = os.path.dirname(os.path.abspath(manifest))
rows = list(csv.DictReader(open(manifest)))[: 64 * (steps + 4)]

class Faces(torch.utils.data.Dataset):
    tf = T.Compose([T.RandomResizedCrop(112, scale=(0.8, 1.0)), T.RandomHorizontalFlip(),
                    T.ColorJitter(0.2, 0.2, 0.2), T.RandomGrayscale(0.1), T.ToTensor(),
                    T.Normalize([0.5] * 3, [0.5] * 3)])
    def __len__(self): return len(rows)
    def __getitem__(self, i):
        r = rows[i]
        image = Image.open(os.path.join(root, r["file"])).convert("RGB")
        return self.tf(image), float(r["age"]), 0 if r["gender"] in ("male", "0", "m") else 1

loader = torch.utils.data.DataLoader(Faces(), batch_size=64, shuffle=True, num_workers=workers, drop_last=True)
net = torchvision.models.mobilenet_v2()
for m in net.modules():
    if isinstance(m, nn.ReLU6):
        m.inplace = False
net.classifier = nn.Identity()
heads = nn.ModuleDict({"age": nn.Linear(1280, 101), "gender": nn.Linear(1280, 2)})
net = net.to(memory_format=torch.channels_last)
opt = torch.optim.AdamW(list(net.parameters()) + list(heads.parameters()), lr=1e-3)
bins = torch.arange(101.0)
times, t = [], time.perf_counter()
for i, (x, age, gender) in enumerate(loader):
    x = x.contiguous(memory_format=torch.channels_last)
    target = torch.softmax(-(bins[None] - age.float()[:, None]) ** 2 / 8, 1)
    opt.zero_grad()
    f = net(x)
    logits = heads["age"](f)
    expectation = (torch.softmax(logits, 1) * bins).sum(1)
    loss = (-(target * torch.log_softmax(logits, 1)).sum(1).mean() + (expectation - age.float()).abs().mean()
            + nn.functional.cross_entropy(heads["gender"](f), gender))
    loss.backward()
    opt.step()
    now = time.perf_counter()
    if i >= 2:
        times.append(now - t)
    t = now
    if len(times) >= steps:
        break
m = statistics.median(times)
print(f"torchvision pipeline, {workers} worker(s), batch 64 @112: median {m*1000:.0f} ms/step, {64/m:.1f} img/s over {len(times)} steps")
