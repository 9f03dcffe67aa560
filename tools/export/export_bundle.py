#!/usr/bin/env python3
"""Export a vsrqa bundle (docs/bundle.md) from the reference architectures: one command, one bundle.

    venv/bin/python tools/export/export_bundle.py --out bundles/rq --branches spatial,slowfast \\
        [--spatial-checkpoint RQ-VQA.pth] [--slowfast-checkpoint SLOWFAST_8x8_R50.pyth] [--liqe-checkpoint LIQE.pt] \\
        [--fastvqa-checkpoint FAST_VQA_B_1_4.pth --fastvqa-src FAST-VQA-checkout] \\
        [--qalign-checkpoint one-align/ --qalign-src Q-Align-checkout] \\
        [--size full|tiny] [--batch dynamic|N] [--sigmoid after_pooling]

Writes <out>/vsrqa.json, one ONNX per branch (input "input" [N, 3, H, W] or [N, 3, T, H, W], output
"output" [N, D]) and
<out>/head.safetensors, and checks every ONNX against PyTorch with ONNX Runtime before writing the
manifest. Without a checkpoint the weights are random (fixed seed): such a bundle scores nothing
meaningful; it is for tests, benchmarks and engine builds. The manifest's "provenance" records per
network the checkpoint's file name and SHA-256, or "random", and vsrqa warns about random parts on
every run.

Branches: spatial (RQ-VQA Swin-B 384 + BoTStack), slowfast (the fast pathway of pytorchvideo's
SlowFast R50), qalign (One-Align / mPLUG-Owl2 prefill on the two halves of a key frame; RQ-VQA's copy
of Q-Align's code, feature_extraction/Q-Align, from a checkout, --qalign-src or $QALIGN_SRC, with
transformers 4.36.1), liqe (LIQE's fine-tuned CLIP
ViT-B/32 with its 495 prompts) and fastvqa (FAST-VQA-B's Swin3D on fragments; FAST-VQA's code from a
checkout, --fastvqa-src or $FASTVQA_SRC). `--profile full` has all five, `--profile lite` all but
Q-Align. A full-size Q-Align needs the One-Align folder (--qalign-checkpoint: weights and tokenizer);
its fp32 ONNX is about 32 GB, an export this tool has not been run on here (export it with 8-bit
weights, below). `--qalign-layers N`
exports a random One-Align at full width with N of its 32 LLaMA layers (precision and memory
measurements). A network over 2 GB keeps its weights in one file beside it, `<network>.data`.

The head: a checkpoint's `quality.0/1` layers are RQ-VQA's head over all five branches (6639 inputs);
a bundle with fewer branches gets a fresh random head of the right width (train it with `vsrqa train`).

Ensembles: `--member NAME=CHECKPOINT`, once per member in order, exports an ensemble bundle
(docs/bundle.md, "Ensembles"), as RQ-VQA's test.py averages its ten models. The first member's
checkpoint gives the bundle's spatial network and head (so `--spatial-checkpoint` is not given);
each further member gets its own spatial network, `spatial_<NAME>.onnx`, checked against PyTorch
like the others, and its head, `head_<NAME>.safetensors`, both from its checkpoint, which must
carry a head of the bundle's width. The frozen branches are exported once. `provenance.members`
records each further member's checkpoint.

Precision: the ONNX is float32. `--precision` converts the networks after the export with
tools/export/precision.py's rules (fp16, bf16, int8_weights, int8_dynamic; per branch, e.g.
`spatial=fp16,qalign=int8_weights`); precision.py also converts an existing bundle
(docs/precision.md). Every backend takes the precision from the graph itself.
`qalign=int8_weights` is not a conversion after the export: One-Align is built with 8-bit linear
weights from the start, one LLaMA layer at a time from the checkpoint (vsrqa_ref/int8_linear.py),
and exported so, which needs about a quarter of the memory of an fp32 export. The result is the
network precision.py would make from the fp32 export; its error against the checkpoint's own
weights is measured and bounded the same way.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vsrqa_ref.botstack import randomize_batchnorm  # noqa: E402
from vsrqa_ref.hashing import sha256_file, sha256_path  # noqa: E402
from vsrqa_ref.head import Head  # noqa: E402
from vsrqa_ref.onnx_files import move_model  # noqa: E402
from vsrqa_ref.onnx_io import describe_onnx, export_onnx, fold_constant_subgraphs, ort_session  # noqa: E402
from vsrqa_ref import int8_linear  # noqa: E402
from vsrqa_ref import spatial as spatial_ref  # noqa: E402
from vsrqa_ref import slowfast as slowfast_ref  # noqa: E402
from vsrqa_ref import liqe as liqe_ref  # noqa: E402
from vsrqa_ref import fastvqa as fastvqa_ref  # noqa: E402
from vsrqa_ref import qalign as qalign_ref  # noqa: E402

ALL_BRANCHES = ["spatial", "slowfast", "qalign", "liqe", "fastvqa"]  # RQ-VQA's concatenation order
PROFILES = {"full": ALL_BRANCHES, "lite": ["spatial", "slowfast", "liqe", "fastvqa"]}
IMPLEMENTED = {"spatial", "slowfast", "qalign", "liqe", "fastvqa"}
FIXED_BATCH = {"qalign"}  # its prompt splicing is a Python loop over the batch: exported for batch 1
# Constant subgraphs folded after the export: Q-Align's prompt gives a NonZero TensorRT-RTX lacks.
FOLD_CONSTANTS = {"qalign"}
ONNX_TOLERANCE = 1e-4  # relative to the largest output magnitude
IMAGENET = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])


def spatial_branch(size: str, checkpoint: Path | None):
    """(module, manifest entry, sample shape, head weights from the checkpoint or None)."""
    if size == "full":
        net, side = spatial_ref.full_spatial_net(), 384
    else:
        net, side = spatial_ref.tiny_spatial_net(), spatial_ref.TINY_CONFIG["img_size"]
    head_state = None
    if checkpoint is not None:
        state = torch.load(str(checkpoint), map_location="cpu", weights_only=True)
        state = state.get("state_dict", state)
        spatial_state, head_state = spatial_ref.split_checkpoint(state)
        net.load_state_dict(spatial_state, strict=True)
    else:
        randomize_batchnorm(net, torch.Generator().manual_seed(10))
    entry = {
        "name": "spatial",
        "kind": "spatial",
        "scope": "key_frame",
        "network": "spatial.onnx",
        "input": {"height": side, "width": side},
        # RQ-VQA: cv2.resize to short side 384 at frame extraction, then Resize(384) (an identity on
        # that image) + CenterCrop(384) + ToTensor + Normalize in test.py.
        "preprocess": [
            {"op": "resize_short_side", "size": side, "interpolation": "opencv_linear"},
            {"op": "center_crop", "height": side, "width": side},
            {"op": "normalize", **IMAGENET},
        ],
        "output_dim": net.out_dim,
    }
    return net.eval(), entry, (3, side, side), head_state


def slowfast_branch(size: str, checkpoint: Path | None):
    """The fast pathway of SlowFast R50 (Kinetics-400 8x8 weights from pytorchvideo's model zoo)."""
    two_pathways = slowfast_ref.build_slowfast(slowfast_ref.FULL if size == "full" else slowfast_ref.TINY)
    if checkpoint is not None:
        slowfast_ref.load_slowfast_checkpoint(two_pathways, str(checkpoint))
    else:
        randomize_batchnorm(two_pathways, torch.Generator().manual_seed(11))
    net = slowfast_ref.FastPathway(two_pathways.eval()).eval()
    shape = slowfast_ref.FULL_INPUT if size == "full" else slowfast_ref.TINY_INPUT
    _, frames, side, _ = shape
    entry = {
        "name": "slowfast",
        "kind": "slowfast",
        "scope": "window",
        # data_loader.py BVQA_VideoDataset_SlowFast: 32-frame chunks at whole seconds only.
        "window": {"frames": frames, "partial_interval": "reuse_previous"},
        "network": "slowfast.onnx",
        "input": {"height": side, "width": side},
        # extract_SlowFast_feature_VQA.py: PIL frame -> Resize([224, 224]) -> ToTensor -> Normalize.
        "preprocess": [
            {"op": "resize", "height": side, "width": side, "interpolation": "pil_bilinear"},
            {"op": "normalize", "mean": [0.45, 0.45, 0.45], "std": [0.225, 0.225, 0.225]},
        ],
        "output_dim": net.out_dim,
    }
    return net, entry, shape, None


def liqe_branch(size: str, checkpoint: Path | None):
    """LIQE: the fine-tuned CLIP ViT-B/32's vision tower, its 495 prompt features as a constant."""
    clip_model = liqe_ref.build_clip(liqe_ref.FULL_CLIP if size == "full" else liqe_ref.TINY_CLIP,
                                     str(checkpoint) if checkpoint is not None else None)
    net = liqe_ref.LiqeNet(clip_model).eval()
    patches = liqe_ref.FULL_PATCHES if size == "full" else liqe_ref.TINY_PATCHES
    side = patches["size"]
    entry = {
        "name": "liqe",
        "kind": "liqe",
        "scope": "key_frame",
        "network": "liqe.onnx",
        "input": {"height": side, "width": side},
        # extract_LIQE_feature_KVQ.py + LIQE.py: the original-resolution key frame, ToTensor, CLIP's
        # Normalize, 15 of the 224 windows at stride 32.
        "preprocess": [
            {"op": "patch_grid", **patches},
            {"op": "normalize", "mean": liqe_ref.CLIP_MEAN, "std": liqe_ref.CLIP_STD},
        ],
        "output_dim": net.out_dim,
    }
    return net, entry, (patches["count"], 3, side, side), None


def fastvqa_branch(size: str, checkpoint: Path | None):
    """FAST-VQA-B (`swin_tiny_grpb`) on 7x7 fragments of 32x32; 4 segments of 32 frames per clip."""
    root = fastvqa_ref.source_dir()
    backbone = fastvqa_ref.build_backbone(root, fastvqa_ref.FULL if size == "full" else fastvqa_ref.TINY,
                                          str(checkpoint) if checkpoint is not None else None)
    if checkpoint is None:
        fastvqa_ref.randomize_position_biases(backbone, torch.Generator().manual_seed(14))
    net = fastvqa_ref.FastVqaNet(backbone).eval()
    sampling = fastvqa_ref.FULL_SAMPLING if size == "full" else fastvqa_ref.TINY_SAMPLING
    frag = fastvqa_ref.FULL_FRAGMENTS if size == "full" else fastvqa_ref.TINY_FRAGMENTS
    side = frag["grid"] * frag["size"]
    entry = {
        "name": "fastvqa",
        "kind": "fastvqa",
        "scope": "clip",
        # fast-b_NTIRE_UGC.yml + fusion_datasets.py: FragmentSampleFrames(32, 4, 2), fragments 7x7x32,
        # (v - mean) / std on 0..255 values.
        "clip": sampling,
        "network": "fastvqa.onnx",
        "input": {"height": side, "width": side},
        "preprocess": [
            {"op": "fragments", **frag},
            {"op": "normalize", "mean": fastvqa_ref.MEAN, "std": fastvqa_ref.STD, "range": 255},
        ],
        "output_dim": net.out_dim,
    }
    return net, entry, (3, sampling["frames"], side, side), None


def qalign_branch(size: str, checkpoint: Path | None, llama_layers: int | None = None, int8_weights: bool = False):
    """One-Align: vision encoder + visual abstractor + LLaMA-2 prefill, mean of the last hidden states.
    `llama_layers` (random weights at full size only): full width, that many of LLaMA's 32 layers.
    `int8_weights`: the linear layers quantized while the model is built (vsrqa_ref/int8_linear.py),
    so that One-Align is never held in fp32 (33 GB)."""
    root = qalign_ref.source_dir()
    if llama_layers is not None and (size != "full" or checkpoint is not None):
        raise SystemExit("--qalign-layers is for random weights at full size (no --qalign-checkpoint)")
    if size == "full" and checkpoint is None and llama_layers is None:
        raise SystemExit("qalign at full size needs --qalign-checkpoint (the One-Align folder: a random 7B "
                         "model would need about 30 GB and no tokenizer is available without it), or "
                         "--qalign-layers N for full width at reduced depth")
    if int8_weights and checkpoint is not None:
        model, tokenizer = qalign_ref.build_int8_model(root, str(checkpoint))
    else:
        model, tokenizer = qalign_ref.build_model(root, str(checkpoint) if checkpoint is not None else None,
                                                  llama_layers=llama_layers)
        if checkpoint is None:
            qalign_ref.randomize_norms(model, torch.Generator().manual_seed(15))
        if int8_weights:
            int8_linear.quantize_linears(model, int8_linear.kept_in_memory)
    net = qalign_ref.QAlignNet(model, qalign_ref.prompt_ids(root, tokenizer)).eval()
    side = qalign_ref.FULL_SIDE if size == "full" else qalign_ref.TINY_SIDE
    entry = {
        "name": "qalign",
        "kind": "qalign",
        "scope": "key_frame",
        "network": "qalign.onnx",
        "input": {"height": side, "width": side},
        # q_align_feature_extract.py: halves, expand2square, CLIPImageProcessor (448, bicubic, CLIP).
        "preprocess": [
            {"op": "split_halves"},
            {"op": "expand_to_square", "fill": qalign_ref.BACKGROUND},
            {"op": "resize", "height": side, "width": side, "interpolation": "pil_bicubic"},
            {"op": "normalize", "mean": qalign_ref.CLIP_MEAN, "std": qalign_ref.CLIP_STD},
        ],
        "output_dim": net.out_dim,
    }
    return net, entry, (2, 3, side, side), None


BUILDERS = {"spatial": spatial_branch, "slowfast": slowfast_branch, "qalign": qalign_branch, "liqe": liqe_branch,
            "fastvqa": fastvqa_branch}


def origin(checkpoint: Path | None) -> dict:
    """The manifest's provenance entry for weights from `checkpoint`, or random ones."""
    if checkpoint is None:
        return {"source": "random"}
    return {"source": "checkpoint", "file": checkpoint.resolve().name, "sha256": sha256_path(checkpoint)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--profile", choices=sorted(PROFILES))
    group.add_argument("--branches", help="comma-separated subset of " + ",".join(ALL_BRANCHES))
    ap.add_argument("--size", choices=["full", "tiny"], default="full",
                    help="full: the published architectures; tiny: the small test variants")
    ap.add_argument("--spatial-checkpoint", type=Path, help="RQ-VQA checkpoint (.pth state dict)")
    ap.add_argument("--member", action="append", default=[], metavar="NAME=CHECKPOINT",
                    help="an ensemble member and its RQ-VQA checkpoint, once per member in order (the first "
                         "one's gives the bundle's spatial network and head)")
    ap.add_argument("--slowfast-checkpoint", type=Path,
                    help="pytorchvideo SLOWFAST_8x8_R50.pyth (Kinetics-400), the weights RQ-VQA's features use")
    ap.add_argument("--liqe-checkpoint", type=Path, help="LIQE.pt (the fine-tuned CLIP ViT-B/32 state dict)")
    ap.add_argument("--fastvqa-checkpoint", type=Path, help="FAST_VQA_B_1_4.pth (FAST-VQA-B's evaluator state dict)")
    ap.add_argument("--fastvqa-src", type=Path, help="FAST-VQA checkout with fastvqa/models (default: $FASTVQA_SRC)")
    ap.add_argument("--qalign-checkpoint", type=Path, help="the One-Align folder (Hugging Face q-future/one-align)")
    ap.add_argument("--qalign-layers", type=int, metavar="N",
                    help="random One-Align at full width with N of LLaMA's 32 layers and a stand-in tokenizer "
                         "(precision and memory measurements; docs/precision.md)")
    ap.add_argument("--qalign-src", type=Path, help="Q-Align checkout with q_align/model (default: $QALIGN_SRC)")
    ap.add_argument("--batch", default="dynamic", help="'dynamic' (symbolic N) or a fixed batch size")
    ap.add_argument("--sigmoid", choices=["none", "per_frame", "after_pooling"], default="after_pooling",
                    help="where the head's sigmoid goes (RQ-VQA itself: none; the AIM 2024 winner: a sigmoid)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--precision", metavar="SPEC",
                    help="convert after the export (tools/export/precision.py): a precision for every branch "
                         "(fp16, bf16, int8_weights, int8_dynamic) or per branch, e.g. "
                         "spatial=fp16,liqe=fp16,fastvqa=fp16,qalign=int8_weights")
    ap.add_argument("--max-error", type=float,
                    help="with --precision: refuse above this relative error instead of the precision's default "
                         "(precision.py's --max-error), e.g. to measure a deep random model")
    args = ap.parse_args(argv)

    names = PROFILES[args.profile] if args.profile else [b.strip() for b in args.branches.split(",") if b.strip()]
    unknown = [b for b in names if b not in ALL_BRANCHES]
    if unknown:
        ap.error(f"unknown branch(es) {unknown}; choose from {ALL_BRANCHES}")
    missing = [b for b in names if b not in IMPLEMENTED]
    if missing:
        ap.error(f"export of {missing} is not implemented yet (implemented: {sorted(IMPLEMENTED)})")
    names = [b for b in ALL_BRANCHES if b in names]  # the head's concatenation order
    members = parse_members(ap, args.member)
    if members:
        if "spatial" not in names:
            ap.error("--member needs the spatial branch: a member is its own spatial network and head")
        if args.spatial_checkpoint is not None:
            ap.error("--member gives the spatial checkpoint (the first member's): leave out --spatial-checkpoint")
        args.spatial_checkpoint = members[0][1]
    precisions = None
    if args.precision:  # a wrong spec fails before the export, not after
        import precision  # needs onnxconverter-common, for this option only
        precisions = precision.parse_precisions(args.precision, names)
    if args.fastvqa_src is not None:
        os.environ["FASTVQA_SRC"] = str(args.fastvqa_src)
    if args.qalign_src is not None:
        os.environ["QALIGN_SRC"] = str(args.qalign_src)
    dynamic = args.batch == "dynamic"
    batch = 1 if dynamic else int(args.batch)

    torch.manual_seed(args.seed)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    entries, head_states, origins = [], [], {}
    # Quantized while built, not converted after the export: One-Align in fp32 would need 33 GB.
    built_int8 = {"qalign"} if precisions and precisions.get("qalign") == "int8_weights" else set()
    precisions = {k: v for k, v in (precisions or {}).items() if k not in built_int8}
    for name in names:
        checkpoint = {"spatial": args.spatial_checkpoint, "slowfast": args.slowfast_checkpoint,
                      "liqe": args.liqe_checkpoint, "fastvqa": args.fastvqa_checkpoint,
                      "qalign": args.qalign_checkpoint}.get(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            options = ({"llama_layers": args.qalign_layers, "int8_weights": name in built_int8}
                       if name == "qalign" else {})
            net, entry, shape, head_state = BUILDERS[name](args.size, checkpoint, **options)
        path = out / entry["network"]
        branch_dynamic = dynamic and name not in FIXED_BATCH
        branch_batch = batch if name not in FIXED_BATCH else 1
        x = torch.randn((2 if branch_dynamic else branch_batch,) + shape, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            reference = net(x)
        scale = float(reference.abs().max())
        if reference.shape[-1] != entry["output_dim"]:  # e.g. upstream Q-Align returns the LM head's logits
            raise SystemExit(f"{name}: the network gives {reference.shape[-1]} features, not {entry['output_dim']}"
                             + (": take RQ-VQA's copy of Q-Align (feature_extraction/Q-Align), which returns "
                                "the hidden states" if name == "qalign" else ""))
        if name in built_int8:
            entry["precision"] = "int8_weights"
            check_int8_weights(name, net, x, reference, args.max_error)
        # Staged: a model over 2 GB comes out as one file per tensor, gathered into one on the move.
        with tempfile.TemporaryDirectory(dir=out) as staging:
            staged = Path(staging) / entry["network"]
            export_onnx(net, (branch_batch,) + shape, staged, dynamic_batch=branch_dynamic)
            del net  # the checks below need only its outputs: ONNX Runtime gets the memory
            gc.collect()
            if name in FOLD_CONSTANTS:
                print(f"{name}: {fold_constant_subgraphs(staged)} constant nodes folded", flush=True)
            if move_model(staged, path):
                print(f"{name}: over 2 GB, its weights are in {path.name}.data", flush=True)
        diff = ort_vs_reference(ort_session(path), x, reference)
        d = describe_onnx(path)
        print(f"{name}: {path} ({d['bytes'] / 1e6:.1f} MB, {d['nodes']} nodes), input {d['input']}, "
              f"ONNX Runtime vs PyTorch max |diff| {diff:.3e} (relative {diff / scale:.3e})", flush=True)
        if not diff / scale <= ONNX_TOLERANCE:
            raise SystemExit(f"{name}: ONNX differs from PyTorch by {diff / scale:e} relative")
        entry["sha256"] = sha256_file(path)
        entries.append(entry)
        head_states.append((name, head_state))
        origins[name] = origin(checkpoint)

    input_dim = sum(e["output_dim"] for e in entries)
    from_checkpoint = [(name, h) for name, h in head_states
                       if h is not None and h["quality.0.weight"].shape[1] == input_dim]
    if from_checkpoint:
        name, state = from_checkpoint[0]
        head_weights = {k: v.to(torch.float32).contiguous() for k, v in state.items()}
        head_origin = origins[name]  # the checkpoint the head came with
        print("head: from the checkpoint")
    elif members:
        raise SystemExit(f"member {members[0][0]}: {members[0][1].name} has no head over the bundle's {input_dim} "
                         "features: an ensemble's members are RQ-VQA checkpoints of the whole model")
    else:
        head = Head(input_dim, 128, 1)
        head_weights = {k: v.detach().contiguous() for k, v in head.state_dict().items()}
        head_origin = {"source": "random"}
        print(f"head: random Linear({input_dim}, 128) -> Linear(128, 1) (no checkpoint head of that width)")
    save_file(head_weights, str(out / "head.safetensors"))
    member_entries, member_origins = export_members(members, args.size, out, input_dim, dynamic, batch)

    manifest = {
        "format": "vsrqa-bundle",
        "version": 1,
        "name": f"rq-vqa-{args.size}-{'-'.join(names)}",
        "profile": args.profile or "custom",
        "key_frames": {"interval": "rounded_fps", "count": 8, "pad": "repeat_last"},
        "branches": entries,
        "head": {
            "weights": "head.safetensors",
            "input_dim": input_dim,
            "layers": [
                {"weight": "quality.0.weight", "bias": "quality.0.bias", "activation": "none"},
                {"weight": "quality.1.weight", "bias": "quality.1.bias", "activation": "none"},
            ],
            "output_activation": "none" if args.sigmoid == "none" else "sigmoid",
            "activation_stage": "per_frame" if args.sigmoid == "per_frame" else "after_pooling",
            "temporal_pooling": "mean",
        },
        # Where each part's weights came from: vsrqa warns on every run when some are random.
        "provenance": {"branches": origins, "head": head_origin, **({"members": member_origins} if members else {})},
        # The published weights were trained on the frames OpenCV decodes (docs/branches.md).
        "color_conversion": "reference",
    }
    if members:
        manifest["name"] += f"-ensemble{len(members)}"
        manifest["members"] = member_entries
    (out / "vsrqa.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if precisions:
        convert_in_place(out, precisions, args.max_error)
    print(f"wrote {out / 'vsrqa.json'}")
    return 0


def parse_members(ap, specs: list[str]) -> list[tuple[str, Path]]:
    """`NAME=CHECKPOINT` pairs, in order; names as the manifest takes them ([a-z0-9_], unique)."""
    members = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not path:
            ap.error(f"--member {spec!r}: give NAME=CHECKPOINT")
        if not name or not all(c.islower() or c.isdigit() or c == "_" for c in name) or not name.isascii():
            ap.error(f"--member {spec!r}: a member name is non-empty [a-z0-9_]")
        if any(name == n for n, _ in members):
            ap.error(f"--member: two members are named {name!r}")
        members.append((name, Path(path)))
    return members


def export_members(members: list[tuple[str, Path]], size: str, out: Path, input_dim: int, dynamic: bool,
                   batch: int) -> tuple[list[dict], dict]:
    """The manifest's `members` and their origins: the first member is the bundle's own spatial
    network and head; each further one's spatial network and head are exported from its checkpoint."""
    entries, origins = [], {}
    for number, (name, checkpoint) in enumerate(members):
        if number == 0:
            entries.append({"name": name})
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            net, _, shape, head_state = spatial_branch(size, checkpoint)
        if head_state is None or head_state["quality.0.weight"].shape[1] != input_dim:
            width = None if head_state is None else head_state["quality.0.weight"].shape[1]
            raise SystemExit(f"member {name}: {checkpoint.name} has no head over the bundle's {input_dim} features "
                             f"(its head takes {width})")
        network = f"spatial_{name}.onnx"
        path = out / network
        x = torch.randn((2 if dynamic else batch,) + shape, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            reference = net(x)
        export_onnx(net, (batch,) + shape, path, dynamic_batch=dynamic)
        diff = ort_vs_reference(ort_session(path), x, reference)
        scale = float(reference.abs().max())
        print(f"member {name}: {network}, ONNX Runtime vs PyTorch max |diff| {diff:.3e} (relative "
              f"{diff / scale:.3e})", flush=True)
        if not diff / scale <= ONNX_TOLERANCE:
            raise SystemExit(f"member {name}: ONNX differs from PyTorch by {diff / scale:e} relative")
        head = f"head_{name}.safetensors"
        save_file({k: v.to(torch.float32).contiguous() for k, v in head_state.items()}, str(out / head))
        entries.append({"name": name, "networks": {"spatial": {"network": network, "sha256": sha256_file(path)}},
                        "head_weights": head})
        origins[name] = origin(checkpoint)
    return entries, origins


def check_int8_weights(name: str, net: torch.nn.Module, x: torch.Tensor, output: torch.Tensor,
                       max_error: float | None) -> None:
    """The network with 8-bit weights against its original weights, each read back when its layer
    runs: precision.py's measure (relative L2 of the output) and its bound."""
    import precision
    with int8_linear.original_weights(net), torch.no_grad():
        original = net(x)
    error = float(torch.linalg.vector_norm((output - original).double()) / torch.linalg.vector_norm(original.double()))
    limit = max_error if max_error is not None else precision.MAX_RELATIVE_ERROR["int8_weights"]
    print(f"{name}: int8_weights, relative output error {error:.2e} against the original weights", flush=True)
    if not error <= limit:
        raise SystemExit(f"{name}: relative error {error:.2e} is above {limit}")


def ort_vs_reference(session, x: torch.Tensor, reference: torch.Tensor) -> float:
    """Largest |ONNX Runtime - PyTorch| on the same input."""
    got = session.run(["output"], {"input": x.numpy()})[0]
    assert got.shape == tuple(reference.shape), (got.shape, reference.shape)
    return float(abs(torch.from_numpy(got).double() - reference.double()).max())


def convert_in_place(out: Path, precisions: dict[str, str], max_error: float | None) -> None:
    """The fp32 bundle just written to `out`, converted by precision.py: {branch: precision}."""
    import precision  # needs onnxconverter-common, for this option only

    staged = out.with_name(out.name + ".converting")
    if staged.exists():
        shutil.rmtree(staged)
    precision.convert_bundle(out, staged, precisions, max_error)
    shutil.rmtree(out)
    staged.rename(out)


if __name__ == "__main__":
    sys.exit(main())
