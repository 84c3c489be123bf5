#!/usr/bin/env python3
"""Molt's vector index against ChromaDB, side by side: same vectors, same
queries, same run, with the ratio reported (issue 7).

    python bench/chroma_side_by_side.py --synthetic 80000 [--k 10,200] [--json]
    python bench/chroma_side_by_side.py --data DIR [--model NAME] [--queries FILE]
    python bench/chroma_side_by_side.py --self-check

Needs `pip install -r bench/requirements-chroma.txt` (chromadb, numpy) and a
Rust toolchain: the Molt side is `crates/molt-vector/examples/file_bench.rs`,
built here with `cargo build --release` unless `--molt-bin` names it.

What runs:

1. Vectors. `--synthetic N`: N embedding-like unit vectors × 384 (the model of
   `crates/molt-vector/tests/support`: one offset shared by all, 300 skewed
   topics, 8 subtopics a topic, per-vector noise; cosine ≈ 0.78 between random
   pairs, as with e5), fixed seed. `--data DIR`: every `search_lines.embedding`
   of one model from DIR/molt.db (little-endian f32, no header: Molt's
   `molt_vector::encode`), the vectors song search loads.
2. Queries (`--num-queries`, default 200). Synthetic: further draws from the
   same generator (new points near the data, not copies). Data: that many
   passages drawn at random (fixed seed) and *held out*: not inserted into
   either engine. They are passage embeddings, not `query: ` embeddings of
   typed searches; `--queries FILE` (raw f32, rows of dim) gives real ones.
3. Both go once to raw f32 files in a temp dir; each engine reads those files.
4. Exact answer: numpy, float64 dot products over all vectors.
5. Molt: `file_bench` loads the vectors into `molt_vector::default_index`
   (BinaryIndex: centred sign bits ranked by Hamming distance, then exact f32
   re-scoring of max(k, 10) × 20 candidates) and a FlatIndex (exact scan), and
   times each query alone on one thread after a warm-up.
6. ChromaDB in process (EphemeralClient; HNSW, `space: cosine`, Chroma's
   default M / ef_construction / ef_search unless given), vectors added in
   batches of the client's max batch size, then the same warm-up and one
   `collection.query` per query (`include=["distances"]`, ids always come back).
7. recall@k of each against the numpy answer; p50/p99 latency; build time;
   ratio Chroma / Molt.

The two engines run one after the other, never at the same time. Each query
is one call from one thread. Molt's search is single-threaded by construction;
a Chroma query of one vector goes through its Python client, its Rust
bindings and hnswlib. `--pin-cpu N` pins the whole run (this process and the
Molt subprocess) to CPU N, so that neither can use a second core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261121
DIM = 384


# ---------------------------------------------------------------- vectors


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


class EmbeddingLike:
    """normalise(a·offset + b·topic + c·subtopic + d·noise), as in
    crates/molt-vector/tests/support/mod.rs (same recipe, numpy's generator,
    so not the same numbers as the Rust one)."""

    TOPICS = 300
    SUBTOPICS = 8

    def __init__(self, dim: int, seed: int):
        self.dim = dim
        self.rng = np.random.default_rng(seed)
        self.offset = _unit_rows(self.rng.standard_normal((1, dim)))[0]
        self.topics = _unit_rows(self.rng.standard_normal((self.TOPICS, dim)))
        self.subtopics = _unit_rows(self.rng.standard_normal((self.TOPICS * self.SUBTOPICS, dim)))

    def take(self, n: int) -> np.ndarray:
        out = np.empty((n, self.dim), dtype=np.float32)
        a, b, c = np.sqrt(0.78), np.sqrt(0.08), np.sqrt(0.07)
        for start in range(0, n, 10_000):
            m = min(10_000, n - start)
            # Skewed topic sizes: the square of a uniform favours low topic numbers.
            t = (self.rng.random(m) ** 2 * self.TOPICS).astype(np.int64)
            s = t * self.SUBTOPICS + self.rng.integers(0, self.SUBTOPICS, m)
            d = np.sqrt(self.rng.uniform(0.03, 0.11, m))[:, None]
            noise = _unit_rows(self.rng.standard_normal((m, self.dim)))
            v = a * self.offset + b * self.topics[t] + c * self.subtopics[s] + d * noise
            out[start : start + m] = _unit_rows(v)
        return out


def synthetic(n: int, q: int, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    gen = EmbeddingLike(DIM, seed)
    vectors = gen.take(n)
    queries = gen.take(q)
    return vectors, queries, f"synthetic embedding-like, seed {seed}; queries: {q} further draws"


def from_data_dir(data: Path, model: str | None, q: int, seed: int,
                  distinct: bool = False) -> tuple[np.ndarray, np.ndarray, str]:
    db = data / "molt.db"
    if not db.exists():
        sys.exit(f"{db}: no such file (expected a Molt data dir)")
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    models = conn.execute(
        "SELECT model, count(*) FROM search_lines WHERE embedding IS NOT NULL GROUP BY model ORDER BY 2 DESC"
    ).fetchall()
    if not models:
        sys.exit(f"{db}: search_lines has no embeddings")
    model = model or models[0][0]
    rows = conn.execute(
        "SELECT embedding FROM search_lines WHERE model = ? AND embedding IS NOT NULL ORDER BY id", (model,)
    ).fetchall()
    total = len(rows)
    if distinct:  # one row per distinct vector, the first by id
        seen: set[bytes] = set()
        rows = [r for r in rows if not (r[0] in seen or seen.add(r[0]))]
    conn.close()
    lengths = {len(r[0]) for r in rows}
    if len(lengths) != 1 or next(iter(lengths)) % 4:
        sys.exit(f"{db}: embeddings of {model!r} have mixed or odd byte lengths {sorted(lengths)[:5]}")
    dim = next(iter(lengths)) // 4
    # Molt's codec: little-endian f32, 4 bytes a value, no header.
    allv = np.frombuffer(b"".join(r[0] for r in rows), dtype="<f4").reshape(-1, dim).astype(np.float32)
    rng = np.random.default_rng(seed)
    held = np.zeros(len(allv), dtype=bool)
    held[rng.choice(len(allv), size=min(q, len(allv) // 10), replace=False)] = True
    note = (
        f"{data}/molt.db, model {model!r} ({len(allv)} {'distinct vectors of ' if distinct else ''}{total} "
        f"passages × {dim}; other models: "
        f"{[m for m, _ in models[1:]]}); queries: {held.sum()} passages held out at random (seed {seed}), "
        f"not inserted — passage embeddings, not `query:` ones"
    )
    return allv[~held], allv[held], note


# ---------------------------------------------------------------- exact answer


def exact_topk(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Ids (row numbers) and float64 cosines of the exact top k, best first, ties by id."""
    q64 = queries.astype(np.float64)
    scores = np.empty((len(queries), len(vectors)), dtype=np.float64)
    for start in range(0, len(vectors), 20_000):
        scores[:, start : start + 20_000] = q64 @ vectors[start : start + 20_000].astype(np.float64).T
    ids = np.empty((len(queries), k), dtype=np.int64)
    top = np.empty((len(queries), k), dtype=np.float64)
    for i, row in enumerate(scores):
        part = np.argpartition(-row, k - 1)[:k] if k < len(row) else np.arange(len(row))
        order = np.lexsort((part, -row[part]))
        ids[i] = part[order]
        top[i] = row[ids[i]]
    return ids, top


