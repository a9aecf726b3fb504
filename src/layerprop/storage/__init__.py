"""Files on disk, written and read safely: :mod:`.atomic` (every write goes to a temporary file that
is renamed into place, so a crash leaves the old file or the new one, never half of one) and
:mod:`.npyformat` (the header of a ``.npy`` entry, read and checked before any array is allocated)."""

from .atomic import atomic_write, fsync_directory, remove_leftover_temporaries, write_bytes
from .npyformat import read_npy_header

__all__ = ["atomic_write", "write_bytes", "fsync_directory", "remove_leftover_temporaries", "read_npy_header"]
