"""An upload batch behaves like a folder on the command line: good files are kept, bad ones listed with reasons."""

from pathlib import Path

from lab.corpus.uploads import save_uploads

LICENSES = Path("/usr/share/common-licenses")


def test_one_bad_file_does_not_block_the_batch():
    good = (LICENSES / "Apache-2.0").read_bytes()
    stored, refused = save_uploads([("apache.txt", good), ("tool.exe", b"MZ\x90\x00"), ("broken.pdf", b"not a pdf at all"),
                                    ("../../etc/x.md", b"# Real\n\nA real note.\n")])
    assert [source for _, source in stored] == ["apache.txt", "x.md"]
    assert [name for name, _ in refused] == ["tool.exe", "broken.pdf"]
    assert "unsupported file type" in refused[0][1] and all(path.is_file() for path, _ in stored)
