"""The files an institution exchanges with the platform (9101 upload, 9102 download; interface.md 1.5), such as
the 3202 detail file and its result. An institution sees only its own files."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from yibao.errors import refuse
from yibao.platform.ids import new_id
from yibao.platform.work import Work
from yibao.store.models import StoredFile

#: how long a stored file can be downloaded (dld_endtime)
KEEP_FOR = timedelta(days=7)
#: a platform file is answered again while at least this much of its download time is left
REUSE_LEFT = KEEP_FOR / 2
#: the fixmedins_code a HIS names in 9102 for a file the platform made for it (the 13xx catalog files), and
#: the prefix of such a file's file_qury_no (the national platform's form: fsi/plc/ + 30 hex characters)
PLATFORM = "plc"
PLATFORM_PREFIX = "fsi/plc/"


def store_file(work: Work, filename: str, content: bytes) -> StoredFile:
    """Keep a file of the calling institution; its file_qury_no is issued like every platform id."""
    inst = work.here
    row = StoredFile(file_qury_no=new_id(inst.admdvs, work.now), fixmedins_code=inst.code, filename=filename,
                     content=content, created_at=work.now, dld_endtime=work.now + KEEP_FOR)
    work.session.add(row)
    return row


def store_platform_file(work: Work, filename: str, content: bytes, reuse_key: str | None = None) -> StoredFile:
    """Keep a file the platform made for the calling institution (a catalog download): fetched through 9102
    naming `plc` (or the institution itself) as its fixmedins_code. The caller's platform files past their
    download time are deleted first: nobody can fetch them any more, and each download would otherwise leave a
    zip behind for good."""
    inst = work.here
    work.session.execute(delete(StoredFile).where(
        StoredFile.fixmedins_code == inst.code, StoredFile.file_qury_no.startswith(PLATFORM_PREFIX),
        StoredFile.dld_endtime < work.now).execution_options(synchronize_session=False))
    row = StoredFile(file_qury_no=PLATFORM_PREFIX + secrets.token_hex(15), fixmedins_code=inst.code,
                     filename=filename, content=content, created_at=work.now, dld_endtime=work.now + KEEP_FOR,
                     reuse_key=reuse_key)
    work.session.add(row)
    return row


def reusable_platform_file(work: Work, reuse_key: str) -> StoredFile | None:
    """The caller's platform file holding `reuse_key` with at least REUSE_LEFT of its download time left: the
    same answer for the same content, yet a HIS always gets days to fetch it."""
    return work.session.scalars(
        select(StoredFile).where(StoredFile.fixmedins_code == work.here.code, StoredFile.reuse_key == reuse_key,
                                 StoredFile.file_qury_no.startswith(PLATFORM_PREFIX),
                                 StoredFile.dld_endtime >= work.now + REUSE_LEFT)
        .order_by(StoredFile.dld_endtime.desc()).limit(1)).first()


def is_platform_file(file_qury_no: str) -> bool:
    return file_qury_no.startswith(PLATFORM_PREFIX)


def own_file(work: Work, file_qury_no: str, field: str) -> StoredFile:
    """A file of this institution still within its download time; another institution's file is unknown."""
    row = work.session.get(StoredFile, file_qury_no)
    if row is None or row.fixmedins_code != work.here.code:
        raise refuse(field, f"no file {file_qury_no} of this institution")
    if work.now > row.dld_endtime:
        raise refuse(field, f"file {file_qury_no} could be used until {row.dld_endtime:%Y-%m-%d %H:%M:%S}; "
                            "upload it again")
    return row
