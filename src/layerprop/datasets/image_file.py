"""Turn a picture of a digit (PNG, JPEG, …, any size) into an MNIST-like 28×28 sample.

MNIST digits are white on black, fitted into a 20×20 box and centred by their centre of mass in a
28×28 frame. :func:`load_digit_image` does the same to a user's picture: grey scale, inverted when
the background is light, cropped to the digit, scaled to fit 20×20, and centred by mass.
Pillow is an optional extra (``pip install 'layerprop[image]'``).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import DataFileError, missing_extra


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise missing_extra("Pillow", "image", "Reading image files") from None
    return Image


#: The largest picture :func:`load_digit_image` decodes (about a 48-megapixel photo); the size is
#: read from the file's header, so a larger one is refused before any pixel is decoded.
MAX_PIXELS = 50_000_000
#: Pictures are reduced to at most this many pixels on their longer side before they are turned
#: into floats (a digit needs far fewer), so a large photo costs little memory.
WORKING_SIDE = 1024


def load_digit_image(path) -> np.ndarray:
    """Read ``path`` and return a float32 array of shape (28, 28) in [0, 1], MNIST-style.

    A picture larger than :data:`MAX_PIXELS` is refused with :class:`DataFileError` before it is
    decoded (Pillow's decompression-bomb warning never reaches the user).
    """
    Image = _pillow()
    try:
        with warnings.catch_warnings():
            # our own limit below is lower than Pillow's, and says so in one clear message
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise DataFileError(
                        f"{path}: the image is {width}x{height} = {width * height} pixels; at most "
                        f"{MAX_PIXELS} are accepted (scale it down first)"
                    )
                image.draft("L", (WORKING_SIDE, WORKING_SIDE))  # JPEG: decode at a lower scale
                image.load()
                if max(image.size) > WORKING_SIDE:
                    image = image.copy()
                    image.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.BILINEAR)
                grey = _grey_levels(image)
    except Image.DecompressionBombError as exc:
        raise DataFileError(f"{path}: the image is too large to decode safely ({exc})") from None
    except (OSError, ValueError) as exc:
        if isinstance(exc, DataFileError):
            raise
        raise DataFileError(f"{path}: not a readable image ({exc})") from None
    return mnist_like(grey, Image, str(path))


def _grey_levels(image) -> np.ndarray:
    """The picture as grey levels in [0, 1].

    A picture with transparency (a digit drawn on a transparent canvas) is read by its opacity,
    ink = opaque, whatever the ink's colour: its colour channels under the transparent pixels are
    arbitrary (often black, which would hide black ink).
    """
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        alpha = np.asarray(image.convert("RGBA").getchannel("A"), dtype=np.float32) / 255.0
        if alpha.min() < alpha.max():
            return alpha
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
