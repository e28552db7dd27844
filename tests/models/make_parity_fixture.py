#!/usr/bin/python3
"""Writes torchvision parity fixtures for tests/models/test_weights_import.cpp.

For each architecture: torchvision builds the model with a fixed seed (random weights, BatchNorm
statistics perturbed so eval-mode BN is not an identity), then saves to OUT_DIR
  <arch>_ordered.pth   model.state_dict() as torchvision ships it (collections.OrderedDict)
  <arch>_plain.pt      the same tensors in a plain dict
  <arch>_input.pt      a fixed input [2,3,S,S] (plain dict {"input": tensor})
  <arch>_logits.pt     eval-mode logits [2,1000] (plain dict {"logits": tensor})
Usage: make_parity_fixture.py OUT_DIR ARCH [ARCH...]   (exit 3 when torchvision is unavailable)
"""
import sys

try:
    import torch
    import torchvision
except ImportError:
    sys.exit(3)


def main() -> int:
    out_dir, archs = sys.argv[1], sys.argv[2:]
    sizes = {"resnet18": 96, "mobilenet_v2": 96, "efficientnet_b0": 96}
    for arch in archs:
        torch.manual_seed(1234)
        model = getattr(torchvision.models, arch)(weights=None)
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.running_mean.uniform_(-0.1, 0.1)
                    module.running_var.uniform_(0.5, 1.5)
                    module.weight.uniform_(0.5, 1.5)
                    module.bias.uniform_(-0.1, 0.1)
                elif isinstance(module, torch.nn.Linear) and module.weight.std() < 0.02:
                    # torchvision's 0.01-std classifier init gives logits ~0.1; make them O(10)
                    # so that the 1e-4 tolerance is a meaningful relative bound.
                    module.weight.mul_(50.0)
        model.eval()
        size = sizes.get(arch, 96)
        x = torch.randn(2, 3, size, size)
        with torch.no_grad():
            logits = model(x)
        state = model.state_dict()
        torch.save(state, f"{out_dir}/{arch}_ordered.pth")
        torch.save(dict(state), f"{out_dir}/{arch}_plain.pt")
        torch.save({"input": x}, f"{out_dir}/{arch}_input.pt")
        torch.save({"logits": logits}, f"{out_dir}/{arch}_logits.pt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
