"""The attacker and the client of scripts/hostile.sh (see there). Standard library only."""
import argparse
import asyncio
import resource
import statistics
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def hold(kind, source, port, stop, stats, again):
    """One hostile connection of `kind` from `source`, reopened `again` seconds after the service
    closes it."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(source, 0)
            )
        except OSError:
            stats["connect_errors"] += 1
            await asyncio.sleep(0.5)
            continue
        stats["opened"] += 1
        try:
            if kind == "unfinished":
                writer.write(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 4000)
                await writer.drain()
            while not stop.is_set():
                if kind == "slowloris":
                    writer.write(b"a")
                    await writer.drain()
                try:
                    data = await asyncio.wait_for(reader.read(1024), timeout=5)
                except asyncio.TimeoutError:
                    continue
                if not data:
                    break  # closed by the service
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
        stats["closed_by_service"] += 1
        await asyncio.sleep(again)


async def client(port, token, stop, latencies, failures):
    request = (
        f"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    while not stop.is_set():
        began = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port), timeout=5
            )
            writer.write(request)
            await writer.drain()
            head = await asyncio.wait_for(reader.readline(), timeout=5)
            await asyncio.wait_for(reader.read(), timeout=5)
            writer.close()
            if head.startswith(b"HTTP/1.1 200"):
                latencies.append((time.monotonic() - began) * 1000)
            else:
                failures.append(head[:40])
        except (OSError, asyncio.TimeoutError) as e:
            failures.append(type(e).__name__)
        await asyncio.sleep(0.05)


async def main(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    baseline = rss_kib(args.pid)
    stop = asyncio.Event()
    stats = {"opened": 0, "closed_by_service": 0, "connect_errors": 0}
    kinds = ["unfinished", "slowloris", "idle"]
    # 50 connections per attacking address (127.0.1.x), under the per-client cap, so that the
    # service's overall cap is what holds; the client asks from 127.0.0.1.
    holders = [
        asyncio.create_task(
            hold(kinds[i % 3], f"127.0.1.{1 + i // 50}", args.port, stop, stats, args.again)
        )
        for i in range(args.connections)
    ]
    latencies, failures = [], []
    await asyncio.sleep(2)  # the attack in place first
    checker = asyncio.create_task(client(args.port, args.token, stop, latencies, failures))
    peak = baseline
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        peak = max(peak, rss_kib(args.pid))
        await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait(holders + [checker], timeout=15)
    await asyncio.sleep(15)
    after = rss_kib(args.pid)
    lat = sorted(latencies)
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")
    print(f"RSS MiB: before {baseline/1024:.1f}, peak {peak/1024:.1f}, 15 s after {after/1024:.1f}")
    print(
        f"client: {len(lat)} answered, {len(failures)} failed; p50 {p(0.5):.1f} ms, "
        f"p99 {p(0.99):.1f} ms, max {lat[-1] if lat else float('nan'):.1f} ms"
        + (f"; failures e.g. {failures[:3]}" if failures else "")
    )
    print(
        f"attacker: {stats['opened']} connections opened, {stats['closed_by_service']} closed by the "
        f"service, {stats['connect_errors']} connect errors"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for name, kind in [("port", int), ("pid", int), ("token", str), ("seconds", int), ("connections", int), ("again", float)]:
        parser.add_argument(f"--{name}", type=kind, required=True)
    asyncio.run(main(parser.parse_args()))
