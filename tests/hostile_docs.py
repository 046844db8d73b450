"""Builders of malicious or broken documents, made by the tests themselves (nothing downloaded).

Each builder writes one file into a folder and returns its path; HOSTILE maps a file name to
(builder, a regex the refusal reason must match).
"""

from __future__ import annotations

import io
import os
import random
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path


def _pdf(objs: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def _base_docx() -> dict[str, bytes]:
    import docx

    buf = io.BytesIO()
    docx.Document().save(buf)
    z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    return {i.filename: z.read(i.filename) for i in z.infolist()}


def _write_docx(path: Path, document_xml: Callable[[zipfile.ZipFile], None]) -> Path:
    parts = _base_docx()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, data in parts.items():
            if name != "word/document.xml":
                z.writestr(name, data)
        document_xml(z)
    return path


_W = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'


def zip_bomb_docx(path: Path) -> Path:
    """document.xml declared at 250 MB of whitespace (a few hundred KB on disk)."""

    def part(z: zipfile.ZipFile) -> None:
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            f.write(_W)
            block = b" " * (1 << 20)
            for _ in range(250):
                f.write(block)
            f.write(b"</w:body></w:document>")

    return _write_docx(path, part)


def ratio_bomb_docx(path: Path) -> Path:
    """Under the size limit, but a part compressed ~1000:1."""

    def part(z: zipfile.ZipFile) -> None:
        z.writestr("word/document.xml", _W + b" " * (40 << 20) + b"</w:body></w:document>")

    return _write_docx(path, part)


def billion_laughs_docx(path: Path) -> Path:
    """XML entity expansion in word/document.xml."""
    ents = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE w:document [{ents}]>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
    ).encode()
    return _write_docx(path, lambda z: z.writestr("word/document.xml", xml))


def huge_xml_docx(path: Path) -> Path:
    """A DOCX within the zip limits whose ~117 MB of XML needs more than 1 GB to parse."""
    rnd = random.Random(1)
    words = [(f"w{i:03d}").encode() for i in range(900)]
    para = b"".join(
        b"<w:p><w:r><w:t>" + b" ".join(rnd.choice(words) for _ in range(3)) + b"</w:t></w:r></w:p>"
        for _ in range(5000)
    )

    def part(z: zipfile.ZipFile) -> None:
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            f.write(_W)
            for _ in range(500):
                f.write(para)
            f.write(b"</w:body></w:document>")

    return _write_docx(path, part)


def legacy_doc_as_docx(path: Path) -> Path:
    """An OLE2 (old .doc) header renamed .docx."""
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(4096))
    return path


def deep_html(path: Path) -> Path:
    """200,000 nested <div>s."""
    path.write_bytes(
        b"<html><body>" + b"<div>" * 200_000 + b"deep" + b"</div>" * 200_000 + b"</body></html>"
    )
    return path


def yaml_bomb_md(path: Path) -> Path:
    """Front matter with nested YAML aliases (expands to 10^9 items when stringified)."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    path.write_text(
        "---\n" + "\n".join(lines) + "\ntitle: bomb\n---\n\n# Body\n\ntext\n", encoding="utf-8"
    )
    return path


def cyclic_pdf(path: Path) -> Path:
    """A page tree whose Pages node lists itself as a kid."""
    path.write_bytes(
        _pdf(
            [
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
            ]
        )
    )
    return path


def _content_pdf(stream: bytes, pages: int) -> bytes:
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
        b"/Resources << /Font << /F1 4 0 R >> >> >>"
    )
    return _pdf(objs + [page] * pages)


def inflate_bomb_pdf(path: Path) -> Path:
    """A content stream that inflates to ~1 GB."""
    co = zlib.compressobj(9)
    block = b"BT /F1 12 Tf 72 712 Td (A) Tj ET\n" * 30000
    data = b"".join(co.compress(block) for _ in range(1000)) + co.flush()
    path.write_bytes(_content_pdf(data, 1))
    return path


def slow_pdf(path: Path) -> Path:
    """60 pages sharing one 3 MB content stream of 80,000 text operations: minutes of parsing."""
    stream = zlib.compress(b"BT /F1 12 Tf 72 712 Td (Slow) Tj ET\n" * 80_000, 9)
    path.write_bytes(_content_pdf(stream, 60))
    return path


def corrupt_pdf(path: Path) -> Path:
    """A PDF header followed by random bytes."""
    path.write_bytes(b"%PDF-1.4\n" + random.Random(7).randbytes(20000))
    return path


def elf_as_pdf(path: Path) -> Path:
    """An executable renamed .pdf."""
    path.write_bytes(b"\x7fELF\x02\x01\x01" + os.urandom(4096))
    return path


def junk_txt(path: Path) -> Path:
    """Random binary bytes renamed .txt."""
    path.write_bytes(random.Random(3).randbytes(100_000))
    return path


def big_txt(path: Path) -> Path:
    """A 200 MB file (sparse: nothing is written to disk)."""
    with path.open("wb") as f:
        f.truncate(200 * 1024 * 1024)
    return path


def empty_md(path: Path) -> Path:
    """Zero bytes."""
    path.write_bytes(b"")
    return path


HOSTILE: dict[str, tuple[Callable[[Path], Path], str]] = {
    "zipbomb.docx": (zip_bomb_docx, r"zip bomb.*unpacks to 26\d MB"),
    "ratiobomb.docx": (ratio_bomb_docx, r"zip bomb.*compressed \d+:1"),
    "laughs.docx": (billion_laughs_docx, r"DOCTYPE/ENTITY"),
    "hugexml.docx": (huge_xml_docx, r"1024 MB memory limit|stopped after"),
    "legacy.docx": (legacy_doc_as_docx, r"old MS Office file"),
    "deep.html": (deep_html, r"nested \d+ levels deep"),
    "yamlbomb.md": (yaml_bomb_md, r"anchors/aliases"),
    "cyclic.pdf": (cyclic_pdf, r"cyclic page references"),
    "inflate.pdf": (inflate_bomb_pdf, r"Limit reached while decompressing|memory limit"),
    "slow.pdf": (slow_pdf, r"stopped after \d+ s"),
    "corrupt.pdf": (corrupt_pdf, r"not a readable PDF"),
    "elf.pdf": (elf_as_pdf, r"not a PDF \(it is an executable\)"),
    "junk.txt": (junk_txt, r"binary"),
    "big.txt": (big_txt, r"too large \(209\.7 MB > 52 MB limit"),
    "empty.md": (empty_md, r"empty"),
}
