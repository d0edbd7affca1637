"""The run store's key: where it lives, and the keys derived from it.

A store is authenticated with a 32-byte secret: given by the application
(``RunStore(path, key=...)``) or kept in a key file beside the database (``runs.db.key``),
created on first use with owner-only permissions. From it and the store's own random id,
HKDF derives two keys: one for the HMAC-SHA256 of every row that can make a call run, one for
AES-GCM encryption of the secret arguments an approved call needs.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import hmac
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agentcore.errors import RunStateError

KEY_BYTES = 32
_NONCE_BYTES = 12
_CIPHER_PREFIX = "aes-gcm:"


def default_key_path(store_path: Path) -> Path:
    """The key file of a store: the database's path with ``.key`` appended."""
    return store_path.with_name(store_path.name + ".key")


def read_key_file(path: Path) -> bytes:
    """Read a key file, refusing one that is missing, malformed or readable by others.

    Raises:
        RunStateError: what is wrong with the file, and how to fix it.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise RunStateError(
            f"the store's key file {str(path)!r} is missing: without it no run, pending call "
            "or decision in this store can be authenticated (restore the file, or give the "
            "key with RunStore(path, key=...))"
        ) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RunStateError(
                f"the store's key file {str(path)!r} is a symbolic link; give the real file "
                "as the key file instead"
            ) from None
        raise RunStateError(f"cannot read the store's key file {str(path)!r}: {exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RunStateError(f"the store's key file {str(path)!r} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if os.name == "posix" and mode & 0o077:
            raise RunStateError(
                f"the store's key file {str(path)!r} is readable by others (mode {mode:04o}); "
                f"restrict it to its owner with: chmod 600 {path}"
            )
        key = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(key) != KEY_BYTES:
        raise RunStateError(
            f"the store's key file {str(path)!r} holds {len(key)} bytes, not {KEY_BYTES}"
        )
    return key


def create_key_file(path: Path) -> bytes:
    """Create a key file holding 32 random bytes, readable and writable by its owner only.

    The key is written to a private temporary file that is then linked into place, so no
    other process ever sees a partial key, and of two processes creating it at once the
    first wins and both use its key.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)
            os.write(fd, secrets.token_bytes(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return read_key_file(path)


class StoreKeys:
    """The keys of one store, derived from its key and its id; MACs rows, seals secrets."""

    __slots__ = ("_aead", "_mac_key", "state_key")

    def __init__(self, key: bytes, store_id: str) -> None:
        if not isinstance(key, bytes) or len(key) < 16:
            raise RunStateError("a run store key must be at least 16 bytes")
        salt = store_id.encode("utf-8")
        self._mac_key = _derive(key, salt, b"agentcore run store: row authentication")
        self.state_key = _derive(key, salt, b"agentcore run store: sealed run state")
        self._aead = AESGCM(_derive(key, salt, b"agentcore run store: secret arguments"))

    def check_value(self) -> str:
        """A MAC that tells, when the store opens, whether this is the key it was made with."""
        return self.mac("store-key")

    def mac(self, *fields: Any) -> str:
        """HMAC-SHA256 (hex) of ``fields``, encoded unambiguously."""
        data = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return hmac.new(self._mac_key, data, hashlib.sha256).hexdigest()

    def verify(self, mac: str | None, *fields: Any) -> bool:
        """Whether ``mac`` is the MAC of ``fields``."""
        return isinstance(mac, str) and hmac.compare_digest(mac, self.mac(*fields))

    def encrypt(self, plaintext: str, *context: str) -> str:
        """AES-GCM encrypt ``plaintext`` with a fresh nonce, bound to ``context``."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), _context(context))
        return _CIPHER_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, ciphertext: str, *context: str) -> str:
        """Decrypt what :meth:`encrypt` made for the same ``context``.

        Raises:
            RunStateError: the ciphertext was altered, moved to another row, or made with
                another key.
        """
        if not ciphertext.startswith(_CIPHER_PREFIX):
            raise RunStateError("stored secret is not in a known encrypted form")
        try:
            raw = base64.b64decode(ciphertext[len(_CIPHER_PREFIX) :], validate=True)
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _context(context))
        except (ValueError, InvalidTag):
            raise RunStateError("stored secret cannot be decrypted: it was altered") from None
        return plain.decode("utf-8")


def _context(parts: tuple[str, ...]) -> bytes:
    return json.dumps(parts, ensure_ascii=False).encode("utf-8")


def _derive(key: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(key)
