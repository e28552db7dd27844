#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the faceage container image with no image registry: the root filesystem is made from
# Debian 12 packages by mmdebstrap (exactly the packages owning the shared libraries the built
# program loads, plus libdlib-data), the program, models/ and configs/ are copied in, and the tar
# is imported into podman (or docker) with the image settings (user, ports, entry point). Then the
# image is run once (`faceage --version`) so a build that cannot start says so here.
#
#   deploy/build-image.sh [--tag faceage:latest] [--engine podman|docker] [--bin build/faceage]
#                         [--mirror URL] [--out rootfs.tar] [--deb-cache DIR] [--no-check]
#
#   --deb-cache DIR  .deb files to reuse (copied into the build, and the downloaded ones copied
#                    back): /var/cache/apt/archives of a machine that ran ./setup.sh already holds
#                    most of them, and then the build downloads little
#   --no-check       import only; do not run the image
#
# Run it through deploy/run-image.sh, which adds what a restricted sandbox needs (below):
#   deploy/run-image.sh --network host IMAGE serve           # SageMaker /ping, /invocations on :8080
#   deploy/run-image.sh --network host IMAGE                 # faceage serve on :8000
#   deploy/run-image.sh -v DIR:/opt/ml IMAGE train           # SageMaker training entry point
# On a normal host that is plain `podman run ...` / `docker run ...`.
# Needs: mmdebstrap, podman (or docker with a running daemon), dpkg, and a built program
# (./setup.sh). None of these is in scripts/apt-packages.txt: apt-get install mmdebstrap podman
# (plus runc where crun cannot start containers, see deploy/run-image.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
tag=faceage:latest engine="" bin=build/faceage mirror="" out="" deb_cache="" check=1
usage() {
  echo "usage: $0 [--tag T] [--engine podman|docker] [--bin PATH] [--mirror URL] [--out TAR]" \
       "[--deb-cache DIR] [--no-check]" >&2
  exit 2
}
while (($#)); do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --engine) engine=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --deb-cache) deb_cache=$(realpath "$2"); shift 2 ;;
    --no-check) check=0; shift ;;
    *) usage ;;
  esac
done
die() { echo "build-image: $*" >&2; exit 1; }
[[ -x $bin ]] || die "$bin is not a built program: run ./setup.sh first"
command -v mmdebstrap >/dev/null || die "needs mmdebstrap (apt-get install mmdebstrap)"
if [[ -z $engine ]]; then
  # A docker client without a reachable daemon cannot import: prefer podman (daemonless).
  if command -v podman >/dev/null; then engine=podman
  elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then engine=docker
  else die "needs podman (apt-get install podman) or docker with a running daemon"
  fi
fi
command -v "$engine" >/dev/null || die "no $engine on PATH"
[[ -z $deb_cache || -d $deb_cache ]] || die "--deb-cache $deb_cache is not a directory"

# The runtime packages: the owners of every shared library the program loads (as the Dockerfile).
# One dpkg -S for all of them (one call each takes minutes for ~300 libraries); a library found
# through the merged /usr is registered under its unmerged path (/lib/...), so those are asked again.
mapfile -t libs < <(ldd "$bin" | awk '/=> \//{print $3}' | xargs -r realpath | sort -u)
owners() { dpkg -S "$@" 2>/dev/null || true; }
found=$(owners "${libs[@]}")
mapfile -t unmerged < <(comm -23 <(printf '%s\n' "${libs[@]}") <(sed 's/^.*: //' <<<"$found" | sort -u) |
                        sed -n 's|^/usr/|/|p')
((${#unmerged[@]} == 0)) || found+=$'\n'$(owners "${unmerged[@]}")
pkgs=$(sed -n 's/: \/.*//p' <<<"$found" | tr ',' '\n' | sed 's/^ *//; s/:.*//' | sort -u |
       grep -vE '^(libc6|libgcc-s1|libstdc\+\+6)$' | tr '\n' ',')
[[ -n $pkgs ]] || die "no runtime packages found for $bin"
pkgs="${pkgs}libdlib-data,ca-certificates,curl"

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
tar=${out:-$work/rootfs.tar}
stage=$work/stage; mkdir -p "$stage/bin" "$stage/share"
cp "$bin" "$stage/bin/faceage"
cp -r models configs "$stage/share/"
hooks=()
for e in serve train; do  # the SageMaker entry points (`docker run IMAGE serve|train`)
  [[ -f deploy/sagemaker/$e ]] && hooks+=(--customize-hook="copy-in deploy/sagemaker/$e /usr/local/bin")
done
cache_opts=()
if [[ -n $deb_cache ]]; then
  # Keep the essential packages' .debs (skip essential/unlink) so the copy back is complete.
  cache_opts=(--skip=essential/unlink
              --setup-hook='mkdir -p "$1"/var/cache/apt/archives/'
              --setup-hook="sync-in $deb_cache /var/cache/apt/archives/"
              --customize-hook="sync-out /var/cache/apt/archives $deb_cache")
fi

start=$SECONDS
echo "build-image: mmdebstrap bookworm with $(tr ',' '\n' <<<"$pkgs" | wc -l) packages${deb_cache:+ (reusing .debs in $deb_cache)}"
mmdebstrap --variant=minbase --include="$pkgs" "${cache_opts[@]}" \
  --customize-hook='mkdir -p "$1/opt/faceage/bin" "$1/opt/faceage/share/faceage" "$1/opt/ml/model" "$1/opt/ml/input" "$1/opt/ml/output"' \
  --customize-hook="copy-in $stage/bin/faceage /opt/faceage/bin" \
  --customize-hook="copy-in $stage/share/models $stage/share/configs /opt/faceage/share/faceage" \
  "${hooks[@]}" \
  --customize-hook='chroot "$1" useradd --system --no-create-home faceage && chroot "$1" chown -R faceage /opt/ml' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  bookworm "$tar" ${mirror:+"$mirror"}
echo "build-image: root filesystem $(du -m "$tar" | cut -f1) MB in $((SECONDS - start)) s"

"$engine" import \
  --change 'ENV PATH=/opt/faceage/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV FACEAGE_MODEL=/opt/faceage/share/faceage/models/default.fab' \
  --change 'USER faceage' \
  --change 'WORKDIR /opt/ml' \
  --change 'EXPOSE 8000' --change 'EXPOSE 8080' \
  --change "LABEL faceage.binary.sha256=$(sha256sum "$stage/bin/faceage" | cut -d' ' -f1)" \
  --change "LABEL faceage.model.sha256=$(sha256sum "$stage/share/models/default.fab" | cut -d' ' -f1)" \
  --change 'CMD ["faceage", "serve", "--host", "0.0.0.0", "--port", "8000"]' \
  "$tar" "$tag" >/dev/null
echo "build-image: $tag imported into $engine ($("$engine" image inspect --format '{{.Size}}' "$tag" | awk '{printf "%d MB", $1/1e6}'))"
if ((check)); then
  version=$(FACEAGE_ENGINE=$engine deploy/run-image.sh --rm "$tag" faceage --version) ||
    die "the image was imported but does not run (deploy/run-image.sh --rm $tag faceage --version)"
  echo "build-image: $tag runs: $version"
fi
echo "build-image: done in $((SECONDS - start)) s"
