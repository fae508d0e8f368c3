"""Loads the shipped checkpoint in transformers (AutoTokenizer, AutoModelForSeq2SeqLM) and greedily
translates the held-out numbers with its own generate: an independent check that the directory is a
standard Hugging Face BART checkpoint and of the accuracy the README states.

    $PYTHON samples/translate/check_transformers.py   (needs torch and transformers)
Exits 1 unless every held-out number comes out as its digits.
"""
import os
import sys

import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

here = os.path.dirname(os.path.abspath(__file__))
model_dir, data = os.path.join(here, "model"), os.path.join(here, "data", "test.tsv")
tokenizer = AutoTokenizer.from_pretrained(model_dir)
model = AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()
pairs = [line.rstrip("\n").split("\t") for line in open(data, encoding="utf-8") if line.strip()]
misses = []
for start in range(0, len(pairs), 100):
    chunk = pairs[start:start + 100]
    batch = tokenizer([words for words, _ in chunk], return_tensors="pt", padding=True)
    with torch.no_grad():
        sequences = model.generate(**batch, num_beams=1, do_sample=False, max_new_tokens=10)
    for (words, digits), row in zip(chunk, sequences):
        # BertTokenizer joins "3 ##1 ##2" into "312"; no spaces remain between digits.
        text = tokenizer.decode(row, skip_special_tokens=True).replace(" ", "")
        if text != digits:
            misses.append((words, text, digits))
print(f"transformers greedy generate: {len(pairs) - len(misses)}/{len(pairs)} held-out numbers exact")
for words, text, digits in misses[:20]:
    print(f"  miss: {words} → {text} (expected {digits})")
sys.exit(1 if misses else 0)
