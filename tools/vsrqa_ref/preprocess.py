"""Independent reference implementation of the preprocessing in docs/bundle.md (numpy + torch).

Pipeline per branch input: Y4M (I420) frame -> 8-bit RGB (BT.601 limited range, chroma replicated per
2x2 block) -> the manifest's `preprocess` ops on float32 0..255 values in NCHW layout -> float32 tensor
of shape (1, 3, H, W) (scope `key_frame`) or (1, 3, T, H, W) (scope `window`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from . import opencv_linear

# ---------------------------------------------------------------------------------------------------
# Y4M reading
# ---------------------------------------------------------------------------------------------------

# All of these are 8-bit 4:2:0 with the I420 plane layout; they differ only in chroma siting, which the
# replication upsampling below ignores (as FFmpeg's unscaled path does).
I420_COLORSPACES = ("420jpeg", "420", "420paldv", "420mpeg2")


def parse_y4m(data: bytes):
    """Parse a whole YUV4MPEG2 stream. Returns (info, frames) with frames a list of (Y, U, V) uint8 planes.

    info: {"width", "height", "fps_num", "fps_den", "fps", "colorspace"}.
    Only 8-bit 4:2:0 (I420 layout) is accepted; a missing C tag means 420jpeg.
    """
    nl = data.index(b"\n")
    header = data[:nl].decode("ascii").split(" ")
    if header[0] != "YUV4MPEG2":
        raise ValueError("not a YUV4MPEG2 stream")
    width = height = None
    fps_num, fps_den = None, None
    colorspace = "420jpeg"
    for tag in header[1:]:
        if not tag:
            continue
        key, val = tag[0], tag[1:]
        if key == "W":
            width = int(val)
        elif key == "H":
            height = int(val)
        elif key == "F":
            n, d = val.split(":")
            fps_num, fps_den = int(n), int(d)
        elif key == "C":
            colorspace = val
        # I (interlacing), A (aspect), X (extensions) are ignored.
    if width is None or height is None or fps_num is None:
        raise ValueError("Y4M header lacks W, H or F")
    if colorspace not in I420_COLORSPACES:
        raise ValueError(f"unsupported Y4M colorspace C{colorspace}: only 8-bit 4:2:0")
    cw, ch = (width + 1) // 2, (height + 1) // 2
    ysize, csize = width * height, cw * ch
    frames = []
    pos = nl + 1
    while pos < len(data):
        end = data.index(b"\n", pos)
        marker = data[pos:end]
        if not marker.startswith(b"FRAME"):
            raise ValueError(f"expected FRAME at byte {pos}")
        pos = end + 1
        need = ysize + 2 * csize
        if pos + need > len(data):
            raise ValueError("truncated frame")
        buf = np.frombuffer(data, dtype=np.uint8, count=need, offset=pos)
        y = buf[:ysize].reshape(height, width)
        u = buf[ysize:ysize + csize].reshape(ch, cw)
        v = buf[ysize + csize:].reshape(ch, cw)
        frames.append((y.copy(), u.copy(), v.copy()))
        pos += need
    info = dict(width=width, height=height, fps_num=fps_num, fps_den=fps_den,
                fps=fps_num / fps_den, colorspace=colorspace)
    return info, frames


def read_y4m(path):
    with open(path, "rb") as f:
        return parse_y4m(f.read())


# ---------------------------------------------------------------------------------------------------
# Color: BT.601 limited range YUV -> RGB8
# ---------------------------------------------------------------------------------------------------
#
# Derivation (ITU-R BT.601, Kr = 0.299, Kb = 0.114, Kg = 1 - Kr - Kb = 0.587):
#   E'Y  = (Y - 16) / 219              luma, limited range 16..235 (219 steps)
#   E'Pb = (U - 128) / 224             chroma, limited range 16..240 (224 steps) around 128
#   E'Pr = (V - 128) / 224
#   R' = E'Y + 2 (1 - Kr) E'Pr
#   B' = E'Y + 2 (1 - Kb) E'Pb
#   G' = (E'Y - Kr R' - Kb B') / Kg = E'Y - (2 Kb (1 - Kb) / Kg) E'Pb - (2 Kr (1 - Kr) / Kg) E'Pr
#   R, G, B = 255 * (R', G', B')
# so
#   R = 255/219 (Y-16)                                   + 255/224 * 2(1-Kr)         (V-128)
#   G = 255/219 (Y-16) - 255/224 * 2Kb(1-Kb)/Kg (U-128)  - 255/224 * 2Kr(1-Kr)/Kg     (V-128)
#   B = 255/219 (Y-16) + 255/224 * 2(1-Kb)      (U-128)
# with the (rounded) values 1.164383, 1.596027, 0.391762, 0.812968, 2.017232. The exact derived float64
# values below are used, not the rounded ones.
KR = 0.299
KB = 0.114
KG = 1.0 - KR - KB
Y_SCALE = 255.0 / 219.0
C_SCALE = 255.0 / 224.0
R_V = C_SCALE * (2.0 * (1.0 - KR))
G_U = C_SCALE * (2.0 * KB * (1.0 - KB) / KG)
G_V = C_SCALE * (2.0 * KR * (1.0 - KR) / KG)
B_U = C_SCALE * (2.0 * (1.0 - KB))


def upsample_chroma(c: np.ndarray, height: int, width: int) -> np.ndarray:
    """Replicate each chroma sample over its 2x2 block (cropped for odd sizes)."""
    return np.repeat(np.repeat(c, 2, axis=0), 2, axis=1)[:height, :width]


def yuv420_to_rgb_float(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Unrounded float64 RGB (H, W, 3), before rounding and clamping."""
    h, w = y.shape
    yf = y.astype(np.float64) - 16.0
    uf = upsample_chroma(u, h, w).astype(np.float64) - 128.0
    vf = upsample_chroma(v, h, w).astype(np.float64) - 128.0
    ys = Y_SCALE * yf
    r = ys + R_V * vf
    g = ys - G_U * uf - G_V * vf
    b = ys + B_U * uf
    return np.stack([r, g, b], axis=-1)


