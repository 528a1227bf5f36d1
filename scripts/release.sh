#!/usr/bin/env bash
# Releases this action: bash scripts/release.sh [--dry-run | --verify] X.Y.Z (CONTRIBUTING.md,
# "Releases").
#   --dry-run  copies the working tree (the files git would commit) to a temporary directory, makes
#              the release's edits there (the CHANGELOG entry dated today, package.json's version,
#              dist/ bundled again with that version) and checks that the result is tag-ready: scripts/release-tree.ts (CHANGELOG entry,
#              package.json, action.yml against the schema and the Marketplace's limits, every
#              snippet pinned to vX) and scripts/check-dist.sh (dist/ is the bundle of src/).
#              Changes nothing here; says what a release would commit and tag.
#   --verify   checks this checkout as it is, without edits (the release workflow, on the commit
#              of a pushed tag; the tag may exist then, at HEAD).
#   (neither)  on a clean checkout: the same edits and checks here, then commits "Release vX.Y.Z",
#              tags vX.Y.Z and moves the major tag vX to it. Pushing is left to the caller.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=release
case "${1:-}" in
  --dry-run) mode=dry-run; shift ;;
  --verify) mode=verify; shift ;;
esac
version=${1:-}
if ! [[ $version =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]]; then
  echo "usage: scripts/release.sh [--dry-run | --verify] X.Y.Z (got \"$version\")" >&2
  exit 2
fi
tag=v$version
major=v${version%%.*}
today=$(date -u +%Y-%m-%d)
tsx=$root/node_modules/.bin/tsx

# A tag names one commit for good: a release never reuses one (--verify: only the commit it names).
existing=$(git -C "$root" rev-parse -q --verify "refs/tags/$tag^{commit}" || true)
if [ -n "$existing" ]; then
  if [ "$mode" != verify ] || [ "$existing" != "$(git -C "$root" rev-parse HEAD)" ]; then
    echo "not tag-ready: the tag $tag exists already (at ${existing:0:12})" >&2
    exit 1
  fi
fi

# The major tag only ever moves forward: releasing 1.2.1 after 1.3.0 would give every @v1 user
# the older code.
newest=$(git -C "$root" tag -l "$major.*" | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' | sort -V | tail -n 1 || true)
if [ -n "$newest" ] && [ "$(printf '%s\n%s\n' "$newest" "$tag" | sort -V | tail -n 1)" != "$tag" ]; then
  echo "not tag-ready: $newest is newer than $tag, and $major must not move back to an older release" >&2
  exit 1
fi

# package.json's version is in the bundle (the CLI's --version, the SDK's user agent), so the
# release's edits are bundled again before dist/ is checked.
rebundle() {
  (cd "$1" && npm run --silent package > /dev/null)
}

# check TREE: every problem of the tree, then the dist check; fails on the first failing part.
check() {
  "$tsx" "$1/scripts/release-tree.ts" check "$1" "$version"
  (cd "$1" && bash scripts/check-dist.sh)
}

case $mode in
  dry-run)
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    (
      cd "$root"
      git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' file; do [ -e "$file" ] && printf '%s\0' "$file"; done |
        xargs -0 cp --parents -t "$work"
    )
    ln -s "$root/node_modules" "$work/node_modules"
    cp -r "$work" "$work.before" && trap 'rm -rf "$work" "$work.before"' EXIT
    "$tsx" "$work/scripts/release-tree.ts" prepare "$work" "$version" "$today"
    rebundle "$work"
    check "$work"
    echo "tag-ready: $tag. A release would change:"
    diff -r -q -x node_modules "$work.before" "$work" | sed 's|^|  |' || true
    echo "then commit \"Release $tag\", tag $tag and move $major to it."
    ;;
  verify)
    check "$root"
    echo "tag-ready: this checkout is release $tag."
    ;;
  release)
    if [ -n "$(git -C "$root" status --porcelain)" ]; then
      echo "not tag-ready: the checkout has uncommitted changes (git status)" >&2
      exit 1
    fi
    "$tsx" "$root/scripts/release-tree.ts" prepare "$root" "$version" "$today"
    rebundle "$root"
    check "$root"
    # The checkout was clean: what is changed or new now is the release's (dist/ chunks too).
    git -C "$root" add -A
    git -C "$root" commit -q -m "Release $tag"
    git -C "$root" tag -a "$tag" -m "Release $tag"
    git -C "$root" tag -f "$major" "$tag^{commit}" >/dev/null
    echo "released $tag at $(git -C "$root" rev-parse --short HEAD); $major moved to it."
    echo "push: git push origin HEAD $tag && git push --force origin $major"
    ;;
esac
