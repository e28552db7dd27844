# Warnings, -Werror and sanitizer switches, applied per target through faceage_set_warnings().
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

function(faceage_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(FACEAGE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(FACEAGE_SANITIZE)
  add_compile_options(-fsanitize=${FACEAGE_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${FACEAGE_SANITIZE})
endif()
