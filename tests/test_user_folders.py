"""Nothing the user owns is deleted or renamed, and user text is checked where the workflow lives: each row is a
command line that once replaced a folder, renamed a file, wrote into the working directory or ended in a
traceback; each must exit 2 with a message saying what to do, and leave every file as it was."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lab import cli

SCHEMAS = {"not-json.json": "{bad", "a-list.json": "[1, 2]", "latin1.json": None, "no-properties.json": "{}",
           "not-a-schema.json": '{"type": 5, "properties": {"answer": {}}}', "deep.json": "[" * 50_000}


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A data directory, a user's folder with their files, a user's file, bad schemas; the snapshot of it all."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("LAB_DATA_DIR", str(data))
    user = tmp_path / "mine"
    user.mkdir()
    (user / "thesis.tex").write_text("my work")
    (user / "train.jsonl").write_text('{"prompt": "mine", "completion": "mine"}\n')
    (tmp_path / "notes.txt").write_text("my notes")
    (tmp_path / "mine.old").mkdir()
    (tmp_path / "mine.old" / "keep.txt").write_text("keep")
    (tmp_path / "ok.jsonl").write_text('{"prompt": "p", "completion": "c"}\n' * 12)
    (tmp_path / "deep.jsonl").write_text('{"question": ' + "[" * 100_000 + "]" * 100_000 + ', "answer": "a"}\n')
    (tmp_path / "kind-list.jsonl").write_text(json.dumps({"question": "q?", "answer": "a", "kind": ["x"]}) + "\n")
    (tmp_path / "big-cell.csv").write_text('question,answer\n"' + "x" * 140_000 + '",a\n')
    for name, text in SCHEMAS.items():
        if text is None:
            (tmp_path / name).write_bytes('{"properties": {"réponse": {}}'.encode("latin-1"))
        else:
            (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and "data" not in p.relative_to(root).parts}


CASES = [  # (id, argv, words the message must contain)
    ("train-out-a-user-folder", ["train", "--data", "ok.jsonl", "--out", "mine"], "already holds files the lab"),
    ("train-out-a-user-file", ["train", "--data", "ok.jsonl", "--out", "notes.txt"], "is a file, not a folder"),
    ("train-out-empty", ["train", "--data", "ok.jsonl", "--out", ""], "is empty"),
    ("train-out-blank", ["train", "--data", "ok.jsonl", "--out", "  "], "is empty"),
    ("behaviour-out-a-user-folder", ["golden", "behaviour", "sample", "--schema", "no-properties.json", "--out",
                                     "mine"], "has no 'properties'"),
    ("behaviour-out-a-user-folder-good-schema", ["golden", "behaviour", "sample", "--examples", "notes.txt",
                                                 "--out", "mine"], "already holds files the lab"),
    ("behaviour-out-a-user-file", ["golden", "behaviour", "sample", "--examples", "notes.txt", "--out",
                                   "notes.txt"], "is a file, not a folder"),
    ("behaviour-out-empty", ["golden", "behaviour", "sample", "--examples", "notes.txt", "--out", ""], "is empty"),
    ("behaviour-schema-not-json", ["golden", "behaviour", "sample", "--schema", "not-json.json", "--out", "new"],
     "is not valid JSON (line 1, column 2)"),
    ("behaviour-schema-a-list", ["golden", "behaviour", "sample", "--schema", "a-list.json", "--out", "new"],
     "must be an object"),
    ("behaviour-schema-latin1", ["golden", "behaviour", "sample", "--schema", "latin1.json", "--out", "new"],
     "is not valid JSON"),
    ("behaviour-schema-invalid", ["golden", "behaviour", "sample", "--schema", "not-a-schema.json", "--out", "new"],
     "is not a valid JSON Schema"),
    ("behaviour-schema-deep", ["golden", "behaviour", "sample", "--schema", "deep.json", "--out", "new"],
     "nested too deeply"),
    ("behaviour-schema-missing", ["golden", "behaviour", "sample", "--schema", "nope.json", "--out", "new"],
     "is not a file"),
    ("behaviour-both-formats", ["golden", "behaviour", "sample", "--schema", "no-properties.json", "--examples",
                                "notes.txt", "--out", "new"], "one of the two"),
    ("sweep-sizes-a-word", ["sweep", "--sizes", "256,abc", "--questions", "ok.jsonl"], "'abc' is not a whole number"),
    ("sweep-sizes-negative", ["sweep", "--sizes", "-5", "--questions", "ok.jsonl"], "not a whole number"),
    ("sweep-sizes-huge", ["sweep", "--sizes", "9" * 5000, "--questions", "ok.jsonl"], "not a whole number"),
    ("sweep-sizes-twice", ["sweep", "--sizes", "256,256", "--questions", "ok.jsonl"], "given twice"),
    ("sweep-sizes-none", ["sweep", "--sizes", ",", "--questions", "ok.jsonl"], "at least one chunk size"),
    ("golden-100k-deep-json", ["retrieval-eval", "--questions", "deep.jsonl"], "nested too deeply"),
    ("golden-kind-a-list", ["retrieval-eval", "--questions", "kind-list.jsonl"], "kind must be text"),
    ("golden-csv-cell-over-128k", ["golden", "import", "big-cell.csv"], "field larger than field limit"),
    ("golden-add-pick-a-word", ["golden", "add", "s", "--question", "q", "--answer", "a", "--pick", "abc"],
     "--pick takes hit numbers"),
    ("golden-add-k-negative", ["golden", "add", "s", "--question", "q", "--answer", "a", "--k", "-5"],
     "--k must be 1-50"),
    ("report-volume-huge", ["report", "r1", "--out", "r.html", "--volume", "9" * 30], "--volume must be"),
    ("report-months-negative", ["report", "r1", "--out", "r.html", "--months", "-5"], "--months must be 1-600"),
    ("search-k-5000-digits", ["search", "q", "--k", "9" * 5000], "invalid int value"),
    ("ask-question-not-utf8", ["ask", "bad \udcff\udcfe", "--paths", "prompt"], "is not valid UTF-8 text"),
    ("search-query-not-utf8", ["search", "\udcff"], "is not valid UTF-8 text"),
    ("golden-add-answer-not-utf8", ["golden", "add", "s", "--question", "q", "--answer", "\udce9"],
     "is not valid UTF-8 text"),
    ("ask-endpoint-port-too-big", ["ask", "q", "--paths", "prompt", "--endpoint-url", "http://127.0.0.1:99999/v1",
                                   "--endpoint-model", "m"], "Port out of range"),
    ("ask-endpoint-port-a-word", ["ask", "q", "--paths", "prompt", "--endpoint-url", "http://127.0.0.1:abc/v1",
                                  "--endpoint-model", "m"], "is not valid"),
    ("ask-endpoint-ipv6-unclosed", ["ask", "q", "--paths", "prompt", "--endpoint-url", "http://[::1/v1",
                                    "--endpoint-model", "m"], "Invalid IPv6 URL"),
    ("ask-endpoint-ipv6-not-an-address", ["ask", "q", "--paths", "prompt", "--endpoint-url", "http://[zz::1]:80/v1",
                                          "--endpoint-model", "m"], "is not valid"),
    ("ask-endpoint-no-host", ["ask", "q", "--paths", "prompt", "--endpoint-url", "http:///v1", "--endpoint-model",
                              "m"], "name a host"),
]


@pytest.mark.parametrize("argv,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_user_files_are_never_replaced_and_bad_text_is_one_message(argv, words, home, capsys):
    before = snapshot(home)
    code = cli.main(argv + ["--json"])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    document = json.loads(out.strip().splitlines()[-1])
    assert set(document) == {"error", "kind"} and words in document["error"], document
    assert "Traceback" not in err
    assert snapshot(home) == before
    assert not (home / "new").exists() and not [p for p in home.iterdir() if p.name.startswith(".")]


@pytest.mark.slow  # builds the embedded model's layers on the meta device (a few seconds)
def test_lora_targets_that_name_no_module_are_refused_before_anything_is_written(home, capsys):
    before = snapshot(home)
    code = cli.main(["train", "--data", "ok.jsonl", "--out", "adapter", "--targets", "nosuchmodule", "--json"])
    document = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 2 and document["kind"] == "InputError"
    assert "nosuchmodule name no module" in document["error"] and "q_proj" in document["error"]
    assert snapshot(home) == before and not (home / "adapter").exists()


def test_an_empty_data_dir_variable_is_refused_not_the_working_directory(home, monkeypatch, capsys):
    monkeypatch.setenv("LAB_DATA_DIR", "")
    before = sorted(os.listdir(home))
    assert cli.main(["runs", "--json"]) == 2
    assert "LAB_DATA_DIR is set but empty" in json.loads(capsys.readouterr().out)["error"]
    assert sorted(os.listdir(home)) == before


def test_an_empty_ingest_path_reads_nothing(home):
    from lab.corpus.files import collect_files

    files, skipped = collect_files([""], lambda p: True)
    assert files == [] and "an empty path" in skipped[0].reason


def test_a_behaviour_set_is_rebuilt_in_place_and_a_user_sibling_survives(home, capsys):
    """Building twice into the same folder replaces the lab's own set; `mine.old`, a user's folder beside it, and
    the user's `mine` stay untouched (the staging folders are hidden and named by process)."""
    argv = ["golden", "behaviour", "sample", "--examples", "notes.txt", "--share", "0", "--json"]
    assert cli.main(argv + ["--out", "built"]) == 0
    assert cli.main(argv + ["--out", "built"]) == 0, capsys.readouterr()
    assert sorted(p.name for p in (home / "built").iterdir()) == ["behaviour_set.json", "test.jsonl",
                                                                  "train.jsonl", "validation.jsonl"]
    assert (home / "mine.old" / "keep.txt").read_text() == "keep" and (home / "mine" / "thesis.tex").exists()


