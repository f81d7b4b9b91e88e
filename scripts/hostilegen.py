#!/usr/bin/env python3
"""hostilegen writes the hostile inputs of scripts/hostile.sh.

Usage: hostilegen.py WORKDIR

WORKDIR must hold teacher/ (a small valid model directory with a
classification head, made by `edgenas train`), teacher.yaml (its training
config) and control-run/cache.db (the cache of a successful search). The
inputs are written under WORKDIR/cases and a manifest of cases under
WORKDIR/manifest.tsv, one case a line, tab-separated:

    name  expect  pattern  arg...

expect is "fail" (the case must exit non-zero with an error whose text
matches the extended regular expression pattern: the offending file, field
or flag) or "okfail" (the value is legal, e.g. a zero that means the
default: exit 0, or a failure matching pattern). Arguments are edgenas's
arguments, relative to WORKDIR. Nothing here runs edgenas.
"""

import json
import math
import os
import random
import shutil
import struct
import sys

W = sys.argv[1]
C = os.path.join(W, "cases")
MISSING = "hostile-missing"  # names of files that do not exist
UNSET = "HOSTILE_UNSET_VARIABLE"
HUGE = 1 << 40
cases = []


def case(name, expect, pattern, *args):
    for a in (name, expect, pattern) + args:
        assert a and "\t" not in a and "\n" not in a, (name, a)
    cases.append("\t".join((name, expect, pattern) + args))


def path(*p):
    """path returns a path under cases/, relative to W, creating its parent."""
    rel = os.path.join("cases", *p)
    os.makedirs(os.path.dirname(os.path.join(W, rel)), exist_ok=True)
    return rel


def write(rel, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(W, rel), mode) as f:
        f.write(data)
    return rel


def yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return ".nan"
        if math.isinf(v):
            return ".inf" if v > 0 else "-.inf"
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(yaml_scalar(x) for x in v) + "]"
    return str(v)


def yaml_dump(d, indent=0):
    """yaml_dump writes a dict as block YAML (lists in flow style), so each
    key has its own line for the error messages to point at."""
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out.append(" " * indent + f"{k}:")
            out.append(yaml_dump(v, indent + 2))
        else:
            out.append(" " * indent + f"{k}: {yaml_scalar(v)}")
    return "\n".join(x for x in out if x)


def deep_set(d, dotted, v):
    keys = dotted.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    d[keys[-1]] = v


def copy_dict(d):
    return json.loads(json.dumps(d))


# ---------------------------------------------------------------- search ---

def search_base(run):
    return {
        "teacher": {"dir": "teacher"},
        "data": {"demo": {"seed": 1, "train": 64, "dev": 32}},
        "importance": {"examples": 16},
        "space": {"layers": [1], "heads": [1], "ffn": [16, 32], "attention_rank": [0],
                  "ffn_rank": [0], "bits": [32, 8], "share_groups": [1],
                  "embedding_rank": [0], "embedding_bits": [32], "seq_len": [16]},
        "evaluator": {"subsample": 16, "max_len": 16,
                      "workload": {"batch": 1, "seq_len": 16, "threads": 1, "warmup": 1, "runs": 7}},
        "device": {"local": {"max_rel_spread": 0.5, "max_attempts": 1}},
        "search": {"seed": 1, "population_size": 4,
                   "budget": {"max_evaluations": 4, "max_generations": 2}},
        "run_dir": run,
    }


def search_case(name, expect, pattern, overrides, text=None):
    run = path("search", name, "run")
    cfg = path("search", name + ".yaml")
    d = search_base(run)
    for k, v in overrides.items():
        deep_set(d, k, v)
    write(cfg, text if text is not None else yaml_dump(d) + "\n")
    case("search/" + name, expect, pattern, "search", "-c", cfg)


