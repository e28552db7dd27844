#!/usr/bin/env bash
# Builds faceage against a CUDA LibTorch 2.x (the PyTorch wheel's) on the device machine.
#
#   scripts/gpu-build.sh fetch   # HERE, on Debian 12 with scripts/apt-packages.txt installed
#   scripts/gpu-build.sh build   # THERE, with `carry: [".gpu-deps"]`; logs to $OUT if set
#   scripts/gpu-build.sh compile # THERE: only configure and build the faceage program (no tests)
#
# The device machine has python3 + torch, nvcc, cmake, ninja and (we expect) g++, but no Debian
# -dev packages and no registry, so `fetch` packs everything else faceage links into .gpu-deps/:
#   debs/   the Debian 12 .debs (compressed: the unpacked tree would not fit the 64 MiB carry limit)
#   stubs/  stand-ins for GDAL and GDCM (see make_stubs)
# `build` unpacks the .debs into /tmp, fixes up what dpkg's maintainer scripts and absolute /usr
# paths would have done, configures build-gpu/ against torch.utils.cmake_prefix_path, builds the
# torch-using targets and runs their tests and a short CUDA training run with bf16 autocast.
set -euo pipefail
cd "$(dirname "$0")/.."
DEPS=$PWD/.gpu-deps
ARCH=x86_64-linux-gnu
P=/tmp/faceage-gpu-deps   # where the .debs are unpacked (both here, to check, and there)
L=$P/usr/lib/$ARCH

die() { echo "gpu-build: $*" >&2; exit 1; }

# Shared libraries faceage links: the roots of the runtime closure that has to travel.
ROOTS="libopencv_core.so.406 libopencv_imgproc.so.406 libopencv_imgcodecs.so.406 libopencv_objdetect.so.406
  libopencv_dnn.so.406 libdlib.so.19.1 libyaml-cpp.so.0.7 libspdlog.so.1.10 libfmt.so.9 libturbojpeg.so.0
  libjemalloc.so.2 libplplotcxx.so.15 libsqlite3.so.0 libssl.so.3 libcrypto.so.3 libcpp-httplib.so.0.11
  libpkgconf.so.3"
# Headers, CMake configs, .pc files and .so links for cmake/FaceageDependencies.cmake (bench off:
# no Google Benchmark); libpng/libjpeg/zlib -dev for the .so paths dlib's CMake config names.
DEV="libopencv-dev libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libopencv-objdetect-dev
  libdlib-dev libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libcpp-httplib-dev
  libsqlite3-dev libeigen3-dev libturbojpeg0-dev libjemalloc-dev libplplot-dev libssl-dev libbrotli-dev
  libgtest-dev libgmock-dev libpng-dev libjpeg62-turbo-dev zlib1g-dev pkgconf-bin"
# glibc and the GCC runtime: the device's own (newer) ones serve.
BASE='^(libc|libm|libmvec|libdl|libpthread|librt|libresolv|libutil|ld-linux-x86-64|libstdc\+\+|libgcc_s)\.so'
# Only OpenCV's imgcodecs needs GDAL and GDCM (to read GIS and DICOM files, never done here), and
# their closure is ~36 MiB of .debs: they are replaced by stubs.
DROP='^(libgdal|libgdcm[A-Za-z]*)\.so'

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
resolve() {  # soname -> file on this machine; BLAS/LAPACK: the small reference ones (libblas3)
  case $1 in
    libblas.so.3) realpath "/usr/lib/$ARCH/blas/libblas.so.3" ;;
    liblapack.so.3) realpath "/usr/lib/$ARCH/lapack/liblapack.so.3" ;;
    *) local f; f=$(ldconfig -p | awk -v s="$1" '$1 == s && /x86-64/ {print $NF; exit}')
       [[ -n $f ]] || die "$1 not found: install scripts/apt-packages.txt first"; realpath "$f" ;;
  esac
}
owner() { { dpkg -S "$1" 2>/dev/null || dpkg -S "${1#/usr}"; } | head -1 | cut -d: -f1; }