def test_the_adapter_name_rule_lives_in_lab():
    from lab.errors import InputError
    from lab.outputs import check_artefact_name

    assert check_artefact_name("ok_1-a", "Adapter name") == "ok_1-a"
    for bad in ("", "bad name!", "../x", "-x", "x" * 65, "a/b", "é"):
        with pytest.raises(InputError, match="Adapter name: use letters"):
            check_artefact_name(bad, "Adapter name")


def test_an_unforeseen_failure_is_one_line_and_a_log(home, monkeypatch, capsys):
    def broken(args):
        raise RuntimeError("a bug")

    from lab.cli import runs

    monkeypatch.setattr(runs, "cmd_runs", broken)
    assert cli.main(["runs", "--json"]) == 1
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert document["kind"] == "InternalError" and "Traceback" not in err
    log = Path(document["error"].split("the details are in ")[1].split(". Please")[0])
    assert log.parent == home / "data" / "logs" and "RuntimeError: a bug" in log.read_text()


def test_a_file_name_that_is_not_utf8_is_skipped_and_the_good_files_are_read(tmp_path):
    import os

    from lab.corpus.files import collect_files

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text("A good file.\n")
    with open(os.path.join(os.fsencode(folder), b"bad-\xff\xfe.txt"), "wb") as handle:
        handle.write(b"A file whose name is not UTF-8.\n")
    files, skipped = collect_files([folder], lambda p: True)
    assert [f.name for f in files] == ["good.txt"]
    assert len(skipped) == 1 and "not valid UTF-8" in skipped[0].reason
    skipped[0].path.encode("utf-8")  # the report itself can be printed and stored


def test_a_folder_swapped_for_a_link_after_the_walk_is_not_read(tmp_path):
    """The race: the folder is read, then a folder on the way to a file is replaced by a link to files outside
    (a secret); the read finds the file is no longer where the walk saw it and refuses it."""
    from lab.corpus.files import collect_files
    from lab.corpus.parse_worker import ParseWorker
    from lab.errors import InputError

    root, outside = tmp_path / "docs", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "sub" / "notes.txt").write_text("The user's own notes.\n")
    (outside / "notes.txt").write_text("SECRET outside the folder.\n")
    files, _ = collect_files([root], lambda p: True)
    with ParseWorker() as worker:
        assert worker.parse(files[0], same_place=True).text.strip() == "The user's own notes."
        (root / "sub").rename(root / "sub-before")
        (root / "sub").symlink_to(outside, target_is_directory=True)
        with pytest.raises(InputError, match="no longer where the folder was read"):
            worker.parse(files[0], same_place=True)
