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


def test_extension_less_licence_texts_upload_as_the_command_line_reads_them(tmp_path):
    """LICENSE, COPYING, GPL-3: read as text by the folder walk, so an upload of the same file is read too;
    an extension-less binary is still refused with its reason."""
    from lab.corpus.parsing import parse

    files = [("GPL-3", (LICENSES / "GPL-3").read_bytes()), ("LICENSE", (LICENSES / "Artistic").read_bytes()),
             ("blob", b"\x7fELF\x02\x01\x00\x00")]
    stored, refused = save_uploads(files)
    assert [source for _, source in stored] == ["GPL-3", "LICENSE"]
    assert [name for name, _ in refused] == ["blob"] and "without an extension" in refused[0][1]
    document = parse(stored[1][0], name=stored[1][1])
    assert "Artistic License" in document.text
