"""The one way a command writes an output folder: check the place first, stage the files, swap them in whole.

Every command that writes a folder (``socio segment``, ``demo``, ``synth``, ``ask``, an eval's report, a
training checkpoint) goes through `OutputDir`:

1. **Before the work** (`OutputDir` construction, `check_location`): the location must not be an existing
   file, the nearest existing folder must be writable (not a read-only file system, not someone else's) and
   hold at least ``need_bytes`` free (`shutil.disk_usage`). Each failure is an `InputError` (exit 2) that
   names the path and the fix, raised before anything is computed.
2. **The files** are written into a temporary sibling folder (``.NAME.stage-PID-XXXX`` next to the target),
   with the permissions the umask gives (0666/0777 minus the umask, never the 0600 of `tempfile`), and fsynced.
   `OutputDir.write_files` checks the free space for the exact bytes first.
3. **The swap**: when the target is absent, or holds only this command's files (``owned``), the staged
   folder replaces it whole through renames (old -> ``.NAME.old-PID``, staged -> NAME, old removed), so the
   folder holds one run or the other, never a mix. When the target holds other files too (a folder of the
   user's, a mount point, the current folder, ``merge=True``), the staged files are renamed into it one by one
   after the previous run's owned files are removed: renames need no space, so a full disk still fails
   before anything in the target changed.

A failure while writing (no space, a file-size limit, a read-only remount, permission) removes the staged
folder, leaves the previous outputs as they were, and is raised as an `InputError` naming the path, the
system's reason and the fix. `lock_dir` gives a folder one writer at a time (`socio eval --out`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import uuid
from collections.abc import Collection, Iterator
from pathlib import Path

from tools.errors import InputError

WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
"""OS errors that mean "this place cannot take the outputs" (the user's to fix: exit 2), not a bug."""

MIN_FREE = 64 * 1024
"""Free bytes a location must have before any work starts (the exact need is checked before writing)."""


def umask() -> int:
    """Return the process umask without changing it (Linux reads /proc; elsewhere set and restore)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def file_mode() -> int:
    """Return the mode a new file gets under the umask (0644 under the usual 022)."""
    return 0o666 & ~umask()


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def _existing_ancestor(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_location(target: Path, flag: str = "--out", need_bytes: int = MIN_FREE) -> None:
    """Check that ``target`` can become an output folder, before any work.

    Raises:
        InputError: it is a file, the nearest existing folder is not writable or on a read-only file
            system, or the disk has less than ``need_bytes`` free.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise InputError(f"{flag} {target} is an existing file, not a folder; give a folder path "
                         f"(a new one, or an earlier output folder)")  # fmt: skip
    base = _existing_ancestor(target)
    if not base.is_dir():
        raise InputError(f"{flag} {target}: {base} is a file, so no folder can be made under it; give another {flag}")
    if os.statvfs(base).f_flag & os.ST_RDONLY:
        raise InputError(f"{flag} {target}: {base} is on a read-only file system; give a {flag} on a writable disk")
    if not os.access(base, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {target}: no permission to write in {base}; give a {flag} you can write to")
    free = shutil.disk_usage(base).free
    if free < need_bytes:
        raise InputError(f"{flag} {target}: only {_mb(free)} free on its disk, and the outputs need about "
                         f"{_mb(need_bytes)}; free some space or give a {flag} on another disk")  # fmt: skip


def write_failure(e: OSError, target: Path, flag: str = "--out") -> InputError:
    """Return the `InputError` for an OS error met while writing outputs to ``target``."""
    reason = os.strerror(e.errno) if e.errno else str(e)
    fixes = {errno.ENOSPC: "free some space on that disk or give a --out on another",
             errno.EDQUOT: "free some of your disk quota or give a --out on another disk",
             errno.EFBIG: "a file-size limit (ulimit -f) stopped the write: raise it or give a --out elsewhere",
             errno.EROFS: "give a --out on a writable disk"}  # fmt: skip
    fix = fixes.get(e.errno or 0, "give a --out you can write to")
    return InputError(f"could not write the outputs to {flag} {target}: {reason}; {fix.replace('--out', flag)} "
                      "(nothing was changed there: earlier outputs are intact)")  # fmt: skip


def _fsync_tree(root: Path) -> None:
    for dirpath, _, names in os.walk(root):
        for name in names:
            p = os.path.join(dirpath, name)
            if os.path.islink(p):
                continue
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OutputDir:
    """An output folder written whole: checked at construction, staged, then swapped in (see the module doc).

    Args:
        target: the folder.
        owned: the names this command writes at the folder's top level (their previous versions are
            replaced or removed); None: everything in the folder is this command's (a checkpoint).
        flag: the option that named the folder, for messages.
        need_bytes: free bytes to require before the work starts.
        merge: always rename files into the existing folder (a folder that also holds other state, such as
            an eval's resumable results), never swap the folder.
    """

    def __init__(self, target: str | Path, owned: Collection[str] | None = None, flag: str = "--out",
                 need_bytes: int = MIN_FREE, merge: bool = False) -> None:  # fmt: skip
        self.target = Path(target)
        self.owned = None if owned is None else frozenset(owned)
        self.flag = flag
        self.merge = merge
        check_location(self.target, flag, need_bytes)

    # ---------------------------------------------------------------------------------------------- staging

    def _merge_into_target(self) -> bool:
        t = self.target
        if not t.is_dir():
            return False
        if self.merge or os.path.ismount(t):
            return True
        here = Path.cwd().resolve()
        tr = t.resolve()
        if tr == here or tr in here.parents:
            return True
        return self.owned is not None and any(p.name not in self.owned and not self._ours(p.name) for p in t.iterdir())

    def _ours(self, name: str) -> bool:
        return name.startswith((f".{self.target.name}.stage-", ".stage-"))

    def _clean_stale(self, parent: Path) -> None:
        """Remove staging folders left by killed runs (their pid is gone)."""
        for p in parent.glob(".*stage-*"):
            try:
                pid = int(p.name.rsplit("stage-", 1)[1].split("-")[0])
            except (ValueError, IndexError):
                continue
            if pid != os.getpid() and not _pid_alive(pid):
                shutil.rmtree(p, ignore_errors=True)

    @contextlib.contextmanager
    def stage(self) -> Iterator[Path]:
        """Yield an empty staging folder to write the outputs into; commit it when the block ends cleanly.

        Raises:
            InputError: writing or committing failed for a reason of the location (no space, limits,
                permissions); the staged files are removed and the target is as it was.
        """
        try:
            self.target.absolute().parent.mkdir(parents=True, exist_ok=True)
            merge = self._merge_into_target()
            parent = self.target if merge else self.target.absolute().parent
            self._clean_stale(parent)
            prefix = ".stage-" if merge else f".{self.target.name}.stage-"
            staged = parent / f"{prefix}{os.getpid()}-{uuid.uuid4().hex[:8]}"
            staged.mkdir()  # mode 0777 minus the umask
        except OSError as e:
            if e.errno in WRITE_ERRNOS:
                raise write_failure(e, self.target, self.flag) from e
            raise
        try:
            yield staged
            _fsync_tree(staged)
            self._merge(staged) if merge else self._swap(staged)
        except OSError as e:
            shutil.rmtree(staged, ignore_errors=True)
            if e.errno in WRITE_ERRNOS:
                raise write_failure(e, self.target, self.flag) from e
            raise
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise

    def write_files(self, files: dict[str, bytes]) -> dict[str, Path]:
        """Write ``{name: bytes}`` as the folder's new contents (exact free space checked first).

        Returns:
            The final path of every file, by name.
        """
        need = sum(len(b) for b in files.values())
        base = _existing_ancestor(self.target)
        free = shutil.disk_usage(base).free
        if free < need:
            raise InputError(f"{self.flag} {self.target}: the outputs take {_mb(need)} and its disk has "
                             f"{_mb(free)} free; free some space or give a {self.flag} on another disk "
                             "(nothing was written)")  # fmt: skip
        with self.stage() as staged:
            for name, data in files.items():
                write_new_file(staged / name, data)
        return {name: self.target / name for name in files}

    # ----------------------------------------------------------------------------------------------- commit

    def _swap(self, staged: Path) -> None:
        """Put the staged folder in the target's place (the old one renamed away, then removed)."""
        t = self.target
        if not t.exists():
            os.rename(staged, t)
            return
        old = t.absolute().parent / f".{t.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.rename(t, old)
        try:
            os.rename(staged, t)
        except BaseException:
            os.rename(old, t)
            raise
        shutil.rmtree(old, ignore_errors=True)

    def _merge(self, staged: Path) -> None:
        """Rename the staged entries into the target; remove the previous run's owned entries first."""
        t = self.target
        new = {p.name for p in staged.iterdir()}
        for name in self.owned or ():
            p = t / name
            if name not in new and (p.exists() or p.is_symlink()):
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        for p in staged.iterdir():
            dest = t / p.name
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(p, dest)
        staged.rmdir()


def write_new_file(path: Path, data: bytes) -> Path:
    """Write bytes to a new file with the umask's permissions and fsync it."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return path


@contextlib.contextmanager
def lock_dir(folder: Path, what: str, flag: str = "--out") -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (a ``.lock`` file with this pid) while the block runs.

    Raises:
        InputError: another process holds it; the message names that process's pid.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, file_mode())
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise InputError(f"{flag} {folder} is in use by another {what} (pid {holder}); wait for it to "
                             f"finish or give another {flag}") from None  # fmt: skip
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock; a killed holder's lock is released by the kernel