# (field, negative, huge, expectation for zero, expectation for huge)
SEARCH_NUMBERS = [
    ("importance.examples", -1, HUGE, "okfail", "okfail"),
    ("evaluator.subsample", -1, HUGE, "okfail", "okfail"),
    ("evaluator.max_len", -1, 1 << 30, "okfail", "okfail"),
    ("evaluator.threads", -1, 1 << 20, "okfail", "okfail"),
    ("evaluator.workload.batch", -1, 1 << 30, "okfail", "okfail"),
    ("evaluator.workload.seq_len", -1, 1 << 30, "okfail", "okfail"),
    ("evaluator.workload.threads", -1, 1 << 20, "okfail", "okfail"),
    ("evaluator.workload.warmup", -1, 1 << 40, "okfail", "okfail"),
    ("evaluator.workload.runs", -1, 1 << 40, "okfail", "okfail"),
    ("device.local.max_rel_spread", -0.5, 1e300, "okfail", "okfail"),
    ("device.local.max_attempts", -1, 1 << 40, "okfail", "okfail"),
    ("search.population_size", -1, 1 << 40, "okfail", "okfail"),
    ("search.mutation_rate", -0.5, 5.0, "okfail", "fail"),
    ("search.gene_mutation_rate", -0.5, 5.0, "okfail", "fail"),
    ("search.crossover_rate", -0.5, 5.0, "okfail", "fail"),
    ("search.tournament_size", -1, 1 << 40, "okfail", "okfail"),
    ("search.sample_size", -1, 1 << 40, "okfail", "okfail"),
    ("search.batch", -1, 1 << 40, "okfail", "okfail"),
    ("search.parallelism", -1, 1 << 20, "okfail", "okfail"),
    ("search.budget.max_evaluations", -1, 1 << 40, "okfail", "okfail"),
    ("search.budget.max_generations", -1, 1 << 40, "okfail", "okfail"),
    ("search.budget.patience", -1, 1 << 40, "okfail", "okfail"),
    ("search.budget.max_duration", "-5s", "100000h", "okfail", "okfail"),
    ("search.budget.target_latency", "-5ms", "100000h", "okfail", "okfail"),
    ("search.budget.target_size_bytes", -1, 1 << 62, "okfail", "okfail"),
    ("search.reward.latency.weight", -1.0, 1e300, "okfail", "okfail"),
    ("search.reward.size.weight", -1.0, 1e300, "okfail", "okfail"),
    ("search.reward.max_latency", "-1ms", "100000h", "okfail", "okfail"),
    ("search.reward.max_size_bytes", -1, 1 << 62, "okfail", "okfail"),
    ("search.reward.min_accuracy", -0.5, 2.0, "okfail", "fail"),
    ("search.reference.latency", "-1ms", "100000h", "okfail", "okfail"),
    ("search.reference.size_bytes", -1, 1 << 62, "okfail", "okfail"),
    ("data.demo.train", -1, 1 << 40, "okfail", "fail"),
    ("data.demo.dev", -1, 1 << 40, "okfail", "fail"),
    ("data.demo.max_words", -1, 1 << 40, "okfail", "okfail"),
]

SPACE_LISTS = ["layers", "layer_sources", "heads", "ffn", "attention_rank", "ffn_rank",
               "bits", "share_groups", "embedding_rank", "embedding_bits", "seq_len"]


def search_cases():
    for field, neg, huge, zero_expect, huge_expect in SEARCH_NUMBERS:
        leaf = field.split(".")[-1]
        pat = field.replace(".", r"\.")
        zero = 0.0 if isinstance(neg, float) else ("0s" if isinstance(neg, str) else 0)
        # a negative patience disables the patience stop (documented)
        search_case(f"{field}/negative", "okfail" if field == "search.budget.patience" else "fail", pat, {field: neg})
        search_case(f"{field}/zero", zero_expect, pat, {field: zero})
        search_case(f"{field}/huge", huge_expect, pat, {field: huge})
        if isinstance(neg, float):
            search_case(f"{field}/nan", "fail", pat, {field: math.nan})
            search_case(f"{field}/inf", "fail" if leaf != "max_rel_spread" else "okfail", pat, {field: math.inf})
    for f in ("search.seed", "evaluator.seed", "data.demo.seed"):
        search_case(f"{f}/negative", "fail", r"\.yaml", {f: -1})
        search_case(f"{f}/huge", "okfail", f.replace(".", r"\."), {f: (1 << 64) - 1})
        search_case(f"{f}/overflow", "fail", r"\.yaml", {f: 1 << 64})
    for f in SPACE_LISTS:
        field = "space." + f
        search_case(f"{field}/negative", "fail", f, {field: [-1]})
        search_case(f"{field}/huge", "fail", f, {field: [1 << 40]})
        search_case(f"{field}/zero", "okfail", f, {field: [0]})
    for field, value in [("compress.share", "bogus"), ("device.kind", "bogus"),
                         ("search.strategy", "bogus"), ("evaluator.metric", "bogus"),
                         ("search.reward.latency.mode", "bogus"), ("metrics.listen", "not-an-address"),
                         ("metrics.listen", "127.0.0.1:99999")]:
        search_case(f"{field}/{value.replace(':', '-')}", "fail", field.replace(".", r"\."), {field: value})
    # Unset variables in every path field.
    for field in ("teacher.dir", "data.dev", "data.calibration", "run_dir"):
        o = {field: "${" + UNSET + "}/x"}
        if field.startswith("data."):
            o = {"data": {"dev": "dev.tsv", field.split(".")[1]: "${" + UNSET + "}/x.tsv"}}
        search_case(f"unset-var/{field}", "fail", UNSET, o)
    search_case("teacher/missing-dir", "fail", MISSING, {"teacher.dir": MISSING})
    search_case("teacher/train-missing-config", "fail", MISSING, {"teacher": {"train": MISSING + ".yaml"}})
    search_case("data/dev-missing", "fail", MISSING, {"data": {"dev": MISSING + ".tsv"}})
    search_case("data/dev-and-demo", "fail", r"\bdata\b", {"data.dev": "x.tsv"})


# ----------------------------------------------------------------- train ---

