"""A local stand-in for the channels' servers (tests, the bench, `gridgov notify receiver` for the demo).

It speaks each platform's request and answer format on 127.0.0.1 and checks what a real server checks:
- WeCom robot  POST /cgi-bin/webhook/send?key=…          markdown body; unknown key → errcode 93000
- DingTalk     POST /robot/send?access_token=…&timestamp=…&sign=…   HMAC-SHA256 checked → errcode 310000
- Feishu       POST /open-apis/bot/v2/hook/<token>       body timestamp + sign checked → code 19021
- Aliyun SMS   POST /sms/                                 RPC signature checked → Code SignatureDoesNotMatch
- webhook      POST /hook                                 X-Gridgov-Signature checked → 401
Faults can be queued per kind (`fail(kind, "500" | "timeout" | "reject", …)`), each used once, in order.
Every accepted message is kept in `received` and, with a log path, appended there as one JSON line."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gis.notify.channels import aliyun_signature, dingtalk_sign, feishu_sign


@dataclass
class ReceiverState:
    wecom_keys: set[str] = field(default_factory=lambda: {"demo"})
    dingtalk_secret: str | None = None
    feishu_secret: str | None = None
    sms_key_id: str = "demo-key-id"
    sms_secret: str = "demo-key-secret"
    webhook_secret: str | None = None
    log_path: Path | None = None
    timeout_s: float = 2.0  # how long a "timeout" fault sleeps
    received: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    lock: threading.Lock = field(default_factory=threading.Lock)
    count: int = 0

    def fail(self, kind: str, *faults: str) -> None:
        with self.lock:
            self.faults[kind].extend(faults)

    def take_fault(self, kind: str) -> str | None:
        with self.lock:
            q = self.faults.get(kind)
            return q.popleft() if q else None

    def keep(self, kind: str, message: dict[str, Any], *, store: bool = True) -> None:
        with self.lock:
            self.count += 1
            if store:
                self.received.append({"kind": kind, **message})
            if self.log_path is not None:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                with self.log_path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps({"at": time.time(), "kind": kind, **message}, ensure_ascii=False) + "\n")

    def of(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.received if m["kind"] == kind]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the stdlib's name)
        return

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:  # noqa: N802  (the stdlib's name)
        st = self.server.state
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        kind = self._kind(url.path)
        if kind is None:
            self._answer(404, {"error": "unknown path"})
            return
        fault = st.take_fault(kind)
        if fault == "timeout":  # the gateway hangs and drops the message: the client must give up and retry
            time.sleep(st.timeout_s)
            self.close_connection = True
            return
        if fault == "500":
            self._answer(500, {"error": "internal error"})
            return
        handler = getattr(self, f"_{kind}")
        status, body, message = handler(query, raw, url.path)
        if fault == "reject" and message is not None:
            status, body, message = self._rejection(kind)
        if message is not None:
            st.keep(kind, message, store=not self.server.bench)
        self._answer(status, body)

    @staticmethod
    def _kind(path: str) -> str | None:
        if path == "/cgi-bin/webhook/send":
            return "wecom"
        if path == "/robot/send":
            return "dingtalk"
        if path.startswith("/open-apis/bot/v2/hook/"):
            return "feishu"
        if path.rstrip("/") == "/sms":
            return "sms"
        if path == "/hook":
            return "webhook"
        return None

    @staticmethod
    def _rejection(kind: str) -> tuple[int, dict[str, Any], None]:
        answers: dict[str, tuple[int, dict[str, Any], None]] = {
            "wecom": (200, {"errcode": 45009, "errmsg": "api freq out of limit"}, None),
            "dingtalk": (200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}, None),
            "feishu": (200, {"code": 11232, "msg": "frequency limited"}, None),
            "sms": (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发流控", "RequestId": "r"}, None),
            "webhook": (422, {"error": "rejected"}, None),
        }
        return answers[kind]

    def _json(self, raw: bytes) -> dict[str, Any] | None:
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _wecom(self, q: dict[str, str], raw: bytes, _: str) -> tuple[int, dict[str, Any], dict[str, Any] | None]:
        if q.get("key") not in self.server.state.wecom_keys:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}, None
        data = self._json(raw)
        if not data or data.get("msgtype") != "markdown" or not data.get("markdown", {}).get("content"):
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}, None
        return 200, {"errcode": 0, "errmsg": "ok"}, {"text": data["markdown"]["content"]}

    def _dingtalk(self, q: dict[str, str], raw: bytes, _: str) -> tuple[int, dict[str, Any], dict[str, Any] | None]:
        secret = self.server.state.dingtalk_secret
        if secret is not None:
            ts = q.get("timestamp", "0")
            fresh = ts.isdigit() and abs(time.time() * 1000 - int(ts)) < 3_600_000
            if not fresh or not hmac.compare_digest(q.get("sign", ""), dingtalk_sign(secret, int(ts or 0))):
                return 200, {"errcode": 310000, "errmsg": "sign not match"}, None
        data = self._json(raw)
        if not data or data.get("msgtype") != "markdown" or not data.get("markdown", {}).get("text"):
            return 200, {"errcode": 40035, "errmsg": "缺少参数 json"}, None
        return (
            200,
            {"errcode": 0, "errmsg": "ok"},
            {"title": data["markdown"]["title"], "text": data["markdown"]["text"]},
        )

    def _feishu(self, _: dict[str, str], raw: bytes, path: str) -> tuple[int, dict[str, Any], dict[str, Any] | None]:
        data = self._json(raw) or {}
        secret = self.server.state.feishu_secret
        if secret is not None:
            ts = str(data.get("timestamp", "0"))
            fresh = ts.isdigit() and abs(time.time() - int(ts)) < 3600
            if not fresh or not hmac.compare_digest(str(data.get("sign", "")), feishu_sign(secret, int(ts or 0))):
                return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}, None
        post = data.get("content", {}).get("post", {}).get("zh_cn") if data.get("msg_type") == "post" else None
        if not post:
            return 200, {"code": 9499, "msg": "Bad Request"}, None
        text = "\n".join(el.get("text", "") for line in post.get("content", []) for el in line)
        return 200, {"code": 0, "msg": "success", "data": {}}, {"title": post.get("title"), "text": text,
                                                               "token": path.rsplit("/", 1)[-1]}  # fmt: skip

    def _sms(self, _: dict[str, str], raw: bytes, __: str) -> tuple[int, dict[str, Any], dict[str, Any] | None]:
        st = self.server.state
        form = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
        signature = form.pop("Signature", "")
        if form.get("AccessKeyId") != st.sms_key_id:
            return 404, {"Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found."}, None
        if not hmac.compare_digest(signature, aliyun_signature(form, st.sms_secret)):
            return 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched."}, None
        missing = [k for k in ("PhoneNumbers", "SignName", "TemplateCode", "TemplateParam") if not form.get(k)]
        if missing or form.get("Action") != "SendSms":
            return 400, {"Code": "MissingParameter", "Message": f"missing {missing}"}, None
        biz = hashlib.sha256(form.get("OutId", "").encode()).hexdigest()[:20]
        message = {k: form[k] for k in ("PhoneNumbers", "SignName", "TemplateCode", "TemplateParam", "OutId")}
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz, "RequestId": biz}, message

    def _webhook(self, _: dict[str, str], raw: bytes, __: str) -> tuple[int, dict[str, Any], dict[str, Any] | None]:
        secret = self.server.state.webhook_secret
        if secret is not None:
            want = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(self.headers.get("X-Gridgov-Signature", ""), want):
                return 401, {"error": "bad signature"}, None
        data = self._json(raw)
        if data is None:
            return 400, {"error": "not JSON"}, None
        return 200, {"ok": True}, {**data, "idempotency_key": self.headers.get("X-Gridgov-Idempotency-Key")}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, state: ReceiverState, *, bench: bool = False) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state
        self.bench = bench  # count only: do not keep every message in memory


class Receiver:
    """Start with `with Receiver() as r:`; `r.url` is http://127.0.0.1:<port>."""

    def __init__(self, state: ReceiverState | None = None, *, port: int = 0, bench: bool = False) -> None:
        self.state = state or ReceiverState()
        self.server = _Server(port, self.state, bench=bench)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def serve_forever(self) -> None:
        self.server.serve_forever()
