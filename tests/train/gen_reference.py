#!/usr/bin/python3
"""Generates the reference numbers pasted into test_schedule.cpp and test_losses.cpp.

Run with Debian's python3 (torch 1.13):  /usr/bin/python3 tests/train/gen_reference.py
The output is C++ initialisers; the tests hold a copy so they do not need python.
"""
import math

import torch
import torch.nn.functional as F
from torch.optim import SGD
from torch.optim import lr_scheduler as S


def opt(lr=0.1):
    return SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr, momentum=0.9)


def run_step_sched(sched, optimizer, n):
    """LR used at optimizer steps 0..n-1 (read before each scheduler.step())."""
    out = []
    for _ in range(n):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        sched.step()
    return out


def emit(name, values):
    body = ", ".join("%.17g" % v for v in values)
    print("const std::vector<double> %s = {%s};" % (name, body))


def schedules():
    for mode in ("triangular", "triangular2", "exp_range"):
        o = opt()
        s = S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=6, mode=mode,
                       gamma=0.97, cycle_momentum=False)
        emit("kCyclic_" + mode, run_step_sched(s, o, 40))
    o = opt()
    s = S.CyclicLR(o, base_lr=0.001, max_lr=0.006, step_size_up=5, mode="triangular", cycle_momentum=False)
    emit("kCyclic_symmetric", run_step_sched(s, o, 23))

    for anneal in ("cos", "linear"):
        o = opt()
        s = S.OneCycleLR(o, max_lr=0.05, total_steps=37, pct_start=0.3, anneal_strategy=anneal,
                         div_factor=25.0, final_div_factor=1e4, cycle_momentum=False)
        emit("kOneCycle_" + anneal, run_step_sched(s, o, 37))
    o = opt()
    s = S.OneCycleLR(o, max_lr=0.05, total_steps=40, pct_start=0.25, anneal_strategy="cos",
                     three_phase=True, cycle_momentum=False)
    emit("kOneCycle_three_phase", run_step_sched(s, o, 40))

    o = opt(0.1)
    s = S.CosineAnnealingLR(o, T_max=20, eta_min=0.001)
    emit("kCosineAnnealing", run_step_sched(s, o, 21))

    o = opt(0.1)
    s = S.StepLR(o, step_size=3, gamma=0.5)
    emit("kStepLR", run_step_sched(s, o, 10))

    # ReduceLROnPlateau: lr after each epoch's step(metric).
    metrics = [1.0, 0.9, 0.95, 0.9, 0.91, 0.92, 0.8999, 0.93, 0.85, 0.86, 0.87, 0.88, 0.89,
               0.849, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    emit("kPlateauMetrics", metrics)
    cases = [
        ("min_rel", dict(mode="min", factor=0.5, patience=2, threshold=1e-3, threshold_mode="rel", cooldown=1,
                         min_lr=0.004)),
        ("min_abs", dict(mode="min", factor=0.3, patience=1, threshold=0.01, threshold_mode="abs", cooldown=2,
                         min_lr=0.0)),
        ("max_rel", dict(mode="max", factor=0.5, patience=0, threshold=1e-4, threshold_mode="rel", cooldown=0,
                         min_lr=0.0)),
    ]
    for name, kw in cases:
        o = opt(0.1)
        s = S.ReduceLROnPlateau(o, **kw)
        out = []
        for m in metrics:
            s.step(m)
            out.append(o.param_groups[0]["lr"])
        emit("kPlateau_" + name, out)


def losses():
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)
    B, bins, min_age = 4, 11, 20  # ages 20..30
    logits = torch.randn(B, bins)
    age_pred = torch.tensor([25.5, 31.0, 19.0, 22.25])
    ages = torch.tensor([24.0, 27.3, 20.0, 29.9])
    weight = torch.tensor([1.0, 2.0, 0.5, 1.5])
    gl = torch.randn(B, 2)
    gender = torch.tensor([0, 1, -1, 1])
    emit("kLogits", logits.flatten().tolist())
    emit("kGenderLogits", gl.flatten().tolist())
    print("// age_pred", age_pred.tolist(), "ages", ages.tolist(), "weight", weight.tolist())
    vals = {}
    vals["l1"] = F.l1_loss(age_pred, ages)
    vals["mse"] = F.mse_loss(age_pred, ages)
    vals["smooth_l1_b2"] = F.smooth_l1_loss(age_pred, ages, beta=2.0)
    vals["l1_weighted"] = ((age_pred - ages).abs() * weight).sum() / weight.sum()
    # DLDL: CE against normalised Gaussian soft labels + lambda * L1 of the expectation.
    sigma, lam = 2.0, 0.7
    k = torch.arange(bins, dtype=torch.float64) + min_age
    soft = torch.exp(-(k[None, :] - ages[:, None]) ** 2 / (2 * sigma ** 2))
    soft = soft / soft.sum(1, keepdim=True)
    logp = F.log_softmax(logits, 1)
    ce = -(soft * logp).sum(1)
    exp_age = (logp.exp() * k).sum(1)
    vals["dldl"] = (ce + lam * (exp_age - ages).abs()).mean()
    # Mean-variance (Pan et al. 2018): CE with the rounded age + l1/2 (m - y)^2 + l2 var.
    l1, l2 = 0.2, 0.05
    idx = (ages.round() - min_age).long().clamp(0, bins - 1)
    ce_hard = F.cross_entropy(logits, idx, reduction="none")
    p = logp.exp()
    mean = (p * k).sum(1)
    var = (p * (k[None, :] - mean[:, None]) ** 2).sum(1)
    vals["mean_variance"] = (ce_hard + l1 * (mean - ages) ** 2 / 2 + l2 * var).mean()
    vals["gender_ce"] = F.cross_entropy(gl, gender, ignore_index=-1)
    vals["gender_ce_ls"] = F.cross_entropy(gl, gender, ignore_index=-1, label_smoothing=0.1)
    for name, v in vals.items():
        print("constexpr double kLoss_%s = %.17g;" % (name, v.item()))


if __name__ == "__main__":
    schedules()
    losses()
