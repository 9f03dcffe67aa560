"""The LIQE branch: CLIP ViT-B/32 on 15 patches of the key frame, cosine logits against 495 prompts.

RQ-VQA `feature_extraction/extract_LIQE_feature_KVQ.py` + `LIQE.py`, per key frame:

1. The key frame at its original resolution (`extract_frame_NTIREVideo_original.py`: the OpenCV
   decode saved as PNG, so the RGB frame itself), `ToTensor`, CLIP's `Normalize`.
2. Every 224x224 window at stride 32 (`unfold`), in row-major order over the window grid; of the
   `n` windows, the 15 at indices `(n // 15) * i` (so all 15 are window 0 when n < 15): the manifest
   op `patch_grid`, `preprocess.patch_grid` here.
3. CLIP `encode_image` on the 15 patches, L2-normalized; logits = `logit_scale.exp()` times the
   cosine similarity with the 495 L2-normalized text features of the prompts
   "a photo of a {scene} with {distortion} artifacts, which is of {quality} quality"
   (`product(qualities, scenes, distortions)`); mean over the 15 patches -> 495 (no softmax).

The text side does not depend on the frame: `LiqeNet` stores the text features and the logit scale
as constants, so the exported graph is the vision tower plus one matmul. The reference loads CLIP
with `clip.load(..., jit=False)`, which keeps fp16 weights on CUDA; vsrqa computes in fp32 (the
difference is fp16 rounding noise; the parity tests compare against fp32 PyTorch).

Full size: OpenAI CLIP ViT-B/32 (the `clip` package's `CLIP` with ViT-B/32 hyper-parameters),
patches 224 / stride 32 / 15. The test bundle: TINY_CLIP (same code, 2 vision layers of width 64,
16-pixel patches on 64x64 inputs), patches 64 / stride 4 / 15.
"""
from __future__ import annotations

import warnings
from itertools import product

import torch
from torch import nn

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # clip imports pkg_resources, which warns
    import clip
    from clip.model import CLIP

QUALITIES = ["bad", "poor", "fair", "good", "perfect"]
SCENES = ["animal", "cityscape", "human", "indoor", "landscape", "night", "plant", "still_life", "others"]
DISTORTIONS = ["jpeg2000 compression", "jpeg compression", "noise", "blur", "color", "contrast", "overexposure",
               "underexposure", "spatial", "quantization", "other"]

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

FULL_CLIP = dict(embed_dim=512, image_resolution=224, vision_layers=12, vision_width=768, vision_patch_size=32,
                 context_length=77, vocab_size=49408, transformer_width=512, transformer_heads=8,
                 transformer_layers=12)
TINY_CLIP = dict(embed_dim=32, image_resolution=64, vision_layers=2, vision_width=64, vision_patch_size=16,
                 context_length=77, vocab_size=49408, transformer_width=64, transformer_heads=1,
                 transformer_layers=1)
FULL_PATCHES = dict(size=224, stride=32, count=15)
TINY_PATCHES = dict(size=64, stride=4, count=15)


def prompts() -> list[str]:
    return [f"a photo of a {c} with {d} artifacts, which is of {q} quality"
            for q, c, d in product(QUALITIES, SCENES, DISTORTIONS)]


def build_clip(config: dict, checkpoint: str | None = None) -> CLIP:
    """A CLIP model in fp32; `checkpoint` is LIQE.pt, the fine-tuned CLIP's state dict."""
    model = CLIP(**config)
    if checkpoint is not None:
        model.load_state_dict(torch.load(checkpoint, map_location="cpu"), strict=True)
    return model.float().eval()



class LiqeNet(nn.Module):
    """(B, P, 3, S, S) normalized patches -> (B, 495): mean over the P patches of the scaled cosine
    logits against the constant text features."""

    def __init__(self, model: CLIP):
        super().__init__()
        self.visual = model.visual
        with torch.no_grad():
            text = model.encode_text(clip.tokenize(prompts()))
            text = text / text.norm(dim=1, keepdim=True)
            self.register_buffer("text_features", text.float().contiguous())
            self.register_buffer("logit_scale", model.logit_scale.detach().exp().float())
        self.out_dim = text.shape[0]

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        b, p = patches.shape[0], patches.shape[1]
        image = self.visual(patches.reshape(b * p, patches.shape[2], patches.shape[3], patches.shape[4]))
        image = image / image.norm(dim=1, keepdim=True)
        logits = self.logit_scale * image @ self.text_features.t()
        return logits.reshape(b, p, -1).mean(dim=1)
