"""Files on disk, written and read safely: :mod:`.atomic` (every write goes to a temporary file that
is renamed into place, so a crash leaves the old file or the new one, never half of one; links are
written through, devices and FIFOs never replaced), :mod:`.inputs` (every read opens a regular file
of known size, never a FIFO or a device) and :mod:`.npyformat` (the header of a ``.npy`` entry,
read and checked before any array is allocated)."""

from .atomic import atomic_write, fsync_directory, remove_leftover_temporaries, replaced_file, write_bytes
from .inputs import open_input, read_input
from .npyformat import read_npy_header

__all__ = [
    "atomic_write",
    "write_bytes",
    "fsync_directory",
    "remove_leftover_temporaries",
    "replaced_file",
    "open_input",
    "read_input",
    "read_npy_header",
]
