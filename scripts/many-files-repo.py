#!/usr/bin/env python3
"""Generate a git repository holding N small files in one commit, the shape of issue 10's finding 6.

    scripts/many-files-repo.py DEST --files N [--bare] [--per-folder K]

The commit holds N files `src/dNNNN/fNNNNNN.txt` (K per folder, 1000 by default), each a few
distinct bytes, plus six files that give every Scorecard check something to find: LICENSE,
README.md, SECURITY.md, .github/dependabot.yml, .github/workflows/ci.yml and Dockerfile (so the
tree has N + 6 files). DEST must not exist. Without --bare, DEST is a repository whose work tree is
checked out (what Scorecard scans); with --bare it is a bare repository, to serve over HTTP.

Written through `git fast-import`: one process, no work tree while writing, no per-file fork,
so 200 000 files take a few seconds (the repository is ~13 MB, the checkout ~800 MB on ext4).
The output is the same for the same arguments (fixed author, date and contents).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

EXTRA_FILES = {
    "LICENSE": "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\n",
    "README.md": "# many-files\n\nA generated repository with very many files in one commit.\n",
    "SECURITY.md": "Report vulnerabilities to security@example.org; we answer within 2 days.\n"
    "See https://example.org/security for the disclosure policy.\n",
    ".github/dependabot.yml": "version: 2\nupdates:\n  - package-ecosystem: github-actions\n    directory: /\n"
    "    schedule:\n      interval: weekly\n",
    ".github/workflows/ci.yml": "on: [push]\npermissions: read-all\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
    "    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n",
    "Dockerfile": "FROM alpine:3.20\nRUN apk add --no-cache git\n",
}

# Fixed so that two runs give the same commit id.
IDENTITY = "Many Files <many-files@example.org> 1700000000 +0000"


def fast_import_stream(files: int, per_folder: int):
    """The fast-import commands, as byte chunks: one commit, every file's content inline."""
    yield b"commit refs/heads/main\n"
    yield f"author {IDENTITY}\ncommitter {IDENTITY}\n".encode()
    message = f"{files} generated files\n".encode()
    yield b"data %d\n%s\n" % (len(message), message)
    for path, text in EXTRA_FILES.items():
        data = text.encode()
        yield b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data)
    for index in range(files):
        path = b"src/d%04d/f%06d.txt" % (index // per_folder, index)
        data = b"file %d\n" % index
        yield b"M 100644 inline %s\ndata %d\n%s\n" % (path, len(data), data)
    yield b"done\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", help="folder to create (must not exist)")
    parser.add_argument("--files", type=int, required=True, help="number of generated files (the tree has 6 more)")
    parser.add_argument("--per-folder", type=int, default=1000, help="generated files per folder (default 1000)")
    parser.add_argument("--bare", action="store_true", help="a bare repository (no work tree)")
    args = parser.parse_args()
    if args.files < 0 or args.per_folder < 1:
        parser.error("--files must be >= 0 and --per-folder >= 1")
    if os.path.exists(args.dest):
        parser.error(f"{args.dest} exists")

    # No user or system configuration: hooks, templates or a default branch set there must not change the result.
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_TERMINAL_PROMPT="0")
    git = ["git", "-c", "init.defaultBranch=main"]
    subprocess.run(git + ["init", "-q"] + (["--bare"] if args.bare else []) + [args.dest], check=True, env=env)
    git_dir = args.dest if args.bare else os.path.join(args.dest, ".git")
    importer = subprocess.Popen(
        ["git", "--git-dir", git_dir, "fast-import", "--quiet", "--done"], stdin=subprocess.PIPE, env=env
    )
    assert importer.stdin is not None
    buffer = []
    size = 0
    for chunk in fast_import_stream(args.files, args.per_folder):
        buffer.append(chunk)
        size += len(chunk)
        if size >= 1 << 20:
            importer.stdin.write(b"".join(buffer))
            buffer, size = [], 0
    importer.stdin.write(b"".join(buffer))
    importer.stdin.close()
    if importer.wait() != 0:
        print("many-files-repo: git fast-import failed", file=sys.stderr)
        return 1
    subprocess.run(["git", "--git-dir", git_dir, "symbolic-ref", "HEAD", "refs/heads/main"], check=True, env=env)
    # fast-import already wrote one pack: no repack needed.
    if not args.bare:
        subprocess.run(["git", "-C", args.dest, "checkout", "-q", "-f", "main"], check=True, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
