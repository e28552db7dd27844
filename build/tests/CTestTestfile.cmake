# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build/tests/test_core[1]_include.cmake")
include("/work/main/build/tests/test_core[2]_include.cmake")
include("/work/main/build/tests/test_core[3]_include.cmake")
include("/work/main/build/tests/test_data[1]_include.cmake")
include("/work/main/build/tests/test_data[2]_include.cmake")
include("/work/main/build/tests/test_data[3]_include.cmake")
include("/work/main/build/tests/test_augment[1]_include.cmake")
include("/work/main/build/tests/test_augment[2]_include.cmake")
include("/work/main/build/tests/test_augment[3]_include.cmake")
include("/work/main/build/tests/test_models[1]_include.cmake")
include("/work/main/build/tests/test_models[2]_include.cmake")
include("/work/main/build/tests/test_models[3]_include.cmake")
include("/work/main/build/tests/test_train[1]_include.cmake")
include("/work/main/build/tests/test_train[2]_include.cmake")
include("/work/main/build/tests/test_train[3]_include.cmake")
include("/work/main/build/tests/test_tune[1]_include.cmake")
include("/work/main/build/tests/test_tune[2]_include.cmake")
include("/work/main/build/tests/test_tune[3]_include.cmake")
include("/work/main/build/tests/test_serve[1]_include.cmake")
include("/work/main/build/tests/test_serve[2]_include.cmake")
include("/work/main/build/tests/test_serve[3]_include.cmake")
include("/work/main/build/tests/test_eval[1]_include.cmake")
include("/work/main/build/tests/test_eval[2]_include.cmake")
include("/work/main/build/tests/test_eval[3]_include.cmake")
