import pytest

from prompts import PROMPT_NAMES, load_prompt, placeholders, template_path
from tools.errors import InputError


def test_packaged_templates_fill_every_placeholder():
    for name in PROMPT_NAMES:
        used = placeholders(template_path(name).read_text())
        text = load_prompt(name, **{k: f"<{k}>" for k in used})
        assert "${" not in text and "<query>" in text
    assert placeholders(template_path("refine").read_text()) == {"query", "boxes", "frame_hint"}


def test_missing_and_unused_values_name_the_placeholder():
    with pytest.raises(InputError, match=r"\$\{query\}"):
        load_prompt("localize", frame_hint="pixels")
    with pytest.raises(InputError, match=r"\$\{boxes\}"):
        load_prompt("localize", query="q", frame_hint="pixels", boxes="[]")


def test_a_prompt_dir_swaps_templates(tmp_path):
    (tmp_path / "localize.txt").write_text("Find ${query} ($$5 per box) in ${frame_hint}.")
    assert load_prompt("localize", tmp_path, query="parks", frame_hint="pixels") == "Find parks ($5 per box) in pixels."
    with pytest.raises(InputError, match=r"refine\.txt not found"):
        load_prompt("refine", tmp_path, query="q", boxes="[]", frame_hint="f")


def test_a_stray_dollar_is_an_input_error(tmp_path):
    (tmp_path / "localize.txt").write_text("Find ${query} for $5 in ${frame_hint}.")
    with pytest.raises(InputError, match=r"write \$\$"):
        load_prompt("localize", tmp_path, query="q", frame_hint="f")
