"""Files that hold models — never code.

- :mod:`.model_file`: layerprop's model files (an ``.npz`` archive with a JSON header and plain
  arrays, read with ``allow_pickle=False``): :func:`save_model`, :func:`load_model`,
  :func:`read_model_file`;
- :mod:`.book_pickle`: the book's trained-weight pickles, read by a restricted unpickler that
  accepts only a dict of NumPy arrays (:func:`load_book_pickle`).
"""

from .book_pickle import load_book_pickle, scan_pickle
from .model_file import FORMAT, FORMAT_VERSION, LoadedModel, load_model, read_model_file, save_model

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "LoadedModel",
    "save_model",
    "load_model",
    "read_model_file",
    "load_book_pickle",
    "scan_pickle",
]