def train_base(tag):
    # Data files that do not exist: a config that passes validation fails
    # on reading its data, before any training, naming the missing file.
    return {
        "model": {"shape": "custom", "layers": 1, "hidden": 16, "heads": 1, "ffn": 32,
                  "max_position": 32, "vocab": "teacher/vocab.txt", "init_std": 0.02},
        "data": {"train": f"{MISSING}-{tag}.tsv", "dev": f"{MISSING}-{tag}.tsv", "num_labels": 2},
        "max_seq_len": 16, "batch_size": 8, "max_steps": 2, "lr": 0.001, "warmup": 0.1,
        "weight_decay": 0.01, "clip": 1.0, "eval_every": 1, "checkpoint_every": 1, "log_every": 1,
        "max_loss": 100.0, "seed": 1, "threads": 1,
        "run_dir": path("train", tag, "run"),
    }


def train_case(name, expect, pattern, overrides, base=None, text=None):
    cfg = path("train", name + ".yaml")
    d = base if base is not None else train_base(name.replace("/", "-"))
    for k, v in overrides.items():
        deep_set(d, k, v)
    write(cfg, text if text is not None else yaml_dump(d) + "\n")
    case("train/" + name, expect, pattern, "train", "-c", cfg)


TRAIN_NUMBERS = [
    # field, negative, huge, huge expectation
    ("model.layers", -1, 1 << 40, "fail"),
    ("model.hidden", -1, 1 << 40, "fail"),
    ("model.heads", -1, 1 << 40, "fail"),
    ("model.ffn", -1, 1 << 40, "fail"),
    ("model.max_position", -1, 1 << 40, "fail"),
    ("model.init_std", -0.5, 1e300, "fail"),
    ("data.num_labels", -1, 1 << 40, "fail"),
    ("max_seq_len", -1, 1 << 40, "fail"),
    ("batch_size", -1, 1 << 40, "fail"),
    ("epochs", -1, 1 << 40, "fail"),
    ("max_steps", -1, 1 << 40, "fail"),
    ("lr", -0.5, 1e300, "fail"),
    ("warmup", -0.5, 1e300, "fail"),
    ("weight_decay", -0.5, 1e300, "fail"),
    ("clip", -0.5, 1e300, "okfail"),
    ("eval_every", -1, 1 << 40, "fail"),
    ("checkpoint_every", -1, 1 << 40, "fail"),
    ("log_every", -1, 1 << 40, "fail"),
    ("max_loss", -0.5, 1e300, "okfail"),
    ("threads", -1, 1 << 40, "fail"),
    ("pretrain.steps", -1, 1 << 40, "fail"),
    ("pretrain.batch_size", -1, 1 << 40, "fail"),
    ("pretrain.max_seq_len", -1, 1 << 40, "fail"),
    ("pretrain.lr", -0.5, 1e300, "fail"),
    ("pretrain.mask_prob", -0.5, 1e300, "fail"),
    ("pretrain.checkpoint_every", -1, 1 << 40, "fail"),
]


def train_cases():
    for field, neg, huge, huge_expect in TRAIN_NUMBERS:
        pat = field.replace(".", r"\.")
        zero = 0.0 if isinstance(neg, float) else 0
        extra = {}
        if field.startswith("pretrain."):
            extra = {"pretrain": {"text": [MISSING + ".txt"], "steps": 1, "batch_size": 4,
                                  "max_seq_len": 16, "lr": 0.001, "mask_prob": 0.15}}
        for kind, v, expect in (("negative", neg, "fail"), ("zero", zero, "okfail"), ("huge", huge, huge_expect)):
            o = dict(extra)
            o[field] = v
            # A zero that means the default passes validation and fails on
            # the missing data file instead: either is clear.
            p = pat if expect == "fail" else pat + "|" + MISSING
            if field == "model.hidden" and kind == "zero":
                expect, p = "fail", pat
            train_case(f"{field}/{kind}", expect, p, o)
        if isinstance(neg, float):
            o = dict(extra)
            o[field] = math.nan
            train_case(f"{field}/nan", "fail", pat, o)
    train_case("model.heads/mismatch", "fail", r"model\.heads", {"model.heads": 3})
    train_case("model.shape/bogus", "fail", r"model\.shape", {"model.shape": "bogus"})
    train_case("seed/negative", "fail", r"\.yaml", {"seed": -1})
    for field in ("model.vocab", "data.train", "run_dir"):
        train_case(f"unset-var/{field}", "fail", UNSET, {field: "${" + UNSET + "}/x"})
    train_case("model.vocab/missing", "fail", MISSING, {"model.vocab": MISSING + ".txt"})


# ------------------------------------------------------------ yaml files ---

