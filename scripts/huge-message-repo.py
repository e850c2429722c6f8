#!/usr/bin/env python3
"""Writes a bare git repository whose commits carry huge, highly compressible messages.

    scripts/huge-message-repo.py DEST [--commits 12] [--megabytes 50]

The repository of issue 10's finding 5: twelve commits of 50 MB messages pack to a few MB, so a clone is
cheap while `git log --format=%B` prints 600 MB. Commits are dated in the last days, one hour apart, so the
whole history is inside a one-year window. Built with `git fast-import`, in seconds.
"""
import argparse
import os
import subprocess
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest")
    parser.add_argument("--commits", type=int, default=12)
    parser.add_argument("--megabytes", type=int, default=50)
    args = parser.parse_args()

    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null", LC_ALL="C")
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", args.dest], check=True, env=env)
    importer = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=args.dest, stdin=subprocess.PIPE, env=env)
    out = importer.stdin
    phrase = b"lorem ipsum dolor sit amet "
    body = phrase * (args.megabytes * 1024 * 1024 // len(phrase))
    start = int(time.time()) - 86_400 * 3
    for index in range(args.commits):
        message = b"commit %d of a huge history\n\n%s\n" % (index, body)
        content = b"line %d\n" % index
        when = start + index * 3600
        out.write(b"blob\nmark :%d\ndata %d\n%s\n" % (100_000 + index, len(content), content))
        out.write(b"commit refs/heads/main\nmark :%d\n" % (index + 1))
        out.write(b"author Huge <huge@example.com> %d +0000\ncommitter Huge <huge@example.com> %d +0000\n" % (when, when))
        out.write(b"data %d\n%s\n" % (len(message), message))
        if index:
            out.write(b"from :%d\n" % index)
        out.write(b"M 100644 :%d file%d.txt\n\n" % (100_000 + index, index))
    out.close()
    if importer.wait() != 0:
        return 1
    # One compact pack, as a server would have.
    subprocess.run(["git", "-C", args.dest, "repack", "-adq", "--window=10", "--depth=50"], check=True, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
