#!/usr/bin/python3
"""An MLLP receiver built on Debian's python3-hl7 (hl7.mllp), the peer of
the outbox tests: it is not Vigie's code. It acknowledges every message it
reads (AA), records each one as a JSON line in --out (before answering), and
can be told to answer AE to the first --ae messages, or to die (exit at
once, no acknowledgement) when it reads its --die-at-th message, or to
wait --delay seconds before each answer. The observations (OBX) of a
result are recorded as python3-hl7 reads them, for the tests to compare.

It prints "PORT <n>" on standard output once it listens.
"""
import argparse
import asyncio
import json
import os
import sys

import hl7
import hl7.mllp


def observations(msg):
    """The OBX segments as python3-hl7 reads them: code (OBX-3.1), coding
    system (OBX-3.3), value type, value (OBX-5, repetitions joined by a
    new line), unit (OBX-6.1) and status (OBX-11)."""
    out = []
    for seg in msg:
        if str(seg[0]) != "OBX":
            continue
        code = seg[3][0]
        value = seg[5]
        if len(value) > 1:
            value = "\n".join(str(r) for r in value)
        out.append({
            "code": str(code[0]) if len(code) > 0 else "",
            "system": str(code[2]) if len(code) > 2 else "",
            "type": str(seg[2]),
            "value": msg.unescape(str(value)),
            "unit": str(seg[6][0][0]) if len(seg) > 6 and len(seg[6]) and len(seg[6][0]) else "",
            "status": str(seg[11]) if len(seg) > 11 else "",
        })
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--ae", type=int, default=0, help="answer AE to the first N messages")
    p.add_argument("--die-at", type=int, default=0, help="exit without answering on the N-th message")
    p.add_argument("--delay", type=float, default=0, help="seconds to wait before each answer")
    a = p.parse_args()
    seen = {"n": 0}
    out = open(a.out, "a", encoding="utf-8")

    async def handle(reader, writer):
        try:
            while not writer.is_closing():
                msg = await reader.readmessage()
                seen["n"] += 1
                n = seen["n"]
                msh = msg.segment("MSH")
                out.write(json.dumps({
                    "n": n,
                    "control": str(msh[10]),
                    "type": str(msh[9]),
                    "raw": str(msg),
                    "obx": observations(msg),
                }, ensure_ascii=False) + "\n")
                out.flush()
                os.fsync(out.fileno())
                if a.die_at and n == a.die_at:
                    os._exit(3)
                if a.delay:
                    await asyncio.sleep(a.delay)
                code = "AE" if n <= a.ae else "AA"
                writer.writemessage(msg.create_ack(ack_code=code))
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    async def run():
        server = await hl7.mllp.start_hl7_server(handle, host="127.0.0.1", port=a.port, encoding="utf-8")
        port = server.sockets[0].getsockname()[1]
        print("PORT %d" % port, flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
