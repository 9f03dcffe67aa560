"""The Q-Align branch: One-Align (mPLUG-Owl2) prefill on the two halves of a key frame, mean of the last
hidden states -> 4096 features.

RQ-VQA `feature_extraction/Q-Align/q_align_feature_extract.py`, per key frame (the original-resolution
PNGs of `extract_frame_NTIREVideo_original.py`, read with PIL):

1. The upper half `crop((0, 0, w, h // 2))` and the lower half `crop((0, h // 2, w, h))`.
2. Each half: `expand2square` with the background `tuple(int(x * 255) for x in image_mean)` =
   (122, 116, 104), the image pasted at `(long - short) // 2`; then the CLIP image processor of
   One-Align (`preprocessor_config.json`): resize the short side to 448 (Pillow bicubic; the image is
   square, so 448x448), center crop 448 (an identity), `* (1 / 255)`, CLIP's mean/std; then `.half()`.
3. The conversation template "mplug_owl2" with "How would you rate the quality of this image?\\n<|image|>",
   plus " The quality of the image is"; `tokenizer_image_token` puts the visual tokens (vision encoder +
   visual abstractor, 64 queries) at the image token.
4. `model(input_ids.repeat(2, 1), images=halves)["logits"]`: RQ-VQA's copy of mPLUG-Owl2 returns the last
   hidden states there (4096 per token; the LM head is computed but not returned). Mean over the two
   halves and over the tokens -> 4096.

`QAlignNet` is that computation for a batch of key frames, with the prompt's token ids as a constant:
input (N, 2, 3, S, S), output (N, hidden). The exported ONNX has a fixed batch (the prompt splicing is a
Python loop over the batch, which the tracer unrolls).

The model code is Q-Align's own (`q_align/model`, Apache-2.0), read from a checkout
(`--qalign-src` or $QALIGN_SRC: github.com/Q-Future/Q-Align or RQ-VQA's feature_extraction/Q-Align),
not copied into vsrqa. Its model class reads a tokenizer and an image processor from a hard-coded
path in its constructor; `build_model` replaces those two loaders while the model is built.

Known deviations: the reference loads One-Align with `load_8bit=True` (bitsandbytes LLM.int8()) and
feeds fp16 images; vsrqa computes in fp32 (fp16 on TensorRT), so its features differ from the
published ones by the int8 quantization error. The tiny test model has no real tokenizer (the LLaMA
tokenizer ships with the One-Align weights), so its prompt ids come from `StandInTokenizer`.
"""
from __future__ import annotations

import contextlib
import copy
import io
import sys
import warnings
from pathlib import Path

import torch
from torch import nn

from .checkout import checkout
from .hf_checkpoint import CheckpointTensors
from .int8_linear import Int8Linear, quantize_linears

BACKGROUND = [122, 116, 104]  # tuple(int(x * 255) for x in CLIP's image_mean)
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
FULL_SIDE = 448
TINY_SIDE = 56
TINY_VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                   image_size=TINY_SIDE, patch_size=14)
TINY_ABSTRACTOR = dict(num_learnable_queries=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=64, encoder_hidden_size=32, grid_size=4)
TINY_LLAMA = dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                  max_position_embeddings=256)
QUESTION = "How would you rate the quality of this image?"
ANSWER_PREFIX = " The quality of the image is"


def source_dir(path: str | Path | None = None) -> Path:
    """The Q-Align checkout: `path`, else $QALIGN_SRC."""
    return checkout(path, "QALIGN_SRC", "--qalign-src", "q_align/model/modeling_mplug_owl2.py", "RQ-VQA's feature_extraction/Q-Align (github.com/sunwei925/RQ-VQA; its model returns the hidden states where Q-Align's own returns the LM head's logits)")


class StandInTokenizer:
    """A deterministic word-hash tokenizer for the tiny test model (ids 3..vocab-1, BOS 1)."""

    bos_token_id = 1

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size

    def encode(self, text: str) -> list[int]:
        return [self.bos_token_id] + [sum(map(ord, w)) * 7 % (self.vocab_size - 3) + 3 for w in text.split()]

    def __call__(self, texts):
        if isinstance(texts, str):
            return type("Encoding", (), {"input_ids": self.encode(texts)})()
        return {"input_ids": [self.encode(t) for t in texts]}


def _import_q_align(root: Path):
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from q_align.model import modeling_mplug_owl2 as modeling
        from q_align.model import configuration_mplug_owl2 as configuration
        from q_align import conversation
    return modeling, configuration, conversation