def recall(found: np.ndarray, truth_ids: np.ndarray, truth_scores: np.ndarray,
           vectors: np.ndarray, queries: np.ndarray) -> tuple[float, float, float]:
    """(recall@k by id, recall@k counting ties, k-th cosine shortfall), means
    over the queries: the share of the true top-k ids found; the share of
    found ids whose exact cosine is at least the true k-th one (− 1e-6), which
    does not penalise a different choice among equal cosines (duplicate
    passages in a real corpus); and the true k-th cosine minus the k-th
    returned one."""
    k = truth_ids.shape[1]
    by_id, by_score, shortfall = 0.0, 0.0, 0.0
    for i in range(len(truth_ids)):
        got = found[i][found[i] >= 0]
        by_id += len(set(got.tolist()) & set(truth_ids[i].tolist())) / k
        cos = vectors[got].astype(np.float64) @ queries[i].astype(np.float64) if len(got) else np.zeros(0)
        by_score += min(k, int((cos >= truth_scores[i, -1] - 1e-6).sum())) / k
        # How far below the true k-th cosine the k-th returned one is (a miss
        # in a plateau of near-equal cosines costs little; 1.0 when short).
        kth = np.sort(cos)[::-1][k - 1] if len(cos) >= k else -1.0
        shortfall += max(0.0, truth_scores[i, -1] - kth)  # (f64 rounding can make it −1e-9)
    n = len(truth_ids)
    return by_id / n, by_score / n, shortfall / n


