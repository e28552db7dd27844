# Every dependency comes from a Debian 12 package (see scripts/apt-packages.txt); nothing is downloaded.
# A CUDA LibTorch (e.g. the one in a PyTorch wheel) is used instead of Debian's when
# CMAKE_PREFIX_PATH points at it (scripts/gpu-build.sh).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

find_package(Torch REQUIRED)
# LibTorch 2.12 and later use C++20 in their headers (from 2.13 ATen/ATen.h stops with #error below
# it), and not every version's torch target asks for it: raise the standard for them. LibTorch 1.13
# and 2.x before 2.12 build as C++17.
if(Torch_VERSION VERSION_GREATER_EQUAL 2.12 AND CMAKE_CXX_STANDARD LESS 20)
  message(STATUS "LibTorch ${Torch_VERSION}: compiling as C++20")
  set(CMAKE_CXX_STANDARD 20)
endif()
# TorchConfig.cmake puts its flags in TORCH_CXX_FLAGS; they travel with the torch target only,
# so modules that never see torch are not compiled with them.

# Distributed training (src/train/process_group.cpp) needs LibTorch's c10d headers and Gloo's
# (Debian: libtorch-dev + libgloo-dev); NCCL also needs nccl.h (CUDA LibTorch builds). Without
# them faceage still builds and trains in one process.
find_path(FACEAGE_C10D_GLOO_INCLUDE torch/csrc/distributed/c10d/ProcessGroupGloo.hpp HINTS ${TORCH_INCLUDE_DIRS})
find_path(FACEAGE_GLOO_INCLUDE gloo/algorithm.h HINTS ${TORCH_INCLUDE_DIRS})
find_path(FACEAGE_NCCL_INCLUDE nccl.h HINTS ${TORCH_INCLUDE_DIRS} ${CUDAToolkit_INCLUDE_DIRS})
set(FACEAGE_C10D_DEFINITIONS "")
if(FACEAGE_C10D_GLOO_INCLUDE AND FACEAGE_GLOO_INCLUDE)
  list(APPEND FACEAGE_C10D_DEFINITIONS FACEAGE_HAVE_C10D_GLOO)
  if(FACEAGE_NCCL_INCLUDE AND EXISTS ${FACEAGE_C10D_GLOO_INCLUDE}/torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp)
    list(APPEND FACEAGE_C10D_DEFINITIONS FACEAGE_HAVE_C10D_NCCL)
  endif()
  message(STATUS "Distributed training: c10d ${FACEAGE_C10D_DEFINITIONS}")
else()
  message(STATUS "Distributed training: off (no c10d Gloo headers; install libgloo-dev)")
endif()

find_package(OpenCV 4 REQUIRED COMPONENTS core imgproc imgcodecs objdetect dnn)
find_package(dlib REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(Eigen3 REQUIRED NO_MODULE)
find_package(SQLite3 REQUIRED)
find_package(OpenSSL REQUIRED)
pkg_check_modules(TURBOJPEG REQUIRED IMPORTED_TARGET libturbojpeg)
pkg_check_modules(HTTPLIB IMPORTED_TARGET cpp-httplib)
pkg_check_modules(PLPLOT IMPORTED_TARGET plplot-c++)
# The faceage program's allocator (docs/decisions/allocator.md): glibc malloc fragments over long
# predict/serve runs (resident memory grows per image); optional so other builds still link.
pkg_check_modules(JEMALLOC IMPORTED_TARGET jemalloc)

if(FACEAGE_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(FACEAGE_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