fetch() {
  command -v apt-get dpkg-deb readelf nm gcc >/dev/null || die "needs apt-get, dpkg-deb, binutils, gcc"
  rm -rf "$DEPS"; mkdir -p "$DEPS/debs" "$DEPS/stubs"
  # Walk DT_NEEDED from the roots (a package's Depends would drag in fonts, Mesa and 60 MiB of
  # dlib models); remember the libraries that need a dropped one.
  local -A seen=(); local -a queue=($ROOTS) files=() dropped=() users=()
  while ((${#queue[@]})); do
    local so=${queue[0]}; queue=("${queue[@]:1}")
    [[ -n ${seen[$so]:-} || $so =~ $BASE ]] && continue
    seen[$so]=1
    if [[ $so =~ $DROP ]]; then dropped+=("$so"); continue; fi
    local f; f=$(resolve "$so"); files+=("$f")
    for n in $(needed "$f"); do
      queue+=("$n"); [[ $n =~ $DROP ]] && users+=("$f")
    done
  done
  local pkgs; pkgs=$( { for f in "${files[@]}"; do owner "$f"; done; echo $DEV | tr ' ' '\n'; } | sort -u)
  (cd "$DEPS/debs" && apt-get download -q $pkgs)
  make_stubs
  unpack
  smoke_test
  local deps tree; deps=$(du -sb "$DEPS" | cut -f1); tree=$(git ls-files -z | xargs -0 cat | wc -c)
  echo "carried: .gpu-deps $((deps >> 20)) MiB ($(ls "$DEPS/debs" | wc -l) .debs + stubs) + working tree" \
       "$((tree >> 20)) MiB = $(((deps + tree) >> 20)) of the 64 MiB a run takes; unpacked $(du -sm "$P" | cut -f1) MiB."
  (((deps + tree) >> 20 < 64)) || echo "gpu-build: WARNING: over the carry limit" >&2
  echo "Largest .debs:"
  ls -S -s --block-size=K "$DEPS/debs" | sed -n 2,9p
}

# One stub library per dropped soname, each defining every symbol the kept libraries import and
# nothing kept defines (imgcodecs is linked with BIND_NOW: its imports must resolve at load).
# Every function returns 0, so GDAL and GDCM open nothing (GDALOpen -> NULL, ImageReader::Read ->
# false) and OpenCV's GDAL/DICOM decoders decline every file; GDALAllRegister, which OpenCV calls
# when it registers its decoders, does nothing.
make_stubs() {
  local c=$DEPS/stubs/stubs.c want=$DEPS/stubs/imports.txt real
  for f in "${files[@]}" $(for b in libc.so.6 libm.so.6 libstdc++.so.6 libgcc_s.so.1 ld-linux-x86-64.so.2; do resolve $b; done); do
    nm -D --defined-only "$f"; done | awk '{print $NF}' | sed 's/@.*//' | sort -u > "$DEPS/stubs/kept.txt"
  for f in "${users[@]}"; do nm -D --undefined-only "$f"; done | awk '$1 == "U" {print $2}' | sed 's/@.*//' |
    sort -u | comm -23 - "$DEPS/stubs/kept.txt" > "$want"
  # Type and size from the real libraries (and what they load); data is zeros.
  real=$(for so in "${dropped[@]}"; do resolve "$so"; ldd "$(resolve "$so")" | awk '/=>/ {print $3}'; done | sort -u)
  : > "$c"
  for f in $real; do nm -D -S -t d --defined-only "$f"; done | sed 's/@.*//' | awk '
    FNR == NR { need[$1] = 1; next }
    ($NF in need) && !done[$NF]++ {
      if ($(NF-1) ~ /^[TWi]$/) print "long " $NF "(void) { return 0; }"
      else printf "char %s[%d] __attribute__((aligned(16)));\n", $NF, NF == 4 ? $2 + 0 : 8 }' "$want" - >> "$c"
  for so in "${dropped[@]}"; do gcc -shared -fPIC -O1 -Wl,-soname,"$so" -o "$DEPS/stubs/$so" "$c"; done
  local made; made=$(wc -l < "$c"); local wanted; wanted=$(wc -l < "$want")
  echo "stubs for ${dropped[*]}: $made of the $wanted symbols the kept libraries import from them"
  ((made == wanted)) || die "some imported symbols have no stub: see $want"
  rm "$DEPS/stubs/kept.txt"
}

unpack() {  # the .debs into $P, made usable from there
  rm -rf "$P"; mkdir -p "$P"
  for d in "$DEPS"/debs/*.deb; do dpkg-deb -x "$d" "$P"; done
  # Debian 12 still ships some libraries in /lib: merge it into /usr/lib as a merged-/usr system does,
  # then point absolute symlinks (libz.so -> /lib/...) into $P.
  if [[ -d $P/lib && ! -L $P/lib ]]; then cp -a "$P/lib/." "$P/usr/lib/"; rm -rf "$P/lib"; fi
  ln -sfn usr/lib "$P/lib"
  find "$P" -type l -lname '/*' | while read -r l; do ln -sfn "$P$(readlink "$l")" "$l"; done
  # update-alternatives would make these links.
  ln -sf blas/libblas.so.3 "$L/libblas.so.3"; ln -sf libblas.so.3 "$L/libblas.so"
  ln -sf lapack/liblapack.so.3 "$L/liblapack.so.3"; ln -sf liblapack.so.3 "$L/liblapack.so"
  # OpenCV's config checks that every module's library exists; only the linked ones travel.
  sed -i 's|if(NOT EXISTS "${_cmake_file}")|if(FALSE)  # gpu-build.sh: only the linked modules are unpacked|' \
    "$L/cmake/opencv4/OpenCVModules.cmake"
  # dlib's config names its dependencies by absolute path (/usr/lib/.../libpng.so...).
  sed -i -E ":a; s#([\";])/usr/lib/$ARCH/(lib[^/;\"]*\.so[\";])#\1$L/\2#; ta" "$L/cmake/dlib/dlib.cmake"
  # Debian's pkgconf over the unpacked .pc files: -I and -L come back under $P, none filtered out.
  cat > "$P/pkg-config" <<EOF
#!/bin/sh
export LD_LIBRARY_PATH=$L PKG_CONFIG_LIBDIR=$L/pkgconfig:$P/usr/share/pkgconfig PKG_CONFIG_SYSROOT_DIR=$P
export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
exec $P/usr/bin/pkgconf "\$@"
EOF
  chmod +x "$P/pkg-config"
}

smoke_test() {  # imgcodecs from $P with the GDAL/GDCM stubs loads and decodes a PNG
  local t; t=$(mktemp -d)
  printf '#include <opencv2/imgcodecs.hpp>\nint main(int, char** v) { return cv::imread(v[1]).cols == 512 ? 0 : 1; }\n' > "$t/t.cpp"
  g++ -std=c++17 "$t/t.cpp" -o "$t/t" $("$P/pkg-config" --cflags --libs opencv4 | tr ' ' '\n' | grep -E '^-[IL]|imgcodecs|core') \
    -Wl,-rpath-link,"$DEPS/stubs:$L"
  LD_LIBRARY_PATH=$DEPS/stubs:$L "$t/t" samples/astronaut.png || die "smoke test: imread through the stubs failed"
  LD_LIBRARY_PATH=$DEPS/stubs:$L ldd "$t/t" | grep -q "$DEPS/stubs/libgdal" || die "smoke test: the GDAL stub was not used"
  rm -rf "$t"; echo "smoke test: cv::imread through $P and the stubs works"
}

build() {
  export PATH=$PATH:/usr/local/cuda/bin
  for tool in g++ cmake ninja nvcc python3 dpkg-deb; do command -v $tool >/dev/null || die "$tool not found"; done
  [[ -d $DEPS/debs ]] || die "no .gpu-deps/debs: run 'scripts/gpu-build.sh fetch' here, then carry .gpu-deps"
  mkdir -p build-gpu; local log=${OUT:-$PWD/build-gpu}/gpu-build.log
  exec > >(tee "$log") 2>&1
  echo "$(g++ --version | head -1); $(cmake --version | head -1); nvcc: $(command -v nvcc); $(nvcc --version | tail -1)"
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
    "cxx11 abi", torch._C._GLIBCXX_USE_CXX11_ABI, "gpu", torch.cuda.is_available())'
  # Debian's libraries use the C++11 std::string ABI; a pre-C++11-ABI torch (older wheels) would
  # compile faceage with _GLIBCXX_USE_CXX11_ABI=0 and leave every std::string symbol of OpenCV,
  # yaml-cpp, spdlog, dlib... unresolved at link.
  [[ $(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))') == 1 ]] ||
    die "this torch uses the pre-C++11 ABI; Debian's libraries cannot link with it"
  local glibc; glibc=$(getconf GNU_LIBC_VERSION | cut -d' ' -f2)
  [[ $(printf '2.36\n%s\n' "$glibc" | sort -V | head -1) == 2.36 ]] || die "glibc $glibc < 2.36 (Debian 12's)"
  unpack
  local libs=$DEPS/stubs:$L torch_prefix nvcc
  torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
  nvcc=$(realpath "$(command -v nvcc)")
  # MKL: the wheel links it statically, and a system MKL found by Caffe2's config breaks the link.
  TORCH_CUDA_ARCH_LIST=9.0 cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$torch_prefix;$P/usr" -DPKG_CONFIG_EXECUTABLE="$P/pkg-config" -DOPENSSL_ROOT_DIR="$P/usr" \
    -DCMAKE_CUDA_COMPILER="$nvcc" -DCUDAToolkit_ROOT="${nvcc%/bin/nvcc}" -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DCMAKE_DISABLE_FIND_PACKAGE_MKL=ON -DFACEAGE_BUILD_BENCH=OFF \
    -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$libs"
  # The torch-using targets only (a full build costs device minutes); ctest needs every test
  # executable built, so the tests run directly.
  cmake --build build-gpu -j"$(nproc)" --target ${FACEAGE_GPU_TARGETS:-faceage test_models test_train test_infer}
  [[ ${1:-} == compile ]] && return
  export LD_LIBRARY_PATH=$libs   # for the transitive Debian libraries (RUNPATH covers direct ones)
  # The wheel's libtorch.so exports its own std::filesystem symbols; binding to its remove_all jumped
  # to address 0 (measured on the H200 machine: every test that removes a temp dir crashed). Loading
  # the system libstdc++ first makes every std:: symbol resolve there (all suites then pass). A
  # libstdc++-first DT_NEEDED order via -Wl,--no-as-needed -lstdc++ did not take (g++ puts it last).
  LD_PRELOAD=$(g++ -print-file-name=libstdc++.so.6); export LD_PRELOAD
  [[ ${1:-} == debug ]] && { debug_crashes; return; }
  local status=0 t
  for t in models train infer; do
    echo "== test_$t"; build-gpu/tests/test_$t --gtest_brief=1 --gtest_filter='-*Slow.*' || status=1
  done
  # Suites ending in Gpu (the ctest label gpu): CUDA vs CPU parity, autocast training, bundle loading.
  for t in models train infer; do build-gpu/tests/test_$t --gtest_brief=1 --gtest_filter='*Gpu.*' || status=1; done
  # A short training run on CUDA with bf16 autocast, then predict with its bundle on CUDA.
  local w; w=$(mktemp -d)
  LD_LIBRARY_PATH= LD_PRELOAD= python3 tests/support/make_synthetic_faces.py "$w/train" --count 96 --seed 1
  LD_LIBRARY_PATH= LD_PRELOAD= python3 tests/support/make_synthetic_faces.py "$w/val" --count 32 --seed 2
  cat > "$w/cuda.yaml" <<YAML
seed: 5
data: {train: $w/train/manifest.csv, val: $w/val/manifest.csv, cache_dir: $w/cache, workers: 4}
face: {detector: none, crop_size: 48}
model: {arch: mobilenet_v2, age_head: distribution}
preprocess: {input_size: 64}
optimizer: {name: adam, lr: 0.002, weight_decay: 0.05, backbone_lr_factor: 0.5}
train: {epochs: 2, batch_size: 16, eval_batch_size: 32, amp: true}
YAML
  echo "== CUDA training (amp)"
  build-gpu/faceage --device cuda train --config "$w/cuda.yaml" --run-dir "$w/run" && cat "$w/run/metrics.jsonl" &&
    build-gpu/faceage --device cuda predict --model "$w/run/best.fab" --detector none --format csv \
      "$w/val/images/face_0000.png" || status=1
  # Training throughput on CUDA (docs/training.md): EfficientNet-B4 at 380 px and MobileNetV2 at 112 px,
  # batch 32, bf16 autocast, on synthetic 400-px crops; epoch 2's img/s (epoch 1 warms cuDNN up).
  LD_LIBRARY_PATH= LD_PRELOAD= python3 tests/support/make_synthetic_faces.py "$w/big" --count 640 --size 400 --seed 3
  local arch size
  for arch_size in efficientnet_b4:380 mobilenet_v2:112 resnet18:112; do
    arch=${arch_size%:*}; size=${arch_size#*:}
    echo "== CUDA throughput $arch @ $size"
    sed -e "s|crop_size: 48|crop_size: 400|; s|input_size: 64|input_size: $size|; s|arch: mobilenet_v2|arch: $arch|" \
        -e "s|$w/train/manifest.csv|$w/big/manifest.csv|; s|workers: 4|workers: 14|; s|batch_size: 16|batch_size: 32|" \
        "$w/cuda.yaml" > "$w/speed-$arch.yaml"
    build-gpu/faceage --threads 16 --device cuda train --config "$w/speed-$arch.yaml" --run-dir "$w/speed-$arch" >/dev/null 2>&1 &&
      tail -1 "$w/speed-$arch/metrics.jsonl" || echo "throughput run $arch failed"
  done
  [[ -n ${OUT:-} ]] && cp build-gpu/CMakeCache.txt "$OUT/" 2>/dev/null
  echo "gpu-build: $([[ $status == 0 ]] && echo PASSED || echo FAILED)"
  return $status
}

# `debug`: builds test_models and test_infer only and finds where a crashing suite dies: each test
# binary run test by test (the last "[ RUN" names the crashing test), a backtrace from cuda-gdb, then
# the same binaries with oneDNN held below AMX and below AVX512-BF16 (CPU-kernel suspects).
debug_crashes() {
  set +e +o pipefail  # a crash is what this looks for: keep going
  local t isa
  for t in models infer; do
    echo "== test_$t, verbose"; timeout 50 build-gpu/tests/test_$t --gtest_filter='-*Slow.*' 2>&1 | grep -E '^\[ (RUN|  FAILED|  PASSED) ' | tail -4
    echo "== test_$t, backtrace"
    timeout 50 cuda-gdb -q -batch -ex run -ex bt -ex 'info threads' --args build-gpu/tests/test_$t --gtest_filter='-*Slow.*' 2>&1 |
      grep -vE '^\[(New|Thread|Detaching)|^\[ +OK|^\[ RUN' | tail -40
    for isa in AVX512_CORE_BF16 AVX512_CORE AVX2; do
      echo "== test_$t with ONEDNN_MAX_CPU_ISA=$isa"
      ONEDNN_MAX_CPU_ISA=$isa timeout 50 build-gpu/tests/test_$t --gtest_brief=1 --gtest_filter='-*Slow.*' 2>&1 | tail -3
    done
  done
  grep -m1 -o 'model name.*' /proc/cpuinfo; grep -m1 -oE 'amx[a-z_0-9]*|avx512_bf16' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
}

case ${1:-} in
  debug) FACEAGE_GPU_TARGETS="test_models test_infer" build debug ;;
  fetch) fetch ;;
  build) build ;;
  compile) FACEAGE_GPU_TARGETS=faceage build compile ;;
  *) echo "usage: $0 fetch|build|compile" >&2; exit 2 ;;
esac