# ---------------------------------------------------------------- Molt


def molt_binary(args: argparse.Namespace) -> Path:
    if args.molt_bin:
        return Path(args.molt_bin)
    cmd = ["cargo", "build", "--release", "-q", "-p", "molt-vector", "--example", "file_bench"]
    print("building:", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, cwd=ROOT, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "release" / "examples" / "file_bench"


def run_molt(binary: Path, tmp: Path, dim: int, ks: list[int], warmup: int, nq: int) -> dict:
    ids_dir = tmp / "molt-ids"
    cmd = [
        str(binary), "--vectors-file", str(tmp / "vectors.f32"), "--queries-file", str(tmp / "queries.f32"),
        "--dim", str(dim), "--k", ",".join(map(str, ks)), "--warmup", str(warmup),
        "--ids-out", str(ids_dir), "--json",
    ]
    started = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    report["process_s"] = time.perf_counter() - started
    report["command"] = " ".join(cmd)
    for at in report["at"]:
        k = at["k"]
        at["molt_ids"] = np.fromfile(ids_dir / f"molt_k{k}.i64", dtype="<i8").reshape(nq, k)
        at["exact_ids"] = np.fromfile(ids_dir / f"exact_k{k}.i64", dtype="<i8").reshape(nq, k)
    return report


# ---------------------------------------------------------------- ChromaDB


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_chroma(tmp: Path, dim: int, ks: list[int], warmup: int, ef_search: int | None) -> dict:
    import chromadb
    from chromadb.config import Settings

    vectors = np.fromfile(tmp / "vectors.f32", dtype="<f4").reshape(-1, dim)
    queries = np.fromfile(tmp / "queries.f32", dtype="<f4").reshape(-1, dim)
    client = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False, allow_reset=True))
    hnsw: dict = {"space": "cosine"}
    if ef_search:
        hnsw["ef_search"] = ef_search
    rss_before = rss_mib()
    collection = client.create_collection("molt-bench", configuration={"hnsw": hnsw}, embedding_function=None)
    batch = client.get_max_batch_size()
    ids = [str(i) for i in range(len(vectors))]
    started = time.perf_counter()
    for start in range(0, len(vectors), batch):
        collection.add(ids=ids[start : start + batch], embeddings=vectors[start : start + batch])
    count = collection.count()
    insert_s = time.perf_counter() - started
    assert count == len(vectors), (count, len(vectors))
    result = {
        "engine": "ChromaDB EphemeralClient, HNSW (hnswlib), space cosine",
        "version": chromadb.__version__,
        "configuration": collection.configuration_json.get("hnsw"),
        "max_batch_size": batch,
        "insert_s": insert_s,
        "rss_growth_mib": rss_mib() - rss_before,
        "at": [],
    }
    for k in ks:
        def query(q: np.ndarray) -> list[str]:
            return collection.query(query_embeddings=q[None, :], n_results=k, include=["distances"])["ids"][0]

        for q in queries[:warmup]:
            query(q)
        latencies, found = [], np.full((len(queries), k), -1, dtype=np.int64)
        for i, q in enumerate(queries):
            t0 = time.perf_counter_ns()
            got = query(q)
            latencies.append(time.perf_counter_ns() - t0)
            found[i, : len(got)] = [int(x) for x in got]
        lat = np.sort(np.array(latencies)) / 1e6
        result["at"].append({
            "k": k,
            "p50_ms": float(nearest_rank(lat, 0.50)),
            "p99_ms": float(nearest_rank(lat, 0.99)),
            "mean_ms": float(lat.mean()),
            "ids": found,
        })
    client.delete_collection("molt-bench")
    return result


def nearest_rank(sorted_values: np.ndarray, p: float) -> float:
    # The same rule as the Rust side (support::percentile).
    return sorted_values[int(round((len(sorted_values) - 1) * p))]


# ---------------------------------------------------------------- report