def prompt_ids(root: Path, tokenizer) -> torch.Tensor:
    """The reference's prompt as token ids, with IMAGE_TOKEN_INDEX (-200) where the visual tokens go."""
    modeling, _, conversation = _import_q_align(root)
    conv = conversation.conv_templates["mplug_owl2"].copy()
    conv.append_message(conv.roles[0], QUESTION + "\n" + modeling.DEFAULT_IMAGE_TOKEN)
    conv.append_message(conv.roles[1], None)
    prompt = conv.get_prompt() + ANSWER_PREFIX
    return modeling.tokenizer_image_token(prompt, tokenizer, modeling.IMAGE_TOKEN_INDEX, return_tensors="pt")


def build_model(root: Path, checkpoint_dir: str | None = None, llama_layers: int | None = None):
    """(model, tokenizer): One-Align from `checkpoint_dir` (its Hugging Face folder, with the tokenizer),
    else a random model with `StandInTokenizer`: with `llama_layers`, One-Align's architecture at full
    width (ViT-L/14 448, the 6-layer abstractor, LLaMA-2 7B's width) with that many of LLaMA's 32
    layers, for precision and memory measurements; without, the tiny test model. Eager attention, as
    the reference's transformers 4.36.1 with torch 2.0.1 used (SDPA needs torch >= 2.1.1 there)."""
    modeling, configuration, _ = _import_q_align(root)
    if checkpoint_dir is not None:
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(checkpoint_dir, use_fast=False)
    elif llama_layers is not None:
        tokenizer = StandInTokenizer(configuration.LlamaConfig().vocab_size)
    else:
        tokenizer = StandInTokenizer(TINY_LLAMA["vocab_size"])
    with _loaders_replaced(modeling, tokenizer):
        if checkpoint_dir is not None:
            model = modeling.MPLUGOwl2LlamaForCausalLM.from_pretrained(
                checkpoint_dir, torch_dtype=torch.float32, attn_implementation="eager")
        elif llama_layers is not None:  # the defaults are mPLUG-Owl2's full size
            config = configuration.MPLUGOwl2Config(num_hidden_layers=llama_layers)
            config._attn_implementation = "eager"
            model = modeling.MPLUGOwl2LlamaForCausalLM(config)
        else:
            config = configuration.MPLUGOwl2Config(
                visual_config={"visual_model": configuration.MplugOwlVisionConfig(**TINY_VISION).to_dict(),
                               "visual_abstractor": configuration.MplugOwlVisualAbstractorConfig(
                                   **TINY_ABSTRACTOR).to_dict()},
                **TINY_LLAMA)
            config._attn_implementation = "eager"
            model = modeling.MPLUGOwl2LlamaForCausalLM(config)
    return model.float().eval(), tokenizer


@contextlib.contextmanager
def _loaders_replaced(modeling, tokenizer):
    """The model class reads a tokenizer and an image processor from a hard-coded path in its
    constructor: within, it gets `tokenizer` and no processor. Its prints and warnings are muted."""
    originals = (modeling.AutoTokenizer.from_pretrained, modeling.CLIPImageProcessor.from_pretrained)
    modeling.AutoTokenizer.from_pretrained = lambda *a, **k: tokenizer
    modeling.CLIPImageProcessor.from_pretrained = lambda *a, **k: None
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        modeling.AutoTokenizer.from_pretrained, modeling.CLIPImageProcessor.from_pretrained = originals


def build_int8_model(root: Path, checkpoint_dir: str):
    """(model, tokenizer): One-Align from `checkpoint_dir` with every linear layer's weight in 8 bits
    (int8_linear), each layer able to read its original weight back from the checkpoint.

    `from_pretrained` would hold the model in fp32 first (33 GB). Here the model is built with one
    LLaMA layer, quantized, and filled from the checkpoint; each of the other layers is a copy of
    that layer filled with its own weights, read one tensor at a time. Memory holds the one-layer
    model in fp32 while it is built (about 3 GB, quantized right away), then the 8-bit model
    (about 8 GB with 32 layers) and one tensor of the checkpoint. The result equals `build_model`
    followed by `quantize_linears`: the same weights, quantized the same way
    (tools/export/check_int8_build.py)."""
    from transformers import AutoTokenizer
    modeling, configuration, _ = _import_q_align(root)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint_dir, use_fast=False)
    tensors = CheckpointTensors(checkpoint_dir)
    config = configuration.MPLUGOwl2Config.from_pretrained(checkpoint_dir)
    config._attn_implementation = "eager"
    layers = config.num_hidden_layers
    config.num_hidden_layers = 1
    with _loaders_replaced(modeling, tokenizer):
        model = modeling.MPLUGOwl2LlamaForCausalLM(config)
    config.num_hidden_layers = layers
    model.float().eval()
    quantize_linears(model, lambda path, linear: _unread)
    decoder = model.model.layers
    loaded: set[str] = set()
    missing = _fill(model, "", tensors, loaded, skip="model.layers.")
    template = decoder[0]
    for index in range(layers):
        layer = template if index == 0 else copy.deepcopy(template)
        missing += _fill(layer, f"model.layers.{index}.", tensors, loaded)
        for module in layer.modules():  # the attention's place in a cache, as its constructor sets it
            if hasattr(module, "layer_idx"):
                module.layer_idx = index
        if index > 0:
            decoder.append(layer)
    if missing:
        raise SystemExit(f"{checkpoint_dir}: no weights for {len(missing)} of One-Align's parameters, e.g. "
                         f"{', '.join(missing[:3])}: is this the q-future/one-align folder?")
    # Older transformers saved the rotary embedding's inverse frequencies; they are computed now.
    unused = sorted(n for n in tensors.names() - loaded if not n.endswith("rotary_emb.inv_freq"))
    if unused:
        print(f"qalign: {len(unused)} tensors of the checkpoint are not One-Align's and were not read, e.g. "
              f"{', '.join(unused[:3])}", flush=True)
    return model, tokenizer


