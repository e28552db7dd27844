#!/usr/bin/env python3
"""Writes N small synthetic "face" images whose brightness and a drawn bar encode the age,
plus a manifest (file,age,gender). Used by training tests: the images are the project's own."""
import argparse
import os
import random

import numpy as np
from PIL import Image


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--size", type=int, default=48)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(os.path.join(args.out_dir, "images"), exist_ok=True)
    rows = []
    for i in range(args.count):
        age = rng.randint(1, 90)
        female = rng.random() < 0.5
        image = np.zeros((args.size, args.size, 3), np.uint8)
        image[:, :, 0] = 40 + 2 * age
        image[:, :, 1] = 200 if female else 60
        image[:, :, 2] = np.linspace(0, 255, args.size, dtype=np.uint8)[None, :]
        bar = max(1, int(args.size * age / 100))
        image[args.size // 3: args.size // 3 + 4, :bar, :] = 255
        name = f"images/face_{i:04d}.png"
        Image.fromarray(image).save(os.path.join(args.out_dir, name))
        rows.append(f"{name},{age},{'female' if female else 'male'}")
    with open(os.path.join(args.out_dir, "manifest.csv"), "w") as f:
        f.write("file,age,gender\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
