# Finds the Debian packages the build needs (scripts/deps installs them).
if(EMSCRIPTEN)
  # GoogleTest built from Debian's source package (googletest ships /usr/src/googletest).
  find_program(EMBED_NODE node REQUIRED)
  add_library(embed_gtest_em STATIC
    /usr/src/googletest/googletest/src/gtest-all.cc
    /usr/src/googletest/googlemock/src/gmock-all.cc
    /usr/src/googletest/googletest/src/gtest_main.cc)
  target_include_directories(embed_gtest_em SYSTEM PUBLIC
    /usr/src/googletest/googletest/include /usr/src/googletest/googlemock/include
    PRIVATE /usr/src/googletest/googletest /usr/src/googletest/googlemock)
  target_compile_definitions(embed_gtest_em PUBLIC GTEST_HAS_PTHREAD=0)
  # Third-party code: built without our warning flags, and quietly.
  target_compile_options(embed_gtest_em PRIVATE -w)
  # Header-only JSON from Debian's nlohmann-json3-dev, without exposing /usr/include.
  set(EMBED_JSON_INCLUDE ${CMAKE_BINARY_DIR}/json_include)
  file(MAKE_DIRECTORY ${EMBED_JSON_INCLUDE})
  file(CREATE_LINK /usr/include/nlohmann ${EMBED_JSON_INCLUDE}/nlohmann SYMBOLIC)
  add_library(embed_json INTERFACE)
  target_include_directories(embed_json SYSTEM INTERFACE ${EMBED_JSON_INCLUDE})
else()
  find_package(GTest REQUIRED)
  find_package(Threads REQUIRED)
  find_package(nlohmann_json REQUIRED)
  add_library(embed_json INTERFACE)
  target_link_libraries(embed_json INTERFACE nlohmann_json::nlohmann_json)
  if(NOT EMBED_PORTABLE_ONLY)
    find_package(Boost 1.74 REQUIRED COMPONENTS system)
    find_package(OpenSSL REQUIRED)
    find_package(CLI11 REQUIRED)
    find_package(benchmark REQUIRED)
    # Debian's cnats CMake config names a static library the package does not
    # ship, so find the shared one directly.
    find_library(EMBED_LIBNATS nats REQUIRED)
    add_library(embed_libnats INTERFACE)
    target_link_libraries(embed_libnats INTERFACE ${EMBED_LIBNATS})
  endif()
endif()
