# embed_library(NAME SOURCES ... DEPS ...)   -> target embed_<NAME>, alias embed::<NAME>
# embed_test(NAME SOURCES ... DEPS ... [LABELS ...]) -> gtest binary registered with ctest
# embed_fuzzer(NAME SOURCE file DEPS ... CORPUS dir) -> libFuzzer target (EMBED_BUILD_FUZZERS)
#                                                     plus a replay ctest case over the corpus

set(EMBED_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # GCC 12 reports impossible -Wrestrict overlaps inside std::string at -O3
  # (GCC bug 105329), which would fail Release builds under -Werror.
  list(APPEND EMBED_WARNINGS -Wno-restrict)
endif()

if(EMBED_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(EMBED_SANITIZE STREQUAL "thread")
  # g++ 12 warns (-Wtsan) that Asio's atomic_thread_fence is not instrumented.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-tsan)
  endif()
  add_link_options(-fsanitize=thread)
endif()

if(EMSCRIPTEN)
  add_compile_options(-fexceptions)
  add_link_options(-fexceptions -sSINGLE_FILE=1 -sALLOW_MEMORY_GROWTH=1 -sENVIRONMENT=node)
  # em++ runs JS tools under node when linking; Debian's emscripten finds their
  # modules (acorn) only through NODE_PATH, so set it for every link.
  set(CMAKE_C_LINKER_LAUNCHER ${CMAKE_COMMAND} -E env NODE_PATH=/usr/share/nodejs)
  set(CMAKE_CXX_LINKER_LAUNCHER ${CMAKE_COMMAND} -E env NODE_PATH=/usr/share/nodejs)
endif()

function(embed_library NAME)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(embed_${NAME} ${ARG_SOURCES})
  add_library(embed::${NAME} ALIAS embed_${NAME})
  target_include_directories(embed_${NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(embed_${NAME} PRIVATE ${EMBED_WARNINGS})
  target_link_libraries(embed_${NAME} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

function(embed_test NAME)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${NAME} ${ARG_SOURCES})
  target_compile_options(${NAME} PRIVATE ${EMBED_WARNINGS})
  if(EMSCRIPTEN)
    target_link_libraries(${NAME} PRIVATE ${ARG_DEPS} embed_gtest_em)
    # NODERAWFS: a test may read files (testdata/) through node's fs. -O1 at
    # link time: the code stays -O3, but the -O2/-O3 post-link passes
    # (wasm-opt, JS minifier) cost ~15 s per test binary and buy a test nothing.
    target_link_options(${NAME} PRIVATE -sNODERAWFS=1 -O1)
    add_test(NAME ${NAME} COMMAND ${EMBED_NODE} $<TARGET_FILE:${NAME}>)
    set_tests_properties(${NAME} PROPERTIES ENVIRONMENT NODE_PATH=/usr/share/nodejs)
  else()
    target_link_libraries(${NAME} PRIVATE ${ARG_DEPS} GTest::gtest_main GTest::gmock)
    add_test(NAME ${NAME} COMMAND ${NAME})
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  set_tests_properties(${NAME} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 300)
endfunction()
