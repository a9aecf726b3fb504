"""Turn a picture of a digit (PNG, JPEG, …, any size) into an MNIST-like 28×28 sample.

MNIST digits are white on black, fitted into a 20×20 box and centred by their centre of mass in a
28×28 frame. :func:`load_digit_image` does the same to a user's picture: grey scale, inverted when
the background is light, cropped to the digit, scaled to fit 20×20, and centred by mass.
Pillow is an optional extra (``pip install 'layerprop[image]'``).

A picture is untrusted input, so before a pixel is decoded:

- the file must be a regular file (a FIFO or a device is refused, never waited on);
- its format must be one of :data:`FORMATS`, which Pillow decodes itself — formats that Pillow
  hands to another program (EPS and PostScript run Ghostscript) are never tried;
- its size, read from the header, is checked on both sides (:data:`MAX_SIDE`), in pixels
  (:data:`MAX_PIXELS`) and in the bytes Pillow will hold once it is decoded, which depend on the
  mode (1 byte a pixel for grey, 2 for 16-bit grey, 4 for RGB and RGBA): at most
  :data:`MAX_DECODED_BYTES`. A JPEG is decoded at a reduced scale where that is enough.

The decoded picture is then reduced by whole pixel boxes to at most :data:`WORKING_SIDE` pixels a
side before it is turned into floats (Pillow's ``reduce`` for most modes; NumPy box means for
1-bit and 16-bit grey, whose levels are scaled from 0–65535, and every k-th pixel for palette
pictures, band by band), so nothing near the size of the decoded picture is allocated besides it.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..errors import DataFileError, NotRegularFileError, missing_extra
from ..storage.inputs import open_input


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise missing_extra("Pillow", "image", "Reading image files") from None
    return Image


#: The formats decoded (Pillow's names); any other file is refused before it is decoded.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM")
#: The largest picture :func:`load_digit_image` decodes (about a 48-megapixel photo); the size is
#: read from the file's header, so a larger one is refused before any pixel is decoded.
MAX_PIXELS = 50_000_000
#: The longest side accepted, in pixels (a 50,000,000×1 strip is no picture of a digit).
MAX_SIDE = 30_000
#: The most bytes the decoded picture may take in Pillow's memory (7000×7000 in 16-bit grey is
#: 98 MB; the same in RGBA, 196 MB, is refused).
MAX_DECODED_BYTES = 100_000_000
#: Pictures are reduced to at most this many pixels on their longer side before they are turned
#: into floats (a digit needs far fewer), so a large photo costs little memory.
WORKING_SIDE = 1024
#: Bytes a pixel takes once Pillow has decoded it, by mode (every other mode takes 4).
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
#: Modes that ``Image.reduce`` takes.
_REDUCIBLE = frozenset({"L", "LA", "La", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "I", "F"})


def load_digit_image(path) -> np.ndarray:
    """Read ``path`` and return a float32 array of shape (28, 28) in [0, 1], MNIST-style.

    A picture refused by the checks of the module docstring raises :class:`DataFileError` before
    it is decoded (Pillow's decompression-bomb warning never reaches the user); a FIFO, a device or
    a folder raises :class:`~layerprop.errors.NotRegularFileError`.
    """
    Image = _pillow()
    handle, _ = open_input(path, what="picture")
    try:
        with handle, warnings.catch_warnings():
            # our own limits below are lower than Pillow's, and say so in one clear message
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(handle, formats=FORMATS) as image:
                _check_size(path, image, image.size)
                image.draft("L", (WORKING_SIDE, WORKING_SIDE))  # JPEG: decode at a lower scale
                _check_size(path, image, image.size)  # what will be decoded (after draft)
                image.load()
                grey = _grey_levels(_reduced(image))
    except Image.UnidentifiedImageError:
        raise DataFileError(
            f"{path}: not a readable image: not one of the formats read ({', '.join(FORMATS)}); other "
            "formats are refused without being decoded (EPS, for one, would run Ghostscript)"
        ) from None
    except Image.DecompressionBombError as exc:
        raise DataFileError(f"{path}: the image is too large to decode safely ({exc})") from None
    except (OSError, ValueError) as exc:
        if isinstance(exc, (DataFileError, NotRegularFileError)):
            raise
        raise DataFileError(f"{path}: not a readable image ({exc})") from None
    return mnist_like(grey, Image, str(path))


def _check_size(path, image, size) -> None:
    """Refuse a picture too long on a side, of too many pixels, or too large once decoded."""
    width, height = size
    pixels = width * height
    decoded = pixels * _PIXEL_BYTES.get(image.mode, 4)
    problem = None
    if max(width, height) > MAX_SIDE:
        problem = f"a side of more than {MAX_SIDE} pixels"
    elif pixels > MAX_PIXELS:
        problem = f"at most {MAX_PIXELS} pixels are accepted"
    elif decoded > MAX_DECODED_BYTES:
        problem = (
            f"decoded in mode {image.mode} it would take {decoded} bytes; at most {MAX_DECODED_BYTES} are accepted"
        )
    if problem:
        raise DataFileError(f"{path}: the image is {width}x{height} = {pixels} pixels ({problem}); scale it down first")


def _reduced(image):
    """``image`` reduced by whole boxes of pixels to at most WORKING_SIDE a side (or itself)."""
    factor = math.ceil(max(image.size) / WORKING_SIDE)
    if factor <= 1:
        return image
    if image.mode in _REDUCIBLE:
        return image.reduce(factor)
    # "1", "P", 16-bit grey: band by band, so no copy of the whole decoded picture is made
    width, height = image.size
    rows = factor * max(1, (4 << 20) // max(1, width * factor * 2))  # bands of about 4 MB
    bands = []
    for top in range(0, height, rows):
        a = np.asarray(image.crop((0, top, width, min(top + rows, height))))
        if image.mode == "P":  # palette indices are not levels: keep every factor-th pixel
            bands.append(a[::factor, ::factor])
            continue
        h, w = (a.shape[0] // factor) * factor, (a.shape[1] // factor) * factor
        if h == 0 or w == 0:  # thinner than one box: every factor-th pixel along it
            bands.append(np.asarray(a[::factor, ::factor], dtype=np.float32))
        else:
            bands.append(
                a[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3), dtype=np.float32)
            )
    reduced = np.concatenate(bands, axis=0)
    if image.mode == "P":
        return _palette_image(image, np.ascontiguousarray(reduced))
    scale = np.float32(65535.0 if image.mode.startswith("I;16") else 1.0)  # "1" is 0 or 1 already
    return _FloatPicture(reduced / scale)


def _palette_image(image, indices):
    Image = _pillow()
    small = Image.fromarray(indices, "P")
    small.putpalette(image.getpalette())
    if "transparency" in image.info:
        small.info["transparency"] = image.info["transparency"]
    return small


class _FloatPicture:
    """Grey levels in [0, 1] already worked out (box means of a 1-bit or 16-bit picture)."""

    mode = "levels"

    def __init__(self, levels: np.ndarray):
        self.levels = levels


def _grey_levels(image) -> np.ndarray:
    """The picture as grey levels in [0, 1].

    A picture with transparency (a digit drawn on a transparent canvas) is read by its opacity,
    ink = opaque, whatever the ink's colour: its colour channels under the transparent pixels are
    arbitrary (often black, which would hide black ink). 16-bit grey is scaled from 0–65535,
    32-bit integer and float pictures from their own range (0–1, 0–255 or 0–65535).
    """
    if isinstance(image, _FloatPicture):
        return image.levels
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        alpha = np.asarray(image.convert("RGBA").getchannel("A"), dtype=np.float32) / 255.0
        if alpha.min() < alpha.max():
            return alpha
    if image.mode.startswith("I;16"):
        return np.asarray(image, dtype=np.float32) / 65535.0
    if image.mode in ("I", "F"):
        a = np.asarray(image, dtype=np.float32)
        top = float(a.max()) if a.size else 0.0
        scale = next((s for s in (1.0, 255.0, 65535.0) if top <= s), top)
        return np.clip(a / np.float32(scale), 0.0, 1.0)
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


# The brightest border pixel a 28×28 picture may have to be taken as an MNIST sample as it is.
_MNIST_BORDER = 0.1


def mnist_like(grey: np.ndarray, Image=None, name: str = "image") -> np.ndarray:
    """Centre and scale a grey image (values in [0, 1]) the way MNIST digits are."""
    Image = Image or _pillow()
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if border.mean() > 0.5:  # dark digit on a light background: invert to MNIST's white on black
        grey = 1.0 - grey
        border = 1.0 - border
    if grey.shape == (28, 28) and border.max() <= _MNIST_BORDER and grey.max() > 0.05:
        # already an MNIST sample (28×28, digit inside a clean black frame): any cropping or
        # rescaling would only distort it
        return grey.astype(np.float32)
    grey = np.clip(grey - np.median(border), 0.0, None)
    if grey.max() <= 0.05:
        raise DataFileError(f"{name}: the image is blank (no digit found)")
    grey = grey / grey.max()
    rows = np.flatnonzero(grey.max(axis=1) > 0.1)
    cols = np.flatnonzero(grey.max(axis=0) > 0.1)
    digit = grey[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = digit.shape
    scale = 20.0 / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    resized = Image.fromarray((digit * 255).astype(np.uint8)).resize((new_w, new_h), Image.LANCZOS)
    patch = np.asarray(resized, dtype=np.float32) / 255.0
    frame = np.zeros((28, 28), dtype=np.float32)
    total = patch.sum()
    cy = (patch.sum(axis=1) @ np.arange(new_h)) / total
    cx = (patch.sum(axis=0) @ np.arange(new_w)) / total
    top = int(np.clip(round(13.5 - cy), 0, 28 - new_h))
    left = int(np.clip(round(13.5 - cx), 0, 28 - new_w))
    frame[top : top + new_h, left : left + new_w] = patch
    return frame
