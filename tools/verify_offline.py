#!/usr/bin/env python3
"""Check a 专项信用报告 PDF offline: its embedded snapshot against the published Ed25519 keys.

    python3 verify_offline.py REPORT.pdf keys.json     (keys.json from <site>/verify/keys.json)

Needs only Python 3 and `cryptography`: no database, no server, no network. The PDF carries
snapshot.json (the signed bytes: the canonical JSON of the report) and signature.json (key_id,
signature in hex, the SHA-256 of the signed bytes) as attached files. Exit 0: the signature is
valid; 1: it is not, or the files are missing. The PAdES seal itself is checked by any PDF
validator with the root at <site>/verify/root.pem.
"""

import base64
import hashlib
import json
import re
import sys
import zlib
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# An embedded file is a stream object whose dictionary says /Type /EmbeddedFile.
STREAM = re.compile(rb"obj\s*<<((?:(?!endobj).)*?)>>\s*stream\r?\n", re.S)


def embedded_files(pdf: bytes) -> list[bytes]:
    found = []
    for m in STREAM.finditer(pdf):
        if re.search(rb"/Type\s*/EmbeddedFile\b", m.group(1)):
            data = pdf[m.end() : pdf.index(b"endstream", m.end())]
            flate = b"/FlateDecode" in m.group(1)
            found.append(zlib.decompressobj().decompress(data) if flate else data)
    return found


def main(pdf_path: str, keys_path: str) -> int:
    files = embedded_files(Path(pdf_path).read_bytes())
    envelope = next(json.loads(f) for f in files if f.startswith(b"{") and b'"key_id"' in f)
    snapshot = next(f for f in files if hashlib.sha256(f).hexdigest() == envelope["signed_sha256"])
    keys = {k["key_id"]: k["public_key"] for k in json.loads(Path(keys_path).read_text())["keys"]}
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(keys[envelope["key_id"]]))
    key.verify(bytes.fromhex(envelope["signature"]), snapshot)  # raises if not valid
    report = json.loads(snapshot)
    print(f"签名有效：报告 {report['report_no']}，出具于 {report['issued_at']}")
    print(f"  密钥 {envelope['key_id']}；签名的原文为 PDF 内嵌的 snapshot.json")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(*sys.argv[1:3]))
    except Exception as e:  # any failure to find or verify is the same answer: not verified
        print(f"签名核验未通过，请勿采信（{type(e).__name__}: {e}）")
        sys.exit(1)
