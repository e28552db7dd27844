# faceage_add_module(NAME [TORCH] DEPS targets...)
# One static library per module: src/NAME/*.cpp, public headers in include/faceage/NAME/.
# Alias faceage::NAME. TORCH modules link LibTorch and get a precompiled <torch/torch.h>.
function(faceage_add_module name)
  cmake_parse_arguments(ARG "TORCH" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  set(target faceage_${name})
  if(NOT sources)
    # A module whose sources have not landed yet: headers only.
    add_library(${target} INTERFACE)
    add_library(faceage::${name} ALIAS ${target})
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(${target} STATIC ${sources})
  add_library(faceage::${name} ALIAS ${target})
  target_include_directories(${target}
    PUBLIC ${PROJECT_SOURCE_DIR}/include
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${target} PUBLIC ${ARG_DEPS})
  if(ARG_TORCH)
    target_link_libraries(${target} PUBLIC ${TORCH_LIBRARIES})
    if(FACEAGE_USE_PCH)
      target_precompile_headers(${target} PRIVATE <torch/torch.h>)
    endif()
  endif()
  faceage_set_warnings(${target})
endfunction()

# faceage_add_test_module(NAME [SERIAL] DEPS targets...)
# One gtest executable per module: tests/NAME/test_*.cpp -> test_NAME.
# Suites ending in "Slow" are labelled slow, suites ending in "Gpu" gpu, the rest unit.
# SERIAL: torch-heavy tests run one at a time (each uses every core).
function(faceage_add_test_module name)
  cmake_parse_arguments(ARG "SERIAL" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/${name}/test_*.cpp)
  if(NOT sources)
    return()
  endif()
  set(target test_${name})
  add_executable(${target} ${sources} ${PROJECT_SOURCE_DIR}/tests/support/test_main.cpp)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${target} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock)
  target_compile_definitions(${target} PRIVATE
    FACEAGE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    FACEAGE_FIXTURES_DIR="${PROJECT_SOURCE_DIR}/tests/fixtures")
  faceage_set_warnings(${target})
  set(props ENVIRONMENT "FACEAGE_TEST_TMP=${CMAKE_CURRENT_BINARY_DIR}/tmp")
  if(ARG_SERIAL)
    list(APPEND props RUN_SERIAL TRUE)
  endif()
  gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
    TEST_FILTER "-*Slow.*:*Gpu.*" PROPERTIES LABELS unit ${props})
  gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
    TEST_FILTER "*Slow.*" PROPERTIES LABELS slow ${props})
  gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
    TEST_FILTER "*Gpu.*" PROPERTIES LABELS gpu ${props})
endfunction()
