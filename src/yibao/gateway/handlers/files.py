"""9101 file upload and 9102 file download (interface.md 1.5): the files an institution exchanges with the
platform, such as the 3202 detail file and its result. An institution sees only its own files."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic import Field

from yibao.errors import refuse
from yibao.gateway.fields import Id, Text
from yibao.gateway.registry import Node, interface
from yibao.platform import files
from yibao.platform.records import StoredFile
from yibao.platform.work import Work

TIME = "%Y-%m-%d %H:%M:%S"


def file_info(row: StoredFile) -> dict[str, Any]:
    return {"file_qury_no": row.file_qury_no, "filename": row.filename, "dld_endtime": f"{row.dld_endtime:{TIME}}"}


def _check_institution(work: Work, code: str, field: str) -> None:
    if code != work.here.code:
        raise refuse(field, f"must be the calling institution {work.here.code}, not {code or '(empty)'}")


def _bytes_of(value: Any, field: str) -> bytes:
    """The file's bytes: a JSON array of byte values (the spec's byte[]) or a base64 string."""
    if isinstance(value, str):
        try:
            return base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise refuse(field, "a string must be the file's bytes in base64") from None
    if isinstance(value, list):
        for i, b in enumerate(value):
            if isinstance(b, bool) or not isinstance(b, int) or not 0 <= b <= 255:
                raise refuse(f"{field}[{i}]", f"must be a byte value 0..255, not {b!r}")
        return bytes(value)
    raise refuse(field, "must be the file's bytes: an array of byte values 0..255 or a base64 string")


class FsUploadIn(Node):
    in_: Any = Field(alias="in")
    filename: Text = Field(min_length=1, max_length=200)
    fixmedins_code: Id


class Input9101(Node):
    fsUploadIn: FsUploadIn


@interface("9101", "文件上传", Input9101)
def upload(work: Work, data: Input9101) -> dict:
    f = data.fsUploadIn
    _check_institution(work, f.fixmedins_code, "input.fsUploadIn.fixmedins_code")
    if "/" in f.filename or "\\" in f.filename:
        raise refuse("input.fsUploadIn.filename", "must be a file name, without a directory")
    content = _bytes_of(f.in_, "input.fsUploadIn.in")
    if not content:
        raise refuse("input.fsUploadIn.in", "the file is empty")
    return file_info(files.store_file(work, f.filename, content))


class FsDownloadIn(Node):
    file_qury_no: Text = Field(min_length=1)
    filename: Text = ""
    fixmedins_code: Id


class Input9102(Node):
    fsDownloadIn: FsDownloadIn


@interface("9102", "文件下载", Input9102)
def download(work: Work, data: Input9102) -> dict:
    """yibao answers the usual JSON envelope, the file in base64 (docs/gateway.md), not a bare zip."""
    f = data.fsDownloadIn
    # the spec has a HIS name "plc" for the files the platform made (the 13xx catalog files); the file is still
    # the calling institution's own
    if not (f.fixmedins_code == files.PLATFORM and files.is_platform_file(f.file_qury_no)):
        _check_institution(work, f.fixmedins_code, "input.fsDownloadIn.fixmedins_code")
    row = files.own_file(work, f.file_qury_no, "input.fsDownloadIn.file_qury_no")
    if f.filename and f.filename != row.filename:
        raise refuse("input.fsDownloadIn.filename", f"file {row.file_qury_no} is named {row.filename}, "
                                                    f"not {f.filename}")
    return {**file_info(row), "file": base64.b64encode(row.content).decode("ascii")}
