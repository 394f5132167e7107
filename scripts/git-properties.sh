#!/usr/bin/env bash
# Writes the git.properties that BuildInfo reads (the commit every run.json records):
#   git-properties.sh CHECKOUT_DIR VERSION OUT_FILE
# Asks git itself in CHECKOUT_DIR, so a build in a linked worktree records that worktree's commit (not the main
# checkout's). Outside a git checkout, or without git, the commit is "unknown" and the build goes on.
set -uo pipefail
dir="$1" version="$2" out="$3"
mkdir -p "$(dirname "$out")" || exit 1
commit=unknown time="" dirty=false
# read-only: no index lock that a concurrent commit would trip over; a checkout owned by another user is read too
g() { git --no-optional-locks -c safe.directory='*' -C "$dir" "$@" 2>/dev/null; }
if command -v git >/dev/null 2>&1 && c="$(g rev-parse --short=7 HEAD)"; then
  commit="$c"
  time="$(g log -1 --format=%cI HEAD)"
  # tracked changes or untracked files that are not ignored: what the build could have compiled
  [ -n "$(g status --porcelain | head -1)" ] && dirty=true
fi
tmp="$out.tmp.$$"
{
  echo "# written by scripts/git-properties.sh"
  echo "git.build.version=$version"
  echo "git.commit.id.abbrev=$commit"
  echo "git.commit.time=${time//:/\\:}"
  echo "git.dirty=$dirty"
} > "$tmp" && mv -f "$tmp" "$out"
