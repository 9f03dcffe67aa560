"""Writes a format-exact stand-in for the published files, with random weights, into a folder laid
out as a mirror (`VSRQA_MODEL_MIRROR` or `--from`): the real-weights command can then run end to end
where the real files cannot be downloaded.

    python tools/vsrqa_models/tests/fake_release.py OUT --code-archive RQ-VQA-<commit>.tar.gz

- ckpts.tar: test.py's ten member names under `ckpts/`; member 0 is a full-size `RQ_VQA` state dict
  with DataParallel's `module.` prefix (random weights), members 1-9 are hard links to it (ten
  members in the archive for the size of one); with `--distinct-members`, ten state dicts of their
  own random weights (4 GB), for an ensemble whose members differ
  (tools/export/check_ensemble.py);
- SLOWFAST_8x8_R50.pyth: `{"model_state": ...}` of pytorchvideo's two-pathway slowfast_r50;
- FAST_VQA_B_1_4.pth: `{"state_dict": {"fragments_backbone.*": ..., "vqa_head.*": ...}}`, built with
  FAST-VQA's own SwinTransformer3D out of the code archive;
- LIQE.pt: a CLIP ViT-B/32 state dict;
- the code archive, copied under the catalogue's file name (RQ-VQA's code cannot be made up: pass the
  archive, e.g. `git archive --format=tar.gz --prefix=RQ-VQA-<commit>/ <commit>` of a checkout).

- with `--one-align-layers N` (the `full` profile): `one-align.tar`, a Hugging Face-layout One-Align
  folder (config, safetensors shards, a LLaMA-layout sentencepiece tokenizer trained on a few
  sentences) at full width with N of LLaMA's 32 layers, built with Q-Align's code from the archive.

Needs PyTorch and tools/requirements.txt.
"""
from __future__ import annotations

import argparse
import io
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

import torch

TOOLS = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOOLS))
from vsrqa_models.catalogue import load  # noqa: E402
from vsrqa_ref import fastvqa as fastvqa_ref  # noqa: E402
from vsrqa_ref import liqe as liqe_ref  # noqa: E402
from vsrqa_ref import qalign as qalign_ref  # noqa: E402
from vsrqa_ref import slowfast as slowfast_ref  # noqa: E402
from vsrqa_ref import spatial as spatial_ref  # noqa: E402

RQVQA_FEATURES = 1024 + 256 + 4096 + 495 + 768  # RQ_VQA's head input (models.py)


def rqvqa_state(generator: torch.Generator) -> dict:
    net = spatial_ref.full_spatial_net()
    state = {}
    for key, value in net.state_dict().items():
        if key.startswith("backbone."):
            state["module.feature_extraction.feature_extraction." + key.removeprefix("backbone.")] = value
        elif key.startswith("bot."):
            state["module.bot4." + key.removeprefix("bot.")] = value
        else:
            raise KeyError(key)
    head = {"quality.0.weight": (128, RQVQA_FEATURES), "quality.0.bias": (128,),
            "quality.1.weight": (1, 128), "quality.1.bias": (1,)}
    for key, shape in head.items():
        state["module." + key] = torch.randn(shape, generator=generator) * 0.01
    return state


def write_distinct_ckpts_tar(out: Path, members: list[str], generator: torch.Generator) -> None:
    with tarfile.open(out, "w") as tar:
        for number, name in enumerate(members):
            torch.manual_seed(100 + number)  # the backbone's initialization: each member its own
            buffer = io.BytesIO()
            torch.save(rqvqa_state(generator), buffer)
            info = tarfile.TarInfo(name)
            info.size = buffer.tell()
            buffer.seek(0)
            tar.addfile(info, buffer)


def write_ckpts_tar(out: Path, members: list[str], generator: torch.Generator) -> None:
    buffer = io.BytesIO()
    torch.save(rqvqa_state(generator), buffer)
    data = buffer.getvalue()
    with tarfile.open(out, "w") as tar:
        info = tarfile.TarInfo(members[0])
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        for name in members[1:]:
            link = tarfile.TarInfo(name)
            link.type = tarfile.LNKTYPE
            link.linkname = members[0]
            tar.addfile(link)


def write_one_align_tar(out: Path, qalign_root: Path, layers: int, generator: torch.Generator) -> None:
    import sentencepiece
    from transformers import LlamaTokenizer
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "one-align"
        model, _ = qalign_ref.build_model(qalign_root, llama_layers=layers)
        qalign_ref.randomize_norms(model, generator)
        model.save_pretrained(folder, safe_serialization=True, max_shard_size="1GB")
        corpus = Path(work) / "corpus.txt"
        corpus.write_text("\n".join([qalign_ref.QUESTION, qalign_ref.ANSWER_PREFIX.strip(),
                                      "USER: ASSISTANT: good poor fair excellent bad image quality"] * 20))
        sentencepiece.SentencePieceTrainer.train(
            input=str(corpus), model_prefix=str(Path(work) / "tokenizer"), vocab_size=60, model_type="bpe",
            unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2)
        LlamaTokenizer(vocab_file=str(Path(work) / "tokenizer.model")).save_pretrained(folder)
        with tarfile.open(out, "w") as tar:
            tar.add(folder, arcname="one-align")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--code-archive", type=Path, required=True, help="RQ-VQA's code at the catalogue's commit (tar.gz)")
    ap.add_argument("--one-align-layers", type=int, metavar="N", help="also write one-align.tar with N LLaMA layers")
    ap.add_argument("--distinct-members", action="store_true",
                    help="ten members of their own weights in ckpts.tar (4 GB), not links to one")
    args = ap.parse_args(argv)
    catalogue = load()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(37)

    kvq = catalogue.artefacts["rqvqa_kvq"]
    write = write_distinct_ckpts_tar if args.distinct_members else write_ckpts_tar
    write(out / kvq.file, list(kvq.members), generator)

    slowfast = slowfast_ref.build_slowfast(slowfast_ref.FULL)
    torch.save({"model_state": slowfast.state_dict()}, out / catalogue.artefacts["slowfast"].file)

    code = catalogue.artefacts["rqvqa_code"]
    shutil.copyfile(args.code_archive, out / code.file)
    with tempfile.TemporaryDirectory() as work:
        with tarfile.open(args.code_archive) as tar:
            tar.extractall(work, filter="data")
        root = Path(work) / code.archive_of / "feature_extraction" / "FastVQA_feature"
        backbone = fastvqa_ref.build_backbone(root, fastvqa_ref.FULL)
        state = {"fragments_backbone." + k: v for k, v in backbone.state_dict().items()}
        state["vqa_head.fc_hid.weight"] = torch.randn(64, 768, 1, 1, 1, generator=generator)
        torch.save({"state_dict": state}, out / catalogue.artefacts["fastvqa"].file)
        if args.one_align_layers:
            qalign_root = Path(work) / code.archive_of / "feature_extraction" / "Q-Align"
            write_one_align_tar(out / f"{catalogue.artefacts['one_align'].file}.tar", qalign_root,
                                args.one_align_layers, generator)

    clip = liqe_ref.build_clip(liqe_ref.FULL_CLIP)
    torch.save(clip.state_dict(), out / catalogue.artefacts["liqe"].file)
    for path in sorted(out.iterdir()):
        print(f"{path.stat().st_size:>12}  {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
