"""``arvc create-index <model>``: build the FAISS retrieval index of an extracted experiment."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_name", help="experiment name (folder under the logs dir)")
    parser.add_argument("--version", choices=("v1", "v2"), default="v2", help="model version: v1 = 256-dim, v2 = 768-dim features")
    parser.add_argument(
        "--algorithm", choices=("Auto", "Faiss", "KMeans"), default="Auto",
        help="Faiss: IVF over all frames; KMeans: first reduce to 10,000 centroids; Auto: KMeans above 200,000 frames",
    )
    parser.add_argument("--nprobe", type=int, default=9, help="IVF lists visited per search, stored in the index (default 9)")
    parser.add_argument("--seed", type=int, default=20240, help="seed of the shuffle and the clustering")
    parser.add_argument("--logs_dir", default=None, help="root of experiment folders (default $ARVC_LOGS_DIR or ./logs)")
    parser.add_argument("-o", "--output", default=None, help="index path (default logs/<model>/<model>.index)")


def run(args: argparse.Namespace) -> int:
    from arvc.stages.create_index import CreateIndexConfig, create_index

    out = create_index(
        CreateIndexConfig(
            model_name=args.model_name, version=args.version, algorithm=args.algorithm, nprobe=args.nprobe,
            seed=args.seed, logs_dir=args.logs_dir, output=args.output,
        )
    )
    print(out)
    return 0
