#!/usr/bin/env python3
"""Generates the labeled set of the `ner` sample: template sentences naming people, locations and
organizations taken from word lists with a fixed seed, each word tagged with a BIO label (O, B-PER,
I-PER, B-LOC, I-LOC, B-ORG, I-ORG). Held-out sentences are new sentences over the same name lists (no
name is unseen in training: the score measures tagging in context, not names never met). Writes samples/ner/data/{train,test}.jsonl (one sentence a line: "text", and "words" and
"tags" of the same length, the words as BERT's pre-tokenizer splits the text) and trains a small cased
WordPiece vocabulary on the training split with the Hugging Face `tokenizers` library (vocab.txt +
tokenizer.json in samples/ner/data/tokenizer/).

Run: python3 scripts/make_ner_dataset.py   (needs `tokenizers`; the outputs are committed)
"""
import json, os, random, re

SEED = 11
random.seed(SEED)
root = os.path.join(os.path.dirname(__file__), "..", "samples", "ner", "data")
os.makedirs(os.path.join(root, "tokenizer"), exist_ok=True)

labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
first_names = ["Anna", "Maria", "James", "David", "Sophie", "Lukas", "Elena", "Omar", "Priya", "Kenji", "Fatima",
               "Carlos", "Hannah", "Ivan", "Chloe", "Mateo", "Aisha", "Thomas", "Julia", "Noah", "Lena", "Hugo",
               "Sara", "Daniel", "Mei", "Ravi", "Nora", "Felix", "Amara", "Pedro", "Ingrid", "Yusuf", "Clara",
               "Leo", "Zara", "Marco", "Emma", "Samuel", "Olga", "Tariq"]
last_names = ["Smith", "Garcia", "Johnson", "Rossi", "Nakamura", "Kowalski", "Dubois", "Okafor", "Silva", "Novak",
              "Schmidt", "Haddad", "Lindqvist", "Patel", "Chen", "Moreau", "Fischer", "Brennan", "Santos", "Ivanova",
              "Tanaka", "Andersen", "Costa", "Weber", "Kaplan", "Murphy", "Rahman", "Jensen", "Bauer", "Petrov",
              "Alvarez", "Larsen", "Hoffman", "Mendes", "Sato", "Quinn", "Varga", "Keller", "Ortiz", "Walsh"]
locations = ["Paris", "Berlin", "Tokyo", "Lagos", "Lima", "Oslo", "Cairo", "Madrid", "Toronto", "Nairobi", "Sydney",
             "Mumbai", "Vienna", "Dublin", "Seoul", "Lisbon", "Prague", "Chicago", "Denver", "Manila", "New York",
             "Buenos Aires", "Cape Town", "San Diego", "Hong Kong", "Rio de Janeiro", "France", "Japan", "Kenya",
             "Brazil", "Canada", "Norway", "Peru", "Egypt", "Italy", "Ghana", "Chile", "Poland", "Portugal", "Vietnam"]
organizations = ["Google", "Siemens", "Toyota", "UNICEF", "Reuters", "Microsoft", "Nokia", "Airbus", "Oxfam", "Interpol",
                 "Acme Corporation", "Northwind Traders", "Blue Harbor Bank", "Apex Robotics", "Green Valley Farms",
                 "Red Cross", "World Health Organization", "Bank of Canada", "Nordic Air", "Stellar Labs",
                 "Orion Software", "Summit Health", "Delta Logistics", "Riverside Hospital", "City Museum",
                 "National Library", "Harbor University", "Pacific Shipping", "Silver Lake Studios", "Union Rail"]
titles = ["Dr.", "Mr.", "Ms.", "Professor", "Minister", "Coach"]

pools = {"first": first_names, "last": last_names, "loc": locations, "org": organizations}

