"""SystemPrompt: a prompt's text, name and version, from code or from a file."""

import hashlib
from pathlib import Path

import pytest

from agentcore.errors import ConfigurationError
from agentcore.prompts import SystemPrompt, content_version

TEXT = "You triage support tickets.\nAnswer with one category."


def test_version_defaults_to_a_hash_of_the_text() -> None:
    prompt = SystemPrompt(TEXT, name="triage")

    assert prompt.version == content_version(TEXT)
    assert prompt.version == "sha256:" + hashlib.sha256(TEXT.encode()).hexdigest()[:12]


def test_any_edit_changes_the_default_version() -> None:
    assert SystemPrompt(TEXT).version != SystemPrompt(TEXT + " ").version


def test_str_is_the_text() -> None:
    assert str(SystemPrompt(TEXT, version="v1")) == TEXT


def test_explicit_version_is_kept() -> None:
    assert SystemPrompt(TEXT, name="triage", version="v7").version == "v7"


def test_empty_prompt_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="system prompt 'triage' is empty"):
        SystemPrompt("  \n", name="triage")


class TestFromFile:
    def test_plain_file_is_named_after_its_stem_and_versioned_by_hash(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "triage.md"
        path.write_text(TEXT + "\n", encoding="utf-8")

        assert SystemPrompt.from_file(path) == SystemPrompt(
            TEXT, name="triage", version=content_version(TEXT)
        )

    def test_front_matter_sets_name_and_version(self, tmp_path: Path) -> None:
        path = tmp_path / "prompt.txt"
        path.write_text(
            f"---\nname: support-triage\nversion: '2026-03-01'\n---\n\n{TEXT}\n", encoding="utf-8"
        )

        assert SystemPrompt.from_file(path) == SystemPrompt(
            TEXT, name="support-triage", version="2026-03-01"
        )

    def test_front_matter_without_version_uses_the_hash_of_the_body(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "prompt.txt"
        path.write_text(f"---\nname: triage\n---\n{TEXT}", encoding="utf-8")

        assert SystemPrompt.from_file(path).version == content_version(TEXT)

    def test_arguments_override_the_front_matter(self, tmp_path: Path) -> None:
        path = tmp_path / "prompt.txt"
        path.write_text(f"---\nname: a\nversion: 1\n---\n{TEXT}", encoding="utf-8")

        prompt = SystemPrompt.from_file(path, name="b", version="2")

        assert (prompt.name, prompt.version) == ("b", "2")

    def test_unknown_front_matter_key_names_the_line(self, tmp_path: Path) -> None:
        path = tmp_path / "prompt.txt"
        path.write_text(f"---\nverison: 2\n---\n{TEXT}", encoding="utf-8")

        with pytest.raises(ConfigurationError, match=r"line 2: .*'verison: 2'"):
            SystemPrompt.from_file(path)

    def test_unclosed_front_matter_is_an_error(self, tmp_path: Path) -> None:
        path = tmp_path / "prompt.txt"
        path.write_text("---\nname: a\nversion: 1\n", encoding="utf-8")

        with pytest.raises(ConfigurationError, match="never closed"):
            SystemPrompt.from_file(path)

    def test_missing_file_is_a_configuration_error_naming_it(self, tmp_path: Path) -> None:
        path = tmp_path / "absent.md"

        with pytest.raises(ConfigurationError, match=r"absent\.md.*No such file"):
            SystemPrompt.from_file(path)

    def test_file_is_read_when_loaded_not_before(self, tmp_path: Path) -> None:
        """Editing the file and loading it again gives the new version."""
        path = tmp_path / "p.md"
        path.write_text("first", encoding="utf-8")
        first = SystemPrompt.from_file(path)
        path.write_text("second", encoding="utf-8")

        assert SystemPrompt.from_file(path).version != first.version
