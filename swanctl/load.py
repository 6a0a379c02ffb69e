"""swanctl.conf to vici: --load-conns/-creds/-authorities/-pools/-all as swanctl does them.

The requests, their order, the texts and exit codes follow strongSwan's
load_conns.c, load_creds.c, load_authorities.c, load_pools.c and load_all.c:
every connection/pool/authority of the file is sent, then whatever the daemon
still has that the file no longer names is unloaded.  A swanctl.conf that
does not parse is not fatal (swanctl carries on with nothing configured, and
so unloads everything); that is kept, it is what scripts see from swanctl.
"""

from __future__ import annotations

import os
import stat

from . import keys
from .chunk import from_base64, from_hex, path_dirname, tokens
from .client import ViciError, log
from .command import Context
from .message import Message, dump, iter_items, text
from .settings import Settings

EINVAL = 22
ECONNREFUSED = 111

LIST_KEYS = {"local_addrs", "remote_addrs", "proposals", "esp_proposals", "ah_proposals", "local_ts",
             "remote_ts", "vips", "pools", "groups", "cert_policy"}
FILE_LIST_KEYS = {"certs": "x509", "cacerts": "x509ca", "pubkeys": "pubkey"}
CERT_DIRS = (("x509", "X509", "NONE"), ("x509ca", "X509", "CA"), ("x509ocsp", "X509", "OCSP"),
             ("x509aa", "X509", "AA"), ("x509ac", "X509_AC", None), ("x509crl", "X509_CRL", None),
             ("pubkey", "PUBKEY", None))
KEY_DIRS = ("private", "rsa", "ecdsa", "pkcs8")
SHARED_TYPES = ("eap", "xauth", "ntlm", "ike", "ppk")
SECRET_TYPES = (*SHARED_TYPES, "private", "rsa", "ecdsa", "pkcs8", "pkcs12", "token")


class _Abort(Exception):
    """A file list entry that cannot be read: the connection is not sent."""


