"""Where a lake lives: a local folder or an object-store URI, kept as text.

``pathlib.Path("s3a://bucket/lake")`` is ``s3a:/bucket/lake``, so a URI must never pass
through ``Path``. A ``Location`` joins child paths as text, hands the URI unchanged to
delta-rs and Polars, and opens a pyarrow filesystem for the plain files beside the
tables (quarantine, raw inputs, marts). Credentials and endpoints come from the
environment, as each store's own tools read them (README.md, "Lakes on object storage").
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.fs as pafs

from reach.errors import UsageError

#: schemes a lake may use; s3a (Hadoop's name) is the same store as s3
OBJECT_SCHEMES = {"s3": "s3", "s3a": "s3", "gs": "gs", "gcs": "gs", "abfs": "abfs",
                  "abfss": "abfs", "az": "abfs"}


class Location:
    """A lake root: ``local`` is a Path for folders (and ``file:`` URIs), else None."""

    def __init__(self, root: str | os.PathLike[str] | Location):
        if isinstance(root, Location):
            root = root.uri
        text = os.fspath(root)
        scheme = urlsplit(text).scheme.lower() if "://" in text or text.startswith("file:") \
            else ""
        if scheme == "file":
            text = urlsplit(text).path
            scheme = ""
        if scheme and scheme not in OBJECT_SCHEMES:
            raise UsageError(f"--lake {text!r}: unknown storage scheme {scheme!r}; use a "
                             "folder, file:, s3://, s3a://, gs://, abfs:// or az://")
        self.scheme = scheme
        self.local: Path | None = None if scheme else Path(text).absolute()
        self.uri = str(self.local) if self.local else text.rstrip("/")

    def __str__(self) -> str:
        return self.uri

    def __repr__(self) -> str:
        return f"Location({self.uri!r})"

    def join(self, *parts: str) -> str:
        """A child path or URI, as text (never through ``Path`` for a URI)."""
        if self.local:
            return str(self.local.joinpath(*parts))
        return "/".join([self.uri, *(p.strip("/") for p in parts)])

    @property
    def delta_uri(self) -> str:
        """The form delta-rs reads: s3a:// is s3:// to it."""
        if self.scheme == "s3a":
            return "s3://" + self.uri.split("://", 1)[1]
        return self.uri

    def delta(self, *parts: str) -> str:
        return "/".join([self.delta_uri, *parts]) if not self.local else self.join(*parts)

    @cached_property
    def filesystem(self) -> pafs.FileSystem:
        if self.local:
            return pafs.LocalFileSystem()
        fs, _ = pafs.FileSystem.from_uri(self.delta_uri)
        return fs

    def fs_path(self, *parts: str) -> str:
        """The path of a child as the pyarrow filesystem names it (no scheme)."""
        if self.local:
            return self.join(*parts)
        _, path = pafs.FileSystem.from_uri(self.delta(*parts))
        return path

    def fs_path_of(self, uri: str) -> str:
        """A full URI of this store as the pyarrow filesystem names it."""
        _, path = pafs.FileSystem.from_uri(uri)
        return path

    def exists(self, *parts: str) -> bool:
        info = self.filesystem.get_file_info(self.fs_path(*parts))
        return info.type != pafs.FileType.NotFound

    def listdir(self, *parts: str) -> list[str]:
        """Names directly under a child folder (empty if it does not exist)."""
        sel = pafs.FileSelector(self.fs_path(*parts), allow_not_found=True)
        return sorted(i.base_name for i in self.filesystem.get_file_info(sel))

    def delete_dir(self, *parts: str) -> None:
        if self.exists(*parts):
            self.filesystem.delete_dir(self.fs_path(*parts))

    def delete_file(self, *parts: str) -> None:
        if self.exists(*parts):
            self.filesystem.delete_file(self.fs_path(*parts))
