#!/usr/bin/env python3
"""Generates the (query, passage) pairs of the `rerank` sample: questions about twelve countries'
capital, language and currency, each with one relevant passage and four irrelevant ones — a passage
about the same country's other facts, the same fact of two other countries, and a sentence on another
topic (the classify sample's sports, cooking, technology and weather) — labelled 1 and 0, as a
cross-encoder is trained. Questions and passages come from several phrasings each, picked with a fixed
seed. Writes samples/rerank/data/{train,test}.jsonl (one pair a line: "query", "passage", "label",
and "group", the query's index: its five pairs share it; 1200/300 queries, disjoint query texts) and
trains a small lowercase WordPiece vocabulary on the training split with the Hugging Face `tokenizers`
library (vocab.txt + tokenizer.json in samples/rerank/data/tokenizer/).

Run: python3 scripts/make_rerank_dataset.py   (needs `tokenizers`; the outputs are committed)
"""
import json, os, random

SEED = 5
random.seed(SEED)
root = os.path.join(os.path.dirname(__file__), "..", "samples", "rerank", "data")
os.makedirs(os.path.join(root, "tokenizer"), exist_ok=True)

# country: (capital, main language, currency)
facts = {
    "France": ("Paris", "French", "euro"), "Germany": ("Berlin", "German", "euro"), "Japan": ("Tokyo", "Japanese", "yen"),
    "Italy": ("Rome", "Italian", "euro"), "Brazil": ("Brasilia", "Portuguese", "real"), "Egypt": ("Cairo", "Arabic", "pound"),
    "Kenya": ("Nairobi", "Swahili", "shilling"), "Peru": ("Lima", "Spanish", "sol"), "Norway": ("Oslo", "Norwegian", "krone"),
    "China": ("Beijing", "Mandarin", "yuan"), "Greece": ("Athens", "Greek", "euro"), "South Korea": ("Seoul", "Korean", "won"),
}
relations = ["capital", "language", "currency"]
queries = {
    "capital": ["What is the capital of {c}?", "Which city is the capital of {c}?", "Where is the government of {c} based?",
                "capital city of {c}", "Tell me the capital of {c}."],
    "language": ["What language is spoken in {c}?", "Which language do people speak in {c}?", "What is the main language of {c}?",
                 "language of {c}", "What do people in {c} speak?"],
    "currency": ["What currency does {c} use?", "Which money do people pay with in {c}?", "What is the currency of {c}?",
                 "currency of {c}", "What do you pay with in {c}?"],
}
passages = {
    "capital": ["{x} is the capital of {c}.", "The capital city of {c} is {x}.", "The government of {c} sits in {x}, its capital.",
                "{x}, the capital of {c}, is its largest center of government."],
    "language": ["Most people in {c} speak {x}.", "{x} is the main language of {c}.", "The official language of {c} is {x}.",
                 "In {c}, schools teach in {x}."],
    "currency": ["In {c} people pay with the {x}.", "The currency of {c} is the {x}.", "Shops in {c} take the {x}.",
                 "Prices in {c} are given in the {x}."],
}
other_topics = [
    "The striker scored a late goal in the final.", "The coach praised the unbeaten team after the match.",
    "Simmer the garlic sauce until it is creamy.", "The chef roasted the vegetables until they were golden.",
    "The laptop rebooted after the update.", "The new processor makes the server much faster.",
    "Heavy rain and thunder are in the forecast.", "A chilly wind blew the snow across the fields.",
    "The referee stopped the game because of the storm.", "The bakery sells fresh bread every morning.",
]

def query(c, r):
    return random.choice(queries[r]).format(c=c)

def passage(c, r):
    return random.choice(passages[r]).format(c=c, x=facts[c][relations.index(r)])

countries = list(facts)
groups, seen = [], set()
while len(groups) < 1500:
    c, r = random.choice(countries), random.choice(relations)
    q = query(c, r)
    others = random.sample([x for x in countries if facts[x][relations.index(r)] != facts[c][relations.index(r)]], 2)
    negatives = [passage(c, random.choice([x for x in relations if x != r])), passage(others[0], r), passage(others[1], r),
                 random.choice(other_topics)]
    pairs = [(passage(c, r), 1)] + [(p, 0) for p in negatives]
    key = (q, tuple(p for p, _ in pairs))
    if key in seen:
        continue
    seen.add(key)
    groups.append((q, pairs))
random.shuffle(groups)
# Disjoint query texts: every group of a query text goes to the same split.
texts = sorted({q for q, _ in groups})
random.shuffle(texts)
test_texts = set()
for t in texts:
    if sum(1 for q, _ in groups if q in test_texts) >= 300:
        break
    test_texts.add(t)
splits = {"train": [g for g in groups if g[0] not in test_texts], "test": [g for g in groups if g[0] in test_texts]}
for name, rows in splits.items():
    with open(os.path.join(root, f"{name}.jsonl"), "w") as f:
        for i, (q, pairs) in enumerate(rows):
            for p, label in pairs:
                f.write(json.dumps({"query": q, "passage": p, "label": label, "group": i}) + "\n")
with open(os.path.join(root, "meta.json"), "w") as f:
    json.dump({"script": "scripts/make_rerank_dataset.py", "seed": SEED, "facts": facts}, f, indent=1)

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers, decoders
tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
tok.normalizer = normalizers.BertNormalizer(lowercase=True)
tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
trainer = trainers.WordPieceTrainer(vocab_size=2000, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
tok.train_from_iterator([q for q, _ in splits["train"]] + [p for _, pairs in splits["train"] for p, _ in pairs], trainer)
cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                    special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
tok.decoder = decoders.WordPiece()
tok.save(os.path.join(root, "tokenizer", "tokenizer.json"))
vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
with open(os.path.join(root, "tokenizer", "vocab.txt"), "w") as f:
    for token, _ in vocab:
        f.write(token + "\n")
print(f"{len(splits['train'])} train / {len(splits['test'])} test queries (5 passages each), vocabulary {len(vocab)}")
