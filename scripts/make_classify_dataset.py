#!/usr/bin/env python3
"""Generates the labeled text set of the `classify` sample: short sentences about four topics (sports,
cooking, technology, weather), made from templates and topic word lists with a fixed seed, plus
distractor words shared by all topics so that the task is not a keyword lookup. Writes
samples/classify/data/{train,test}.jsonl (80/20 split, disjoint sentences) and trains a small WordPiece
vocabulary on the training split with the Hugging Face `tokenizers` library (vocab.txt +
tokenizer.json in samples/classify/data/tokenizer/).

Run: python3 scripts/make_classify_dataset.py   (needs `tokenizers`; the outputs are committed)
"""
import json, os, random

SEED = 7
random.seed(SEED)
root = os.path.join(os.path.dirname(__file__), "..", "samples", "classify", "data")
os.makedirs(os.path.join(root, "tokenizer"), exist_ok=True)

labels = ["sports", "cooking", "technology", "weather"]
words = {
    "sports": {"noun": ["match", "goal", "team", "coach", "league", "striker", "tournament", "referee", "season", "stadium", "championship", "final"],
               "verb": ["scored", "won", "lost", "defended", "trained", "celebrated", "equalized", "qualified"],
               "adj": ["decisive", "thrilling", "defensive", "unbeaten", "athletic", "tactical"]},
    "cooking": {"noun": ["recipe", "sauce", "oven", "dough", "garlic", "soup", "pan", "flavor", "kitchen", "chef", "spice", "dessert"],
                "verb": ["baked", "simmered", "seasoned", "chopped", "roasted", "stirred", "tasted", "grilled"],
                "adj": ["crispy", "savory", "tender", "spicy", "creamy", "golden"]},
    "technology": {"noun": ["software", "processor", "network", "battery", "server", "app", "update", "chip", "database", "laptop", "compiler", "browser"],
                   "verb": ["crashed", "installed", "compiled", "downloaded", "upgraded", "rebooted", "encrypted", "deployed"],
                   "adj": ["wireless", "digital", "faster", "open-source", "encrypted", "portable"]},
    "weather": {"noun": ["storm", "rain", "forecast", "wind", "snow", "cloud", "temperature", "sunshine", "fog", "thunder", "humidity", "frost"],
                "verb": ["poured", "cleared", "dropped", "blew", "froze", "warmed", "flooded", "drizzled"],
                "adj": ["cloudy", "chilly", "humid", "stormy", "sunny", "freezing"]},
}
shared = {"subject": ["Yesterday", "This morning", "Last week", "On Sunday", "Tonight", "Everyone said", "My neighbor noticed", "The news reported"],
          "filler": ["really", "quite", "again", "suddenly", "finally", "as expected", "once more", "without warning"]}
templates = [
    "{subject} the {adj} {noun} {verb} {filler}.",
    "{subject}, the {noun} {verb} and the {noun2} looked {adj}.",
    "I think the {noun} {verb} because the {noun2} was {adj}.",
    "The {adj} {noun} {filler} {verb} near the {noun2}.",
    "{subject} we talked about the {noun} and the {adj} {noun2}.",
    "Nobody expected the {noun} to be so {adj} {filler}.",
]

def sentence(label):
    w = words[label]
    noun, noun2 = random.sample(w["noun"], 2)
    return random.choice(templates).format(subject=random.choice(shared["subject"]), filler=random.choice(shared["filler"]),
                                           noun=noun, noun2=noun2, verb=random.choice(w["verb"]), adj=random.choice(w["adj"]))

examples, seen = [], set()
while len(examples) < 2000:
    label = random.randrange(len(labels))
    text = sentence(labels[label])
    if text in seen:
        continue
    seen.add(text)
    examples.append({"text": text, "label": label})
random.shuffle(examples)
train, test = examples[:1600], examples[1600:]
meta = {"script": "scripts/make_classify_dataset.py", "seed": SEED, "labels": labels}
for name, rows in [("train", train), ("test", test)]:
    with open(os.path.join(root, f"{name}.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
with open(os.path.join(root, "labels.json"), "w") as f:
    json.dump(meta, f, indent=1)

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers, decoders
tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
tok.normalizer = normalizers.BertNormalizer(lowercase=True)
tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
trainer = trainers.WordPieceTrainer(vocab_size=600, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
tok.train_from_iterator([r["text"] for r in train], trainer)
cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                    special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
tok.decoder = decoders.WordPiece()
tok.save(os.path.join(root, "tokenizer", "tokenizer.json"))
vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
with open(os.path.join(root, "tokenizer", "vocab.txt"), "w") as f:
    for token, _ in vocab:
        f.write(token + "\n")
print(f"{len(train)} train / {len(test)} test examples, vocabulary {len(vocab)}")
