"""A first look at minigen: train a small classifier on the embedded 8x8 digits.

    python -m minigen.demo

It uses the pieces every model of the lecture is built from — tensors with autograd, nn layers,
an optimizer and the DataLoader — and finishes in a few seconds on a laptop CPU.
"""
import time

import minigen as mg
from minigen import data, nn
from minigen.nn import functional as F


def main(epochs=10, seed=0):
    mg.manual_seed(seed)
    train, test = data.load("digits", "train"), data.load("digits", "test")
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = mg.optim.Adam(model.parameters(), lr=1e-3)
    loader = data.DataLoader(train, batch_size=64, shuffle=True, seed=seed)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        total = 0.0
        for x, y in loader:
            loss = F.cross_entropy(model(mg.tensor(x)), mg.tensor(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(x)
        with mg.no_grad():
            pred = model(mg.tensor(test.x)).argmax(dim=1).numpy()
        print(f"epoch {epoch:2d}  train loss {total / len(train.x):.4f}  "
              f"test accuracy {(pred == test.y).mean():.3f}")
    print(f"trained in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
