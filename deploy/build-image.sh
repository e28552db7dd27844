#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the faceage container image with no image registry: the root filesystem is made from
# Debian 12 packages by mmdebstrap (exactly the packages owning the shared libraries the built
# program loads, plus libdlib-data), the program, models/ and configs/ are copied in, and the tar
# is imported into podman (or docker) with the image settings (user, ports, entry point).
#
#   deploy/build-image.sh [--tag faceage:latest] [--engine podman|docker] [--bin build/faceage]
#                         [--mirror URL] [--out rootfs.tar]
#
# Run it (SageMaker contract on 8080; the web page + REST + OIP v2 on 8000):
#   podman run --network host IMAGE serve                  # /ping, /invocations on :8080
#   podman run --network host IMAGE                        # faceage serve on :8000
#   podman run -v DIR:/opt/ml IMAGE train                  # SageMaker training entry point
# In sandboxes whose hard limits are below podman's defaults (RLIMIT_NOFILE 1048576) and that
# mount cgroups v1 + v2 ("hybrid"), crun refuses to start containers; what works there (measured
# on this project's build machines, docs/scaling.md):
#   podman --runtime runc run --ulimit nofile=1024:20000 --ulimit nproc=4096:8192 ...
# Needs: mmdebstrap, podman or docker, dpkg, and a built program (./setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
tag=faceage:latest engine="" bin=build/faceage mirror="" out=""
while (($#)); do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --engine) engine=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--tag T] [--engine podman|docker] [--bin PATH] [--mirror URL] [--out TAR]" >&2; exit 2 ;;
  esac
done
die() { echo "build-image: $*" >&2; exit 1; }
[[ -x $bin ]] || die "$bin is not a built program: run ./setup.sh first"
command -v mmdebstrap >/dev/null || die "needs mmdebstrap (apt-get install mmdebstrap)"
if [[ -z $engine ]]; then engine=$(command -v podman || command -v docker || true); fi
[[ -n $engine ]] || die "needs podman or docker"

# The runtime packages: the owners of every shared library the program loads (as the Dockerfile).
owner() { dpkg -S "$1" 2>/dev/null || dpkg -S "${1#/usr}" 2>/dev/null || true; }
pkgs=$(ldd "$bin" | awk '/=> \//{print $3}' | while read -r lib; do owner "$(realpath "$lib")"; done |
       cut -d: -f1 | sort -u | grep -vE '^(libc6|libgcc-s1|libstdc\+\+6)$' | tr '\n' ',')
[[ -n $pkgs ]] || die "no runtime packages found for $bin"
pkgs="${pkgs}libdlib-data,ca-certificates,curl"

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
tar=${out:-$work/rootfs.tar}
stage=$work/stage; mkdir -p "$stage/bin" "$stage/share"
cp "$bin" "$stage/bin/faceage"
cp -r models configs "$stage/share/"
entry_hooks=()
for e in serve train; do  # the SageMaker entry points (`docker run IMAGE serve|train`)
  [[ -f deploy/sagemaker/$e ]] && entry_hooks+=(--customize-hook="copy-in deploy/sagemaker/$e /usr/local/bin")
done

echo "build-image: mmdebstrap bookworm with $(tr ',' '\n' <<<"$pkgs" | wc -l) packages"
mmdebstrap --variant=minbase --include="$pkgs" \
  --customize-hook='mkdir -p "$1/opt/faceage/bin" "$1/opt/faceage/share/faceage" "$1/opt/ml/model" "$1/opt/ml/input" "$1/opt/ml/output"' \
  --customize-hook="copy-in $stage/bin/faceage /opt/faceage/bin" \
  --customize-hook="copy-in $stage/share/models $stage/share/configs /opt/faceage/share/faceage" \
  "${entry_hooks[@]}" \
  --customize-hook='chroot "$1" useradd --system --no-create-home faceage && chroot "$1" chown -R faceage /opt/ml' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  bookworm "$tar" ${mirror:+"$mirror"}

"$engine" import \
  --change 'ENV PATH=/opt/faceage/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV FACEAGE_MODEL=/opt/faceage/share/faceage/models/default.fab' \
  --change 'USER faceage' \
  --change 'WORKDIR /opt/ml' \
  --change 'EXPOSE 8000 8080' \
  --change 'CMD ["faceage", "serve", "--host", "0.0.0.0", "--port", "8000"]' \
  "$tar" "$tag" >/dev/null
echo "build-image: $tag ($(du -m "$tar" | cut -f1) MB root filesystem) imported into $(basename "$engine")"
