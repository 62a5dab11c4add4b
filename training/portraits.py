"""Procedural portraits: deterministic by seed, aligned like FFHQ, with known factors of variation.

No external data. Each portrait is drawn at 4x the output size with PIL and downsampled with a
Lanczos filter (anti-aliased). Eyes and mouth sit at fixed canonical positions, as FFHQ's alignment
puts them; the head outline, hair and nose move around them for yaw and pitch. The factor values are
returned with the image so datasets can save them as labels and scorers can learn them.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import asdict, dataclass, fields

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HAIR_COLOURS = {
    "black": (28, 24, 22),
    "brown": (96, 60, 34),
    "blonde": (214, 176, 104),
    "red": (168, 62, 30),
    "grey": (168, 168, 172),
}
HAIR_STYLES = ("short", "long", "bald", "bun")
EYE_COLOURS = {"brown": (92, 56, 30), "blue": (58, 118, 196), "green": (62, 140, 84), "grey": (120, 128, 136)}
SKIN_LIGHT, SKIN_DARK = np.array([246, 214, 190]), np.array([92, 58, 40])

# Canonical landmark positions in [0, 1] image coordinates, where FFHQ's alignment puts eyes and mouth.
LEFT_EYE, RIGHT_EYE, MOUTH = (0.375, 0.47), (0.625, 0.47), (0.5, 0.74)


@dataclass(frozen=True)
class PortraitFactors:
    """The labelled factors of one portrait; continuous ones in [0, 1] or [-1, 1], categorical as indices."""

    skin_tone: float  # 0 light .. 1 dark
    face_width: float  # 0 narrow .. 1 wide
    jaw: float  # 0 round .. 1 pointed chin
    hair_colour: int  # index into HAIR_COLOURS
    hair_style: int  # index into HAIR_STYLES
    eye_colour: int  # index into EYE_COLOURS
    smile: float  # -1 frown .. 1 broad smile
    mouth_open: float  # 0 closed .. 1 open
    yaw: float  # -1 turned to the viewer's left .. 1 right
    pitch: float  # -1 chin down .. 1 chin up (head tilt)
    glasses: int  # 0 / 1
    background_hue: float  # 0 .. 1
    lighting: float  # -1 lit from the left .. 1 from the right
    shirt_hue: float  # 0 .. 1 (nuisance)

    def as_vector(self) -> list[float]:
        return [float(getattr(self, f.name)) for f in fields(self)]

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


FACTOR_NAMES = tuple(f.name for f in fields(PortraitFactors))
CATEGORICAL = {
    "hair_colour": len(HAIR_COLOURS),
    "hair_style": len(HAIR_STYLES),
    "eye_colour": len(EYE_COLOURS),
    "glasses": 2,
}


def sample_factors(rng: np.random.Generator) -> PortraitFactors:
    return PortraitFactors(
        skin_tone=float(rng.beta(1.6, 1.6)),
        face_width=float(rng.uniform()),
        jaw=float(rng.uniform()),
        hair_colour=int(rng.integers(len(HAIR_COLOURS))),
        hair_style=int(rng.choice(len(HAIR_STYLES), p=[0.35, 0.35, 0.12, 0.18])),
        eye_colour=int(rng.integers(len(EYE_COLOURS))),
        smile=float(np.clip(rng.normal(0.3, 0.45), -1, 1)),
        mouth_open=float(rng.uniform() ** 2 if rng.uniform() < 0.5 else 0.0),
        yaw=float(np.clip(rng.normal(0, 0.45), -1, 1)),
        pitch=float(np.clip(rng.normal(0, 0.4), -1, 1)),
        glasses=int(rng.uniform() < 0.25),
        background_hue=float(rng.uniform()),
        lighting=float(rng.uniform(-1, 1)),
        shirt_hue=float(rng.uniform()),
    )


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return int(r * 255), int(g * 255), int(b * 255)


def _shade(colour: tuple[int, ...] | np.ndarray, k: float) -> tuple[int, int, int]:
    return tuple(int(np.clip(c * k, 0, 255)) for c in colour[:3])  # type: ignore[return-value]


def render_portrait(factors: PortraitFactors, size: int = 64, supersample: int = 4) -> Image.Image:
    """Draw the portrait described by `factors` as an RGB image of `size` x `size`."""
    S = size * supersample
    f = factors

    def pt(x: float, y: float) -> tuple[float, float]:  # unit coordinates -> canvas pixels
        return x * S, y * S

    def box(cx: float, cy: float, rx: float, ry: float) -> list[float]:
        return [cx * S - rx * S, cy * S - ry * S, cx * S + rx * S, cy * S + ry * S]

    bg_top = _hsv(f.background_hue, 0.35, 0.85)
    bg_bottom = _hsv(f.background_hue, 0.45, 0.6)
    ramp = np.linspace(0, 1, S)[:, None, None]
    canvas = (np.array(bg_top) * (1 - ramp) + np.array(bg_bottom) * ramp) * np.ones((1, S, 1))
    img = Image.fromarray(canvas.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)

    skin = tuple(int(v) for v in SKIN_LIGHT * (1 - f.skin_tone) + SKIN_DARK * f.skin_tone)
    hair = list(HAIR_COLOURS.values())[f.hair_colour]
    style = HAIR_STYLES[f.hair_style]
    head_dx = -0.08 * f.yaw  # the head outline moves against the turn; the eyes stay put
    head_dy = 0.04 * f.pitch
    cx, cy = 0.5 + head_dx, 0.53 + head_dy
    half_w = 0.25 + 0.06 * f.face_width
    half_h = 0.35

    # Long hair and buns behind the head, then shoulders and neck.
    if style == "long":
        draw.rounded_rectangle(box(cx, cy + 0.12, half_w + 0.07, half_h + 0.16), radius=int(0.12 * S), fill=hair)
    shirt = _hsv(f.shirt_hue, 0.55, 0.7)
    draw.ellipse(box(0.5 + head_dx * 0.4, 1.12, 0.48, 0.2), fill=shirt)
    draw.rectangle(box(0.5 + head_dx * 0.6, 0.92, 0.1, 0.1), fill=_shade(skin, 0.85))
    if style == "bun":
        draw.ellipse(box(cx, cy - half_h - 0.05, 0.1, 0.08), fill=hair)

    # Ears (the far one hides as the head turns), then the face with its chin.
    for side in (-1, 1):
        visible = 1.0 - max(0.0, side * f.yaw)
        if visible > 0.25:
            ex = cx + side * (half_w - 0.005)
            draw.ellipse(box(ex, 0.52 + head_dy * 0.5, 0.04 * visible, 0.07), fill=_shade(skin, 0.92))
    chin_y = cy + half_h + 0.03 * f.jaw
    face_mask = Image.new("L", (S, S), 0)
    mask_draw = ImageDraw.Draw(face_mask)
    mask_draw.ellipse(box(cx, cy - 0.02, half_w, half_h - 0.02), fill=255)
    jaw_pts = [
        pt(cx - half_w * 0.98, cy),
        pt(cx - half_w * (0.55 - 0.25 * f.jaw), chin_y - 0.06),
        pt(cx, chin_y),
        pt(cx + half_w * (0.55 - 0.25 * f.jaw), chin_y - 0.06),
        pt(cx + half_w * 0.98, cy),
    ]
    mask_draw.polygon(jaw_pts, fill=255)
    face_mask = face_mask.filter(ImageFilter.GaussianBlur(supersample * 0.5))
    img.paste(Image.new("RGB", (S, S), skin), (0, 0), face_mask)

    # Lighting: brighten one side of the face and darken the other.
    arr = np.asarray(img).astype(np.float32)
    xs = (np.arange(S) / S - cx) / half_w
    light = 1.0 + 0.22 * f.lighting * np.clip(xs, -1.2, 1.2)
    m = np.asarray(face_mask, np.float32)[..., None] / 255.0
    arr = arr * (1 - m) + np.clip(arr * light[None, :, None], 0, 255) * m
    img = Image.fromarray(arr.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)

    # Hair on top of the head.
    if style != "bald":
        top = box(cx, cy - half_h * 0.55, half_w + 0.02, half_h * 0.62)
        draw.chord(top, start=180, end=360, fill=hair)
        fringe_y = cy - half_h * 0.55
        draw.polygon(
            [
                pt(cx - half_w - 0.02, fringe_y),
                pt(cx + half_w + 0.02, fringe_y),
                pt(cx + half_w * 0.6, fringe_y + 0.05),
                pt(cx - half_w * 0.2, fringe_y + 0.03),
            ],
            fill=hair,
        )
        if style == "long":
            for side in (-1, 1):
                draw.rounded_rectangle(
                    box(cx + side * (half_w + 0.01), cy + 0.05, 0.05, half_h * 0.75), radius=int(0.04 * S), fill=hair
                )
    else:
        draw.chord(box(cx, cy - half_h * 0.55, half_w, half_h * 0.5), start=200, end=340, fill=_shade(skin, 1.06))

    # Eyes at the canonical positions; the far eye narrows with yaw.
    iris = list(EYE_COLOURS.values())[f.eye_colour]
    for (ex, ey), side in ((LEFT_EYE, -1), (RIGHT_EYE, 1)):
        squash = 1.0 - 0.35 * max(0.0, side * f.yaw)
        rx, ry = 0.06 * squash, 0.032
        look = 0.012 * f.yaw
        draw.ellipse(box(ex, ey, rx, ry), fill=(245, 245, 240))
        draw.ellipse(box(ex + look, ey, 0.025 * squash, 0.026), fill=iris)
        draw.ellipse(box(ex + look, ey, 0.011 * squash, 0.012), fill=(15, 12, 12))
        brow_y = ey - 0.065 - 0.012 * f.pitch
        draw.line(
            [pt(ex - rx * 1.1, brow_y + 0.008), pt(ex, brow_y - 0.004), pt(ex + rx * 1.1, brow_y + 0.006)],
            fill=_shade(hair, 0.8),
            width=max(1, int(0.014 * S)),
        )

    # Nose: follows the turn and shortens as the chin goes up.
    nx = 0.5 + 0.05 * f.yaw
    nose_len = 0.15 - 0.035 * f.pitch
    tip = pt(nx + 0.014 * np.sign(f.yaw or 1), 0.5 + nose_len)
    draw.line(
        [pt(nx - 0.005, 0.5), tip, pt(nx - 0.025, 0.5 + nose_len)], fill=_shade(skin, 0.7), width=max(1, int(0.012 * S))
    )

    # Mouth: a curve bent by the smile, opened into a dark gap with teeth.
    mx, my = MOUTH[0] + 0.02 * f.yaw, MOUTH[1]
    half_mouth = 0.09 + 0.025 * max(f.smile, 0)
    bend = -0.04 * f.smile  # a smile lowers the middle of the mouth below its corners
    gap = 0.055 * f.mouth_open
    xs_m = np.linspace(-1, 1, 24)
    upper = [pt(mx + half_mouth * x, my - bend * (1 - x * x) + bend * 0.3 - gap * 0.3 * (1 - x * x)) for x in xs_m]
    lower = [pt(mx + half_mouth * x, my - bend * (1 - x * x) + bend * 0.3 + gap * (1 - x * x)) for x in xs_m[::-1]]
    lip = _shade(np.array(skin) * 0.6 + np.array([170, 60, 60]) * 0.4, 1.0)
    if gap > 0.004:
        draw.polygon(upper + lower, fill=(60, 20, 24))
        teeth = [
            pt(mx + half_mouth * 0.7 * x, my - bend * (1 - x * x) + bend * 0.3 - gap * 0.3 * (1 - x * x) + 0.004)
            for x in xs_m
        ]
        draw.line(teeth, fill=(240, 236, 228), width=max(1, int(gap * 0.35 * S)))
    draw.line(upper, fill=lip, width=max(1, int(0.016 * S)))
    if gap > 0.004:
        draw.line(lower, fill=lip, width=max(1, int(0.016 * S)))

    if f.glasses:
        frame = (30, 30, 36)
        for ex, ey in (LEFT_EYE, RIGHT_EYE):
            draw.rounded_rectangle(
                box(ex, ey + 0.005, 0.09, 0.06), radius=int(0.035 * S), outline=frame, width=max(1, int(0.012 * S))
            )
        draw.line(
            [pt(LEFT_EYE[0] + 0.09, LEFT_EYE[1]), pt(RIGHT_EYE[0] - 0.09, RIGHT_EYE[1])],
            fill=frame,
            width=max(1, int(0.01 * S)),
        )

    return img.resize((size, size), Image.Resampling.LANCZOS)


def render(seed: int, size: int = 64) -> tuple[Image.Image, PortraitFactors]:
    """The portrait of `seed`: the same image and factors on every machine."""
    factors = sample_factors(np.random.default_rng(seed))
    return render_portrait(factors, size), factors


def factor_grid(seeds: list[int], size: int = 64) -> Image.Image:
    """A contact sheet of portraits, for looking at the renderer."""
    cols = math.ceil(math.sqrt(len(seeds)))
    rows = math.ceil(len(seeds) / cols)
    sheet = Image.new("RGB", (cols * size, rows * size))
    for i, seed in enumerate(seeds):
        sheet.paste(render(seed, size)[0], ((i % cols) * size, (i // cols) * size))
    return sheet
