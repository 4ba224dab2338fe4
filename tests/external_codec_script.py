"""A stand-in for an external encoder/decoder pair, for tests of the external-command codec.

    python external_codec_script.py encode IN.png OUT.qkx Q [--behave ok|fail|sleep|nothing|linger]
    python external_codec_script.py decode IN.qkx OUT.png [--behave ok|fail]
    python external_codec_script.py --version

The "bitstream" is a PNG of the image with its samples cut to Q bits (so more Q, more bytes).
``linger``: encode, and leave a background process holding stderr open for 60 s. With
``$QK_TEST_PIDS`` set, every process started appends its pid to that file.
"""

import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image


def record(pid: int) -> None:
    if os.environ.get("QK_TEST_PIDS"):
        with open(os.environ["QK_TEST_PIDS"], "a") as f:
            f.write(f"{pid}\n")


def main(argv: list[str]) -> int:
    if argv == ["--version"]:
        print("fake-codec 1.2.3 (test stand-in)")
        return 0
    behave = argv[argv.index("--behave") + 1] if "--behave" in argv else "ok"
    record(os.getpid())
    if behave == "linger":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stderr=sys.stderr)
        record(child.pid)
    if behave == "fail":
        print("warming up\n" + "x" * 2000 + "\nfatal: cannot encode this (simulated)", file=sys.stderr)
        return 3
    if behave == "sleep":
        time.sleep(60)
    if behave == "nothing":
        return 0
    mode, src, dst = argv[:3]
    if mode == "encode":
        bits = int(argv[3])
        image = np.asarray(Image.open(src).convert("RGB"))
        kept = (image >> (8 - bits)) << (8 - bits)
        Image.fromarray(kept.astype(np.uint8)).save(dst, format="PNG")
    else:
        Image.open(src, formats=["PNG"]).convert("RGB").save(dst, format="PNG")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
