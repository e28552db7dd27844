# Embeds web/index.html into faceage_serve as a C++ raw string, so the installed program serves
# its page without any files. Editing the page re-runs CMake (CMAKE_CONFIGURE_DEPENDS).
set(faceage_web_page ${PROJECT_SOURCE_DIR}/web/index.html)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${faceage_web_page})
file(READ ${faceage_web_page} FACEAGE_WEB_INDEX_HTML)
string(FIND "${FACEAGE_WEB_INDEX_HTML}" ")faceage_web_page\"" faceage_web_clash)
if(NOT faceage_web_clash EQUAL -1)
  message(FATAL_ERROR "web/index.html contains the raw-string delimiter used to embed it")
endif()
configure_file(${PROJECT_SOURCE_DIR}/src/serve/web_page.hpp.in
               ${CMAKE_CURRENT_BINARY_DIR}/generated/faceage/serve/web_page.hpp @ONLY)
target_include_directories(faceage_serve PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated)
target_compile_definitions(faceage_serve PRIVATE FACEAGE_VERSION="${PROJECT_VERSION}")
