#!/usr/bin/env python3
"""Recompute `npm run evaluate`'s metrics from its --dump-recos CSV with rectools itself.

    python evaluation/check_recos.py --run run.json --recos recos.csv [--dataset ratings.csv]

An implementation independent of the TypeScript one: the temporal split is redone in pandas
from the dataset CSV and the run record's split settings, the metrics come from
rectools.metrics.calc_metrics with default parameters. Prints both values per model and
metric and exits 1 when any differs by more than 1e-9 (coverage: exactly), or when the
dump's users differ from the warm test users. Needs `pip install rectools` (see
evaluation/README.md); MovieLens (userId,movieId,rating,timestamp) and Kion
(user_id,item_id,last_watch_dt,...) CSVs.
"""
import argparse
import json
import sys

import numpy as np
import pandas as pd
from rectools import Columns
from rectools.metrics import MAP, MRR, NDCG, CatalogCoverage, HitRate, MeanInvUserFreq, Precision, Recall, calc_metrics

TOLERANCE = 1e-9


def load_interactions(path: str) -> pd.DataFrame:
    head = pd.read_csv(path, nrows=0).columns
    if "movieId" in head:
        df = pd.read_csv(path, usecols=["userId", "movieId", "timestamp"])
        df = df.rename(columns={"userId": Columns.User, "movieId": Columns.Item, "timestamp": "ts"})
    elif "last_watch_dt" in head:
        df = pd.read_csv(path, usecols=["user_id", "item_id", "last_watch_dt"])
        ts = pd.to_datetime(df["last_watch_dt"], format="%Y-%m-%d", utc=True)
        df = pd.DataFrame({Columns.User: df["user_id"], Columns.Item: df["item_id"], "ts": ts.astype("int64") // 10**9})
    else:
        raise SystemExit(f"{path}: neither a MovieLens nor a Kion CSV")
    # One row per (user, item) with its latest time, as recoscope's loader merges duplicates.
    return df.groupby([Columns.User, Columns.Item], as_index=False)["ts"].max()


def split(df: pd.DataFrame, spec: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    if spec["kind"] == "days":
        is_test = df["ts"] > df["ts"].max() - spec["days"] * 86400
    else:
        n_test = int(np.floor(spec["fraction"] * len(df) + 0.5))
        order = df.sort_values(["ts", Columns.User, Columns.Item], kind="stable").index
        is_test = pd.Series(False, index=df.index)
        is_test.loc[order[len(df) - n_test:]] = True
    return df[~is_test], df[is_test]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run record JSON (npm run evaluate -- --out)")
    parser.add_argument("--recos", required=True, help="--dump-recos CSV")
    parser.add_argument("--dataset", help="dataset CSV (default: the run's dataset source)")
    args = parser.parse_args()

    record = json.load(open(args.run))
    result = record["result"]
    k = result["k"]
    train, test = split(load_interactions(args.dataset or result["dataset"]["source"]), result["split"]["spec"])
    warm_test = test[test[Columns.User].isin(train[Columns.User].unique())]
    recos = pd.read_csv(args.recos)
    recos = recos.rename(columns={"user_id": Columns.User, "item_id": Columns.Item, "rank": Columns.Rank})

    metrics = {
        "map": MAP(k=k),
        "ndcg": NDCG(k=k),
        "precision": Precision(k=k),
        "recall": Recall(k=k),
        "hitRate": HitRate(k=k),
        "mrr": MRR(k=k),
        "coverage": CatalogCoverage(k=k),
        "novelty": MeanInvUserFreq(k=k),
    }
    failures = 0
    print(f"rectools recomputation, k={k}: {len(train)} train / {len(test)} test interactions, {warm_test[Columns.User].nunique()} warm test users")
    for model in result["models"]:
        name = model["model"]
        reco = recos[recos["model"] == name][[Columns.User, Columns.Item, Columns.Rank]]
        if set(reco[Columns.User].unique()) != set(warm_test[Columns.User].unique()):
            print(f"{name}: the dump's users are not the warm test users")
            failures += 1
        seen = reco.merge(train[[Columns.User, Columns.Item]], on=[Columns.User, Columns.Item])
        if len(seen) > 0:
            print(f"{name}: {len(seen)} recommendations of train-seen items")
            failures += 1
        values = calc_metrics(metrics, reco=reco, interactions=warm_test, prev_interactions=train, catalog=train[Columns.Item].unique())
        for key, metric in metrics.items():
            ours = model["metrics"][key]
            theirs = float(values[key])
            ok = ours == theirs if key == "coverage" else abs(ours - theirs) <= TOLERANCE
            failures += 0 if ok else 1
            print(f"  {name:<11} {key:<10} recoscope {ours:.12f}  rectools {theirs:.12f}  {'ok' if ok else 'DIFFERENT'}")
    print("all metrics agree" if failures == 0 else f"{failures} disagreements")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
