#!/usr/bin/env python3
"""The reference training step of `npm run bench`, in PyTorch on ONE thread, for comparison.

Same shapes as configs/imagenette.yaml's model: batch 32 images of 160 px, patch 16 (100 patches),
width 128, ffn 256, 4 heads, 6 encoder + 6 decoder pre-LayerNorm GELU layers, dropout 0.1,
sinusoidal positions, 13-token vocabulary, 4 decoder positions (3-digit IDs + END), Adam.
One step = forward + cross-entropy + backward + Adam update, one target per image.

    apt-get install -y python3-torch libopenblas0-pthread
        # Debian's torch 1.13 calls the system BLAS: without OpenBLAS it gets the reference BLAS
        # (~5 GFLOP/s here) and the step is ~10x slower than PyTorch really is.
    /usr/bin/python3 scripts/bench-torch.py [--steps 5] [--threads 1]   (the system python, where apt puts torch)

Prints ms/step and images/s; run it next to `npm run bench` in one sitting (the machine is shared).
"""
import argparse
import os
import time

# One BLAS thread as well as one OpenMP thread (OpenBLAS starts its own pool).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch  # noqa: E402
from torch import nn

p = argparse.ArgumentParser()
p.add_argument("--steps", type=int, default=5, help="timed steps (after 2 warm-up steps)")
p.add_argument("--threads", type=int, default=1)
p.add_argument("--batch", type=int, default=32)
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

IMAGE, PATCH, D, FFN, HEADS, LAYERS, DROPOUT = 160, 16, 128, 256, 4, 6, 0.1
VOCAB, T = 13, 4
P = (IMAGE // PATCH) ** 2


def sinusoidal(n, d):
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    i = torch.arange(0, d, 2, dtype=torch.float32)[None, :]
    angle = pos / torch.pow(10000.0, i / d)
    t = torch.zeros(n, d)
    t[:, 0::2] = torch.sin(angle)
    t[:, 1::2] = torch.cos(angle)
    return t


class Dsi(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Linear(PATCH * PATCH * 3, D)
        self.register_buffer("enc_pos", sinusoidal(P, D))
        self.register_buffer("dec_pos", sinusoidal(T, D))
        self.drop = nn.Dropout(DROPOUT)
        layer = dict(d_model=D, nhead=HEADS, dim_feedforward=FFN, dropout=DROPOUT, activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer), LAYERS, norm=nn.LayerNorm(D))
        self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(**layer), LAYERS, norm=nn.LayerNorm(D))
        self.embed = nn.Embedding(VOCAB, D)
        self.head = nn.Linear(D, VOCAB)
        self.register_buffer("mask", torch.triu(torch.full((T, T), float("-inf")), diagonal=1))

    def forward(self, images, tokens):
        b = images.shape[0]
        x = images / 127.5 - 1
        x = x.reshape(b, IMAGE // PATCH, PATCH, IMAGE // PATCH, PATCH, 3).permute(0, 1, 3, 2, 4, 5).reshape(b, P, -1)
        memory = self.encoder(self.drop(self.patch(x) + self.enc_pos))
        y = self.drop(self.embed(tokens) + self.dec_pos)
        return self.head(self.decoder(y, memory, tgt_mask=self.mask))


model = Dsi()
opt = torch.optim.Adam(model.parameters(), lr=5e-4)
images = torch.randint(0, 256, (args.batch, IMAGE, IMAGE, 3)).float()
targets = torch.randint(0, 10, (args.batch, T))
targets[:, -1] = 11  # END
tokens = torch.cat([torch.full((args.batch, 1), 10), targets[:, :-1]], dim=1)  # BEGIN + digits
loss_fn = nn.CrossEntropyLoss()


def step():
    opt.zero_grad(set_to_none=True)
    logits = model(images, tokens)
    loss = loss_fn(logits.reshape(-1, VOCAB), targets.reshape(-1))
    loss.backward()
    opt.step()


model.train()
for _ in range(2):
    step()
times = []
cpu0 = time.process_time()
for _ in range(args.steps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
# CPU time of the whole process: on a shared machine it moves much less than wall time.
cpu = (time.process_time() - cpu0) / args.steps
mean = sum(times) / len(times)
params = sum(p.numel() for p in model.parameters())
print(f"torch {torch.__version__}, {args.threads} thread(s), {params} parameters")
print(f"{mean * 1000:.0f} ms/step (best {min(times) * 1000:.0f}), {args.batch / mean:.1f} images/s; CPU {cpu * 1000:.0f} ms/step")