def yaml_file_cases():
    """The same hostile files given to search -c and train -c."""
    good_search = yaml_dump(search_base(path("yaml", "run"))) + "\n"
    good_train = yaml_dump(train_base("yaml")) + "\n"
    files = {}
    for n in (1, 3, 8, 15):
        for kind, good in (("search", good_search), ("train", good_train)):
            lines = good.splitlines(True)
            lines.insert(n - 1, "  bad: [unclosed\n")
            files[f"{kind}/syntax-line{n}"] = ("".join(lines), kind, r"\.yaml")
    for kind, good in (("search", good_search), ("train", good_train)):
        files[f"{kind}/unknown-key-top"] = (good + "bogus_key: 1\n", kind, "bogus_key")
        files[f"{kind}/multiple-documents"] = (good + "---\n" + good, kind, "document")
        files[f"{kind}/duplicate-key"] = (good + "run_dir: again\n", kind, r"run_dir|\.yaml")
        files[f"{kind}/list-at-top"] = ("- 1\n- 2\n", kind, r"\.yaml")
        files[f"{kind}/scalar-at-top"] = ("42\n", kind, r"\.yaml")
        files[f"{kind}/tab-indent"] = (good.replace("\n  ", "\n\t", 1), kind, r"\.yaml")
        files[f"{kind}/nul-bytes"] = (good[:40] + "\0\0\0" + good[40:], kind, r"\.yaml")
        files[f"{kind}/invalid-utf8"] = (good.encode() + b"run_dir: \xff\xfe\n", kind, r"\.yaml")
        if kind == "search":
            # (An empty training config is legal: every default, a real
            # training run.)
            files[f"{kind}/empty"] = ("", kind, r"\.yaml")
            files[f"{kind}/comment-only"] = ("# nothing\n", kind, r"\.yaml")
        files[f"{kind}/binary"] = (random.Random(7).randbytes(64 << 10), kind, r"\.yaml")
        # Billion laughs: nine levels of nine aliases.
        bomb = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        for i in range(1, 10):
            bomb.append(f"a{i}: &a{i} [" + ",".join([f"*a{i-1}"] * 9) + "]")
        files[f"{kind}/alias-bomb"] = ("\n".join(bomb) + "\n", kind, r"\.yaml")
        files[f"{kind}/deep-nesting"] = ("x: " + "[" * 100000 + "]" * 100000 + "\n", kind, r"\.yaml")
        files[f"{kind}/deep-maps"] = ("".join(" " * i + f"k{i}:\n" for i in range(5000)), kind, r"\.yaml")
        files[f"{kind}/long-string-10MB"] = (good + "run_dir_x: " + "a" * (10 << 20) + "\n", kind, r"\.yaml")
        files[f"{kind}/many-keys"] = ("".join(f"k{i}: 1\n" for i in range(200000)), kind, r"\.yaml")
    # search: fields of the wrong type.
    for name, text in [
        ("wrong-type/int-as-string", good_search.replace("population_size: 4", "population_size: many")),
        ("wrong-type/map-as-list", good_search.replace("search:\n", "search: [1, 2]\nx:\n", 1)),
        ("wrong-type/list-as-map", good_search.replace("layers: [1]", "layers: {a: 1}")),
        ("wrong-type/float-as-int", good_search.replace("population_size: 4", "population_size: 4.5")),
        ("wrong-type/bool-as-int", good_search.replace("population_size: 4", "population_size: true")),
        ("wrong-type/duration-garbage", good_search.replace("budget:\n", "budget:\n      max_duration: forever\n")),
        ("unknown-key/nested", good_search.replace("population_size: 4", "population_size: 4\n  bogus_nested: 1")),
        ("unknown-key/space", good_search.replace("layers: [1]", "layers: [1]\n  bogus_space: [1]")),
        ("duplicates-2M", good_search.replace("layers: [1]", "layers: [" + ",".join(["1"] * 2_000_000) + "]")),
        ("huge-list-2M", good_search.replace("ffn: [16, 32]", "ffn: [" + ",".join(str(i) for i in range(2_000_000)) + "]")),
    ]:
        files["search/" + name] = (text, "search", r"\.yaml|population_size|layers|ffn|max_duration|bogus")
    for name, (text, kind, pat) in files.items():
        rel = write(path("yaml", name.replace("/", "-") + ".yaml"), text)
        case("yaml/" + name, "fail", pat, kind, "-c", rel)
    for kind in ("search", "train"):
        case(f"yaml/{kind}/missing-file", "fail", MISSING, kind, "-c", MISSING + ".yaml")
        case(f"yaml/{kind}/dev-zero", "fail", "/dev/zero", kind, "-c", "/dev/zero")
        case(f"yaml/{kind}/directory", "fail", "cases", kind, "-c", "cases")
        sparse = path("yaml", f"{kind}-sparse-5G.yaml")
        with open(os.path.join(W, sparse), "wb") as f:
            f.truncate(5 << 30)
        case(f"yaml/{kind}/sparse-5G", "fail", "sparse-5G", kind, "-c", sparse)
        case(f"yaml/{kind}/no-c-flag", "fail", "-c", kind)
        case(f"yaml/{kind}/extra-argument", "fail", kind, kind, "-c", "configs.yaml", "extra")


# --------------------------------------------------------- model folders ---

