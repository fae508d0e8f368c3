#!/usr/bin/env python3
"""PyTorch peer of Sources/TrainingStep: one AdamW training step of the tiny BERT masked-LM (2 layers,
hidden 128, 2 heads, intermediate 512, vocabulary 30522) on a batch of 8 x 64, median ms per step.
Usage: training_peer.py STEPS THREADS"""
import json, sys, time
import torch
from transformers import BertConfig, BertForMaskedLM

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 10
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
torch.manual_seed(0)
model = BertForMaskedLM(BertConfig(vocab_size=30522, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                                   intermediate_size=512, max_position_embeddings=512, attn_implementation="eager"))
model.train()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
ids = torch.randint(5, 30522, (8, 64))
labels = ids.clone()
labels[torch.rand(8, 64) >= 0.15] = -100
mask = torch.ones(8, 64, dtype=torch.long)

def step():
    optimizer.zero_grad()
    loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    loss.backward()
    optimizer.step()
    return float(loss)

step(); step()
times = []
for _ in range(steps):
    start = time.perf_counter()
    loss = step()
    times.append((time.perf_counter() - start) * 1e3)
times.sort()
print(json.dumps({"impl": "pytorch", "ms_per_step": times[len(times) // 2], "min_ms": times[0], "max_ms": times[-1],
                  "loss": loss, "torch": torch.__version__}))
