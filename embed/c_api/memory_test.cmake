# embed_c_api_memory_test: 100,000 calls through embed.h without memory growth (RSS after the
# last 50,000 calls against after the first 50,000; under ASan only LSan's leak check).
# Included from embed/c_api/CMakeLists.txt.
embed_test(embed_c_api_memory_test
           SOURCES ${CMAKE_CURRENT_LIST_DIR}/c_api_memory_test.cc
           DEPS embed::c_api embed_bridge_proto
           LABELS integration)
target_include_directories(embed_c_api_memory_test PRIVATE ${PROJECT_SOURCE_DIR})