templates = [
    "{PER} flew to {LOC} on Monday.",
    "{PER} works for {ORG} in {LOC}.",
    "{ORG} opened a new office in {LOC}.",
    "Yesterday {PER} met {PER} at the {ORG} headquarters.",
    "The mayor of {LOC} thanked {PER} for the donation.",
    "{PER} joined {ORG} last year.",
    "According to {ORG}, prices in {LOC} rose again.",
    "{PER} and {PER} moved from {LOC} to {LOC}.",
    "{ORG} hired {PER} as its new director.",
    "Flights between {LOC} and {LOC} were cancelled.",
    "{PER} said the team from {LOC} played well.",
    "A spokesperson for {ORG} declined to comment.",
    "{PER} was born in {LOC}.",
    "Shares of {ORG} fell after {PER} resigned.",
    "We visited {LOC} with {PER} in the spring.",
    "{ORG} and {ORG} signed an agreement in {LOC}.",
    "The report by {PER} for {ORG} was published today.",
    "In {LOC}, {PER} opened a small bakery.",
    "{PER} thinks {ORG} will expand to {LOC}.",
    "Nobody from {ORG} attended the meeting in {LOC}.",
    "Last week {PER} gave a talk at {ORG}.",
    "Heavy snow closed the roads around {LOC}.",
    "Thanks to {PER}, the project at {ORG} finished early.",
    "Is {PER} still living in {LOC}?",
    # Sentences without entities keep capitalized words from meaning "a name".
    "The weather was cold and the trains were late.",
    "She bought bread and milk on the way home.",
    "Every Monday the office opens at nine.",
    "Nobody expected the meeting to end so early.",
    "Prices rose again after the holiday.",
]

def person():
    """A person as (text, kind) parts: a full name is one entity; a title (Dr., Mr.) stays outside it."""
    first, last = pools["first"], pools["last"]
    r = random.random()
    if r < 0.5:
        return [(random.choice(first) + " " + random.choice(last), "PER")]
    if r < 0.7:
        return [(random.choice(first), "PER")]
    if r < 0.85:
        return [(random.choice(titles), None), (random.choice(last), "PER")]
    return [(random.choice(last), "PER")]

def words_of(text):
    """BERT's pre-tokenization of ASCII text: whitespace, then each punctuation character alone."""
    return re.findall(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]", text)

def sentence():
    template = random.choice(templates)
    words, tags = [], []
    for piece in re.split(r"(\{[A-Z]+\})", template):
        if piece in ("{PER}", "{LOC}", "{ORG}"):
            if piece == "{PER}":
                parts = person()
            else:
                kind = piece[1:4]
                parts = [(random.choice(pools["loc" if kind == "LOC" else "org"]), kind)]
            for text, kind in parts:
                for i, w in enumerate(words_of(text)):
                    words.append(w)
                    tags.append("O" if kind is None else ("I-" if i > 0 else "B-") + kind)
        else:
            for w in words_of(piece):
                words.append(w)
                tags.append("O")
    return words, tags

def detokenized(words):
    text = ""
    for w in words:
        if text and not (w in ".,?!" or text.endswith("(")):
            text += " "
        text += w
    return text

def entities(words, tags):
    spans = []
    for w, t in zip(words, tags):
        if t.startswith("B-"):
            spans.append([w])
        elif t.startswith("I-"):
            spans[-1].append(w)
    return [" ".join(s) for s in spans]

def make(count, seen):
    rows = []
    while len(rows) < count:
        words, tags = sentence()
        text = detokenized(words)
        names = entities(words, tags)
        if text in seen or len(set(names)) < len(names):     # "from Oslo to Oslo"
            continue
        seen.add(text)
        assert words_of(text) == words, (text, words)
        rows.append({"text": text, "words": words, "tags": tags})
    return rows

seen = set()
train = make(2000, seen)
test = make(400, seen)
meta = {"script": "scripts/make_ner_dataset.py", "seed": SEED, "labels": labels}
for name, rows in [("train", train), ("test", test)]:
    with open(os.path.join(root, f"{name}.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
with open(os.path.join(root, "labels.json"), "w") as f:
    json.dump(meta, f, indent=1)

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers, decoders
tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
tok.normalizer = normalizers.BertNormalizer(lowercase=False)
tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
trainer = trainers.WordPieceTrainer(vocab_size=2000, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
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
print(f"{len(train)} train / {len(test)} test sentences, vocabulary {len(vocab)}")
