#!/usr/bin/python3
"""Reference for BM_TrainStep (bench_train.cpp): one AdamW step of torchvision's MobileNetV2 with a
101-bin age head and a gender head, Debian's python3-torch (same LibTorch 1.13), same batch/size.
Usage: /usr/bin/python3 bench/train_step_torch.py [batch] [size] [channels_last 0|1] [threads]"""
import sys, time, statistics
import torch, torch.nn as nn, torchvision

batch, size, cl, threads = (int(a) for a in (sys.argv[1:] + ["64", "112", "1", "2"][len(sys.argv) - 1:]))
torch.set_num_threads(threads)
torch.manual_seed(0)
net = torchvision.models.mobilenet_v2()
for m in net.modules():
    if isinstance(m, nn.ReLU6):
        m.inplace = False  # as src/models/layers.cpp
net.classifier = nn.Identity()
heads = nn.ModuleDict({"age": nn.Linear(1280, 101), "gender": nn.Linear(1280, 2)})
fmt = torch.channels_last if cl else torch.contiguous_format
net = net.to(memory_format=fmt)
opt = torch.optim.AdamW(list(net.parameters()) + list(heads.parameters()), lr=1e-3)
x = torch.randn(batch, 3, size, size).contiguous(memory_format=fmt)
age = torch.rand(batch) * 90
gender = torch.randint(0, 2, (batch,))
bins = torch.arange(101.0)
target = torch.softmax(-(bins[None] - age[:, None]) ** 2 / 8, 1)
times = []
for i in range(4):
    t = time.perf_counter()
    opt.zero_grad()
    f = net(x)
    logits = heads["age"](f)
    loss = -(target * torch.log_softmax(logits, 1)).sum(1).mean() + nn.functional.cross_entropy(heads["gender"](f), gender)
    loss.backward()
    opt.step()
    if i:
        times.append(time.perf_counter() - t)
m = statistics.median(times)
print(f"batch {batch} size {size} channels_last {cl} threads {threads}: median {m*1000:.0f} ms/step, {batch/m:.1f} img/s")
