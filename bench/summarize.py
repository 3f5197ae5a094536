"""Medians per configuration of bench/cpu-runs.sh output: python3 bench/summarize.py FILE.jsonl [MAX_LOAD]
MAX_LOAD keeps only rounds whose 'after' run began under that 1-minute load average (the 'before'
runs have no load field: the old bench did not record it; they take their round's)."""
import json, statistics as st, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
max_load = float(sys.argv[2]) if len(sys.argv) > 2 else None
rounds, cur = [], []
for r in rows:
    if r["tag"] in ("before",) or (r["tag"] == "after" and cur and cur[-1]["tag"] != "before"):
        if cur:
            rounds.append(cur)
        cur = []
    cur.append(r)
if cur:
    rounds.append(cur)
keep = []
for rd in rounds:
    loads = [x["load_1m"][0] for x in rd if "load_1m" in x]
    if max_load is None or (loads and max(loads[:2]) <= max_load):
        keep += rd
med = lambda xs: round(st.median(xs), 2) if xs else None
tags = []
for r in keep:
    if r["tag"] not in tags and not r.get("error"):
        tags.append(r["tag"])
keys = [("runs", None), ("raw_infer_ms_p50", "raw_infer_ms_p50"), ("raw_fps", "raw_fps"), ("pipeline_fps", "pipeline_fps"), ("pipeline_vs_raw", "pipeline_vs_raw")]
stages = ["capture", "preprocess", "inference", "postprocess", "encode", "send", "queue"]
print("| metric | " + " | ".join(tags) + " |")
print("|---" * (len(tags) + 1) + "|")
def line(name, f):
    def val(r):  # a field an older build (or the memory-fed runs) does not report: left out
        try:
            return f(r)
        except (KeyError, TypeError):
            return None
    vals = []
    for t in tags:
        xs = [val(r) for r in keep if r["tag"] == t and not r.get("error")]
        xs = [x for x in xs if x is not None]
        vals.append(str(med(xs)) if xs else "–")
    print(f"| {name} | " + " | ".join(vals) + " |")
print("| runs | " + " | ".join(str(sum(1 for r in keep if r['tag'] == t and not r.get('error'))) for t in tags) + " |")
line("1-min load at start", lambda r: r.get("load_1m", [None])[0])
for k in ["raw_infer_ms_p50", "raw_fps", "pipeline_fps", "pipeline_vs_raw"]:
    line(k, lambda r, k=k: r[k])
for s in stages:
    line(f"stage {s} p50 ms", lambda r, s=s: r["stage_ms"][s]["p50"])
line("inference p95 ms", lambda r: r["stage_ms"]["inference"]["p95"])
line("all but inference, p50 sum ms", lambda r: r["non_inference_ms_p50"])
line("e2e p50 ms", lambda r: r["e2e_latency_ms_p50"])
line("e2e p95 ms", lambda r: r["e2e_latency_ms_p95"])
line("e2e p50 − raw p50 ms", lambda r: r["e2e_latency_ms_p50"] - r["raw_infer_ms_p50"])
# load-robust: both halves of each ratio come from the same run (the frames' own headers)
line("model kept busy: inference p50 × pipeline fps", lambda r: round(r["stage_ms"]["inference"]["p50"] * r["pipeline_fps"] / 1000, 3))
line("per frame: e2e − its own inference, p50 ms", lambda r: r["e2e_minus_inference_ms_p50"])
line("per frame: e2e − its own inference, p95 ms", lambda r: r["e2e_minus_inference_ms_p95"])
line("non-model ceiling fps (pass-through)", lambda r: r["pipeline_fps"] if r["model"].startswith("passthrough") else None)
line("mask bytes/frame", lambda r: r["mask_bytes_mean"])
line("daemon RSS MB", lambda r: r["rss_mb"])
line("daemon CPU ms/frame", lambda r: r.get("daemon_cpu_ms_per_frame"))
line("capture process CPU ms/frame", lambda r: r.get("capture_cpu_ms_per_frame"))
line("clients", lambda r: r["clients"])
