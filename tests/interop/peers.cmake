# Other people's clients against a server: libnats (nats.c), npm `nats` (nats.js v2) and npm
# `nats.ws` (over WebSocket) run the same checks against nats-server, which proves the checks,
# and against Embed's broker (`embed serve`), which is what we want to know. with_server.py
# starts each server on an ephemeral loopback port, passes its URL, and stops it.
# Label: interop.

find_package(Python3 COMPONENTS Interpreter REQUIRED)
find_program(EMBED_NODE_EXECUTABLE node)

set(EMBED_INTEROP_LAUNCHER ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/with_server.py)
set(EMBED_INTEROP_JS_DIR ${CMAKE_CURRENT_LIST_DIR}/js)

# The servers the checks run against: embed_test_servers (tests/CMakeLists.txt).
set(embed_interop_servers ${embed_test_servers})

# What libnats_checks and libnats_tls_checks (libnats/libnats_tls.cmake) share.
add_library(libnats_check_util STATIC ${CMAKE_CURRENT_LIST_DIR}/libnats/libnats_check_util.c)
set_target_properties(libnats_check_util PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON
                                                    C_EXTENSIONS OFF)
target_compile_options(libnats_check_util PRIVATE ${EMBED_WARNINGS})
target_include_directories(libnats_check_util PUBLIC ${CMAKE_CURRENT_LIST_DIR}/libnats)
target_link_libraries(libnats_check_util PUBLIC embed_libnats)
if(EMBED_SANITIZE STREQUAL "thread")
  # These programs are libnats (nats.c) peers, not our code. libnats's TLS
  # threads share OpenSSL state under locks TSan cannot see inside the
  # uninstrumented libraries, so it reports races there; build them plain.
  target_compile_options(libnats_check_util PUBLIC -fno-sanitize=all)
  target_link_options(libnats_check_util INTERFACE -fno-sanitize=all)
endif()

add_executable(libnats_checks ${CMAKE_CURRENT_LIST_DIR}/libnats/libnats_checks.c)
set_target_properties(libnats_checks PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON
                                                C_EXTENSIONS OFF)
target_compile_options(libnats_checks PRIVATE ${EMBED_WARNINGS})
target_link_libraries(libnats_checks PRIVATE libnats_check_util)

foreach(server IN LISTS embed_interop_servers)
  string(REPLACE "|" ";" server "${server}")
  list(GET server 0 suffix)
  list(GET server 1 kind)
  list(GET server 2 binary)

  add_test(NAME interop_libnats_vs_${suffix}
           COMMAND ${EMBED_INTEROP_LAUNCHER} --server ${kind} --binary ${binary}
                   -- $<TARGET_FILE:libnats_checks> {url})
  set_tests_properties(interop_libnats_vs_${suffix} PROPERTIES LABELS interop TIMEOUT 180)

  if(EMBED_NODE_EXECUTABLE)
    # node_modules comes from `npm ci` (scripts/deps); without it the test fails and says so.
    # nats_js_checks.mjs picks its client by the URL scheme: npm nats over TCP for {url}
    # (interop_nats_js_*), npm nats.ws (the client browsers use) for {ws_url}, the server's
    # WebSocket port (no TLS) that with_server.py --websocket enables (interop_nats_ws_*).
    foreach(client IN ITEMS js ws)
      set(websocket_flag "")
      set(url_placeholder {url})
      if(client STREQUAL "ws")
        set(websocket_flag --websocket)
        set(url_placeholder {ws_url})
      endif()
      add_test(NAME interop_nats_${client}_vs_${suffix}
               COMMAND ${EMBED_INTEROP_LAUNCHER} --server ${kind} --binary ${binary}
                       ${websocket_flag} -- ${EMBED_NODE_EXECUTABLE}
                       ${EMBED_INTEROP_JS_DIR}/nats_js_checks.mjs ${url_placeholder})
      set_tests_properties(interop_nats_${client}_vs_${suffix} PROPERTIES
                           LABELS interop TIMEOUT 180
                           WORKING_DIRECTORY ${EMBED_INTEROP_JS_DIR})
    endforeach()
  endif()
endforeach()

# npm `nats`'s service client (nats.js v2 `nc.services.client()`) sees an Embed RPC service
# through the NATS service API ($SRV.PING/INFO/STATS) and calls its unary endpoint with raw
# protobuf bytes, through each server. The service is embed_rpc_test_peer (svc.v1.Peer).
if(EMBED_NODE_EXECUTABLE AND TARGET embed_rpc_test_peer)
  foreach(server IN LISTS embed_interop_servers)
    string(REPLACE "|" ";" server "${server}")
    list(GET server 0 suffix)
    list(GET server 1 kind)
    list(GET server 2 binary)
    add_test(NAME interop_nats_js_services_vs_${suffix}
             COMMAND ${EMBED_INTEROP_LAUNCHER} --server ${kind} --binary ${binary}
                     -- ${CMAKE_CURRENT_LIST_DIR}/with_rpc_host.sh
                        $<TARGET_FILE:embed_rpc_test_peer> {url}
                     -- ${EMBED_NODE_EXECUTABLE} ${EMBED_INTEROP_JS_DIR}/nats_services_checks.mjs
                        {url} svc_v1_Peer svc.v1.Peer.Echo 0a03416e6e 0a03416e6e)
    set_tests_properties(interop_nats_js_services_vs_${suffix} PROPERTIES
                         LABELS interop TIMEOUT 120 WORKING_DIRECTORY ${EMBED_INTEROP_JS_DIR})
  endforeach()
endif()