def load_teacher():
    t = os.path.join(W, "teacher")
    with open(os.path.join(t, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(t, "model.safetensors"), "rb") as f:
        st = f.read()
    n = struct.unpack("<Q", st[:8])[0]
    header = json.loads(st[8:8 + n])
    return cfg, header, st[8 + n:]


def safetensors(header, data):
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def model_dir(name, cfg=None, st=None, vocab=None, tokenizer_json=None, drop=()):
    """model_dir writes a copy of the teacher with the given parts replaced
    (bytes or str for file contents) and the parts in drop removed."""
    rel = path("models", name, "x")[:-2]
    d = os.path.join(W, rel)
    shutil.copytree(os.path.join(W, "teacher"), d, dirs_exist_ok=True)
    for fname, content in (("config.json", cfg), ("model.safetensors", st),
                           ("vocab.txt", vocab), ("tokenizer.json", tokenizer_json)):
        if content is not None:
            write(os.path.join(rel, fname), content if isinstance(content, (bytes, str)) else json.dumps(content))
    for fname in drop:
        os.remove(os.path.join(d, fname))
    return rel


def model_cases():
    cfg, header, data = load_teacher()
    tensors = sorted(k for k in header if k != "__metadata__")
    word = "bert.embeddings.word_embeddings.weight"
    dense = "bert.encoder.layer.0.attention.self.query.weight"
    variants = []  # (name, dir, pattern, commands)
    ALL = ("encode", "bench", "export-onnx")

    def v(name, pattern, commands=ALL, **kw):
        variants.append((name, model_dir(name, **kw), pattern, commands))

    v("config/missing", "config.json", drop=("config.json",))
    v("config/empty", "config.json", cfg="")
    v("config/garbage", "config.json", cfg="{not json at all")
    v("config/binary", "config.json", cfg=random.Random(3).randbytes(4096))
    v("config/array", "config.json", cfg="[1, 2, 3]")
    v("config/huge-50MB", "config.json", cfg=dict(cfg, pad="x" * (50 << 20)))
    fields = ["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
              "vocab_size", "max_position_embeddings", "type_vocab_size", "num_labels"]
    for f in fields:
        for kind, val in (("negative", -1), ("zero", 0), ("huge", 1 << 40)):
            c = copy_dict(cfg)
            c[f] = val
            if f in ("num_attention_heads", "intermediate_size"):
                c.pop("edgenas", None)  # the HF fields alone describe the layers
            v(f"config/{f}/{kind}", f"config.json|{f}", cfg=c)
    for kind, val in (("string", "sixteen"), ("float", 16.5)):
        c = copy_dict(cfg)
        c["hidden_size"] = val
        v(f"config/hidden_size/{kind}", "config.json|hidden_size", cfg=c)
    c = copy_dict(cfg)
    c["num_attention_heads"] = 3
    c.pop("edgenas", None)
    v("config/heads-not-dividing-hidden", "config.json|num_attention_heads|hidden", cfg=c)
    for kind, val in (("negative", -1.0), ("huge", 1e300)):
        c = copy_dict(cfg)
        c["layer_norm_eps"] = val
        v(f"config/layer_norm_eps/{kind}", "config.json|layer_norm_eps", cfg=c)
    c = copy_dict(cfg)
    c["hidden_act"] = "bogus"
    v("config/hidden_act-bogus", "config.json|hidden_act", cfg=c)
    c = copy_dict(cfg)
    c["edgenas"]["layers"] = c["edgenas"]["layers"] * 3
    v("config/edgenas-layers-count", "config.json|layers", cfg=c)
    for kind, val in (("negative", -1), ("zero", 0), ("huge", 1 << 40)):
        c = copy_dict(cfg)
        c["edgenas"]["attention_head_size"] = val
        v(f"config/edgenas-head-size/{kind}", "config.json|attention_head_size", cfg=c)
    c = copy_dict(cfg)
    c["edgenas"]["layers"][0]["intermediate_size"] = -5
    v("config/edgenas-layer-ffn-negative", "config.json|intermediate_size", cfg=c)

    # Safetensors.
    st = safetensors(header, data)
    n = struct.unpack("<Q", st[:8])[0]
    S = "model.safetensors"
    v("st/missing", S, drop=(S,))
    v("st/empty", S, st=b"")
    v("st/short-length", S, st=st[:5])
    v("st/truncated-header", S, st=st[:8 + n // 2])
    v("st/truncated-data", S, st=st[:len(st) - 100])
    v("st/header-length-huge", S, st=struct.pack("<Q", 1 << 62) + st[8:])
    v("st/header-length-4G", S, st=struct.pack("<Q", 4 << 30) + st[8:])
    v("st/header-length-zero", S, st=struct.pack("<Q", 0) + st[8:])
    v("st/header-garbage", S, st=struct.pack("<Q", 16) + b"{garbage garbage" + data)
    v("st/header-huge-json-100MB", S,
      st=safetensors(dict(header, __metadata__={"pad": "x" * (100 << 20)}), data))
    v("st/random-bytes", S, st=random.Random(5).randbytes(64 << 10))

    def mutate(name, pattern, fn):
        h = copy_dict(header)
        dd = bytearray(data)
        fn(h, dd)
        v("st/" + name, pattern, st=safetensors(h, bytes(dd)))

    def overlap(h, _):
        h[dense]["data_offsets"] = list(h[word]["data_offsets"][:1]) + [h[word]["data_offsets"][0] + 1024]
    mutate("overlapping-offsets", S + "|" + dense, overlap)
    mutate("offsets-past-end", S + "|" + dense,
           lambda h, _: h[dense].__setitem__("data_offsets", [len(data) - 512, len(data) + 512]))
    mutate("offsets-reversed", S + "|" + dense,
           lambda h, _: h[dense].__setitem__("data_offsets", h[dense]["data_offsets"][::-1]))
    mutate("offsets-negative", S + "|" + dense,
           lambda h, _: h[dense].__setitem__("data_offsets", [-1024, 0]))
    mutate("offsets-huge", S + "|" + dense,
           lambda h, _: h[dense].__setitem__("data_offsets", [1 << 62, (1 << 62) + 1024]))
    mutate("dtype-bogus", S + "|" + dense, lambda h, _: h[dense].__setitem__("dtype", "BOGUS"))
    mutate("dtype-I64", S + "|" + dense, lambda h, _: h[dense].__setitem__("dtype", "I64"))
    mutate("dtype-F64-size-mismatch", S + "|" + dense, lambda h, _: h[dense].__setitem__("dtype", "F64"))
    mutate("shape-wrong", S + "|" + dense, lambda h, _: h[dense].__setitem__("shape", [8, 32]))
    mutate("shape-size-mismatch", S + "|" + dense, lambda h, _: h[dense].__setitem__("shape", [17, 16]))
    mutate("shape-negative", S + "|" + dense, lambda h, _: h[dense].__setitem__("shape", [-16, -16]))
    mutate("shape-overflow", S + "|" + dense, lambda h, _: h[dense].__setitem__("shape", [1 << 62, 1 << 62]))
    mutate("tensor-missing", S + "|" + dense, lambda h, _: h.pop(dense))
    mutate("word-embeddings-missing", S + "|" + word, lambda h, _: h.pop(word))

    def poison(value):
        def fn(h, dd):
            a, _ = h[dense]["data_offsets"]
            struct.pack_into("<f", dd, a + 4 * 5, value)
        return fn
    mutate("nan-weight", S + "|" + dense + "|NaN", poison(math.nan))
    mutate("inf-weight", S + "|" + dense + "|Inf", poison(math.inf))

    def poison_all(h, dd):
        a, b = h[word]["data_offsets"]
        struct.pack_into(f"<{(b - a) // 4}f", dd, a, *([math.nan] * ((b - a) // 4)))
    mutate("nan-embeddings", S + "|" + word + "|NaN", poison_all)

    # Vocabularies (only encode reads the tokenizer).
    vocab = open(os.path.join(W, "teacher", "vocab.txt")).read().splitlines()
    V = "vocab.txt"
    v("vocab/missing", "vocab.txt|tokenizer", ("encode",), drop=(V,))
    v("vocab/empty", V, ("encode",), vocab="")
    v("vocab/huge-line-20MB", V, ("encode",), vocab="\n".join(vocab) + "\n" + "a" * (20 << 20))
    v("vocab/binary", V, ("encode",), vocab=random.Random(9).randbytes(64 << 10))
    v("vocab/duplicates", V, ("encode",), vocab="\n".join(vocab + vocab[5:]) + "\n")
    v("vocab/no-specials", V, ("encode",), vocab="\n".join(vocab[5:]) + "\n")
    v("vocab/smaller-than-model", V + "|vocab_size", ("encode",), vocab="\n".join(vocab[:20]) + "\n")
    v("vocab/2M-lines", V + "|vocab_size", ("encode",), vocab="\n".join(vocab + [f"w{i}" for i in range(2_000_000)]) + "\n")
    T = "tokenizer.json"
    v("tokenizer-json/garbage", T, ("encode",), tokenizer_json="{garbage", drop=(V,))
    v("tokenizer-json/empty-object", T, ("encode",), tokenizer_json="{}", drop=(V,))
    v("tokenizer-json/wrong-types", T, ("encode",),
      tokenizer_json='{"model": {"type": "WordPiece", "vocab": [1, 2, 3]}}', drop=(V,))
    v("tokenizer-json/binary", T, ("encode",), tokenizer_json=random.Random(11).randbytes(4096), drop=(V,))

    for name, d, pattern, commands in variants:
        for cmd in commands:
            args = {"encode": ("encode", "-model", d, "a fine film"),
                    "bench": ("bench", "-model", d, "-seq", "8", "-runs", "7", "-warmup", "1"),
                    "export-onnx": ("export-onnx", "-model", d, "-out", d + "/out.onnx")}[cmd]
            case(f"model/{name}/{cmd}", "fail", pattern, *args)
    case("model/missing-dir/encode", "fail", MISSING, "encode", "-model", MISSING, "text")
    case("model/missing-dir/bench", "fail", MISSING, "bench", "-model", MISSING)
    case("model/missing-dir/export-onnx", "fail", MISSING, "export-onnx", "-model", MISSING)
    case("model/file-as-dir/encode", "fail", "config.json|teacher", "encode", "-model", "teacher/config.json", "text")


# ----------------------------------------------------------------- flags ---

def flag_cases():
    B = ("bench", "-model", "teacher", "-seq", "8", "-runs", "7", "-warmup", "1")
    for flag in ("seq", "batch", "threads", "runs", "warmup"):
        for kind, val in (("negative", "-1"), ("zero", "0")):
            case(f"flags/bench/{flag}/{kind}", "fail", "-" + flag, *B, "-" + flag, val)
        case(f"flags/bench/{flag}/not-a-number", "fail", "-" + flag, *B, "-" + flag, "many")
        case(f"flags/bench/{flag}/overflow", "fail", "-" + flag, *B, "-" + flag, "99999999999999999999")
    case("flags/bench/seq/huge", "fail", "-seq|seq|position", *B, "-seq", str(1 << 30))
    case("flags/bench/seq/past-max-position", "fail", "-seq|seq|position", *B, "-seq", "64")
    case("flags/bench/batch/huge", "fail", "-batch|batch", *B, "-batch", str(1 << 40))
    case("flags/bench/threads/huge", "okfail", "-threads|threads", *B, "-threads", str(1 << 20))
    case("flags/bench/runs/huge", "fail", "-runs|runs", *B, "-runs", str(1 << 40))
    case("flags/bench/warmup/huge", "fail", "-warmup|warmup", *B, "-warmup", str(1 << 40))
    case("flags/bench/shape/bogus", "fail", "shape", "bench", "-shape", "bogus")
    case("flags/bench/unknown-flag", "fail", "bogus", *B, "-bogus")
    E = ("encode", "-model", "teacher")
    case("flags/encode/max-len/zero", "fail", "max-len", *E, "-max-len", "0", "a fine film")
    case("flags/encode/max-len/negative", "fail", "max-len", *E, "-max-len", "-1", "a fine film")
    case("flags/encode/max-len/one", "fail", "max-len", *E, "-max-len", "1", "a fine film")
    case("flags/encode/max-len/huge", "okfail", "max-len|position", *E, "-max-len", str(1 << 40), "a fine film")
    case("flags/encode/max-len/past-max-position", "okfail", "max-len|position",
         *E, "-max-len", "64", " ".join(["film"] * 60))
    case("flags/encode/long-text-100KB", "okfail", "max-len|position", *E, " ".join(["film"] * 20000))
    case("flags/encode/no-text", "fail", "encode", *E)
    case("flags/encode/no-model", "fail", "model", "encode", "text")
    case("flags/encode/pair-long", "okfail", "max-len|position", *E, "-pair", " ".join(["film"] * 20000), "text")
    case("flags/export-onnx/out-in-missing-dir", "fail", MISSING, "export-onnx", "-model", "teacher",
         "-out", MISSING + "/x.onnx")
    case("flags/export-onnx/out-is-dir", "fail", "cases", "export-onnx", "-model", "teacher", "-out", "cases")
    case("flags/init/shape-bogus", "fail", "shape", "init", "-out", path("init", "bogus"), "-shape", "bogus")
    case("flags/init/std-negative", "fail", "std", "init", "-out", path("init", "neg"), "-std", "-1")
    case("flags/init/std-nan", "fail", "std", "init", "-out", path("init", "nan"), "-std", "NaN")
    case("flags/init/std-inf", "fail", "std", "init", "-out", path("init", "inf"), "-std", "+Inf")
    case("flags/init/vocab-missing", "fail", MISSING, "init", "-out", path("init", "v"), "-vocab", MISSING + ".txt")
    case("flags/init/out-under-file", "fail", "config.json", "init", "-out", "teacher/config.json/x")
    case("flags/unknown-command", "fail", "bogus-command", "bogus-command")
    case("flags/train/run-dir-is-file", "fail", "teacher/config.json",
         "train", "-c", "teacher.yaml", "-run-dir", "teacher/config.json")


# ------------------------------------------------------------- data files ---

def data_cases():
    good = "sentence\tlabel\n" + "".join(f"a fine film {i}\t{i % 2}\n" for i in range(20))
    bad = {
        "missing-label-column": "sentence\n" + "".join(f"a fine film {i}\n" for i in range(20)),
        "missing-text-column": "label\n1\n0\n",
        "label-not-integer": "sentence\tlabel\na fine film\tgood\n",
        "label-float": "sentence\tlabel\na fine film\t0.5\n",
        "label-out-of-range": "sentence\tlabel\na fine film\t7\n",
        "label-negative": "sentence\tlabel\na fine film\t-1\n",
        "label-huge": "sentence\tlabel\na fine film\t99999999999999999999999\n",
        "ragged-row": "sentence\tlabel\na fine film\t1\textra\n",
        "line-10MB": "sentence\tlabel\n" + "film " * (2 << 20) + "\t1\n",
        "empty": "",
        "header-only": "sentence\tlabel\n",
        "binary": random.Random(13).randbytes(64 << 10),
    }
    tv = write(path("data", "good.tsv"), good)
    for name, text in bad.items():
        f = write(path("data", name + ".tsv"), text)
        base = train_base("data-" + name)
        base["data"] = {"train": f, "dev": tv, "num_labels": 2}
        train_case(f"data/{name}", "fail", name, {}, base=base)
        run = path("search", "data-" + name, "run")
        d = search_base(run)
        d["data"] = {"dev": f}
        cfg = write(path("search", "data-" + name + ".yaml"), yaml_dump(d) + "\n")
        case(f"search/data/{name}", "fail", name, "search", "-c", cfg)
    # Legal: NUL is a control character the tokenizer drops.
    f = write(path("data", "nul-bytes.tsv"), good + "a fine\0film\t1\n")
    d = search_base(path("search", "data-nul-bytes", "run"))
    d["data"] = {"dev": f}
    case("search/data/nul-bytes", "okfail", "nul-bytes", "search", "-c",
         write(path("search", "data-nul-bytes.yaml"), yaml_dump(d) + "\n"))
    j = write(path("data", "garbage.jsonl"), '{"text": "a fine film", "label": 1}\n{not json\n')
    d = search_base(path("search", "data-jsonl", "run"))
    d["data"] = {"dev": j}
    case("search/data/jsonl-garbage", "fail", "garbage.jsonl", "search", "-c",
         write(path("search", "data-jsonl.yaml"), yaml_dump(d) + "\n"))


# ------------------------------------------------------------ run dirs ---

def cache_cases():
    real = open(os.path.join(W, "control-run", "cache.db"), "rb").read()
    damaged = {
        "cache-truncated": real[:100],
        "cache-half": real[:len(real) // 2],
        "cache-random": random.Random(17).randbytes(64 << 10),
        "cache-zeros": bytes(64 << 10),
        "cache-flipped-pages": real[:8192] + random.Random(19).randbytes(len(real) - 8192),
    }
    for name, content in damaged.items():
        run = path("search", name, "run")
        os.makedirs(os.path.join(W, run), exist_ok=True)
        write(os.path.join(run, "cache.db"), content)
        shutil.copy(os.path.join(W, "control-run", "importance.json"), os.path.join(W, run))
        d = search_base(run)
        cfg = write(path("search", name + ".yaml"), yaml_dump(d) + "\n")
        # Half the file may cut only pages bbolt has not used yet (the file
        # grows ahead of its data): then nothing is lost and the search may run.
        case(f"search/{name}", "okfail" if name == "cache-half" else "fail", "cache.db", "search", "-c", cfg)
    # bbolt keeps two meta pages: one damaged meta page is recovered from.
    run = path("search", "cache-flipped-meta", "run")
    os.makedirs(os.path.join(W, run), exist_ok=True)
    write(os.path.join(run, "cache.db"), real[:16] + bytes(b ^ 0xFF for b in real[16:64]) + real[64:])
    cfg = write(path("search", "cache-flipped-meta.yaml"), yaml_dump(search_base(run)) + "\n")
    case("search/cache-flipped-meta", "okfail", "cache.db", "search", "-c", cfg)
    # Another process holds the cache's lock (hostile.sh holds it while the
    # case runs: the name starts with search/cache-locked).
    run = path("search", "cache-locked", "run")
    os.makedirs(os.path.join(W, run), exist_ok=True)
    shutil.copy(os.path.join(W, "control-run", "cache.db"), os.path.join(W, run))
    cfg = write(path("search", "cache-locked.yaml"), yaml_dump(search_base(run)) + "\n")
    case("search/cache-locked", "fail", "cache.db", "search", "-c", cfg)
    run = path("search", "cache-is-dir", "run")
    os.makedirs(os.path.join(W, run, "cache.db"), exist_ok=True)
    cfg = write(path("search", "cache-is-dir.yaml"), yaml_dump(search_base(run)) + "\n")
    case("search/cache-is-dir", "fail", "cache.db", "search", "-c", cfg)
    run = path("search", "importance-garbage", "run")
    os.makedirs(os.path.join(W, run), exist_ok=True)
    write(os.path.join(run, "importance.json"), "{garbage")
    cfg = write(path("search", "importance-garbage.yaml"), yaml_dump(search_base(run)) + "\n")
    case("search/importance-garbage", "okfail", "importance.json", "search", "-c", cfg)
    run = path("search", "run-dir-is-file", "run")
    write(run, "a file")
    cfg = write(path("search", "run-dir-is-file.yaml"), yaml_dump(search_base(run)) + "\n")
    case("search/run-dir-is-file", "fail", "run-dir-is-file", "search", "-c", cfg)


search_cases()
train_cases()
yaml_file_cases()
model_cases()
flag_cases()
data_cases()
cache_cases()
with open(os.path.join(W, "manifest.tsv"), "w") as f:
    f.write("\n".join(cases) + "\n")
print(len(cases))
