"""tools.outdir: location checks before the work, staged writes swapped in whole, umask permissions, the lock."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tools.errors import InputError
from tools.files import atomic_write_bytes
from tools.outdir import OutputDir, check_location, lock_dir, umask


def _tree(p: Path) -> dict[str, bytes]:
    return {str(f.relative_to(p)): f.read_bytes() for f in sorted(p.rglob("*")) if f.is_file()}


def test_a_second_run_replaces_the_first_whole(tmp_path):
    out = tmp_path / "o"
    OutputDir(out, owned=("a", "b", "c")).write_files({"a": b"1", "b": b"1"})
    OutputDir(out, owned=("a", "b", "c")).write_files({"a": b"2", "c": b"2"})
    assert _tree(out) == {"a": b"2", "c": b"2"}  # b of the first run is gone: one run, never a mix
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]  # no staging or old folder left


def test_files_of_others_in_the_folder_are_kept(tmp_path):
    out = tmp_path / "o"
    OutputDir(out, owned=("a", "b")).write_files({"a": b"1", "b": b"1"})
    (out / "again").mkdir()
    (out / "again" / "x").write_bytes(b"mine")
    OutputDir(out, owned=("a", "b")).write_files({"a": b"2"})
    assert _tree(out) == {"a": b"2", "again/x": b"mine"}
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_a_failure_inside_the_block_leaves_the_earlier_run(tmp_path):
    out = tmp_path / "o"
    OutputDir(out, owned=("a",)).write_files({"a": b"old"})
    with pytest.raises(RuntimeError), OutputDir(out, owned=("a",)).stage() as st:
        (st / "a").write_bytes(b"new")
        raise RuntimeError("boom")
    assert _tree(out) == {"a": b"old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_an_existing_file_is_refused_before_the_work(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"x")
    with pytest.raises(InputError, match=r"--out .*f is an existing file, not a folder"):
        OutputDir(f)
    with pytest.raises(InputError, match="is a file, so no folder can be made under it"):
        check_location(f / "sub")
    assert f.read_bytes() == b"x"


def test_more_space_than_the_disk_has_is_refused(tmp_path):
    with pytest.raises(InputError, match="free on its disk, and the outputs need about"):
        OutputDir(tmp_path / "o", need_bytes=1 << 62)
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere; the read-only mount case is in test_faults")
def test_a_folder_without_write_permission_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(InputError, match="no permission to write in"):
            OutputDir(ro / "o")
    finally:
        ro.chmod(0o755)


def test_outputs_follow_the_umask(tmp_path):
    code = (
        "import os, sys; os.umask(0o027); from tools.outdir import OutputDir; from tools.files import "
        "atomic_write_bytes; OutputDir(sys.argv[1]).write_files({'a': b'1'}); atomic_write_bytes(sys.argv[2], b'2')"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "o"), str(tmp_path / "f")], check=True)
    assert stat.S_IMODE((tmp_path / "o" / "a").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "o").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o640
    atomic_write_bytes(tmp_path / "g", b"3")
    assert stat.S_IMODE((tmp_path / "g").stat().st_mode) == 0o666 & ~umask()


def test_merge_mode_renames_files_into_a_folder_with_other_state(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "results.jsonl").write_bytes(b"rows")
    OutputDir(out, owned=("report.json", "plot.png"), merge=True).write_files({"report.json": b"r1", "plot.png": b"p"})
    OutputDir(out, owned=("report.json", "plot.png"), merge=True).write_files({"report.json": b"r2"})
    assert _tree(out) == {"report.json": b"r2", "results.jsonl": b"rows"}


def test_the_current_folder_is_never_renamed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep").write_bytes(b"k")
    OutputDir(Path("."), owned=("a",)).write_files({"a": b"1"})
    assert _tree(tmp_path) == {"a": b"1", "keep": b"k"}
    assert Path.cwd() == tmp_path


def test_a_stale_staging_folder_of_a_dead_run_is_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".o.stage-{int(dead.stdout)}-abcd1234"
    stale.mkdir()
    (stale / "a").write_bytes(b"half")
    OutputDir(tmp_path / "o").write_files({"a": b"1"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_the_lock_names_its_holder(tmp_path):
    code = "import sys, time; from tools.outdir import lock_dir; from pathlib import Path\n" \
           "with lock_dir(Path(sys.argv[1]), 'socio eval'):\n    print('held', flush=True); time.sleep(60)"  # fmt: skip
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        busy = rf"in use by another socio eval \(pid {holder.pid}\)"
        with pytest.raises(InputError, match=busy), lock_dir(tmp_path, "socio eval"):
            pass
    finally:
        holder.kill()
        holder.wait()
    with lock_dir(tmp_path, "socio eval"):  # the kernel released the killed holder's lock
        assert (tmp_path / ".lock").read_text().strip() == str(os.getpid())