class Loader:
    def __init__(self, ctx: Context, raw: bool, pretty: bool) -> None:
        self.ctx = ctx
        self.raw = raw
        self.pretty = pretty
        self.dir = ctx.swanctl_dir

    # -- plumbing -------------------------------------------------------------
    def _out(self, s: str) -> None:
        self.ctx.write(s)

    def _err(self, s: str) -> None:
        self.ctx.err(s)

    def _submit(self, name: str, msg: Message | None = None) -> Message | None:
        assert self.ctx.conn is not None
        try:
            return self.ctx.conn.request(name, msg)
        except ViciError as e:
            self._err(f"{name} request failed: {e.strerror}\n")
            return None

    def _dump(self, reply: Message, label: str) -> None:
        self._out(dump(reply, label, self.pretty))

    def _ok(self, reply: Message) -> bool:
        return reply.find_str("success", "no") == "yes"

    def _errmsg(self, reply: Message) -> str:
        return reply.find_str("errmsg", "") or ""

    def _path(self, sub: str, name: str = "") -> str:
        return f"{self.dir}/{sub}/{name}" if name else f"{self.dir}/{sub}"

    def load_conf(self, path: str | None) -> Settings:
        """load_swanctl_conf(): --file, else <swanctl dir>/swanctl.conf; sets the credential base dir."""
        if path is None:
            if not self.dir:
                self.dir = os.getcwd()
            path = f"{self.dir}/swanctl.conf"
        cfg = Settings.load(path, log)
        self.dir = path_dirname(path)
        self.ctx.swanctl_dir = self.dir
        return cfg

    # -- load-all ---------------------------------------------------------------
    def all(self, cfg: Settings, *, clear: bool, noprompt: bool) -> int:
        ret = self.creds(cfg, clear=clear, noprompt=noprompt)
        if ret == 0:
            ret = self.authorities(cfg)
        if ret == 0:
            ret = self.pools(cfg)
        if ret == 0:
            ret = self.conns(cfg)
        return ret

    def _summary(self, what: str, found: int, loaded: int, unloaded: int) -> int:
        if self.raw:
            return 0
        if found == 0:
            self._out(f"no {what} found, {unloaded} unloaded\n")
            return 0
        if loaded == found:
            self._out(f"successfully loaded {loaded} {what}, {unloaded} unloaded\n")
            return 0
        self._err(f"loaded {loaded} of {found} {what}, {found - loaded} failed to load, {unloaded} unloaded\n")
        return EINVAL

    def _loaded_names(self, request: str, list_name: str | None) -> list[str]:
        reply = self._submit(request)
        if reply is None:
            return []
        if self.raw:
            self._dump(reply, f"{request} reply")
        if list_name is None:  # get-pools: the section names
            names: list[str] = []
            reply.parse_cb(lambda _c, name: names.append(name) or 0, None, None)
            return names
        return [text(v) for v in iter_items(reply, list_name)]

    def _unload(self, request: str, what: str, name: str) -> bool:
        reply = self._submit(request, Message().add("name", name))
        if reply is None:
            return False
        if self.raw:
            self._dump(reply, f"{request} reply")
        elif not self._ok(reply):
            self._err(f"unloading {what} '{name}' failed: {self._errmsg(reply)}\n")
            return False
        return True

    def _load_each(self, cfg: Settings, top: str, what: str, singular: str, get: str, get_list: str | None,
                   unload: str, build) -> int:
        """The shared shape of load_conns/pools/authorities_cfg()."""
        present = self._loaded_names(get, get_list)
        found = loaded = unloaded = 0
        for name in list(cfg.sections(top)):
            present = [p for p in present if p != name]
            found += 1
            try:
                msg = build(cfg, name)
            except _Abort:
                continue
            request = f"load-{singular}"
            reply = self._submit(request, msg)
            if reply is None:
                continue
            if self.raw:
                self._dump(reply, f"{request} reply")
            elif not self._ok(reply):
                self._err(f"loading {what} '{name}' failed: {self._errmsg(reply)}\n")
                continue
            else:
                self._out(f"loaded {what} '{name}'\n")
            loaded += 1
        for name in present:
            if self._unload(unload, what, name):
                unloaded += 1
        return self._summary(top, found, loaded, unloaded)

    # -- connections ------------------------------------------------------------
    def conns(self, cfg: Settings, **_: bool) -> int:
        return self._load_each(cfg, "connections", "connection", "conn", "get-conns", "conns", "unload-conn",
                               self._conn_message)

    def _conn_message(self, cfg: Settings, name: str) -> Message:
        msg = Message().begin_section(name)
        self._add_key_values(msg, cfg, f"connections.{name}")
        self._add_sections(msg, cfg, f"connections.{name}")
        return msg.end_section()

    def _add_key_values(self, msg: Message, cfg: Settings, key: str) -> None:
        for k, value in cfg.key_values(key):
            if k.lower() in LIST_KEYS:
                msg.add_list(k, tokens(value))
            elif k.lower() in FILE_LIST_KEYS:
                msg.add_list(k, self._file_list(k, value))
            else:
                msg.add(k, value)

    def _add_sections(self, msg: Message, cfg: Settings, key: str) -> None:
        for name in list(cfg.sections(key)):
            msg.begin_section(name)
            self._add_key_values(msg, cfg, f"{key}.{name}")
            self._add_sections(msg, cfg, f"{key}.{name}")
            msg.end_section()

    def _file_list(self, key: str, value: str) -> list[bytes]:
        items = []
        for token in tokens(value):
            if token[:2].lower() == "0x":
                items.append(from_hex(token[2:]))
            elif token[:2].lower() == "0s":
                items.append(from_base64(token[2:]))
            else:
                path = token
                # only the exact lower-case key names get a default directory
                if not token.startswith("/") and key in FILE_LIST_KEYS:
                    path = self._path(FILE_LIST_KEYS[key], token)
                try:
                    with open(path, "rb") as f:
                        items.append(f.read())
                except OSError as e:
                    self._err(f"loading {key} certificate '{path}' failed: {os.strerror(e.errno or 0)}\n")
                    raise _Abort from None
        return items

    # -- pools --------------------------------------------------------------------
    def pools(self, cfg: Settings, **_: bool) -> int:
        return self._load_each(cfg, "pools", "pool", "pool", "get-pools", None, "unload-pool", self._pool_message)

    def _pool_message(self, cfg: Settings, name: str) -> Message:
        msg = Message().begin_section(name)
        for k, value in cfg.key_values(f"pools.{name}"):
            if k == "addrs":
                msg.add(k, value)
            else:
                msg.add_list(k, tokens(value))
        return msg.end_section()

    # -- authorities --------------------------------------------------------------
    def authorities(self, cfg: Settings, **_: bool) -> int:
        return self._load_each(cfg, "authorities", "authority", "authority", "get-authorities", "authorities",
                               "unload-authority", self._authority_message)

    def _authority_message(self, cfg: Settings, name: str) -> Message:
        msg = Message().begin_section(name)
        for k, value in cfg.key_values(f"authorities.{name}"):
            if k == "cacert":
                path = value if value.startswith("/") else self._path("x509ca", value)
                try:
                    with open(path, "rb") as f:
                        msg.add(k, f.read())
                except OSError as e:
                    self._err(f"loading ca certificate '{path}' failed: {os.strerror(e.errno or 0)}\n")
                    raise _Abort from None
            elif k in ("crl_uris", "ocsp_uris"):
                msg.add_list(k, tokens(value))
            else:
                msg.add(k, value)
        return msg.end_section()

    # -- credentials ----------------------------------------------------------------
    def creds(self, cfg: Settings, *, clear: bool = False, noprompt: bool = False) -> int:
        if clear:
            reply = self._submit("clear-creds")
            if reply is None:
                return ECONNREFUSED
            if self.raw:
                self._dump(reply, "clear-creds reply")
        key_ids = dict.fromkeys(self._loaded_names("get-keys", "keys"))
        shared_ids = dict.fromkeys(self._loaded_names("get-shared", "keys"))
        for sub, ctype, flag in CERT_DIRS:
            for path, _rel in self._files(sub):
                data = self._read(path)
                if data is not None:
                    self._load_cert(path, ctype, flag, data)
        for sub in KEY_DIRS:
            for path, rel in self._files(sub):
                data = self._read(path)
                if data is None:
                    continue
                if not self._load_parsed_key(cfg, sub, rel, path, data, noprompt, key_ids):
                    self._load_key(path, sub, data, key_ids)
        for path, rel in self._files("pkcs12"):
            data = self._read(path)
            if data is not None:
                self._load_pkcs12(cfg, rel, path, data, noprompt, key_ids)
        self._load_tokens(cfg, noprompt, key_ids)
        for section in list(cfg.sections("secrets")):
            self._load_secret(cfg, section, shared_ids)
        for command, ids in (("unload-key", key_ids), ("unload-shared", shared_ids)):
            for key_id in ids:
                reply = self._submit(command, Message().add("id", key_id))
                if reply is None:
                    continue
                if self.raw:
                    self._dump(reply, f"{command} reply")
                elif not self._ok(reply):
                    self._err(f"unloading key '{key_id}' failed: {self._errmsg(reply)}\n")
        return 0

    def _files(self, sub: str) -> list[tuple[str, str]]:
        """enumerator_create_directory(): regular files in readdir order (no sorting)."""
        directory = self._path(sub)
        try:
            names = [e.name for e in os.scandir(directory)]
        except OSError:
            return []
        found = []
        for name in names:
            path = f"{directory}/{name}"
            try:
                if stat.S_ISREG(os.stat(path).st_mode):
                    found.append((path, name))
            except OSError:
                continue
        return found

    def _read(self, path: str) -> bytes | None:
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as e:
            self._err(f"mapping '{path}' failed: {os.strerror(e.errno or 0)}, skipped\n")
            return None

    def _load_cert(self, path: str, ctype: str, flag: str | None, data: bytes) -> bool:
        msg = Message().add("type", ctype)
        if ctype == "X509":
            msg.add("flag", flag or "NONE")
        msg.add("data", data)
        reply = self._submit("load-cert", msg)
        if reply is None:
            return False
        if self.raw:
            self._dump(reply, "load-cert reply")
        elif not self._ok(reply):
            self._err(f"loading '{path}' failed: {self._errmsg(reply)}\n")
            return False
        else:
            self._out(f"loaded certificate from '{path}'\n")
        return True

    def _load_key(self, path: str, ktype: str, data: bytes, key_ids: dict[str, None]) -> bool:
        msg = Message().add("type", "any" if ktype in ("private", "pkcs8") else ktype).add("data", data)
        reply = self._submit("load-key", msg)
        if reply is None:
            return False
        if self.raw:
            self._dump(reply, "load-key reply")
        elif not self._ok(reply):
            self._err(f"loading '{path}' failed: {self._errmsg(reply)}\n")
            return False
        else:
            self._out(f"loaded {ktype} key from '{path}'\n")
            key_ids.pop(reply.find_str("id", "") or "", None)
        return True

    def _load_any_key(self, path: str, key: keys.PrivateKey, key_ids: dict[str, None]) -> bool:
        loaded = self._load_key(path, key.type, key.der, key_ids)
        if not loaded:
            self._err(f"unsupported key type in '{path}'\n")
        return loaded

    def _config_secrets(self, cfg: Settings, kind: str, rel: str) -> list[str] | None:
        """Passphrases of secrets.<kind>* sections whose file is REL (None: no such section)."""
        found: list[str] | None = None
        for section in list(cfg.sections("secrets")):
            if not section.startswith(kind):
                continue
            file = cfg.get_str(f"secrets.{section}.file")
            if file is not None and file.lower() == rel.lower():
                for k, value in cfg.key_values(f"secrets.{section}"):
                    if k.startswith("secret"):
                        found = [*(found or []), value]
        return found

    def _decrypt(self, cfg: Settings, kind: str, rel: str, noprompt: bool, parse):
        """decrypt_with_config(), then (unless --noprompt) the interactive prompt."""
        result = None
        secrets = self._config_secrets(cfg, kind, rel)
        if secrets is not None:
            # a credential set hands out the most recently added secret first
            result = parse(list(reversed(secrets)))
            if result is None:
                self._err(f"configured decryption secret for '{rel}' invalid\n")
        if result is None and not noprompt:
            result = parse(keys.Prompt(f"Password for {kind} file '{rel}': "))
        return result

    def _load_parsed_key(self, cfg: Settings, kind: str, rel: str, path: str, data: bytes, noprompt: bool,
                         key_ids: dict[str, None]) -> bool:
        key = self._decrypt(cfg, kind, rel, noprompt, lambda pw: keys.parse_private_key(data, kind, pw, log))
        if key is None:
            return False
        if key.der is None:
            self._err(f"encoding private key from '{path}' failed\n")
            return False
        return self._load_any_key(path, key, key_ids)

    def _load_pkcs12(self, cfg: Settings, rel: str, path: str, data: bytes, noprompt: bool,
                     key_ids: dict[str, None]) -> bool:
        container = self._decrypt(cfg, "pkcs12", rel, noprompt, lambda pw: keys.parse_pkcs12(data, pw, log))
        if container is None:
            return False
        for der, subject in container.certs:
            if not self._load_cert(path, "X509", "NONE", der):
                return False
            self._err(f"  {subject}\n")
        for key in container.keys:
            if not self._load_any_key(path, key, key_ids):
                return False
        return True

    def _load_tokens(self, cfg: Settings, noprompt: bool, key_ids: dict[str, None]) -> None:
        for section in list(cfg.sections("secrets")):
            if not section.startswith("token"):
                continue
            pin = None
            if not noprompt and cfg.get_str(f"secrets.{section}.pin") is None:
                pin = keys.Prompt(f"PIN for {section}: ").ask()
            msg = Message()
            for k, value in cfg.key_values(f"secrets.{section}"):
                msg.add(k, value)
            if pin:
                msg.add("pin", pin)
            reply = self._submit("load-token", msg)
            if reply is None:
                continue
            if self.raw:
                self._dump(reply, "load-token reply")
            elif not self._ok(reply):
                self._err(f"loading '{section}' failed: {self._errmsg(reply)}\n")
            else:
                key_id = reply.find_str("id")
                self._out(f"loaded key {section} from token [keyid: {key_id if key_id is not None else '(null)'}]\n")
                key_ids.pop(key_id or "", None)

    def _load_secret(self, cfg: Settings, section: str, shared_ids: dict[str, None]) -> bool:
        kind = next((t for t in SECRET_TYPES if section.startswith(t)), None)
        if kind is None:
            self._err(f"ignoring unsupported secret '{section}'\n")
            return False
        if kind not in SHARED_TYPES:
            return True  # passphrases and tokens, used above
        value = cfg.get_str(f"secrets.{section}.secret")
        if value is None:
            self._err(f"missing secret in '{section}', ignored\n")
            return False
        if value[:2].lower() == "0x":
            data = from_hex(value[2:])
        elif value[:2].lower() == "0s":
            data = from_base64(value[2:])
        else:
            data = value.encode("utf-8", "surrogateescape")
        owners = [v for k, v in cfg.key_values(f"secrets.{section}") if k.startswith("id")]
        msg = Message().add("id", section).add("type", kind).add("data", data).add_list("owners", owners)
        reply = self._submit("load-shared", msg)
        if reply is None:
            return False
        ok = True
        if self.raw:
            self._dump(reply, "load-shared reply")
        elif not self._ok(reply):
            self._err(f"loading shared secret failed: {self._errmsg(reply)}\n")
            ok = False
        else:
            self._out(f"loaded {kind} secret '{section}'\n")
        if ok:
            shared_ids.pop(section, None)
        return ok