def versions(molt_bin: Path) -> dict:
    def cmd(*c: str) -> str:
        try:
            return subprocess.run(c, cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown"

    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "rustc": cmd("rustc", "-V"),
        "molt_git": cmd("git", "rev-parse", "--short", "HEAD"),
        "molt_bin": str(molt_bin),
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", type=Path, help="a Molt data dir (reads DIR/molt.db, table search_lines)")
    src.add_argument("--synthetic", type=int, metavar="N", help="N embedding-like 384-d unit vectors")
    src.add_argument("--self-check", action="store_true",
                     help="10,000 synthetic vectors, 50 queries, k=10; fails unless both recalls are ≥ 0.9")
    p.add_argument("--model", help="with --data: the search_lines.model to load (default: the commonest)")
    p.add_argument("--distinct", action="store_true",
                   help="with --data: keep one row per distinct vector (a corpus that repeats passages "
                        "has exact duplicates, which make recall by id meaningless)")
    p.add_argument("--queries", type=Path, metavar="FILE", help="query vectors, raw little-endian f32, rows of dim")
    p.add_argument("--num-queries", type=int, default=200)
    p.add_argument("--k", default="10,200", help="comma-separated k values (default 10,200)")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured queries before each timed pass")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--chroma-ef-search", type=int, help="Chroma's hnsw ef_search (default: Chroma's own)")
    p.add_argument("--molt-bin", help="a built file_bench example (default: cargo build --release here)")
    p.add_argument("--pin-cpu", type=int, metavar="N", help="run everything on CPU N only")
    p.add_argument("--keep", type=Path, metavar="DIR", help="write the vector files here and keep them")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--json-out", type=Path, metavar="FILE", help="also write the JSON object to FILE")
    args = p.parse_args(argv)

    if args.self_check:
        # 10,000, not fewer: on 2,000 embedding-like vectors the true top 10 of
        # a query is mostly a plateau of near-equal cosines (≈ 7 vectors a
        # topic), and Molt's BinaryIndex ×20 finds only 0.83–0.85 of those ids
        # (its 10th cosine 0.0016 below the true 10th); see bench/README.md.
        args.synthetic, args.num_queries, args.k = 10_000, 50, "10"
    ks = [int(k) for k in args.k.split(",")]
    if args.pin_cpu is not None:
        os.sched_setaffinity(0, {args.pin_cpu})  # inherited by the Molt subprocess

    t0 = time.perf_counter()
    if args.synthetic:
        vectors, queries, source = synthetic(args.synthetic, args.num_queries, args.seed)
    else:
        vectors, queries, source = from_data_dir(args.data, args.model, args.num_queries, args.seed, args.distinct)
    if args.queries:
        queries = np.fromfile(args.queries, dtype="<f4").reshape(-1, vectors.shape[1])
        source += f"; queries replaced by {args.queries} ({len(queries)} rows)"
    dim = vectors.shape[1]
    norms = np.linalg.norm(vectors, axis=1)
    if np.abs(norms - 1).max() > 1e-3:
        print(f"warning: vectors are not unit length (norms {norms.min():.3f}–{norms.max():.3f}); "
              "Molt scores by dot product, Chroma by cosine", file=sys.stderr)
    ks = [k for k in ks if k <= len(vectors)]
    prepare_s = time.perf_counter() - t0

    tmp = args.keep or Path(tempfile.mkdtemp(prefix="molt-chroma-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        vectors.astype("<f4").tofile(tmp / "vectors.f32")
        queries.astype("<f4").tofile(tmp / "queries.f32")
        # Both engines get these bytes; the exact answer is computed from them too.
        vectors = np.fromfile(tmp / "vectors.f32", dtype="<f4").reshape(-1, dim)
        queries = np.fromfile(tmp / "queries.f32", dtype="<f4").reshape(-1, dim)
        truth = {k: exact_topk(vectors, queries, k) for k in ks}

        binary = molt_binary(args)
        molt = run_molt(binary, tmp, dim, ks, args.warmup, len(queries))
        chroma = run_chroma(tmp, dim, ks, args.warmup, args.chroma_ef_search)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    rows = []
    for m, c in zip(molt["at"], chroma["at"]):
        k = m["k"]
        tid, tsc = truth[k]
        m_rec, m_tie, m_short = recall(m["molt_ids"], tid, tsc, vectors, queries)
        f_rec, f_tie, _ = recall(m["exact_ids"], tid, tsc, vectors, queries)
        c_rec, c_tie, c_short = recall(c["ids"], tid, tsc, vectors, queries)
        rows.append({
            "k": k,
            "molt": {"p50_ms": m["p50_ms"], "p99_ms": m["p99_ms"], "mean_ms": m["mean_ms"],
                     "recall": m_rec, "recall_ties": m_tie, "kth_shortfall": m_short,
                     "recall_vs_flatindex": m["recall"]},
            "molt_flatindex_exact": {"p50_ms": m["exact_p50_ms"], "p99_ms": m["exact_p99_ms"], "recall": f_rec,
                                     "recall_ties": f_tie},
            "chroma": {"p50_ms": c["p50_ms"], "p99_ms": c["p99_ms"], "mean_ms": c["mean_ms"],
                       "recall": c_rec, "recall_ties": c_tie, "kth_shortfall": c_short},
            "ratio_p50": c["p50_ms"] / m["p50_ms"],
            "ratio_p99": c["p99_ms"] / m["p99_ms"],
        })
    for at in molt["at"]:
        del at["molt_ids"], at["exact_ids"]
    for at in chroma["at"]:
        del at["ids"]
    report = {
        "source": source,
        "n": int(len(vectors)),
        "dim": int(dim),
        "queries": int(len(queries)),
        "warmup": args.warmup,
        "prepare_s": prepare_s,
        "versions": versions(binary),
        "molt": {k: v for k, v in molt.items() if k != "at"},
        "chroma": {k: v for k, v in chroma.items() if k != "at"},
        "results": rows,
    }

    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)

    if args.self_check:
        bad = [(r["k"], name, r[name]["recall"]) for r in rows for name in ("molt", "chroma")
               if r[name]["recall"] < 0.9]
        if bad:
            print(f"self-check FAILED: recall below 0.9: {bad}", file=sys.stderr)
            return 1
        print("self-check passed: recall ≥ 0.9 for both engines", file=sys.stderr)
    return 0


def print_table(r: dict) -> None:
    v, m, c = r["versions"], r["molt"], r["chroma"]
    print(f"data: {r['source']}")
    print(f"{r['n']} vectors × {r['dim']}, {r['queries']} queries, warm-up {r['warmup']}; "
          f"CPU {v['cpu']} (nproc {v['nproc']}, affinity {v['affinity']})")
    print(f"Molt   {v['molt_git']}, {v['rustc']}: {m['engine']}")
    print(f"Chroma {c['version']}: {c['engine']}, {c['configuration']}")
    print(f"build: Molt default_index {m['build_s']:.3f} s ({m['bytes_per_vector']:.0f} B/vector heap), "
          f"FlatIndex {m['exact_build_s']:.3f} s; Chroma add() {c['insert_s']:.3f} s "
          f"(batches of {c['max_batch_size']}, RSS +{c['rss_growth_mib']:.0f} MiB); "
          f"ratio {c['insert_s'] / m['build_s']:.1f}×")
    print()
    print("| k | engine | p50 ms | p99 ms | recall@k | recall@k, ties counted |")
    print("|---:|---|---:|---:|---:|---:|")
    for row in r["results"]:
        for key, name in (("molt", "Molt default_index (BinaryIndex ×20)"),
                          ("molt_flatindex_exact", "Molt FlatIndex (exact)"), ("chroma", "ChromaDB HNSW")):
            e = row[key]
            print(f"| {row['k']} | {name} | {e['p50_ms']:.3f} | {e['p99_ms']:.3f} | {e['recall']:.4f} | "
                  f"{e['recall_ties']:.4f} |")
    print()
    for row in r["results"]:
        print(f"k={row['k']}: Chroma / Molt p50 {row['ratio_p50']:.1f}×, p99 {row['ratio_p99']:.1f}×; "
              f"recall@k Molt {row['molt']['recall']:.4f} (ties counted: {row['molt']['recall_ties']:.4f}), "
              f"Chroma {row['chroma']['recall']:.4f} (ties counted: {row['chroma']['recall_ties']:.4f}); "
              f"k-th cosine below the true k-th by Molt {row['molt']['kth_shortfall']:.4f}, "
              f"Chroma {row['chroma']['kth_shortfall']:.4f}")


if __name__ == "__main__":
    sys.exit(main())
