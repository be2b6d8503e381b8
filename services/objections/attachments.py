"""Images attached to objections: checked by their bytes, kept in the file store every node
reaches (infra/storage.py, the `objections` area).

Only JPEG and PNG, at most MAX_IMAGE_BYTES each and MAX_IMAGES per submission. The content is
recognised by its magic bytes; the file name's extension must agree with it, so that a renamed
file is refused rather than served under the wrong type.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from config.settings import Settings
from infra.storage import FileStore, open_store, read_all
from services.errors import InvalidRequest, Unprocessable

MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_IMAGES = 9
MAX_NAME_CHARS = 100

JPEG, PNG = "image/jpeg", "image/png"
_MAGIC = ((b"\xff\xd8\xff", JPEG), (b"\x89PNG\r\n\x1a\n", PNG))
_EXTENSIONS = {JPEG: (".jpg", ".jpeg"), PNG: (".png",)}
_TYPE_NAMES = {JPEG: "JPEG", PNG: "PNG"}


def clean_name(filename: str) -> str:
    """The file's own name (no directories), trimmed: it is only ever shown, never a path."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name.strip()
    return name[-MAX_NAME_CHARS:] or "图片"


def too_large(filename: str) -> InvalidRequest:
    return InvalidRequest(
        f"图片“{clean_name(filename)}”超过 2 MB，请压缩后重新上传", code="image_too_large"
    )


def too_many() -> InvalidRequest:
    return InvalidRequest(f"最多上传 {MAX_IMAGES} 张图片", code="too_many_images")


def validate_image(filename: str, data: bytes) -> str:
    """The content type of an acceptable image, or InvalidRequest with a Chinese message."""
    name = clean_name(filename)
    if len(data) > MAX_IMAGE_BYTES:
        raise too_large(filename)
    kind = next((t for magic, t in _MAGIC if data.startswith(magic)), None)
    if kind is None:
        raise Unprocessable(
            f"文件“{name}”不是 JPEG 或 PNG 图片，仅支持上传 JPEG、PNG 格式的图片",
            code="image_not_supported",
        )
    if not name.lower().endswith(_EXTENSIONS[kind]):
        wanted = "、".join(_EXTENSIONS[kind])
        raise Unprocessable(
            f"文件“{name}”的扩展名与内容不符：内容是 {_TYPE_NAMES[kind]} 图片，扩展名应为 {wanted}",
            code="image_extension_mismatch",
        )
    return kind


def validate_images(images: Sequence[tuple[str, bytes]]) -> list[str]:
    """Every image checked before anything is stored; their content types, in order."""
    if len(images) > MAX_IMAGES:
        raise too_many()
    return [validate_image(name, data) for name, data in images]


class AttachmentStore:
    """Objection images under one prefix per ticket (its number) and per event."""

    def __init__(self, storage: FileStore) -> None:
        self.storage = storage

    @classmethod
    def of(cls, settings: Settings) -> AttachmentStore:
        return cls(open_store(settings, area="objections"))

    async def put(
        self, ticket_no: str, images: Sequence[tuple[str, bytes]], types: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Store the images and describe them."""
        if not images:
            return []
        prefix = f"{ticket_no}/{uuid.uuid4().hex[:12]}"
        files, described = [], []
        for index, ((filename, data), kind) in enumerate(zip(images, types, strict=True), 1):
            stored = f"{index:02d}{_EXTENSIONS[kind][0]}"
            files.append((stored, data))
            described.append(
                {
                    "name": clean_name(filename),
                    "path": f"{prefix}/{stored}",
                    "content_type": kind,
                    "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            )
        for name, data in files:
            await self.storage.put(f"{prefix}/{name}", data)
        return described

    async def discard(self, described: Sequence[dict[str, Any]]) -> None:
        """Remove what put() stored, when the ticket it was for was not created after all."""
        for d in described:
            await self.storage.delete(d["path"])

    async def get(self, path: str) -> bytes:
        return await read_all(self.storage, path)
