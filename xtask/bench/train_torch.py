"""PyTorch eager baseline of `cargo xtask bench train`: the same ear2d-r18 and MONAI-style
3D ResNet18 as medfen-models (same layers, shapes and parameter counts), fp32 on CPU,
one AdamW training step and one inference batch, timed like the Rust side.

Usage: python train_torch.py THREADS  (prints one JSON line per case)
"""

import json
import sys
import time

import torch
from torch import nn


class Basic(nn.Module):
    def __init__(self, conv, bn, c_in, planes, stride):
        super().__init__()
        self.conv1 = conv(c_in, planes, 3, stride, 1, bias=False)
        self.bn1 = bn(planes)
        self.conv2 = conv(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = bn(planes)
        self.down = None
        if stride != 1 or c_in != planes:
            self.down = nn.Sequential(conv(c_in, planes, 1, stride, 0, bias=False), bn(planes))

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return torch.relu(h + (x if self.down is None else self.down(x)))


def resnet18_trunk(conv, bn, pool, stem_stride):
    layers = [conv(1, 64, 7, stem_stride, 3, bias=False), bn(64), nn.ReLU(), pool(3, 2, 1)]
    c = 64
    for planes, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        layers += [Basic(conv, bn, c, planes, stride), Basic(conv, bn, planes, planes, 1)]
        c = planes
    return nn.Sequential(*layers)


class Ear2d(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = resnet18_trunk(nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, 2)
        self.v = nn.Linear(512, 128)
        self.u = nn.Linear(512, 128)
        self.w = nn.Linear(128, 1)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(512, 1)

    def forward(self, x):
        b, c, k, h, w = x.shape
        s = x.permute(0, 2, 1, 3, 4).reshape(b * k, c, h, w)
        f = self.encoder(s).mean(dim=(2, 3)).reshape(b, k, -1)
        a = self.w(torch.tanh(self.v(f)) * torch.sigmoid(self.u(f))).squeeze(-1).softmax(-1)
        pooled = (a.unsqueeze(-1) * f).sum(1)
        return self.head(self.drop(pooled))


class ResNet3d(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = resnet18_trunk(nn.Conv3d, nn.BatchNorm3d, nn.MaxPool3d, 1)
        self.fc = nn.Linear(512, 1)

    def forward(self, x):
        return self.fc(self.trunk(x).mean(dim=(2, 3, 4)))


def timed(f):
    f()
    f()
    times = []
    start = time.perf_counter()
    while len(times) < 12 and (len(times) < 3 or time.perf_counter() - start < 20.0):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return times[len(times) // 2], len(times)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    cases = [
        ("ear2d-r18 b4 K16 128px", Ear2d, (4, 1, 16, 128, 128)),
        ("ear2d-r18 b2 K32 192px", Ear2d, (2, 1, 32, 192, 192)),
        ("resnet3d-18 b2 1x32x128x128", ResNet3d, (2, 1, 32, 128, 128)),
    ]
    for name, make, shape in cases:
        torch.manual_seed(0)
        model = make()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-2)
        x = torch.rand(shape)
        y = torch.tensor([1.0, 0.0, 1.0, 0.0][: shape[0]])
        loss_fn = nn.BCEWithLogitsLoss()

        def step():
            model.train()
            opt.zero_grad()
            loss_fn(model(x).squeeze(1), y).backward()
            opt.step()

        def infer():
            model.eval()
            with torch.no_grad():
                model(x).sum().item()

        train_ms, n_train = timed(step)
        infer_ms, n_infer = timed(infer)
        print(
            json.dumps(
                {
                    "case": name,
                    "threads": threads,
                    "parameters": sum(p.numel() for p in model.parameters()),
                    "train_step_ms": train_ms,
                    "train_samples": n_train,
                    "inference_ms": infer_ms,
                    "inference_samples": n_infer,
                    "torch": torch.__version__,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
