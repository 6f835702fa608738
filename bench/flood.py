"""A bounded SIP INVITE flood from one source address, as a separate process so that it
does not share the test process's interpreter (the PBX under test runs there).

``python -m bench.flood --source 127.0.0.66 --to 127.0.0.1:25070 --rate 1500
--seconds 8 --max 12000`` sends INVITEs (each a new Call-ID, with an SDP) at `rate` per
second until `seconds` have passed, `max` have been sent or it receives SIGTERM, then
prints {"started": true} once it is about to send and, at the end, one JSON line:
{"sent": N, "answers": M, "seconds": S}.
"""

from __future__ import annotations

import argparse
import json
import secrets
import select
import signal
import socket
import time
from types import FrameType

SDP = (
    "v=0\r\no=- 1 1 IN IP4 {h}\r\ns=-\r\nc=IN IP4 {h}\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
)


def invite(source: tuple[str, int], to: tuple[str, int], n: int) -> bytes:
    """A well-formed INVITE with its own Call-ID and branch, as a scanner sends."""
    (host, port), tag = source, secrets.token_hex(6)
    ruri = f"sip:7495000{n % 10000:04d}@{to[0]}:{to[1]}"
    body = SDP.format(h=host)
    return (
        f"INVITE {ruri} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{tag};rport\r\n"
        f"From: <sip:flood@{host}>;tag={tag}\r\nTo: <{ruri}>\r\n"
        f"Call-ID: {tag}@{host}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        f"Contact: <sip:flood@{host}:{port}>\r\nContent-Type: application/sdp\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--source", required=True)
    p.add_argument("--to", required=True, help="host:port")
    p.add_argument("--rate", type=float, default=1000.0)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--max", type=int, default=10_000)
    a = p.parse_args()
    host, port = a.to.rsplit(":", 1)
    to = (host, int(port))
    stop = False

    def on_term(_sig: int, _frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    skt = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    skt.bind((a.source, 0))
    skt.setblocking(False)
    source = (a.source, skt.getsockname()[1])
    # Prepared ahead so the pace is the wire's, not the formatting's.
    batch = [invite(source, to, n) for n in range(min(a.max, 20_000))]
    sent = answers = 0
    print(json.dumps({"started": True}), flush=True)
    start = time.monotonic()
    while not stop and sent < a.max:
        elapsed = time.monotonic() - start
        if elapsed >= a.seconds:
            break
        due = min(a.max, int(elapsed * a.rate) + 1)
        while sent < due:
            try:
                skt.sendto(batch[sent % len(batch)], to)
            except BlockingIOError:
                break
            sent += 1
        readable, _, _ = select.select([skt], [], [], 0.002)
        while readable:
            try:
                skt.recv(65535)
                answers += 1
            except (BlockingIOError, ConnectionRefusedError):
                break
    print(json.dumps({"sent": sent, "answers": answers, "seconds": time.monotonic() - start}))


if __name__ == "__main__":
    main()
