"""OpenCV `cv2.resize(img, dsize)` (INTER_LINEAR, 8-bit) re-derived in numpy, bit for bit.

The spatial branch's reference extracts key frames with `cv2.resize(frame, dim)` on uint8 BGR frames
(frame_extraction/extract_frame_NTIREVideo_384p.py) and stores them as PNG, so the exact integers
OpenCV produces are the reference's input. OpenCV evaluates INTER_LINEAR on 8-bit images in fixed
point, not as the real-valued formula:

* per axis, in double then float: f = float((d + 0.5) * (1 / (dst / src)) - 0.5); s = floor(f); f -= s.
  Columns outside the image are clamped (s < 0 -> s = 0, f = 0; s >= src - 1 -> s = src - 1, f = 0);
  rows keep their weights and only their indices are clamped to [0, src - 1].
* weights are rint(w * 2048) as int16 (w = 1 - f and f, in float32).
* horizontal pass in int32: H = S[s] * a0 + S[s + 1] * a1 (exact).
* vertical pass as OpenCV's SIMD kernel computes it (VResizeLinearVec_32s8u), which handles every
  row that is at least one vector wide (the tail re-runs an overlapping last vector):
  t = H >> 4; m = ((t0 * b0) >> 16) + ((t1 * b1) >> 16); out = clamp((m + 2) >> 2, 0, 255).
  (The scalar formula, (H0 b0 + H1 b1 + 2^21) >> 22, differs by one in rare cases; it only runs on
  rows narrower than one vector (16 or 32 bytes, i.e. about 5 to 10 RGB pixels).)
* an exact 2x downscale on both axes is turned into INTER_AREA by OpenCV: (a + b + c + d + 2) >> 2.
"""
from __future__ import annotations

import numpy as np

COEF_BITS = 11
COEF_SCALE = 1 << COEF_BITS


def _axis(src: int, dst: int, clamp_weights: bool):
    scale = 1.0 / (dst / src)
    d = np.arange(dst, dtype=np.float64)
    f = ((d + 0.5) * scale - 0.5).astype(np.float32)
    s = np.floor(f).astype(np.int64)
    f = (f - s.astype(np.float32)).astype(np.float32)
    if clamp_weights:
        low = s < 0
        f[low] = 0.0
        s[low] = 0
        high = s >= src - 1
        f[high] = 0.0
        s[high] = src - 1
    w0 = np.rint((np.float32(1.0) - f).astype(np.float32) * np.float32(COEF_SCALE)).astype(np.int64)
    w1 = np.rint(f * np.float32(COEF_SCALE)).astype(np.int64)
    i0 = np.clip(s, 0, src - 1)
    i1 = np.clip(s + 1, 0, src - 1)
    return i0, i1, w0, w1


def _is_exact_half(src_w, src_h, dst_w, dst_h) -> bool:
    return src_w == 2 * dst_w and src_h == 2 * dst_h


def resize_linear_u8(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """img: (H, W, C) uint8 -> (height, width, C) uint8, as cv2.resize(img, (width, height))."""
    if img.dtype != np.uint8 or img.ndim != 3:
        raise ValueError("expected an (H, W, C) uint8 image")
    h, w, _ = img.shape
    x = img.astype(np.int64)
    if _is_exact_half(w, h, width, height):
        s = x[0::2, 0::2] + x[0::2, 1::2] + x[1::2, 0::2] + x[1::2, 1::2]
        return ((s + 2) >> 2).astype(np.uint8)
    xi0, xi1, a0, a1 = _axis(w, width, clamp_weights=True)
    yi0, yi1, b0, b1 = _axis(h, height, clamp_weights=False)
    horizontal = x[:, xi0, :] * a0[None, :, None] + x[:, xi1, :] * a1[None, :, None]  # (h, width, C)
    t0 = horizontal[yi0] >> 4
    t1 = horizontal[yi1] >> 4
    m = ((t0 * b0[:, None, None]) >> 16) + ((t1 * b1[:, None, None]) >> 16)
    return np.clip((m + 2) >> 2, 0, 255).astype(np.uint8)