def _unread():
    raise RuntimeError("this layer's original weight was never loaded")


def _fill(module: nn.Module, prefix: str, tensors: CheckpointTensors, loaded: set[str],
          skip: str | None = None) -> list[str]:
    """Fills `module`'s weights from the checkpoint's tensors named `prefix` + their path, except
    those whose name starts with `skip`. Adds the names read to `loaded`; returns the parameters the
    checkpoint lacks. A buffer it lacks keeps its value: those are computed by the constructor."""
    missing = []
    owned = set()
    for path, layer in module.named_modules():
        if not isinstance(layer, Int8Linear):
            continue
        owned.update(f"{path}.{name}" for name in ("weight_int8", "weight_scale", "bias"))
        key = f"{prefix}{path}.weight"
        if skip is not None and key.startswith(skip):
            continue
        bias_key = f"{prefix}{path}.bias" if layer.bias is not None else None
        absent = [k for k in (key, bias_key) if k is not None and k not in tensors]
        if absent:
            missing += absent
            continue
        bias = tensors.get(bias_key) if bias_key is not None else None
        layer.set_weight(tensors.get(key), bias, lambda key=key: tensors.get(key).to(torch.float32))
        loaded.update(k for k in (key, bias_key) if k is not None)
    named = [(n, t, True) for n, t in module.named_parameters()] + [(n, t, False) for n, t in module.named_buffers()]
    with torch.no_grad():
        for name, tensor, is_parameter in named:
            key = prefix + name
            if name in owned or (skip is not None and key.startswith(skip)):
                continue
            if key in tensors:
                tensor.copy_(tensors.get(key))
                loaded.add(key)
            elif is_parameter:
                missing.append(key)
    return missing


def randomize_norms(model: nn.Module, generator: torch.Generator) -> None:
    """Random scales for the RMS/LayerNorm weights (initialized to 1), so that a wrong norm shows."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "norm" in name and name.endswith("weight"):
                parameter.copy_(1.0 + 0.2 * torch.randn(parameter.shape, generator=generator))


class QAlignNet(nn.Module):
    """(N, 2, 3, S, S) normalized halves -> (N, hidden): the last hidden states of the prompt with the
    image spliced in, averaged over the two halves and the tokens."""

    def __init__(self, model: nn.Module, ids: torch.Tensor):
        super().__init__()
        self.model = model
        self.register_buffer("ids", ids.reshape(1, -1))
        self.out_dim = model.config.hidden_size

    def forward(self, halves: torch.Tensor) -> torch.Tensor:
        n, h = halves.shape[0], halves.shape[1]
        images = halves.reshape(n * h, halves.shape[2], halves.shape[3], halves.shape[4])
        hidden = self.model(self.ids.repeat(n * h, 1), images=images)["logits"]  # RQ-VQA: hidden states
        return hidden.reshape(n, h * hidden.shape[1], hidden.shape[2]).mean(dim=1)


@torch.no_grad()
def reference_feature(model: nn.Module, ids: torch.Tensor, halves: torch.Tensor) -> torch.Tensor:
    """q_align_feature_extract.py's pooling on one key frame's (2, 3, S, S) halves -> (1, hidden)."""
    hidden = model(ids.reshape(1, -1).repeat(len(halves), 1), images=halves)["logits"]
    return torch.mean(torch.mean(hidden, dim=0), dim=0, keepdim=True)