def yuv420_to_rgb8(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """8-bit RGB (H, W, 3) uint8: float64, round half to even (np.rint), clamp to 0..255."""
    return np.clip(np.rint(yuv420_to_rgb_float(y, u, v)), 0.0, 255.0).astype(np.uint8)


# ---------------------------------------------------------------------------------------------------
# Preprocessing ops, on float32 NCHW tensors holding 0..255 values
# ---------------------------------------------------------------------------------------------------

def rgb8_to_nchw(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) float32 0..255."""
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).unsqueeze(0).to(torch.float32).contiguous()


def _round_u8(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp(torch.round(x), 0.0, 255.0)  # torch.round: half to even


# Bilinear resizing
# -----------------
# The semantics are torch.nn.functional.interpolate(mode="bilinear", align_corners=False,
# antialias=False) with an output size (scale = in / out per axis):
#     src = max(0, (dst + 0.5) * in / out - 0.5);  i0 = floor(src);  i1 = min(i0 + 1, in - 1)
#     l1 = src - i0;  l0 = 1 - l1
#     out[y, x] = l0h * (l0w * v[i0h, i0w] + l1w * v[i0h, i1w]) + l1h * (l0w * v[i1h, i0w] + l1w * v[i1h, i1w])
#
# The reference evaluates this formula EXACTLY (arithmetic="exact", the default): src is the rational
# ((2 dst + 1) in - out) / (2 out), so for integer-valued input (8-bit RGB, or the output of
# round_to_u8) the result is an integer numerator over D = (2 out_h)(2 out_w). round_to_u8 then rounds
# that rational half to even with integer arithmetic; without rounding it is converted to the nearest
# float64 and then float32. Why not torch's own float32 result: it is not reproducible. torch computes
# scale and src in float32 (errors up to ~2e-3 on the 0..255 scale for 80 -> 72), picks a different
# kernel with 1 thread than with several (different bits), and FMA use depends on the CPU build. With
# scales like 10/9, many outputs are exact .5 ties (571 in the sample clip's 20 frames at 80x112 ->
# 72x100), which any floating-point evaluation resolves by rounding noise. The exact evaluation has one
# answer that a Rust implementation can reproduce bit for bit (see tools/fixtures/README.md).
# arithmetic="torch_float32" / "torch_float64" call torch.nn.functional.interpolate instead (for checks).

def _axis_weights(n_in: int, n_out: int):
    """Per output index: (i0, i1, n0, n1) with weights l0 = n0 / (2 n_out), l1 = n1 / (2 n_out), exact."""
    den = 2 * n_out
    d = np.arange(n_out, dtype=np.int64)
    num = (2 * d + 1) * n_in - n_out  # src * den
    num = np.maximum(num, 0)  # src < 0 -> 0
    i0 = num // den
    n1 = num - i0 * den
    i1 = np.minimum(i0 + 1, n_in - 1)
    n0 = den - n1
    return i0, i1, n0, n1


def _bilinear_exact_numerators(x: np.ndarray, height: int, width: int):
    """x: (..., H, W) int64. Returns (numerators int64 (..., height, width), denominator)."""
    h0, h1, a0, a1 = _axis_weights(x.shape[-2], height)
    w0, w1, b0, b1 = _axis_weights(x.shape[-1], width)
    rows = x[..., h0, :] * a0[:, None] + x[..., h1, :] * a1[:, None]  # (..., height, W) over 2*height
    num = rows[..., w0] * b0 + rows[..., w1] * b1  # (..., height, width) over (2*height)(2*width)
    return num, (2 * height) * (2 * width)


def _round_half_even_rational(num: np.ndarray, den: int) -> np.ndarray:
    q, r = np.divmod(num, den)  # floor division, 0 <= r < den
    up = (2 * r > den) | ((2 * r == den) & (q % 2 == 1))
    return q + up


def _resize_opencv_linear(img: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """`cv2.resize` INTER_LINEAR on the 8-bit image (see opencv_linear.py); uses OpenCV itself when
    it is installed and checks that the emulation agrees."""
    x = img.detach().cpu().numpy()
    if not (np.all(x == np.round(x)) and x.min() >= 0 and x.max() <= 255):
        raise ValueError("opencv_linear resizes 8-bit images only")
    hwc = np.ascontiguousarray(x[0].transpose(1, 2, 0).astype(np.uint8))
    out = opencv_linear.resize_linear_u8(hwc, width, height)
    try:
        import cv2
    except ImportError:
        cv2 = None
    if cv2 is not None:
        real = cv2.resize(hwc, (width, height))
        if not np.array_equal(real, out):
            raise AssertionError(f"opencv_linear emulation differs from cv2 {cv2.__version__}")
    return torch.from_numpy(out.astype(np.float32)).permute(2, 0, 1).unsqueeze(0).contiguous()


PIL_FILTERS = {"pil_bilinear": "BILINEAR", "pil_bicubic": "BICUBIC"}


def check_pillow_version() -> None:
    """Pillow 13 changed the pass order of its resampler (python-pillow/Pillow#9549): its results
    differ by one level from the Pillow the reference ran with, which vsrqa reproduces."""
    import PIL
    major = int(PIL.__version__.split(".")[0])
    if major >= 13:
        raise SystemExit(
            f"Pillow {PIL.__version__}: the pil_* interpolations follow Pillow <= 12 (the reference's). Install one, e.g. "
            "`pip install --no-deps --target /tmp/pil12 pillow==12.0.0` and run with PYTHONPATH=/tmp/pil12")


def _resize_pil(img: torch.Tensor, height: int, width: int, interpolation: str) -> torch.Tensor:
    """torchvision `Resize([h, w])` on a PIL image: Pillow's `Image.resize` with the filter."""
    from PIL import Image
    check_pillow_version()
    x = img.detach().cpu().numpy()
    if not (np.all(x == np.round(x)) and x.min() >= 0 and x.max() <= 255):
        raise ValueError(f"{interpolation} resizes 8-bit images only")
    pil = Image.fromarray(np.ascontiguousarray(x[0].transpose(1, 2, 0).astype(np.uint8)), "RGB")
    out = np.asarray(pil.resize((width, height), getattr(Image, PIL_FILTERS[interpolation])))
    return torch.from_numpy(out.astype(np.float32)).permute(2, 0, 1).unsqueeze(0).contiguous()


def resize(img: torch.Tensor, height: int, width: int, interpolation: str = "bilinear",
           round_to_u8: bool = False, arithmetic: str = "exact") -> torch.Tensor:
    if interpolation == "opencv_linear":
        return _resize_opencv_linear(img, height, width)
    if interpolation in PIL_FILTERS:
        return _resize_pil(img, height, width, interpolation)
    if interpolation != "bilinear":
        raise ValueError(f"unsupported interpolation {interpolation!r}")
    if arithmetic in ("torch_float32", "torch_float64"):
        dt = torch.float32 if arithmetic == "torch_float32" else torch.float64
        out = F.interpolate(img.to(dt), size=(height, width), mode="bilinear", align_corners=False,
                            antialias=False)
        return (_round_u8(out) if round_to_u8 else out).to(torch.float32)
    if arithmetic != "exact":
        raise ValueError(f"unknown arithmetic {arithmetic!r}")
    x = img.detach().cpu().numpy().astype(np.float64)
    if np.all(x == np.round(x)) and np.all(np.abs(x) < 2.0 ** 31):
        num, den = _bilinear_exact_numerators(x.astype(np.int64), height, width)
        if round_to_u8:
            out = np.clip(_round_half_even_rational(num, den), 0, 255).astype(np.float64)
        else:
            out = num.astype(np.float64) / den
    else:
        # Non-integer input (not produced by any op sequence of the tiny bundle): the same formula in
        # float64 with exactly rounded weights, then (optionally) round half to even.
        h0, h1, a0, a1 = _axis_weights(x.shape[-2], height)
        w0, w1, b0, b1 = _axis_weights(x.shape[-1], width)
        a0, a1 = a0 / (2.0 * height), a1 / (2.0 * height)
        b0, b1 = b0 / (2.0 * width), b1 / (2.0 * width)
        rows = x[..., h0, :] * a0[:, None] + x[..., h1, :] * a1[:, None]
        out = rows[..., w0] * b0 + rows[..., w1] * b1
        if round_to_u8:
            out = np.clip(np.rint(out), 0.0, 255.0)
    return torch.from_numpy(out.astype(np.float32))


def short_side_size(h: int, w: int, size: int) -> tuple[int, int]:
    """(new_h, new_w): the short side becomes `size`, the long side int(size / short * long) (float64)."""
    if h <= w:
        return size, int(size / h * w)
    return int(size / w * h), size


def resize_short_side(img: torch.Tensor, size: int, interpolation: str = "bilinear",
                      round_to_u8: bool = False, arithmetic: str = "exact") -> torch.Tensor:
    nh, nw = short_side_size(img.shape[-2], img.shape[-1], size)
    return resize(img, nh, nw, interpolation, round_to_u8, arithmetic)


def center_crop(img: torch.Tensor, height: int, width: int) -> torch.Tensor:
    h, w = img.shape[-2], img.shape[-1]
    if h < height or w < width:
        raise ValueError(f"center_crop {height}x{width} of a {h}x{w} image")
    top = int(round((h - height) / 2.0))  # Python round: half to even
    left = int(round((w - width) / 2.0))
    return img[..., top:top + height, left:left + width].contiguous()


def patch_grid(img: torch.Tensor, size: int, stride: int, count: int) -> torch.Tensor:
    """LIQE.py's patches of a (1, 3, H, W) image, with `unfold` as the reference does it: windows in
    (row, column) order, then every (n // count)-th -> (count, 3, size, size). A frame smaller than one
    patch (the reference fails there) is first enlarged with Pillow's bicubic to short side `size`."""
    if img.shape[-2] < size or img.shape[-1] < size:
        h, w = short_side_size(img.shape[-2], img.shape[-1], size)
        img = _resize_pil(img, max(h, size), max(w, size), "pil_bicubic")
    windows = img.unfold(2, size, stride).unfold(3, size, stride)  # (1, 3, rows, cols, size, size)
    windows = windows.permute(2, 3, 0, 1, 4, 5).reshape(-1, 3, size, size)
    step = windows.shape[0] // count
    return windows[[step * i for i in range(count)]].contiguous()


def normalize(img: torch.Tensor, mean: Sequence[float], std: Sequence[float], value_range: float = 1) -> torch.Tensor:
    """torchvision ToTensor + Normalize (`value_range` 1), or FAST-VQA's `(v - mean) / std` on 0..255
    values (`value_range` 255)."""
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    if value_range == 255:
        return (img - m) / s
    return (img / 255.0 - m) / s


def fragments(img: torch.Tensor, grid: int, size: int) -> torch.Tensor:
    """FAST-VQA's spatial fragments of a (1, 3, H, W) 8-bit image (tools/vsrqa_ref/fastvqa.py)."""
    from . import fastvqa
    x = img.detach().cpu().numpy()
    if not (np.all(x == np.round(x)) and x.min() >= 0 and x.max() <= 255):
        raise ValueError("fragments cut 8-bit images only")
    out = fastvqa.fragments(np.ascontiguousarray(x[0].transpose(1, 2, 0).astype(np.uint8)), grid, size)
    return torch.from_numpy(out.astype(np.float32)).permute(2, 0, 1).unsqueeze(0).contiguous()


def split_halves(img: torch.Tensor) -> list[torch.Tensor]:
    """Q-Align's halves of a (1, 3, H, W) image: PIL crop((0, 0, w, h // 2)) and crop((0, h // 2, w, h))."""
    middle = img.shape[-2] // 2
    return [img[..., :middle, :].contiguous(), img[..., middle:, :].contiguous()]


def expand_to_square(img: torch.Tensor, fill: Sequence[int]) -> torch.Tensor:
    """Q-Align's `expand2square`: a square canvas of the long side filled with `fill`, the image pasted
    at ((long - w) // 2, (long - h) // 2)."""
    h, w = img.shape[-2], img.shape[-1]
    if h == w:
        return img
    side = max(h, w)
    canvas = torch.tensor(fill, dtype=img.dtype).view(1, 3, 1, 1).repeat(1, 1, side, side)
    top, left = (side - h) // 2, (side - w) // 2
    canvas[..., top:top + h, left:left + w] = img
    return canvas


def apply_ops(rgb: np.ndarray, ops: Sequence[dict], arithmetic: str = "exact") -> torch.Tensor:
    """Run a manifest `preprocess` list on one 8-bit RGB frame -> (1, 3, H, W) float32, or
    (1, P, 3, S, S) when `patch_grid` or `split_halves` makes P images.

    `arithmetic` selects how resizes are evaluated (see `resize`)."""
    images = [rgb8_to_nchw(rgb)]
    for i, op in enumerate(ops):
        kind = op["op"]
        if kind == "normalize" and i != len(ops) - 1:
            raise ValueError("normalize must be the last op")
        if kind == "split_halves":
            images = [half for x in images for half in split_halves(x)]
        elif kind == "patch_grid":
            images = [p.unsqueeze(0) for x in images for p in patch_grid(x, op["size"], op["stride"], op["count"])]
        else:
            images = [_apply_one(x, op, arithmetic) for x in images]
    if any(op["op"] in ("patch_grid", "split_halves") for op in ops):
        return torch.cat(images, dim=0).unsqueeze(0)  # (1, P, 3, S, S): one sample of P images
    return images[0]


def _apply_one(x: torch.Tensor, op: dict, arithmetic: str) -> torch.Tensor:
    kind = op["op"]
    if kind == "resize":
        return resize(x, op["height"], op["width"], op.get("interpolation", "bilinear"),
                      op.get("round_to_u8", False), arithmetic)
    if kind == "resize_short_side":
        return resize_short_side(x, op["size"], op.get("interpolation", "bilinear"),
                                 op.get("round_to_u8", False), arithmetic)
    if kind == "center_crop":
        return center_crop(x, op["height"], op["width"])
    if kind == "expand_to_square":
        return expand_to_square(x, op["fill"])
    if kind == "fragments":
        return fragments(x, op["grid"], op["size"])
    if kind == "normalize":
        return normalize(x, op["mean"], op["std"], op.get("range", 1))
    raise ValueError(f"unknown op {kind!r}")


# ---------------------------------------------------------------------------------------------------
# Key frames and branch inputs
# ---------------------------------------------------------------------------------------------------

def key_frame_interval(fps: float) -> int:
    n = int(round(fps))  # Python round: half to even
    return n if n > 0 else 1


def key_frame_indices(n_frames: int, fps: float, count: int | None) -> list[int]:
    """Frame indices of the key frames the head sees (the first `count`, or all when count is None)."""
    interval = key_frame_interval(fps)
    idx = [i for i in range(n_frames) if i % interval == 0]
    return idx if count is None else idx[:count]


def padded_slots(key_frames: Sequence[int], count: int | None, pad: str) -> list[int]:
    """The key frame of each pooled slot: `repeat_last` pads to `count` with the last key frame."""
    if pad not in ("repeat_last", "none"):
        raise ValueError(f"unknown pad {pad!r}")
    slots = list(key_frames)
    if count is not None and pad == "repeat_last" and slots:
        slots += [slots[-1]] * (count - len(slots))
    return slots


def reference_slowfast_chunk_starts(n_frames: int, fps: float, min_chunks: int = 8) -> list[int]:
    """First frame of each SlowFast chunk, as RQ-VQA data_loader.py `BVQA_VideoDataset_SlowFast` builds
    them: `rate = int(round(fps))`, `video_clip = 10 if rate == 0 else int(n / rate)` chunks starting at
    `i * rate`, padded to `video_clip_min = 8` with the last chunk. The model's slot k reads chunk k.

    A clip shorter than one second has no chunk and the reference fails (`transformed_video_all[-1]` of
    an empty list); vsrqa's documented behaviour there is one chunk at frame 0, used here too."""
    rate = int(round(fps))
    clips = 10 if rate == 0 else int(n_frames / rate)
    starts = [i * rate for i in range(clips)] or [0]
    if len(starts) < min_chunks:
        starts += [starts[-1]] * (min_chunks - len(starts))
    return starts


def window_start(branch: dict, slot: int, key_frame: int, n_frames: int, fps: float) -> int:
    """First frame of the window a window branch sees in head slot `slot` (whose key frame is
    `key_frame`): the key frame itself, or the reference's SlowFast chunk for `reuse_previous`."""
    if branch["window"].get("partial_interval", "pad_with_last_frame") == "reuse_previous":
        return reference_slowfast_chunk_starts(n_frames, fps)[slot]
    return key_frame


def window_indices(start: int, length: int, n_frames: int) -> list[int]:
    """Frames [start, start + length), repeating the last frame of the stream when it ends first."""
    return [min(start + t, n_frames - 1) for t in range(length)]


def branch_input(rgb_frames: Sequence[np.ndarray], key_frame: int, branch: dict,
                 arithmetic: str = "exact", start: int | None = None) -> torch.Tensor:
    """The network input of one branch for one key frame: (1, 3, H, W) or (1, 3, T, H, W); a window
    starts at `start` (default: the key frame)."""
    scope = branch["scope"]
    if scope == "key_frame":
        x = apply_ops(rgb_frames[key_frame], branch["preprocess"], arithmetic)
    elif scope == "window":
        first = key_frame if start is None else start
        idx = window_indices(first, branch["window"]["frames"], len(rgb_frames))
        x = torch.stack([apply_ops(rgb_frames[i], branch["preprocess"], arithmetic)[0] for i in idx],
                        dim=1).unsqueeze(0)
    else:
        raise ValueError(f"unknown scope {scope!r}")
    h, w = branch["input"]["height"], branch["input"]["width"]
    if x.shape[-2:] != (h, w):
        raise ValueError(f"branch {branch['name']}: preprocessing gives {tuple(x.shape[-2:])}, input is {(h, w)}")
    return x.contiguous()
